/**
 * One Redis command over a fresh TCP connection, without ioredis: used to probe a server that may
 * be starting, loading or gone, where a client library's reconnection logic only gets in the way.
 */
import { connect } from 'node:net';
import { RespScanner } from './resp-scanner.js';

/** Encodes `args` as a RESP array of bulk strings. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(''));
}

/**
 * Sends `args` to `host:port` and resolves with the raw text of the whole reply (`+PONG\r\n`,
 * `-LOADING …\r\n`, `$123\r\n# Server…\r\n`), or with `''` if the server closed the connection
 * without replying (what a successful `SHUTDOWN` does).
 *
 * Rejects on connection errors and after `timeoutMs` (the socket is destroyed either way).
 */
export function rawCommand(
  host: string,
  port: number,
  args: readonly string[],
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const scanner = new RespScanner();
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(error);
    };
    const timer = setTimeout(
      () => finish(new Error(`No reply to ${args[0] ?? 'command'} from ${host}:${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    socket.once('connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk: Buffer) => {
      try {
        const [first] = scanner.feed(chunk);
        chunks.push(first === undefined ? chunk : chunk.subarray(0, first.end));
        if (first !== undefined) finish(undefined);
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () =>
      finish(chunks.length === 0 ? undefined : new Error(`${host}:${port} closed the connection mid-reply`)),
    );
  });
}
