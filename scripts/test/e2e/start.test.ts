/**
 * `npm start` (scripts/start.mjs) stopped with one Ctrl-C, as a terminal sends it: SIGINT to
 * every process of the foreground process group. Before, the services were in that group too:
 * each got the terminal's SIGINT and then the script's SIGTERM, and the worker took the
 * second as "exit now" (issue 18 item 6). Now one Ctrl-C drains and stops each service once,
 * and the script exits 0 after them. And the script killed outright (SIGKILL: it cannot
 * forward anything) takes its services with it, over their IPC channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { freePort } from '../../../test-support/processes.js';
import { AMQP_URL, cleanupRedis, deleteQueues, redisEnv } from '../../../gateway/test/support/harness.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
let db: TestDatabase;
const prefix = uniqueId('vrstart').toLowerCase();
const queue = uniqueId('vr-start-orders-');

interface Run {
  readonly child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `node scripts/start.mjs` as a terminal runs it: leader of its own (foreground) process group */
async function startScript(): Promise<Run> {
  const port = await freePort();
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      ...redisEnv(),
      AMQP_URL,
      ORDERS_QUEUE: queue,
      REDIS_KEY_PREFIX: prefix,
      PORT: String(port),
      METRICS_PORT: '0',
      ADMIN_API_KEY: 'start-script-admin-key-0123456789',
      LOG_LEVEL: 'info',
    },
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function until(what: string, run: Run, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** pids of the live processes whose parent is `ppid` */
async function childrenOf(ppid: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === ppid && fields[0] !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await cleanupRedis(prefix);
  await deleteQueues([queue, `${queue}.dead`]);
  await db?.drop();
});

describe('npm start', () => {
  it('stops the gateway and the worker once each, draining, on one Ctrl-C to its process group', async () => {
    const run = await startScript();
    await until('the start', run, () => run.output().includes('Velvet Rope is running') && run.output().includes('order-worker ready'));
    process.kill(-run.child.pid!, 'SIGINT'); // what the terminal does on Ctrl-C
    const code = await run.exited;
    const out = run.output();
    expect(out).not.toContain('second signal');
    expect(out).not.toMatch(/exited \((SIG\w+|\d+)\); stopping/);
    expect(out).toContain('order-worker stopped');
    expect(out.match(/shutting down/g)).toHaveLength(1); // the gateway, once
    expect(out.match(/"msg":"stopping"/g)).toHaveLength(1); // the worker, once
    expect(code).toBe(0);
  });

  it('takes its services with it when it is killed outright', async () => {
    const run = await startScript();
    await until('the start', run, () => run.output().includes('Velvet Rope is running') && run.output().includes('order-worker ready'));
    const services = await childrenOf(run.child.pid!);
    expect(services).toHaveLength(2);
    run.child.kill('SIGKILL');
    await run.exited;
    await until('the services to stop', run, () => !services.some(alive), 30_000);
    expect(services.filter(alive)).toEqual([]);
  });
});
