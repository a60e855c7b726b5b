/**
 * Buying: verify the admission token, reserve in Redis (one script: stock, admission and the
 * outbox entry together), then publish to RabbitMQ and answer `202` only once the broker
 * confirmed. One order per admission token: the same token again answers the same order.
 */
import { randomUUID } from 'node:crypto';
import { encodeOrderMessage, ORDER_MESSAGE_VERSION, type OrderStatus } from '@velvet-rope/contracts';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { AdmissionClaims, AdmissionTokens, UnverifiedAdmission } from '../tokens/admission-token.js';
import { limitsInScripts, type GatewayConfig } from '../config.js';
import { decodeVisitorRecord } from '../redis/visitor-record.js';
import { AppError, rateLimited, refusalError } from '../errors.js';
import { PublishUnavailableError, type OrderPublisher } from './order-publisher.js';
import { TurnBatcher } from '../lib/turn-batcher.js';
import type { KeySpace } from '../redis/keyspace.js';
import { MAX_SCRIPT_BATCH, RedisCommands, type ReserveAnswer, type ReserveRequest } from '../redis/commands.js';
import type { SaleStore } from '../sales/sale-store.js';
import type { Orders } from './orders.js';

export interface PurchaseResult {
  /** false when the same token bought before: the answer is the existing order */
  readonly created: boolean;
  readonly orderId: string;
  readonly status: OrderStatus;
  /** units still reservable after this purchase (only when created) */
  readonly remaining?: number;
}

/**
 * The purchase rate limit the reserve script counts, per visitor and minute: the configured
 * one when the limits live in Redis (one round trip instead of two), else 0 (off, or kept by
 * the rate-limit plugin's memory store in front of the route).
 */
export function scriptPurchaseLimit(limits: GatewayConfig['rateLimits']): number {
  return limitsInScripts(limits) ? limits.purchasePerVisitorPerMinute : 0;
}

/**
 * The limit on purchase attempts per sender (address) that prove no admission, counted in the
 * reserve script when the limits live in Redis (else by the rate-limit plugin): the per-IP
 * limit, the budget of requests that carry no identity the gateway could check.
 */
export function scriptSenderLimit(limits: GatewayConfig['rateLimits']): number {
  return limitsInScripts(limits) ? limits.perIpPerMinute : 0;
}

/** The quantity rule as the verified token states it (checked before the script, as always). */
function checkQuantity(quantity: number, claims: { readonly max_qty: number }): void {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > claims.max_qty) {
    throw new AppError('QUANTITY_OUT_OF_RANGE', `quantity must be a whole number from 1 to ${claims.max_qty}`);
  }
}

/** seconds a client waits before retrying when the order queue is down */
const UNAVAILABLE_RETRY_SECONDS = 2;

export class PurchaseService {
  readonly #commands: RedisCommands;
  /** what every reserve call passes besides its purchases */
  readonly #limits: Parameters<RedisCommands['reserve']>[1];

  constructor(
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    private readonly orders: Orders,
    private readonly admissions: AdmissionTokens,
    private readonly publisher: OrderPublisher,
    republishAfterMs: number,
    private readonly sales: SaleStore,
    /** the purchase rate limit per visitor counted in the reserve script (0: not counted there) */
    private readonly purchasesPerMinute = 0,
    /** the limit on unproven attempts per sender counted in the reserve script (0: not counted there) */
    private readonly perSenderPerMinute = 0,
  ) {
    this.#commands = new RedisCommands(redis, keyspace);
    this.#limits = { republishAfterMs, purchasesPerMinute, perSenderPerMinute };
  }

  /** the purchases of one event-loop turn, per sale, in one reserve script call */
  readonly #reservations = new TurnBatcher<ReserveRequest, ReserveAnswer>(
    (saleId, batch) => this.#reserveBatch(saleId, batch),
    MAX_SCRIPT_BATCH,
  );

  #reserveBatch(saleId: string, batch: readonly ReserveRequest[]): Promise<ReserveAnswer[]> {
    return this.#commands.reserve(saleId, this.#limits, batch);
  }

  /**
   * Buys with an admission token. The fast path skips the EdDSA verification (~110-125 us
   * of CPU, more than the rest of a purchase together): the token is only decoded, strictly,
   * and the reserve script is the proof. It reserves only for the visitor whose admission
   * record in Redis holds exactly this token's `jti`, an unguessable id that only the admitted
   * shopper received, and only while that record is unexpired; the quantity limit comes from
   * the sale's configuration in Redis, never from the token. So a tampered token that still
   * carries the genuine `sub` and `jti` gains nothing (its `max_qty` is not read, Redis holds
   * the expiry), and a forged one reserves nothing.
   *
   * Every other answer of the script may reveal something (an existing order id) or picks a
   * code from what the token claims: the token is verified fully first, and a token that fails
   * gets exactly the refusal it got before (INVALID_TOKEN, WRONG_SALE, TOKEN_EXPIRED). Only
   * RATE_LIMITED is answered unverified.
   *
   * Who pays: the visitor's purchase budget is spent only by a caller that proved it holds
   * the admission (the script sees the admission's jti, or the gateway verified the token);
   * every unproven attempt, and every token that fails verification, counts against its
   * sender (`address`), so a stranger cannot use up a shopper's budget with forged tokens
   * carrying the shopper's `sub`, and is itself limited.
   */
  async buy(saleId: string, token: string | undefined, quantity: number, address = ''): Promise<PurchaseResult> {
    const sender = `ip:${address}`;
    if (!token) throw new AppError('INVALID_TOKEN', 'an admission token is required (Authorization: Bearer <token>)');
    const unverified = this.admissions.decodeUnverified(token, saleId);
    if (!unverified || !Number.isInteger(quantity) || quantity < 1) {
      const verified = await this.#verifyOrCharge(token, saleId, sender);
      if ('existingOrder' in verified) return verified.existingOrder;
      return this.#reserve(saleId, verified, quantity, sender);
    }
    return this.#reserve(saleId, unverified, quantity, sender, token);
  }

  /** `#verifyToken`, and a token that fails it counts against its sender (who may be over budget) */
  async #verifyOrCharge(token: string, saleId: string, sender: string): Promise<AdmissionClaims | { existingOrder: PurchaseResult }> {
    try {
      return await this.#verifyToken(token, saleId);
    } catch (err) {
      if (err instanceof AppError && this.perSenderPerMinute > 0) {
        const reply = await this.#reservations.add(saleId, {
          visitorId: '',
          jti: '',
          claims: undefined,
          quantity: 0,
          orderId: '',
          message: '',
          sender,
        });
        if ('refused' in reply && reply.refused === 'RATE_LIMITED') throw this.#rateLimited(reply);
      }
      throw err;
    }
  }

  #rateLimited(reply: { readonly retryAfterMs: number; readonly perMinute: number | undefined }): AppError {
    return rateLimited(reply.retryAfterMs, `too many requests: at most ${reply.perMinute ?? this.purchasesPerMinute} per 1 minute`);
  }

  /**
   * Verifies an admission token for this sale; throws its precise refusal. A token whose
   * checkout window is over but that already bought still answers its order (a retry after a
   * lost answer must not look like a failure): that comes back as `{ existingOrder }`.
   */
  async #verifyToken(token: string, saleId: string): Promise<AdmissionClaims | { existingOrder: PurchaseResult }> {
    const result = await this.admissions.verify(token, saleId);
    if (!result.ok && result.expiredSubject) {
      const record = await this.redis.hget(this.keyspace.sale(saleId).visitors, result.expiredSubject);
      const known = record ? decodeVisitorRecord(record) : undefined;
      if (known?.kind === 'ordered' && known.orderId) {
        const orderId = known.orderId;
        return { existingOrder: { created: false, orderId, status: await this.orders.orderStatus(orderId) } };
      }
    }
    if (!result.ok) {
      const messages = {
        INVALID_TOKEN: 'the admission token is not valid',
        TOKEN_EXPIRED: 'the admission token has expired: the checkout window is over',
        WRONG_SALE: 'the admission token is for another sale',
      } as const;
      throw new AppError(result.code, messages[result.code]);
    }
    return result.claims;
  }

  /**
   * Runs the reserve script for `who`: verified claims, or those of `unverifiedToken` (then
   * every answer but a reservation and a rate limit waits for the token's verification).
   */
  async #reserve(
    saleId: string,
    who: UnverifiedAdmission,
    quantity: number,
    sender: string,
    unverifiedToken?: string,
  ): Promise<PurchaseResult> {
    if (unverifiedToken === undefined) checkQuantity(quantity, who);
    const orderId = randomUUID();
    const message = encodeOrderMessage({
      v: ORDER_MESSAGE_VERSION,
      orderId,
      saleId,
      visitorId: who.sub,
      quantity,
      createdAt: Date.now(),
    });
    const reply = await this.#reservations.add(saleId, {
      visitorId: who.sub,
      jti: who.jti,
      claims: unverifiedToken === undefined ? undefined : who,
      quantity,
      orderId,
      message,
      sender,
    });
    if (!('refused' in reply) && reply.outcome === 'OK') {
      await this.#publishOrRefuse(orderId, message);
      return { created: true, orderId, status: 'pending', remaining: reply.remaining };
    }
    if ('refused' in reply && reply.refused === 'RATE_LIMITED') throw this.#rateLimited(reply);
    if (unverifiedToken !== undefined) {
      // the script counted this attempt already (against the visitor or the sender)
      const verified = await this.#verifyToken(unverifiedToken, saleId);
      if ('existingOrder' in verified) return verified.existingOrder;
      // a genuine token whose claims Redis no longer matches (the limit changed since it was
      // signed): buy as a verified token does
      if ('refused' in reply && reply.refused === 'CLAIMS') return this.#reserve(saleId, verified, quantity, sender);
      checkQuantity(quantity, verified);
    }
    if (!('refused' in reply)) {
      // TOKEN_USED
      const existingId = reply.orderId;
      if (reply.pendingMessage) {
        // still pending: the first publish may never have reached the broker (it answered
        // 503), so publish again; the worker de-duplicates by order id
        await this.#publishOrRefuse(existingId, reply.pendingMessage);
        return { created: false, orderId: existingId, status: 'pending' };
      }
      return { created: false, orderId: existingId, status: await this.orders.orderStatus(existingId) };
    }
    if (reply.refused === 'NOT_FOUND') throw await this.sales.missing(saleId);
    // a verified token's claims are what it says: CLAIMS only comes with an unverified one
    if (reply.refused === 'CLAIMS') throw new Error(`reserve script answered ${reply.refused}`);
    throw refusalError(reply, saleId);
  }

  async #publishOrRefuse(orderId: string, message: string): Promise<void> {
    try {
      await this.publisher.publishBatched(orderId, message);
    } catch (err) {
      if (err instanceof PublishUnavailableError) {
        // the reservation and the outbox entry stay: the same token retried gets this order,
        // and the reconciler publishes it once the broker is back
        throw new AppError(
          'UNAVAILABLE',
          'orders cannot be accepted right now; retry with the same token',
          { orderId },
          UNAVAILABLE_RETRY_SECONDS,
        );
      }
      throw err;
    }
  }
}
