-- monitoring: baselines captured at training, the drift report against
-- independent formulas, outcomes and live performance, check/alerts/history,
-- views, retention, bad inputs
CREATE TABLE mon_train AS
SELECT i AS id, (i % 100)::float8 AS a, ((i * 37) % 101)::float8 AS b,
       3 * (i % 100) - 2 * ((i * 37) % 101) + (i % 7) * 0.1 AS y
FROM generate_series(1, 5000) i;
SELECT version, deployed FROM mlsys.train('mon', 'mon_train', 'y', ARRAY['a', 'b']);

-- every training stores a baseline: two features, the prediction, the target
SELECT profile -> 'rows' AS rows, jsonb_array_length(profile -> 'features') AS features,
       profile -> 'prediction' ->> 'name' AS prediction, profile -> 'target' ->> 'name' AS target
FROM mlsys.baselines WHERE model = 'mon' AND version = 1;

-- count, null rate and moments match SQL's own aggregates
SELECT f ->> 'name' AS feature, (f ->> 'count')::int = s.n AS count_ok, (f ->> 'null_rate')::float8 AS null_rate,
       abs((f ->> 'mean')::float8 - s.mean) < 1e-9 AS mean_ok, abs((f ->> 'std')::float8 - s.sd) < 1e-9 AS std_ok,
       (f ->> 'min')::float8 = s.mn AS min_ok, (f ->> 'max')::float8 = s.mx AS max_ok
FROM mlsys.baselines b, jsonb_array_elements(b.profile -> 'features') f,
     LATERAL (SELECT count(v) AS n, avg(v) AS mean, stddev_samp(v) AS sd, min(v) AS mn, max(v) AS mx
              FROM (SELECT CASE f ->> 'name' WHEN 'a' THEN t.a ELSE t.b END AS v FROM mon_train t) x) s
WHERE b.model = 'mon' ORDER BY 1;

-- the grid holds every value, has at most 1024 bins, and its width is at most
-- 2 (max - min) / 1022; every PSI proportion is the exact share of the rows
-- in [edge_k, edge_k+1) (width_bucket: a value equal to an edge is in the upper bin)
SELECT f ->> 'name' AS feature,
       (SELECT sum(x::float8) FROM jsonb_array_elements_text(f #> '{grid,counts}') x) = (f ->> 'count')::float8 AS grid_total_ok,
       jsonb_array_length(f #> '{grid,counts}') <= 1024 AS size_ok,
       (f #>> '{grid,width}')::float8 <= 2 * ((f ->> 'max')::float8 - (f ->> 'min')::float8) / 1022 AS width_ok,
       jsonb_array_length(f -> 'psi_edges') AS psi_edges,
       (SELECT bool_and(abs(p.x::float8 - e.share) < 1e-12)
          FROM jsonb_array_elements_text(f -> 'psi_proportions') WITH ORDINALITY p(x, k)
          JOIN (SELECT width_bucket(CASE f ->> 'name' WHEN 'a' THEN t.a WHEN 'b' THEN t.b ELSE mlsys.predict('mon', 1, t) END,
                                    ARRAY(SELECT ed::float8 FROM jsonb_array_elements_text(f -> 'psi_edges') ed)) + 1 AS k,
                       count(*)::float8 / 5000 AS share
                  FROM mon_train t GROUP BY 1) e ON e.k = p.k) AS psi_proportions_exact
FROM mlsys.baselines b,
     jsonb_array_elements((b.profile -> 'features') || jsonb_build_array(b.profile -> 'prediction')) f
WHERE b.model = 'mon' ORDER BY 1;

-- the prediction's profile is that of mlsys.predict over the training relation
SELECT abs((b.profile #>> '{prediction,mean}')::float8 - avg(mlsys.predict('mon', 1, t))) < 1e-9 AS mean_ok,
       abs((b.profile #>> '{prediction,min}')::float8 - min(mlsys.predict('mon', 1, t))) < 1e-9 AS min_ok
FROM mlsys.baselines b, mon_train t WHERE b.model = 'mon' GROUP BY b.profile;

-- float8[] feature columns are not profiled, but the prediction uses them;
-- a null array means no prediction (a null in the prediction's null rate)
CREATE TABLE mon_arr AS
SELECT i AS id, (i % 10)::float8 AS a, ARRAY[(i % 7)::float8, ((i * 3) % 11)::float8] AS x,
       (i % 10) + 2 * (i % 7) - ((i * 3) % 11) + (i % 3) * 0.1 AS y
FROM generate_series(1, 1000) i;
SELECT version FROM mlsys.train('mon_arr', 'mon_arr', 'y', ARRAY['a', 'x']);
SELECT jsonb_array_length(b.profile -> 'features') AS profiled,
       abs((b.profile #>> '{prediction,mean}')::float8 - avg(mlsys.predict('mon_arr', 1, t))) < 1e-9 AS mean_ok,
       abs((b.profile #>> '{prediction,max}')::float8 - max(mlsys.predict('mon_arr', 1, t))) < 1e-9 AS max_ok
FROM mlsys.baselines b, mon_arr t WHERE b.model = 'mon_arr' GROUP BY b.profile;
UPDATE mon_arr SET x = NULL WHERE id % 4 = 0;
SELECT feature, kind, null_rate, round(psi::numeric, 4) AS psi, drifted FROM mlsys.drift('mon_arr', 'mon_arr');

-- the training relation against its own baseline: no drift at all
SELECT feature, kind, rows, null_rate, psi, ks, wasserstein, js, linf, metric, threshold, drifted
FROM mlsys.drift('mon', 'mon_train');

-- a planted shift: a moves by +25, b is a fresh sample of the same
-- distribution; the current relation has no target column
CREATE TABLE mon_cur AS
SELECT i AS id, (i % 100)::float8 + 25 AS a, ((i * 37) % 101)::float8 AS b, now() - (i % 10) * interval '1 hour' AS ts
FROM generate_series(5001, 8000) i;
SELECT feature, kind, rows, round(psi::numeric, 4) AS psi, round(ks::numeric, 4) AS ks,
       round(wasserstein::numeric, 4) AS wasserstein, metric, threshold, drifted
FROM mlsys.drift('mon', 'mon_cur');

-- KS and Wasserstein against exact two-sample values computed in SQL: on
-- integer data each value has its own grid bin, so KS is exact, and the
-- Wasserstein distance is within 2 grid widths
CREATE FUNCTION mon_exact(ref float8[], cur float8[], OUT ks float8, OUT w float8) LANGUAGE sql AS $$
    WITH pts AS (SELECT DISTINCT x FROM unnest(ref || cur) x),
         cdf AS (SELECT p.x,
                        (SELECT count(*) FROM unnest(ref) r WHERE r <= p.x)::float8 / cardinality(ref) AS fr,
                        (SELECT count(*) FROM unnest(cur) c WHERE c <= p.x)::float8 / cardinality(cur) AS fc
                   FROM pts p),
         seg AS (SELECT x, fr, fc, lead(x) OVER (ORDER BY x) - x AS gap FROM cdf)
    SELECT max(abs(fr - fc)), sum(abs(fr - fc) * coalesce(gap, 0)) FROM seg
$$;
SELECT d.feature, abs(d.ks - e.ks) < 1e-12 AS ks_exact,
       abs(d.wasserstein - e.w) <= 2 * (SELECT (f #>> '{grid,width}')::float8
                                          FROM mlsys.baselines b, jsonb_array_elements(b.profile -> 'features') f
                                         WHERE b.model = 'mon' AND f ->> 'name' = d.feature) AS wasserstein_within_bound,
       round(e.ks::numeric, 4) AS exact_ks, round(e.w::numeric, 4) AS exact_w
FROM mlsys.drift('mon', 'mon_cur') d,
     LATERAL mon_exact((SELECT array_agg(CASE d.feature WHEN 'a' THEN a ELSE b END) FROM mon_train),
                       (SELECT array_agg(CASE d.feature WHEN 'a' THEN a ELSE b END) FROM mon_cur)) e
WHERE d.feature IN ('a', 'b') ORDER BY 1;

-- PSI of a against the textbook formula over the stored edges (floor 0.0001)
SELECT abs(d.psi - (
    SELECT sum((greatest(q, 0.0001) - greatest(p, 0.0001)) * ln(greatest(q, 0.0001) / greatest(p, 0.0001)))
    FROM (SELECT k, coalesce(r.share, 0) AS p, coalesce(c.share, 0) AS q
          FROM generate_series(0, 9) k
          LEFT JOIN (SELECT width_bucket(a, e.edges) AS k, count(*)::float8 / 5000 AS share FROM mon_train GROUP BY 1) r USING (k)
          LEFT JOIN (SELECT width_bucket(a, e.edges) AS k, count(*)::float8 / 3000 AS share FROM mon_cur GROUP BY 1) c USING (k)) s
    )) < 1e-12 AS psi_matches
FROM mlsys.drift('mon', 'mon_cur') d,
     (SELECT ARRAY(SELECT ed::float8 FROM mlsys.baselines b, jsonb_array_elements_text(b.profile #> '{features,0,psi_edges}') ed
                   WHERE b.model = 'mon') AS edges) e
WHERE d.feature = 'a';

-- nulls: half of b missing is drift (PSI and JS count a null bin)
CREATE TABLE mon_nulls AS SELECT id, a - 25 AS a, CASE WHEN id % 2 = 0 THEN b END AS b FROM mon_cur;
SELECT feature, null_rate, round(psi::numeric, 4) AS psi, drifted FROM mlsys.drift('mon', 'mon_nulls');

-- settings: per-feature overrides and the global PSI threshold
SELECT mlsys.configure('mon', '{"features": {"a": {"metric": "ks", "threshold": 0.5}, "b": {"metric": "wasserstein", "threshold": 0.001}}}');
SELECT feature, metric, round(value::numeric, 4) AS value, threshold, drifted FROM mlsys.drift('mon', 'mon_cur');
SELECT mlsys.configure('mon', '{"features": null, "psi_threshold": 5}');
SELECT feature, metric, threshold, drifted FROM mlsys.drift('mon', 'mon_cur');
SELECT mlsys.configure('mon', '{"psi_threshold": null}');

-- ties and very different sample sizes: b takes three values (300 rows), the
-- current sample (20 rows) is shifted by 0.5 and leaves the grid on the right;
-- KS is exact and Wasserstein within 2 grid widths of the exact values
CREATE TABLE mon_const AS SELECT i AS id, 7.0::float8 AS a, (i % 3)::float8 AS b, 2 * (i % 3) + 1 + (i % 5) * 0.1 AS y FROM generate_series(1, 300) i;
SELECT version FROM mlsys.train('mon_c', 'mon_const', 'y', ARRAY['b']);
SELECT feature, round(psi::numeric, 4) AS psi, ks, wasserstein, drifted FROM mlsys.drift('mon_c', 'mon_const');
CREATE TABLE mon_const2 AS SELECT i AS id, ((i % 3) + 0.5)::float8 AS b FROM generate_series(1, 20) i;
SELECT d.feature, round(d.psi::numeric, 4) AS psi, round(d.ks::numeric, 4) AS ks, abs(d.ks - e.ks) < 1e-12 AS ks_exact,
       round(d.wasserstein::numeric, 4) AS wasserstein, round(e.w::numeric, 4) AS exact_w,
       abs(d.wasserstein - e.w) <= 2 * (SELECT (b.profile #>> '{features,0,grid,width}')::float8 FROM mlsys.baselines b WHERE b.model = 'mon_c') AS wasserstein_within_bound,
       d.drifted
FROM mlsys.drift('mon_c', 'mon_const2') d,
     mon_exact((SELECT array_agg(b) FROM mon_const), (SELECT array_agg(b) FROM mon_const2)) e
WHERE d.feature = 'b';

-- a single-value baseline column is one grid bin and one PSI bin: PSI cannot
-- see a move (every value lands in the only bin), KS and Wasserstein can
CREATE TABLE mon_single AS SELECT i AS id, 7.0::float8 AS a, (i % 3)::float8 + 0.5 * (i % 2) AS y FROM generate_series(1, 300) i;
SELECT version FROM mlsys.train('mon_s', 'mon_single', 'y', ARRAY['a'], 'ridge', '{"alpha": 1}');
SELECT profile #> '{features,0,grid,counts}' AS counts, profile #> '{features,0,psi_edges}' AS edges
FROM mlsys.baselines WHERE model = 'mon_s';
SELECT feature, psi, ks, wasserstein, drifted FROM mlsys.drift('mon_s', 'mon_single');
CREATE TABLE mon_single2 AS SELECT id, CASE WHEN id % 2 = 0 THEN 7.0 ELSE 7.25 END::float8 AS a FROM mon_single;
SELECT mlsys.configure('mon_s', '{"features": {"a": {"metric": "ks", "threshold": 0.2}}}');
SELECT feature, psi, ks, round(wasserstein::numeric, 6) AS wasserstein, metric, drifted FROM mlsys.drift('mon_s', 'mon_single2');

-- a binary classifier with text labels: the target is profiled by category
-- (exact counts), the prediction is the positive-class probability
CREATE TABLE mon_cls AS
SELECT i AS id, (i % 50)::float8 AS u, ((i * 13) % 29)::float8 AS v,
       CASE WHEN (i % 50) + ((i * 7) % 11) > 30 THEN 'churn' ELSE 'stay' END AS outcome,
       now() - (i % 5) * interval '1 hour' AS ts
FROM generate_series(1, 2000) i;
SELECT version FROM mlsys.train('mon_cls', 'mon_cls', 'outcome', ARRAY['u', 'v']);
SELECT b.profile #>> '{target,kind}' AS kind, b.profile #> '{target,categories}' AS categories,
       b.profile #> '{target,counts}' = (SELECT jsonb_agg(n ORDER BY n DESC) FROM (SELECT count(*) AS n FROM mon_cls GROUP BY outcome) c) AS counts_exact,
       b.profile #>> '{prediction,kind}' AS prediction_kind,
       (b.profile #>> '{prediction,min}')::float8 >= 0 AND (b.profile #>> '{prediction,max}')::float8 <= 1 AS probability_range
FROM mlsys.baselines b WHERE b.model = 'mon_cls';

-- categorical drift (JS distance, L-infinity, PSI over the top categories,
-- "other" and nulls) against hand-computed values: a categorical column's
-- baseline as capture_baseline stores it, and a relation with that column
UPDATE mlsys.baselines SET profile = jsonb_set(profile, '{features}', profile -> 'features' ||
    '[{"name": "plan", "kind": "categorical", "count": 90, "nulls": 10, "categories": ["basic", "pro"], "counts": [60, 20], "other": 10}]')
WHERE model = 'mon_cls';
CREATE TABLE mon_cls_cur AS
SELECT id, u, v, CASE WHEN id % 10 < 3 THEN 'basic' WHEN id % 10 < 8 THEN 'pro' WHEN id % 10 < 9 THEN 'team' END AS plan
FROM mon_cls WHERE id <= 1000;
-- reference (basic, pro, other, null) = (.6, .2, .1, .1); current = (.3, .5, .1, .1)
SELECT feature, kind, null_rate,
       abs(js - sqrt((0.6 * log(2, 0.6 / 0.45) + 0.3 * log(2, 0.3 / 0.45) + 0.2 * log(2, 0.2 / 0.35) + 0.5 * log(2, 0.5 / 0.35)) / 2)) < 1e-12 AS js_ok,
       abs(linf - 0.3) < 1e-12 AS linf_ok,
       abs(psi - ((0.3 - 0.6) * ln(0.3 / 0.6) + (0.5 - 0.2) * ln(0.5 / 0.2))) < 1e-12 AS psi_ok,
       metric, threshold, drifted
FROM mlsys.drift('mon_cls', 'mon_cls_cur') WHERE feature = 'plan';

-- outcomes: label is text (the actual outcome); record_outcomes fills it in
SELECT mlsys.predict_batch('mon_cls', 'mon_cls', 'id');
CREATE TABLE mon_outcomes AS SELECT id, outcome FROM mon_cls WHERE id % 2 = 0;
SELECT mlsys.record_outcomes('mon_cls', 'mon_outcomes', 'id', 'outcome');
SELECT count(*) FILTER (WHERE label IS NOT NULL) AS labeled, count(*) FILTER (WHERE labeled_at IS NOT NULL) AS stamped
FROM mlsys.predictions WHERE model = 'mon_cls';
-- again: nothing changes
SELECT mlsys.record_outcomes('mon_cls', 'mon_outcomes', 'id', 'outcome');

-- live AUC equals mlsys.auc over the labeled predictions; baseline is the holdout auc
SELECT p.predictions, p.labeled, p.metric,
       abs(p.value - (SELECT mlsys.auc(probability, label = 'stay') FROM mlsys.predictions WHERE model = 'mon_cls' AND label IS NOT NULL)) < 1e-12 AS value_ok,
       p.baseline = (SELECT (metrics ->> 'auc')::float8 FROM mlsys.model_versions WHERE model = 'mon_cls') AS baseline_ok,
       p.degraded
FROM mlsys.performance('mon_cls', '100 days') p;

-- concept drift: flipped outcomes make the live AUC collapse
UPDATE mon_outcomes SET outcome = CASE outcome WHEN 'churn' THEN 'stay' ELSE 'churn' END;
SELECT mlsys.record_outcomes('mon_cls', 'mon_outcomes', 'id', 'outcome');
SELECT p.metric, p.value < 0.5 AS collapsed, p.degraded FROM mlsys.performance('mon_cls', '100 days') p;

-- regression: rmse of labeled predictions, degraded by the relative tolerance
SELECT mlsys.predict_batch('mon', 'mon_train', 'id');
SELECT mlsys.record_outcomes('mon', 'mon_train', 'id', 'y');
SELECT p.labeled, p.metric,
       abs(p.value - (SELECT mlsys.rmse(prediction, label::float8) FROM mlsys.predictions WHERE model = 'mon')) < 1e-12 AS value_ok,
       p.degraded
FROM mlsys.performance('mon', '100 days') p;
UPDATE mlsys.predictions SET label = (label::float8 + 50)::text WHERE model = 'mon';
SELECT p.metric, p.degraded FROM mlsys.performance('mon', '100 days') p;

-- check: drift on the configured relation and window, performance, alerts
-- and history
SELECT mlsys.configure('mon', '{"relation": "mon_cur", "time_column": "ts", "window": "1 day"}');
SELECT kind, feature, metric, round(value::numeric, 4) AS value, round(threshold::numeric, 4) AS threshold,
       detail ->> 'rows' AS rows, round((detail ->> 'baseline')::numeric, 4) AS baseline
FROM mlsys.check('mon') ORDER BY id;
SELECT count(*) AS alerts, count(DISTINCT check_id) AS checks FROM mlsys.alerts WHERE model = 'mon';
SELECT feature, metric, threshold IS NOT NULL AS deciding, drifted
FROM mlsys.drift_history WHERE model = 'mon' AND (threshold IS NOT NULL OR feature = '<performance>') ORDER BY feature, metric;
SELECT count(*) AS figures FROM mlsys.drift_history WHERE model = 'mon';
-- a window that excludes every row: no rows, no drift alerts
UPDATE mon_cur SET ts = now() - interval '2 days';
SELECT kind, feature FROM mlsys.check('mon');
SELECT DISTINCT rows FROM mlsys.drift_history WHERE model = 'mon' AND check_id = (SELECT max(check_id) FROM mlsys.drift_history) AND feature <> '<performance>';

-- views
SELECT model, task, deployed_version, algorithm, train_rows, last_check_at IS NOT NULL AS checked, open_alerts, live_metric
FROM mlsys.model_overview WHERE model LIKE 'mon%' ORDER BY model;
SELECT model, version, predictions, round(mean_prediction::numeric, 4) = round((SELECT avg(coalesce(probability, prediction)) FROM mlsys.predictions WHERE model = s.model)::numeric, 4) AS mean_ok,
       positive_rate IS NOT NULL AS has_positive_rate, labeled, live_metric
FROM mlsys.prediction_stats s WHERE model LIKE 'mon%' ORDER BY model;
SELECT c.relname, c.reloptions FROM pg_class c WHERE c.oid IN ('mlsys.model_overview'::regclass, 'mlsys.prediction_stats'::regclass, 'mlsys.latest_predictions'::regclass) ORDER BY 1;
-- one live metric per task: prediction_stats' binary figure is mlsys.performance's AUC
SELECT s.live_metric, abs(s.live_value - (SELECT p.value FROM mlsys.performance('mon_cls', '1 day') p WHERE p.version = 1
                                            AND p.bucket_start = s.day AT TIME ZONE 'UTC')) < 1e-12 AS same_as_performance
FROM mlsys.prediction_stats s WHERE s.model = 'mon_cls' AND s.labeled > 0;
-- a dashboard's filter on the day reaches the index on (model, UTC day)
CREATE FUNCTION mon_plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; o text := '';
BEGIN FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP o := o || r || E'\n'; END LOOP; RETURN o; END $$;
SET enable_seqscan = off;
SELECT mon_plan($$SELECT * FROM mlsys.prediction_stats WHERE model = 'mon' AND day >= '2100-01-01'$$)
       LIKE '%predictions_model_day_idx%' AS day_index_used;
RESET enable_seqscan;
-- the latest prediction per entity
INSERT INTO mlsys.predictions (run_id, model, version, entity_id, prediction, predicted_at)
SELECT run_id, model, version, entity_id, 1e9, predicted_at + interval '1 second'
FROM mlsys.predictions WHERE model = 'mon' AND entity_id IN ('1', '2');
SELECT entity_id, prediction = 1e9 AS newest, (SELECT count(*) FROM mlsys.predictions p WHERE p.model = 'mon' AND p.entity_id = l.entity_id) AS rows
FROM mlsys.latest_predictions l WHERE model = 'mon' AND entity_id IN ('1', '2') ORDER BY entity_id;
SELECT count(*) = (SELECT count(DISTINCT (model, entity_id)) FROM mlsys.predictions) AS one_row_per_entity FROM mlsys.latest_predictions;
DELETE FROM mlsys.predictions WHERE model = 'mon' AND prediction = 1e9;

-- bad inputs
-- invalid input: null model
SELECT * FROM mlsys.drift(NULL, 'mon_cur');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: unknown model
SELECT * FROM mlsys.drift('nope', 'mon_cur');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: unknown version
SELECT * FROM mlsys.drift('mon', 'mon_cur', 9);
\echo :LAST_ERROR_SQLSTATE
-- invalid input: the relation lacks a feature column
CREATE TABLE mon_missing AS SELECT a FROM mon_cur;
SELECT * FROM mlsys.drift('mon', 'mon_missing');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: a numeric feature is text in the relation
CREATE TABLE mon_text AS SELECT a::text AS a, b FROM mon_cur;
SELECT * FROM mlsys.drift('mon', 'mon_text');
\echo :LAST_ERROR_SQLSTATE
-- NaN counts as missing (as training's imputation treats it); no prediction for that row
CREATE TABLE mon_nan AS SELECT CASE WHEN id % 4 = 0 THEN 'NaN'::float8 ELSE a END AS a, b FROM mon_cur;
SELECT feature, null_rate FROM mlsys.drift('mon', 'mon_nan');
-- invalid input: infinity in a feature
UPDATE mon_nan SET a = 'Infinity' WHERE a = 'NaN';
SELECT * FROM mlsys.drift('mon', 'mon_nan');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: ks on a categorical feature
SELECT mlsys.configure('mon_cls', '{"features": {"plan": {"metric": "ks"}}}');
SELECT * FROM mlsys.drift('mon_cls', 'mon_cls_cur');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: wasserstein without a threshold
SELECT mlsys.configure('mon_cls', '{"features": {"u": {"metric": "wasserstein"}}}');
SELECT * FROM mlsys.drift('mon_cls', 'mon_cls_cur');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: a version without a baseline
DELETE FROM mlsys.baselines WHERE model = 'mon_c';
SELECT * FROM mlsys.drift('mon_c', 'mon_const');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: a tampered baseline grid
UPDATE mlsys.baselines SET profile = jsonb_set(profile, '{features,0,grid,e}', '5000') WHERE model = 'mon_arr';
SELECT * FROM mlsys.drift('mon_arr', 'mon_arr');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: record_outcomes with a missing column
SELECT mlsys.record_outcomes('mon', 'mon_cur', 'id', 'nope');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: record_outcomes for an unknown model
SELECT mlsys.record_outcomes('nope', 'mon_cur', 'id', 'a');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: a bucket that is not positive
SELECT * FROM mlsys.performance('mon', '0 seconds');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: check with a window but no time column
SELECT mlsys.configure('mon', '{"time_column": null}');
SELECT * FROM mlsys.check('mon');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: negative retention
SELECT * FROM mlsys.prune('-1 day');
\echo :LAST_ERROR_SQLSTATE

-- a baseline can be captured again by hand
SELECT jsonb_array_length(mlsys.capture_baseline('mon_c', 1) -> 'features') AS features;

-- retention: everything logged before this statement goes
SELECT predictions > 0 AS pruned_predictions, history > 0 AS pruned_history, alerts FROM mlsys.prune('0 seconds');
SELECT (SELECT count(*) FROM mlsys.predictions) AS predictions, (SELECT count(*) FROM mlsys.drift_history) AS history;
