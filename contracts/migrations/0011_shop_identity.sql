-- Shoppers from the shop (issue 15 items 1 and 2): `identity` says who may join a sale:
-- `anonymous` (anyone: the behaviour before this migration) or `shop` (a join carries an
-- identity the shop signed; one place and one order limit per account). `invite_only`: only
-- the accounts in sale_invites take a place (the gateway copies them to Redis for join.lua).
ALTER TABLE sales
  ADD COLUMN identity    text    NOT NULL DEFAULT 'anonymous' CHECK (identity IN ('anonymous', 'shop')),
  ADD COLUMN invite_only boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT sales_invite_only_needs_accounts CHECK (NOT invite_only OR identity = 'shop');

CREATE TABLE sale_invites (
  sale_id text NOT NULL REFERENCES sales (id) ON DELETE CASCADE,
  account text NOT NULL CHECK (length(account) BETWEEN 1 AND 255),
  PRIMARY KEY (sale_id, account)
);

-- a shop account's orders across sales (GET /api/me/orders): an account is one visitor id
CREATE INDEX orders_visitor_created_idx ON orders (visitor_id, created_at DESC);
