/** The private Redis Cluster lives with the load tools (the simulator starts one for `--shards`). */
export { startRedisCluster, type LocalCluster } from '../loadtests/src/redis-cluster.js';
