-- Promotion is decided over the whole run (issue 14): a final fit stores its
-- holdout p-value and whether it passed the per-study gates; once the run
-- completes, Benjamini-Hochberg over every tested study of the run sets
-- q_value, promoted and decision. Rows stored before this keep their verdict.
ALTER TABLE models ADD COLUMN gates_passed INTEGER;
ALTER TABLE models ADD COLUMN p_value REAL;
ALTER TABLE models ADD COLUMN q_value REAL;
ALTER TABLE models ADD COLUMN decision TEXT;
UPDATE models SET gates_passed = promoted;
ALTER TABLE runs ADD COLUMN fdr_q REAL;
ALTER TABLE runs ADD COLUMN studies_tested INTEGER;
