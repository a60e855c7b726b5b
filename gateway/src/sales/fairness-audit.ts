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
 * of downloads at once is bounded per gateway and per address. A retired sale's audit (its
 * Redis keys are gone: sales/retirement.ts) comes from PostgreSQL's archive instead, which holds
 * the very bytes the visitors hash gave at retirement (sale-archive.ts): same file, same ETag.
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
import { AUDIT_CHUNK_BYTES, type ArchivedAudit, type SaleArchive } from './sale-archive.js';

export interface AuditSale {
  readonly id: string;
  readonly startsAt: number;
  readonly windowSeconds: number;
  readonly seed: Buffer;
  /** retired: its audit is read from PostgreSQL's archive, not Redis */
  readonly retired?: boolean;
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
    private readonly archive?: SaleArchive,
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
    // a file built from Redis before the retirement gives way to the archive's
    const key = `${sale.retired ? 'archive' : 'redis'}:${sale.id}`;
    let built = this.#built.get(key);
    if (!built) {
      built = this.#build(key, sale.retired ? this.#fromArchive(sale.id) : this.#fromRedis(sale));
      this.#built.set(key, built);
      // a failed build (Redis away) is tried again by the next request
      built.catch(() => this.#built.delete(key));
    }
    return built;
  }

  /**
   * The audit as Redis gives it now, for the archive: handed to `sink` in chunks of whole lines
   * (about AUDIT_CHUNK_BYTES each, in order); answers the ETag, size and lines a gateway serves.
   */
  async archiveFromRedis(sale: AuditSale, sink: (text: string, lines: number) => Promise<void>): Promise<ArchivedAudit> {
    const hash = createHash('sha256');
    let bytes = 0;
    let lines = 0;
    let chunk: string[] = [];
    let chunkBytes = 0;
    const flush = async () => {
      if (chunk.length === 0) return;
      const text = chunk.join('');
      chunk = [];
      chunkBytes = 0;
      await sink(text, lines);
    };
    for await (const line of this.#fromRedis(sale)) {
      hash.update(line);
      const size = Buffer.byteLength(line);
      bytes += size;
      lines += 1;
      chunk.push(line);
      chunkBytes += size;
      if (chunkBytes >= AUDIT_CHUNK_BYTES) await flush();
    }
    await flush();
    return { etag: etagOf(hash), bytes, lines };
  }

  open(audit: BuiltAudit): ReadStream {
    return createReadStream(audit.path);
  }

  close(): void {
    this.#built.clear();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #build(key: string, source: AsyncIterable<string | Buffer>): Promise<BuiltAudit> {
    this.builds += 1;
    const path = join(this.#dir, `${createHash('sha256').update(key).digest('hex')}.ndjson`);
    const out = createWriteStream(path);
    const hash = createHash('sha256');
    let bytes = 0;
    let lines = 0;
    try {
      for await (const piece of source) {
        hash.update(piece);
        if (typeof piece === 'string') {
          bytes += Buffer.byteLength(piece);
          lines += 1;
        } else {
          bytes += piece.length;
          for (const byte of piece) if (byte === 0x0a) lines += 1;
        }
        if (!out.write(piece)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
    } catch (err) {
      out.destroy();
      throw err;
    }
    return { path, etag: etagOf(hash), bytes, lines };
  }

  /** a retired sale's audit: the archive's chunks, as they were written */
  async *#fromArchive(saleId: string): AsyncGenerator<Buffer> {
    if (!this.archive) throw new Error("no archive to read a retired sale's audit from");
    yield* this.archive.auditChunks(saleId);
  }

  /** the audit's lines from the sale's visitors hash, as it is now */
  async *#fromRedis(sale: AuditSale): AsyncGenerator<string> {
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
        for (const [round, earlier] of record.rounds.entries()) yield place(auditId, round, 'expired', earlier);
        // an admission whose window lapsed after the end reads as what it is: expired
        const state = record.kind === 'admitted' && record.expiresAt !== null && record.expiresAt <= now ? 'expired' : record.kind;
        yield place(auditId, record.rounds.length, state, record);
      }
    } while (cursor !== '0');
  }
}

/** an audit's ETag from the hash of its bytes */
const etagOf = (hash: ReturnType<typeof createHash>) => `"${hash.digest('hex').slice(0, 32)}"`;
