-- Models belong to someone: the role that creates a model owns it; the owner
-- (or a member of the owning role) and admins hold every privilege on it,
-- other roles what mlsys.grant gives them. Two teams and an admin; every
-- write path is tried on the other team's model before a grant, after it
-- and after a revoke. Runs under SET ROLE as regress_ roles created here.
CREATE ROLE regress_own_a LOGIN IN ROLE mlsys_trainer;
CREATE ROLE regress_own_b LOGIN IN ROLE mlsys_trainer;
CREATE ROLE regress_own_team NOLOGIN;
CREATE ROLE regress_own_a2 LOGIN IN ROLE mlsys_trainer, regress_own_team;
CREATE ROLE regress_own_admin LOGIN IN ROLE mlsys_admin;
CREATE ROLE regress_own_reader LOGIN IN ROLE mlsys_reader;
CREATE TABLE own_data AS SELECT g::float8 AS x, 3 * g::float8 + 1 AS y FROM generate_series(1, 50) g;
CREATE TABLE own_b_data AS SELECT g::float8 AS x, -2 * g::float8 AS y FROM generate_series(1, 50) g;
CREATE TABLE own_clicks AS SELECT u AS user_id, i AS item_id, 1.0::float8 AS rating
  FROM generate_series(1, 30) u, generate_series(1, 20) i WHERE (u + i) % 3 = 0;
GRANT SELECT ON own_data, own_clicks TO regress_own_a, regress_own_b, regress_own_a2;
GRANT SELECT ON own_b_data TO regress_own_b;

-- team A creates two models, a predictor and a recommender: they are its own
SET ROLE regress_own_a;
SELECT version FROM mlsys.train('own_m', 'own_data', 'y', ARRAY['x'], deploy => 'most_recent');
SELECT version FROM mlsys.train_recommender('own_rec', 'own_clicks', deploy => 'most_recent');
RESET ROLE;
SELECT model, owner, created_by FROM mlsys.models WHERE model IN ('own_m', 'own_rec') ORDER BY 1;

------------------------------------------------------------------------------
-- team B, before any grant: every write path is refused, nothing is written
------------------------------------------------------------------------------
\set SHOW_CONTEXT never
SET ROLE regress_own_b;
-- train on its own data, with the deploy policy that made team A's scores team B's
SELECT version FROM mlsys.train('own_m', 'own_b_data', 'y', ARRAY['x'], deploy => 'most_recent');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM mlsys.tune('own_m', 'own_b_data', 'y', '{"alpha": [0.1, 1]}', ARRAY['x'], 'ridge');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM mlsys.train_recommender('own_rec', 'own_clicks');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.import_model('own_m', mlsys.export_model('own_m', 1));
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM mlsys.retrain('own_m');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.deploy('own_m', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.rollback('own_m');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('own_m', '{"tolerance": 0.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.set_owner('own_m', 'regress_own_b');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.grant('own_m', 'regress_own_b', 'train');
\echo :LAST_ERROR_SQLSTATE
-- scheduling needs manage (the job would run as team B)
SELECT mlsys.schedule('own_m', '0 3 * * *');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.unschedule('own_m');
\echo :LAST_ERROR_SQLSTATE
-- pruning and dropping need manage too
SELECT mlsys.prune_versions('own_m', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.drop_model('own_m');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
\set SHOW_CONTEXT errors
SELECT model, last_version, settings, owner FROM mlsys.models WHERE model IN ('own_m', 'own_rec') ORDER BY 1;
SELECT count(*) AS deployments FROM mlsys.deployments WHERE model = 'own_m';

------------------------------------------------------------------------------
-- grants: train lets team B add versions, not deploy them
------------------------------------------------------------------------------
SET ROLE regress_own_a;
SELECT mlsys.grant('own_m', 'regress_own_b', 'train');
SELECT mlsys.grant('own_m', 'regress_own_b', 'train');   -- granted again: no change
RESET ROLE;
SELECT model, role, privilege, granted_by FROM mlsys.model_privileges ORDER BY 1, 2, 3;
\set SHOW_CONTEXT never
SET ROLE regress_own_b;
SELECT version, deployed FROM mlsys.train('own_m', 'own_b_data', 'y', ARRAY['x'], deploy => 'never');
SELECT version FROM mlsys.train('own_m', 'own_b_data', 'y', ARRAY['x'], deploy => 'most_recent');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.deploy('own_m', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.import_model('own_m', mlsys.export_model('own_m', 1)) AS imported_version;
-- train does not reach the other model
SELECT version FROM mlsys.train_recommender('own_rec', 'own_clicks');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- deploy lets it deploy, roll back and retrain with its deployment
SET ROLE regress_own_a;
SELECT mlsys.grant('own_m', 'regress_own_b', 'deploy');
RESET ROLE;
SET ROLE regress_own_b;
SELECT mlsys.deploy('own_m', 2);
SELECT mlsys.rollback('own_m') AS rolled_back_to;
SELECT version, deployed FROM mlsys.train('own_m', 'own_b_data', 'y', ARRAY['x'], deploy => 'most_recent');
SELECT version IS NOT NULL AS retrained, decision IS NOT NULL AS decided FROM mlsys.retrain('own_m');
-- but not configure, give away or grant
SELECT mlsys.configure('own_m', '{"tolerance": 0.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.grant('own_m', 'regress_own_reader', 'train');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- manage: configure, and grant train and deploy (not manage itself)
SET ROLE regress_own_a;
SELECT mlsys.grant('own_m', 'regress_own_b', 'manage');
RESET ROLE;
SET ROLE regress_own_b;
SELECT mlsys.configure('own_m', '{"tolerance": 0.5}') ->> 'tolerance' AS tolerance;
-- (this database has no pg_cron: past the privilege check, scheduling stops there)
SELECT mlsys.schedule('own_m', '0 3 * * *');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.grant('own_m', 'regress_own_a2', 'train');
SELECT mlsys.grant('own_m', 'regress_own_a2', 'manage');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- manage: prune and drop (on a model of team A's made for it)
SET ROLE regress_own_a;
SELECT version FROM mlsys.train('own_tmp', 'own_data', 'y', ARRAY['x'], deploy => 'most_recent');
SELECT version FROM mlsys.train('own_tmp', 'own_data', 'y', ARRAY['x']);
SELECT mlsys.grant('own_tmp', 'regress_own_b', 'manage');
RESET ROLE;
SET ROLE regress_own_b;
SELECT mlsys.prune_versions('own_tmp', 0) AS pruned;
SELECT mlsys.drop_model('own_tmp');
RESET ROLE;
SELECT count(*) AS own_tmp_left FROM mlsys.models WHERE model = 'own_tmp';

------------------------------------------------------------------------------
-- revokes: team B is back where it started
------------------------------------------------------------------------------
SET ROLE regress_own_a;
SELECT mlsys.revoke('own_m', 'regress_own_b', 'manage');
SELECT mlsys.revoke('own_m', 'regress_own_b', 'deploy');
SELECT mlsys.revoke('own_m', 'regress_own_b', 'train');
SELECT mlsys.revoke('own_m', 'regress_own_b', 'train');   -- a NOTICE: nothing to revoke
RESET ROLE;
SELECT model, role, privilege, granted_by FROM mlsys.model_privileges ORDER BY 1, 2, 3;
SELECT last_version AS before_last_version FROM mlsys.models WHERE model = 'own_m' \gset
SET ROLE regress_own_b;
SELECT version FROM mlsys.train('own_m', 'own_b_data', 'y', ARRAY['x'], deploy => 'never');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.deploy('own_m', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('own_m', '{"tolerance": 0.2}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
\set SHOW_CONTEXT errors
SELECT last_version = :before_last_version AS nothing_written FROM mlsys.models WHERE model = 'own_m';

------------------------------------------------------------------------------
-- owners: set_owner by the owner, a member of the owning role, a manager or
-- an admin
------------------------------------------------------------------------------
-- someone else may not give it away; nothing changes
SET ROLE regress_own_b;
SELECT mlsys.set_owner('own_m', 'regress_own_b');
RESET ROLE;
SELECT owner FROM mlsys.models WHERE model = 'own_m';
-- the owner may, to a team role
SET ROLE regress_own_a;
SELECT mlsys.set_owner('own_m', 'regress_own_team');
-- and then no longer
SELECT mlsys.set_owner('own_m', 'regress_own_a');
RESET ROLE;
SELECT owner FROM mlsys.models WHERE model = 'own_m';
-- a member of the owning role counts as the owner: it may train and deploy
SET ROLE regress_own_a2;
SELECT version, deployed FROM mlsys.train('own_m', 'own_data', 'y', ARRAY['x'], deploy => 'most_recent');
SELECT mlsys.set_owner('own_m', 'regress_own_a2');
RESET ROLE;
SELECT owner FROM mlsys.models WHERE model = 'own_m';
-- an admin may give any model to anyone, and holds every privilege
SET ROLE regress_own_admin;
SELECT mlsys.set_owner('own_m', 'regress_own_a');
SELECT mlsys.grant('own_m', 'regress_own_b', 'manage');
SELECT mlsys.revoke('own_m', 'regress_own_b', 'manage');
RESET ROLE;
SELECT owner FROM mlsys.models WHERE model = 'own_m';
-- readers may not call the functions at all
SET ROLE regress_own_reader;
\set VERBOSITY sqlstate
SELECT mlsys.set_owner('own_m', 'regress_own_reader');
SELECT mlsys.grant('own_m', 'regress_own_reader', 'train');
RESET ROLE;

-- bad input
SELECT mlsys.set_owner(NULL, 'regress_own_a');
SELECT mlsys.set_owner('own_m', NULL);
SELECT mlsys.set_owner('own_nope', 'regress_own_a');
SELECT mlsys.set_owner('own_m', 'regress_own_nope');
SELECT mlsys.grant('own_m', 'regress_own_b', 'predict');
SELECT mlsys.grant('own_m', 'regress_own_b', NULL);
SELECT mlsys.grant('own_nope', 'regress_own_b', 'train');
SELECT mlsys.revoke('own_m', NULL, 'train');
\set VERBOSITY default

-- an imported model belongs to the importer
SET ROLE regress_own_b;
SELECT mlsys.import_model('own_copy', mlsys.export_model('own_m', 1)) IS NOT NULL AS imported;
RESET ROLE;
SELECT owner FROM mlsys.models WHERE model = 'own_copy';
-- an owner given explicitly (a restore) is kept
INSERT INTO mlsys.models (model, task, owner) VALUES ('own_restored', 'regression', 'regress_own_b');
SELECT owner FROM mlsys.models WHERE model = 'own_restored';

-- clean up: dropping a model drops its grants; the roles can be dropped
SET ROLE regress_own_a;
SELECT mlsys.grant('own_m', 'regress_own_b', 'train');
RESET ROLE;
SELECT mlsys.drop_model(m) FROM unnest(ARRAY['own_m', 'own_rec', 'own_copy', 'own_restored']) m;
SELECT count(*) AS grants_left FROM mlsys.model_grants WHERE model LIKE 'own%';
DROP TABLE own_data, own_b_data, own_clicks;
DROP ROLE regress_own_a, regress_own_b, regress_own_a2, regress_own_team, regress_own_admin, regress_own_reader;
