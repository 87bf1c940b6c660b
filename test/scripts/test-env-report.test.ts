/**
 * scripts/test-env/report.mjs: the failures test-env.mjs names again at the end of a run, read from
 * vitest's JSON report. The report below has the shape vitest 4 writes (--reporter=json) for a
 * file with one failing and one passing test and a file that failed to import.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { failuresIn } from '../../scripts/test-env/report.mjs';

const root = '/repo';
const report = {
  numFailedTests: 1,
  testResults: [
    {
      name: '/repo/test/a.test.ts',
      status: 'failed',
      message: '',
      assertionResults: [
        { fullName: 'group fails', status: 'failed', failureMessages: ['AssertionError: expected 1 to be 2 // Object.is equality\n    at /repo/test/a.test.ts:2:57'] },
        { fullName: 'group passes', status: 'passed', failureMessages: [] },
      ],
    },
    { name: '/repo/test/b.test.ts', status: 'failed', message: "Cannot find module './missing.js' imported from /repo/test/b.test.ts", assertionResults: [] },
    { name: '/repo/test/c.test.ts', status: 'passed', message: '', assertionResults: [{ fullName: 'fine', status: 'passed', failureMessages: [] }] },
  ],
};

describe('failuresIn', () => {
  it('names each failed test with the first line of its error, and each file that failed outside its tests', () => {
    expect(failuresIn(report, root)).toEqual([
      'test/a.test.ts > group fails: AssertionError: expected 1 to be 2 // Object.is equality',
      "test/b.test.ts: Cannot find module './missing.js' imported from /repo/test/b.test.ts",
    ]);
  });

  it('is empty for a run where everything passed, and for an empty report', () => {
    expect(failuresIn({ testResults: [report.testResults[2]] }, root)).toEqual([]);
    expect(failuresIn({}, root)).toEqual([]);
  });
});
