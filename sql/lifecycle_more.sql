-- lifecycle for multiclass classifiers and recommenders: retrain decisions
-- (champion and challenger on the challenger's fresh holdout), the recorded
-- decisions, and reproduce

-- multiclass: an integer target with three classes (class order 1, 2, 10,
-- not text order), the class index compared in the target's own type
CREATE TABLE lcm_mc AS
SELECT i AS id, x1, x2,
       CASE WHEN 2 * x1 + x2 + (hashint4(i) % 100) / 60.0 > 1.5 THEN 10
            WHEN x1 - x2 + (hashint4(i * 7) % 100) / 80.0 > 0 THEN 2
            ELSE 1 END AS grade
FROM (SELECT i, (hashint4(i * 3) % 1000) / 500.0 AS x1, (hashint4(i * 5) % 1000) / 500.0 AS x2
      FROM generate_series(1, 1500) i) s;
SELECT version, deployed, algorithm FROM mlsys.train('lcm_mc', 'lcm_mc', 'grade', ARRAY['x1', 'x2']);
SELECT mlsys.classes('lcm_mc');

-- unchanged data: the challenger equals the champion (a tie keeps it); the
-- champion's fresh log loss is its own holdout log loss
SELECT version, deployed, decision,
       abs((champion_metrics ->> 'fresh_log_loss')::float8 - (metrics ->> 'log_loss')::float8) < 1e-12 AS same_score
FROM mlsys.retrain('lcm_mc');

-- the relationship changes: the champion is bad on fresh data
UPDATE lcm_mc SET grade = CASE WHEN x2 > 1 THEN 1 WHEN x1 > 1 THEN 10 ELSE 2 END;
SELECT version, deployed, decision,
       (metrics ->> 'log_loss')::float8 < (champion_metrics ->> 'fresh_log_loss')::float8 / 2 AS much_better
FROM mlsys.retrain('lcm_mc');
SELECT mlsys.live_version('lcm_mc');

-- the other metrics: accuracy and macro_f1 (classification_report's macro
-- average), on unchanged data a tie, the challenger's fresh score its own
SELECT mlsys.configure('lcm_mc', '{"metric": "accuracy"}');
SELECT version, deployed, decision FROM mlsys.retrain('lcm_mc');
SELECT mlsys.configure('lcm_mc', '{"metric": "macro_f1"}');
SELECT version, deployed, decision FROM mlsys.retrain('lcm_mc');
SELECT mlsys.configure('lcm_mc', '{"metric": "auc"}');
\set VERBOSITY sqlstate
SELECT version FROM mlsys.retrain('lcm_mc');
\set VERBOSITY default
SELECT mlsys.configure('lcm_mc', '{"metric": null}');

-- every decision recorded; the holdout is the challenger's (its test_rows)
SELECT d.champion_version, d.challenger_version, d.metric, d.lower_is_better, d.deployed, d.decision,
       d.holdout_rows = v.test_rows AS challenger_holdout,
       abs(d.challenger_score - (v.metrics ->> d.metric)::float8) < 1e-12 AS challenger_score_is_its_own,
       regexp_replace(d.reason, '[0-9]+(\.[0-9]+)?', 'N', 'g') AS reason
FROM mlsys.retrain_decisions d
JOIN mlsys.model_versions v ON v.model = d.model AND v.version = d.challenger_version
WHERE d.model = 'lcm_mc' ORDER BY d.id;

-- reproduce: the live version on unchanged data, and version 1 on changed data
SELECT * FROM mlsys.reproduce('lcm_mc', 3);
SELECT data_unchanged, params_match, max_abs_diff > 0.1 AS far FROM mlsys.reproduce('lcm_mc', 1);
SELECT last_version FROM mlsys.models WHERE model = 'lcm_mc';

-- recommenders: the split rule from SQL (implicit: round(test_size * n), at
-- least one interaction stays in training)
SELECT mlsys._recommender_holdout_count(10, 0.2) AS n10, mlsys._recommender_holdout_count(1, 0.9) AS n1,
       mlsys._recommender_holdout_count(3, 0.99) AS n3, mlsys._recommender_holdout_count(7, 0) AS none;
SELECT mlsys._recommender_in_holdout(u, i, 0, 0.3) = (mlsys._recommender_split_u(u, i, 0) < 0.3) AS same_rule,
       count(*), count(*) FILTER (WHERE mlsys._recommender_in_holdout(u, i, 0, 0.3)) BETWEEN 250 AND 350 AS about_30_percent
FROM generate_series(1, 40) u, generate_series(1, 25) i GROUP BY 1;

-- explicit: ratings with a planted rank-2 structure
SELECT setseed(0.5);
CREATE TABLE lcm_ratings AS
SELECT u AS user_id, i AS item_id,
       4 + 0.3 * sin(u * 1.3) + 0.4 * cos(i * 0.7)
         + 0.9 * (sin(u * 0.37) * cos(i * 0.51) + cos(u * 0.23 + 1) * sin(i * 0.29 + 2)) AS rating
FROM generate_series(1, 120) u, generate_series(1, 80) i WHERE random() < 0.4;
SELECT version, deployed, algorithm
FROM mlsys.train_recommender('lcm_rec', 'lcm_ratings', rating_column => 'rating',
                             hyperparams => '{"factors": 6, "regularization": 0.02, "iterations": 10}');
-- unchanged: a tie, the champion's fresh rmse is its stored holdout rmse exactly
SELECT version, deployed, decision, (champion_metrics ->> 'fresh_rmse')::float8 = (metrics ->> 'rmse')::float8 AS same_score
FROM mlsys.retrain('lcm_rec');
-- another structure: the challenger is deployed
UPDATE lcm_ratings SET rating = 4 + 0.9 * (cos(user_id * 0.41) * sin(item_id * 0.33) - sin(user_id * 0.19 + 2) * cos(item_id * 0.21));
SELECT version, deployed, decision, (metrics ->> 'rmse')::float8 < (champion_metrics ->> 'fresh_rmse')::float8 / 5 AS much_better
FROM mlsys.retrain('lcm_rec');
SELECT version AS live FROM mlsys.deployments WHERE model = 'lcm_rec' ORDER BY id DESC LIMIT 1;
-- the challenger's stored holdout metrics are what mlsys.evaluate_recommender
-- gives for it (now live) on its holdout interactions: the comparison used
-- the same rows for both (training also records its fit time, fit_seconds)
DO $$ BEGIN EXECUTE 'CREATE TEMP TABLE lcm_holdout AS ' || mlsys._recommender_holdout_query('lcm_rec', 3); END $$;
SELECT mlsys.evaluate_recommender('lcm_rec', 'lcm_holdout', 10, 'user_id', 'item_id', 'rating')
       = (SELECT metrics - 'fit_seconds' FROM mlsys.model_versions WHERE model = 'lcm_rec' AND version = 3) AS stored_metrics_reproduced,
       (SELECT count(*) FROM (SELECT DISTINCT user_id, item_id FROM lcm_holdout) d)
       = (SELECT test_rows FROM mlsys.model_versions WHERE model = 'lcm_rec' AND version = 3) AS holdout_is_test_rows;
-- duplicates of a held-out interaction stay together (training sums them)
INSERT INTO lcm_ratings SELECT user_id, item_id, 0.5 FROM lcm_holdout ORDER BY user_id, item_id LIMIT 20;
INSERT INTO lcm_ratings SELECT user_id, item_id, 0.5 FROM lcm_ratings WHERE (user_id, item_id) NOT IN (SELECT user_id, item_id FROM lcm_holdout) ORDER BY user_id, item_id LIMIT 20;
SELECT version, decision FROM mlsys.retrain('lcm_rec');
DO $$ BEGIN EXECUTE 'CREATE TEMP TABLE lcm_holdout4 AS ' || mlsys._recommender_holdout_query('lcm_rec', 4); END $$;
SELECT (SELECT count(*) FROM lcm_holdout4) - (SELECT count(*) FROM (SELECT DISTINCT user_id, item_id FROM lcm_holdout4) d) AS duplicate_rows,
       mlsys.evaluate_recommender('lcm_rec', 'lcm_holdout4', 10, 'user_id', 'item_id', 'rating')
       = (SELECT metrics - 'fit_seconds' FROM mlsys.model_versions WHERE model = 'lcm_rec' AND version = 4) AS stored_metrics_reproduced;
DELETE FROM lcm_ratings WHERE rating = 0.5;

-- reproduce: bit-identical factors on unchanged data; changed data differs
SELECT * FROM mlsys.reproduce('lcm_rec', 3);
SELECT * FROM mlsys.reproduce('lcm_rec', 1);

-- implicit: users click half of the items of their group; then every user
-- moves to the next group
SELECT setseed(0.75);
CREATE TABLE lcm_clicks AS
SELECT u AS user_id, (u % 4) * 20 + j AS item_id
FROM generate_series(1, 120) u, generate_series(1, 20) j WHERE random() < 0.5;
SELECT version, deployed, algorithm
FROM mlsys.train_recommender('lcm_imp', 'lcm_clicks', hyperparams => '{"factors": 4, "regularization": 1, "iterations": 8}');
SELECT version, deployed, decision,
       (champion_metrics ->> 'fresh_ndcg_at_10')::float8 = (metrics ->> 'ndcg_at_10')::float8 AS same_score
FROM mlsys.retrain('lcm_imp');
UPDATE lcm_clicks SET item_id = ((item_id - 1) / 20 + 1) % 4 * 20 + (item_id - 1) % 20 + 1;
SELECT version, deployed, decision,
       (metrics ->> 'ndcg_at_10')::float8 > 0.3 AS good, (champion_metrics ->> 'fresh_ndcg_at_10')::float8 < 0.05 AS stale
FROM mlsys.retrain('lcm_imp');
SELECT * FROM mlsys.reproduce('lcm_imp', 3);
SELECT * FROM mlsys.reproduce('lcm_imp', 1);

-- the recommender decisions, recorded with the challenger's holdout size
SELECT d.model, d.champion_version, d.challenger_version, d.metric, d.lower_is_better, d.deployed, d.decision,
       d.holdout_rows = v.test_rows AS challenger_holdout,
       regexp_replace(d.reason, '[0-9]+(\.[0-9]+)?', 'N', 'g') AS reason
FROM mlsys.retrain_decisions d
LEFT JOIN mlsys.model_versions v ON v.model = d.model AND v.version = d.challenger_version
WHERE d.model IN ('lcm_rec', 'lcm_imp') ORDER BY d.id;
SELECT model, version, reason FROM mlsys.deployments WHERE model IN ('lcm_mc', 'lcm_rec', 'lcm_imp') ORDER BY id;
SELECT model, kind, status, version FROM mlsys.training_runs WHERE model IN ('lcm_rec', 'lcm_imp') ORDER BY id;

-- min_rows counts interactions; the retrain is skipped and recorded
SELECT mlsys.configure('lcm_imp', '{"min_rows": 100000}');
SELECT version, deployed, decision FROM mlsys.retrain('lcm_imp');
SELECT mlsys.configure('lcm_imp', '{"min_rows": null}');

-- errors: a metric the task cannot compare on; an implicit model without holdout
\set VERBOSITY sqlstate
SELECT mlsys.configure('lcm_imp', '{"metric": "rmse"}');
SELECT version FROM mlsys.retrain('lcm_imp');
SELECT mlsys.configure('lcm_imp', '{"metric": null}');
SELECT version FROM mlsys.train_recommender('lcm_imp0', 'lcm_clicks', hyperparams => '{"factors": 2, "iterations": 2}', test_size => 0);
SELECT version FROM mlsys.retrain('lcm_imp0');
SELECT count(*) FROM mlsys.model_versions WHERE model = 'lcm_imp0';
\set VERBOSITY default

-- drop_model removes a recommender with its decisions
SELECT mlsys.drop_model(m) FROM unnest(ARRAY['lcm_mc', 'lcm_rec', 'lcm_imp', 'lcm_imp0']) m;
SELECT (SELECT count(*) FROM mlsys.model_versions WHERE model LIKE 'lcm%') AS versions,
       (SELECT count(*) FROM mlsys.retrain_decisions WHERE model LIKE 'lcm%') AS decisions,
       (SELECT count(*) FROM mlsys.deployments WHERE model LIKE 'lcm%') AS deployments;
DROP TABLE lcm_mc, lcm_ratings, lcm_clicks;
