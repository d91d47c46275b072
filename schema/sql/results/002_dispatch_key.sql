-- The run's dispatch key (schema/dispatch_token.h): recorded by the first
-- checkpoint of a run, never replaced; results must carry a token derived
-- from it. NULL for runs stored before it existed (their next checkpoint
-- records one).
ALTER TABLE runs ADD COLUMN dispatch_key TEXT;
