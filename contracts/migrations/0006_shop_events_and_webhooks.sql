-- What the shop is told (issue 14, promise I7). Each event is written in the same transaction
-- as the state change it reports (the worker's commit of a batch, the announcement that a sale
-- ended) and delivered from here, at least once: to the RabbitMQ events exchange
-- (`published_at`) and to every webhook endpoint registered when it is fanned out
-- (`fanned_out_at`, one `webhook_deliveries` row per endpoint). Dispatchers claim rows with
-- FOR UPDATE SKIP LOCKED, so any number of workers share the work and a crashed one's claims
-- go back with its transaction.
CREATE TABLE shop_events (
  -- delivery order: per order, an event is never delivered before an earlier one
  seq            bigserial   PRIMARY KEY,
  -- the Standard Webhooks message id (`webhook-id`): the same on every retry, what a receiver
  -- de-duplicates by; the AMQP message id on the exchange
  id             text        NOT NULL UNIQUE DEFAULT ('msg_' || replace(gen_random_uuid()::text, '-', '')),
  -- what makes an event happen once: `order.confirmed:<orderId>`, `sale.sold_out:<saleId>:<stock>`...
  event_key      text        NOT NULL UNIQUE,
  type           text        NOT NULL CHECK (type IN ('order.confirmed', 'order.paid', 'order.cancelled',
                   'order.rejected', 'sale.held', 'sale.sold_out', 'sale.ended')),
  sale_id        text        NOT NULL,
  order_id       uuid,
  -- the event's `data`: an order event's is the order as GET /api/orders/:id shows it
  data           jsonb       NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  published_at   timestamptz,
  fanned_out_at  timestamptz
);
CREATE INDEX shop_events_unpublished_idx ON shop_events (seq) WHERE published_at IS NULL;
CREATE INDEX shop_events_unfanned_idx ON shop_events (seq) WHERE fanned_out_at IS NULL;
CREATE INDEX shop_events_sale_idx ON shop_events (sale_id, seq);

-- The shop's webhook endpoints (POST /api/admin/webhooks, or WEBHOOK_URL at boot). Removed
-- endpoints keep their row (`deleted_at`) so their delivery log stays readable.
CREATE TABLE webhooks (
  id           text        PRIMARY KEY,
  url          text        NOT NULL,
  -- NULL: every event type
  event_types  text[],
  -- `whsec_<base64>`: the Standard Webhooks signing secret, shown once when created
  secret       text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz
);

CREATE TABLE webhook_deliveries (
  id               bigserial   PRIMARY KEY,
  webhook_id       text        NOT NULL REFERENCES webhooks (id),
  event_seq        bigint      NOT NULL REFERENCES shop_events (seq),
  -- the event's order, copied: deliveries of one order go out in `event_seq` order
  order_id         uuid,
  status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'retrying', 'sent', 'failed')),
  attempts         integer     NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_attempt_at  timestamptz,
  response_status  integer,
  last_error       text,
  latency_ms       integer,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  UNIQUE (webhook_id, event_seq)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (webhook_id, id DESC);
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (webhook_id, order_id, event_seq) WHERE status IN ('pending', 'retrying');

-- A sale's end is announced once (sale.ended): sales that ended before this migration are
-- not announced.
ALTER TABLE sales ADD COLUMN ended_announced boolean NOT NULL DEFAULT false;
UPDATE sales SET ended_announced = true WHERE ends_at IS NOT NULL AND ends_at <= now();
