-- The sample of training rows that binary logistic regression starts its
-- Newton passes from (sample.c, logreg_sample_start): a uniform sample of the
-- rows outside the stratified holdout, independent of scan order.
SET extra_float_digits = 0;
CREATE TABLE samp AS
SELECT i AS id, ARRAY[sin(i) * 2, cos(i * 0.7), (i % 11)::float8 / 11] AS x,
       (sin(i) * 2 + cos(i * 0.7) + 0.8 * sin(i * 13.1) > 0.3)::int::float8 AS y
FROM generate_series(1, 20000) i;
-- the holdout cuts of a 25 % stratified split (one per class)
CREATE TABLE samp_cuts AS
SELECT ARRAY[r[3], r[6]] AS cuts
FROM (SELECT mlsys._strata_agg(y, x, 0, 2, 0.25, 0, NULL, NULL) AS r FROM samp) s;

-- 500 rows, every one a training row, no duplicates
CREATE TABLE samp_500 AS
SELECT s.* FROM (SELECT mlsys._train_sample_agg(y, x, 0, (SELECT cuts FROM samp_cuts), 500) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
SELECT count(*) AS n, count(DISTINCT x) AS distinct_rows,
       count(*) FILTER (WHERE mlsys._in_holdout(y, x, 0, (SELECT cuts FROM samp_cuts))) AS held_out
FROM samp_500;
-- each row is a row of the table, with its label
SELECT count(*) AS matched FROM samp_500 s JOIN samp t ON t.x = s.x AND t.y = s.y;
-- uniform: the share of positives is near the table's (about 4 standard errors)
SELECT abs(avg(s.y) - (SELECT avg(y) FROM samp)) < 4 * sqrt(0.25 / 500) AS share_like_table FROM samp_500 s;

-- the same sample whatever the scan order, and under a parallel scan
CREATE TABLE samp_shuffled AS SELECT * FROM samp ORDER BY md5(id::text);
SELECT array_agg(s.x ORDER BY s.x) = (SELECT array_agg(x ORDER BY x) FROM samp_500) AS same_rows
FROM (SELECT mlsys._train_sample_agg(y, x, 0, (SELECT cuts FROM samp_cuts), 500) AS st FROM samp_shuffled) a,
     mlsys._train_sample_rows(a.st) s;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
ALTER TABLE samp SET (parallel_workers = 2);
EXPLAIN (COSTS OFF)
SELECT mlsys._train_sample_agg(y, x, 0, '{0.25, 0.25}', 500) FROM samp;
SELECT array_agg(s.x ORDER BY s.x) = (SELECT array_agg(x ORDER BY x) FROM samp_500) AS same_rows_parallel
FROM (SELECT mlsys._train_sample_agg(y, x, 0, (SELECT cuts FROM samp_cuts), 500) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
-- the first pass keeps the same sample under a parallel scan (its states combine)
SELECT array_agg(s.x ORDER BY s.x) = (SELECT array_agg(x ORDER BY x) FROM samp_500) AS first_pass_parallel_same_rows
FROM (SELECT mlsys._linreg_strata_agg(y, x, 0, (SELECT cuts FROM samp_cuts), NULL, 500) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- training takes the same sample inside its first pass (mlsys._linreg_strata_agg with a size)
SELECT array_agg(s.x ORDER BY s.x) = (SELECT array_agg(x ORDER BY x) FROM samp_500) AS first_pass_same_rows
FROM (SELECT mlsys._linreg_strata_agg(y, x, 0, (SELECT cuts FROM samp_cuts), NULL, 500) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
-- without a size it carries none
SELECT count(*) AS no_sample
FROM (SELECT mlsys._linreg_strata_agg(y, x, 0, (SELECT cuts FROM samp_cuts), NULL) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;

-- with a threshold on the key (as training sets it: about the size it wants
-- passes), the rows kept are those at or above it: as many as expected, the
-- same whatever the scan order, in parallel and in the first pass
SELECT count(*) BETWEEN 15000 * 0.03 - 4 * sqrt(15000 * 0.03) AND 15000 * 0.03 + 4 * sqrt(15000 * 0.03) AS about_expected
FROM (SELECT mlsys._train_sample_agg(y, x, 0, (SELECT cuts FROM samp_cuts), 600, 0.97) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
CREATE TABLE samp_thr AS
SELECT s.* FROM (SELECT mlsys._train_sample_agg(y, x, 0, (SELECT cuts FROM samp_cuts), 600, 0.97) AS st FROM samp_shuffled) a,
     mlsys._train_sample_rows(a.st) s;
SELECT array_agg(s.x ORDER BY s.x) = (SELECT array_agg(x ORDER BY x) FROM samp_thr) AS threshold_same_rows,
       count(*) FILTER (WHERE mlsys._in_holdout(s.y, s.x, 0, (SELECT cuts FROM samp_cuts))) AS held_out
FROM (SELECT mlsys._train_sample_agg(y, x, 0, (SELECT cuts FROM samp_cuts), 600, 0.97) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
SELECT array_agg(s.x ORDER BY s.x) = (SELECT array_agg(x ORDER BY x) FROM samp_thr) AS first_pass_threshold_same_rows
FROM (SELECT mlsys._linreg_strata_agg(y, x, 0, (SELECT cuts FROM samp_cuts), NULL, 600, 0.97) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
-- more rows above the threshold than room: the largest keys, as without one
SELECT array_agg(s.x ORDER BY s.x) = (SELECT array_agg(x ORDER BY x) FROM samp_500) AS overflow_keeps_largest
FROM (SELECT mlsys._train_sample_agg(y, x, 0, (SELECT cuts FROM samp_cuts), 500, 0.5) AS st FROM samp_shuffled) a,
     mlsys._train_sample_rows(a.st) s;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT array_agg(s.x ORDER BY s.x) = (SELECT array_agg(x ORDER BY x) FROM samp_thr) AS threshold_parallel_same_rows
FROM (SELECT mlsys._linreg_strata_agg(y, x, 0, (SELECT cuts FROM samp_cuts), NULL, 600, 0.97) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
SELECT array_agg(s.x ORDER BY s.x) = (SELECT array_agg(x ORDER BY x) FROM samp_500) AS overflow_parallel_keeps_largest
FROM (SELECT mlsys._train_sample_agg(y, x, 0, (SELECT cuts FROM samp_cuts), 500, 0.5) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- another seed, another sample; a size above the training rows keeps them all
SELECT count(*) FILTER (WHERE s.x IN (SELECT x FROM samp_500)) < 100 AS mostly_other_rows
FROM (SELECT mlsys._train_sample_agg(y, x, 1, (SELECT cuts FROM samp_cuts), 500) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
SELECT count(*) = (SELECT count(*) FROM samp WHERE NOT mlsys._in_holdout(y, x, 0, (SELECT cuts FROM samp_cuts))) AS all_training_rows
FROM (SELECT mlsys._train_sample_agg(y, x, 0, (SELECT cuts FROM samp_cuts), 100000) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
-- no holdout (cuts 0): every row is a training row
SELECT count(*) AS every_row
FROM (SELECT mlsys._train_sample_agg(y, x, 0, '{0, 0}', 100000) AS st FROM samp) a,
     mlsys._train_sample_rows(a.st) s;
-- rows with a NULL or non-finite value are skipped (the first pass reports them)
SELECT count(*) AS finite_rows
FROM (SELECT mlsys._train_sample_agg(y, x, 0, '{0, 0}', 10) AS st
      FROM (VALUES (0::float8, ARRAY[1.0, 2.0]), (1, ARRAY[NULL, 1.0]), (1, ARRAY['NaN', 1.0]),
                   (1, ARRAY[3.0, 'Infinity']), (NULL, ARRAY[1.0, 1.0]), (1, NULL), (1, ARRAY[5.0, 6.0])) v(y, x)) a,
     mlsys._train_sample_rows(a.st) s;

-- training starts from the sample's fit: two Newton passes here, and the
-- optimum is the one of every training row (the gradient of the objective
-- at the stored coefficients is zero)
ALTER TABLE samp ADD COLUMN label bool;
UPDATE samp SET label = y > 0;
SELECT metrics->'iterations' AS iterations, metrics->'converged' AS converged
FROM mlsys.train('samp_lr', 'samp', 'label', ARRAY['x'], test_size => 0, deploy => 'most_recent');
WITH w AS (SELECT array_agg(coefficient ORDER BY ordinal) AS w FROM mlsys.features('samp_lr')),
     sd AS (SELECT array_agg((f->>'std')::float8 ORDER BY ord) AS sd, (v.hyperparams->>'alpha')::float8 AS alpha
            FROM mlsys.model_versions v, jsonb_array_elements(v.profile->'features') WITH ORDINALITY e(f, ord)
            WHERE v.model = 'samp_lr' GROUP BY v.hyperparams),
     r AS (SELECT (mlsys.predict_proba('samp_lr', s.x))[2] - s.y AS e, s.x FROM samp s)
SELECT abs(sum(e)) / count(*) < 1e-8 AS intercept_stationary,
       abs(avg(e * x[1]) / sd[1] + alpha * w[2]) < 1e-8
       AND abs(avg(e * x[2]) / sd[2] + alpha * w[3]) < 1e-8
       AND abs(avg(e * x[3]) / sd[3] + alpha * w[4]) < 1e-8 AS features_stationary
FROM r, w, sd GROUP BY w, sd, alpha;

-- with a sample, the first pass keeps each column's variance alone (no cross
-- moments): the stored standardization still equals the training rows' mean
-- and population standard deviation
SELECT bool_and(abs((f->>'mean')::float8 - t.mean) < 1e-12 AND abs((f->>'std')::float8 - t.sd) < 1e-12) AS profile_exact
FROM mlsys.model_versions v, jsonb_array_elements(v.profile->'features') WITH ORDINALITY e(f, ord),
     LATERAL (SELECT avg(x[ord]) AS mean, stddev_pop(x[ord]) AS sd FROM samp) t
WHERE v.model = 'samp_lr';
-- and the same model under parallel passes (the states of two workers and the leader combine)
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT metrics->'iterations' AS iterations
FROM mlsys.train('samp_lr_par', 'samp', 'label', ARRAY['x'], test_size => 0, deploy => 'never');
SELECT bool_and(abs(a.coefficient - b.coefficient) < 1e-9 * greatest(1, abs(a.coefficient))) AS parallel_same_coefficients
FROM mlsys.features('samp_lr') a JOIN mlsys.features('samp_lr_par', 1) b USING (ordinal);
SELECT bool_and(abs((f->>'mean')::float8 - (g->>'mean')::float8) < 1e-12 AND abs((f->>'std')::float8 - (g->>'std')::float8) < 1e-12) AS parallel_same_profile
FROM mlsys.model_versions v, jsonb_array_elements(v.profile->'features') WITH ORDINALITY e(f, ord),
     mlsys.model_versions w, jsonb_array_elements(w.profile->'features') WITH ORDINALITY e2(g, ord2)
WHERE v.model = 'samp_lr' AND w.model = 'samp_lr_par' AND ord = ord2;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- the evaluation pass of a binary model (mlsys._logreg_holdout_agg: the
-- probability and label of each holdout row) gives what the metric
-- aggregates give over the same rows: {n, tp, fp, fn, log_loss, auc}
SET max_parallel_workers_per_gather = 0;
CREATE TABLE samp_prm AS SELECT ARRAY[0.1, 1.5, -0.7, 0.3, 0, 0, 0.5, 1, 1, 1, 1, 1]::float8[] AS prm;
CREATE TABLE samp_eval AS
SELECT mlsys._binary_holdout_metrics(mlsys._logreg_holdout_agg(y, x, 0, (SELECT cuts FROM samp_cuts), (SELECT prm FROM samp_prm), false), 0.4) AS m
FROM samp;
SELECT m = ARRAY[count(*), count(*) FILTER (WHERE p >= 0.4 AND y = 1), count(*) FILTER (WHERE p >= 0.4 AND y = 0),
                 count(*) FILTER (WHERE p < 0.4 AND y = 1), mlsys.log_loss(p, y = 1), mlsys.auc(p, y = 1)] AS same_metrics,
       m[1] = (SELECT count(*) FROM samp WHERE mlsys._in_holdout(y, x, 0, (SELECT cuts FROM samp_cuts))) AS holdout_rows
FROM (SELECT mlsys._logreg_proba((SELECT prm FROM samp_prm), x) AS p, y FROM samp
      WHERE mlsys._in_holdout(y, x, 0, (SELECT cuts FROM samp_cuts))) h, samp_eval
GROUP BY m;
-- every row, and a parallel scan (the pairs arrive in another order: log loss within rounding)
SELECT (mlsys._binary_holdout_metrics(mlsys._logreg_holdout_agg(y, x, 0, (SELECT cuts FROM samp_cuts), (SELECT prm FROM samp_prm), true), 0.4))[1] AS every_row
FROM samp;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT mlsys._logreg_holdout_agg(y, x, 0, '{0.25, 0.25}', '{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}', false) FROM samp;
SELECT par.m[1:4] = e.m[1:4] AND par.m[6] = e.m[6] AND abs(par.m[5] - e.m[5]) < 1e-12 AS parallel_same_metrics
FROM (SELECT mlsys._binary_holdout_metrics(mlsys._logreg_holdout_agg(y, x, 0, (SELECT cuts FROM samp_cuts), (SELECT prm FROM samp_prm), false), 0.4) AS m
      FROM samp) par, samp_eval e;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- a pass checks constant cuts and parameters once (mlsys_agg_args_stable):
-- the same state as when they come from a subquery or a per-row expression,
-- which every row checks
SET max_parallel_workers_per_gather = 0;
SELECT mlsys._logreg_step_agg(y, x, 0, '{0.3, 0.2}', '{0.1, 1.5, -0.7, 0.3, 0, 0, 0.5, 1, 1, 1, 1, 1}')
         = mlsys._logreg_step_agg(y, x, 0, (SELECT '{0.3, 0.2}'::float8[]), (SELECT prm FROM samp_prm)) AS subquery_same,
       mlsys._logreg_step_agg(y, x, 0, '{0.3, 0.2}', '{0.1, 1.5, -0.7, 0.3, 0, 0, 0.5, 1, 1, 1, 1, 1}')
         = mlsys._logreg_step_agg(y, x, 0, CASE WHEN id > 0 THEN '{0.3, 0.2}'::float8[] END,
                                  CASE WHEN id > 0 THEN '{0.1, 1.5, -0.7, 0.3, 0, 0, 0.5, 1, 1, 1, 1, 1}'::float8[] END) AS per_row_same
FROM samp;
-- parameters that change from row to row are read in every row
SELECT mlsys._logreg_step_agg(y, x, 0, '{0.3, 0.2}', CASE WHEN id = 5000 THEN '{0, 0}'::float8[] ELSE (SELECT prm FROM samp_prm) END) FROM samp;
\echo :LAST_ERROR_SQLSTATE
RESET max_parallel_workers_per_gather;

-- the last Newton step's third-order term (estimated over the sample, no
-- pass) leaves the default tol's coefficients within 1e-7 of a fit to tol
-- 1e-12; the plain step left about 2e-6 here
CREATE TABLE samp_big AS
SELECT i AS id, ARRAY[sin(i) * 2, cos(i * 0.7), (i % 11)::float8 / 11, sin(i * 0.37)] AS x,
       (sin(i) * 2 + cos(i * 0.7) + 0.8 * sin(i * 13.1) + sin(i * 0.37) > 0.3) AS label
FROM generate_series(1, 200000) i;
SELECT metrics->'iterations' AS iterations
FROM mlsys.train('samp_big', 'samp_big', 'label', ARRAY['x'], test_size => 0, deploy => 'never');
SELECT metrics->'iterations' AS iterations
FROM mlsys.train('samp_big_tight', 'samp_big', 'label', ARRAY['x'], test_size => 0,
                 hyperparams => '{"tol": 1e-12}', deploy => 'never');
SELECT max(abs(a.coefficient - b.coefficient)) < 1e-7 AS close_to_tight_fit
FROM mlsys.features('samp_big', 1) a JOIN mlsys.features('samp_big_tight', 1) b USING (ordinal);

-- multinomial models start from their sample's fit too (two passes here,
-- eleven from zero): the coefficients of a fit to tol 1e-12 within 1e-5 of
-- the largest (42.6; this problem is nearly separable)
CREATE TABLE samp_k3 AS
SELECT id, x, CASE WHEN x[1] + x[2] < -0.5 THEN 'a' WHEN x[1] - x[3] < 0.4 THEN 'b' ELSE 'c' END AS k
FROM samp_big;
SELECT metrics->'iterations' AS iterations
FROM mlsys.train('samp_k3', 'samp_k3', 'k', ARRAY['x'], test_size => 0, deploy => 'never');
SELECT metrics->'iterations' AS iterations
FROM mlsys.train('samp_k3_tight', 'samp_k3', 'k', ARRAY['x'], test_size => 0,
                 hyperparams => '{"tol": 1e-12}', deploy => 'never');
SELECT max(abs(a.coefficient - b.coefficient)) < 1e-5 * max(abs(b.coefficient)) AS close_to_tight_fit
FROM mlsys.features('samp_k3', 1) a JOIN mlsys.features('samp_k3_tight', 1) b USING (ordinal, feature);

-- bad input
\set VERBOSITY terse
SELECT mlsys._train_sample_agg(y, x, 0, '{0, 0}', 0) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._train_sample_agg(y, x, 0, '{0, 0}', 100000000) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._train_sample_agg(y, x, NULL, '{0, 0}', 10) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._train_sample_agg(y, x, 0, '{0, 0}', NULL) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._train_sample_agg(y, x, 0, '{0}', 10) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._train_sample_agg(3::float8, x, 0, '{0, 0}', 10) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._train_sample_agg(y, CASE WHEN id = 7 THEN x[1:2] ELSE x END, 0, '{0, 0}', 10) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._train_sample_agg(y, x, 0, '{0, 0}', 10, 1.5) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._train_sample_agg(y, x, 0, '{0, 0}', 10, NULL) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._linreg_strata_agg(y, x, 0, '{0, 0}', NULL, 10, 'NaN') FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._train_sample_accum(NULL, 1, ARRAY[1.0], 0, '{0, 0}', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._linreg_strata_agg(y, x, 0, '{0, 0}', NULL, 0) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._linreg_strata_agg(y, x, 0, '{0, 0}', NULL, NULL) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._logreg_holdout_agg(y, x, 0, '{0, 0}', NULL, false) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._logreg_holdout_agg(y + 1, x, 0, '{0, 0}', (SELECT prm FROM samp_prm), true) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._logreg_holdout_agg(y, x[1:2], 0, '{0, 0}', (SELECT prm FROM samp_prm), true) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._binary_holdout_metrics(mlsys._logreg_holdout_agg(1, x, 0, '{0, 0}', (SELECT prm FROM samp_prm), true), 0.5) FROM samp;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._binary_holdout_metrics('\x00'::bytea, 0.5);
\echo :LAST_ERROR_SQLSTATE
-- forged states: a first-pass state that has seen no rows, one whose flags
-- claim a sample it has no room for, a sample whose heap slot points far
-- outside it (as a transition and as a combine input)
CREATE TABLE samp_st AS
SELECT mlsys._linreg_strata_agg(0::float8, ARRAY[1.0::float8], 1, '{0,0}', NULL, 16) AS with_sample,
       mlsys._linreg_strata_agg(0::float8, ARRAY[1.0::float8], 1, '{0,0}', NULL) AS without_sample,
       mlsys._train_sample_agg(0::float8, ARRAY[1.0::float8], 1, '{0,0}', 1) AS sample;
SELECT count(*) FROM mlsys._train_sample_rows((SELECT overlay(with_sample PLACING '\x0000000000000000'::bytea FROM 53) FROM samp_st));
\echo :LAST_ERROR_SQLSTATE
SELECT set_byte(without_sample, 16, 6) AS forged_flags, set_byte(sample, 47, 127) AS forged_slot FROM samp_st \gset
CREATE AGGREGATE pg_temp.forged_first(float8, float8[], int8, float8[], text[])
    (SFUNC = mlsys._linreg_strata_accum, STYPE = bytea, INITCOND = :'forged_flags');
SELECT pg_temp.forged_first(0::float8, ARRAY[2.0::float8], 1, '{0,0}', NULL) IS NULL;
\echo :LAST_ERROR_SQLSTATE
CREATE AGGREGATE pg_temp.forged_sample(float8, float8[], int8, float8[], int)
    (SFUNC = mlsys._train_sample_accum, STYPE = bytea, INITCOND = :'forged_slot');
SELECT pg_temp.forged_sample(0::float8, ARRAY[i::float8], 1, '{0,0}', 1) IS NULL FROM generate_series(1, 50) i;
\echo :LAST_ERROR_SQLSTATE
CREATE AGGREGATE pg_temp.forged_combine(bytea)
    (SFUNC = mlsys._train_sample_combine, STYPE = bytea, INITCOND = :'forged_slot');
SELECT pg_temp.forged_combine(sample) IS NULL FROM samp_st;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys._train_sample_rows('\x00'::bytea);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys._train_sample_rows(decode(repeat('00', 64), 'hex'));
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- the first pass's sample slots grow with the rows kept: a state of few
-- rows is small whatever the size (it travels between nodes under Citus),
-- and still keeps every training row
SELECT octet_length(st) < 20 * 8 * 4 * 100000 / 100 AS state_grows_with_rows,
       (SELECT count(*) FROM mlsys._train_sample_rows(st)) =
       (SELECT count(*) FROM samp WHERE id <= 300 AND NOT mlsys._in_holdout(y, x, 0, (SELECT cuts FROM samp_cuts))) AS every_training_row
FROM (SELECT mlsys._linreg_strata_agg(y, x, 0, (SELECT cuts FROM samp_cuts), NULL, 100000) AS st
      FROM samp WHERE id <= 300) a;
-- forged first-pass states whose slot count (bytes 88-91 after the header)
-- disagrees with their length, or exceeds the size: rejected as a
-- transition's state and as a combine input
\set VERBOSITY sqlstate
CREATE TABLE samp_grown AS
SELECT mlsys._linreg_strata_agg(y, x, 0, (SELECT cuts FROM samp_cuts), NULL, 500) AS st
FROM samp WHERE id <= 300;
SELECT set_byte(st, 88, 3) AS forged_alloc, set_byte(set_byte(st, 88, 255), 89, 255) AS forged_over FROM samp_grown \gset
CREATE AGGREGATE pg_temp.forged_grow(float8, float8[], int8, float8[], text[], int)
    (SFUNC = mlsys._linreg_strata_sample_accum, STYPE = bytea, INITCOND = :'forged_alloc');
SELECT pg_temp.forged_grow(0::float8, ARRAY[1.0, 2.0, 3.0]::float8[], 0, '{0,0}', NULL, 500) IS NULL;
\echo :LAST_ERROR_SQLSTATE
CREATE AGGREGATE pg_temp.forged_merge(bytea)
    (SFUNC = mlsys._linreg_combine, STYPE = bytea, INITCOND = :'forged_over');
SELECT pg_temp.forged_merge(st) IS NULL FROM samp_grown;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
