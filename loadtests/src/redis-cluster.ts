/**
 * A private, local Redis Cluster of three masters on spare ports: the `cluster` test project's
 * and the chaos tests', and the simulator's for a sale over shards (`--shards`, without
 * `--redis-cluster-nodes`). Only what it started is stopped.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export interface LocalCluster {
  /** `host:port,host:port,host:port`, as REDIS_CLUSTER_NODES takes it */
  readonly nodes: string;
  /** the masters' ports, in start order */
  readonly ports: readonly number[];
  /** the port of the master that serves `key`'s slot */
  masterOf(key: string): Promise<number>;
  /**
   * Kills one master (SIGKILL) and starts it again on its port with no data: it keeps its node
   * id and slots (its nodes.conf), as a shard whose process restarted without persistence.
   */
  restartEmpty(port: number): Promise<void>;
  /** every node's log so far (the Redis log lines of each port, restarts included), for diagnosis */
  logs(): string;
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'vr-redis-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(
      children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve())),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      // the cluster bus listens on port + 10000: both must be free
      const port = await freePort({ companions: [10_000] });
      ports.push(port);
      children.push(startNode(dir, port));
    }
    for (const port of ports) await waitFor(async () => (await cli(port, 'ping')) === 'PONG');
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) await waitFor(async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'));
  } catch (err) {
    await stop();
    throw err;
  }
  const masterOf = async (key: string): Promise<number> => {
    const slot = Number(await cli(ports[0]!, 'cluster', 'keyslot', key));
    for (const port of ports) {
      const owned = (await cli(port, 'cluster', 'nodes'))
        .split('\n')
        .find((line) => line.includes('myself'))
        ?.split(' ')
        .slice(8);
      for (const range of owned ?? []) {
        const [from, to = from] = range.split('-').map(Number) as [number, number?];
        if (slot >= from && slot <= to) return port;
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  };
  const restartEmpty = async (port: number): Promise<void> => {
    const i = ports.indexOf(port);
    const old = children[i];
    if (!old) throw new Error(`no node on port ${port}`);
    old.kill('SIGKILL');
    if (old.exitCode === null && old.signalCode === null) await new Promise((r) => old.once('exit', r));
    children[i] = startNode(dir, port);
    await waitFor(async () => (await cli(port, 'ping')) === 'PONG');
    for (const p of ports) await waitFor(async () => (await cli(p, 'cluster', 'info')).includes('cluster_state:ok'));
  };
  const logs = () =>
    ports
      .map((p) => {
        const file = join(dir, `redis-${p}.log`);
        return `===== redis-cluster ${p}\n${existsSync(file) ? readFileSync(file, 'utf8') : ''}`;
      })
      .join('\n');
  return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), ports, masterOf, restartEmpty, logs, stop };
}

function startNode(dir: string, port: number): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      '2000',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--logfile',
      join(dir, `redis-${port}.log`),
    ],
    { stdio: 'ignore' },
  );
}

async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
    return stdout.trim();
  } catch {
    return '';
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('local Redis Cluster did not come up');
}
