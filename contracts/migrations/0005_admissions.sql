-- Admissions, recorded by the admission loop as it makes them (one multi-row INSERT per tick
-- and sale): the knowledge that a shopper was already let in must survive a Redis data loss,
-- or a shopper whose turn lapsed comes back from their ticket at their early score and is
-- admitted first again. Read only when Redis has forgotten a visitor (the restore path) and at
-- the end of a recovery.
CREATE TABLE admissions (
  sale_id    text        NOT NULL REFERENCES sales (id) ON DELETE CASCADE,
  seq        bigint      NOT NULL,
  visitor_id text        NOT NULL,
  jti        text        NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (sale_id, seq)
);
CREATE INDEX admissions_sale_visitor_idx ON admissions (sale_id, visitor_id, seq);
