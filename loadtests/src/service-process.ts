/**
 * The built gateway and order worker as child processes (the approach of
 * `test-support/processes.ts`, here so that the compiled simulator runs without the test
 * sources): free port, readiness by HTTP or by a line of output, the last output kept for
 * diagnosis, graceful stop with a bounded wait.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** the repository root (this file lives in loadtests/src or loadtests/dist) */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export { freePort } from './free-port.js';

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly startedAt: number;
  /** the last ~1 MB of what it printed */
  output(): string;
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves to the exit code (null when killed by a signal) */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  /** a script path relative to the repository root, or an inline ES module (`code`) */
  readonly script?: string;
  readonly code?: string;
  readonly env: Record<string, string>;
  /** Node's own flags, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses) */
  readonly nodeArgs?: readonly string[];
}

export function spawnService(name: string, opts: SpawnOptions): ServiceProcess {
  const args = [...(opts.nodeArgs ?? []), ...(opts.code !== undefined ? ['--input-type=module', '-e', opts.code] : [opts.script!])];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  let size = 0;
  const keep = (b: Buffer) => {
    chunks.push(b.toString());
    size += b.length;
    while (size > 1_000_000 && chunks.length > 1) size -= chunks.shift()!.length;
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    pid: child.pid ?? -1,
    startedAt: Date.now(),
    output: () => chunks.join(''),
    alive,
    async stop(graceMs = 15_000) {
      if (!alive()) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `url` answers 200, or fails with the service's output. */
export async function waitForHttp(url: string, service: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!service.alive()) throw new Error(`${service.name} exited early:\n${service.output().slice(-4000)}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${service.name} not ready at ${url} within ${timeoutMs} ms:\n${service.output().slice(-4000)}`);
}

/** Waits until the service printed `text`. */
export async function waitForOutput(service: ServiceProcess, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.output().includes(text)) return;
    if (!service.alive()) throw new Error(`${service.name} exited early:\n${service.output().slice(-4000)}`);
    await sleep(50);
  }
  throw new Error(`${service.name} did not print ${JSON.stringify(text)} within ${timeoutMs} ms:\n${service.output().slice(-4000)}`);
}
