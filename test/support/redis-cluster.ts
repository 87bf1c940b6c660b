/**
 * A real Redis Cluster for tests: N masters (and optionally replicas) as harness-managed
 * redis-server processes, joined by `redis-cli --cluster create`, plus the operations the
 * reliability scenarios need: manual failover, killing and restarting nodes, and migrating one
 * slot while clients keep writing to it.
 */
import { execFile } from 'node:child_process';
import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import { clusterProblems, parseClusterNodes, parseInfo, type ClusterNodeLine, type NodeReport } from './cluster-topology.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { sleep, waitFor } from './wait.js';

/** Options of {@link startRedisCluster}. */
export interface StartRedisClusterOptions {
  /**
   * Number of masters (Redis Cluster needs at least 3).
   * @default 3
   */
  masters?: number;
  /** @default 0 */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a node may be unreachable before it is failed over.
   * @default 2000
   */
  nodeTimeoutMs?: number;
  /** Extra `redis-server` arguments for every node. */
  args?: readonly string[];
  /**
   * Deadline for creating the cluster and for every later wait for a healthy cluster.
   * @default 30_000
   */
  timeoutMs?: number;
}

/** A node of the cluster, as of the last {@link RedisCluster.refresh}. */
export interface ClusterNodeInfo {
  host: string;
  port: number;
  nodeId: string;
  role: 'master' | 'replica';
  /** Node id of the master, for a replica. */
  masterId: string | undefined;
  /** Owned slot ranges, inclusive. */
  slots: ReadonlyArray<readonly [number, number]>;
  /** Whether the harness process of this node is running. */
  running: boolean;
}

/** Options of {@link RedisCluster.failover}. */
export interface FailoverOptions {
  /**
   * `default`: `CLUSTER FAILOVER` (coordinated with the master, no write lost);
   * `force`: `CLUSTER FAILOVER FORCE` (does not need the master);
   * `takeover`: `CLUSTER FAILOVER TAKEOVER` (does not need a majority either).
   * @default 'default'
   */
  mode?: 'default' | 'force' | 'takeover';
}

/** Options of {@link RedisCluster.migrateSlot}. */
export interface MigrateSlotOptions {
  /**
   * Keys per `MIGRATE` call.
   * @default 100
   */
  batchSize?: number;
  /**
   * Pause between batches, to stretch the migrating window in tests.
   * @default 0
   */
  pauseBetweenBatchesMs?: number;
  /**
   * `MIGRATE` timeout in milliseconds.
   * @default 5000
   */
  migrateTimeoutMs?: number;
  /**
   * Pass `REPLACE` to `MIGRATE` (overwrite keys that already exist on the target).
   * @default false
   */
  replace?: boolean;
}

/** Result of {@link RedisCluster.migrateSlot}. */
export interface MigrateSlotResult {
  fromPort: number;
  toPort: number;
  keysMoved: number;
  batches: number;
}

/** A running Redis Cluster managed by the harness. */
export interface RedisCluster {
  /** Every node as of the last {@link RedisCluster.refresh} (every harness operation refreshes). */
  readonly nodes: readonly ClusterNodeInfo[];
  /** Addresses of all nodes, for `new Cluster(startupNodes)`. */
  readonly startupNodes: ReadonlyArray<{ host: string; port: number }>;
  /** Masters that own slots, from {@link RedisCluster.nodes}. */
  masters(): ClusterNodeInfo[];
  /** Replicas of the master listening on `masterPort`, from {@link RedisCluster.nodes}. */
  replicasOf(masterPort: number): ClusterNodeInfo[];
  /** Re-reads the topology from a running node (`CLUSTER NODES`). */
  refresh(): Promise<readonly ClusterNodeInfo[]>;
  /**
   * Waits until every running node agrees the cluster is ok (see `clusterProblems`), then
   * refreshes. Use it after a failover that Redis performs by itself (a killed master).
   * @throws Error listing what is still wrong when `timeoutMs` passes (default: the cluster's).
   */
  waitUntilHealthy(timeoutMs?: number): Promise<readonly ClusterNodeInfo[]>;
  /** A new ioredis Cluster client over all nodes, disconnected by {@link RedisCluster.stop}. */
  client(options?: ClusterOptions): Cluster;
  /** The harness process of the node on `port` (for `client()`, `logTail()`, `kill()` …). */
  server(port: number): RedisServer;
  /** Hash slot of `key`, computed by Redis itself (`CLUSTER KEYSLOT`). */
  keySlot(key: string | Buffer): Promise<number>;
  /** The master that owns `slot` right now. */
  masterForSlot(slot: number): Promise<ClusterNodeInfo>;
  /**
   * Runs `CLUSTER FAILOVER` on a running replica of the master on `masterPort`, and waits until
   * that replica is master, the old master (if running) is its replica, and the cluster is healthy.
   * @returns the new master.
   */
  failover(masterPort: number, options?: FailoverOptions): Promise<ClusterNodeInfo>;
  /** Sends `signal` (default SIGKILL) to a node and waits for it to exit. Does not wait for failover. */
  killNode(port: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Restarts a node on the same port and directory (so with the same node id from `nodes.conf`,
   * and without data: cluster nodes run without persistence), then waits until the cluster is
   * healthy unless `waitHealthy` is false.
   */
  restartNode(port: number, options?: { waitHealthy?: boolean }): Promise<void>;
  /**
   * Moves `slot` to the master on `toMasterPort` the way `redis-cli --cluster reshard` does:
   * `SETSLOT IMPORTING` on the target, `SETSLOT MIGRATING` on the source, `MIGRATE` of the keys in
   * batches, then `SETSLOT NODE` on the target, the source and every other master; then waits
   * until the cluster is healthy. Clients may keep reading and writing keys of the slot
   * throughout: they get `ASK`/`MOVED` redirections, which ioredis follows.
   */
  migrateSlot(slot: number, toMasterPort: number, options?: MigrateSlotOptions): Promise<MigrateSlotResult>;
  /** Disconnects every client and stops every node (removing their directories). Idempotent. */
  stop(): Promise<void>;
}

const ADMIN_OPTIONS = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: (): null => null,
  connectTimeout: 2_000,
  commandTimeout: 10_000,
} as const;

/** One lazily (re)connected admin connection per node. */
class AdminConnections {
  private readonly connections = new Map<number, Promise<Redis>>();

  async get(port: number): Promise<Redis> {
    const existing = this.connections.get(port);
    if (existing !== undefined) {
      const client = await existing.catch(() => undefined);
      if (client?.status === 'ready') return client;
      client?.disconnect();
    }
    const created = (async () => {
      const client = new Redis({ host: '127.0.0.1', port, ...ADMIN_OPTIONS });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    })();
    this.connections.set(port, created);
    created.catch(() => {
      if (this.connections.get(port) === created) this.connections.delete(port);
    });
    return created;
  }

  async call(port: number, ...args: Array<string | number | Buffer>): Promise<unknown> {
    const [command, ...rest] = args;
    return (await this.get(port)).call(String(command), ...rest);
  }

  async closeAll(): Promise<void> {
    const clients = await Promise.allSettled([...this.connections.values()]);
    for (const result of clients) if (result.status === 'fulfilled') result.value.disconnect();
    this.connections.clear();
  }
}

function runRedisCli(args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.env['REDIS_CLI_BIN'] ?? 'redis-cli', [...args], { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`redis-cli ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
    });
  });
}

async function runCreate(cluster: ManagedRedisCluster, args: readonly string[], timeoutMs: number): Promise<void> {
  try {
    await runRedisCli(args, timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${cluster.logTails()}`, { cause: error });
  }
}

class ManagedRedisCluster implements RedisCluster {
  nodes: readonly ClusterNodeInfo[] = [];
  readonly startupNodes: ReadonlyArray<{ host: string; port: number }>;
  private readonly admin = new AdminConnections();
  private readonly clients = new Set<Cluster>();
  private readonly servers: ReadonlyMap<number, RedisServer>;
  private stopping: Promise<void> | undefined;

  constructor(
    servers: readonly RedisServer[],
    private readonly timeoutMs: number,
  ) {
    this.servers = new Map(servers.map((server) => [server.port, server]));
    this.startupNodes = servers.map((server) => ({ host: server.host, port: server.port }));
  }

  private runningPorts(): Set<number> {
    return new Set([...this.servers.values()].filter((server) => server.running).map((server) => server.port));
  }

  private async report(port: number): Promise<NodeReport> {
    const [info, nodes, replication] = await Promise.all([
      this.admin.call(port, 'CLUSTER', 'INFO'),
      this.admin.call(port, 'CLUSTER', 'NODES'),
      this.admin.call(port, 'INFO', 'replication'),
    ]);
    return {
      port,
      clusterInfo: parseInfo(String(info)),
      nodes: parseClusterNodes(String(nodes)),
      replication: parseInfo(String(replication)),
    };
  }

  /** Problems of the cluster right now (empty when healthy). */
  async problems(expect: { masters?: number; replicasPerMaster?: number } = {}): Promise<string[]> {
    const running = this.runningPorts();
    const reports = await Promise.all([...running].map((port) => this.report(port)));
    return clusterProblems(reports, { ...expect, allPorts: [...this.servers.keys()], runningPorts: running });
  }

  async waitUntilHealthy(
    timeoutMs = this.timeoutMs,
    expect: { masters?: number; replicasPerMaster?: number } = {},
  ): Promise<readonly ClusterNodeInfo[]> {
    await waitFor(
      async () => {
        const problems = await this.problems(expect);
        if (problems.length === 0) return true;
        throw new Error(problems.slice(0, 8).join('; '));
      },
      { what: 'a healthy cluster', timeoutMs, intervalMs: 100, details: () => this.logTails() },
    );
    return this.refresh();
  }

  /** The last lines of every node's log, for error messages. */
  logTails(lines = 8): string {
    return [...this.servers.values()].map((server) => server.logTail(lines)).join('\n');
  }

  async refresh(): Promise<readonly ClusterNodeInfo[]> {
    const running = this.runningPorts();
    let lastError: unknown = new Error('no node is running');
    for (const port of running) {
      try {
        const lines = parseClusterNodes(String(await this.admin.call(port, 'CLUSTER', 'NODES')));
        this.nodes = lines
          .filter((line) => this.servers.has(line.port))
          .map((line: ClusterNodeLine) => ({
            host: line.host,
            port: line.port,
            nodeId: line.nodeId,
            role: line.role,
            masterId: line.masterId,
            slots: line.slots,
            running: running.has(line.port),
          }))
          .sort((a, b) => a.port - b.port);
        return this.nodes;
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error('Cannot read the cluster topology from any node', { cause: lastError });
  }

  masters(): ClusterNodeInfo[] {
    return this.nodes.filter((node) => node.role === 'master' && node.slots.length > 0);
  }

  replicasOf(masterPort: number): ClusterNodeInfo[] {
    const master = this.nodes.find((node) => node.port === masterPort);
    if (master === undefined) throw new Error(`No cluster node on port ${masterPort}`);
    return this.nodes.filter((node) => node.masterId === master.nodeId);
  }

  client(options: ClusterOptions = {}): Cluster {
    if (this.stopping !== undefined) throw new Error('client() after stop()');
    const client = new Cluster([...this.startupNodes], options);
    client.on('error', () => undefined);
    this.clients.add(client);
    return client;
  }

  server(port: number): RedisServer {
    const server = this.servers.get(port);
    if (server === undefined) throw new Error(`No cluster node on port ${port}`);
    return server;
  }

  private anyRunningPort(): number {
    const [port] = this.runningPorts();
    if (port === undefined) throw new Error('No cluster node is running');
    return port;
  }

  async keySlot(key: string | Buffer): Promise<number> {
    return Number(await this.admin.call(this.anyRunningPort(), 'CLUSTER', 'KEYSLOT', key));
  }

  async masterForSlot(slot: number): Promise<ClusterNodeInfo> {
    const nodes = await this.refresh();
    const owner = nodes.find(
      (node) => node.role === 'master' && node.slots.some(([start, end]) => slot >= start && slot <= end),
    );
    if (owner === undefined) throw new Error(`No master owns slot ${slot}`);
    return owner;
  }

  async failover(masterPort: number, options: FailoverOptions = {}): Promise<ClusterNodeInfo> {
    const nodes = await this.refresh();
    const master = nodes.find((node) => node.port === masterPort && node.role === 'master');
    if (master === undefined) throw new Error(`No master on port ${masterPort}`);
    const replica = nodes.find((node) => node.masterId === master.nodeId && node.running);
    if (replica === undefined) throw new Error(`Master ${masterPort} has no running replica to fail over to`);
    const mode = options.mode ?? 'default';
    await this.admin.call(replica.port, 'CLUSTER', 'FAILOVER', ...(mode === 'default' ? [] : [mode.toUpperCase()]));
    await waitFor(
      async () => {
        const state = await this.refresh();
        const promoted = state.find((node) => node.port === replica.port)?.role === 'master';
        const old = state.find((node) => node.port === masterPort);
        const demoted = old?.running !== true || old.masterId === replica.nodeId;
        if (!promoted || !demoted) throw new Error(`roles not swapped yet (replica ${replica.port} promoted: ${promoted})`);
        const problems = await this.problems();
        if (problems.length > 0) throw new Error(problems.slice(0, 8).join('; '));
        return true;
      },
      {
        what: `failover of master ${masterPort} to replica ${replica.port}`,
        timeoutMs: this.timeoutMs,
        intervalMs: 50,
        details: () => this.logTails(),
      },
    );
    const promoted = this.nodes.find((node) => node.port === replica.port);
    if (promoted === undefined) throw new Error(`Replica ${replica.port} vanished from the topology`);
    return promoted;
  }

  async killNode(port: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.server(port).kill(signal);
    this.nodes = this.nodes.map((node) => (node.port === port ? { ...node, running: false } : node));
  }

  async restartNode(port: number, options: { waitHealthy?: boolean } = {}): Promise<void> {
    await this.server(port).restart();
    if (options.waitHealthy === false) await this.refresh();
    else await this.waitUntilHealthy();
  }

  async migrateSlot(slot: number, toMasterPort: number, options: MigrateSlotOptions = {}): Promise<MigrateSlotResult> {
    const batchSize = options.batchSize ?? 100;
    const from = await this.masterForSlot(slot);
    const to = this.nodes.find((node) => node.port === toMasterPort && node.role === 'master');
    if (to === undefined) throw new Error(`No master on port ${toMasterPort}`);
    if (from.port === to.port) return { fromPort: from.port, toPort: to.port, keysMoved: 0, batches: 0 };

    await this.admin.call(to.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.nodeId);
    await this.admin.call(from.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.nodeId);
    const source = await this.admin.get(from.port);
    let keysMoved = 0;
    let batches = 0;
    for (;;) {
      const keys = (await source.callBuffer('CLUSTER', 'GETKEYSINSLOT', slot, batchSize)) as Buffer[];
      if (keys.length === 0) break;
      const replace = options.replace === true ? ['REPLACE'] : [];
      try {
        await source.callBuffer(
          'MIGRATE', to.host, to.port, '', 0, options.migrateTimeoutMs ?? 5_000, ...replace, 'KEYS', ...keys,
        );
      } catch (error) {
        throw new Error(
          `MIGRATE of slot ${slot} from ${from.port} to ${to.port} failed; the slot is left migrating ` +
            `(stop the cluster): ${(error as Error).message}`,
          { cause: error },
        );
      }
      keysMoved += keys.length;
      batches += 1;
      if (options.pauseBetweenBatchesMs !== undefined) await sleep(options.pauseBetweenBatchesMs);
    }
    // Target first (it bumps its config epoch), then the source, then every other master.
    const others = this.masters().filter((node) => node.port !== from.port && node.port !== to.port && node.running);
    for (const node of [to, from, ...others]) {
      await this.admin.call(node.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.nodeId);
    }
    await this.waitUntilHealthy();
    const owner = await this.masterForSlot(slot);
    if (owner.port !== to.port) throw new Error(`Slot ${slot} is owned by ${owner.port} after migration, not ${to.port}`);
    return { fromPort: from.port, toPort: to.port, keysMoved, batches };
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const client of this.clients) client.disconnect();
      this.clients.clear();
      await this.admin.closeAll();
      await Promise.all([...this.servers.values()].map((server) => server.stop()));
    })();
    return this.stopping;
  }
}

/**
 * Starts `masters × (1 + replicasPerMaster)` cluster-enabled redis-server processes (no
 * persistence, `cluster-node-timeout` = `nodeTimeoutMs`, `cluster-replica-validity-factor 0` so a
 * replica always takes over a failed master, `repl-diskless-sync-delay 0` so replicas sync at
 * once), creates the cluster with `redis-cli --cluster create … --cluster-replicas N
 * --cluster-yes`, and waits until every node reports `cluster_state:ok`, all 16384 slots are
 * covered, views have converged and every replica is attached.
 *
 * On any failure every node started so far is stopped before the error is thrown.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 0;
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isInteger(masters) || masters < 3) throw new Error(`masters must be an integer ≥ 3, got ${masters}`);
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) {
    throw new Error(`replicasPerMaster must be an integer ≥ 0, got ${replicasPerMaster}`);
  }
  const args = [
    '--cluster-enabled', 'yes',
    '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2_000),
    '--cluster-replica-validity-factor', '0',
    '--repl-diskless-sync-delay', '0',
    ...(options.args ?? []),
  ];
  const count = masters * (1 + replicasPerMaster);
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startRedisServer({ persistence: 'none', needsBusPort: true, args })),
  );
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const cluster = new ManagedRedisCluster(servers, timeoutMs);
  try {
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const addresses = servers.map((server) => `${server.host}:${server.port}`);
    const create = ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'];
    await runCreate(cluster, create, timeoutMs);
    await cluster.waitUntilHealthy(timeoutMs, { masters, replicasPerMaster });
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
