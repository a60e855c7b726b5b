/**
 * Commits a batch of order messages to PostgreSQL in one transaction: the source of truth.
 *
 * - Idempotent by order id: `INSERT ... ON CONFLICT DO NOTHING` (orders is partitioned by
 *   sale, so its unique key is (order_id, sale_id); every copy of a message carries its order's
 *   sale). No conflict target: the one unique key of either schema is the arbiter (order_id
 *   alone before migration 0015), so this worker commits before and after it and workers can
 *   be rolled ahead of the migration. A message seen before (redelivery, outbox re-publish, twice in one
 *   batch) is a duplicate; its answer is the status stored the first time, and it is never
 *   counted twice in `sales.sold`. An order id already stored in another sale is refused by
 *   `order_ids` (23505): that message is poison (migration 0015).
 * - The database's own guard against oversell: `sold + n <= stock`, per sale, once per batch.
 *   It only refuses after Redis lost its data; then the orders that fit are confirmed in
 *   arrival order and the rest are stored `rejected`, so their shoppers can be told.
 * - A message the database refuses as data (SQLSTATE class 22 or 23, e.g. an unknown sale)
 *   would fail every batch it is in. The batch is then committed message by message, and
 *   each refused message comes back as `poison` for the caller to dead-letter. Any other
 *   error (connection lost, deadlock, shutdown) is thrown: the caller retries the batch.
 * - The shop is told in the same transaction (issue 14): an order of a sale with a checkout
 *   URL is stored with its payment deadline, and the commit writes the outbox rows of what it
 *   stored (`recordCommitEvents`), which the dispatcher delivers from there.
 */
import pg from 'pg';
import { inTransaction, recordOrderEvents, recordSaleEvent, type OrderMessage } from '@velvet-rope/contracts';

export type StoredStatus = 'confirmed' | 'rejected';

export type CommitResult =
  | {
      readonly orderId: string;
      readonly saleId: string;
      readonly visitorId: string;
      readonly status: StoredStatus;
      /** the order was already stored (before this batch or earlier in it) */
      readonly duplicate: boolean;
    }
  | {
      readonly orderId: string;
      readonly saleId: string;
      readonly visitorId: string;
      readonly status: 'poison';
      readonly reason: string;
    };

type Queryable = Pick<pg.PoolClient, 'query'>;

// A LEFT JOIN, so that an order of an unknown sale still reaches PostgreSQL's refusal (it has
// no partition of orders) and is isolated as poison; ORDER BY keeps the row locks in order-id order whatever join the
// planner picks. A sale with a checkout URL holds the order for payment until its deadline.
const INSERT_ORDERS = `
  INSERT INTO orders (order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at, payment_due_at)
  SELECT o.order_id, o.sale_id, o.visitor_id, o.quantity, 'confirmed', o.created_at, now(),
         CASE WHEN s.checkout_url IS NOT NULL THEN now() + s.payment_seconds * interval '1 second' END
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::timestamptz[])
    AS o (order_id, sale_id, visitor_id, quantity, created_at)
  LEFT JOIN sales s ON s.id = o.sale_id
  ORDER BY o.order_id
  ON CONFLICT DO NOTHING
  RETURNING order_id::text AS order_id`;

const GUARDED_SOLD_UPDATE = `
  UPDATE sales SET sold = sold + $2, updated_at = now()
  WHERE id = $1 AND sold + $2 <= stock
  RETURNING sold, stock, checkout_url`;

interface SoldAfter {
  readonly sold: number;
  readonly stock: number;
  readonly checkout_url: string | null;
}

/**
 * Commits `orders`; returns one result per input message, in input order (so the caller can
 * settle each message). Throws only errors worth retrying the whole batch for.
 */
export async function commitBatch(pool: pg.Pool, orders: readonly OrderMessage[]): Promise<CommitResult[]> {
  const results = new Array<CommitResult | undefined>(orders.length);
  const committable: number[] = [];
  orders.forEach((order, i) => {
    const invalid = invalidForDatabase(order);
    if (invalid) results[i] = poison(order, invalid);
    else committable.push(i);
  });
  if (committable.length > 0) {
    const subset = committable.map((i) => orders[i]!);
    let committed: CommitResult[];
    try {
      committed = await inTransaction(pool, (client) => commitTogether(client, subset));
    } catch (err) {
      if (!isDataError(err)) throw err;
      committed = await commitOneByOne(pool, subset);
    }
    committable.forEach((i, k) => {
      results[i] = committed[k];
    });
  }
  return results.map((r, i) => r ?? poison(orders[i]!, 'no result'));
}

/** Isolates the message(s) that the database refuses; every other message commits. */
async function commitOneByOne(pool: pg.Pool, orders: readonly OrderMessage[]): Promise<CommitResult[]> {
  const results: CommitResult[] = [];
  for (const order of orders) {
    try {
      results.push(...(await inTransaction(pool, (client) => commitTogether(client, [order]))));
    } catch (err) {
      if (!isDataError(err)) throw err;
      results.push(poison(order, `${err.code}: ${err.message}`));
    }
  }
  return results;
}

async function commitTogether(client: Queryable, orders: readonly OrderMessage[]): Promise<CommitResult[]> {
  const unique = new Map<string, OrderMessage>();
  for (const o of orders) if (!unique.has(o.orderId)) unique.set(o.orderId, o);
  // in order-id order: two batches committing at once that share an order (a redelivery)
  // take its row lock in the same order, so they never deadlock on each other
  const distinct = [...unique.values()].sort((a, b) => (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));

  const inserted = await client.query<{ order_id: string }>(INSERT_ORDERS, [
    distinct.map((o) => o.orderId),
    distinct.map((o) => o.saleId),
    distinct.map((o) => o.visitorId),
    distinct.map((o) => o.quantity),
    distinct.map((o) => new Date(o.createdAt).toISOString()),
  ]);
  const insertedIds = new Set(inserted.rows.map((r) => r.order_id));

  const newBySale = new Map<string, OrderMessage[]>();
  for (const o of distinct) {
    if (!insertedIds.has(o.orderId)) continue;
    const list = newBySale.get(o.saleId);
    if (list) list.push(o);
    else newBySale.set(o.saleId, [o]);
  }

  const rejected = new Set<string>();
  // sales in a fixed order: two workers committing to the same sales never deadlock on them
  for (const saleId of [...newBySale.keys()].sort()) {
    const added = newBySale.get(saleId)!;
    const outcome = await addToSold(client, saleId, added);
    for (const id of outcome.rejected) rejected.add(id);
    await recordCommitEvents(client, saleId, added, outcome);
  }

  const stored = new Map<string, StoredStatus>();
  const seenBefore = distinct.filter((o) => !insertedIds.has(o.orderId));
  if (seenBefore.length > 0) {
    // the messages' sales prune orders to their partitions (a duplicate is of the same sale)
    const { rows } = await client.query<{ order_id: string; status: StoredStatus }>(
      'SELECT order_id::text AS order_id, status FROM orders WHERE order_id = ANY($1::uuid[]) AND sale_id = ANY($2::text[])',
      [seenBefore.map((o) => o.orderId), [...new Set(seenBefore.map((o) => o.saleId))]],
    );
    for (const r of rows) stored.set(r.order_id, r.status);
  }

  const answered = new Set<string>();
  return orders.map((o) => {
    const first = !answered.has(o.orderId);
    answered.add(o.orderId);
    if (insertedIds.has(o.orderId)) {
      const status: StoredStatus = rejected.has(o.orderId) ? 'rejected' : 'confirmed';
      return { orderId: o.orderId, saleId: o.saleId, visitorId: o.visitorId, status, duplicate: !first };
    }
    const status = stored.get(o.orderId);
    // ON CONFLICT saw the row, so it exists; if not, something deleted it: retry the batch
    if (!status) throw new Error(`order ${o.orderId} conflicted but is not stored`);
    return { orderId: o.orderId, saleId: o.saleId, visitorId: o.visitorId, status, duplicate: true };
  });
}

interface AddedToSold {
  /** ids of the orders that did not fit (already marked `rejected`) */
  readonly rejected: string[];
  /** the sale after the update; undefined when nothing was added */
  readonly after: SoldAfter | undefined;
}

/**
 * The shop's outbox rows of one sale's newly stored orders, in the commit's transaction (an
 * insert each, no update: the commit path stays cheap): one order.confirmed row, one
 * order.rejected row, and sale.held (units all in checkouts) or sale.sold_out when this
 * commit took `sold` to `stock`. A duplicate inserts no order, so it writes nothing.
 */
async function recordCommitEvents(client: Queryable, saleId: string, orders: readonly OrderMessage[], added: AddedToSold): Promise<void> {
  const refused = new Set(added.rejected);
  await recordOrderEvents(
    client,
    'order.confirmed',
    saleId,
    orders.filter((o) => !refused.has(o.orderId)).map((o) => o.orderId),
  );
  await recordOrderEvents(client, 'order.rejected', saleId, added.rejected);
  const after = added.after;
  if (after && after.sold >= after.stock) {
    await recordSaleEvent(client, after.checkout_url === null ? 'sale.sold_out' : 'sale.held', saleId);
  }
}

/** Adds the newly inserted orders of one sale to `sold`, within stock. */
async function addToSold(client: Queryable, saleId: string, orders: readonly OrderMessage[]): Promise<AddedToSold> {
  const total = orders.reduce((n, o) => n + o.quantity, 0);
  const guarded = await client.query<SoldAfter>(GUARDED_SOLD_UPDATE, [saleId, total]);
  if (guarded.rows[0]) return { rejected: [], after: guarded.rows[0] };

  // Only after a Redis data loss: Redis reserved more than PostgreSQL has left.
  const { rows } = await client.query<{ stock: number; sold: number }>('SELECT stock, sold FROM sales WHERE id = $1 FOR UPDATE', [saleId]);
  const sale = rows[0];
  // the insert's foreign key proved the sale exists; a vanished row is worth a retry
  if (!sale) throw new Error(`sale ${saleId} disappeared during commit`);
  let room = sale.stock - sale.sold;
  let accepted = 0;
  const rejected: string[] = [];
  // earliest accepted first; an order that does not fit does not stop a smaller later one
  // from taking what is left (no undersell)
  const byArrival = [...orders].sort((a, b) => a.createdAt - b.createdAt || (a.orderId < b.orderId ? -1 : 1));
  for (const o of byArrival) {
    if (o.quantity <= room) {
      room -= o.quantity;
      accepted += o.quantity;
    } else {
      rejected.push(o.orderId);
    }
  }
  if (rejected.length > 0) {
    await client.query("UPDATE orders SET status = 'rejected', confirmed_at = NULL WHERE sale_id = $1 AND order_id = ANY($2::uuid[])", [
      saleId,
      rejected,
    ]);
  }
  if (accepted === 0) return { rejected, after: undefined };
  const { rows: after } = await client.query<SoldAfter>(
    'UPDATE sales SET sold = sold + $2, updated_at = now() WHERE id = $1 RETURNING sold, stock, checkout_url',
    [saleId, accepted],
  );
  return { rejected, after: after[0] };
}

/** SQLSTATE class 22 (data exception) or 23 (integrity constraint violation): the data is at fault. */
function isDataError(err: unknown): err is pg.DatabaseError & { code: string } {
  return err instanceof pg.DatabaseError && typeof err.code === 'string' && /^2[23]/.test(err.code);
}

/** What PostgreSQL would refuse with an error that is not a SQLSTATE (a JS-side range error). */
function invalidForDatabase(order: OrderMessage): string | undefined {
  if (Number.isNaN(new Date(order.createdAt).getTime())) return 'createdAt out of range';
  return undefined;
}

function poison(order: OrderMessage, reason: string): CommitResult {
  return { orderId: order.orderId, saleId: order.saleId, visitorId: order.visitorId, status: 'poison', reason };
}
