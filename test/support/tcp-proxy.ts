/**
 * A fault-injecting TCP proxy for one Redis server (a small Toxiproxy): latency, a lost reply
 * followed by a disconnect, a partition (blackhole), refused connections and connection resets.
 *
 * Limitations:
 * - {@link TcpProxy.dropNextReplyAndClose} swallows the next whole RESP frame the server sends
 *   after it is armed, on whichever connection receives server bytes first. That is exactly one
 *   command's reply for the simple request/reply pattern with a single in-flight command. With
 *   pipelining, several connections, MULTI/EXEC or pub/sub, "the next frame" is still well defined
 *   but may not be the reply the test had in mind. RESP3 streamed values are not supported.
 * - No flow control: bytes held by latency or a blackhole are buffered in memory.
 * - A blackhole holds bytes and delivers them when it is lifted, like TCP after a short partition.
 *   To model a partition that outlasts TCP's retransmissions, call {@link TcpProxy.resetAll} too.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { RespScanner } from './resp-scanner.js';

/** Options of {@link startTcpProxy}. */
export interface StartTcpProxyOptions {
  /** @default '127.0.0.1' */
  targetHost?: string;
  targetPort: number;
  /** Address the proxy listens on. @default '127.0.0.1' */
  host?: string;
  /** Port the proxy listens on. @default 0 (a free port chosen by the kernel) */
  port?: number;
}

/** Latency added to each direction, in milliseconds. */
export interface ProxyLatency {
  /** Client → Redis. */
  toServer?: number;
  /** Redis → client. */
  toClient?: number;
}

/** Counters of a proxy since it started. */
export interface TcpProxyStats {
  connectionsAccepted: number;
  connectionsActive: number;
  connectionsRefused: number;
  /** Bytes written to Redis. */
  bytesToServer: number;
  /** Bytes written to clients. */
  bytesToClient: number;
  /** Replies swallowed by {@link TcpProxy.dropNextReplyAndClose}. */
  repliesDropped: number;
}

/** What {@link TcpProxy.dropNextReplyAndClose} did. */
export interface DroppedReply {
  /** Sequence number of the connection (1 for the first accepted). */
  connectionId: number;
  /** Size of the swallowed reply in bytes. */
  bytes: number;
}

/** A running proxy. */
export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** `redis://<host>:<port>` */
  readonly url: string;
  /** A snapshot of the counters. */
  readonly stats: TcpProxyStats;
  /**
   * Delays every chunk by `ms` in each direction (a round trip gains `2 × ms`), or by the given
   * per-direction values (an omitted direction keeps its current latency). Order is preserved.
   */
  setLatency(latency: number | ProxyLatency): void;
  /**
   * Arms a one-shot fault: the next reply Redis sends (on any connection) is swallowed, and once
   * it has been received whole the client's connection is destroyed. Redis has executed the
   * command; the client never sees its reply. This is the lost-reply scenario of reliability.md
   * §3.1: ioredis, by default, re-sends the command after reconnecting, so it runs twice.
   *
   * Arm it once the client is connected and idle (await one command first), or the reply
   * dropped may be that of the client's own handshake (ioredis's ready check).
   *
   * @returns a promise that resolves once the reply has been dropped and the connection closed;
   *   it rejects if the proxy is closed first. Do not await it before sending the command.
   */
  dropNextReplyAndClose(): Promise<DroppedReply>;
  /**
   * Partition on/off: while on, connections are accepted and kept, but no byte is forwarded in
   * either direction; held bytes are delivered, in order, when it is turned off.
   */
  blackhole(on: boolean): void;
  /** While on, new connections are reset (RST) as soon as they are accepted. Live ones are kept. */
  refuse(on: boolean): void;
  /** Resets every live connection (RST to the client, close to Redis). */
  resetAll(): void;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

type PipeItem = Buffer | (() => void);

/** An ordered, delayable, pausable one-way byte pipe. */
class DelayedPipe {
  latencyMs = 0;
  private paused = false;
  private readonly queue: Array<{ due: number; item: PipeItem }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deliver: (chunk: Buffer) => void) {}

  push(item: PipeItem): void {
    if (this.queue.length === 0 && !this.paused && this.latencyMs === 0) {
      this.run(item);
      return;
    }
    this.queue.push({ due: Date.now() + this.latencyMs, item });
    this.pump();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.pump();
  }

  destroy(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }

  private run(item: PipeItem): void {
    if (typeof item === 'function') item();
    else this.deliver(item);
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.paused) return;
    const now = Date.now();
    while (this.queue.length > 0 && (this.queue[0]?.due ?? 0) <= now) {
      this.run((this.queue.shift() as { item: PipeItem }).item);
      if (this.paused) return;
    }
    const head = this.queue[0];
    if (head !== undefined) {
      this.timer = setTimeout(() => this.pump(), head.due - now);
      this.timer.unref();
    }
  }
}

interface DropRequest {
  resolve: (dropped: DroppedReply) => void;
  reject: (error: Error) => void;
}

class ProxyConnection {
  readonly toServer: DelayedPipe;
  readonly toClient: DelayedPipe;
  private readonly scanner = new RespScanner();
  /** Set while this connection carries out a drop request. */
  private drop: { request: DropRequest; phase: 'finish-current' | 'dropping'; bytes: number } | undefined;
  private closed = false;

  constructor(
    readonly id: number,
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly proxy: ManagedTcpProxy,
  ) {
    this.toServer = new DelayedPipe((chunk) => {
      proxy.counters.bytesToServer += chunk.length;
      upstream.write(chunk);
    });
    this.toClient = new DelayedPipe((chunk) => {
      proxy.counters.bytesToClient += chunk.length;
      client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => this.toServer.push(chunk));
    upstream.on('data', (chunk: Buffer) => this.fromServer(chunk));
    client.on('error', () => this.destroy());
    upstream.on('error', () => this.destroy(true));
    client.on('close', () => this.destroy());
    upstream.on('close', () => this.destroy());
  }

  private fromServer(chunk: Buffer): void {
    if (this.closed) return;
    if (this.drop === undefined) {
      const request = this.proxy.takeDropRequest();
      if (request !== undefined) {
        this.drop = { request, phase: this.scanner.atBoundary ? 'dropping' : 'finish-current', bytes: 0 };
      }
    }
    let frames;
    try {
      frames = this.scanner.feed(chunk);
    } catch (error) {
      this.drop?.request.reject(error as Error);
      this.destroy(true);
      return;
    }
    if (this.drop === undefined) {
      this.toClient.push(chunk);
      return;
    }
    let position = 0;
    for (const frame of frames) {
      if (frame.kind === 'push') continue;
      if (this.drop.phase === 'finish-current') {
        this.toClient.push(chunk.subarray(position, frame.end));
        position = frame.end;
        this.drop.phase = 'dropping';
        continue;
      }
      // The dropped reply is complete: Redis has executed the command. Close after what was
      // already forwarded has been delivered.
      const { request, bytes } = this.drop;
      const dropped = { connectionId: this.id, bytes: bytes + frame.end - position };
      this.proxy.counters.repliesDropped += 1;
      this.drop = undefined;
      this.closed = true;
      this.toClient.push(() => {
        this.destroy(true);
        request.resolve(dropped);
      });
      return;
    }
    if (this.drop.phase === 'finish-current') this.toClient.push(chunk.subarray(position));
    else this.drop.bytes += chunk.length - position;
  }

  setLatency(latency: ProxyLatency): void {
    if (latency.toServer !== undefined) this.toServer.latencyMs = latency.toServer;
    if (latency.toClient !== undefined) this.toClient.latencyMs = latency.toClient;
  }

  setPaused(paused: boolean): void {
    this.toServer.setPaused(paused);
    this.toClient.setPaused(paused);
  }

  /** Destroys both sockets; `reset` sends an RST to the client instead of a FIN. */
  destroy(reset = false): void {
    this.closed = true;
    this.toServer.destroy();
    this.toClient.destroy();
    if (!this.client.destroyed) {
      if (reset) this.client.resetAndDestroy();
      else this.client.destroy();
    }
    this.upstream.destroy();
    if (this.drop !== undefined) {
      // The connection died before the reply came: hand the request to the next connection.
      this.proxy.returnDropRequest(this.drop.request);
      this.drop = undefined;
    }
    this.proxy.forget(this);
  }
}

class ManagedTcpProxy implements TcpProxy {
  readonly counters: TcpProxyStats = {
    connectionsAccepted: 0,
    connectionsActive: 0,
    connectionsRefused: 0,
    bytesToServer: 0,
    bytesToClient: 0,
    repliesDropped: 0,
  };
  readonly url: string;
  private readonly connections = new Set<ProxyConnection>();
  private latency: Required<ProxyLatency> = { toServer: 0, toClient: 0 };
  private blackholed = false;
  private refusing = false;
  private readonly dropRequests: DropRequest[] = [];
  private nextId = 1;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.url = `redis://${host}:${port}`;
    server.on('connection', (socket) => this.accept(socket));
  }

  get stats(): TcpProxyStats {
    return { ...this.counters, connectionsActive: this.connections.size };
  }

  private accept(client: Socket): void {
    if (this.refusing || this.closing !== undefined) {
      this.counters.connectionsRefused += 1;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    this.counters.connectionsAccepted += 1;
    client.setNoDelay(true);
    const upstream = connect({ host: this.targetHost, port: this.targetPort });
    upstream.setNoDelay(true);
    const connection = new ProxyConnection(this.nextId++, client, upstream, this);
    connection.setLatency(this.latency);
    connection.setPaused(this.blackholed);
    this.connections.add(connection);
  }

  forget(connection: ProxyConnection): void {
    this.connections.delete(connection);
  }

  takeDropRequest(): DropRequest | undefined {
    return this.dropRequests.shift();
  }

  returnDropRequest(request: DropRequest): void {
    if (this.closing === undefined) this.dropRequests.unshift(request);
    else request.reject(new Error('TCP proxy closed before a reply was dropped'));
  }

  setLatency(latency: number | ProxyLatency): void {
    const next = typeof latency === 'number' ? { toServer: latency, toClient: latency } : latency;
    for (const value of [next.toServer, next.toClient]) {
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        throw new RangeError(`latency must be a finite number ≥ 0, got ${value}`);
      }
    }
    this.latency = { toServer: next.toServer ?? this.latency.toServer, toClient: next.toClient ?? this.latency.toClient };
    for (const connection of this.connections) connection.setLatency(this.latency);
  }

  dropNextReplyAndClose(): Promise<DroppedReply> {
    if (this.closing !== undefined) return Promise.reject(new Error('TCP proxy is closed'));
    return new Promise((resolve, reject) => this.dropRequests.push({ resolve, reject }));
  }

  blackhole(on: boolean): void {
    this.blackholed = on;
    for (const connection of this.connections) connection.setPaused(on);
  }

  refuse(on: boolean): void {
    this.refusing = on;
  }

  resetAll(): void {
    for (const connection of [...this.connections]) connection.destroy(true);
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.resetAll();
      for (const request of this.dropRequests.splice(0)) {
        request.reject(new Error('TCP proxy closed before a reply was dropped'));
      }
    });
    return this.closing;
  }
}

/**
 * Starts a TCP proxy to `targetHost:targetPort`, listening on `host:port` (a kernel-chosen free
 * port by default). Each accepted connection opens its own connection to the target.
 */
export async function startTcpProxy(options: StartTcpProxyOptions): Promise<TcpProxy> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return new ManagedTcpProxy(server, host, port, options.targetHost ?? '127.0.0.1', options.targetPort);
}
