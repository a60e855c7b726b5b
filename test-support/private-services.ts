/**
 * Private instances of Redis, PostgreSQL and RabbitMQ for tests that break them (the chaos
 * suite): each on free ports of its own, with a data directory of its own under the system's
 * temporary directory, started as a child process this module owns.
 *
 * The machine's shared services on the default ports are never touched: everything here
 * signals only process ids (or process groups) that this module spawned, and removes only
 * directories that it created. A test that throws still cleans up: call
 * `cleanupPrivateServices()` in `afterAll`; as a last resort, a process 'exit' hook (and
 * SIGINT/SIGTERM/SIGHUP) kills whatever is still running and removes the directories.
 *
 * - Redis: `redis-server --save '' --appendonly no` (no persistence): `kill()` is SIGKILL and
 *   `restartEmpty()` starts it again on the same port with no data.
 * - PostgreSQL: `initdb -A trust -U postgres` then `postgres -c fsync=off` (tests only), run
 *   as the `postgres` OS user when we are root (initdb refuses root); `stop()` is SIGINT (fast
 *   shutdown), `stopImmediately()` SIGQUIT; `start()` starts it again on the same data
 *   directory and port. A streaming replica of one: `pg_basebackup -R` into its own directory.
 * - RabbitMQ: a second node (`chaos<random>@localhost`) beside the machine's own, sharing its
 *   Erlang cookie and epmd, with its own config file (listener on a free port), no plugins,
 *   its own mnesia and log directories; run in the foreground as the `rabbitmq` OS user in a
 *   process group of its own, so that stop/kill reach the whole tree. A cluster of such nodes
 *   (`startPrivateRabbitMQCluster(3)`): `vr<random>-<i>@localhost`, joined to the first.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './processes.js';

// ---------------------------------------------------------------------------------------
// process bookkeeping: every process we start, until it exited; every directory we made.
//
// Three layers, so that nothing outlives a run: the tests' own cleanup (afterAll); an 'exit'
// and signal hook in this process; and a small detached watchdog that outlives a SIGKILLed
// test runner and then kills what the registry file lists. The watchdog signals a process
// only if its command line or environment carries this run's marker (the private data
// directory, or VR_CHAOS_RUN=<run id> for gateways and workers), so a recycled pid is safe.

interface Tracked {
  readonly name: string;
  readonly child: ChildProcess;
  /** spawned `detached`: it leads a process group of its own, signalled as a whole */
  readonly group: boolean;
  /** text found in /proc/<pid>/cmdline or /proc/<pid>/environ of every process it owns */
  readonly marker: string;
}

/** this test process's run id: in the environment of every gateway and worker it starts */
export const CHAOS_RUN_ID = `${process.pid}-${randomBytes(4).toString('hex')}`;
const RUN_MARKER = `VR_CHAOS_RUN=${CHAOS_RUN_ID}`;
const REGISTRY = join(tmpdir(), `vr-chaos-registry-${CHAOS_RUN_ID}.json`);

const tracked = new Set<Tracked>();
const directories = new Set<string>();
const services = new Set<ManagedService>();
let hooksInstalled = false;

/** The environment variables that mark a gateway or worker as started by this run. */
export function chaosRunEnv(): Record<string, string> {
  return { VR_CHAOS_RUN: CHAOS_RUN_ID };
}

function saveRegistry(): void {
  if (!hooksInstalled) return;
  const entries = [...tracked]
    .filter((t) => t.child.pid !== undefined)
    .map((t) => ({ pid: t.child.pid, group: t.group, marker: t.marker }));
  const body = JSON.stringify({ runner: process.pid, processes: entries, dirs: [...directories] });
  try {
    writeFileSync(`${REGISTRY}.tmp`, body);
    renameSync(`${REGISTRY}.tmp`, REGISTRY);
  } catch {
    // the watchdog is the last resort; the hooks still run
  }
}

function track(t: Tracked): void {
  tracked.add(t);
  saveRegistry();
}

function untrack(t: Tracked): void {
  if (tracked.delete(t)) saveRegistry();
}

function alive(t: Tracked): boolean {
  if (t.child.exitCode === null && t.child.signalCode === null) return true;
  // the leader is gone; members of its group may not be
  return t.group && groupExists(t.child.pid!);
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalTracked(t: Tracked, signal: NodeJS.Signals): void {
  const pid = t.child.pid;
  if (pid === undefined) return;
  try {
    if (t.group) process.kill(-pid, signal);
    else if (t.child.exitCode === null && t.child.signalCode === null) process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Kills everything still running and removes every directory: synchronous, for exit hooks. */
function killAllSync(): void {
  for (const t of tracked) if (alive(t)) signalTracked(t, 'SIGKILL');
  tracked.clear();
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  directories.clear();
  rmSync(REGISTRY, { force: true });
}

/** Runs detached (plain CommonJS via `node -e`): argv = [node, registry, runnerPid]. */
const WATCHDOG = `
const fs = require('fs');
const [registry, runner] = [process.argv[1], Number(process.argv[2])];
const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch { return ''; } };
const startTime = (pid) => { const st = read('/proc/' + pid + '/stat'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); return f[19] || ''; };
const born = startTime(runner);
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const marked = (pid, marker) => read('/proc/' + pid + '/cmdline').includes(marker) || read('/proc/' + pid + '/environ').includes(marker);
const members = (pgid) => fs.readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d)).map(Number).filter((pid) => {
  const st = read('/proc/' + pid + '/stat'); const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(f[2]) === pgid;
});
function sweep() {
  let reg; try { reg = JSON.parse(read(registry)); } catch { return; }
  for (const p of reg.processes) {
    for (const pid of p.group ? members(p.pid) : [p.pid]) {
      if (marked(pid, p.marker)) { try { process.kill(pid, 'SIGKILL'); } catch {} }
    }
  }
  setTimeout(() => {
    for (const d of reg.dirs) fs.rmSync(d, { recursive: true, force: true });
    fs.rmSync(registry, { force: true });
    process.exit(0);
  }, 1000);
}
const timer = setInterval(() => {
  if (!fs.existsSync(registry)) process.exit(0);
  if (!alive(runner) || startTime(runner) !== born) { clearInterval(timer); sweep(); }
}, 500);
`;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  saveRegistry();
  if (existsSync('/proc/self/stat')) {
    const watchdog = spawn(process.execPath, ['-e', WATCHDOG, REGISTRY, String(process.pid)], {
      detached: true,
      stdio: 'ignore',
    });
    watchdog.unref();
  }
  process.once('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllSync();
      // the default action now that our handler is gone
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Registers a child process that a test started some other way (a gateway, a worker), so
 * that the hooks and the watchdog kill it too if the test never got to stop it. Start it
 * with `chaosRunEnv()` in its environment: the watchdog kills only what carries the marker.
 */
export function trackChild(name: string, child: ChildProcess): void {
  installHooks();
  const t: Tracked = { name, child, group: false, marker: RUN_MARKER };
  track(t);
  child.once('exit', () => untrack(t));
}

function makeDirectory(kind: string, owner?: OsUser): string {
  installHooks();
  const dir = mkdtempSync(join(tmpdir(), `vr-chaos-${kind}-`));
  directories.add(dir);
  saveRegistry();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, 0o700);
  return dir;
}

function removeDirectory(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  directories.delete(dir);
  saveRegistry();
}

// ---------------------------------------------------------------------------------------
// helpers

interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** The OS user to run a server as: `name` when we are root, else ourselves. */
function runAs(name: string): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const res = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  const fields = res.stdout.trim().split(':');
  if (res.status !== 0 || fields.length < 6) throw new Error(`no OS user ${name} to run as (we are root)`);
  return { name, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function portOpen(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Free ports, distinct from each other and from `avoid`. */
async function freePorts(n: number, avoid: (port: number) => boolean = () => false): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!ports.includes(p) && !avoid(p)) ports.push(p);
  }
  return ports;
}

function findBinary(candidates: readonly string[], what: string): string {
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error(`${what} not found (looked at ${candidates.filter(Boolean).join(', ')})`);
}

function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const cfg = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (cfg.status === 0) return cfg.stdout.trim();
  throw new Error('PostgreSQL binaries not found: set PG_BIN');
}

/** Runs a command to completion (as `user` when given); rejects with its output on failure. */
function runToEnd(cmd: string, args: string[], opts: SpawnOptions & { user?: OsUser; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...opts,
      ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}:\n${out}`));
    });
  });
}

// ---------------------------------------------------------------------------------------
// the common part of the three services

export interface PrivateService {
  readonly name: string;
  /** the client URL (redis://, postgres://, amqp://) */
  readonly url: string;
  readonly port: number;
  /** the private data directory */
  readonly dir: string;
  /** the process id of the running server (the group leader for RabbitMQ), if running */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** how long the last start took until the service answered, in ms */
  readonly lastStartMs: number;
  /** (Re)starts on the same port and data directory; resolves once it answers. */
  start(): Promise<void>;
  /** Graceful stop; waits until every process of it has exited. */
  stop(): Promise<void>;
  /** SIGKILL to the server (the whole process group for RabbitMQ); waits until gone. */
  kill(): Promise<void>;
  /** Kills it and removes its data directory. */
  destroy(): Promise<void>;
  /** what it printed lately */
  output(): string;
}

abstract class ManagedService implements PrivateService {
  #proc: Tracked | undefined;
  #exited: Promise<void> = Promise.resolve();
  #chunks: string[] = [];
  #size = 0;
  lastStartMs = 0;
  #destroyed = false;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly dir: string,
    protected readonly user: OsUser | undefined,
    /** detached: a process group of its own */
    private readonly group: boolean,
  ) {
    services.add(this);
  }

  abstract get url(): string;
  protected abstract command(): { cmd: string; args: string[]; env?: NodeJS.ProcessEnv };
  /** resolves once the service answers; `exited` tells whether the process died meanwhile */
  protected abstract waitReady(deadline: number): Promise<void>;
  /** the graceful stop signal, sent to the leader only */
  protected abstract readonly stopSignal: NodeJS.Signals;

  get pid(): number | undefined {
    return this.running ? this.#proc?.child.pid : undefined;
  }

  get running(): boolean {
    return this.#proc !== undefined && alive(this.#proc);
  }

  output(): string {
    return this.#chunks.join('');
  }

  protected log(text: string): void {
    this.#chunks.push(text);
    this.#size += text.length;
    while (this.#size > 1_000_000 && this.#chunks.length > 1) this.#size -= this.#chunks.shift()!.length;
  }

  protected get exitedEarly(): boolean {
    const c = this.#proc?.child;
    return c === undefined || c.exitCode !== null || c.signalCode !== null;
  }

  async start(): Promise<void> {
    if (this.#destroyed) throw new Error(`${this.name}: destroyed`);
    if (this.running) throw new Error(`${this.name}: already running (pid ${this.pid})`);
    const { cmd, args, env } = this.command();
    const began = Date.now();
    this.log(`\n--- ${new Date().toISOString()} starting ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, {
      cwd: this.dir,
      // the marker the watchdog looks for before it signals anything
      env: { ...(env ?? process.env), VR_CHAOS_DIR: this.dir },
      detached: this.group,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.user ? { uid: this.user.uid, gid: this.user.gid } : {}),
    });
    const t: Tracked = { name: this.name, child, group: this.group, marker: this.dir };
    track(t);
    this.#proc = t;
    child.stdout!.on('data', (b: Buffer) => this.log(b.toString()));
    child.stderr!.on('data', (b: Buffer) => this.log(b.toString()));
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.log(`\n--- ${new Date().toISOString()} exited ${code ?? signal}\n`);
        resolve();
      });
      child.once('error', (err) => {
        this.log(`\n--- spawn error: ${err.message}\n`);
        resolve();
      });
    });
    try {
      await this.waitReady(began + this.startTimeoutMs);
    } catch (err) {
      await this.kill();
      throw new Error(`${this.name} did not start: ${(err as Error).message}\n${this.output().slice(-4000)}`, { cause: err });
    }
    this.lastStartMs = Date.now() - began;
  }

  protected get startTimeoutMs(): number {
    return 60_000;
  }

  /** Waits until the leader exited and (for a group) every member too; false on timeout. */
  async #waitGone(timeoutMs: number): Promise<boolean> {
    const t = this.#proc;
    if (!t) return true;
    const deadline = Date.now() + timeoutMs;
    await Promise.race([this.#exited, sleep(timeoutMs)]);
    while (alive(t)) {
      if (Date.now() > deadline) return false;
      await sleep(50);
    }
    untrack(t);
    return true;
  }

  async stop(): Promise<void> {
    return this.stopWith(this.stopSignal);
  }

  /** Stops it with `signal` to the leader; waits until every process of it has exited. */
  protected async stopWith(signal: NodeJS.Signals): Promise<void> {
    const t = this.#proc;
    if (!t || !alive(t)) return;
    if (t.child.exitCode === null && t.child.signalCode === null) t.child.kill(signal);
    else signalTracked(t, signal); // leader gone, group members left
    if (!(await this.#waitGone(20_000))) {
      this.log(`\n--- did not stop within 20 s: SIGKILL\n`);
      await this.kill();
    }
  }

  async kill(): Promise<void> {
    const t = this.#proc;
    if (!t || !alive(t)) return;
    signalTracked(t, 'SIGKILL');
    if (!(await this.#waitGone(10_000))) throw new Error(`${this.name}: still running 10 s after SIGKILL`);
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    try {
      await this.kill();
    } finally {
      removeDirectory(this.dir);
      services.delete(this);
    }
  }
}

/** Kills every private service still running and removes their data directories. */
export async function cleanupPrivateServices(): Promise<void> {
  const errors: unknown[] = [];
  for (const s of [...services]) {
    try {
      await s.destroy();
    } catch (err) {
      errors.push(err);
    }
  }
  killAllSync();
  if (errors.length) throw new AggregateError(errors, 'cleanupPrivateServices');
}

// ---------------------------------------------------------------------------------------
// Redis

export interface PrivateRedis extends PrivateService {
  /** Starts again on the same port with no data (the previous process must be gone). */
  restartEmpty(): Promise<void>;
}

class RedisService extends ManagedService implements PrivateRedis {
  protected readonly stopSignal = 'SIGTERM';
  /** more arguments for redis-server (a replica's `--replicaof`) */
  extraArgs: string[] = [];

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  protected command() {
    return {
      cmd: redisServerBinary(),
      args: [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
        ...this.extraArgs,
      ],
    };
  }

  protected async waitReady(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      if (this.exitedEarly) throw new Error('exited');
      if (await redisPing(this.port)) return;
      await sleep(50);
    }
    throw new Error('no PONG in time');
  }

  async restartEmpty(): Promise<void> {
    await this.kill();
    // nothing persisted: a new process starts empty
    await this.start();
  }
}

function redisServerBinary(): string {
  return findBinary([process.env.REDIS_SERVER_BIN ?? '', '/usr/bin/redis-server', '/usr/local/bin/redis-server'], 'redis-server');
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (b: Buffer) => {
      data += b.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

/**
 * A free port is free only when it was asked for: another server on this machine (a test in
 * another worker) may take it before the service binds it. A first start that fails because
 * its port was taken is tried again on new ports; any other failure is thrown at once.
 */
async function startOnFreshPorts<S extends PrivateService>(build: () => Promise<S>): Promise<S> {
  for (let attempt = 1; ; attempt++) {
    const service = await build();
    try {
      await service.start();
      return service;
    } catch (err) {
      const taken = /eaddrinuse|address already in use/i.test(`${(err as Error).message}\n${service.output()}`);
      if (!taken || attempt >= 4) throw err;
      await service.destroy();
    }
  }
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  return startOnFreshPorts(async () => {
    const [port] = await freePorts(1);
    return new RedisService('redis', port!, makeDirectory('redis'), undefined, false);
  });
}

// ---------------------------------------------------------------------------------------
// Redis with a replica and Sentinels

export interface PrivateRedisSentinel {
  /** the name the Sentinels monitor the primary under (REDIS_SENTINEL_NAME) */
  readonly name: string;
  /** the two data nodes: `nodes[0]` starts as the primary, `nodes[1]` as its replica */
  readonly nodes: readonly PrivateRedis[];
  readonly sentinels: readonly PrivateService[];
  /** `127.0.0.1:<port>,...` of the Sentinels (REDIS_SENTINELS) */
  readonly sentinelList: string;
  /** the port of the node the Sentinels name as the primary now */
  primaryPort(): Promise<number>;
  /** Resolves once the Sentinels name another node than `port` as the primary (or rejects). */
  failedOverFrom(port: number, timeoutMs?: number): Promise<number>;
  output(): string;
}

/** a Sentinel: redis-server in --sentinel mode (it answers PING as a server does) */
class SentinelService extends RedisService {
  constructor(
    name: string,
    port: number,
    dir: string,
    private readonly conf: string,
  ) {
    super(name, port, dir, undefined, false);
  }

  protected override command() {
    const config = join(this.dir, 'sentinel.conf');
    // a Sentinel rewrites its config file as it learns: a fresh copy on every start
    writeFileSync(config, this.conf);
    return { cmd: redisServerBinary(), args: [config, '--sentinel'] };
  }
}

/** One command to a Redis (or Sentinel) on 127.0.0.1:port, its RESP answer flattened to strings. */
export function redisAsk(port: number, args: readonly string[], timeoutMs = 2_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`redis ${port}: no answer to ${args[0]}`));
    });
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    socket.on('data', (b: Buffer) => {
      data += b.toString();
      const parsed = parseResp(data);
      if (parsed) {
        socket.destroy();
        resolve(parsed);
      }
    });
  });
}

/** a whole RESP reply, flattened to strings (nil: ''); undefined while incomplete */
function parseResp(text: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const line = (): string | undefined => {
    const end = text.indexOf('\r\n', i);
    if (end < 0) return undefined;
    const l = text.slice(i, end);
    i = end + 2;
    return l;
  };
  const one = (): boolean => {
    const l = line();
    if (l === undefined) return false;
    const kind = l[0];
    const rest = l.slice(1);
    if (kind === '+' || kind === ':' || kind === '-') {
      out.push(rest);
      return true;
    }
    if (kind === '$') {
      const n = Number(rest);
      if (n < 0) {
        out.push('');
        return true;
      }
      if (Buffer.byteLength(text.slice(i)) < n + 2) return false;
      out.push(text.slice(i, i + n));
      i += n + 2;
      return true;
    }
    if (kind === '*') {
      const n = Number(rest);
      for (let k = 0; k < n; k++) if (!one()) return false;
      return true;
    }
    return false;
  };
  return one() ? out : undefined;
}

/**
 * A primary, one replica and three Sentinels (quorum 2) on free ports. `replicationPort` may
 * put something between the replica and the primary (a fault proxy): it gets the primary's
 * port and returns the port the replica is told to replicate from. The Sentinels declare the
 * primary down after `downAfterMs` without an answer and then promote the replica.
 */
export async function startPrivateRedisSentinel(
  opts: { replicationPort?: (primaryPort: number) => Promise<number> | number; downAfterMs?: number } = {},
): Promise<PrivateRedisSentinel> {
  const name = `vr-${randomBytes(4).toString('hex')}`;
  const primary = await startPrivateRedis();
  const upstream = opts.replicationPort ? await opts.replicationPort(primary.port) : primary.port;
  const replica = await startOnFreshPorts(async () => {
    const [port] = await freePorts(1, (p) => p === primary.port);
    const r = new RedisService('redis-replica', port!, makeDirectory('redis'), undefined, false);
    r.extraArgs = ['--replicaof', '127.0.0.1', String(upstream)];
    return r;
  });
  // wait until the replica has its first full copy, else the Sentinels would see no good replica
  for (let i = 0; ; i++) {
    const info = (await redisAsk(replica.port, ['INFO', 'replication']))[0] ?? '';
    if (/master_link_status:up/.test(info)) break;
    if (i > 200) throw new Error(`the replica never synchronised:\n${info}\n${replica.output()}`);
    await sleep(50);
  }
  const conf = [
    'bind 127.0.0.1',
    'daemonize no',
    `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
    `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1_000}`,
    // long: a Sentinel would otherwise "fix" a replica that replicates through a proxy (not from
    // the primary's own address) after this long; one replica promotes at once anyway
    `sentinel failover-timeout ${name} 600000`,
    `sentinel parallel-syncs ${name} 1`,
    '',
  ].join('\n');
  const sentinels: PrivateService[] = [];
  for (let i = 0; i < 3; i++) {
    sentinels.push(
      await startOnFreshPorts(async () => {
        const [port] = await freePorts(1, (p) => p === primary.port || p === replica.port);
        const dir = makeDirectory('sentinel');
        return new SentinelService(`redis-sentinel-${i + 1}`, port!, dir, `port ${port}\ndir ${dir}\n${conf}`);
      }),
    );
  }
  const primaryPort = async (): Promise<number> => {
    for (const s of sentinels) {
      if (!s.running) continue;
      try {
        const [, port] = await redisAsk(s.port, ['SENTINEL', 'get-master-addr-by-name', name]);
        if (port) return Number(port);
      } catch {
        // the next Sentinel
      }
    }
    throw new Error('no Sentinel answered');
  };
  // every Sentinel knows the replica and the others before the group is handed over
  for (let i = 0; ; i++) {
    const known = await Promise.all(
      sentinels.map(async (s) => {
        const master = await redisAsk(s.port, ['SENTINEL', 'master', name]).catch(() => [] as string[]);
        const field = (k: string) => Number(master[master.indexOf(k) + 1] ?? 0);
        return field('num-slaves') >= 1 && field('num-other-sentinels') >= 2;
      }),
    );
    if (known.every(Boolean)) break;
    if (i > 300) throw new Error('the Sentinels did not find the replica and each other within 15 s');
    await sleep(50);
  }
  const nodes = [primary, replica];
  return {
    name,
    nodes,
    sentinels,
    sentinelList: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
    primaryPort,
    async failedOverFrom(port, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const now = await primaryPort().catch(() => port);
        if (now !== port) return now;
        await sleep(50);
      }
      throw new Error(`the Sentinels did not fail over from ${port} within ${timeoutMs} ms`);
    },
    output() {
      return [...nodes, ...sentinels].map((s) => `===== ${s.name}\n${s.output().slice(-3_000)}`).join('\n');
    },
  };
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

export interface PrivatePostgres extends PrivateService {
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  databaseUrl(database: string): string;
  /**
   * SIGQUIT: "immediate shutdown" (`pg_ctl stop -m immediate`): the backends quit at once,
   * clients see their connections drop, and the next start runs crash recovery.
   */
  stopImmediately(): Promise<void>;
}

class PostgresService extends ManagedService implements PrivatePostgres {
  // SIGINT: "fast shutdown" (roll back open transactions, disconnect, checkpoint, exit)
  protected readonly stopSignal = 'SIGINT';

  constructor(
    port: number,
    dir: string,
    user: OsUser | undefined,
    private readonly bin: string,
    name = 'postgres',
  ) {
    // its own group, so that a SIGKILL reaches the backends too (as a machine crash would)
    super(name, port, dir, user, true);
  }

  stopImmediately(): Promise<void> {
    return this.stopWith('SIGQUIT');
  }

  get url(): string {
    return this.databaseUrl('postgres');
  }

  databaseUrl(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  protected command() {
    return {
      cmd: join(this.bin, 'postgres'),
      args: [
        '-D',
        join(this.dir, 'data'),
        '-p',
        String(this.port),
        '-k',
        this.dir,
        '-c',
        'listen_addresses=127.0.0.1',
        // tests only: durability is not what these tests measure
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
        '-c',
        'shared_buffers=64MB',
        '-c',
        'log_min_messages=warning',
      ],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
    };
  }

  protected async waitReady(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      if (this.exitedEarly) throw new Error('exited');
      if (await portOpen(this.port)) {
        const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 1_000 });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.query('SELECT 1');
          return;
        } catch {
          // "the database system is starting up"
        } finally {
          await client.end().catch(() => undefined);
        }
      }
      await sleep(50);
    }
    throw new Error('not answering in time');
  }
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const user = runAs('postgres');
  const bin = postgresBinDir();
  // a fresh cluster each try: a try that lost its port is destroyed with its directory
  return startOnFreshPorts(async () => {
    const dir = makeDirectory('pg', user);
    await runToEnd(
      join(bin, 'initdb'),
      ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      { cwd: dir, user, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, timeoutMs: 60_000 },
    );
    const [port] = await freePorts(1);
    return new PostgresService(port!, dir, user, bin);
  });
}

/**
 * A streaming replica (hot standby) of a private primary: `pg_basebackup -R -X stream` from
 * the primary into a data directory of its own (initdb's pg_hba.conf lets 127.0.0.1 replicate
 * with trust), started on a port of its own; it answers reads and follows the primary's WAL.
 * `stop`/`stopImmediately`/`start` act on the replica only; `cleanupPrivateServices` removes it
 * like the others.
 */
export async function startPrivatePostgresReplica(primary: PrivatePostgres): Promise<PrivatePostgres> {
  if (!primary.running) throw new Error('the primary must be running to copy it');
  const user = runAs('postgres');
  const bin = postgresBinDir();
  return startOnFreshPorts(async () => {
    const dir = makeDirectory('pg-replica', user);
    await runToEnd(
      join(bin, 'pg_basebackup'),
      // -c fast: checkpoint now rather than wait for a spread one; -R: standby.signal and primary_conninfo
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(primary.port),
        '-U',
        'postgres',
        '-D',
        join(dir, 'data'),
        '-R',
        '-X',
        'stream',
        '-c',
        'fast',
        '--no-sync',
      ],
      { cwd: dir, user, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, timeoutMs: 120_000 },
    );
    const [port] = await freePorts(1, (p) => p === primary.port);
    return new PostgresService(port!, dir, user, bin, 'postgres-replica');
  });
}

// ---------------------------------------------------------------------------------------
// RabbitMQ

export interface QueueStats {
  readonly ready: number;
  readonly unacked: number;
}

export interface PrivateRabbitMQ extends PrivateService {
  /** e.g. chaos1a2b3c@localhost */
  readonly nodeName: string;
  /** messages ready and unacknowledged in a queue (rabbitmqctl; takes about a second) */
  queueStats(queue: string): Promise<QueueStats | undefined>;
  /** runs `rabbitmqctl -n <node> -q <args>` against this node; its output */
  ctl(args: readonly string[]): Promise<string>;
}

/** rabbitmqctl uses 35672..35682 for its own distribution port: never hand those out */
const CTL_PORTS = (p: number) => p >= 35672 && p <= 35682;

class RabbitService extends ManagedService implements PrivateRabbitMQ {
  // the foreground script traps TERM and stops the node properly (it may take a few s)
  protected readonly stopSignal = 'SIGTERM';
  readonly #distPort: number;
  readonly #home: string;

  constructor(
    readonly nodeName: string,
    port: number,
    distPort: number,
    dir: string,
    user: OsUser | undefined,
    name = 'rabbitmq',
  ) {
    super(name, port, dir, user, true);
    this.#distPort = distPort;
    // the home directory holds the Erlang cookie that rabbitmqctl and the node share
    this.#home = user?.home ?? process.env.HOME ?? this.dir;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  #env(): NodeJS.ProcessEnv {
    const d = this.dir;
    return {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: this.#home,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      // our own env file instead of /etc/rabbitmq/rabbitmq-env.conf (which names the
      // machine's node), our own config file instead of /etc/rabbitmq/rabbitmq.conf
      // (which holds the machine's listener on 5672)
      RABBITMQ_CONF_ENV_FILE: join(d, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: join(d, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(d, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(d, 'enabled_plugins'),
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.#distPort),
      RABBITMQ_MNESIA_BASE: join(d, 'mnesia'),
      RABBITMQ_LOG_BASE: join(d, 'log'),
      RABBITMQ_LOGS: '-',
      RABBITMQ_PID_FILE: join(d, 'rabbitmq.pid'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      ERL_CRASH_DUMP: join(d, 'erl_crash.dump'),
    };
  }

  protected command() {
    return {
      cmd: findBinary(
        [process.env.RABBITMQ_SERVER_BIN ?? '', '/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/local/sbin/rabbitmq-server'],
        'rabbitmq-server (the script itself, not the /usr/sbin wrapper that su-s to the rabbitmq user)',
      ),
      args: [],
      env: this.#env(),
    };
  }

  protected override get startTimeoutMs(): number {
    return 90_000;
  }

  protected async waitReady(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      if (this.exitedEarly) throw new Error('exited');
      if (this.output().includes('Server startup complete') && (await portOpen(this.port))) return;
      await sleep(100);
    }
    throw new Error('no "Server startup complete" in time');
  }

  ctl(args: readonly string[]): Promise<string> {
    const ctl = findBinary(['/usr/lib/rabbitmq/bin/rabbitmqctl', '/usr/local/sbin/rabbitmqctl'], 'rabbitmqctl');
    return runToEnd(ctl, ['-n', this.nodeName, '-q', ...args], { cwd: this.dir, user: this.user, env: this.#env(), timeoutMs: 30_000 });
  }

  async queueStats(queue: string): Promise<QueueStats | undefined> {
    const out = await this.ctl(['list_queues', '--no-table-headers', 'name', 'messages_ready', 'messages_unacknowledged']);
    for (const line of out.split('\n')) {
      const [name, ready, unacked] = line.trim().split(/\s+/);
      if (name === queue) return { ready: Number(ready), unacked: Number(unacked) };
    }
    return undefined;
  }
}

export async function startPrivateRabbitMQ(): Promise<PrivateRabbitMQ> {
  const user = runAs('rabbitmq');
  return startOnFreshPorts(() => rabbitNode(`chaos${randomBytes(4).toString('hex')}@localhost`, 'rabbitmq', user));
}

/** A RabbitMQ node's files on free ports (not started): its listener, no plugins. */
async function rabbitNode(nodeName: string, name: string, user: OsUser | undefined): Promise<RabbitService> {
  const dir = makeDirectory(name, user);
  const [port, distPort] = await freePorts(2, CTL_PORTS);
  const files: Record<string, string> = {
    'rabbitmq.conf': [
      `listeners.tcp.default = 127.0.0.1:${port}`,
      'loopback_users.guest = true',
      'log.console = true',
      'log.console.level = info',
      'log.file = false',
      'disk_free_limit.absolute = 50MB',
      '',
    ].join('\n'),
    'rabbitmq-env.conf': 'ERL_EPMD_ADDRESS=127.0.0.1\n',
    // no plugins: no management listener on 15672 next to the machine's node
    enabled_plugins: '[].\n',
  };
  for (const [file, text] of Object.entries(files)) {
    const path = join(dir, file);
    writeFileSync(path, text);
    if (user) chownSync(path, user.uid, user.gid);
  }
  return new RabbitService(nodeName, port!, distPort!, dir, user, name);
}

export interface QueueReplicas {
  /** the node that leads the quorum queue now */
  readonly leader: string;
  /** every node holding a replica (the leader among them) */
  readonly members: readonly string[];
  /** the members that are running */
  readonly online: readonly string[];
}

export interface PrivateRabbitMQCluster {
  /** the nodes in the order they joined: nodes[0] is the one the others joined */
  readonly nodes: readonly PrivateRabbitMQ[];
  /** every node's AMQP URL, comma-separated, in node order: what AMQP_URL takes */
  readonly amqpUrl: string;
  /** the nodes that are running and see each other (`cluster_status`, asked of `via`) */
  runningNodes(via?: PrivateRabbitMQ): Promise<string[]>;
  /** where a quorum queue's replicas are and which one leads (asked of a running node) */
  queueReplicas(queue: string): Promise<QueueReplicas | undefined>;
  /** the node (of `nodes`) by its Erlang name */
  node(nodeName: string): PrivateRabbitMQ;
  /** everything the nodes printed lately, each under its name */
  output(): string;
}

/**
 * `size` RabbitMQ nodes on this machine, clustered: each a node like `startPrivateRabbitMQ`'s
 * (its own name `vr<random>-<i>@localhost`, AMQP and distribution ports, mnesia and log
 * directories, no plugins), all sharing the Erlang cookie of the user they run as and the
 * machine's epmd. Every node after the first is joined to the first with `rabbitmqctl
 * stop_app / join_cluster / start_app`. A quorum queue declared on it then has a replica on
 * every node (RabbitMQ's default initial group size is the cluster's size). The nodes are
 * private services like the others: `cleanupPrivateServices()` removes them; `kill()` on one
 * is a SIGKILL to that node alone.
 */
export async function startPrivateRabbitMQCluster(size = 3): Promise<PrivateRabbitMQCluster> {
  if (size < 2) throw new Error('a cluster has at least two nodes');
  const user = runAs('rabbitmq');
  const run = randomBytes(3).toString('hex');
  const nodes = await Promise.all(
    Array.from({ length: size }, (_, i) => startOnFreshPorts(() => rabbitNode(`vr${run}-${i + 1}@localhost`, `rabbitmq-${i + 1}`, user))),
  );
  const [seed] = nodes as [RabbitService];
  // one at a time: two nodes joining the same seed at once can race on its schema
  for (const node of nodes.slice(1)) {
    await node.ctl(['stop_app']);
    await node.ctl(['join_cluster', seed.nodeName]);
    await node.ctl(['start_app']);
    await node.ctl(['await_startup']);
  }
  const cluster: PrivateRabbitMQCluster = {
    nodes,
    amqpUrl: nodes.map((n) => n.url).join(','),
    async runningNodes(via = nodes.find((n) => n.running)) {
      if (!via) return [];
      const out = await via.ctl(['cluster_status', '--formatter', 'json']);
      const status = JSON.parse(out) as { running_nodes?: string[] };
      return [...(status.running_nodes ?? [])].sort();
    },
    async queueReplicas(queue) {
      for (const via of nodes.filter((n) => n.running)) {
        let out: string;
        try {
          out = await via.ctl(['list_queues', 'name', 'leader', 'members', 'online', '--formatter', 'json']);
        } catch {
          continue; // that node is going down: ask the next
        }
        const rows = JSON.parse(out) as { name: string; leader: string; members: string[]; online: string[] }[];
        const row = rows.find((r) => r.name === queue);
        return row ? { leader: row.leader, members: [...row.members].sort(), online: [...row.online].sort() } : undefined;
      }
      throw new Error('no running node of the cluster answered');
    },
    node(nodeName) {
      const found = nodes.find((n) => n.nodeName === nodeName);
      if (!found) throw new Error(`${nodeName} is not a node of this cluster (${nodes.map((n) => n.nodeName).join(', ')})`);
      return found;
    },
    output() {
      return nodes.map((n) => `===== ${n.name} ${n.nodeName}\n${n.output().slice(-3_000)}`).join('\n');
    },
  };
  const running = await cluster.runningNodes();
  if (running.length !== size) throw new Error(`the cluster runs ${running.length} of ${size} nodes: ${running.join(', ')}`);
  return cluster;
}
