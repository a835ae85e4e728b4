-- Private models: "private": true limits scoring, explain, export, features,
-- reproduce, drift, performance, check, feedback and the model's rows in
-- the registry tables and views to its owner, roles granted a privilege on
-- it (score, or any other) and admins. The name and owner stay visible. The
-- model cache asks about each role it serves, and again after a grant,
-- owner or membership change, so SET ROLE in one session cannot reuse what
-- another role cached. Runs under SET ROLE as regress_ roles created here.
CREATE ROLE regress_prv_a LOGIN IN ROLE mlsys_trainer;
CREATE ROLE regress_prv_b LOGIN IN ROLE mlsys_trainer;
CREATE ROLE regress_prv_reader LOGIN IN ROLE mlsys_reader;
CREATE ROLE regress_prv_admin LOGIN IN ROLE mlsys_admin;
CREATE TABLE prv_data AS
SELECT g AS id, (g % 10)::float8 AS x, ((g * 7) % 5)::float8 AS z,
       (g % 10) + ((g * 7) % 5) > 6 AS churned
  FROM generate_series(1, 400) g;
CREATE TABLE prv_clicks AS SELECT u AS user_id, i AS item_id, 1.0::float8 AS rating
  FROM generate_series(1, 30) u, generate_series(1, 20) i WHERE (u + i) % 3 = 0;
GRANT SELECT ON prv_data, prv_clicks TO regress_prv_a, regress_prv_b, regress_prv_reader, regress_prv_admin;

-- team A trains a classifier and a recommender, scores a batch, makes both private
SET ROLE regress_prv_a;
SELECT version FROM mlsys.train('prv_clf', 'prv_data', 'churned', ARRAY['x', 'z'], 'logistic', deploy => 'most_recent');
SELECT version FROM mlsys.train_recommender('prv_rec', 'prv_clicks', deploy => 'most_recent');
SELECT mlsys.predict_batch('prv_clf', 'prv_data', 'id') AS scored;
SELECT mlsys.configure('prv_clf', '{"private": true}') ->> 'private' AS private;
SELECT mlsys.configure('prv_rec', '{"private": true}') ->> 'private' AS private;
-- the owner still scores it (and has it cached now)
SELECT mlsys.predict_label('prv_clf', d) AS label FROM prv_data d WHERE id = 9;
RESET ROLE;

------------------------------------------------------------------------------
-- another trainer and a reader: every path is refused with 42501
------------------------------------------------------------------------------
\set SHOW_CONTEXT never
SET ROLE regress_prv_b;
SELECT mlsys.predict('prv_clf', d) FROM prv_data d WHERE id = 9;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.predict_proba('prv_clf', d) FROM prv_data d WHERE id = 9;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.predict_label('prv_clf', d) FROM prv_data d WHERE id = 9;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.predict_label('prv_clf', 1, d) FROM prv_data d WHERE id = 9;
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.predict('prv_clf', '{"x": 1, "z": 2}'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.live_version('prv_clf');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys.explain('prv_clf', '{"x": 1, "z": 2}'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys.features('prv_clf');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.export_model('prv_clf', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys.reproduce('prv_clf', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.predict_batch('prv_clf', 'prv_data', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT feature FROM mlsys.drift('prv_clf', 'prv_data');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.warm(ARRAY['prv_clf']);
\echo :LAST_ERROR_SQLSTATE
-- monitoring names the model too, rather than finding nothing
SELECT * FROM mlsys.performance('prv_clf');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM mlsys.check('prv_clf');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.record_outcomes('prv_clf', 'prv_data', 'id', 'churned');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.record_interactions('prv_rec', 'prv_clicks');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys.recommend(3, 5, 'prv_rec');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.predict_rating('prv_rec', 3, 3);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys.recommend_for_items(ARRAY[3, 6]::bigint[], 5, 'prv_rec');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys.similar_items(3, 5, 'prv_rec');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.export_model('prv_rec');
\echo :LAST_ERROR_SQLSTATE
-- the name and owner stay visible; versions, deployments, predictions,
-- baselines, runs and the views' figures do not
SELECT model, owner, settings ->> 'private' AS private FROM mlsys.models WHERE model LIKE 'prv_%' ORDER BY 1;
SELECT (SELECT count(*) FROM mlsys.model_versions WHERE model LIKE 'prv_%') AS versions,
       (SELECT count(*) FROM mlsys.deployments WHERE model LIKE 'prv_%') AS deployments,
       (SELECT count(*) FROM mlsys.predictions WHERE model LIKE 'prv_%') AS predictions,
       (SELECT count(*) FROM mlsys.prediction_runs WHERE model LIKE 'prv_%') AS runs,
       (SELECT count(*) FROM mlsys.baselines WHERE model LIKE 'prv_%') AS baselines,
       (SELECT count(*) FROM mlsys.training_runs WHERE model LIKE 'prv_%') AS training_runs;
SELECT model, deployed_version, algorithm FROM mlsys.model_overview WHERE model LIKE 'prv_%' ORDER BY 1;
SELECT count(*) AS stats_rows FROM mlsys.prediction_stats WHERE model LIKE 'prv_%';
SELECT count(*) AS latest_rows FROM mlsys.latest_predictions WHERE model LIKE 'prv_%';
-- rows of a private model cannot be written either (a reader's batch insert)
INSERT INTO mlsys.prediction_runs (model, version, relation) VALUES ('prv_clf', 1, 'prv_data');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SET ROLE regress_prv_reader;
SELECT mlsys.predict('prv_clf', d) FROM prv_data d WHERE id = 9;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS versions FROM mlsys.model_versions WHERE model = 'prv_clf';
RESET ROLE;
\set SHOW_CONTEXT errors

-- the message names the model, why, its owner, and the grant that helps
\set VERBOSITY default
SET ROLE regress_prv_b;
SELECT mlsys.predict('prv_clf', d) FROM prv_data d WHERE id = 9;
RESET ROLE;
\set VERBOSITY terse

------------------------------------------------------------------------------
-- one session switching roles after the model was cached
------------------------------------------------------------------------------
SET ROLE regress_prv_a;
SELECT mlsys.predict_label('prv_clf', d) AS label_a FROM prv_data d WHERE id = 9;
SET ROLE regress_prv_b;
SELECT mlsys.predict_label('prv_clf', d) AS label_b FROM prv_data d WHERE id = 9;
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_prv_a;
SELECT mlsys.predict_label('prv_clf', d) AS label_a FROM prv_data d WHERE id = 9;
-- a SECURITY DEFINER function of team A scores with team A's rights
RESET ROLE;
CREATE FUNCTION prv_score_as_a(p_id int) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT mlsys.predict_label('prv_clf', d) FROM public.prv_data d WHERE d.id = p_id
$$;
ALTER FUNCTION prv_score_as_a(int) OWNER TO regress_prv_a;
GRANT EXECUTE ON FUNCTION prv_score_as_a(int) TO regress_prv_b;
SET ROLE regress_prv_b;
SELECT prv_score_as_a(9) AS label_through_a;
-- and right after it, in the same session, team B's own call is still refused
SELECT mlsys.predict_label('prv_clf', d) AS label_b FROM prv_data d WHERE id = 9;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

------------------------------------------------------------------------------
-- grants: score opens every path; any other privilege includes it; a revoke
-- takes effect at the next statement, in a session that cached the model
------------------------------------------------------------------------------
SET ROLE regress_prv_a;
SELECT mlsys.grant('prv_clf', 'regress_prv_b', 'score');
SELECT mlsys.grant('prv_rec', 'regress_prv_b', 'train');
SELECT privilege FROM mlsys.model_privileges WHERE role = 'regress_prv_b'::regrole ORDER BY model, privilege;
RESET ROLE;
SET ROLE regress_prv_b;
SELECT mlsys.predict_label('prv_clf', d) AS label_b FROM prv_data d WHERE id = 9;
SELECT mlsys.predict_proba('prv_clf', d) = mlsys.predict_proba('prv_clf', 1, d) AS same_as_version_1
  FROM prv_data d WHERE id = 9;
SELECT mlsys.live_version('prv_clf') AS live, (SELECT count(*) FROM mlsys.features('prv_clf')) AS features,
       mlsys.export_model('prv_clf', 1) IS NOT NULL AS exported;
SELECT count(*) > 0 AS explained FROM mlsys.explain('prv_clf', '{"x": 1, "z": 2}'::jsonb);
SELECT count(*) AS drift_features FROM mlsys.drift('prv_clf', 'prv_data');
SELECT mlsys.record_outcomes('prv_clf', 'prv_data', 'id', 'churned') AS labeled;
SELECT count(*) > 0 AS has_performance FROM mlsys.performance('prv_clf');
-- reproduce trains the version again: that needs train, not only score
SELECT data_unchanged, params_match FROM mlsys.reproduce('prv_clf', 1);
\echo :LAST_ERROR_SQLSTATE
-- train on the recommender includes score
SELECT count(*) AS recommended FROM mlsys.recommend(3, 5, 'prv_rec');
SELECT (SELECT count(*) FROM mlsys.model_versions WHERE model LIKE 'prv_%') AS versions,
       (SELECT count(*) FROM mlsys.predictions WHERE model = 'prv_clf') AS predictions;
SELECT model, deployed_version FROM mlsys.model_overview WHERE model LIKE 'prv_%' ORDER BY 1;
RESET ROLE;
-- the revoke, while team B's session has the model cached
SET ROLE regress_prv_a;
SELECT mlsys.revoke('prv_clf', 'regress_prv_b', 'score');
SET ROLE regress_prv_b;
SELECT mlsys.predict_label('prv_clf', d) AS label_b FROM prv_data d WHERE id = 9;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS versions FROM mlsys.model_versions WHERE model = 'prv_clf';
RESET ROLE;

-- through a group role: leaving the group is seen at the next statement too
CREATE ROLE regress_prv_group NOLOGIN;
SET ROLE regress_prv_a;
SELECT mlsys.grant('prv_clf', 'regress_prv_group', 'score');
RESET ROLE;
GRANT regress_prv_group TO regress_prv_b;
SET ROLE regress_prv_b;
SELECT mlsys.predict_label('prv_clf', d) AS label_group FROM prv_data d WHERE id = 9;
RESET ROLE;
REVOKE regress_prv_group FROM regress_prv_b;
SET ROLE regress_prv_b;
SELECT mlsys.predict_label('prv_clf', d) AS label_group FROM prv_data d WHERE id = 9;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a new owner: the previous one, which had it cached, loses it
SET ROLE regress_prv_a;
SELECT mlsys.predict_label('prv_clf', d) AS label_a FROM prv_data d WHERE id = 9;
SELECT mlsys.set_owner('prv_clf', 'regress_prv_group');
SELECT mlsys.predict_label('prv_clf', d) AS label_a FROM prv_data d WHERE id = 9;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT mlsys.set_owner('prv_clf', 'regress_prv_a');

-- an admin holds every privilege on every model
SET ROLE regress_prv_admin;
SELECT mlsys.predict_label('prv_clf', d) AS label_admin FROM prv_data d WHERE id = 9;
SELECT count(*) AS versions FROM mlsys.model_versions WHERE model = 'prv_clf';
RESET ROLE;

-- scoring in parallel workers checks there too
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT count(mlsys.predict_label('prv_clf', d)) FROM prv_data d;
SET ROLE regress_prv_b;
SELECT count(mlsys.predict_label('prv_clf', d)) FROM prv_data d;
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_prv_a;
SELECT count(mlsys.predict_label('prv_clf', d)) AS scored FROM prv_data d;
RESET ROLE;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- not private again: readable by every reader, as before
SET ROLE regress_prv_a;
SELECT mlsys.configure('prv_clf', '{"private": false}') ->> 'private' AS private;
SET ROLE regress_prv_reader;
SELECT mlsys.predict_label('prv_clf', d) AS label_reader FROM prv_data d WHERE id = 9;
SELECT count(*) AS versions FROM mlsys.model_versions WHERE model = 'prv_clf';
RESET ROLE;

-- bad input: the setting is a boolean; score is a privilege like the others
SET ROLE regress_prv_a;
SELECT mlsys.configure('prv_clf', '{"private": "yes"}');
SELECT mlsys.grant('prv_clf', 'regress_prv_b', 'read');
RESET ROLE;

-- clean up
DROP FUNCTION prv_score_as_a(int);
SELECT mlsys.drop_model('prv_clf');
SELECT mlsys.drop_model('prv_rec');
DROP TABLE prv_data, prv_clicks;
DROP ROLE regress_prv_a, regress_prv_b, regress_prv_reader, regress_prv_admin, regress_prv_group;
