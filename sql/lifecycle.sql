-- lifecycle: retrain decisions (champion vs challenger on the same fresh
-- holdout), the training-run log, rollback stack, prune/drop, reproduce, and
-- scheduling without pg_cron in this database
-- (a boolean and a text column are one-hot encoded, b has missing values
-- that are imputed: the fresh holdout must match the challenger's split)
CREATE TABLE lc AS
SELECT i AS id, (i % 13)::float8 AS a, CASE WHEN i % 50 <> 0 THEN i % 7 END AS b, i % 2 = 0 AS f,
       (ARRAY['x', 'y', 'z'])[i % 3 + 1] AS c,
       1 + 2 * (i % 13) - 3 * (i % 7) + ((i * 7919) % 11) * 0.05 + (i % 3) * 0.5 AS y
FROM generate_series(1, 600) i;
SELECT version, deployed FROM mlsys.train('lc', 'lc', 'y', ARRAY['a', 'b', 'f', 'c']);

-- unchanged data: the challenger equals the champion, a tie keeps the champion
SELECT version, deployed, decision, (champion_metrics ->> 'fresh_rmse')::float8 = (metrics ->> 'rmse')::float8 AS same_score
FROM mlsys.retrain('lc');

-- the relationship changes: the old model is bad on fresh data, the challenger is deployed
UPDATE lc SET y = y + 4 * a;
SELECT version, deployed, decision, (metrics ->> 'rmse')::float8 < (champion_metrics ->> 'fresh_rmse')::float8 AS better
FROM mlsys.retrain('lc');
SELECT mlsys.live_version('lc');

-- a worse challenger: corrupted rows that all fall in the training split
-- (rows of the holdout are removed again), the clean holdout is unchanged
CREATE TABLE lc_noise AS
SELECT -i AS id, (i % 13)::float8 AS a, i % 7 AS b, false AS f, 'x' AS c, 100 * ((i % 3) - 1)::float8 AS y
FROM generate_series(1, 300) i;
INSERT INTO lc SELECT * FROM lc_noise;
DO $$
BEGIN
    EXECUTE 'DELETE FROM lc AS r WHERE r.id < 0 AND ' || mlsys._holdout_predicate('lc', 3, 'r');
END $$;
SELECT version, deployed, decision FROM mlsys.retrain('lc');
SELECT mlsys.live_version('lc');

-- the margin is relative: a challenger better by a few percent is kept under
-- min_improvement 0.5 and deployed under 0 (same data, same challenger)
DELETE FROM lc WHERE id < 0;
UPDATE lc SET y = y + 0.05 * a;
SELECT mlsys.configure('lc', '{"min_improvement": 0.5}');
SELECT version, deployed, decision FROM mlsys.retrain('lc');
SELECT mlsys.configure('lc', '{"min_improvement": 0}');
SELECT version, deployed, decision FROM mlsys.retrain('lc');
SELECT mlsys.configure('lc', '{"min_improvement": null}');

-- every decision is recorded, with the fresh scores of both
SELECT champion_version, challenger_version, metric, lower_is_better, deployed, decision,
       holdout_rows > 0 AS has_holdout, min_improvement,
       (champion_score - challenger_score > min_improvement * champion_score) = deployed AS consistent,
       regexp_replace(reason, '[0-9]+(\.[0-9]+)?', 'N', 'g') AS reason
FROM mlsys.retrain_decisions WHERE model = 'lc' ORDER BY id;

-- min_rows: too few rows, the retrain is skipped and recorded
SELECT mlsys.configure('lc', '{"min_rows": 100000}');
SELECT version, deployed, decision FROM mlsys.retrain('lc');
SELECT decision, reason FROM mlsys.retrain_decisions WHERE model = 'lc' ORDER BY id DESC LIMIT 1;
SELECT mlsys.configure('lc', '{"min_rows": null}');

-- deployments: real ones only, the retrain ones say so
SELECT version, reason FROM mlsys.deployments WHERE model = 'lc' ORDER BY id;

-- the training-run log: the manual training and each retrain
SELECT kind, status, version, rows, finished_at >= started_at AS timed, error
FROM mlsys.training_runs WHERE model = 'lc' ORDER BY id;

-- rollback walks the deployment stack back
SELECT mlsys.rollback('lc');
SELECT mlsys.rollback('lc');
SELECT mlsys.live_version('lc');
SELECT version, reason, previous_id IS NULL AS bottom FROM mlsys.deployments WHERE model = 'lc' ORDER BY id;
\set VERBOSITY sqlstate
SELECT mlsys.rollback('lc');
\set VERBOSITY default
SELECT mlsys.deploy('lc', 6);

-- reproduce: unchanged data reproduces the parameters; nothing is registered
SELECT last_version AS before FROM mlsys.models WHERE model = 'lc' \gset
SELECT (SELECT count(*) FROM mlsys.training_runs) AS runs_before \gset
SELECT * FROM mlsys.reproduce('lc', 6);
SELECT last_version = :before AS no_new_version, (SELECT count(*) FROM mlsys.training_runs) = :runs_before AS no_new_run
FROM mlsys.models WHERE model = 'lc';
-- changed data: neither
SELECT data_unchanged, params_match, max_abs_diff > 1e-3 AS differs FROM mlsys.reproduce('lc', 1);
UPDATE lc SET y = y + 1 WHERE id = 1;
SELECT data_unchanged, params_match FROM mlsys.reproduce('lc', 6);

-- a binary classifier: labels flip to another rule, the challenger wins on auc
CREATE TABLE lcc AS
SELECT i AS id, (i % 13)::float8 AS a, (i % 7)::float8 AS b, ARRAY[(i % 3)::float8, (i % 11)::float8] AS v,
       CASE WHEN i % 4 = 0 THEN 'p' WHEN i % 4 = 1 THEN 'q' END AS c,
       (i % 13 + (i * 7) % 5) > 8 AS y
FROM generate_series(1, 800) i;
SELECT version, deployed FROM mlsys.train('lcc', 'lcc', 'y', ARRAY['a', 'b', 'v', 'c']);
SELECT version, deployed, decision FROM mlsys.retrain('lcc');
UPDATE lcc SET y = b > 3;
SELECT version, deployed, decision, (champion_metrics ->> 'fresh_auc')::float8 < 0.9 AS champion_degraded
FROM mlsys.retrain('lcc');
SELECT mlsys.configure('lcc', '{"metric": "log_loss"}');
SELECT version, deployed, decision FROM mlsys.retrain('lcc');
SELECT metric, lower_is_better, decision FROM mlsys.retrain_decisions WHERE model = 'lcc' ORDER BY id;

-- a scheduled job that fails keeps a 'failed' run with its error
ALTER TABLE lcc RENAME COLUMN b TO b2;
SELECT mlsys._run_job('lcc', 'retrain');
SELECT kind, status, version, error, sqlstate FROM mlsys.training_runs WHERE model = 'lcc' ORDER BY id DESC LIMIT 1;
ALTER TABLE lcc RENAME COLUMN b2 TO b;
SELECT mlsys._run_job('lcc', 'retrain');

-- prune: keeps the newest, the live version and every deployed version (NOTICE)
SELECT version FROM mlsys.model_versions WHERE model = 'lc' ORDER BY version;
SELECT mlsys.prune_versions('lc', 1);
SELECT version FROM mlsys.model_versions WHERE model = 'lc' ORDER BY version;
SELECT mlsys.prune_versions('lc', 0);

-- drop_model removes everything about the model
SELECT mlsys.drop_model('lcc');
SELECT (SELECT count(*) FROM mlsys.models WHERE model = 'lcc') AS models,
       (SELECT count(*) FROM mlsys.model_versions WHERE model = 'lcc') AS versions,
       (SELECT count(*) FROM mlsys.deployments WHERE model = 'lcc') AS deployments,
       (SELECT count(*) FROM mlsys.training_runs WHERE model = 'lcc') AS runs,
       (SELECT count(*) FROM mlsys.retrain_decisions WHERE model = 'lcc') AS decisions;

-- scheduling needs pg_cron in this database (it is preloaded, but lives in "postgres")
\set SHOW_CONTEXT never
SELECT mlsys.schedule('lc', '0 3 * * *', 'retrain_if_drifted');
\set VERBOSITY sqlstate
SELECT mlsys.schedule('lc', '* * * * *');
SELECT mlsys.unschedule('lc');
SELECT * FROM mlsys.schedules();
-- bad input
SELECT mlsys.schedule('lc', '* * * * *', 'explode');
SELECT mlsys.schedule('no_such_model', '* * * * *');
SELECT mlsys.schedule('lc', NULL);
SELECT * FROM mlsys.retrain(NULL);
SELECT * FROM mlsys.retrain('no_such_model');
SELECT version FROM mlsys.train('lc_undeployed', 'lc', 'y', ARRAY['a'], deploy => 'never');
SELECT * FROM mlsys.retrain('lc_undeployed');
SELECT mlsys.prune_versions('lc', -1);
SELECT mlsys.prune_versions('no_such_model', 1);
SELECT * FROM mlsys.reproduce('lc', 999);
SELECT * FROM mlsys.reproduce('lc', NULL);
SELECT mlsys.drop_model('no_such_model');
SELECT mlsys._run_job('lc', 'explode');
\set VERBOSITY default
