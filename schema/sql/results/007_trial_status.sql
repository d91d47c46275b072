-- A trial row's outcome (issue 16): 'ok', or 'pruned' when the median
-- pruner stopped it after some folds (its folds column keeps those folds and
-- its metrics are over them). Failures stay in the failures table.
ALTER TABLE trials ADD COLUMN status TEXT NOT NULL DEFAULT 'ok';
