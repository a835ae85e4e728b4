-- mlsys.report: the structure of the page on a small fixed story (sections,
-- charts, no external references, escaping), number formatting, errors, a
-- model without checks or labels, and a caller who may read only part of it
SET client_min_messages = warning;

-- the formatting helpers
SELECT x, mlsys._fmt(x) FROM unnest(ARRAY[2.5934, 120000, 1234567.8, 12.5, 3, 0.04567, 0, -0.25, 0.00002, 1e20,
                                          'NaN', 'Infinity', NULL]::float8[]) x;
SELECT mlsys._html($$<a href="x">Tom & Jerry's</a>$$) AS escaped, mlsys._html(NULL) = '' AS null_is_empty;

-- the story: a binary churn model with a feature named <script>, a
-- categorical plan with &, quotes and a new category in the current window,
-- a shifted tenure, a batch of predictions and their outcomes, two checks
CREATE TABLE rp_train AS
SELECT i AS id, (i % 50)::float8 AS tenure, ((i * 37) % 101)::float8 AS "<script>",
       (ARRAY['basic', 'pro & co', 'ent"x'])[1 + i % 3] AS plan,
       ((i % 50) + ((i * 37) % 101) * 0.3 + (i % 3) * 5 > 45) AS churned
FROM generate_series(1, 3000) i;
SELECT version FROM mlsys.train('rp', 'rp_train', 'churned', ARRAY['tenure', '<script>', 'plan'], 'logistic');
CREATE TABLE rp_cur AS
SELECT i AS id, (i % 50)::float8 + 20 AS tenure, ((i * 37) % 101)::float8 AS "<script>",
       (ARRAY['basic', 'pro & co', 'ent"x', 'new'])[1 + i % 4] AS plan
FROM generate_series(1, 2000) i;
SELECT mlsys.configure('rp', '{"relation": "rp_cur"}') IS NOT NULL AS configured;
SELECT kind, feature, metric FROM mlsys.check('rp') ORDER BY kind, feature;
SELECT count(*) FROM mlsys.predict_batch('rp', 'rp_cur', 'id');
CREATE TABLE rp_out AS SELECT id, (tenure + "<script>" * 0.3 > 50) AS churned FROM rp_cur;
SELECT mlsys.record_outcomes('rp', 'rp_out', 'id', 'churned');
SELECT count(*) > 0 AS alerts FROM mlsys.check('rp');

-- the check kept the current counts on the baseline's bins: they add up to
-- the checked rows (no nulls here), one more bin than the baseline's
-- categories for plan (the other categories) and two more than the grid
-- for numeric features (below and above it)
SELECT h.feature, (SELECT sum(x) FROM unnest(h.current_counts) x) = h.rows AS counts_add_up,
       cardinality(h.current_counts) - CASE WHEN f ->> 'kind' = 'categorical' THEN jsonb_array_length(f -> 'categories')
                                            ELSE jsonb_array_length(f #> '{grid,counts}') END AS extra_bins,
       CASE WHEN h.feature = 'plan' THEN h.current_counts[4] END AS other_plans
FROM mlsys.drift_history h
JOIN mlsys.baselines b ON b.model = h.model AND b.version = h.version
CROSS JOIN LATERAL jsonb_array_elements((b.profile -> 'features') || jsonb_build_array(b.profile -> 'prediction')) f
WHERE h.model = 'rp' AND h.current_counts IS NOT NULL AND f ->> 'name' = h.feature
  AND h.check_id = (SELECT max(check_id) FROM mlsys.drift_history WHERE model = 'rp')
ORDER BY h.feature;

-- training kept a holdout sample: here the whole holdout (under 2,000 rows),
-- the probability of the positive class and the outcome per row
SELECT cardinality(h.actual) = v.test_rows AS whole_holdout, cardinality(h.score) = cardinality(h.actual) AS scored,
       (SELECT bool_and(x BETWEEN 0 AND 1) FROM unnest(h.score) x) AS probabilities,
       (SELECT array_agg(DISTINCT a ORDER BY a) FROM unnest(h.actual) a) AS outcomes
FROM mlsys.holdout_samples h JOIN mlsys.model_versions v USING (model, version) WHERE h.model = 'rp';

CREATE TABLE rp_page AS SELECT mlsys.report('rp') AS html;

-- a whole HTML5 document, every section present, in their order
SELECT html LIKE '<!DOCTYPE html><html lang="en">%</html>' AS document,
       ARRAY(SELECT m[1] FROM regexp_matches(html, '<section id="([a-z-]+)"', 'g') m) AS sections
FROM rp_page;

-- charts: the timeline, the ROC curve, the holdout metric, four distributions (tenure,
-- <script>, plan, the prediction), four drift histories, live performance,
-- volume; every chart has a title, tooltips on its marks and a legend
SELECT (SELECT count(*) FROM regexp_matches(html, '<svg ', 'g')) AS svgs,
       (SELECT count(*) FROM regexp_matches(html, '</svg>', 'g')) AS svgs_closed,
       (SELECT count(*) FROM regexp_matches(html, '<text class="ct"', 'g')) AS chart_titles,
       (SELECT count(*) FROM regexp_matches(html, 'class="leg"', 'g')) >= 12 AS legends,
       (SELECT count(*) FROM regexp_matches(html, '<(circle|rect) class="mark"[^>]*><title>', 'g')) > 50 AS tooltips
FROM rp_page;

-- nothing to fetch: no scripts, no addresses, no protocol-relative links
SELECT html !~* 'https?:' AS no_http, position('//' IN html) = 0 AS no_double_slash,
       html !~* '<script' AS no_script_tag, html !~* '<(img|link|iframe|object|embed)' AS no_external_elements,
       html !~* '(src|href)=' AS no_src_or_href
FROM rp_page;

-- names and categories are escaped, in the tables and in the charts
SELECT (SELECT count(*) FROM regexp_matches(html, '&lt;script&gt;', 'g')) >= 3 AS feature_escaped,
       position('pro &amp; co' IN html) > 0 AS ampersand_escaped,
       position('ent&quot;x' IN html) > 0 AS quote_escaped,
       position('ent"x' IN html) = 0 AS no_raw_quote,
       position('other, current window: 25%' IN html) > 0 AS new_category_in_other
FROM rp_page;

-- numbers for people: the batch's 2,000 predictions and labelled share
SELECT position('2,000 labelled predictions (100% of 2,000)' IN html) > 0 AS labelled_line,
       position('2,250 training rows' IN html) > 0 AS training_rows,
       html ~ 'drifted' AS drift_marked,
       position('ROC curve on 750 holdout rows' IN html) > 0 AS roc_curve
FROM rp_page;

-- the prediction rollup: a check computes the closed days of the last 30
-- (a day without predictions as version 0), as mlsys.performance has them
-- (predictions moved by hand: deleting the rollup's rows has them computed again)
UPDATE mlsys.predictions SET predicted_at = predicted_at - interval '2 days' WHERE model = 'rp';
DELETE FROM mlsys.prediction_rollup WHERE model = 'rp';
SELECT count(*) >= 0 AS checked FROM mlsys.check('rp');
SELECT count(*) AS days, count(*) FILTER (WHERE version = 0) AS empty_days, bool_or(stale) AS stale
FROM mlsys.prediction_rollup WHERE model = 'rp';
SELECT r.version, r.predictions, r.labeled, r.metric, r.value = p.value AS same_as_performance
FROM mlsys.prediction_rollup r
JOIN mlsys.performance('rp', '1 day', now() - interval '5 days') p ON p.bucket_start = r.day AND p.version = r.version
WHERE r.model = 'rp';
-- the report reads a closed day from the rollup, not from the predictions
UPDATE mlsys.prediction_rollup SET value = 0.123 WHERE model = 'rp' AND version = 1;
SELECT position('auc 0.123,' IN mlsys.report('rp')) > 0 AS read_from_rollup;
-- new labels of that day make it stale: the report computes it from the
-- predictions, and the next check computes its row again
UPDATE rp_out SET churned = NOT churned WHERE id % 10 = 0;
SELECT mlsys.record_outcomes('rp', 'rp_out', 'id', 'churned');
SELECT stale FROM mlsys.prediction_rollup WHERE model = 'rp' AND version = 1;
SELECT position('auc 0.123,' IN mlsys.report('rp')) = 0 AS recomputed;
SELECT count(*) >= 0 AS checked FROM mlsys.check('rp');
SELECT r.stale, r.value = p.value AS same_as_performance
FROM mlsys.prediction_rollup r
JOIN mlsys.performance('rp', '1 day', now() - interval '5 days') p ON p.bucket_start = r.day AND p.version = r.version
WHERE r.model = 'rp';

-- the version argument: the same page for the live version named; errors
\set VERBOSITY sqlstate
SELECT length(mlsys.report('rp', 1)) > 0 AS explicit_version;
SELECT mlsys.report('rp_nope');
SELECT mlsys.report('rp', 7);
SELECT mlsys.report(NULL);
\set VERBOSITY default

-- a model without checks or labels: notes, not errors
CREATE TABLE rp2_train AS SELECT i AS id, (i % 10)::float8 AS a, (i % 10) * 2.0 + (i % 3) AS y FROM generate_series(1, 500) i;
SELECT version FROM mlsys.train('rp2', 'rp2_train', 'y', ARRAY['a']);
SELECT position('No drift check of version 1 yet' IN r) > 0 AS no_check_note,
       position('No drift checks of version 1 in the last 30 days' IN r) > 0 AS no_history_note,
       position('No labelled predictions of version 1' IN r) > 0 AS no_labels_note,
       position('No open alerts' IN r) > 0 AS no_alerts_note,
       position('No predictions in the last 30 days' IN r) > 0 AS no_volume_note,
       position('Predicted against actual on' IN r) > 0 AS predicted_against_actual,
       (SELECT count(*) FROM regexp_matches(r, '<svg ', 'g')) AS svgs
FROM mlsys.report('rp2') r;
-- a multiclass model: its confusion matrix, class names escaped
SELECT version FROM mlsys.train('rp3', 'rp_train', 'plan', ARRAY['tenure', '<script>']);
SELECT position('<table class="confusion">' IN r) > 0 AS confusion_matrix,
       position('<th class="n">ent&quot;x</th>' IN r) > 0 AS class_escaped,
       (SELECT count(*) FROM regexp_matches(r, 'title="actual [^"]*, predicted [^"]*: [0-9,]+ rows"', 'g')) AS cells
FROM mlsys.report('rp3') r;
-- no holdout sample (say, a version from before mlsys kept them): a note
DELETE FROM mlsys.holdout_samples WHERE model = 'rp3';
SELECT position('No holdout sample of version 1 is kept' IN mlsys.report('rp3')) > 0 AS no_sample_note;
-- its baseline dropped as well: still a page
DELETE FROM mlsys.baselines WHERE model = 'rp2';
SELECT mlsys.report('rp2') LIKE '%</html>' AS page_without_baseline;

-- a caller who may read the registry but not the predictions, monitoring
-- tables or alerts gets the sections it may read and a note for the rest
CREATE ROLE rp_viewer;
GRANT USAGE ON SCHEMA mlsys TO rp_viewer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mlsys TO rp_viewer;
GRANT SELECT ON mlsys.models, mlsys.model_versions, mlsys.deployments TO rp_viewer;
SET ROLE rp_viewer;
SELECT position('id="header"' IN r) > 0 AS header,
       position('2,250 training rows' IN r) > 0 AS registry_read,
       position('You may not read the drift history or the baselines' IN r) > 0 AS drift_note,
       position('You may not read this model''s predictions' IN r) > 0 AS predictions_note,
       position('You may not read the alerts' IN r) > 0 AS alerts_note,
       position('You may not read the holdout samples' IN r) > 0 AS sample_note,
       position('You may not read the batch prediction runs' IN r) > 0 AS runs_note,
       (SELECT count(*) FROM regexp_matches(r, '<svg ', 'g')) AS svgs
FROM mlsys.report('rp') r;
RESET ROLE;
-- a private model's report, like its other monitoring, needs the score privilege on it
SELECT mlsys.configure('rp', '{"private": true}') ->> 'private' AS private;
SET ROLE rp_viewer;
\set VERBOSITY sqlstate
SELECT mlsys.report('rp');
\set VERBOSITY default
RESET ROLE;
SELECT mlsys.configure('rp', '{"private": false}') ->> 'private' AS private;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mlsys FROM rp_viewer;
REVOKE ALL ON ALL TABLES IN SCHEMA mlsys FROM rp_viewer;
REVOKE ALL ON SCHEMA mlsys FROM rp_viewer;
DROP ROLE rp_viewer;

SELECT mlsys.drop_model('rp'), mlsys.drop_model('rp2'), mlsys.drop_model('rp3');
DROP TABLE rp_train, rp_cur, rp_out, rp_page, rp2_train;
