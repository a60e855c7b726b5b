import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopEventId, type ShopEventBody } from '@velvet-rope/contracts';
import { commitBatch } from '../../src/batch-committer.js';
import { createWorkerMetrics } from '../../src/metrics.js';
import { ShopEventDispatcher } from '../../src/shop/dispatcher.js';
import { ExchangePublisher } from '../../src/shop/event-publisher.js';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { insertSale, insertWebhook, order, waitFor } from '../helpers.js';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('ShopEventDispatcher', () => {
  let db: TestDatabase;
  let connection: ChannelModel;
  let channel: Channel;
  const exchange = uniqueId('vr-test-events-');
  const queue = uniqueId('vr-test-events-q-');
  const received: ConsumeMessage[] = [];
  const publishers: ExchangePublisher[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('vr_test_worker_dispatch_');
    connection = await amqp.connect(AMQP_URL);
    channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: false });
    await channel.bindQueue(queue, exchange, '#');
    await channel.consume(queue, (msg) => msg && received.push(msg), { noAck: true });
  });

  afterAll(async () => {
    await Promise.all(publishers.map((p) => p.close()));
    await channel?.deleteQueue(queue).catch(() => undefined);
    await channel?.deleteExchange(exchange).catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await db?.drop();
  });

  async function newDispatcher(
    opts: { claimRows?: number } = {},
  ): Promise<{ dispatcher: ShopEventDispatcher; publisher: ExchangePublisher }> {
    const publisher = new ExchangePublisher({ amqpUrls: [AMQP_URL], exchange }, logger);
    await publisher.start();
    publishers.push(publisher);
    const dispatcher = new ShopEventDispatcher(db.pool, publisher, createWorkerMetrics(), logger, { idleMs: 20, ...opts });
    return { dispatcher, publisher };
  }

  async function drainOutbox(dispatcher: ShopEventDispatcher): Promise<void> {
    for (;;) {
      const outcome = await dispatcher.dispatchOnce();
      if (outcome.kind === 'dispatched' && !outcome.more) return;
    }
  }

  const messagesOf = (saleId: string): ConsumeMessage[] =>
    received.filter((m) => (JSON.parse(m.content.toString()) as ShopEventBody).data.saleId === saleId);

  async function outboxCount(): Promise<number> {
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM shop_events');
    return rows[0]!.n;
  }

  it('publishes each event once with its routing key and id, fans it out to the endpoints that want it, and empties the outbox', async () => {
    const all = await insertWebhook(db.pool, 'http://127.0.0.1:9/all');
    const soldOutOnly = await insertWebhook(db.pool, 'http://127.0.0.1:9/sold-out', ['sale.sold_out']);
    const removed = await insertWebhook(db.pool, 'http://127.0.0.1:9/removed');
    await db.pool.query('UPDATE webhooks SET deleted_at = now() WHERE id = $1', [removed.id]);
    const saleId = await insertSale(db.pool, { stock: 3 });
    const batch = [order(saleId), order(saleId, { quantity: 2 })];
    await commitBatch(db.pool, batch);
    const { dispatcher } = await newDispatcher();

    await drainOutbox(dispatcher);

    const messages = await waitFor('3 messages', async () => (messagesOf(saleId).length >= 3 ? messagesOf(saleId) : undefined), 10_000);
    expect(messages).toHaveLength(3);
    const byKey = messages.map((m) => [m.fields.routingKey, m.properties.messageId, m.properties.type, m.properties.deliveryMode]);
    const { rows: seqRows } = await db.pool.query<{ event_id: string }>(
      "SELECT event_id FROM webhook_deliveries WHERE webhook_id = $1 AND event_type = 'sale.sold_out'",
      [all.id],
    );
    const soldOutId = seqRows[0]!.event_id;
    expect(byKey).toEqual([
      [
        'order.confirmed',
        shopEventId('order.confirmed', { orderId: batch[0]!.orderId < batch[1]!.orderId ? batch[0]!.orderId : batch[1]!.orderId }),
        'order.confirmed',
        2,
      ],
      [
        'order.confirmed',
        shopEventId('order.confirmed', { orderId: batch[0]!.orderId < batch[1]!.orderId ? batch[1]!.orderId : batch[0]!.orderId }),
        'order.confirmed',
        2,
      ],
      ['sale.sold_out', soldOutId, 'sale.sold_out', 2],
    ]);
    expect(soldOutId).toMatch(new RegExp(`^evt_sale_sold_out_${saleId}_\\d+$`));
    const first = JSON.parse(messages[0]!.content.toString()) as ShopEventBody<'order.confirmed'>;
    expect(messages[0]!.properties.contentType).toBe('application/json');
    expect(first).toMatchObject({ type: 'order.confirmed', data: { saleId, status: 'confirmed', paymentDueAt: null, paidAt: null } });
    expect(Number.isNaN(Date.parse(first.timestamp))).toBe(false);

    const { rows: deliveries } = await db.pool.query<{ webhook_id: string; event_id: string; body: string; ordering_key: string }>(
      'SELECT webhook_id, event_id, body, ordering_key FROM webhook_deliveries ORDER BY event_seq, event_pos',
    );
    expect(deliveries.filter((d) => d.webhook_id === all.id).map((d) => d.event_id)).toEqual(messages.map((m) => m.properties.messageId));
    expect(deliveries.filter((d) => d.webhook_id === soldOutOnly.id).map((d) => d.event_id)).toEqual([soldOutId]);
    expect(deliveries.some((d) => d.webhook_id === removed.id)).toBe(false);
    // the delivery carries exactly what the exchange got
    expect(deliveries[0]!.body).toBe(messages[0]!.content.toString());
    expect(deliveries.find((d) => d.event_id === soldOutId)!.ordering_key).toBe(`sale:${saleId}`);
    expect(await outboxCount()).toBe(0);
    await db.pool.query('UPDATE webhooks SET deleted_at = now()');
  });

  it('keeps the events in the outbox while RabbitMQ is away, and dispatches them once it is back', async () => {
    const saleId = await insertSale(db.pool, { stock: 10 });
    await commitBatch(db.pool, [order(saleId)]);
    const { dispatcher, publisher } = await newDispatcher();
    await publisher.close();

    await expect(dispatcher.dispatchOnce()).rejects.toThrow(/RabbitMQ is away/);
    expect(await outboxCount()).toBe(1);

    await drainOutbox((await newDispatcher()).dispatcher);
    expect(await outboxCount()).toBe(0);
    await waitFor('the event', async () => (messagesOf(saleId).length === 1 ? true : undefined), 10_000);
  });

  it('a publish the broker refuses (nack) keeps the events in the outbox and reconnects once, on a fresh channel', async () => {
    // a queue that refuses every message (reject-publish at length 0): the broker nacks what reaches it
    const refusing = uniqueId('vr-test-events-refusing-');
    await channel.assertQueue(refusing, { durable: false, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    await channel.bindQueue(refusing, exchange, '#');
    const saleId = await insertSale(db.pool, { stock: 10 });
    await commitBatch(db.pool, [order(saleId)]);
    const lines: string[] = [];
    const publisher = new ExchangePublisher(
      { amqpUrls: [AMQP_URL], exchange, backoff: { initialMs: 20, maxMs: 50 } },
      pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }),
    );
    await publisher.start();
    publishers.push(publisher);
    const dispatcher = new ShopEventDispatcher(db.pool, publisher, createWorkerMetrics(), logger, { idleMs: 20 });
    try {
      await expect(dispatcher.dispatchOnce()).rejects.toThrow(/nack/i);
      expect(await outboxCount(), 'the refused event stays in the outbox').toBe(1);
      const warned = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(warned.filter((m) => m === 'RabbitMQ refused a publish; reconnecting')).toHaveLength(1);
      await channel.unbindQueue(refusing, exchange, '#');
      await waitFor(
        'the event dispatched on the new channel',
        async () => {
          const outcome = await dispatcher.dispatchOnce().catch(() => undefined);
          return outcome?.kind === 'dispatched' && (await outboxCount()) === 0 ? true : undefined;
        },
        10_000,
      );
      // the refused publish had reached the other bound queue too: at least once, the same
      // message id both times (what a shop's consumer dedupes on)
      const copies = await waitFor('the event', async () => (messagesOf(saleId).length >= 2 ? messagesOf(saleId) : undefined), 10_000);
      expect(copies).toHaveLength(2);
      expect(new Set(copies.map((m) => m.properties.messageId as string)).size).toBe(1);
    } finally {
      await channel.deleteQueue(refusing).catch(() => undefined);
    }
  });

  it('two dispatchers at once publish each event once, and each order event after the ones before it', async () => {
    await insertWebhook(db.pool, 'http://127.0.0.1:9/both');
    const saleId = await insertSale(db.pool, { stock: 1_000 });
    const orders = Array.from({ length: 60 }, () => order(saleId));
    for (let i = 0; i < orders.length; i += 3) await commitBatch(db.pool, orders.slice(i, i + 3));
    // a later event of some orders, in later outbox rows
    await db.pool.query("INSERT INTO shop_events (type, sale_id, order_ids) VALUES ('order.cancelled', $1, $2::uuid[])", [
      saleId,
      orders.slice(0, 10).map((o) => o.orderId),
    ]);
    const a = await newDispatcher({ claimRows: 2 });
    const b = await newDispatcher({ claimRows: 2 });
    const stop = new AbortController();

    const loops = Promise.all([a.dispatcher.run(stop.signal), b.dispatcher.run(stop.signal)]);
    await waitFor('an empty outbox', async () => ((await outboxCount()) === 0 ? true : undefined), 30_000);
    stop.abort();
    await loops;

    const messages = await waitFor('70 messages', async () => (messagesOf(saleId).length >= 70 ? messagesOf(saleId) : undefined), 10_000);
    const ids = messages.map((m) => m.properties.messageId as string);
    expect(ids).toHaveLength(70);
    expect(new Set(ids).size).toBe(70);
    for (const o of orders.slice(0, 10)) {
      const confirmed = ids.indexOf(shopEventId('order.confirmed', { orderId: o.orderId }));
      const cancelled = ids.indexOf(shopEventId('order.cancelled', { orderId: o.orderId }));
      expect(confirmed).toBeGreaterThanOrEqual(0);
      expect(cancelled).toBeGreaterThan(confirmed);
    }
    const { rows } = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE w.url LIKE '%/both'",
    );
    expect(rows[0]!.n).toBe(70);
  });
});
