-- Market cache (var/market.db), owned by the fetcher.
-- bars: one row per (source, symbol, timeframe, bar open time in seconds).
CREATE TABLE bars (
  source    TEXT    NOT NULL,
  symbol    TEXT    NOT NULL,
  timeframe TEXT    NOT NULL,
  ts        INTEGER NOT NULL,
  open      REAL    NOT NULL,
  high      REAL    NOT NULL,
  low       REAL    NOT NULL,
  close     REAL    NOT NULL,
  volume    REAL    NOT NULL,
  PRIMARY KEY (source, symbol, timeframe, ts)
) WITHOUT ROWID;

-- series: what has been fetched. [covered_from, covered_to) is the range the
-- source was asked for and answered completely (bars or a genuine gap), so a
-- later request inside it needs no request at all. synthetic = 1 labels
-- generated data so it is never mistaken for market data.
CREATE TABLE series (
  source       TEXT    NOT NULL,
  symbol       TEXT    NOT NULL,
  timeframe    TEXT    NOT NULL,
  synthetic    INTEGER NOT NULL,
  covered_from INTEGER NOT NULL,
  covered_to   INTEGER NOT NULL,
  fetched_at   INTEGER NOT NULL,
  PRIMARY KEY (source, symbol, timeframe)
) WITHOUT ROWID;

-- fetch_log: every fetch attempt, successful or not, with ingest counters.
CREATE TABLE fetch_log (
  id            INTEGER PRIMARY KEY,
  source        TEXT    NOT NULL,
  symbol        TEXT    NOT NULL,
  timeframe     TEXT    NOT NULL,
  start_ts      INTEGER NOT NULL,
  end_ts        INTEGER NOT NULL,
  fetched_at    INTEGER NOT NULL,
  status        TEXT    NOT NULL,   -- ok, error
  rows_in       INTEGER NOT NULL DEFAULT 0,
  rows_stored   INTEGER NOT NULL DEFAULT 0,
  rows_rejected INTEGER NOT NULL DEFAULT 0,
  rows_repaired INTEGER NOT NULL DEFAULT 0,
  duplicates    INTEGER NOT NULL DEFAULT 0,
  gaps          INTEGER NOT NULL DEFAULT 0,
  message       TEXT    NOT NULL DEFAULT ''
);
