/**
 * Who skips the room: staff and monitoring (issue 16). A request bypasses when it carries one
 * of the deployment's bypass keys (`X-Bypass-Key`, BYPASS_KEYS; compared in constant time) or
 * comes from an address in BYPASS_CIDRS (IPv4 and IPv6). The join route then gives it an
 * admission at once (queue-service.ts `bypass`), counted nowhere, and logs the bypass.
 *
 * The address: without TRUST_PROXY the TCP peer. With it, the *last* X-Forwarded-For entry,
 * the one the proxy next to the gateway wrote: a client can put any address it likes at the
 * front of that header, and Fastify's `req.ip` (trustProxy: true) takes the front one. Behind
 * the bundled nginx (which overwrites the header with `$remote_addr`) both are the client.
 * Behind a chain of proxies the last entry is the previous proxy, so a CIDR rule matches no
 * client there: use a key (a rule that fails closed, never one a client can forge).
 */
import { BlockList, isIP } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';

export const BYPASS_KEY_HEADER = 'x-bypass-key';

/** which rule let a request bypass: `key` or `cidr:<the CIDR>` */
export type BypassRule = 'key' | `cidr:${string}`;

export interface BypassRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

interface Cidr {
  readonly text: string;
  readonly list: BlockList;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** `1.2.3.4`, `::ffff:1.2.3.4` (a v4 client of a dual-stack socket) -> the family and address to check */
function family(address: string): { type: 'ipv4' | 'ipv6'; address: string } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return { type: 'ipv4', address: mapped[1] };
  const v = isIP(address);
  if (v === 4) return { type: 'ipv4', address };
  if (v === 6) return { type: 'ipv6', address };
  return undefined;
}

/**
 * Parses one CIDR (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128); undefined
 * when it is not one.
 */
export function parseCidr(text: string): Cidr | undefined {
  const [addr = '', bits, extra] = text.split('/');
  if (extra !== undefined) return undefined;
  const v = isIP(addr);
  if (v === 0) return undefined;
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  const list = new BlockList();
  list.addSubnet(addr, prefix, v === 4 ? 'ipv4' : 'ipv6');
  return { text, list };
}

export class Bypass {
  readonly #keys: readonly Buffer[];
  readonly #cidrs: readonly Cidr[];

  constructor(
    keys: readonly string[],
    cidrs: readonly string[],
    private readonly trustProxy: boolean,
  ) {
    this.#keys = keys.map(digest);
    this.#cidrs = cidrs.map((c) => {
      const parsed = parseCidr(c);
      if (!parsed) throw new TypeError(`not a CIDR: ${c}`);
      return parsed;
    });
  }

  get enabled(): boolean {
    return this.#keys.length > 0 || this.#cidrs.length > 0;
  }

  /** the address the CIDR rules judge (see the module's comment) */
  address(req: BypassRequest): string {
    const peer = req.socket.remoteAddress ?? '';
    if (!this.trustProxy) return peer;
    const header = req.headers['x-forwarded-for'];
    const value = Array.isArray(header) ? header[header.length - 1] : header;
    const last = value?.split(',').pop()?.trim();
    return last ? last : peer;
  }

  /** The rule this request bypasses by, or undefined: a shopper like any other. */
  match(req: BypassRequest): BypassRule | undefined {
    if (this.#keys.length > 0) {
      const given = req.headers[BYPASS_KEY_HEADER];
      if (typeof given === 'string' && given !== '') {
        // hashed to one length, then every key compared: the time says nothing of which or how much matched
        const d = digest(given);
        let hit = false;
        for (const k of this.#keys) hit = timingSafeEqual(d, k) || hit;
        if (hit) return 'key';
      }
    }
    if (this.#cidrs.length > 0) {
      const a = family(this.address(req));
      if (a) for (const c of this.#cidrs) if (c.list.check(a.address, a.type)) return `cidr:${c.text}`;
    }
    return undefined;
  }
}
