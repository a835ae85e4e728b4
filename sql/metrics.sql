-- metric aggregates against values computed by hand (the examples of
-- scikit-learn's documentation where there is one)
SET extra_float_digits = 0;

-- regression: y_true = (3, -0.5, 2, 7), y_pred = (2.5, 0, 2, 8)
-- MSE = (0.25 + 0.25 + 0 + 1) / 4 = 0.375, MAE = 0.5,
-- R2 = 1 - 1.5 / 29.1875 = 0.948608137...
CREATE TABLE reg (p float8, a float8);
INSERT INTO reg VALUES (2.5, 3), (0, -0.5), (2, 2), (8, 7);
SELECT abs(mlsys.rmse(p, a) - sqrt(0.375)) < 1e-15 AS rmse_ok,
       mlsys.mae(p, a) = 0.5 AS mae_ok,
       abs(mlsys.r2(p, a) - (1 - 1.5 / 29.1875)) < 1e-15 AS r2_ok
FROM reg;
-- r2 of a constant target: 1 when exact, 0 otherwise (scikit-learn's force_finite)
SELECT mlsys.r2(a, a) AS exact, mlsys.r2(a + 1, a) AS off FROM (VALUES (2.0::float8), (2.0)) v(a);
-- NULL rows are skipped; no rows gives NULL
SELECT mlsys.mae(p, a) AS mae_with_nulls FROM (VALUES (1.0::float8, 2.0::float8), (NULL, 5), (3, NULL)) v(p, a);
SELECT mlsys.rmse(p, a) IS NULL AS empty_null FROM reg WHERE false;

-- accuracy: 3 of 4 labels right
SELECT mlsys.accuracy(p, a) FROM (VALUES ('cat', 'cat'), ('dog', 'cat'), ('dog', 'dog'), ('bird', 'bird')) v(p, a);
-- byte-wise equality, so case matters
SELECT mlsys.accuracy(p, a) FROM (VALUES ('Cat', 'cat')) v(p, a);

-- log loss: scikit-learn's example, log_loss(["spam", "ham", "ham", "spam"],
-- [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]) = 0.21616...
SELECT abs(mlsys.log_loss(p, l) - (-(ln(0.9) + ln(0.9) + ln(0.8) + ln(0.65)) / 4)) < 1e-15 AS log_loss_ok,
       round(mlsys.log_loss(p, l)::numeric, 5) AS log_loss
FROM (VALUES (0.9, true), (0.1, false), (0.2, false), (0.65, true)) v(p, l);
-- probabilities 0 and 1 are clipped to [eps, 1 - eps]: finite even when wrong
SELECT round(mlsys.log_loss(p, l)::numeric, 4) AS clipped
FROM (VALUES (0.0::float8, true), (1.0, true)) v(p, l);

-- ROC AUC: scikit-learn's example, roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75
SELECT mlsys.auc(s, l) FROM (VALUES (0.1, false), (0.4, false), (0.35, true), (0.8, true)) v(s, l);
-- ties count one half: positives (0.5, 0.9), negatives (0.5, 0.5): (0.5 + 0.5 + 1 + 1) / 4
SELECT mlsys.auc(s, l) FROM (VALUES (0.5, false), (0.5, true), (0.5, false), (0.9, true)) v(s, l);
-- all scores tied: 0.5; perfectly separated: 1; reversed: 0
SELECT mlsys.auc(1, l) AS all_tied FROM (VALUES (true), (false), (true)) v(l);
SELECT mlsys.auc(i, i > 50) AS separated, mlsys.auc(-i, i > 50) AS reversed FROM generate_series(1, 100) i;
-- against the pairwise definition on data with many ties: P(s+ > s-) + P(s+ = s-) / 2
CREATE TABLE roc AS SELECT i, (i * 7919 % 23)::float8 AS s, (i * 104729 % 5) < 2 AS l FROM generate_series(1, 3000) i;
SELECT abs(mlsys.auc(s, l) - (SELECT avg(CASE WHEN p.s > n.s THEN 1.0 WHEN p.s = n.s THEN 0.5 ELSE 0 END)
                               FROM roc p, roc n WHERE p.l AND NOT n.l)) < 1e-12 AS auc_matches_pairwise
FROM roc;

-- classification report: scikit-learn's example, y_true = [0, 1, 2, 2, 2],
-- y_pred = [0, 0, 2, 2, 1]:      precision  recall  f1-score  support
--   0                              0.50     1.00     0.67       1
--   1                              0.00     0.00     0.00       1
--   2                              1.00     0.67     0.80       3
--   accuracy                                         0.60       5
--   macro avg                      0.50     0.56     0.49       5
--   weighted avg                   0.70     0.60     0.61       5
CREATE TABLE report AS
SELECT * FROM (VALUES (1, '0', '0'), (2, '0', '1'), (3, '2', '2'), (4, '2', '2'), (5, '1', '2')) v(i, p, a);
SELECT k, round((v->>'precision')::numeric, 2) AS precision, round((v->>'recall')::numeric, 2) AS recall,
       round((v->>'f1-score')::numeric, 2) AS f1, v->>'support' AS support
FROM (SELECT mlsys.classification_report(p, a) AS r FROM report) s, jsonb_each(s.r) e(k, v)
WHERE jsonb_typeof(v) = 'object' ORDER BY k;
SELECT (mlsys.classification_report(p, a))->'accuracy' AS accuracy FROM report;
-- labels are compared byte-wise (case matters); a class only predicted has
-- support 0 and recall 0
SELECT (SELECT count(*) FROM jsonb_object_keys(r) k WHERE k NOT IN ('accuracy', 'macro avg', 'weighted avg')) AS classes
FROM (SELECT mlsys.classification_report(p, a) AS r FROM (VALUES ('b', 'B'), ('a', 'a'), ('B', 'b'), ('é', 'a')) v(p, a)) s;
SELECT (mlsys.classification_report(p, a))->'é' AS predicted_only
FROM (VALUES ('b', 'B'), ('a', 'a'), ('B', 'b'), ('é', 'a')) v(p, a);

-- the same results with parallel workers (partial states combined)
CREATE TABLE big_metrics AS
SELECT i, (i * 7919 % 1000) / 1000.0 AS p, (i::bigint * 104729 % 997) / 997.0 AS a, (i * 31 % 7) < 3 AS l
FROM generate_series(1, 200000) i;
ANALYZE big_metrics;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE serial_metrics AS
SELECT mlsys.rmse(p, a), mlsys.mae(p, a), mlsys.r2(p, a), mlsys.auc(p, l), mlsys.log_loss(p, l),
       mlsys.accuracy((p > 0.5)::text, l::text),
       mlsys.classification_report((p > 0.5)::text, l::text) FROM big_metrics;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT mlsys.auc(p, l), mlsys.rmse(p, a), mlsys.accuracy(p::text, a::text),
                           mlsys.classification_report(p::text, a::text) FROM big_metrics;
SELECT abs(m.rmse - s.rmse) < 1e-12 AND abs(m.mae - s.mae) < 1e-12 AND abs(m.r2 - s.r2) < 1e-12
       AND m.auc = s.auc AND abs(m.log_loss - s.log_loss) < 1e-12 AND m.accuracy = s.accuracy
       AND m.classification_report = s.classification_report AS parallel_equals_serial
FROM (SELECT mlsys.rmse(p, a), mlsys.mae(p, a), mlsys.r2(p, a), mlsys.auc(p, l), mlsys.log_loss(p, l),
             mlsys.accuracy((p > 0.5)::text, l::text),
             mlsys.classification_report((p > 0.5)::text, l::text) FROM big_metrics) m, serial_metrics s;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- a model's holdout rmse can be recomputed from mlsys.predictions
CREATE TABLE m_rows AS SELECT i AS id, i::float8 AS x, 3 * i + (i % 4)::float8 AS y FROM generate_series(1, 400) i;
SELECT version FROM mlsys.train('m_rows', 'm_rows', 'y', ARRAY['x'], test_size => 0);
SELECT mlsys.predict_batch('m_rows', 'm_rows', 'id');
SELECT abs(mlsys.rmse(p.prediction, r.y) - (v.metrics->>'rmse')::float8) < 1e-9 AS matches_training_rmse
FROM mlsys.predictions p JOIN m_rows r ON r.id::text = p.entity_id
JOIN mlsys.model_versions v ON v.model = p.model AND v.version = p.version
WHERE p.model = 'm_rows' GROUP BY v.metrics;

-- bad input
\set VERBOSITY sqlstate
-- invalid input: NaN prediction
SELECT mlsys.rmse('NaN', 1);
-- invalid input: infinite actual value
SELECT mlsys.mae(1, '-Infinity');
-- invalid input: probability above 1
SELECT mlsys.log_loss(1.5, true);
-- invalid input: NaN probability
SELECT mlsys.log_loss('NaN', true);
-- invalid input: infinite score
SELECT mlsys.auc('Infinity', true);
-- invalid input: only one class
SELECT mlsys.auc(s, true) FROM (VALUES (0.1), (0.2)) v(s);
-- invalid input: transition function called directly
SELECT mlsys._auc_accum(NULL, 1, true);
-- invalid input: forged state
CREATE AGGREGATE forged_auc(float8, bool) (SFUNC = mlsys._auc_accum, STYPE = bytea, INITCOND = '\x00');
SELECT forged_auc(1, true);
-- invalid input: forged report state whose entry claims more bytes than it has
CREATE AGGREGATE forged_report(text, text) (SFUNC = mlsys._report_accum, STYPE = bytea,
    INITCOND = '\x0100524310000000000000000100000000000000ffffff7f00000000');
SELECT forged_report('a', 'a');
-- invalid input: a forged ROC AUC state holding a NaN score (must not loop)
SELECT mlsys._auc_final('\x0100554101000000000000000000000000000000f87f000000000000f03f'::bytea);
-- invalid input: a forged ROC AUC state with a label that is not 0 or 1
SELECT mlsys._auc_final('\x0100554101000000000000000000000000000000e03f0000000000001440'::bytea);
-- invalid input: cross-validation helper with a wrapping fold count
SELECT mlsys._predict_fold('{1,2}', 0, 1431655766, 0, '{1,2}');
\set VERBOSITY default
SELECT mlsys.auc(s, true) FROM (VALUES (0.1), (0.2)) v(s);
SELECT mlsys.log_loss(1.5, true);
