-- Sales and their orders: the source of truth. Redis holds a hot copy of each sale's
-- configuration and the live queue; what is sold is decided here.

CREATE TABLE sales (
  id                 text PRIMARY KEY,
  name               text        NOT NULL,
  stock              integer     NOT NULL CHECK (stock >= 0),
  sold               integer     NOT NULL DEFAULT 0 CHECK (sold >= 0),
  starts_at          timestamptz NOT NULL,
  prequeue_opens_at  timestamptz,
  ends_at            timestamptz,
  rate_per_minute    integer     NOT NULL CHECK (rate_per_minute >= 0),
  max_active         integer     NOT NULL CHECK (max_active >= 1),
  checkout_seconds   integer     NOT NULL CHECK (checkout_seconds >= 1),
  max_per_shopper    integer     NOT NULL CHECK (max_per_shopper >= 1),
  queue_mode         text        NOT NULL CHECK (queue_mode IN ('prequeue-random', 'fifo', 'random')),
  window_seconds     integer     NOT NULL CHECK (window_seconds >= 0),
  paused             boolean     NOT NULL DEFAULT false,
  -- secret until the sale ends; sha256(fairness_seed) is published before it starts
  fairness_seed      bytea       NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  -- the database's own guard against oversell, whatever Redis says
  CONSTRAINT sold_within_stock CHECK (sold <= stock)
);

CREATE TABLE orders (
  order_id      uuid        NOT NULL,
  sale_id       text        NOT NULL REFERENCES sales (id),
  visitor_id    text        NOT NULL,
  quantity      integer     NOT NULL CHECK (quantity > 0),
  status        text        NOT NULL CHECK (status IN ('confirmed', 'rejected')),
  created_at    timestamptz NOT NULL,
  confirmed_at  timestamptz,
  CONSTRAINT orders_order_id_key UNIQUE (order_id)
);

CREATE INDEX orders_sale_status_idx ON orders (sale_id, status);
CREATE INDEX orders_sale_visitor_idx ON orders (sale_id, visitor_id);

-- Keys that sign admission tokens; every gateway signs with the same active key.
CREATE TABLE signing_keys (
  kid          text PRIMARY KEY,
  private_jwk  jsonb       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  retired_at   timestamptz
);

-- Shared secrets made once when the environment does not provide them (TICKET_SECRET).
CREATE TABLE secrets (
  name        text PRIMARY KEY,
  value       text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
