-- The hand-off to the shop (issue 14): a sale with a checkout URL holds each committed order
-- for payment until its deadline; the shop marks it paid or cancels it, a lapsed one is
-- cancelled by any worker, and a cancelled order's units go back on sale exactly once. Every
-- change the shop is told about is written to the outbox (`shop_events`) in the transaction
-- that makes it, and delivered from there (webhooks, the events exchange).

-- ---- sales -------------------------------------------------------------------------------
ALTER TABLE sales
  -- NULL: the sale does not hand orders to a shop (it behaves as before this migration)
  ADD COLUMN checkout_url    text,
  ADD COLUMN payment_seconds integer NOT NULL DEFAULT 600 CHECK (payment_seconds >= 1),
  -- units of orders the shop marked paid; `sold` counts confirmed and paid units, so a sale
  -- handing off is sold out when paid = stock, and "held" while sold = stock > paid
  ADD COLUMN paid            integer NOT NULL DEFAULT 0 CHECK (paid >= 0),
  -- sale.ended is announced once; sales that ended before this migration are not announced
  ADD COLUMN ended_announced boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT paid_within_sold CHECK (paid <= sold);
UPDATE sales SET ended_announced = true WHERE ends_at IS NOT NULL AND ends_at <= now();

-- ---- orders ------------------------------------------------------------------------------
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders
  ADD CONSTRAINT orders_status_check CHECK (status IN ('confirmed', 'rejected', 'paid', 'cancelled')),
  -- set at commit for a sale with a checkout URL: the end of the payment window
  ADD COLUMN payment_due_at    timestamptz,
  ADD COLUMN paid_at           timestamptz,
  ADD COLUMN cancelled_at      timestamptz,
  ADD COLUMN cancel_reason     text CHECK (cancel_reason IN ('shop', 'payment_timeout')),
  -- when the cancelled order's units were put back in Redis (the sweeper retries the rest)
  ADD COLUMN units_returned_at timestamptz,
  ADD CONSTRAINT orders_cancel_reason_state CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL));
-- The payment deadlines still to enforce, and the returns still to apply: partial, so that an
-- order of a sale without a checkout URL adds no index entry (the commit path stays as it was).
CREATE INDEX orders_payment_due_idx ON orders (payment_due_at) WHERE status = 'confirmed' AND payment_due_at IS NOT NULL;
CREATE INDEX orders_return_due_idx ON orders (cancelled_at) WHERE status = 'cancelled' AND units_returned_at IS NULL;

-- ---- the outbox --------------------------------------------------------------------------
-- One row per change and kind of event: an order event row names every order of a commit it
-- concerns (`order_ids`, one event each, its data read from `orders` when dispatched: an
-- order's later states only add fields, so the data of each state is reproducible), a sale
-- event row carries its data. Written with the change, deleted by the dispatcher in the
-- transaction that publishes it to the exchange and fans it out to the webhook endpoints:
-- only the primary key, no update, so the commit path pays one small insert per batch.
CREATE TABLE shop_events (
  seq         bigserial   PRIMARY KEY,
  type        text        NOT NULL CHECK (type IN ('order.confirmed', 'order.paid', 'order.cancelled',
                'order.rejected', 'sale.held', 'sale.sold_out', 'sale.ended')),
  sale_id     text        NOT NULL,
  order_ids   uuid[],
  data        jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((order_ids IS NULL) = (data IS NOT NULL))
);

-- ---- webhooks ----------------------------------------------------------------------------
-- The shop's endpoints (POST /api/admin/webhooks, or WEBHOOK_URL at boot). A removed endpoint
-- keeps its row (`deleted_at`) so its delivery log stays readable.
CREATE TABLE webhooks (
  id           text        PRIMARY KEY,
  url          text        NOT NULL,
  -- NULL: every event type
  event_types  text[],
  -- `whsec_<base64>`: the Standard Webhooks signing secret, shown once when created
  secret       text        NOT NULL,
  -- 'config': registered from WEBHOOK_URL at boot (kept in step with it)
  source       text        NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'config')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz
);
CREATE UNIQUE INDEX webhooks_config_idx ON webhooks (source) WHERE source = 'config' AND deleted_at IS NULL;

-- One delivery per endpoint and event, its log and its retry state. Deliveries of one order
-- (`ordering_key`) to one endpoint go out in `event_seq` order: one is claimed only when no
-- earlier one of the same key is still pending.
CREATE TABLE webhook_deliveries (
  id               bigserial   PRIMARY KEY,
  webhook_id       text        NOT NULL REFERENCES webhooks (id),
  -- the Standard Webhooks message id (`webhook-id`), the same on every attempt
  event_id         text        NOT NULL,
  event_type       text        NOT NULL,
  -- (outbox seq, position in its row): the order events were made in
  event_seq        bigint      NOT NULL,
  event_pos        integer     NOT NULL DEFAULT 0,
  -- the order id, or 'sale:<id>' for a sale event
  ordering_key     text        NOT NULL,
  -- the exact JSON body sent (and signed) on every attempt
  body             text        NOT NULL,
  status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivering', 'delivered', 'failed')),
  attempts         integer     NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  -- a claim's lease: a crashed deliverer's claim goes back when it passes
  lease_until      timestamptz,
  last_attempt_at  timestamptz,
  response_status  integer,
  last_error       text,
  latency_ms       integer,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'delivering');
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (webhook_id, id DESC);
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (webhook_id, ordering_key, event_seq, event_pos)
  WHERE status IN ('pending', 'delivering');
