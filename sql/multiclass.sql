-- multinomial (softmax) logistic regression: more than two classes
SET extra_float_digits = 0;
CREATE TABLE mc AS
SELECT i AS id, x1, x2,
       CASE WHEN 2 * x1 + x2 + (hashint4(i) % 100) / 60.0 > 1.5 THEN 10
            WHEN x1 - x2 + (hashint4(i * 7) % 100) / 80.0 > 0 THEN 2
            ELSE 1 END AS grade
FROM (SELECT i, (hashint4(i * 3) % 1000) / 500.0 AS x1, (hashint4(i * 5) % 1000) / 500.0 AS x2
      FROM generate_series(1, 3000) i) s;
ALTER TABLE mc ADD COLUMN species text;
UPDATE mc SET species = CASE grade WHEN 10 THEN 'virginica' WHEN 2 THEN 'Setosa' ELSE 'versicolor' END;
-- an integer target with few values picks logistic; three classes make it multinomial
SELECT model, algorithm, (metrics->>'converged')::bool AS converged,
       (metrics->>'accuracy')::float8 > 0.7 AS accurate, (metrics->>'macro_f1')::float8 > 0.7 AS macro_f1_ok,
       (metrics->>'log_loss')::float8 < 0.6 AS log_loss_ok, metrics ? 'auc' AS has_auc
FROM mlsys.train('mc_grades', 'mc', 'grade', ARRAY['x1', 'x2']);
SELECT task FROM mlsys.models WHERE model = 'mc_grades';
-- class order: ascending integers (not text order), byte order for text
SELECT mlsys.classes('mc_grades');
SELECT model FROM mlsys.train('species', 'mc', 'species', ARRAY['x1', 'x2']);
SELECT mlsys.classes('species');
-- one coefficient vector per class, all of them in mlsys.features
SELECT count(*) AS coefficients, count(*) FILTER (WHERE feature LIKE '(intercept)%') AS intercepts
FROM mlsys.features('mc_grades');
SELECT feature FROM mlsys.features('species') ORDER BY ordinal LIMIT 4;
-- probabilities sum to 1; the label is the most probable class; predict returns it as a number
SELECT count(*) AS rows,
       count(*) FILTER (WHERE abs((SELECT sum(v) FROM unnest(mlsys.predict_proba('mc_grades', m)) v) - 1) < 1e-12) AS sums_to_one,
       count(*) FILTER (WHERE mlsys.predict_label('mc_grades', m) =
                        (mlsys.classes('mc_grades'))[(SELECT o FROM unnest(mlsys.predict_proba('mc_grades', m)) WITH ORDINALITY u(v, o)
                                                   ORDER BY v DESC LIMIT 1)]) AS label_is_argmax,
       count(*) FILTER (WHERE mlsys.predict('mc_grades', m)::text = mlsys.predict_label('mc_grades', m)) AS predict_is_label
FROM mc m;
SELECT mlsys.predict_label('species', '{"x1": 1.9, "x2": 1.9}'::jsonb) AS high,
       mlsys.predict_label('species', ARRAY[0.9, -0.9]::float8[]) AS low_x2;
-- at the optimum the unpenalized intercepts have zero gradient: on the rows
-- the model learned from, the mean predicted probability of each class is
-- that class's share
SELECT model FROM mlsys.train('grades_all', 'mc', 'grade', ARRAY['x1', 'x2'], test_size => 0,
                              hyperparams => '{"tol": 1e-10}', deploy => 'never');
SELECT c.class, abs(avg((mlsys.predict_proba('grades_all', 1, m))[c.k]) - avg((m.grade::text = c.class)::int)) < 1e-8 AS share_matches
FROM mc m, unnest(ARRAY['1', '2', '10']) WITH ORDINALITY c(class, k)
GROUP BY c.class, c.k ORDER BY c.k;
-- the stored holdout metrics agree with the metric aggregates over the holdout rows
SELECT abs(mlsys.accuracy(mlsys.predict_label('mc_grades', m), m.grade::text) - (v.metrics->>'accuracy')::float8) < 1e-12 AS accuracy_matches,
       abs((mlsys.classification_report(mlsys.predict_label('mc_grades', m), m.grade::text)->'macro avg'->>'f1-score')::float8
           - (v.metrics->>'macro_f1')::float8) < 1e-12 AS macro_f1_matches,
       abs(avg(-ln(greatest((mlsys.predict_proba('mc_grades', m))[array_position(ARRAY['1', '2', '10'], m.grade::text)], 1e-15)))
           - (v.metrics->>'log_loss')::float8) < 1e-12 AS log_loss_matches
FROM mc m, mlsys.model_versions v
WHERE v.model = 'mc_grades' AND v.version = 1
  AND mlsys._in_holdout(array_position(ARRAY[1, 2, 10], m.grade)::float8 - 1, ARRAY[m.x1, m.x2], 0,
        ARRAY(SELECT c::float8 FROM jsonb_array_elements_text(v.metrics->'split'->'cuts') c))
GROUP BY v.metrics;
-- twelve classes (index text order 0, 1, 10, 11, 2, ...): the evaluation aggregate's metrics
-- still agree with the metric aggregates over the holdout
CREATE TABLE mc12 AS
SELECT i AS id, sin(i * 0.7) AS x1, cos(i * 1.3) AS x2,
       (floor((sin(i * 0.7) + 1) * 3)::int * 2 + (cos(i * 1.3) > 0)::int) AS cls
FROM generate_series(1, 6000) i;
SELECT count(*) AS classes FROM (SELECT DISTINCT cls FROM mc12) c;
SELECT model FROM mlsys.train('mc12', 'mc12', 'cls', ARRAY['x1', 'x2'], 'logistic');
SELECT abs(mlsys.accuracy(mlsys.predict_label('mc12', m), m.cls::text) - (v.metrics->>'accuracy')::float8) < 1e-12 AS accuracy_matches,
       abs((mlsys.classification_report(mlsys.predict_label('mc12', m), m.cls::text)->'macro avg'->>'f1-score')::float8
           - (v.metrics->>'macro_f1')::float8) < 1e-12 AS macro_f1_matches,
       abs(avg(-ln(greatest((mlsys.predict_proba('mc12', m))[array_position(mlsys.classes('mc12'), m.cls::text)], 1e-15)))
           - (v.metrics->>'log_loss')::float8) < 1e-12 AS log_loss_matches
FROM mc12 m, mlsys.model_versions v
WHERE v.model = 'mc12' AND v.version = 1
  AND mlsys._in_holdout(array_position(mlsys.classes('mc12'), m.cls::text)::float8 - 1, ARRAY[m.x1, m.x2], 0,
        ARRAY(SELECT c::float8 FROM jsonb_array_elements_text(v.metrics->'split'->'cuts') c))
GROUP BY v.metrics;
-- balanced class weights
SELECT model, (metrics->>'converged')::bool AS converged
FROM mlsys.train('grades_bal', 'mc', 'grade', ARRAY['x1', 'x2'], hyperparams => '{"class_weight": "balanced"}');
SELECT hyperparams->>'class_weight' AS class_weight FROM mlsys.model_versions WHERE model = 'grades_bal';
-- batch scoring: the predicted label and its probability
SELECT mlsys.predict_batch('species', 'mc', 'id') AS scored;
SELECT count(*) FILTER (WHERE p.predicted_label = mlsys.predict_label('species', m)
                          AND abs(p.probability - (SELECT max(v) FROM unnest(mlsys.predict_proba('species', m)) v)) < 1e-12) AS batch_matches
FROM mlsys.predictions p JOIN mc m ON m.id::text = p.entity_id WHERE p.model = 'species';
-- cross-validation and tuning use log_loss as the primary metric
SELECT fold, metrics ? 'log_loss' AND metrics ? 'macro_f1' AND metrics ? 'accuracy' AS has_metrics
FROM mlsys.cross_validate('mc', 'species', ARRAY['x1', 'x2'], folds => 3);
SELECT model, trials FROM mlsys.tune('species_tuned', 'mc', 'species', '{"alpha": [0.0001, 0.1]}', ARRAY['x1', 'x2'], folds => 3);
SELECT trial, metric, mean < 1 AS plausible, best FROM mlsys.tuning_trials WHERE model = 'species_tuned' ORDER BY trial;

-- the same multinomial model with parallel workers (their states combine, with rows
-- still buffered for the Hessian), on a table large enough that every worker gets pages
CREATE TABLE mc_big AS SELECT * FROM mc, generate_series(1, 20) r;
SELECT version FROM mlsys.train('mc_big_serial', 'mc_big', 'grade', ARRAY['x1', 'x2']);
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT version FROM mlsys.train('mc_big_par', 'mc_big', 'grade', ARRAY['x1', 'x2']);
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT count(*) AS coefficients,
       bool_and(abs(a.coefficient - b.coefficient) < 1e-9 * greatest(1, abs(a.coefficient))) AS parallel_equals_serial
FROM mlsys.features('mc_big_serial') a JOIN mlsys.features('mc_big_par') b USING (ordinal);
-- and the evaluation pass (one aggregate, its states combined) gives the same metrics
SELECT a.metrics->>'accuracy' = b.metrics->>'accuracy' AS same_accuracy,
       a.metrics->>'macro_f1' = b.metrics->>'macro_f1' AS same_macro_f1,
       abs((a.metrics->>'log_loss')::float8 - (b.metrics->>'log_loss')::float8) < 1e-12 AS same_log_loss
FROM mlsys.model_versions a, mlsys.model_versions b
WHERE a.model = 'mc_big_serial' AND b.model = 'mc_big_par';

-- bad input
\set SHOW_CONTEXT never
SELECT * FROM mlsys.train('bad', 'mc', 'species', ARRAY['x1'], hyperparams => '{"positive_class": "Setosa"}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.predict('species', '{"x1": 1, "x2": 1}'::jsonb);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE mc_many AS SELECT i AS id, i::float8 AS x, 'c' || (i % 150) AS label FROM generate_series(1, 600) i;
SELECT * FROM mlsys.train('bad', 'mc_many', 'label', ARRAY['x']);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS nothing_registered FROM mlsys.models WHERE model = 'bad';
-- the evaluation aggregate: null parameters, parameters of another shape, a forged state
SELECT mlsys._softmax_holdout_agg(0, ARRAY[1.0], 0, ARRAY[0, 0, 0]::float8[], NULL, false);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys._softmax_holdout_agg(0, ARRAY[1.0], 0, ARRAY[0, 0, 0]::float8[], ARRAY[1, 2, 3]::float8[], false);
\echo :LAST_ERROR_SQLSTATE
CREATE AGGREGATE forged_mc_eval(float8, float8[], int8, float8[], float8[], bool) (
    SFUNC = mlsys._softmax_holdout_accum, STYPE = bytea, INITCOND = '\x0102030405060708');
SELECT forged_mc_eval(0, ARRAY[1.0], 0, ARRAY[0, 0, 0]::float8[], ARRAY[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]::float8[], true);
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
