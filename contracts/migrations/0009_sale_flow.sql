-- How shoppers reach their turn (issue 16): `queue` (every shopper queues: the behaviour
-- before this migration), `standby` (straight to the turn while under maxActive and the rate;
-- the queue starts by itself beyond either), `passthrough` (straight to the turn, bounded by
-- the stock only) or `suspended` (maintenance: joins and purchases refused, places kept).
-- max_queue: the longest the queue may grow (NULL: no cap); joins beyond it get QUEUE_FULL.
ALTER TABLE sales
  ADD COLUMN flow      text NOT NULL DEFAULT 'queue' CHECK (flow IN ('queue', 'standby', 'passthrough', 'suspended')),
  ADD COLUMN max_queue integer CHECK (max_queue >= 0);
