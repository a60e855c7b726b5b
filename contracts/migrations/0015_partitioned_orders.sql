-- Orders partitioned by sale (issue 17 item 4): one LIST partition per sale, made when the sale
-- is inserted, so that a finished sale's orders leave the table in one command (`npm run
-- archive-sale`, DETACH PARTITION ... CONCURRENTLY) instead of a DELETE of millions of rows.
-- LIST, not HASH: a hash partition holds many sales, so none could be detached on its own. No
-- DEFAULT partition: DETACH ... CONCURRENTLY refuses a table that has one, and with every sale's
-- partition made with the sale, an order of a sale without one is an unknown sale (refused, as
-- the foreign key refused it before).
--
-- Every guard stays:
-- - one order id once, across every sale: a unique index on a partitioned table must hold the
--   partition key, so the partitions' UNIQUE (order_id, sale_id) (the worker's ON CONFLICT
--   arbiter: a redelivered message is the same order of the same sale) is joined by
--   `order_ids`, one row per order id ever stored, filled by a statement trigger from every
--   INSERT into orders: the same id in another sale is refused (23505) whoever writes it.
-- - one order per admission: the admission's order id is made once (reserve.lua keeps it) and
--   every copy of its message carries it, so in PostgreSQL this is the order id's uniqueness.
-- - the status and cancel-reason CHECKs, the quantity CHECK, the foreign key to sales, and the
--   indexes of 0001, 0006 and 0011 (defined on the partitioned table: every partition has them).
-- Nothing else references orders (no foreign key to it, no view, no trigger before this one).
--
-- The rows are copied inside this migration's transaction (its ACCESS EXCLUSIVE lock holds the
-- workers' commits until it commits): the time it takes grows with the orders kept.

ALTER TABLE orders RENAME TO orders_unpartitioned;
ALTER INDEX orders_sale_status_idx RENAME TO orders_unpartitioned_sale_status_idx;
ALTER INDEX orders_sale_visitor_idx RENAME TO orders_unpartitioned_sale_visitor_idx;
ALTER INDEX orders_payment_due_idx RENAME TO orders_unpartitioned_payment_due_idx;
ALTER INDEX orders_return_due_idx RENAME TO orders_unpartitioned_return_due_idx;
ALTER INDEX orders_visitor_created_idx RENAME TO orders_unpartitioned_visitor_created_idx;

-- the columns in the order they had, so `SELECT *` answers as before
CREATE TABLE orders (
  order_id          uuid        NOT NULL,
  sale_id           text        NOT NULL,
  visitor_id        text        NOT NULL,
  quantity          integer     NOT NULL,
  status            text        NOT NULL,
  created_at        timestamptz NOT NULL,
  confirmed_at      timestamptz,
  payment_due_at    timestamptz,
  paid_at           timestamptz,
  cancelled_at      timestamptz,
  cancel_reason     text,
  units_returned_at timestamptz,
  CONSTRAINT orders_quantity_check CHECK (quantity > 0),
  CONSTRAINT orders_status_check CHECK (status IN ('confirmed', 'rejected', 'paid', 'cancelled')),
  CONSTRAINT orders_cancel_reason_check CHECK (cancel_reason IN ('shop', 'payment_timeout')),
  CONSTRAINT orders_cancel_reason_state CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL)),
  CONSTRAINT orders_sale_id_fkey FOREIGN KEY (sale_id) REFERENCES sales (id)
) PARTITION BY LIST (sale_id);

-- Every order id stored, once (the global half of "one order id once"). Kept when a sale's
-- partition is archived: an archived order's id is still taken.
CREATE TABLE order_ids (
  order_id uuid PRIMARY KEY,
  sale_id  text NOT NULL
);

-- A sale's partition's name: readable, and distinct for ids that differ only in case or in
-- '-' against '_' (the md5 part). At most 56 characters for a 64-character sale id.
CREATE FUNCTION orders_partition_name(sale_id text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT
  RETURN 'orders_' || left(lower(regexp_replace(sale_id, '[^A-Za-z0-9]', '_', 'g')), 40) || '_' || left(md5(sale_id), 8);

-- Made as its own table and then attached: ATTACH takes SHARE UPDATE EXCLUSIVE on orders, which
-- does not wait for the workers' inserts (CREATE TABLE ... PARTITION OF would take ACCESS
-- EXCLUSIVE). The partition indexes and the foreign key come with the attach; the foreign key
-- takes SHARE ROW EXCLUSIVE on sales, so a sale's creation waits for the commits in flight
-- (their UPDATE of sold) and holds the next ones until it commits: milliseconds.
CREATE FUNCTION orders_create_partition(p_sale_id text) RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  part text := orders_partition_name(p_sale_id);
BEGIN
  EXECUTE format('CREATE TABLE %I (LIKE orders INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
  EXECUTE format('ALTER TABLE orders ATTACH PARTITION %I FOR VALUES IN (%L)', part, p_sale_id);
END
$$;

DO $$
DECLARE
  s record;
BEGIN
  FOR s IN SELECT id FROM sales ORDER BY id LOOP
    PERFORM orders_create_partition(s.id);
  END LOOP;
END
$$;

INSERT INTO order_ids (order_id, sale_id) SELECT order_id, sale_id FROM orders_unpartitioned;
INSERT INTO orders (order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at,
                    payment_due_at, paid_at, cancelled_at, cancel_reason, units_returned_at)
  SELECT order_id, sale_id, visitor_id, quantity, status, created_at, confirmed_at,
         payment_due_at, paid_at, cancelled_at, cancel_reason, units_returned_at
  FROM orders_unpartitioned;
DROP TABLE orders_unpartitioned;

-- built once over the copied rows, on every partition
-- the order id first: it also serves the look-ups by order id alone (one probe a partition)
ALTER TABLE orders ADD CONSTRAINT orders_order_id_sale_key UNIQUE (order_id, sale_id);
CREATE INDEX orders_sale_status_idx ON orders (sale_id, status);
CREATE INDEX orders_sale_visitor_idx ON orders (sale_id, visitor_id);
CREATE INDEX orders_payment_due_idx ON orders (payment_due_at) WHERE status = 'confirmed' AND payment_due_at IS NOT NULL;
CREATE INDEX orders_return_due_idx ON orders (cancelled_at) WHERE status = 'cancelled' AND units_returned_at IS NULL;
CREATE INDEX orders_visitor_created_idx ON orders (visitor_id, created_at DESC);

-- One statement trigger, not one per row: the rows an INSERT stored (an ON CONFLICT DO NOTHING
-- that skipped a row leaves it out) claim their ids in one insert.
CREATE FUNCTION orders_claim_ids() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_ids (order_id, sale_id) SELECT order_id, sale_id FROM stored ORDER BY order_id;
  RETURN NULL;
END
$$;
CREATE TRIGGER orders_claim_ids AFTER INSERT ON orders
  REFERENCING NEW TABLE AS stored FOR EACH STATEMENT EXECUTE FUNCTION orders_claim_ids();

-- An order keeps its id and its sale: a changed one would leave its claim behind.
CREATE FUNCTION orders_keep_identity() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'an order''s order_id and sale_id never change' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER orders_keep_identity BEFORE UPDATE OF order_id, sale_id ON orders
  FOR EACH ROW WHEN (OLD.order_id IS DISTINCT FROM NEW.order_id OR OLD.sale_id IS DISTINCT FROM NEW.sale_id)
  EXECUTE FUNCTION orders_keep_identity();

-- Every new sale gets its partition in the transaction that inserts it. The attach adds the
-- partition's foreign key, which takes SHARE ROW EXCLUSIVE on sales: two transactions that each
-- inserted a sale (ROW EXCLUSIVE) would wait for each other (a deadlock, one aborted). Whoever
-- inserts sales concurrently takes that lock first: `LOCK TABLE sales IN SHARE ROW EXCLUSIVE
-- MODE` then the INSERT, in one transaction (the gateway's SaleStore.create does).
CREATE FUNCTION sales_create_orders_partition() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM orders_create_partition(NEW.id);
  RETURN NULL;
END
$$;
CREATE TRIGGER sales_create_orders_partition AFTER INSERT ON sales
  FOR EACH ROW EXECUTE FUNCTION sales_create_orders_partition();
