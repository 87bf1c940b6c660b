/**
 * Real `redis-server` processes for tests: one per call, on a free port of 127.0.0.1, in its own
 * temporary directory, with the persistence the test asks for. Tests can kill, restart and stop
 * it; every wait has a deadline and failures carry the tail of the server's log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { findFreePort } from './ports.js';
import { rawCommand } from './raw-command.js';
import { harnessMarker, registerDir, registerProcess, unregisterDir, unregisterProcess } from './reaper.js';
import { waitFor, withTimeout } from './wait.js';

/**
 * How the server persists data:
 * - `none`: `--save "" --appendonly no`: a restart loses everything;
 * - `aof-everysec`: AOF, fsync once a second: a crash loses up to about one second of writes;
 * - `aof-always`: AOF, fsync before every reply: a crash loses no acknowledged write;
 * - `rdb`: snapshots only (Redis's default save points `3600 1 300 100 60 10000`, plus one at a
 *   graceful shutdown): a crash loses everything since the last snapshot.
 */
export type RedisPersistence = 'none' | 'aof-everysec' | 'aof-always' | 'rdb';

const PERSISTENCE_ARGS: Record<RedisPersistence, readonly string[]> = {
  none: ['--save', '', '--appendonly', 'no'],
  'aof-everysec': ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'],
  'aof-always': ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
  rdb: ['--save', '3600', '1', '300', '100', '60', '10000', '--appendonly', 'no'],
};

/** Options of {@link startRedisServer}. */
export interface StartRedisServerOptions {
  /** @default 'none' */
  persistence?: RedisPersistence;
  /**
   * Extra `redis-server` arguments, appended after the harness's own, so they win
   * (e.g. `['--maxmemory', '10mb', '--maxmemory-policy', 'noeviction']`).
   */
  args?: readonly string[];
  /** Port to listen on. Default: a free port (see `ports.ts`). */
  port?: number;
  /**
   * When picking a free port, also require `port + 10000` (the cluster bus port) to be free.
   * @default false
   */
  needsBusPort?: boolean;
  /**
   * How long to wait for the server to answer PING, at start and at every restart.
   * @default 10_000
   */
  startTimeoutMs?: number;
  /** @default process.env.REDIS_SERVER_BIN ?? 'redis-server' */
  binary?: string;
}

/** A redis-server process managed by the harness. */
export interface RedisServer {
  /** Always `127.0.0.1`. */
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** PID of the current process (of the last one once it has exited). */
  readonly pid: number;
  /** Temporary working directory (RDB, AOF, `nodes.conf`, `redis.log`); kept across restarts. */
  readonly dir: string;
  readonly persistence: RedisPersistence;
  /** Whether the process is running. */
  readonly running: boolean;
  /**
   * Final clean-up: closes every client made by {@link RedisServer.client}, shuts the server down
   * (`SHUTDOWN NOSAVE NOW`, then SIGKILL after 5 s), and removes {@link RedisServer.dir}.
   * Idempotent.
   */
  stop(): Promise<void>;
  /**
   * Sends `signal` to the process and waits until it has exited. The directory is kept, so
   * {@link RedisServer.restart} can follow. `SIGSTOP`/`SIGTSTP` (a frozen server: connections are
   * accepted, nothing is answered) and `SIGCONT` return at once; `stop()` and `restart()` send
   * `SIGCONT` to a frozen server first.
   * @throws Error if the server is not running, or did not exit within 10 s.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts the server again on the same port, in the same directory, with the same arguments, and
   * waits until it answers PING (after loading its AOF/RDB, if any). A running server is first
   * shut down gracefully with `SHUTDOWN NOW` (which saves an RDB under `rdb` persistence).
   * Clients made by {@link RedisServer.client} reconnect by themselves.
   */
  restart(): Promise<void>;
  /**
   * A new ioredis client for this server (`options` override host and port). It has a no-op
   * `error` listener (so reconnection errors while the server is down are not printed), and
   * {@link RedisServer.stop} disconnects it.
   */
  client(options?: RedisOptions): Redis;
  /** Last lines of the server's log file and of its stderr. */
  logTail(lines?: number): string;
}

/** Thrown when a redis-server process cannot be started. */
export class RedisStartError extends Error {
  override readonly name = 'RedisStartError';
  /** True when the port (or the cluster bus port) was taken by another process. */
  readonly addressInUse: boolean;

  constructor(message: string, addressInUse: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.addressInUse = addressInUse;
  }
}

const STOP_SIGNALS_THAT_DO_NOT_EXIT = new Set<NodeJS.Signals>(['SIGSTOP', 'SIGCONT', 'SIGTSTP']);
const EXIT_TIMEOUT_MS = 10_000;
const STDERR_TAIL_BYTES = 8_192;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

class ManagedRedisServer implements RedisServer {
  readonly host = '127.0.0.1';
  readonly url: string;
  pid = 0;
  private child: ChildProcess | undefined;
  private exit: Promise<Exit> | undefined;
  private exitInfo: Exit | undefined;
  private stderrTail = '';
  private readonly clients = new Set<Redis>();
  private stopping: Promise<void> | undefined;
  /** Set while the process is stopped by SIGSTOP/SIGTSTP. */
  private paused = false;

  constructor(
    readonly port: number,
    readonly dir: string,
    readonly persistence: RedisPersistence,
    private readonly args: readonly string[],
    private readonly binary: string,
    private readonly startTimeoutMs: number,
  ) {
    this.url = `redis://${this.host}:${port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** Spawns the process and waits until it answers PING. */
  async launch(): Promise<void> {
    this.stderrTail = '';
    this.exitInfo = undefined;
    this.paused = false;
    const child = spawn(this.binary, [...this.args], { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.exit = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        if (child.pid !== undefined) unregisterProcess(child.pid);
        resolve(this.exitInfo);
      });
      child.once('error', (error) => {
        this.stderrTail += `\nspawn error: ${error.message}`;
        this.exitInfo = { code: null, signal: null };
        resolve(this.exitInfo);
      });
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
    });
    if (child.pid !== undefined) {
      this.pid = child.pid;
      registerProcess(child.pid);
    }

    let outcome: 'ready' | 'exited' | 'foreign';
    try {
      outcome = await waitFor(() => this.probeReady(), {
        what: `redis-server (pid ${this.pid}) to answer PING on ${this.host}:${this.port}`,
        timeoutMs: this.startTimeoutMs,
        intervalMs: 20,
        details: () => this.logTail(),
      });
    } catch (error) {
      await this.forceKill();
      throw new RedisStartError((error as Error).message, false, { cause: error });
    }
    if (outcome === 'ready') return;
    await this.forceKill();
    const tail = this.logTail();
    // Set by the exit handler while we awaited (TypeScript cannot see that).
    const exit = this.exitInfo as Exit | undefined;
    const addressInUse = outcome === 'foreign' || /address already in use/i.test(tail);
    const why =
      outcome === 'foreign'
        ? `another process answers on ${this.host}:${this.port}`
        : `redis-server exited (code ${String(exit?.code)}, signal ${String(exit?.signal)}) before answering PING on ${this.host}:${this.port}`;
    throw new RedisStartError(`${why}\n${tail}`, addressInUse);
  }

  private async probeReady(): Promise<'ready' | 'exited' | 'foreign' | undefined> {
    if (this.exitInfo !== undefined) return 'exited';
    let reply: string;
    try {
      reply = await rawCommand(this.host, this.port, ['PING'], 1_000);
    } catch {
      return undefined; // not listening yet
    }
    if (!reply.startsWith('+PONG')) return undefined; // e.g. -LOADING while the AOF is replayed
    // Make sure the PONG came from our process, not from a server that won a race for the port.
    const info = await rawCommand(this.host, this.port, ['INFO', 'server'], 1_000);
    return info.includes(`process_id:${this.pid}\r\n`) ? 'ready' : 'foreign';
  }

  private async waitForExit(timeoutMs: number): Promise<boolean> {
    if (this.exit === undefined || this.exitInfo !== undefined) return true;
    try {
      await withTimeout(this.exit, timeoutMs, 'redis-server exit');
      return true;
    } catch {
      return false;
    }
  }

  private async forceKill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    if (!(await this.waitForExit(EXIT_TIMEOUT_MS))) {
      throw new Error(`redis-server pid ${this.pid} did not exit after SIGKILL`);
    }
  }

  /** Sends a SHUTDOWN command, then waits for the exit; SIGKILL if it takes longer than `graceMs`. */
  private async shutdown(command: readonly string[], graceMs: number): Promise<void> {
    if (!this.running) return;
    this.resume();
    try {
      await rawCommand(this.host, this.port, command, graceMs);
    } catch {
      // Stopped (SIGSTOP), busy or already gone: the wait below decides.
    }
    if (!(await this.waitForExit(graceMs))) await this.forceKill();
  }

  /** Sends SIGCONT if the process was stopped with SIGSTOP, so it can answer SHUTDOWN. */
  private resume(): void {
    if (!this.paused) return;
    this.child?.kill('SIGCONT');
    this.paused = false;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const client of this.clients) client.disconnect();
      this.clients.clear();
      await this.shutdown(['SHUTDOWN', 'NOSAVE', 'NOW'], 5_000);
      rmSync(this.dir, { recursive: true, force: true });
      unregisterDir(this.dir);
    })();
    return this.stopping;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) throw new Error(`redis-server on port ${this.port} is not running`);
    this.child?.kill(signal);
    if (STOP_SIGNALS_THAT_DO_NOT_EXIT.has(signal)) {
      this.paused = signal !== 'SIGCONT';
      return;
    }
    if (!(await this.waitForExit(EXIT_TIMEOUT_MS))) {
      throw new Error(`redis-server pid ${this.pid} did not exit within ${EXIT_TIMEOUT_MS} ms of ${signal}\n${this.logTail()}`);
    }
  }

  async restart(): Promise<void> {
    if (this.stopping !== undefined) throw new Error('restart() after stop(): the server directory is gone');
    if (this.running) {
      this.resume();
      await rawCommand(this.host, this.port, ['SHUTDOWN', 'NOW'], EXIT_TIMEOUT_MS).catch(() => undefined);
      if (!(await this.waitForExit(EXIT_TIMEOUT_MS))) {
        throw new Error(`redis-server pid ${this.pid} did not shut down for restart\n${this.logTail()}`);
      }
    }
    await this.launch();
  }

  client(options: RedisOptions = {}): Redis {
    if (this.stopping !== undefined) throw new Error('client() after stop()');
    const client = new Redis({ host: this.host, port: this.port, ...options });
    client.on('error', () => undefined);
    this.clients.add(client);
    return client;
  }

  logTail(lines = 30): string {
    let log: string;
    try {
      log = readFileSync(join(this.dir, 'redis.log'), 'utf8');
    } catch {
      log = '(no log file)';
    }
    const tail = log.trimEnd().split('\n').slice(-lines).join('\n');
    const stderr = this.stderrTail.trim();
    return `--- redis.log (${this.dir}) ---\n${tail}${stderr === '' ? '' : `\n--- stderr ---\n${stderr}`}`;
  }
}

/** The harness's own arguments, before persistence and extra arguments. */
function baseArgs(port: number, dir: string): string[] {
  return [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--logfile', join(dir, 'redis.log'),
    '--daemonize', 'no',
    '--proc-title-template', `{title} {listen-addr} {server-mode} ${harnessMarker}`,
  ];
}

/**
 * Starts a redis-server on 127.0.0.1 (a free port unless `options.port` is given) in a new
 * temporary directory under `os.tmpdir()`, and resolves once it answers PING.
 *
 * If the port turns out to be taken by another process between the check and Redis's bind, a new
 * port is tried (up to 5 times). The process is killed and the directory removed when this
 * process exits, even without {@link RedisServer.stop} (see `reaper.ts`).
 *
 * @throws RedisStartError if the server exits or does not answer within `startTimeoutMs`; the
 *   message contains the tail of its log.
 */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServer> {
  const persistence = options.persistence ?? 'none';
  const binary = options.binary ?? process.env['REDIS_SERVER_BIN'] ?? 'redis-server';
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const attempts = options.port === undefined ? 5 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort({ withBusPort: options.needsBusPort === true }));
    const dir = mkdtempSync(join(tmpdir(), `tl-redis-${port}-`));
    registerDir(dir);
    const args = [...baseArgs(port, dir), ...PERSISTENCE_ARGS[persistence], ...(options.args ?? [])];
    const server = new ManagedRedisServer(port, dir, persistence, args, binary, startTimeoutMs);
    try {
      await server.launch();
      return server;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      unregisterDir(dir);
      const retry = error instanceof RedisStartError && error.addressInUse && attempt < attempts;
      if (!retry) throw error;
    }
  }
}
