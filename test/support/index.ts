/** Test-support harness: real Redis processes, a Redis Cluster and a fault-injecting TCP proxy. */
export { startRedisServer, RedisStartError } from './redis-server.js';
export type { RedisServer, RedisPersistence, StartRedisServerOptions } from './redis-server.js';
export { startRedisCluster } from './redis-cluster.js';
export type {
  RedisCluster,
  ClusterNodeInfo,
  StartRedisClusterOptions,
  FailoverOptions,
  MigrateSlotOptions,
  MigrateSlotResult,
} from './redis-cluster.js';
export { startTcpProxy } from './tcp-proxy.js';
export type { TcpProxy, TcpProxyStats, ProxyLatency, DroppedReply, StartTcpProxyOptions } from './tcp-proxy.js';
export { requireRedis, uniquePrefix, deleteKeysWithPrefix, defaultRedisUrl } from './redis-available.js';
export { listHarnessServerPids, harnessMarker } from './reaper.js';
export { waitFor, sleep, withTimeout } from './wait.js';
export { decodeStoredWindow } from './stored-window.js';
