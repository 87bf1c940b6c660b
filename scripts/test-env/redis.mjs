// The Redis the main suite talks to: check that one answers at a URL (raw RESP over TCP, so the
// check needs neither redis-cli nor ioredis), or start a throwaway redis-server for the run and
// make sure it never outlives the run.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { clearTimeout, setTimeout } from 'node:timers';
import { connect as connectTls } from 'node:tls';

/** Where the tests look when REDIS_URL is not set (test/support/redis-available.ts). */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** `url` with its password replaced by `***`, for messages. */
export function redactUrl(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable URL)';
  }
}

/** Host, port, TLS and credentials of a `redis://` or `rediss://` URL. */
function parseRedisUrl(url) {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`not a redis:// or rediss:// URL`);
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    tls: parsed.protocol === 'rediss:',
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

/** `args` as a RESP array of bulk strings. */
function encode(args) {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/**
 * Reads one reply of a type this module asks for (`+`, `-`, `:`, `$`) from the front of `text`:
 * `{ reply, rest }`, or undefined while it is incomplete.
 */
function takeReply(text) {
  const lineEnd = text.indexOf('\r\n');
  if (lineEnd < 0) return undefined;
  const line = text.slice(0, lineEnd);
  if (line[0] !== '$') return { reply: line, rest: text.slice(lineEnd + 2) };
  const length = Number(line.slice(1));
  if (length < 0) return { reply: '$nil', rest: text.slice(lineEnd + 2) };
  const end = lineEnd + 2 + length;
  if (Buffer.byteLength(text) < end + 2) return undefined; // byte length: INFO is ASCII
  return { reply: text.slice(lineEnd + 2, end), rest: text.slice(end + 2) };
}

/**
 * Sends `commands` over one connection and resolves with their replies as text (`+PONG`,
 * `-NOAUTH ...`, a bulk string's contents). Rejects on connection errors and after `timeoutMs`.
 */
function sendCommands(target, commands, timeoutMs) {
  return new Promise((resolve, reject) => {
    const options = { host: target.host, port: target.port };
    const socket = target.tls ? connectTls({ ...options, servername: target.host }) : connectTcp(options);
    const replies = [];
    let buffered = '';
    let settled = false;
    const finish = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve(replies);
      else reject(error);
    };
    const timer = setTimeout(() => finish(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
    socket.once(target.tls ? 'secureConnect' : 'connect', () => socket.write(commands.map(encode).join('')));
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      buffered += chunk;
      for (let next = takeReply(buffered); next !== undefined; next = takeReply(buffered)) {
        replies.push(next.reply);
        buffered = next.rest;
      }
      if (replies.length >= commands.length) finish(undefined);
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error('connection closed before the reply')));
  });
}

/**
 * Whether a Redis answers PING at `url` within `timeoutMs` (after AUTH when the URL has a
 * password): `{ ok: true }` or `{ ok: false, why }`.
 */
export async function pingRedis(url, timeoutMs = 1_000) {
  let target;
  try {
    target = parseRedisUrl(url);
  } catch (error) {
    return { ok: false, why: error.message };
  }
  const auth = target.password === '' ? [] : [target.username === '' ? ['AUTH', target.password] : ['AUTH', target.username, target.password]];
  try {
    const replies = await sendCommands(target, [...auth, ['PING']], timeoutMs);
    const failed = replies.find((reply) => reply.startsWith('-'));
    if (failed !== undefined) return { ok: false, why: `it answered ${failed.slice(1)}` };
    return replies.at(-1) === '+PONG' ? { ok: true } : { ok: false, why: `PING answered ${replies.at(-1)}` };
  } catch (error) {
    return { ok: false, why: error.code ?? error.message };
  }
}

/** A port the kernel says is free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Servers started by this process and not yet stopped, for the synchronous last-resort kill. */
const live = new Set();

/**
 * Kills every server this process started and has not stopped (SIGKILL) and removes their
 * directories, synchronously: for `process.on('exit')`, where nothing asynchronous runs.
 */
export function killStartedServersNow() {
  for (const server of live) server.killNow();
}

// Runs in a detached process that holds the read end of a pipe from this one. The kernel closes
// the pipe however this process ends (SIGKILL included), and then the watchdog kills the server.
const WATCHDOG_SOURCE = `
const [pid, dir] = process.argv.slice(1);
const reap = () => {
  try { process.kill(Number(pid), 'SIGKILL'); } catch {}
  setTimeout(() => { try { require('node:fs').rmSync(dir, { recursive: true, force: true }); } catch {} process.exit(0); }, 200);
};
process.stdin.on('data', () => {});
process.stdin.on('end', reap);
process.stdin.on('error', reap);
`;

function startWatchdog(pid, dir) {
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, String(pid), dir], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.unref();
  watchdog.stdin.on('error', () => undefined);
  watchdog.stdin.unref?.();
  return watchdog;
}

/** One attempt: spawn on `port`, wait for our own PONG. Resolves with the server, or rejects. */
async function launch(binary, port, startTimeoutMs) {
  const dir = mkdtempSync(join(tmpdir(), 'token-limits-test-redis-'));
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--logfile', join(dir, 'redis.log'),
    '--daemonize', 'no',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => (stderr = (stderr + text).slice(-4_096)));
  let exited = false;
  const exit = new Promise((resolve) => {
    const exitedNow = () => {
      exited = true;
      resolve(true);
    };
    child.once('exit', exitedNow);
    child.once('error', (error) => {
      stderr += `\n${error.message}`;
      exitedNow();
    });
  });
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid, dir);
  const logTail = () => {
    let log = '';
    try {
      log = readFileSync(join(dir, 'redis.log'), 'utf8').trimEnd().split('\n').slice(-15).join('\n');
    } catch {
      // no log yet
    }
    return `${log}\n${stderr}`.trim();
  };

  let stopping;
  const server = {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    dir,
    /** SIGTERM (Redis shuts down at once: nothing to save), SIGKILL after 5 s; removes the dir. */
    stop() {
      stopping ??= (async () => {
        if (!exited) {
          child.kill('SIGTERM');
          const gone = await Promise.race([exit, sleep(5_000, false)]);
          if (!gone) {
            child.kill('SIGKILL');
            await exit;
          }
        }
        rmSync(dir, { recursive: true, force: true });
        watchdog?.kill('SIGKILL');
        live.delete(server);
      })();
      return stopping;
    },
    killNow() {
      if (!exited) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      watchdog?.kill('SIGKILL');
      live.delete(server);
    },
  };
  live.add(server);

  const deadline = Date.now() + startTimeoutMs;
  while (!exited && Date.now() < deadline) {
    const replies = await sendCommands({ host: '127.0.0.1', port }, [['PING'], ['INFO', 'server']], 500).catch(() => []);
    // The PONG must come from our process, not from one that took the port first.
    if (replies[0] === '+PONG' && replies[1]?.includes(`process_id:${child.pid}\r\n`)) return server;
    await sleep(50);
  }
  const tail = logTail();
  await server.stop();
  const why = exited ? 'redis-server exited before answering PING' : `redis-server did not answer PING within ${startTimeoutMs} ms`;
  throw Object.assign(new Error(`${why} on 127.0.0.1:${port}\n${tail}`), { addressInUse: /address already in use/i.test(tail) });
}

/**
 * Starts `binary` (a redis-server) on a free port of 127.0.0.1 with no persistence, in a new
 * temporary directory, and resolves once it answers PING. The caller stops it with `stop()`; if
 * this process exits first, `killStartedServersNow()` (on exit) or the watchdog (on SIGKILL)
 * kills it and removes the directory.
 */
export async function startRedisServer(binary, startTimeoutMs = 10_000) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(binary, await freePort(), startTimeoutMs);
    } catch (error) {
      // Another process took the port between our check and Redis's bind: try another one.
      if (!(error.addressInUse && attempt < 5)) throw error;
    }
  }
}
