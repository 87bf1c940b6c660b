import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOT_COUNT } from './cluster-topology.js';
import { listHarnessServerPids } from './reaper.js';
import { startRedisCluster, type ClusterNodeInfo, type RedisCluster } from './redis-cluster.js';
import { waitFor } from './wait.js';

afterAll(() => {
  // Every describe block stops its cluster in its own afterAll, which runs before this one.
  expect(listHarnessServerPids()).toEqual([]);
});

function owns(node: ClusterNodeInfo, slot: number): boolean {
  return node.slots.some(([start, end]) => slot >= start && slot <= end);
}

/** Runs `workers` loops of `op` until stopped; counts acknowledged calls and keeps errors. */
function loadLoop(workers: number, op: (i: number) => Promise<unknown>) {
  let running = true;
  let acked = 0;
  const errors: unknown[] = [];
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        await op(acked);
        acked += 1;
      } catch (error) {
        errors.push(error);
      }
    }
  });
  return {
    get acked() {
      return acked;
    },
    errors,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('startRedisCluster: 3 masters', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    client = cluster.client();
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('comes up with 3 masters covering all 16384 slots, every node ok', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.startupNodes).toHaveLength(3);
    const masters = cluster.masters();
    expect(masters).toHaveLength(3);
    const covered = masters.flatMap((m) => m.slots).reduce((sum, [start, end]) => sum + end - start + 1, 0);
    expect(covered).toBe(SLOT_COUNT);
    for (const node of cluster.nodes) {
      expect(node.nodeId).toMatch(/^[0-9a-f]{40}$/);
      expect(node.running).toBe(true);
      const info = String(await cluster.server(node.port).client().call('CLUSTER', 'INFO'));
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain(`cluster_slots_ok:${SLOT_COUNT}`);
    }
  });

  it('keySlot uses the real CLUSTER KEYSLOT, hash tags included (reliability.md §3.3)', async () => {
    expect(await cluster.keySlot('foo')).toBe(12182);
    expect(await cluster.keySlot('{user1000}.following')).toBe(await cluster.keySlot('{user1000}.followers'));
    expect(await cluster.keySlot('q:{alice}:used')).toBe(749);
    expect(await cluster.keySlot('q:{alice}:resv')).toBe(749);
    // An empty tag is no tag: the whole key is hashed, so these two keys are in different slots.
    expect(await cluster.keySlot('q:{}:used')).toBe(15900);
    expect(await cluster.keySlot('q:{}:resv')).toBe(1364);
    // Users can pick a slot with raw braces.
    expect(await cluster.keySlot('{hot}1')).toBe(await cluster.keySlot('{hot}2'));
    expect(await cluster.keySlot(Buffer.from([0xff, 0x00, 0x7b, 0x61, 0x7d]))).toBe(await cluster.keySlot('a'));
  });

  it('writes keys of different slots through the ioredis Cluster client, each on its owner', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `harness:key:${i}`);
    for (const key of keys) await client.set(key, key);
    const owners = new Set<number>();
    for (const key of keys) {
      const slot = await cluster.keySlot(key);
      const owner = await cluster.masterForSlot(slot);
      expect(owns(owner, slot)).toBe(true);
      owners.add(owner.port);
      // A plain connection to the owner reads the key; another master answers MOVED.
      expect(await cluster.server(owner.port).client().get(key)).toBe(key);
      const other = cluster.masters().find((m) => m.port !== owner.port) as ClusterNodeInfo;
      await expect(cluster.server(other.port).client().get(key)).rejects.toThrow(new RegExp(`MOVED ${slot} `));
    }
    expect(owners.size).toBe(3);
    expect(await client.get('harness:key:7')).toBe('harness:key:7');
  });

  it('runs a multi-key script when the keys share a hash tag, and reproduces CROSSSLOT otherwise', async () => {
    const script = "return redis.call('INCRBY', KEYS[1], ARGV[1]) + redis.call('INCRBY', KEYS[2], ARGV[1])";
    expect(await client.eval(script, 2, 'q:{bob}:a', 'q:{bob}:b', 2)).toBe(4);
    await expect(client.eval(script, 2, 'q:{}:used', 'q:{}:resv', 2)).rejects.toThrow(/CROSSSLOT/);
  });

  it('migrateSlot moves a hot slot while clients keep writing to it; no acknowledged INCR is lost', async () => {
    const tag = '{hot-user}';
    const slot = await cluster.keySlot(tag);
    const from = await cluster.masterForSlot(slot);
    const to = cluster.masters().find((m) => m.port !== from.port) as ClusterNodeInfo;
    const seeded = 400;
    for (let i = 0; i < seeded; i += 100) {
      await client.mset(Object.fromEntries(Array.from({ length: 100 }, (_, j) => [`${tag}:k${i + j}`, String(i + j)])));
    }
    const counter = `${tag}:counter`;
    const incr = loadLoop(3, () => client.incr(counter));
    const writes = loadLoop(1, (i) => client.set(`${tag}:new${i}`, String(i)));
    await waitFor(() => (incr.acked >= 30 ? true : undefined), { what: 'load to start', timeoutMs: 5_000 });
    const ackedBefore = incr.acked;

    const begin = Date.now();
    const result = await cluster.migrateSlot(slot, to.port, { batchSize: 20, pauseBetweenBatchesMs: 10 });
    const elapsed = Date.now() - begin;
    const ackedDuring = incr.acked - ackedBefore;
    await waitFor(() => (incr.acked >= ackedBefore + ackedDuring + 30 ? true : undefined), {
      what: 'load to go on after the migration',
      timeoutMs: 5_000,
    });
    await incr.stop();
    await writes.stop();

    expect(incr.errors).toEqual([]);
    expect(writes.errors).toEqual([]);
    expect(ackedDuring).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThan(result.batches * 10);
    expect(result).toMatchObject({ fromPort: from.port, toPort: to.port });
    expect(result.keysMoved).toBeGreaterThanOrEqual(seeded + 1);
    expect(Number(await client.get(counter))).toBe(incr.acked);
    expect((await cluster.masterForSlot(slot)).port).toBe(to.port);

    // Every key of the slot is now on the target, none left on the source.
    const target = cluster.server(to.port).client();
    const source = cluster.server(from.port).client();
    const inSlot = seeded + 1 + writes.acked;
    expect(await target.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(inSlot);
    expect(await source.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
    expect(await target.get(counter)).toBe(String(incr.acked));
    expect(await client.get(`${tag}:k123`)).toBe('123');
  });

  it('migrateSlot to the current owner is a no-op; unknown targets are rejected', async () => {
    const slot = await cluster.keySlot('noop');
    const owner = await cluster.masterForSlot(slot);
    expect(await cluster.migrateSlot(slot, owner.port)).toEqual({
      fromPort: owner.port,
      toPort: owner.port,
      keysMoved: 0,
      batches: 0,
    });
    await expect(cluster.migrateSlot(slot, 1)).rejects.toThrow(/No master on port 1/);
  });

  it('a killed master without replica leaves its slots down; restarted without persistence it is empty', async () => {
    const key = 'harness:lost';
    await client.set(key, 'v');
    const owner = await cluster.masterForSlot(await cluster.keySlot(key));
    await cluster.killNode(owner.port);
    await expect(cluster.waitUntilHealthy(500)).rejects.toThrow(new RegExp(`slots of stopped master ${owner.port}`));

    await cluster.restartNode(owner.port);
    expect((await cluster.masterForSlot(await cluster.keySlot(key))).port).toBe(owner.port);
    expect(await client.get(key)).toBeNull();
  });
});

describe('startRedisCluster: invalid options', () => {
  it('rejects fewer than 3 masters before starting anything', async () => {
    await expect(startRedisCluster({ masters: 2 })).rejects.toThrow(/masters must be an integer ≥ 3/);
    await expect(startRedisCluster({ replicasPerMaster: -1 })).rejects.toThrow(/replicasPerMaster/);
  });
});

describe('startRedisCluster: 3 masters + 3 replicas', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    client = cluster.client();
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('attaches one replica to every master', () => {
    expect(cluster.nodes).toHaveLength(6);
    for (const master of cluster.masters()) {
      const replicas = cluster.replicasOf(master.port);
      expect(replicas).toHaveLength(1);
      expect(replicas[0]?.role).toBe('replica');
    }
  });

  it('failover() swaps roles, and writes keep working during and after it', async () => {
    const key = 'harness:failover';
    const slot = await cluster.keySlot(key);
    const master = await cluster.masterForSlot(slot);
    const [replica] = cluster.replicasOf(master.port);
    const load = loadLoop(2, () => client.incr(key));
    await waitFor(() => (load.acked >= 20 ? true : undefined), { what: 'load to start', timeoutMs: 5_000 });

    const promoted = await cluster.failover(master.port);
    const ackedAtSwap = load.acked;
    await waitFor(() => (load.acked >= ackedAtSwap + 20 ? true : undefined), {
      what: 'writes after the failover',
      timeoutMs: 10_000,
    });
    await load.stop();

    expect(promoted.port).toBe(replica?.port);
    expect(promoted.role).toBe('master');
    expect(cluster.nodes.find((n) => n.port === master.port)).toMatchObject({ role: 'replica', masterId: promoted.nodeId });
    expect((await cluster.masterForSlot(slot)).port).toBe(promoted.port);
    expect(load.errors).toEqual([]);
    // A coordinated manual failover loses no acknowledged write.
    expect(Number(await client.get(key))).toBe(load.acked);
  });

  it('a SIGKILLed master is replaced by its replica, and rejoins as a replica after restartNode()', async () => {
    const key = 'harness:killed-master';
    await client.set(key, 'v');
    const slot = await cluster.keySlot(key);
    const victim = await cluster.masterForSlot(slot);
    const [replica] = cluster.replicasOf(victim.port);

    await cluster.killNode(victim.port);
    expect(cluster.nodes.find((n) => n.port === victim.port)?.running).toBe(false);
    await cluster.waitUntilHealthy();
    expect((await cluster.masterForSlot(slot)).port).toBe(replica?.port);
    expect(await client.get(key)).toBe('v'); // replicated before the kill

    await cluster.restartNode(victim.port);
    const rejoined = cluster.nodes.find((n) => n.port === victim.port);
    expect(rejoined).toMatchObject({ role: 'replica', masterId: replica?.nodeId, running: true });
    expect(cluster.masters()).toHaveLength(3);
  });
});
