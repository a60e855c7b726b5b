-- Finished sales leave Redis (issue 16 item 2): once a sale is over (ended, or sold out for
-- good) and SALE_RETENTION has passed, one gateway archives what Redis alone held (the
-- fairness audit, the final live figures) here, marks the sale retired, and removes its keys.
-- PostgreSQL then answers for it: its status and figures, its audit, byte for byte.

-- NULL: the sale's hot copy may be in Redis (running, or over and not retired yet)
ALTER TABLE sales ADD COLUMN retired_at timestamptz;
-- the retirer's sweep reads the sales not retired yet
CREATE INDEX sales_not_retired_idx ON sales (id) WHERE retired_at IS NULL;

-- One row per retired sale: what its Redis keys said last, and whether they are gone yet
-- (a crash between the COMMIT and the removal leaves keys_removed_at NULL: the next sweep
-- removes them).
CREATE TABLE retired_sales (
  sale_id          text        PRIMARY KEY REFERENCES sales (id) ON DELETE CASCADE,
  retired_at       timestamptz NOT NULL DEFAULT now(),
  keys_removed_at  timestamptz,
  -- the live figures Redis answered last: status, waiting, admitted, remaining, pending,
  -- admittedTotal, effectiveRatePerMinute
  final            jsonb       NOT NULL,
  -- the audit file's ETag, size and line count, as the gateway serves it
  audit_etag       text        NOT NULL,
  audit_bytes      bigint      NOT NULL CHECK (audit_bytes >= 0),
  audit_lines      integer     NOT NULL CHECK (audit_lines >= 0)
);
CREATE INDEX retired_sales_keys_left_idx ON retired_sales (sale_id) WHERE keys_removed_at IS NULL;

-- The fairness audit (NDJSON, one line per place in the queue) in gzip-compressed chunks of
-- whole lines, in the order Redis gave them: concatenated, the chunks are the audit exactly.
CREATE TABLE retired_sale_audit (
  sale_id  text    NOT NULL REFERENCES retired_sales (sale_id) ON DELETE CASCADE,
  chunk    integer NOT NULL CHECK (chunk >= 0),
  lines    integer NOT NULL CHECK (lines >= 0),
  data     bytea   NOT NULL,
  PRIMARY KEY (sale_id, chunk)
);
