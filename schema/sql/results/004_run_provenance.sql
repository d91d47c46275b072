-- What a run was made from (issue 17), so `nightshift rerun` can make it
-- again and say whether the results must be bit-identical: the effective
-- configuration (canonical YAML, config::to_yaml, every key set), the code
-- (git commit and dirty flag at build time, the binary's build-id, the
-- compiler) and the logistic kernels' clone the head's CPU picks. Written by
-- the persister when it starts for a run; the first record of a run stays.
CREATE TABLE run_provenance (
  run TEXT PRIMARY KEY,
  config_yaml TEXT NOT NULL,
  code_commit TEXT NOT NULL,
  code_dirty INTEGER NOT NULL,
  build_id TEXT NOT NULL,
  compiler TEXT NOT NULL,
  kernel_isa TEXT NOT NULL,
  rerun_of TEXT,                        -- the run this one re-ran, if any
  recorded_ns INTEGER NOT NULL
);

-- The exact bars each result was computed on: the first and last bar's open
-- time (seconds, UTC) of the dataset whose fingerprint the row already
-- keeps. NULL for rows stored before this (or sent by an older worker).
ALTER TABLE trials ADD COLUMN data_first_ts INTEGER;
ALTER TABLE trials ADD COLUMN data_last_ts INTEGER;
