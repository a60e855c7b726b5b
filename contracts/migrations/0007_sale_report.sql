-- The sale report (issue 16), recorded as the sale runs so that it outlives Redis and every
-- process. Never a row per request or per shopper:
--
-- sale_report_ticks: the funnel counters the Lua scripts count in Redis, moved here by the
-- sale's admission leader about once a second (one row per snapshot; the snapshot id makes a
-- repeated write after a crash a no-op), with the sale's figures at that moment and the
-- time-in-queue histogram of the admissions counted in it ({"<arrival window>:<bucket>": n},
-- buckets of gateway/src/report/log-histogram.ts).
CREATE TABLE sale_report_ticks (
  sale_id         text        NOT NULL REFERENCES sales (id) ON DELETE CASCADE,
  snapshot_id     text        NOT NULL,
  recorded_at     timestamptz NOT NULL,
  joined          integer     NOT NULL DEFAULT 0,
  admitted        integer     NOT NULL DEFAULT 0,
  bought          integer     NOT NULL DEFAULT 0,
  walked_away     integer     NOT NULL DEFAULT 0,
  lapsed          integer     NOT NULL DEFAULT 0,
  told_sold_out   integer     NOT NULL DEFAULT 0,
  refused         integer     NOT NULL DEFAULT 0,
  freed           integer     NOT NULL DEFAULT 0,
  sold_out_at     timestamptz,
  ended_at        timestamptz,
  rate_per_minute integer,
  waiting         integer,
  remaining       integer,
  waits           jsonb       NOT NULL DEFAULT '{}',
  PRIMARY KEY (sale_id, snapshot_id)
);
CREATE INDEX sale_report_ticks_time_idx ON sale_report_ticks (sale_id, recorded_at);

-- sale_report_requests: each gateway's answers per sale, route and second (count, 4xx, 5xx and
-- a latency histogram {"<bucket>": n} in microseconds, same buckets), flushed once a second.
CREATE TABLE sale_report_requests (
  sale_id    text        NOT NULL REFERENCES sales (id) ON DELETE CASCADE,
  gateway    text        NOT NULL,
  second     timestamptz NOT NULL,
  route      text        NOT NULL,
  requests   integer     NOT NULL,
  errors_4xx integer     NOT NULL,
  errors_5xx integer     NOT NULL,
  latency    jsonb       NOT NULL,
  PRIMARY KEY (sale_id, second, route, gateway)
);
