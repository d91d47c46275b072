-- The results database (var/nightshift.db), written only by the persister.

-- One row per night run; status follows the scheduler's checkpoints.
CREATE TABLE runs (
  run TEXT PRIMARY KEY,
  status TEXT NOT NULL,                 -- running, interrupted, completed
  config_path TEXT NOT NULL DEFAULT '',
  started_ns INTEGER NOT NULL,
  updated_ns INTEGER NOT NULL,
  finished_ns INTEGER,
  total_jobs INTEGER NOT NULL DEFAULT 0,
  done_jobs INTEGER NOT NULL DEFAULT 0,
  skipped_jobs INTEGER NOT NULL DEFAULT 0
);

-- symbol x timeframe x horizon x model; each runs trials, then a final fit.
CREATE TABLE studies (
  run TEXT NOT NULL,
  study TEXT NOT NULL,
  symbol TEXT NOT NULL,
  timeframe TEXT NOT NULL,
  horizon INTEGER NOT NULL,
  model TEXT NOT NULL,
  PRIMARY KEY (run, study)
);

-- The scheduler's view of every job (from its checkpoints): the plan and
-- each job's state, attempts and skip reason. `spec` is the msgpack Job.
CREATE TABLE jobs (
  run TEXT NOT NULL,
  study TEXT NOT NULL,
  trial INTEGER NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,                  -- blocked, pending, running, done, skipped
  attempts INTEGER NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  priority INTEGER NOT NULL,
  spec BLOB NOT NULL,
  updated_ns INTEGER NOT NULL,
  PRIMARY KEY (run, study, trial)
);

-- Exactly one row per job: the first successful result. Later deliveries of
-- the same job hit the primary key and are ignored (ON CONFLICT DO NOTHING).
CREATE TABLE trials (
  run TEXT NOT NULL,
  study TEXT NOT NULL,
  trial INTEGER NOT NULL,
  kind TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  worker TEXT NOT NULL,
  params TEXT NOT NULL,                 -- JSON object
  metrics TEXT NOT NULL,                -- JSON object: out-of-fold / holdout metrics
  folds TEXT NOT NULL,                  -- JSON array of per-fold metrics
  wall_s REAL NOT NULL,
  cpu_s REAL NOT NULL,
  peak_rss_bytes INTEGER NOT NULL,
  cache_hit INTEGER NOT NULL,
  data_fingerprint TEXT NOT NULL,
  persisted_ns INTEGER NOT NULL,
  PRIMARY KEY (run, study, trial)
);

-- Failed attempts, one row per (job, attempt): why it failed and where.
CREATE TABLE failures (
  run TEXT NOT NULL,
  study TEXT NOT NULL,
  trial INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  reason TEXT NOT NULL,
  worker TEXT NOT NULL,
  persisted_ns INTEGER NOT NULL,
  PRIMARY KEY (run, study, trial, attempt)
);

-- Final fits: the artifact, the gates on the holdout and the verdict.
CREATE TABLE models (
  run TEXT NOT NULL,
  study TEXT NOT NULL,
  artifact_path TEXT,
  promoted INTEGER NOT NULL,
  gates TEXT NOT NULL,                  -- JSON object gate -> "pass" / "fail: ..."
  metrics TEXT NOT NULL,                -- JSON object: holdout metrics
  params TEXT NOT NULL,
  persisted_ns INTEGER NOT NULL,
  PRIMARY KEY (run, study)
);

-- Every event the persister heard, raw msgpack body, for replay.
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  ts_ns INTEGER NOT NULL,
  topic TEXT NOT NULL,
  type TEXT NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX events_ts ON events (ts_ns);

CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  ts_ns INTEGER NOT NULL,
  topic TEXT NOT NULL,
  body TEXT NOT NULL                    -- JSON of the alert payload
);

CREATE TABLE telemetry_host (
  ts_ns INTEGER NOT NULL,
  host TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX telemetry_host_ts ON telemetry_host (ts_ns);

CREATE TABLE telemetry_gpu (
  ts_ns INTEGER NOT NULL,
  topic TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX telemetry_gpu_ts ON telemetry_gpu (ts_ns);
