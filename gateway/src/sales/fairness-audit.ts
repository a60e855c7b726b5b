/**
 * The fairness audit of an ended sale: one NDJSON line per place a visitor took in the queue,
 * each re-derivable by an outsider from the revealed seed (see FAIRNESS_ALGORITHM and
 * scripts/verify-fairness.mjs):
 *
 *   { auditId, round, state, score, window, joinedAt, after, admission }
 *
 * auditId is the visitor's per-sale pseudonym (never the visitor id, which the `vr_vid` cookie
 * keeps stable across sales); round 0 is the first place, 1, 2... the places taken again after
 * a lapsed admission; window the arrival window (0: the pre-queue; null: every arrival its own);
 * after the admissions made before the place was taken; admission its admission sequence, on
 * every place that was ever admitted (admitted, expired and ordered alike).
 *
 * Built once per ended sale and gateway into a file (the visitors hash is read once, not per
 * request, and the gateway's memory does not grow with it), served with an ETag; the number
 * of downloads at once is bounded per gateway and per address.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type ReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import { arrivalWindow, auditPseudonym } from './fairness-score.js';
import type { KeySpace } from '../redis/keyspace.js';
import { decodeVisitorRecord, type VisitorPlace } from '../redis/visitor-record.js';

export interface AuditSale {
  readonly id: string;
  readonly startsAt: number;
  readonly windowSeconds: number;
  readonly seed: Buffer;
}

export interface BuiltAudit {
  readonly path: string;
  readonly etag: string;
  readonly bytes: number;
  readonly lines: number;
}

export interface AuditLimits {
  readonly maxStreams: number;
  readonly maxStreamsPerAddress: number;
}

/** who may download now: 'ok', or which bound refused */
export type AuditSlot = 'ok' | 'gateway' | 'address';

export class FairnessAudit {
  readonly #dir = mkdtempSync(join(tmpdir(), 'velvet-rope-audit-'));
  readonly #built = new Map<string, Promise<BuiltAudit>>();
  #active = 0;
  readonly #byAddress = new Map<string, number>();
  /** audits built so far by this gateway (for tests and metrics) */
  builds = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    private readonly limits: AuditLimits,
  ) {}

  /** Takes a download slot for `address`; give it back with release(). */
  acquire(address: string): AuditSlot {
    const mine = this.#byAddress.get(address) ?? 0;
    if (mine >= this.limits.maxStreamsPerAddress) return 'address';
    if (this.#active >= this.limits.maxStreams) return 'gateway';
    this.#active += 1;
    this.#byAddress.set(address, mine + 1);
    return 'ok';
  }

  release(address: string): void {
    this.#active = Math.max(0, this.#active - 1);
    const mine = (this.#byAddress.get(address) ?? 1) - 1;
    if (mine <= 0) this.#byAddress.delete(address);
    else this.#byAddress.set(address, mine);
  }

  /** The sale's audit file, built on the first call (concurrent callers share the build). */
  get(sale: AuditSale): Promise<BuiltAudit> {
    let built = this.#built.get(sale.id);
    if (!built) {
      built = this.#build(sale);
      this.#built.set(sale.id, built);
      // a failed build (Redis away) is tried again by the next request
      built.catch(() => this.#built.delete(sale.id));
    }
    return built;
  }

  open(audit: BuiltAudit): ReadStream {
    return createReadStream(audit.path);
  }

  close(): void {
    this.#built.clear();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #build(sale: AuditSale): Promise<BuiltAudit> {
    this.builds += 1;
    const path = join(this.#dir, `${createHash('sha256').update(sale.id).digest('hex')}.ndjson`);
    const out = createWriteStream(path);
    const hash = createHash('sha256');
    let bytes = 0;
    let lines = 0;
    const write = async (line: string) => {
      hash.update(line);
      bytes += Buffer.byteLength(line);
      lines += 1;
      if (!out.write(line)) await once(out, 'drain');
    };
    try {
      const key = this.keyspace.sale(sale.id).visitors;
      const windowMs = sale.windowSeconds * 1000;
      const window = (joinedAt: number | null) => {
        if (joinedAt === null) return null;
        const w = arrivalWindow(sale.startsAt, windowMs, joinedAt);
        return Number.isFinite(w) ? w : null;
      };
      const place = (auditId: string, round: number, state: string, p: VisitorPlace) =>
        `${JSON.stringify({ auditId, round, state, score: p.score, window: window(p.joinedAt), joinedAt: p.joinedAt, after: p.after, admission: p.admission })}\n`;
      const now = Date.now();
      let cursor = '0';
      do {
        const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', 1000);
        cursor = next;
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const record = decodeVisitorRecord(flat[i + 1]!);
          if (!record) continue;
          const auditId = auditPseudonym(sale.seed, flat[i]!);
          // every earlier place was admitted and lapsed (that is what lets a visitor rejoin)
          for (const [round, earlier] of record.rounds.entries()) await write(place(auditId, round, 'expired', earlier));
          // an admission whose window lapsed after the end reads as what it is: expired
          const state = record.kind === 'admitted' && record.expiresAt !== null && record.expiresAt <= now ? 'expired' : record.kind;
          await write(place(auditId, record.rounds.length, state, record));
        }
      } while (cursor !== '0');
      out.end();
      await once(out, 'finish');
    } catch (err) {
      out.destroy();
      throw err;
    }
    return { path, etag: `"${hash.digest('hex').slice(0, 32)}"`, bytes, lines };
  }
}
