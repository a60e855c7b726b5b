-- Closed-loop admission, per sale: when on, the admission rate follows downstream health
-- (orders queue depth, publish-confirm latency and failures) between a floor and the
-- marketer's rate.
ALTER TABLE sales ADD COLUMN adaptive_rate boolean NOT NULL DEFAULT false;
ALTER TABLE sales ADD COLUMN min_rate_per_minute integer NOT NULL DEFAULT 0 CHECK (min_rate_per_minute >= 0);
