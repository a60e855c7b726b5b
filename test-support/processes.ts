/**
 * Runs the real built services as child processes, for end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Ports for test servers come from below the kernel's ephemeral range (ip_local_port_range,
 * 32768..60999 by default). A port the kernel picked for `listen(0)` is in that range, and any
 * outgoing connection on the machine (a test's client, CI's own services) may take it between
 * the check and the server's bind: CI lost a run to RabbitMQ failing with eaddrinuse that way.
 * Below the range only another server can take a port, and these are picked at random and
 * never handed out twice by one process.
 */
const LOWEST_PORT = 20_000;
/** well-known ports of services this machine may start later: RabbitMQ's distribution port, Sentinel */
const RESERVED_PORTS = new Set([25_672, 26_379]);
const handedOut = new Set<number>();

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > LOWEST_PORT + 2_000) return low;
  } catch {
    // not Linux: keep the kernel's usual default
  }
  return 32_768;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export interface PortOptions {
  /** the highest port acceptable (e.g. so that port + 10000 stays below the ephemeral range) */
  readonly max?: number;
  /** offsets from the port that must be free too (Redis Cluster's bus at +10000) */
  readonly companions?: readonly number[];
}

export async function freePort(opts: PortOptions = {}): Promise<number> {
  const companions = opts.companions ?? [];
  const top = Math.min(opts.max ?? Infinity, ephemeralLow() - 1 - Math.max(0, ...companions));
  for (let tries = 0; tries < 1_000; tries++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (top - LOWEST_PORT + 1));
    const all = [port, ...companions.map((c) => port + c)];
    if (all.some((p) => handedOut.has(p) || RESERVED_PORTS.has(p))) continue;
    if (!(await Promise.all(all.map(canBind))).every(Boolean)) continue;
    for (const p of all) handedOut.add(p);
    return port;
  }
  throw new Error(`no free port between ${LOWEST_PORT} and ${top}`);
}

export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  /** everything it printed, for diagnosis when a test fails */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `wrap`: a command the service runs under, e.g. `['prlimit', '--nofile=600:600']` */
export function startService(name: string, script: string, env: Record<string, string>, wrap: readonly string[] = []): Service {
  const [command, ...args] = [...wrap, process.execPath, script];
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  let size = 0;
  const keep = (b: Buffer) => {
    // keep the last ~2 MB only
    chunks.push(b.toString());
    size += b.length;
    while (size > 2_000_000 && chunks.length > 1) size -= chunks.shift()!.length;
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    child,
    output: () => chunks.join(''),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits until `url` answers 200, or fails with the service's output. */
export async function waitForHttp(url: string, service: Service, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) throw new Error(`${service.name} exited early:\n${service.output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${service.name} not ready at ${url} within ${timeoutMs} ms:\n${service.output()}`);
}

/** Waits until the service printed `text`. */
export async function waitForOutput(service: Service, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.output().includes(text)) return;
    if (service.child.exitCode !== null) throw new Error(`${service.name} exited early:\n${service.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${service.name} did not print ${JSON.stringify(text)} within ${timeoutMs} ms:\n${service.output()}`);
}
