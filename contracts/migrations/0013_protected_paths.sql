-- A gate in front of the shop's own pages (issue 15 item 6): the path prefixes of the shop's
-- site (the deployment's PROTECTED_ORIGIN) that the gateway proxies only for visitors holding
-- a live admission of the sale. A JSON array of strings; empty: the sale gates nothing.
ALTER TABLE sales ADD COLUMN protected_paths jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(protected_paths) = 'array');
