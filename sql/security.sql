-- The security model (src/sql/90_security.sql): group roles, registry
-- privileges, training with the caller's rights, and row-level security on
-- mlsys.predictions. pg_regress runs as a superuser: every check below runs
-- under SET ROLE as a regress_ role created here and dropped at the end.
\set VERBOSITY terse

-- the group roles exist, cannot log in, and nest reader < trainer < admin
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'mlsys\_%' ORDER BY rolname;
SELECT pg_has_role('mlsys_admin', 'mlsys_trainer', 'MEMBER') AS admin_is_trainer,
       pg_has_role('mlsys_trainer', 'mlsys_reader', 'MEMBER') AS trainer_is_reader,
       pg_has_role('mlsys_reader', 'mlsys_trainer', 'MEMBER') AS reader_is_trainer;
-- PUBLIC: no schema usage, no table privilege, no function
SELECT has_schema_privilege('public', 'mlsys', 'USAGE') AS public_usage;
SELECT c.relname, p.privilege_type
  FROM pg_class c, aclexplode(c.relacl) p
 WHERE c.relnamespace = 'mlsys'::regnamespace AND p.grantee = 0;
SELECT count(*) AS public_functions
  FROM pg_proc f, aclexplode(f.proacl) p
 WHERE f.pronamespace = 'mlsys'::regnamespace AND p.grantee = 0 AND p.privilege_type = 'EXECUTE';
-- every SECURITY DEFINER function pins search_path, and none reads user data
SELECT f.oid::regprocedure AS definer_function, f.proconfig
  FROM pg_proc f WHERE f.pronamespace = 'mlsys'::regnamespace AND f.prosecdef ORDER BY f.oid::regprocedure::text COLLATE "C";
-- the registry tables readers may write: scoring output only
SELECT c.relname, string_agg(DISTINCT p.privilege_type, ',') AS reader_table_privileges
  FROM pg_class c, aclexplode(c.relacl) p
 WHERE c.relnamespace = 'mlsys'::regnamespace AND p.grantee = 'mlsys_reader'::regrole
   AND p.privilege_type <> 'SELECT'
 GROUP BY 1 ORDER BY 1;

CREATE ROLE regress_mlsys_trainer LOGIN IN ROLE mlsys_trainer;
CREATE ROLE regress_mlsys_admin LOGIN IN ROLE mlsys_admin;
CREATE ROLE regress_mlsys_reader LOGIN IN ROLE mlsys_reader;
CREATE ROLE regress_mlsys_nobody LOGIN;
CREATE ROLE regress_tenant_a LOGIN IN ROLE mlsys_reader;
CREATE ROLE regress_tenant_b LOGIN IN ROLE mlsys_reader;

CREATE TABLE sec_data AS
SELECT i AS id, i % 13 AS item, i::float8 AS a, (i % 7)::float8 AS b, (2 * i + (i % 7))::float8 AS y
FROM generate_series(1, 200) i;
CREATE TABLE sec_secret AS SELECT * FROM sec_data;
GRANT SELECT ON sec_data TO regress_mlsys_trainer, regress_tenant_a, regress_tenant_b;

------------------------------------------------------------------------------
-- a role outside the groups can do nothing
------------------------------------------------------------------------------
SET ROLE regress_mlsys_nobody;
SELECT * FROM mlsys.models;
SELECT mlsys.predict('sec', ARRAY[1, 2]::float8[]);
SELECT * FROM mlsys.train('sec', 'sec_data', 'y');
RESET ROLE;

------------------------------------------------------------------------------
-- a trainer trains; the model it creates is its own (per-model privileges of
-- other roles are tested in ownership.sql)
------------------------------------------------------------------------------
SET ROLE regress_mlsys_trainer;
SELECT version, deployed FROM mlsys.train('sec', 'sec_data', 'y', ARRAY['a', 'b'], deploy => 'most_recent');
SELECT version, deployed FROM mlsys.train('sec', 'sec_data', 'y', ARRAY['a', 'b'], deploy => 'never');
-- the registry is not writable directly
INSERT INTO mlsys.deployments (model, version, reason) VALUES ('sec', 2, 'manual');
INSERT INTO mlsys.models (model, task) VALUES ('forged', 'regression');
UPDATE mlsys.model_versions SET params = '\x00'::bytea WHERE model = 'sec';
DELETE FROM mlsys.model_versions WHERE model = 'sec';
-- the preprocessing column only for a version of its own transaction
UPDATE mlsys.model_versions SET preprocessing = '{}' WHERE model = 'sec' AND version = 1;
-- as its owner it deploys, rolls back, configures and may drop it (the drop
-- is rolled back: the tests below use the model)
SELECT mlsys.deploy('sec', 2);
SELECT mlsys.rollback('sec');
BEGIN;
SELECT mlsys.drop_model('sec');
SELECT count(*) AS sec_left FROM mlsys.models WHERE model = 'sec';
ROLLBACK;
SELECT mlsys.configure('sec', '{"tolerance": 0.5}');
-- the internal function that training uses checks the same privilege
SELECT mlsys._insert_deployment('sec', 2, 'manual') > 0 AS deployed;
-- training a relation the trainer cannot read fails on the read itself,
-- before any statistic of it is computed, and registers nothing
SELECT * FROM mlsys.train('sec_leak', 'sec_secret', 'y', ARRAY['a', 'b']);
SELECT * FROM mlsys.cross_validate('sec_secret', 'y', ARRAY['a', 'b']);
SELECT * FROM mlsys.train_recommender('sec_leak', 'sec_secret', 'id', 'item', 'y');
RESET ROLE;
SELECT count(*) AS leaked_models FROM mlsys.models WHERE model = 'sec_leak';
-- column privileges hold: granted columns only
GRANT SELECT (a, y) ON sec_secret TO regress_mlsys_trainer;
SET ROLE regress_mlsys_trainer;
SELECT * FROM mlsys.train('sec_cols', 'sec_secret', 'y', ARRAY['a', 'b']);
SELECT version FROM mlsys.train('sec_cols', 'sec_secret', 'y', ARRAY['a']);
RESET ROLE;
-- row-level security on the source holds: training sees only the policy's rows
ALTER TABLE sec_secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY sec_small ON sec_secret FOR SELECT USING (id <= 50);
SET ROLE regress_mlsys_trainer;
SELECT version FROM mlsys.train('sec_cols', 'sec_secret', 'y', ARRAY['a'], deploy => 'never');
RESET ROLE;
SELECT version, train_rows + test_rows AS rows FROM mlsys.model_versions WHERE model = 'sec_cols' ORDER BY 1;
-- versions and deployments record the acting role, not the functions' owner
SELECT model, version, created_by FROM mlsys.model_versions WHERE model LIKE 'sec%' ORDER BY 1, 2;
SELECT model, created_by FROM mlsys.models WHERE model LIKE 'sec%' ORDER BY 1;

------------------------------------------------------------------------------
-- a reader scores and reads, and cannot train
------------------------------------------------------------------------------
SET ROLE regress_mlsys_reader;
SELECT round(mlsys.predict('sec', ARRAY[10, 3]::float8[])::numeric, 6) AS prediction;
SELECT mlsys.live_version('sec');
SELECT count(*) AS versions FROM mlsys.model_versions WHERE model = 'sec';
SELECT * FROM mlsys.train('sec', 'sec_data', 'y');
SELECT mlsys._register_version('sec', 'regression', 'linear', '{}', 'sec_data', 'y', '{a}', '{0}', '{a}',
    0.25, 0, '{}', 1, 1, 0, '', '\x00', NULL, 'most_recent', NULL, NULL);
SELECT mlsys._lock_model('sec');
RESET ROLE;

------------------------------------------------------------------------------
-- an admin deploys, rolls back and configures
------------------------------------------------------------------------------
SET ROLE regress_mlsys_admin;
SELECT mlsys.deploy('sec', 2);
SELECT mlsys.rollback('sec');
SELECT mlsys.configure('sec', '{"tolerance": 0.5}') ->> 'tolerance' AS tolerance;
RESET ROLE;
SELECT model, version, reason, deployed_by FROM mlsys.deployments WHERE model = 'sec' ORDER BY id;

------------------------------------------------------------------------------
-- row-level security on mlsys.predictions: each tenant sees its own runs
------------------------------------------------------------------------------
-- (row-level security is on already, for private models: the tenants'
-- policies are restrictive, so they narrow what the tables grant)
CREATE POLICY tenant_runs ON mlsys.prediction_runs AS RESTRICTIVE TO mlsys_reader
    USING (run_by = current_user) WITH CHECK (run_by = current_user);
CREATE POLICY tenant_predictions ON mlsys.predictions AS RESTRICTIVE TO mlsys_reader
    USING (scored_by = current_user) WITH CHECK (scored_by = current_user);
SET ROLE regress_tenant_a;
CREATE TEMP VIEW a_rows AS SELECT id, a, b FROM sec_data WHERE id <= 30;
SELECT mlsys.predict_batch('sec', 'a_rows', 'id');
SELECT count(*), min(entity_id::int), max(entity_id::int) FROM mlsys.predictions;
RESET ROLE;
SET ROLE regress_tenant_b;
CREATE TEMP VIEW b_rows AS SELECT id, a, b FROM sec_data WHERE id > 190;
SELECT mlsys.predict_batch('sec', 'b_rows', 'id');
SELECT count(*), min(entity_id::int), max(entity_id::int) FROM mlsys.predictions;
SELECT count(*) AS runs_seen FROM mlsys.prediction_runs;
-- a tenant cannot write into another tenant's run
INSERT INTO mlsys.prediction_runs (model, version, relation, run_by) VALUES ('sec', 1, 'x', 'regress_tenant_a');
UPDATE mlsys.predictions SET label = 0;
RESET ROLE;
SET ROLE regress_tenant_a;
-- feedback: a tenant labels its own rows only
UPDATE mlsys.predictions SET label = 1, labeled_at = now();
SELECT count(*) AS seen, count(label) AS labeled FROM mlsys.predictions;
RESET ROLE;
-- the owner sees both tenants' rows
SELECT r.run_by, count(*), count(p.label) AS labeled
  FROM mlsys.predictions p JOIN mlsys.prediction_runs r USING (run_id)
 WHERE p.model = 'sec'
 GROUP BY 1 ORDER BY 1;

------------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------------
DROP POLICY tenant_predictions ON mlsys.predictions;
DROP POLICY tenant_runs ON mlsys.prediction_runs;
SELECT mlsys.drop_model(m) FROM unnest(ARRAY['sec', 'sec_cols']) m;
DROP OWNED BY regress_mlsys_trainer, regress_mlsys_admin, regress_mlsys_reader, regress_mlsys_nobody,
    regress_tenant_a, regress_tenant_b;
DROP TABLE sec_data, sec_secret;
DROP ROLE regress_mlsys_trainer, regress_mlsys_admin, regress_mlsys_reader, regress_mlsys_nobody,
    regress_tenant_a, regress_tenant_b;
