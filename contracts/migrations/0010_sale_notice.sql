-- The notice a marketer shows every page of a sale (issue 16 item 8): at most one per sale,
-- removed when cleared. The Redis hot copy (`<prefix>:{sale:<id>}:notice`) is rebuilt from
-- here when Redis restarts empty.
CREATE TABLE sale_notices (
  sale_id text PRIMARY KEY REFERENCES sales (id) ON DELETE CASCADE,
  message text NOT NULL CHECK (char_length(message) BETWEEN 1 AND 500),
  level text NOT NULL CHECK (level IN ('info', 'warning')),
  set_at timestamptz NOT NULL DEFAULT now()
);
