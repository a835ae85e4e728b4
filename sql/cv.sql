-- mlsys.cross_validate: content-based folds, two passes, consistent with the
-- holdout split of mlsys.train
SET extra_float_digits = 0;
SELECT setseed(0.55);
CREATE TABLE cvt AS
SELECT i AS id, a, b, 1 + 2 * a - 3 * b + (random() - 0.5) AS y
FROM (SELECT i, random() * 10 AS a, random() * 5 AS b FROM generate_series(1, 3000) i) s;

SELECT fold, (metrics->>'rmse')::float8 BETWEEN 0.25 AND 0.33 AS rmse_near_noise,
       (metrics->>'r2')::float8 > 0.99 AS r2_high,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metrics) k) AS keys
FROM mlsys.cross_validate('cvt', 'y', ARRAY['a', 'b']);

-- fold 1 of 4 is exactly the holdout of test_size 0.25 with the same seed,
-- so its model and metrics are those of mlsys.train
SELECT version FROM mlsys.train('cvt', 'cvt', 'y', ARRAY['a', 'b'], test_size => 0.25, seed => 3);
SELECT abs((c.metrics->>'rmse')::float8 / (v.metrics->>'rmse')::float8 - 1) < 1e-9
       AND abs((c.metrics->>'mae')::float8 / (v.metrics->>'mae')::float8 - 1) < 1e-9 AS fold1_is_the_holdout
FROM mlsys.cross_validate('cvt', 'y', ARRAY['a', 'b'], folds => 4, seed => 3) c, mlsys.model_versions v
WHERE c.fold = 1 AND v.model = 'cvt';
SELECT count(*) FILTER (WHERE mlsys._fold(y, ARRAY[a, b], 3, 4) = 1) = (SELECT test_rows FROM mlsys.model_versions WHERE model = 'cvt')
       AS same_rows
FROM cvt;

-- folds partition the rows, whatever the physical order
SELECT count(DISTINCT mlsys._fold(y, ARRAY[a, b], 0, 5)) AS folds_seen, count(*) AS rows FROM cvt;
CREATE TABLE cvt_shuffled AS SELECT * FROM cvt ORDER BY md5(id::text);
SELECT bool_and(abs((a.metrics->>'rmse')::float8 / (b.metrics->>'rmse')::float8 - 1) < 1e-9) AS order_invariant
FROM mlsys.cross_validate('cvt', 'y', ARRAY['a', 'b']) a
JOIN mlsys.cross_validate('cvt_shuffled', 'y', ARRAY['a', 'b']) b USING (fold);

-- ridge and another seed
SELECT count(*) AS folds, bool_and((metrics->>'r2')::float8 > 0.9) AS fitted
FROM mlsys.cross_validate('cvt', 'y', ARRAY['a', 'b'], 'ridge', '{"alpha": 50}', folds => 3, seed => 9);

-- the same with parallel workers
CREATE TABLE cv_serial AS SELECT * FROM mlsys.cross_validate('cvt', 'y', ARRAY['a', 'b']);
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT bool_and(abs((p.metrics->>'rmse')::float8 / (s.metrics->>'rmse')::float8 - 1) < 1e-9) AS parallel_equals_serial
FROM mlsys.cross_validate('cvt', 'y', ARRAY['a', 'b']) p JOIN cv_serial s USING (fold);
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- classifiers' folds start from the fit of the other folds' samples (4,096 rows of each
-- fold here, of 8,000, binary and three classes): their metrics are those of the
-- optimum, as a fit at tol 1e-12 from the same start gives them
CREATE TABLE cv_big AS
SELECT i, ARRAY[sin(i * 0.37) * 2, cos(i * 0.11) * 3, ((i * 7919) % 1000) / 250.0] AS x,
       sin(i * 0.37) * 2 - cos(i * 0.11) + ((i * 7919) % 1000) / 250.0 + sin(i * 1.7) * 1.5 > 1 AS label,
       CASE WHEN sin(i * 0.37) * 2 + sin(i * 1.7) < -0.8 THEN 'low'
            WHEN sin(i * 0.37) * 2 + sin(i * 1.7) < 0.9 THEN 'mid' ELSE 'high' END AS grade
FROM generate_series(1, 40000) i;
SELECT a.fold,
       abs((a.metrics->>'log_loss')::float8 - (b.metrics->>'log_loss')::float8) < 1e-7 AS binary_optimum,
       abs((c.metrics->>'log_loss')::float8 - (d.metrics->>'log_loss')::float8) < 1e-7 AS multinomial_optimum
FROM mlsys.cross_validate('cv_big', 'label', ARRAY['x']) a
JOIN mlsys.cross_validate('cv_big', 'label', ARRAY['x'], hyperparams => '{"tol": 1e-12}') b USING (fold)
JOIN mlsys.cross_validate('cv_big', 'grade', ARRAY['x']) c USING (fold)
JOIN mlsys.cross_validate('cv_big', 'grade', ARRAY['x'], hyperparams => '{"tol": 1e-12}') d USING (fold)
ORDER BY 1;

-- a binary model's folds make their Newton passes together, one scan for all of them
-- (mlsys._logreg_folds_step_agg): in a serial scan each active fold's part of the joint
-- state is, byte for byte, the state of that fold's own pass
SET max_parallel_workers_per_gather = 0;
CREATE TABLE joint_args AS
SELECT ARRAY[0.2, 0.45, 0.7, 0.25, 0.5, 0.75]::float8[] AS cuts,
       array_agg(v ORDER BY k, j) AS params
FROM generate_series(0, 3) k, generate_series(0, 11) j,
     LATERAL (SELECT (ARRAY[0.1 * k, 0.5, -0.3, 0.2, 0, 0, 1, 1, 2, 1, 1, 1.5])[j + 1] AS v) t;
WITH joint AS (
    SELECT mlsys._logreg_folds_step_agg(label::int::float8, x, 7, a.cuts, a.params, ARRAY[true, true, false, true]) AS st
    FROM cv_big, joint_args a),
single AS (
    SELECT k, mlsys._logreg_fold_step_agg(label::int::float8, x, 7, a.cuts, k + 1, a.params[k * 12 + 1:k * 12 + 12]) AS st
    FROM cv_big, joint_args a, generate_series(0, 3) k GROUP BY k)
-- (a fold's state starts after the joint header and the earlier folds' states, each with its
-- 4-byte length word, which a bytea's bytes do not include)
SELECT s.k AS fold_index, substring(j.st FROM 25 + s.k * (length(s.st) + 4) FOR length(s.st)) = s.st AS same_state
FROM joint j, single s WHERE s.k <> 2 ORDER BY 1;
RESET max_parallel_workers_per_gather;
-- with two workers (their joint states combine) the folds' metrics are the same
CREATE TABLE cv_big_serial AS SELECT * FROM mlsys.cross_validate('cv_big', 'label', ARRAY['x']);
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT count(*) AS folds,
       bool_and(abs((p.metrics->>'log_loss')::float8 - (s.metrics->>'log_loss')::float8) < 1e-9) AS parallel_equals_serial
FROM mlsys.cross_validate('cv_big', 'label', ARRAY['x']) p JOIN cv_big_serial s USING (fold);
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
-- more folds than a joint pass takes: one fold at a time, as before
SELECT count(*) AS folds, bool_and((metrics->>'auc')::float8 > 0.9) AS fitted
FROM mlsys.cross_validate('cv_big', 'label', ARRAY['x'], folds => 21);
-- bad input to the joint pass: null or too few active folds, cuts of another fold count,
-- a forged state
\set VERBOSITY terse
SELECT mlsys._logreg_folds_step_agg(1, ARRAY[1, 2, 3]::float8[], 7, cuts, params, NULL) FROM joint_args;
SELECT mlsys._logreg_folds_step_agg(1, ARRAY[1, 2, 3]::float8[], 7, cuts, params, ARRAY[true]) FROM joint_args;
SELECT mlsys._logreg_folds_step_agg(1, ARRAY[1, 2, 3]::float8[], 7, cuts[1:4], params, ARRAY[true, true, true, true]) FROM joint_args;
CREATE AGGREGATE forged_joint(float8, float8[], int8, float8[], float8[], bool[]) (
    SFUNC = mlsys._logreg_folds_step_accum, STYPE = bytea, INITCOND = '\x0102030405060708');
SELECT forged_joint(1, ARRAY[1, 2, 3]::float8[], 7, cuts, params, ARRAY[true, true, true, true]) FROM joint_args;
\set VERBOSITY default

-- cross-validation plans its fold groupings with enable_sort off, for those queries only:
-- the setting is the caller's again afterwards
SELECT count(*) AS folds FROM mlsys.cross_validate('cv_big', 'label', ARRAY['x'], folds => 3);
SHOW enable_sort;
SET enable_sort = off;
SELECT count(*) AS folds FROM mlsys.cross_validate('cv_big', 'label', ARRAY['x'], folds => 3);
SHOW enable_sort;
RESET enable_sort;

-- nothing is registered (the one version is the mlsys.train call above)
SELECT count(*) AS versions FROM mlsys.model_versions WHERE relation IN ('public.cvt', 'public.cvt_shuffled');

-- bad input
\set VERBOSITY sqlstate
-- invalid input: one fold
SELECT * FROM mlsys.cross_validate('cvt', 'y', ARRAY['a'], folds => 1);
-- invalid input: null folds
SELECT * FROM mlsys.cross_validate('cvt', 'y', ARRAY['a'], folds => NULL);
-- invalid input: more folds than rows
CREATE TABLE cv_tiny AS SELECT * FROM cvt WHERE id <= 3;
SELECT * FROM mlsys.cross_validate('cv_tiny', 'y', ARRAY['a'], folds => 4);
-- invalid input: an empty fold
SELECT * FROM mlsys.cross_validate('cv_tiny', 'y', ARRAY['a'], folds => 3);
-- invalid input: unknown algorithm
SELECT * FROM mlsys.cross_validate('cvt', 'y', ARRAY['a'], 'forest');
-- invalid input: unknown hyperparameter
SELECT * FROM mlsys.cross_validate('cvt', 'y', ARRAY['a'], 'ridge', '{"lambda": 1}');
-- invalid input: target column missing
SELECT * FROM mlsys.cross_validate('cvt', 'nope');
\set VERBOSITY default
SELECT * FROM mlsys.cross_validate('cv_tiny', 'y', ARRAY['a'], folds => 4);
SELECT * FROM mlsys.cross_validate('cv_tiny', 'y', ARRAY['a'], folds => 3);
