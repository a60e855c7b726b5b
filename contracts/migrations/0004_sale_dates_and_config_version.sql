-- A sale's dates in order, as creating a sale has always checked and changing one now checks
-- too (issue 12 item 7). Rows a PATCH put out of order before that are set straight first,
-- keeping the instant each sale ends: an ended sale stays ended (its seed may be public), and
-- a pre-queue opening after the start becomes an opening at the start (no pre-queue).
UPDATE sales SET starts_at = ends_at - interval '1 millisecond' WHERE ends_at IS NOT NULL AND ends_at <= starts_at;
UPDATE sales SET prequeue_opens_at = starts_at WHERE prequeue_opens_at > starts_at;
ALTER TABLE sales ADD CONSTRAINT sales_ends_after_start CHECK (ends_at IS NULL OR ends_at > starts_at);
ALTER TABLE sales ADD CONSTRAINT sales_prequeue_not_after_start CHECK (prequeue_opens_at IS NULL OR prequeue_opens_at <= starts_at);

-- Counts the committed changes of a sale's configuration (issue 12 item 4): the Redis hot copy
-- of a change is written only over an older one, so it follows the order PostgreSQL committed
-- them in, whichever gateway writes last.
ALTER TABLE sales ADD COLUMN config_version bigint NOT NULL DEFAULT 1;
