// What failed in a vitest JSON report (--reporter=json), as one line per failure: test-env.mjs
// prints them again after every suite has run, so that the end of a CI log names them.
import { relative } from 'node:path';

/**
 * The failed tests of a vitest JSON report, as `file > test: first line of the error` lines (file
 * relative to `root`); a file that failed outside its tests (an import error, a hook) gets one line
 * with its own message. Empty when nothing failed.
 */
export function failuresIn(report, root) {
  const lines = [];
  for (const file of report.testResults ?? []) {
    const name = relative(root, file.name);
    const failed = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const test of failed) {
      const message = String(test.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300);
      lines.push(`${name} > ${test.fullName}: ${message}`);
    }
    // A file that failed outside its tests (an import error, a hook): its message names the cause.
    if (failed.length === 0 && file.status === 'failed') lines.push(`${name}: ${String(file.message ?? 'failed').split('\n')[0].slice(0, 300)}`);
  }
  return lines;
}

