/**
 * Boot-time checks that turn "connection refused" into a message an operator can act on:
 * which service, at which address, and how it failed.
 */
import { connect } from 'node:net';

/** Resolves when host:port accepts a TCP connection within `timeoutMs`, rejects otherwise. */
export function probeTcp(host: string, port: number, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The address of a service URL with its password hidden, for log and error messages. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<unparseable url>';
  }
}

export class ServiceUnreachableError extends Error {
  constructor(
    readonly service: string,
    readonly address: string,
    cause: unknown,
  ) {
    super(`${service} is unreachable at ${address}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'ServiceUnreachableError';
  }
}

/** Probes a service URL's host and port; throws a ServiceUnreachableError that names it. */
export async function requireService(service: string, rawUrl: string, defaultPort: number): Promise<void> {
  const url = new URL(rawUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = url.port ? Number(url.port) : defaultPort;
  try {
    await probeTcp(host, port);
  } catch (err) {
    throw new ServiceUnreachableError(service, redactUrl(rawUrl), err);
  }
}

/**
 * Probes the addresses of one service that has several (a RabbitMQ cluster's nodes): resolves
 * once any of them answers; throws a ServiceUnreachableError naming every address when none does.
 */
export async function requireAnyService(service: string, rawUrls: readonly string[], defaultPort: (url: string) => number): Promise<void> {
  if (rawUrls.length === 1) return requireService(service, rawUrls[0]!, defaultPort(rawUrls[0]!));
  try {
    await Promise.any(rawUrls.map((raw) => requireService(service, raw, defaultPort(raw))));
  } catch (err) {
    // every probe failed: Promise.any's AggregateError holds their errors in the addresses' order
    const causes = (err as AggregateError).errors.map((e: unknown) => (e as Error)?.cause ?? e);
    const detail = causes.map((c, i) => `${redactUrl(rawUrls[i]!)}: ${(c as Error)?.message ?? String(c)}`).join('; ');
    throw new ServiceUnreachableError(service, `any of ${rawUrls.length} addresses`, new Error(detail));
  }
}
