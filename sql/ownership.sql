-- model owners: the role that creates a model owns it; mlsys.set_owner by the
-- owner (or a member of the owning role) or an admin, refused to anyone else.
-- Runs under SET ROLE as regress_ roles created here and dropped at the end.
CREATE ROLE regress_own_a LOGIN IN ROLE mlsys_trainer;
CREATE ROLE regress_own_b LOGIN IN ROLE mlsys_trainer;
CREATE ROLE regress_own_team NOLOGIN;
CREATE ROLE regress_own_a2 LOGIN IN ROLE mlsys_trainer, regress_own_team;
CREATE ROLE regress_own_admin LOGIN IN ROLE mlsys_admin;
CREATE ROLE regress_own_reader LOGIN IN ROLE mlsys_reader;
CREATE TABLE own_data AS SELECT g::float8 AS x, 3 * g::float8 + 1 AS y FROM generate_series(1, 50) g;
GRANT SELECT ON own_data TO regress_own_a, regress_own_b, regress_own_a2;

-- the creator owns the model; a later training by another trainer does not change that
SET ROLE regress_own_a;
SELECT version FROM mlsys.train('own_m', 'own_data', 'y', ARRAY['x']);
RESET ROLE;
SET ROLE regress_own_b;
SELECT version FROM mlsys.train('own_m', 'own_data', 'y', ARRAY['x'], deploy => 'never');
RESET ROLE;
SELECT model, owner, created_by FROM mlsys.models WHERE model = 'own_m';

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
-- a member of the owning role counts as the owner
SET ROLE regress_own_a2;
SELECT mlsys.set_owner('own_m', 'regress_own_a2');
RESET ROLE;
SELECT owner FROM mlsys.models WHERE model = 'own_m';
-- an admin may give any model to anyone
SET ROLE regress_own_admin;
SELECT mlsys.set_owner('own_m', 'regress_own_a');
RESET ROLE;
SELECT owner FROM mlsys.models WHERE model = 'own_m';
-- readers may not call it at all
SET ROLE regress_own_reader;
\set VERBOSITY sqlstate
SELECT mlsys.set_owner('own_m', 'regress_own_reader');
RESET ROLE;

-- bad input
SELECT mlsys.set_owner(NULL, 'regress_own_a');
SELECT mlsys.set_owner('own_m', NULL);
SELECT mlsys.set_owner('own_nope', 'regress_own_a');
SELECT mlsys.set_owner('own_m', 'regress_own_nope');
\set VERBOSITY default

-- an imported model belongs to the importer
SET ROLE regress_own_b;
SELECT mlsys.import_model('own_copy', mlsys.export_model('own_m', 1)) IS NOT NULL AS imported;
RESET ROLE;
SELECT owner FROM mlsys.models WHERE model = 'own_copy';
-- an owner given explicitly (a restore) is kept
INSERT INTO mlsys.models (model, task, owner) VALUES ('own_restored', 'regression', 'regress_own_b');
SELECT owner FROM mlsys.models WHERE model = 'own_restored';

-- clean up: the roles can be dropped (the owner column holds no dependency)
SELECT mlsys.drop_model(m) FROM unnest(ARRAY['own_m', 'own_copy', 'own_restored']) m;
DROP TABLE own_data;
DROP ROLE regress_own_a, regress_own_b, regress_own_a2, regress_own_team, regress_own_admin, regress_own_reader;
