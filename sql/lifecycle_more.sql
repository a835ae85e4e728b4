-- lifecycle for multiclass classifiers and recommenders: retrain decisions
-- (champion and challenger on the challenger's fresh holdout), the recorded
-- decisions, and reproduce

-- multiclass: an integer target with three classes (class order 1, 2, 10,
-- not text order), the class index compared in the target's own type
CREATE TABLE lm AS
SELECT i AS id, x1, x2,
       CASE WHEN 2 * x1 + x2 + (hashint4(i) % 100) / 60.0 > 1.5 THEN 10
            WHEN x1 - x2 + (hashint4(i * 7) % 100) / 80.0 > 0 THEN 2
            ELSE 1 END AS grade
FROM (SELECT i, (hashint4(i * 3) % 1000) / 500.0 AS x1, (hashint4(i * 5) % 1000) / 500.0 AS x2
      FROM generate_series(1, 1500) i) s;
SELECT version, deployed, algorithm FROM mlsys.train('lm', 'lm', 'grade', ARRAY['x1', 'x2']);
SELECT mlsys.classes('lm');

-- unchanged data: the challenger equals the champion (a tie keeps it); the
-- champion's fresh log loss is its own holdout log loss
SELECT version, deployed, decision,
       abs((champion_metrics ->> 'fresh_log_loss')::float8 - (metrics ->> 'log_loss')::float8) < 1e-12 AS same_score
FROM mlsys.retrain('lm');

-- the relationship changes: the champion is bad on fresh data
UPDATE lm SET grade = CASE WHEN x2 > 1 THEN 1 WHEN x1 > 1 THEN 10 ELSE 2 END;
SELECT version, deployed, decision,
       (metrics ->> 'log_loss')::float8 < (champion_metrics ->> 'fresh_log_loss')::float8 / 2 AS much_better
FROM mlsys.retrain('lm');
SELECT mlsys.live_version('lm');

-- the other metrics: accuracy and macro_f1 (classification_report's macro
-- average), on unchanged data a tie, the challenger's fresh score its own
SELECT mlsys.configure('lm', '{"metric": "accuracy"}');
SELECT version, deployed, decision FROM mlsys.retrain('lm');
SELECT mlsys.configure('lm', '{"metric": "macro_f1"}');
SELECT version, deployed, decision FROM mlsys.retrain('lm');
SELECT mlsys.configure('lm', '{"metric": "auc"}');
\set VERBOSITY sqlstate
SELECT version FROM mlsys.retrain('lm');
\set VERBOSITY default
SELECT mlsys.configure('lm', '{"metric": null}');

-- every decision recorded; the holdout is the challenger's (its test_rows)
SELECT d.champion_version, d.challenger_version, d.metric, d.lower_is_better, d.deployed, d.decision,
       d.holdout_rows = v.test_rows AS challenger_holdout,
       abs(d.challenger_score - (v.metrics ->> d.metric)::float8) < 1e-12 AS challenger_score_is_its_own,
       regexp_replace(d.reason, '[0-9]+(\.[0-9]+)?', 'N', 'g') AS reason
FROM mlsys.retrain_decisions d
JOIN mlsys.model_versions v ON v.model = d.model AND v.version = d.challenger_version
WHERE d.model = 'lm' ORDER BY d.id;

-- reproduce: the live version on unchanged data, and version 1 on changed data
SELECT * FROM mlsys.reproduce('lm', 3);
SELECT data_unchanged, params_match, max_abs_diff > 0.1 AS far FROM mlsys.reproduce('lm', 1);
SELECT last_version FROM mlsys.models WHERE model = 'lm';

-- recommenders: the split rule from SQL (implicit: round(test_size * n), at
-- least one interaction stays in training)
SELECT mlsys._recommender_holdout_count(10, 0.2) AS n10, mlsys._recommender_holdout_count(1, 0.9) AS n1,
       mlsys._recommender_holdout_count(3, 0.99) AS n3, mlsys._recommender_holdout_count(7, 0) AS none;
SELECT mlsys._recommender_in_holdout(u, i, 0, 0.3) = (mlsys._recommender_split_u(u, i, 0) < 0.3) AS same_rule,
       count(*), count(*) FILTER (WHERE mlsys._recommender_in_holdout(u, i, 0, 0.3)) BETWEEN 250 AND 350 AS about_30_percent
FROM generate_series(1, 40) u, generate_series(1, 25) i GROUP BY 1;

-- explicit: ratings with a planted rank-2 structure
SELECT setseed(0.5);
CREATE TABLE lr AS
SELECT u AS user_id, i AS item_id,
       4 + 0.3 * sin(u * 1.3) + 0.4 * cos(i * 0.7)
         + 0.9 * (sin(u * 0.37) * cos(i * 0.51) + cos(u * 0.23 + 1) * sin(i * 0.29 + 2)) AS rating
FROM generate_series(1, 120) u, generate_series(1, 80) i WHERE random() < 0.4;
SELECT version, deployed, algorithm
FROM mlsys.train_recommender('lr', 'lr', rating_column => 'rating',
                             hyperparams => '{"factors": 6, "regularization": 0.02, "iterations": 10}');
-- unchanged: a tie, the champion's fresh rmse is its stored holdout rmse exactly
SELECT version, deployed, decision, (champion_metrics ->> 'fresh_rmse')::float8 = (metrics ->> 'rmse')::float8 AS same_score
FROM mlsys.retrain('lr');
-- another structure: the challenger is deployed
UPDATE lr SET rating = 4 + 0.9 * (cos(user_id * 0.41) * sin(item_id * 0.33) - sin(user_id * 0.19 + 2) * cos(item_id * 0.21));
SELECT version, deployed, decision, (metrics ->> 'rmse')::float8 < (champion_metrics ->> 'fresh_rmse')::float8 / 5 AS much_better
FROM mlsys.retrain('lr');
SELECT version AS live FROM mlsys.deployments WHERE model = 'lr' ORDER BY id DESC LIMIT 1;
-- the challenger's stored holdout metrics are what mlsys.evaluate_recommender
-- gives for it (now live) on its holdout interactions: the comparison used
-- the same rows for both
DO $$ BEGIN EXECUTE 'CREATE TEMP TABLE lr_holdout AS ' || mlsys._recommender_holdout_query('lr', 3); END $$;
SELECT mlsys.evaluate_recommender('lr', 'lr_holdout', 10, 'user_id', 'item_id', 'rating')
       = (SELECT metrics FROM mlsys.model_versions WHERE model = 'lr' AND version = 3) AS stored_metrics_reproduced,
       (SELECT count(*) FROM (SELECT DISTINCT user_id, item_id FROM lr_holdout) d)
       = (SELECT test_rows FROM mlsys.model_versions WHERE model = 'lr' AND version = 3) AS holdout_is_test_rows;
-- duplicates of a held-out interaction stay together (training sums them)
INSERT INTO lr SELECT user_id, item_id, 0.5 FROM lr_holdout LIMIT 20;
INSERT INTO lr SELECT user_id, item_id, 0.5 FROM lr WHERE (user_id, item_id) NOT IN (SELECT user_id, item_id FROM lr_holdout) LIMIT 20;
SELECT version, decision FROM mlsys.retrain('lr');
DO $$ BEGIN EXECUTE 'CREATE TEMP TABLE lr_holdout4 AS ' || mlsys._recommender_holdout_query('lr', 4); END $$;
SELECT (SELECT count(*) FROM lr_holdout4) - (SELECT count(*) FROM (SELECT DISTINCT user_id, item_id FROM lr_holdout4) d) AS duplicate_rows,
       mlsys.evaluate_recommender('lr', 'lr_holdout4', 10, 'user_id', 'item_id', 'rating')
       = (SELECT metrics FROM mlsys.model_versions WHERE model = 'lr' AND version = 4) AS stored_metrics_reproduced;
DELETE FROM lr WHERE rating = 0.5;

-- reproduce: bit-identical factors on unchanged data; changed data differs
SELECT * FROM mlsys.reproduce('lr', 3);
SELECT * FROM mlsys.reproduce('lr', 1);

-- implicit: users click half of the items of their group; then every user
-- moves to the next group
SELECT setseed(0.75);
CREATE TABLE lc_clicks AS
SELECT u AS user_id, (u % 4) * 20 + j AS item_id
FROM generate_series(1, 120) u, generate_series(1, 20) j WHERE random() < 0.5;
SELECT version, deployed, algorithm
FROM mlsys.train_recommender('li', 'lc_clicks', hyperparams => '{"factors": 4, "regularization": 1, "iterations": 8}');
SELECT version, deployed, decision,
       (champion_metrics ->> 'fresh_ndcg_at_10')::float8 = (metrics ->> 'ndcg_at_10')::float8 AS same_score
FROM mlsys.retrain('li');
UPDATE lc_clicks SET item_id = ((item_id - 1) / 20 + 1) % 4 * 20 + (item_id - 1) % 20 + 1;
SELECT version, deployed, decision,
       (metrics ->> 'ndcg_at_10')::float8 > 0.3 AS good, (champion_metrics ->> 'fresh_ndcg_at_10')::float8 < 0.05 AS stale
FROM mlsys.retrain('li');
SELECT * FROM mlsys.reproduce('li', 3);
SELECT * FROM mlsys.reproduce('li', 1);

-- the recommender decisions, recorded with the challenger's holdout size
SELECT d.model, d.champion_version, d.challenger_version, d.metric, d.lower_is_better, d.deployed, d.decision,
       d.holdout_rows = v.test_rows AS challenger_holdout,
       regexp_replace(d.reason, '[0-9]+(\.[0-9]+)?', 'N', 'g') AS reason
FROM mlsys.retrain_decisions d
LEFT JOIN mlsys.model_versions v ON v.model = d.model AND v.version = d.challenger_version
WHERE d.model IN ('lr', 'li') ORDER BY d.id;
SELECT model, version, reason FROM mlsys.deployments WHERE model IN ('lm', 'lr', 'li') ORDER BY id;
SELECT model, kind, status, version FROM mlsys.training_runs WHERE model IN ('lr', 'li') ORDER BY id;

-- min_rows counts interactions; the retrain is skipped and recorded
SELECT mlsys.configure('li', '{"min_rows": 100000}');
SELECT version, deployed, decision FROM mlsys.retrain('li');
SELECT mlsys.configure('li', '{"min_rows": null}');

-- errors: a metric the task cannot compare on; an implicit model without holdout
\set VERBOSITY sqlstate
SELECT mlsys.configure('li', '{"metric": "rmse"}');
SELECT version FROM mlsys.retrain('li');
SELECT mlsys.configure('li', '{"metric": null}');
SELECT version FROM mlsys.train_recommender('li0', 'lc_clicks', hyperparams => '{"factors": 2, "iterations": 2}', test_size => 0);
SELECT version FROM mlsys.retrain('li0');
SELECT count(*) FROM mlsys.model_versions WHERE model = 'li0';
\set VERBOSITY default
