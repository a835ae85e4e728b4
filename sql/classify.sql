-- binary logistic regression: optimality, labels, scoring paths, policies
SET extra_float_digits = 0;
SELECT setseed(0.3);
CREATE TABLE cust AS
SELECT i AS id, a, b, c, random() < 1 / (1 + exp(-(0.5 + 1.5 * a - 2 * b + 0.8 * c::int))) AS churned
FROM (SELECT i, random() * 2 - 1 AS a, random() * 2 - 1 AS b, (random() < 0.5)::int AS c
      FROM generate_series(1, 4000) i) s;

-- a boolean target picks logistic; metrics, iterations and convergence are recorded
SELECT model, version, algorithm, deployed,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metrics) k) AS metric_keys,
       (metrics->>'auc')::float8 BETWEEN 0.7 AND 0.95 AS auc_plausible,
       (metrics->>'converged')::bool AS converged, (metrics->>'iterations')::int < 15 AS few_passes
FROM mlsys.train('churn', 'cust', 'churned', ARRAY['a', 'b', 'c']);
SELECT mlsys.classes('churn');
SELECT hyperparams - 'alpha' AS hyperparams, abs((hyperparams->>'alpha')::float8 * train_rows - 1) < 1e-12 AS default_alpha_is_1_over_n,
       classes, target_type
FROM mlsys.model_versions WHERE model = 'churn';

-- the optimum: trained on every row, the gradient of mean log-loss + alpha/2 |w|^2 vanishes.
-- In the standardized space z_j = (x_j - mean_j) / std_j:
--   intercept: sum(p - y) = 0;  feature j: avg((p - y) * x_j) / std_j + alpha * w_j = 0
SELECT version FROM mlsys.train('churn_all', 'cust', 'churned', ARRAY['a', 'b', 'c'],
                                hyperparams => '{"alpha": 0.01, "tol": 1e-10}', test_size => 0);
WITH w AS (SELECT array_agg(coefficient ORDER BY ordinal) AS w FROM mlsys.features('churn_all')),
     sd AS (SELECT array_agg((f->>'std')::float8 ORDER BY ord) AS sd
            FROM mlsys.model_versions v, jsonb_array_elements(v.profile->'features') WITH ORDINALITY e(f, ord)
            WHERE v.model = 'churn_all'),
     r AS (SELECT (mlsys.predict_proba('churn_all', s))[2] - churned::int AS e, a, b, c::int AS c
           FROM cust s)
SELECT abs(sum(e)) / count(*) < 1e-9 AS intercept_stationary,
       abs(avg(e * a) / sd[1] + 0.01 * w[2]) < 1e-9
       AND abs(avg(e * b) / sd[2] + 0.01 * w[3]) < 1e-9
       AND abs(avg(e * c) / sd[3] + 0.01 * w[4]) < 1e-9 AS features_stationary
FROM r, w, sd GROUP BY w, sd;

-- scoring: a row, a jsonb object, a vector; label, probabilities, 0/1 for booleans
SELECT id, churned, mlsys.predict_label('churn', s) AS label,
       round(((mlsys.predict_proba('churn', s))[2])::numeric, 4) AS p_true,
       mlsys.predict('churn', s) AS predict
FROM cust s WHERE id <= 3 ORDER BY id;
SELECT round(((mlsys.predict_proba('churn', '{"a": 0.5, "b": -0.5, "c": true}'::jsonb))[2])::numeric, 9) =
       round(((mlsys.predict_proba('churn', ARRAY[0.5, -0.5, 1]::float8[]))[2])::numeric, 9) AS jsonb_equals_array,
       (SELECT sum(v) FROM unnest(mlsys.predict_proba('churn', ARRAY[0.5, -0.5, 1]::float8[])) v) = 1 AS sums_to_one;
-- the holdout metrics agree with the metric aggregates over the holdout rows
-- (the rows mlsys._holdout_predicate names: the stratified split of training)
CREATE FUNCTION churn_holdout_ids() RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT r.id::bigint FROM cust r WHERE %s', mlsys._holdout_predicate('churn', 1, 'r'));
END $$;
SELECT abs(mlsys.auc((mlsys.predict_proba('churn', s))[2], churned) - (v.metrics->>'auc')::float8) < 1e-12 AS auc_matches,
       count(*) = v.test_rows AS all_holdout_rows
FROM cust s, mlsys.model_versions v
WHERE v.model = 'churn' AND v.version = 1 AND s.id IN (SELECT churn_holdout_ids())
GROUP BY v.metrics, v.test_rows;
SELECT abs(mlsys.log_loss(h.p, h.churned) - (v.metrics->>'log_loss')::float8) < 1e-12 AS log_loss_matches,
       abs(avg(((h.p >= 0.5) = h.churned)::int) - (v.metrics->>'accuracy')::float8) < 1e-12 AS accuracy_matches,
       abs(count(*) FILTER (WHERE h.p >= 0.5 AND h.churned)::float8 / count(*) FILTER (WHERE h.p >= 0.5)
           - (v.metrics->>'precision')::float8) < 1e-12 AS precision_matches,
       abs(count(*) FILTER (WHERE h.p >= 0.5 AND h.churned)::float8 / count(*) FILTER (WHERE h.churned)
           - (v.metrics->>'recall')::float8) < 1e-12 AS recall_matches
FROM (SELECT (mlsys.predict_proba('churn', s))[2] AS p, churned FROM cust s WHERE s.id IN (SELECT churn_holdout_ids())) h,
     mlsys.model_versions v
WHERE v.model = 'churn' AND v.version = 1
GROUP BY v.metrics;

-- batch scoring stores the label, the positive-class probability and 0/1
SELECT mlsys.predict_batch('churn', 'cust', 'id');
SELECT count(*), count(DISTINCT predicted_label), bool_and(probability BETWEEN 0 AND 1) AS probabilities,
       bool_and(prediction = (predicted_label = 'true')::int) AS prediction_is_label
FROM mlsys.predictions WHERE model = 'churn';

-- the same model with parallel workers
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT version FROM mlsys.train('churn_par', 'cust', 'churned', ARRAY['a', 'b', 'c'], deploy => 'most_recent');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT bool_and(abs(a.coefficient - b.coefficient) < 1e-9 * greatest(1, abs(a.coefficient))) AS parallel_equals_serial
FROM mlsys.features('churn') a JOIN mlsys.features('churn_par') b USING (ordinal);

-- text labels, in byte order; positive_class, class_weight and threshold
CREATE TABLE tickets AS
SELECT id, a, b, CASE WHEN churned THEN 'Urgent' ELSE 'normal' END AS priority FROM cust;
SELECT algorithm, deployed FROM mlsys.train('prio', 'tickets', 'priority', ARRAY['a', 'b']);
SELECT mlsys.classes('prio');
SELECT version FROM mlsys.train('prio', 'tickets', 'priority', ARRAY['a', 'b'], 'logistic',
    '{"positive_class": "Urgent", "class_weight": "balanced", "threshold": 0.3}', deploy => 'most_recent');
SELECT hyperparams->>'positive_class' AS positive, hyperparams->>'class_weight' AS weights,
       (metrics->>'recall')::float8 > (SELECT (metrics->>'recall')::float8 FROM mlsys.model_versions
                                       WHERE model = 'prio' AND version = 1) AS lower_threshold_raises_recall
FROM mlsys.model_versions WHERE model = 'prio' AND version = 2;
SELECT mlsys.predict_label('prio', '{"a": 1, "b": -1}'::jsonb) AS label,
       round(((mlsys.predict_proba('prio', '{"a": 1, "b": -1}'::jsonb))[1])::numeric, 3) > 0.5 AS urgent_likely;

-- integer labels with few values are classes (ascending), predict returns them
CREATE TABLE grades AS SELECT id, a, b, CASE WHEN churned THEN 10 ELSE 2 END AS grade FROM cust;
SELECT algorithm FROM mlsys.train('grades', 'grades', 'grade', ARRAY['a', 'b']);
SELECT mlsys.classes('grades'), mlsys.predict('grades', '{"a": 1, "b": -1}'::jsonb) AS predicted_grade;
-- a JSON number names an integer class
SELECT version FROM mlsys.train('grades_pos', 'grades', 'grade', ARRAY['a', 'b'], hyperparams => '{"positive_class": 2.0}');
SELECT hyperparams->>'positive_class' AS positive FROM mlsys.model_versions WHERE model = 'grades_pos';

-- perfectly separable data terminates with finite coefficients (the penalty is in force)
CREATE TABLE separable AS SELECT i AS id, i::float8 AS x, i > 50 AS y FROM generate_series(1, 100) i;
SELECT (metrics->>'converged')::bool AS converged, (metrics->>'auc')::float8 AS auc
FROM mlsys.train('sep', 'separable', 'y', ARRAY['x']);
SELECT bool_and(coefficient BETWEEN -1e6 AND 1e6) AS finite FROM mlsys.features('sep');

CREATE TABLE null_labels_cv AS SELECT id, a, CASE WHEN id % 10 = 0 THEN NULL ELSE churned END AS y FROM cust;
-- cross-validation of a classifier: fold 1 of 4 is train's holdout at test_size 0.25
SELECT fold, (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metrics) k) AS keys
FROM mlsys.cross_validate('cust', 'churned', ARRAY['a', 'b', 'c'], folds => 4) WHERE fold = 1;
SELECT abs((c.metrics->>'auc')::float8 - (v.metrics->>'auc')::float8) < 1e-12 AS fold1_auc_is_the_holdout_auc,
       abs((c.metrics->>'log_loss')::float8 / (v.metrics->>'log_loss')::float8 - 1) < 1e-6 AS same_log_loss
FROM mlsys.cross_validate('cust', 'churned', ARRAY['a', 'b', 'c'], folds => 4) c, mlsys.model_versions v
WHERE c.fold = 1 AND v.model = 'churn' AND v.version = 1;
-- tuning a classifier maximizes the cross-validated auc
SELECT algorithm, trials FROM mlsys.tune('churn_tuned', 'cust', 'churned', '{"alpha": [0.0001, 1000]}',
                                         ARRAY['a', 'b', 'c'], folds => 3);
SELECT trial, hyperparams, metric, best FROM mlsys.tuning_trials WHERE model = 'churn_tuned' ORDER BY trial;

-- bad input
\set VERBOSITY sqlstate
-- invalid input: cross-validation with null labels
SELECT * FROM mlsys.cross_validate('null_labels_cv', 'y', ARRAY['a']);
-- invalid input: a single class
CREATE TABLE one_class AS SELECT i AS id, i::float8 AS x, true AS y FROM generate_series(1, 50) i;
SELECT * FROM mlsys.train('bad', 'one_class', 'y', ARRAY['x']);
-- invalid input: null labels
CREATE TABLE null_labels AS SELECT id, a, CASE WHEN id % 10 = 0 THEN NULL ELSE churned END AS y FROM cust;
SELECT * FROM mlsys.train('bad', 'null_labels', 'y', ARRAY['a']);
-- a class of one row: the stratified holdout keeps a training row of every class
CREATE TABLE three AS SELECT id, a, CASE WHEN id % 2 = 0 THEN 'even' ELSE 'odd' END AS y FROM cust;
UPDATE three SET y = 'lonely' WHERE id = 7;
SELECT version, metrics->'split'->'class_rows' AS class_rows
FROM mlsys.train('lonely', 'three', 'y', ARRAY['a'], deploy => 'never');
SELECT train_rows, test_rows FROM mlsys.model_versions WHERE model = 'lonely';
-- invalid input: cross-validation cannot train every fold on that class
SELECT * FROM mlsys.cross_validate('three', 'y', ARRAY['a'], folds => 2);
-- invalid input: alpha 0 or negative
SELECT * FROM mlsys.train('bad', 'cust', 'churned', ARRAY['a'], hyperparams => '{"alpha": 0}');
SELECT * FROM mlsys.train('bad', 'cust', 'churned', ARRAY['a'], hyperparams => '{"alpha": -1}');
-- invalid input: unknown hyperparameter
SELECT * FROM mlsys.train('bad', 'cust', 'churned', ARRAY['a'], hyperparams => '{"C": 1}');
-- invalid input: positive class that is not a class
SELECT * FROM mlsys.train('bad', 'cust', 'churned', ARRAY['a'], hyperparams => '{"positive_class": "maybe"}');
-- invalid input: a positive class that only looks like a number
SELECT * FROM mlsys.train('bad', 'grades', 'grade', ARRAY['a'], hyperparams => '{"positive_class": "2x"}');
-- invalid input: threshold outside (0, 1)
SELECT * FROM mlsys.train('bad', 'cust', 'churned', ARRAY['a'], hyperparams => '{"threshold": 1}');
-- invalid input: logistic on a float target
SELECT * FROM mlsys.train('bad', 'cust', 'a', ARRAY['b'], 'logistic');
-- invalid input: predict on a model with text labels
SELECT mlsys.predict('prio', '{"a": 1, "b": -1}'::jsonb);
-- invalid input: probabilities of a regression model
CREATE TABLE reg_m AS SELECT id, a, b FROM cust;
SELECT version FROM mlsys.train('reg_m', 'reg_m', 'a', ARRAY['b']);
SELECT mlsys.predict_proba('reg_m', '{"b": 1}'::jsonb);
SELECT mlsys.classes('reg_m');
\set VERBOSITY default
SELECT * FROM mlsys.train('bad', 'null_labels', 'y', ARRAY['a']);
SELECT * FROM mlsys.cross_validate('three', 'y', ARRAY['a'], folds => 2);
SELECT mlsys.predict('prio', '{"a": 1, "b": -1}'::jsonb);
SELECT count(*) AS leftovers FROM mlsys.models WHERE model = 'bad';
