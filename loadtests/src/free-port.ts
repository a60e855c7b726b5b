/**
 * Free ports for the servers the tests and load tools start (the simulator's gateway, a
 * private Redis Cluster's nodes), picked below the kernel's ephemeral range.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

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
