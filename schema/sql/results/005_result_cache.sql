-- The result cache across runs (docs/cache.md). One entry per cache key
-- (schema/result_cache.h: a hash of the dataset fingerprint, feature spec,
-- horizon, model, params, CV plan, promotion gates for final fits, and the
-- binary's build id). The entry points at the trials row (and, for a final
-- fit, the models row) that a worker computed; a hit copies those rows into
-- the new run's job. Written only by the persister, like every table here.
CREATE TABLE result_cache (
  key TEXT PRIMARY KEY,
  kind TEXT NOT NULL,                   -- trial, final
  symbol TEXT NOT NULL,
  timeframe TEXT NOT NULL,
  model TEXT NOT NULL,
  data_fingerprint TEXT NOT NULL,
  source_run TEXT NOT NULL,             -- the trials row this entry stands for
  source_study TEXT NOT NULL,
  source_trial INTEGER NOT NULL,
  artifact_path TEXT,                   -- a final fit's model file (must still exist for a hit)
  created_ns INTEGER NOT NULL,
  expires_ns INTEGER NOT NULL,          -- created_ns + cache.ttl_hours
  last_used_ns INTEGER NOT NULL,        -- created or last hit: the LRU order for max_entries
  hits INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX result_cache_expires ON result_cache (expires_ns);
CREATE INDEX result_cache_last_used ON result_cache (last_used_ns);
CREATE INDEX result_cache_symbol ON result_cache (symbol, timeframe);

-- What the persister removed from the cache while serving a run ('' when it
-- served none): entries past their TTL, and the least recently used beyond
-- cache.max_entries. Hits and misses come from the trials rows (cache_hit).
CREATE TABLE cache_cleanups (
  run TEXT PRIMARY KEY,
  expired INTEGER NOT NULL DEFAULT 0,
  evicted INTEGER NOT NULL DEFAULT 0
);

-- trials.cache_hit said "the worker had the features cached" until now; from
-- here on it says "this row came from the result cache".
UPDATE trials SET cache_hit = 0;
