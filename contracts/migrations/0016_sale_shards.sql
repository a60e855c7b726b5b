-- One sale over several Redis Cluster shards (issue 17 item 1): `shards` is how many sub-queues
-- (each its own hash tag, so its own slot) hold the sale's waiting shoppers. 1 (the default,
-- and every sale before this migration): one hash tag, the keys and scripts as before.
-- Set before shoppers can join; fixed from then on (gateway sales/sale.ts checkChanges).
ALTER TABLE sales
  ADD COLUMN shards integer NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 16);
