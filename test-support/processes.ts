/**
 * Runs the real built services as child processes, for end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export { freePort, type PortOptions } from '../loadtests/src/free-port.js';

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
