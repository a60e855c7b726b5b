-- The shop's accounts behind visitor ids (issue 15): an account's visitor id is derived from
-- the account (gateway tokens/account.ts), one way; this table is the way back, so an order of
-- a signed-in shopper can name the shop's own account to the shop (the order token's `acct`).
-- Written once per account and visitor id when a gateway verifies an identity; a visitor id is
-- an HMAC of (issuer, subject), so a row never changes.
CREATE TABLE shop_accounts (
  visitor_id text        PRIMARY KEY,
  issuer     text        NOT NULL CHECK (length(issuer) BETWEEN 1 AND 2048),
  subject    text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  first_seen timestamptz NOT NULL DEFAULT now()
);
