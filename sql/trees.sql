-- Boosted trees: exact splits on tiny data, missing values, the task
-- override, parallel passes giving the serial model, and the lifecycle paths
-- (cross-validation, tuning, retraining, batch scoring, reproduction).
SET extra_float_digits = 0;

-- one split, one tree, no shrinkage or penalty: the leaves are the two means
CREATE TABLE gbt_tiny AS SELECT x::float8 AS x, CASE WHEN x <= 5 THEN 0 ELSE 10 END::float8 AS y
FROM generate_series(1, 10) x;
SELECT algorithm, metrics->>'rmse' AS rmse, metrics->>'trees' AS trees
  FROM mlsys.train('t1', 'gbt_tiny', 'y', ARRAY['x'], 'boosted_trees',
                   '{"n_trees": 1, "max_depth": 1, "learning_rate": 1, "l2": 0}', 0, 1, 'most_recent');
-- the threshold is 6 (x < 6 goes left): 5 → 0, 5.5 → 0, 6 → 10
SELECT x, mlsys.predict('t1', ARRAY[x]) FROM (VALUES (1.0::float8), (5), (5.5), (5.999), (6), (100)) v(x);
-- depth 2 with l2 1: leaf = -G / (H + 1) from the mean 5 (G = ±5 n, H = n)
SELECT round(mlsys.predict('t2', ARRAY[1.0]::float8[])::numeric, 6) AS left_leaf,
       round(mlsys.predict('t2', ARRAY[9.0]::float8[])::numeric, 6) AS right_leaf
  FROM mlsys.train('t2', 'gbt_tiny', 'y', ARRAY['x'], 'boosted_trees',
                   '{"n_trees": 1, "max_depth": 1, "learning_rate": 1, "l2": 1}', 0, 1, 'most_recent');
SELECT round((5 - 5 * 5 / 6.0)::numeric, 6) AS expected_left, round((5 + 5 * 5 / 6.0)::numeric, 6) AS expected_right;

-- missing values are learned: NULL rows have their own target and go their own way
CREATE TABLE gbt_miss AS
SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 10)::float8 END AS x,
       (i % 3)::float8 AS z,
       CASE WHEN i % 4 = 0 THEN 100 WHEN i % 10 < 5 THEN 0 ELSE 10 END::float8 AS y
FROM generate_series(1, 400) i;
SELECT metrics->>'rmse' AS rmse FROM mlsys.train('m1', 'gbt_miss', 'y', ARRAY['x', 'z'], 'boosted_trees',
       '{"n_trees": 50, "max_depth": 3, "learning_rate": 0.5}', 0, 1, 'most_recent');
SELECT preprocessing->>'impute' AS impute FROM mlsys.model_versions WHERE model = 'm1';
SELECT round(mlsys.predict('m1', m.*)::numeric, 3) AS null_row FROM (SELECT NULL::float8 AS x, 1::float8 AS z) m;
SELECT round(mlsys.predict('m1', '{"x": null, "z": 1}'::jsonb)::numeric, 3) AS jsonb_null,
       round(mlsys.predict('m1', ARRAY['NaN', 1]::float8[])::numeric, 3) AS array_nan,
       round(mlsys.predict('m1', ARRAY[NULL, 1]::float8[])::numeric, 3) AS array_null,
       round(mlsys.predict('m1', ARRAY[2, 1]::float8[])::numeric, 3) AS low,
       round(mlsys.predict('m1', ARRAY[7, 1]::float8[])::numeric, 3) AS high;
-- infinity is not a missing value
SELECT mlsys.predict('m1', ARRAY['Infinity', 1]::float8[]);

-- classifiers: binary and multiclass, with an interaction a linear model cannot learn
CREATE TABLE gbt_xor AS
SELECT i, a, b, (a > 0.5) <> (b > 0.5) AS label,
       CASE WHEN a > 0.5 AND b > 0.5 THEN 'both' WHEN a > 0.5 THEN 'a' WHEN b > 0.5 THEN 'b' ELSE 'none' END AS kind
FROM (SELECT i, ((i * 7919) % 1000) / 1000.0 AS a, ((i * 104729) % 997) / 997.0 AS b
      FROM generate_series(1, 2000) i) s;
SELECT t.algorithm, (t.metrics->>'auc')::float8 > 0.99 AS trees_learn_it,
       (l.metrics->>'auc')::float8 < 0.7 AS logistic_does_not
  FROM mlsys.train('x1', 'gbt_xor', 'label', ARRAY['a', 'b'], 'boosted_trees', '{}', 0.25, 7, 'most_recent') t,
       mlsys.train('x2', 'gbt_xor', 'label', ARRAY['a', 'b'], 'logistic', '{}', 0.25, 7, 'most_recent') l;
-- the same stratified holdout as every classifier
SELECT a.test_rows = b.test_rows AS same_holdout, a.metrics->'split'->'cuts' = b.metrics->'split'->'cuts' AS same_cuts
  FROM mlsys.model_versions a, mlsys.model_versions b WHERE a.model = 'x1' AND b.model = 'x2';
SELECT mlsys.predict_label('x1', s.*) AS labelled FROM (SELECT 0.9 AS a, 0.1 AS b) s;
SELECT algorithm FROM mlsys.train('x3', 'gbt_xor', 'kind', ARRAY['a', 'b'], 'boosted_trees', '{"n_trees": 30}', 0.25, 7, 'most_recent');
SELECT m.task, v.classes FROM mlsys.models m JOIN mlsys.model_versions v USING (model) WHERE model = 'x3';
SELECT (metrics->>'accuracy')::float8 > 0.97 AS accurate FROM mlsys.model_versions WHERE model = 'x3';
SELECT mlsys.predict_label('x3', '{"a": 0.9, "b": 0.9}'::jsonb) AS both_,
       mlsys.predict_label('x3', '{"a": 0.1, "b": 0.9}'::jsonb) AS b_,
       round(pg_catalog.array_length(mlsys.predict_proba('x3', ARRAY[0.9, 0.1]::float8[]), 1)) AS classes,
       round((SELECT sum(p) FROM unnest(mlsys.predict_proba('x3', ARRAY[0.9, 0.1]::float8[])) p)::numeric, 12) AS sums_to_one;
-- the stored holdout metric is the metric of the holdout rows scored through SQL
DO $$
DECLARE v_auc float8; v_n bigint;
BEGIN
    EXECUTE format('SELECT mlsys.auc((mlsys.predict_proba(''x1'', r.*))[2], r.label), count(*) FROM gbt_xor r WHERE %s',
                   mlsys._holdout_predicate('x1', 1, 'r')) INTO v_auc, v_n;
    RAISE NOTICE 'holdout rows agree: %, auc agrees: %',
        v_n = (SELECT test_rows FROM mlsys.model_versions WHERE model = 'x1'),
        abs(v_auc - (SELECT (metrics->>'auc')::float8 FROM mlsys.model_versions WHERE model = 'x1')) < 1e-12;
END $$;

-- the task override: an integer count with few values is a regression when told so
CREATE TABLE gbt_counts AS SELECT i, (i % 5)::int AS n, (i % 5) * 2.0 + (i % 7) / 10.0 AS f FROM generate_series(1, 300) i;
SELECT algorithm FROM mlsys.train('c1', 'gbt_counts', 'n', ARRAY['f'], 'boosted_trees', '{}', 0.2, 1, 'never');
SELECT task FROM mlsys.models WHERE model = 'c1';
SELECT algorithm FROM mlsys.train('c2', 'gbt_counts', 'n', ARRAY['f'], 'boosted_trees', '{"task": "regression"}', 0.2, 1, 'never');
SELECT m.task, v.hyperparams->>'task' AS given FROM mlsys.models m JOIN mlsys.model_versions v USING (model) WHERE model = 'c2';
SELECT algorithm FROM mlsys.train('c3', 'gbt_counts', 'n', ARRAY['f'], NULL, '{"task": "regression"}', 0.2, 1, 'never');
SELECT algorithm FROM mlsys.train('c4', 'gbt_counts', 'f', ARRAY['n'], NULL, '{"task": "binary"}', 0.2, 1, 'never');
SELECT algorithm FROM mlsys.train('c5', 'gbt_counts', 'n', ARRAY['f'], 'logistic', '{"task": "binary"}', 0.2, 1, 'never');
SELECT algorithm FROM mlsys.train('c6', 'gbt_counts', 'n', ARRAY['f'], 'logistic', '{"task": "regression"}', 0.2, 1, 'never');

-- parallel passes and parallel histograms (40000 rows: several blocks) give the
-- serial model, bit for bit
CREATE TABLE gbt_par AS SELECT i, ((i * 37) % 101) / 101.0 AS a, ((i * 53) % 103) / 103.0 AS b,
       sin(i) AS c, ((i * 37) % 101) / 101.0 * 3 + sin(i) AS y FROM generate_series(1, 40000) i;
ANALYZE gbt_par;
SET max_parallel_workers_per_gather = 0;
SELECT version FROM mlsys.train('p1', 'gbt_par', 'y', NULL, 'boosted_trees', '{"n_trees": 20, "subsample": 0.8, "colsample": 0.7}', 0.2, 3, 'never');
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT version FROM mlsys.train('p1', 'gbt_par', 'y', NULL, 'boosted_trees', '{"n_trees": 20, "subsample": 0.8, "colsample": 0.7}', 0.2, 3, 'never');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT a.params = b.params AS identical, a.data_fingerprint = b.data_fingerprint AS same_data
  FROM mlsys.model_versions a, mlsys.model_versions b WHERE a.model = 'p1' AND b.model = 'p1' AND a.version = 1 AND b.version = 2;
SELECT * FROM mlsys.reproduce('p1', 1);

-- early stopping keeps the best round, on rows carved from the training split
SELECT algorithm FROM mlsys.train('p2', 'gbt_par', 'y', NULL, 'boosted_trees',
                   '{"n_trees": 500, "learning_rate": 0.5, "early_stopping_rounds": 3}', 0.2, 3, 'never');
SELECT (v.metrics->>'trees')::int < 500 AS stopped, v.metrics->>'trees' = v.metrics->>'best_round' AS kept_best,
       v.test_rows = (SELECT test_rows FROM mlsys.model_versions WHERE model = 'p1' AND version = 1) AS same_holdout
  FROM mlsys.model_versions v WHERE v.model = 'p2';

-- 0 (or null) turns early stopping off
SELECT metrics->>'trees' AS trees FROM mlsys.train('p2', 'gbt_par', 'y', NULL, 'boosted_trees',
       '{"n_trees": 3, "early_stopping_rounds": 0}', 0.2, 3, 'never');

-- cross-validation, tuning, batch scoring, retraining
SELECT fold, (metrics->>'r2')::float8 > 0.9 AS good FROM mlsys.cross_validate('gbt_par', 'y', NULL, 'boosted_trees', '{"n_trees": 20}', 3, 1);
SELECT count(*) AS trials FROM mlsys.tune('p3', 'gbt_par', 'y', '{"max_depth": [2, 4], "n_trees": [10]}', NULL, 'boosted_trees', 3, 1, 'never');
SELECT mlsys.predict_batch('x1', 'gbt_xor', 'i') AS scored;
SELECT count(*) FROM mlsys.predictions WHERE model = 'x1';
SELECT decision IS NOT NULL AS decided FROM mlsys.retrain('x1');

-- cancellation stops a training, serial or with workers, and leaves nothing behind
SET statement_timeout = '400ms';
DO $$
BEGIN
    PERFORM mlsys.train('cx', 'gbt_par', 'y', NULL, 'boosted_trees', '{"n_trees": 5000}', 0.2, 3, 'never');
EXCEPTION WHEN query_canceled THEN
    RAISE NOTICE 'serial training canceled';
END $$;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET min_parallel_table_scan_size = 0;
DO $$
BEGIN
    PERFORM mlsys.train('cx', 'gbt_par', 'y', NULL, 'boosted_trees', '{"n_trees": 5000}', 0.2, 3, 'never');
EXCEPTION WHEN query_canceled THEN
    RAISE NOTICE 'parallel training canceled';
END $$;
RESET statement_timeout;
-- the next parallel training runs as usual
SELECT version FROM mlsys.train('cx', 'gbt_par', 'y', NULL, 'boosted_trees', '{"n_trees": 2}', 0.2, 3, 'never');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET min_parallel_table_scan_size;
SELECT count(*) AS versions FROM mlsys.model_versions WHERE model = 'cx';

-- bad hyperparameters
SELECT * FROM mlsys.train('bad', 'gbt_tiny', 'y', NULL, 'boosted_trees', '{"n_trees": 0}', 0, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_tiny', 'y', NULL, 'boosted_trees', '{"max_depth": 2.5}', 0, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_tiny', 'y', NULL, 'boosted_trees', '{"max_bins": 256}', 0, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_tiny', 'y', NULL, 'boosted_trees', '{"learning_rate": 0}', 0, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_tiny', 'y', NULL, 'boosted_trees', '{"subsample": 1.5}', 0, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_tiny', 'y', NULL, 'boosted_trees', '{"validation_fraction": 1}', 0, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_tiny', 'y', NULL, 'boosted_trees', '{"l2": -1}', 0, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_tiny', 'y', NULL, 'boosted_trees', '{"impute": "zero"}', 0, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_tiny', 'y', NULL, 'boosted_trees', '{"nope": 1}', 0, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_tiny', 'y', NULL, 'boosted_trees', '{"task": "ranking"}', 0, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_xor', 'kind', ARRAY['a'], 'boosted_trees', '{"task": "binary"}', 0.2, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_xor', 'label', ARRAY['a'], 'boosted_trees', '{"task": "multiclass"}', 0.2, 1, 'never');
SELECT * FROM mlsys.train('bad', 'gbt_xor', 'kind', ARRAY['a'], 'boosted_trees', '{"task": "regression"}', 0.2, 1, 'never');
-- too little memory for the binned rows
SET maintenance_work_mem = '1MB';
SELECT * FROM mlsys.train('bad', 'gbt_par', 'y', NULL, 'boosted_trees', '{}', 0.2, 1, 'never');
RESET maintenance_work_mem;
SELECT count(*) AS nothing_left FROM mlsys.model_versions WHERE model = 'bad';
