-- What a sale sells, as the shopper's page shows it (issue 15 item 5): a description, an
-- image, a price and its currency. One jsonb value (NULL: the page shows the sale's name
-- only); the gateway checks its shape (gateway/src/sales/product.ts) and the Redis hot copy
-- carries the same JSON.
ALTER TABLE sales ADD COLUMN product jsonb;
