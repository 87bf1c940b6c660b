/**
 * The processes the client-side benches start: the build they run from (`dist/`, in plain node, as
 * an application would), the emulator's own process and the SDK caller processes.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Runs `npm run build` unless `dist/` is newer than every file of `src/`. */
export function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist/index.js')).mtimeMs;
    built = Math.min(built, statSync(join(ROOT, 'dist/testing/index.js')).mtimeMs);
  } catch {
    built = 0;
  }
  if (built > newestMtime(join(ROOT, 'src'))) return;
  console.error('bench: building dist/ (npm run build)');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A forked plain-node process driven by request/reply messages, one at a time. */
export interface Child {
  readonly process: ChildProcess;
  /** The first message the child sent (its `ready` or `urls` announcement). */
  readonly hello: Record<string, unknown>;
  request<T = Record<string, unknown>>(message: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/** Forks `bench/<script>` in plain node (no tsx loader, no inherited NODE_OPTIONS) with an IPC channel. */
export async function forkPlain(script: string, args: string[] = [], nodeArgs: string[] = []): Promise<Child> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = fork(join(ROOT, 'bench', script), args, { cwd: ROOT, execPath: process.execPath, execArgv: nodeArgs, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${script} exited (${code}) before answering`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as Record<string, unknown>);
      });
    });
  const hello = await next();
  const request = async <T>(message: Record<string, unknown>): Promise<T> => {
    const reply = next();
    child.send(message);
    const answer = await reply;
    if (typeof answer.error === 'string') throw new Error(`${script}: ${answer.error}`);
    return answer as T;
  };
  return {
    process: child,
    hello,
    request,
    async close() {
      if (child.exitCode !== null || !child.connected) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await request({ cmd: 'close' }).catch(() => {});
      const timer = setTimeout(() => child.kill(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
