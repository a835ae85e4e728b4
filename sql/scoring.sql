-- scoring: predict overloads, versions, the model cache, deploy and rollback,
-- batch scoring into mlsys.predictions
SET extra_float_digits = 0;
CREATE TABLE pts AS
SELECT i AS id, (i % 10)::float8 AS a, (i % 7)::int AS b, (i % 3 = 0)::int AS c, 'row ' || i AS note
FROM generate_series(1, 200) i;
ALTER TABLE pts ADD COLUMN y float8;
UPDATE pts SET y = 1 + 2 * a - 0.5 * b + 3 * c::int;
-- v1 fits y exactly; v2 is trained on a shifted target
SELECT version FROM mlsys.train('pts', 'pts', 'y', ARRAY['a', 'b', 'c'], test_size => 0.2);
CREATE TABLE pts2 AS SELECT id, a, b, c, y + 100 AS y FROM pts;
SELECT version, deployed FROM mlsys.train('pts', 'pts2', 'y', ARRAY['a', 'b', 'c'], test_size => 0.2, deploy => 'never');

-- a row (other columns ignored), a float8[] in model order, a jsonb object
SELECT id, round(mlsys.predict('pts', p)::numeric, 9) AS from_row, y FROM pts p WHERE id <= 3 ORDER BY id;
SELECT round(mlsys.predict('pts', ARRAY[3, 2, 1]::float8[])::numeric, 9) AS from_array;
SELECT round(mlsys.predict('pts', '{"a": 3, "b": 2, "c": true, "extra": "ignored"}'::jsonb)::numeric, 9) AS from_jsonb;
-- a row from a subquery with named columns, in another column order
SELECT round(mlsys.predict('pts', s)::numeric, 9) AS from_subquery
FROM (SELECT 1 AS c, 2::numeric AS b, 3::int AS a) s;
-- a given version
SELECT round(mlsys.predict('pts', 2, ARRAY[3, 2, 1]::float8[])::numeric, 9) AS v2_array,
       round(mlsys.predict('pts', 2, '{"a": 3, "b": 2, "c": 1}'::jsonb)::numeric, 9) AS v2_jsonb,
       round(mlsys.predict('pts', 2, p)::numeric, 9) AS v2_row
FROM pts p WHERE id = 1;

-- what the model learned: y = 1 + 2a - 0.5b + 3c exactly
SELECT ordinal, feature, round(coefficient::numeric, 9) AS coefficient FROM mlsys.features('pts');
SELECT ordinal, feature, round(coefficient::numeric, 6) AS coefficient FROM mlsys.features('pts', 2) WHERE ordinal = 0;

-- deploy switches what predict returns, within the same session (cache invalidated)
SELECT mlsys.deploy('pts', 2);
SELECT mlsys.live_version('pts'), round(mlsys.predict('pts', ARRAY[3, 2, 1]::float8[])::numeric, 9) AS live;
-- deploying the live version again is a no-op
SELECT mlsys.deploy('pts', 2);
-- rollback walks back like a stack
SELECT version FROM mlsys.train('pts', 'pts', 'y', ARRAY['a', 'b'], test_size => 0.2, deploy => 'most_recent');
SELECT mlsys.live_version('pts');
SELECT mlsys.rollback('pts');
SELECT mlsys.live_version('pts'), round(mlsys.predict('pts', ARRAY[3, 2, 1]::float8[])::numeric, 9) AS live;
SELECT mlsys.rollback('pts');
SELECT mlsys.live_version('pts'), round(mlsys.predict('pts', ARRAY[3, 2, 1]::float8[])::numeric, 9) AS live;
SELECT mlsys.rollback('pts');
SELECT version, reason, previous_id IS NULL AS bottom FROM mlsys.deployments WHERE model = 'pts' ORDER BY id;

-- a deployment rolled back inside a transaction leaves the cache right
BEGIN;
SELECT mlsys.deploy('pts', 2);
SELECT mlsys.live_version('pts') AS inside;
ROLLBACK;
SELECT mlsys.live_version('pts') AS after_rollback;

-- a statement keeps its model while other sessions deploy (TAP test), but a
-- deployment made by the statement itself is seen from its next command on
CREATE FUNCTION deploy_v2_once() RETURNS int LANGUAGE plpgsql AS $$
BEGIN PERFORM mlsys.deploy('pts', 2); RETURN 0; END $$;
SELECT count(DISTINCT round(mlsys.predict('pts', ARRAY[3, 2, 1]::float8[])::numeric, 6)) AS versions_seen
FROM generate_series(1, 3) g, LATERAL (SELECT CASE WHEN g = 2 THEN deploy_v2_once() END) d;
SELECT mlsys.live_version('pts') AS now_live;
SELECT mlsys.deploy('pts', 1);
-- PL/pgSQL: a loop that deploys and scores sees each deployment
DO $$
DECLARE v float8;
BEGIN
    FOR i IN 1..2 LOOP
        PERFORM mlsys.deploy('pts', 3 - i);
        v := mlsys.predict('pts', ARRAY[3, 2, 1]::float8[]);
        RAISE NOTICE 'deployed %, predicted %', 3 - i, round(v::numeric, 6);
    END LOOP;
END $$;
-- a row type altered between statements of one transaction is re-read
CREATE TABLE pts_alter AS SELECT id, a, b, c FROM pts WHERE id <= 2;
DO $$
DECLARE r pts_alter; v float8;
BEGIN
    SELECT * INTO r FROM pts_alter WHERE id = 1;
    v := mlsys.predict('pts', r);
    RAISE NOTICE 'before: %', round(v::numeric, 6);
    ALTER TABLE pts_alter ALTER COLUMN a TYPE numeric, ALTER COLUMN b TYPE int8;
    SELECT * INTO r FROM pts_alter WHERE id = 1;
    v := mlsys.predict('pts', r);
    RAISE NOTICE 'after: %', round(v::numeric, 6);
END $$;

-- batch scoring: one row per input row, every call a run of its own
SELECT mlsys.predict_batch('pts', 'pts', 'id');
SELECT mlsys.predict_batch('pts', 'pts', 'id');
SELECT dense_rank() OVER (ORDER BY run_id) AS run, model, version, relation, rows,
       finished_at >= started_at AS finished
FROM mlsys.prediction_runs WHERE model = 'pts' ORDER BY run_id;
SELECT dense_rank() OVER (ORDER BY run_id) AS run, count(*), count(DISTINCT entity_id), min(version), max(version)
FROM mlsys.predictions WHERE model = 'pts' GROUP BY run_id ORDER BY run_id;
SELECT bool_and(abs(pr.prediction - p.y) < 1e-9) AS batch_matches_target
FROM mlsys.predictions pr JOIN pts p ON p.id::text = pr.entity_id WHERE pr.model = 'pts';
-- the run id column and identifiers with odd names
CREATE TABLE "odd ""table""" ("the id" int, a float8, b float8, c int);
INSERT INTO "odd ""table""" VALUES (1, 3, 2, 1), (2, 0, 0, 0);
SELECT mlsys.predict_batch('pts', '"odd ""table"""', 'the id');
SELECT entity_id, round(prediction::numeric, 9) FROM mlsys.predictions
WHERE run_id = (SELECT max(run_id) FROM mlsys.prediction_runs) ORDER BY entity_id;

-- a tampered parameter blob is detected, never served
UPDATE mlsys.model_versions SET params = set_byte(params, 30, get_byte(params, 30) # 1)
WHERE model = 'pts' AND version = 1;
\set VERBOSITY terse
SELECT mlsys.predict('pts', ARRAY[3, 2, 1]::float8[]);
UPDATE mlsys.model_versions SET params = substring(params from 1 for 20) WHERE model = 'pts' AND version = 1;
SELECT mlsys.predict('pts', ARRAY[3, 2, 1]::float8[]);
UPDATE mlsys.model_versions SET params = '\x00'::bytea WHERE model = 'pts' AND version = 1;
SELECT mlsys.predict('pts', ARRAY[3, 2, 1]::float8[]);
\set VERBOSITY default
-- version 2 is still fine
SELECT round(mlsys.predict('pts', 2, ARRAY[3, 2, 1]::float8[])::numeric, 9) AS v2_still_ok;
