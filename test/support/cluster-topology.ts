/**
 * Reading a Redis Cluster's state: parsing `CLUSTER NODES` and `CLUSTER INFO`, and deciding
 * whether the cluster has converged ("healthy") from what every running node reports.
 */

/** Total number of hash slots in Redis Cluster. */
export const SLOT_COUNT = 16_384;

/** One line of `CLUSTER NODES`, as seen by the node that answered. */
export interface ClusterNodeLine {
  nodeId: string;
  host: string;
  port: number;
  flags: readonly string[];
  role: 'master' | 'replica';
  /** Node id of the master, for a replica. */
  masterId: string | undefined;
  /** Owned slot ranges, inclusive: `[start, end]`. */
  slots: ReadonlyArray<readonly [number, number]>;
  /** Slots this node is migrating or importing (`[123->-id]`, `[123-<-id]`); only shown for `myself`. */
  openSlots: readonly string[];
  myself: boolean;
  /** `fail` or `fail?` flag set. */
  failing: boolean;
}

/** Parses the text of `CLUSTER NODES`. */
export function parseClusterNodes(text: string): ClusterNodeLine[] {
  const lines: ClusterNodeLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const fields = line.split(' ');
    const [nodeId = '', address = '', flagText = '', master = '-'] = fields;
    // address: ip:port@cport[,hostname]
    const hostPort = address.split('@')[0] ?? '';
    const colon = hostPort.lastIndexOf(':');
    const flags = flagText.split(',');
    const slots: Array<readonly [number, number]> = [];
    const openSlots: string[] = [];
    for (const slot of fields.slice(8)) {
      if (slot.startsWith('[')) {
        openSlots.push(slot);
        continue;
      }
      const [start, end = start] = slot.split('-');
      slots.push([Number(start), Number(end)]);
    }
    lines.push({
      nodeId,
      host: hostPort.slice(0, colon),
      port: Number(hostPort.slice(colon + 1)),
      flags,
      role: flags.includes('master') ? 'master' : 'replica',
      masterId: master === '-' ? undefined : master,
      slots,
      openSlots,
      myself: flags.includes('myself'),
      failing: flags.includes('fail') || flags.includes('fail?'),
    });
  }
  return lines;
}

/** Parses `key:value` lines (`CLUSTER INFO`, `INFO <section>`). */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** What one running node reports. */
export interface NodeReport {
  port: number;
  clusterInfo: Map<string, string>;
  nodes: ClusterNodeLine[];
  replication: Map<string, string>;
}

/** Expectations beyond convergence. */
export interface HealthExpectations {
  /** Ports of all nodes that belong to the cluster (running or not). */
  allPorts: readonly number[];
  /** Ports of the nodes that are running. */
  runningPorts: ReadonlySet<number>;
  /** Exact number of masters owning slots, if it must be checked. */
  masters?: number;
  /** Exact number of replicas per master, if it must be checked. */
  replicasPerMaster?: number;
}

function viewSignature(report: NodeReport, running: ReadonlySet<number>): string {
  const byId = new Map(report.nodes.map((node) => [node.nodeId, node]));
  return report.nodes
    .filter((node) => running.has(node.port))
    .map((node) => {
      const master = node.masterId === undefined ? '' : String(byId.get(node.masterId)?.port ?? node.masterId);
      const slots = node.slots.map(([start, end]) => `${start}-${end}`).join(',');
      return `${node.port}:${node.role}:${master}:${slots}`;
    })
    .sort()
    .join(' ');
}

/**
 * Lists what keeps the cluster from being healthy; an empty list means healthy:
 * - every running node says `cluster_state:ok` with all 16384 slots assigned and ok;
 * - every running node knows every cluster node, none in handshake, no running node flagged
 *   `fail`/`fail?`, no slot migrating or importing;
 * - every running node reports the same roles, masters and slot ownership (converged views);
 * - every slot belongs to a running master;
 * - every running replica's replication link is up;
 * - the counts of masters and replicas match, when given.
 */
export function clusterProblems(reports: readonly NodeReport[], expect: HealthExpectations): string[] {
  const problems: string[] = [];
  if (reports.length === 0) return ['no running node answered'];
  for (const report of reports) {
    const p = report.port;
    const state = report.clusterInfo.get('cluster_state');
    if (state !== 'ok') problems.push(`${p}: cluster_state:${String(state)}`);
    for (const field of ['cluster_slots_assigned', 'cluster_slots_ok']) {
      const value = report.clusterInfo.get(field);
      if (value !== String(SLOT_COUNT)) problems.push(`${p}: ${field}:${String(value)}`);
    }
    const known = report.nodes.filter((node) => !node.flags.includes('handshake'));
    if (known.length !== expect.allPorts.length) {
      problems.push(`${p}: knows ${known.length} of ${expect.allPorts.length} nodes`);
    }
    for (const node of report.nodes) {
      if (node.flags.includes('handshake') || node.flags.includes('noaddr')) {
        problems.push(`${p}: sees ${node.nodeId.slice(0, 8)} as ${node.flags.join(',')}`);
      } else if (node.failing && expect.runningPorts.has(node.port)) {
        problems.push(`${p}: sees running node ${node.port} as ${node.flags.join(',')}`);
      }
      if (node.openSlots.length > 0) problems.push(`${p}: open slots ${node.openSlots.join(' ')}`);
    }
    const me = report.nodes.find((node) => node.myself);
    if (me?.role === 'replica' && report.replication.get('master_link_status') !== 'up') {
      problems.push(`${p}: replica link ${String(report.replication.get('master_link_status'))}`);
    }
  }
  const signatures = new Set(reports.map((report) => viewSignature(report, expect.runningPorts)));
  if (signatures.size > 1) problems.push(`nodes disagree on the topology (${signatures.size} different views)`);

  const view = (reports[0] as NodeReport).nodes;
  const owners = view.filter((node) => node.role === 'master' && node.slots.length > 0);
  for (const owner of owners) {
    if (!expect.runningPorts.has(owner.port)) problems.push(`slots of stopped master ${owner.port}`);
  }
  if (expect.masters !== undefined && owners.length !== expect.masters) {
    problems.push(`${owners.length} masters own slots, expected ${expect.masters}`);
  }
  if (expect.replicasPerMaster !== undefined) {
    for (const owner of owners) {
      const replicas = view.filter((node) => node.masterId === owner.nodeId).length;
      if (replicas !== expect.replicasPerMaster) {
        problems.push(`master ${owner.port} has ${replicas} replicas, expected ${expect.replicasPerMaster}`);
      }
    }
  }
  return problems;
}
