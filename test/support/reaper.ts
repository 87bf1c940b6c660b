/**
 * Makes sure no redis-server started by the harness outlives the test process, however that
 * process ends:
 * - normal end or `process.exit()`: an `exit` handler SIGKILLs live servers and removes their
 *   temporary directories (synchronously);
 * - the test process is killed (SIGKILL, a vitest worker torn down, a crash): a small detached
 *   watchdog process holds the read end of a pipe from this process. When the pipe closes (the
 *   kernel closes it whatever way this process died) the watchdog SIGKILLs every server still
 *   registered and removes the directories, then exits.
 *
 * Every server's process title carries {@link harnessMarker}, so `pgrep -f <marker>` finds the
 * servers of this process (see {@link listHarnessServerPids}).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Marker put in the process title of every redis-server this process starts. */
export const harnessMarker = `tl-harness:${process.pid}:`;

const livePids = new Set<number>();
const liveDirs = new Set<string>();
let watchdog: ChildProcess | undefined;
let exitHandlerInstalled = false;

// Runs in the watchdog process (plain JavaScript, no imports beyond node:fs).
const WATCHDOG_SOURCE = `
const fs = require('node:fs');
const pids = new Set();
const dirs = new Set();
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (data) => {
  buffered += data;
  let newline;
  while ((newline = buffered.indexOf('\\n')) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    const value = line.slice(3);
    if (line.startsWith('+p ')) pids.add(Number(value));
    else if (line.startsWith('-p ')) pids.delete(Number(value));
    else if (line.startsWith('+d ')) dirs.add(value);
    else if (line.startsWith('-d ')) dirs.delete(value);
  }
});
const reap = () => {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  setTimeout(() => {
    for (const dir of dirs) { try { fs.rmSync(dir, { recursive: true, force: true }); } catch {} }
    process.exit(0);
  }, 200);
};
process.stdin.on('end', reap);
process.stdin.on('error', reap);
`;

function tellWatchdog(line: string): void {
  if (watchdog === undefined) {
    watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.unref();
    watchdog.stdin?.on('error', () => undefined);
    (watchdog.stdin as { unref?: () => void } | null)?.unref?.();
  }
  watchdog.stdin?.write(`${line}\n`);
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.once('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Registers a spawned redis-server so it is killed if this process ends without stopping it. */
export function registerProcess(pid: number): void {
  installExitHandler();
  livePids.add(pid);
  tellWatchdog(`+p ${pid}`);
}

/** Forgets a process once it has exited. */
export function unregisterProcess(pid: number): void {
  livePids.delete(pid);
  tellWatchdog(`-p ${pid}`);
}

/** Registers a temporary directory to remove if this process ends without removing it. */
export function registerDir(dir: string): void {
  installExitHandler();
  liveDirs.add(dir);
  tellWatchdog(`+d ${dir}`);
}

/** Forgets a temporary directory once it has been removed. */
export function unregisterDir(dir: string): void {
  liveDirs.delete(dir);
  tellWatchdog(`-d ${dir}`);
}

/**
 * PIDs of running processes whose command line contains `marker` (default: this process's
 * {@link harnessMarker}), found with `pgrep -f`. After a suite's teardown this must be empty.
 */
export function listHarnessServerPids(marker: string = harnessMarker): number[] {
  try {
    const out = execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
  } catch (error) {
    // pgrep exits with status 1 when nothing matches.
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
}
