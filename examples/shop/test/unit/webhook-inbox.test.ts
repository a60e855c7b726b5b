/**
 * The webhook endpoint's logic: a delivery signed with the endpoint's secret is recorded once
 * per webhook-id (a retry counts as a repeat), anything else (another secret, a changed body,
 * a missing header, an old timestamp) is refused and recorded nowhere, and a test outage
 * answers "unavailable" without looking at the delivery.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { webhookInbox } from '../../src/webhook-inbox.js';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const signer = new Webhook(secret);

function delivery(id: string, type: string, data: unknown, at = new Date(), key = signer) {
  const body = JSON.stringify({ type, timestamp: at.toISOString(), data });
  return {
    body,
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': key.sign(id, at, body),
      'content-type': 'application/json',
    },
  };
}

describe('webhook inbox', () => {
  it('records a signed delivery once; the same webhook-id again is a repeat, not a second event', () => {
    const inbox = webhookInbox(secret, 100);
    const d = delivery('evt_order_confirmed_1', 'order.confirmed', { orderId: 'o1', status: 'confirmed' });
    const first = inbox.receive(d.body, d.headers);
    expect(first.outcome).toBe('recorded');
    expect(inbox.receive(d.body, d.headers).outcome).toBe('duplicate');
    const paid = delivery('evt_order_paid_1', 'order.paid', { orderId: 'o1', status: 'paid' });
    expect(inbox.receive(paid.body, paid.headers).outcome).toBe('recorded');
    const f = inbox.figures();
    expect(f.events.map((e) => [e.webhookId, e.type, e.duplicates])).toEqual([
      ['evt_order_confirmed_1', 'order.confirmed', 1],
      ['evt_order_paid_1', 'order.paid', 0],
    ]);
    expect(f.events[1]!.data).toEqual({ orderId: 'o1', status: 'paid' });
    expect(f.duplicates).toBe(1);
    expect(f.badSignatures).toBe(0);
  });

  it('refuses another secret, an altered body, a missing header and an old timestamp, recording nothing', () => {
    const inbox = webhookInbox(secret, 100);
    const other = new Webhook(`whsec_${randomBytes(24).toString('base64')}`);
    const forged = delivery('evt_a', 'order.paid', { orderId: 'o1' }, new Date(), other);
    expect(inbox.receive(forged.body, forged.headers).outcome).toBe('bad_signature');

    const d = delivery('evt_b', 'order.paid', { orderId: 'o1', quantity: 1 });
    expect(inbox.receive(d.body.replace('"quantity":1', '"quantity":9'), d.headers).outcome).toBe('bad_signature');
    // the same JSON re-serialised with other spacing is not the bytes that were signed either
    expect(inbox.receive(JSON.stringify(JSON.parse(d.body), null, 1), d.headers).outcome).toBe('bad_signature');

    const { 'webhook-signature': _s, ...unsigned } = d.headers;
    expect(inbox.receive(d.body, unsigned)).toEqual({ outcome: 'bad_signature', reason: 'missing header webhook-signature' });

    // a replay of a delivery signed long ago (Standard Webhooks' tolerance is five minutes)
    const old = delivery('evt_c', 'order.paid', { orderId: 'o1' }, new Date(Date.now() - 3_600_000));
    expect(inbox.receive(old.body, old.headers).outcome).toBe('bad_signature');

    expect(inbox.figures()).toMatchObject({ events: [], badSignatures: 5 });
    // the genuine one still goes in
    expect(inbox.receive(d.body, d.headers).outcome).toBe('recorded');
  });

  it('answers unavailable during an outage, counting the refusals, and records again once it is over', () => {
    let now = 1_000_000;
    const inbox = webhookInbox(secret, 100, () => now);
    inbox.outage(20);
    const d = delivery('evt_d', 'order.confirmed', { orderId: 'o2' });
    expect(inbox.receive(d.body, d.headers)).toEqual({ outcome: 'unavailable', retryAfterSeconds: 20 });
    now += 19_500;
    expect(inbox.receive(d.body, d.headers)).toEqual({ outcome: 'unavailable', retryAfterSeconds: 1 });
    now += 500;
    // the clock the signature is checked against is the real one; the delivery was signed just now
    expect(inbox.receive(d.body, d.headers).outcome).toBe('recorded');
    expect(inbox.figures()).toMatchObject({ refusedDuringOutage: 2 });
    inbox.outage(5);
    inbox.outage(0);
    const e = delivery('evt_e', 'order.paid', { orderId: 'o2' });
    expect(inbox.receive(e.body, e.headers).outcome).toBe('recorded');
  });

  it('keeps at most maxEvents, dropping the oldest', () => {
    const inbox = webhookInbox(secret, 2);
    for (const id of ['e1', 'e2', 'e3']) {
      const d = delivery(id, 'order.confirmed', {});
      inbox.receive(d.body, d.headers);
    }
    expect(inbox.figures().events.map((e) => e.webhookId)).toEqual(['e2', 'e3']);
  });
});
