-- Extension script safety: a user creates same-named functions and operators
-- (= on text and int, format, count, now, md5, ...) in a schema of their own
-- and puts it before pg_catalog in search_path. mlsys must neither call them
-- nor change its results: every trap raises a NOTICE (none may appear below
-- after the control query) and counts its calls in the setting trap.hits.
\set VERBOSITY terse
-- every SQL and PL/pgSQL function pins search_path; the one exception,
-- mlsys.configure, resolves its "relation" setting with the caller's
-- search_path on purpose and schema-qualifies every operator and function
SELECT p.oid::regprocedure AS unpinned
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'mlsys'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
   AND (p.proconfig IS NULL OR NOT 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig));
-- and so do the C functions that run queries over the caller's relation
SELECT p.oid::regprocedure AS pinned_c_function
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'mlsys'::regnamespace AND l.lanname = 'c'
   AND 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig)
 ORDER BY p.oid::regprocedure::text COLLATE "C";
CREATE SCHEMA trap;
-- every trap raises a NOTICE and counts its calls in trap.hits
CREATE FUNCTION trap.hit(what text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    RAISE NOTICE 'trap called: %', what;
    PERFORM pg_catalog.set_config('trap.hits', (COALESCE(NULLIF(pg_catalog.current_setting('trap.hits', true), ''), '0')::int + 1)::text, false);
END $$;
CREATE FUNCTION trap.text_eq(a text, b text) RETURNS bool LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('=(text,text)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR trap.= (LEFTARG = text, RIGHTARG = text, FUNCTION = trap.text_eq);
CREATE FUNCTION trap.int_eq(a int, b int) RETURNS bool LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('=(int,int)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR trap.= (LEFTARG = int, RIGHTARG = int, FUNCTION = trap.int_eq);
CREATE FUNCTION trap.format(f text, VARIADIC a text[]) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('format'); RETURN 'x'; END $$;
CREATE FUNCTION trap.format(f text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('format'); RETURN 'x'; END $$;
CREATE FUNCTION trap.jsonb_typeof(j jsonb) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('jsonb_typeof'); RETURN 'object'; END $$;
CREATE FUNCTION trap.count(x "any") RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('count'); RETURN 0; END $$;
CREATE FUNCTION trap.now() RETURNS timestamptz LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('now'); RETURN 'epoch'; END $$;
CREATE FUNCTION trap.md5(t text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('md5'); RETURN 'x'; END $$;
CREATE FUNCTION trap.array_position(a anyarray, e anyelement) RETURNS int LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('array_position'); RETURN 1; END $$;
CREATE FUNCTION trap.current_setting(t text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('current_setting'); RETURN 'x'; END $$;
CREATE FUNCTION trap.jsonb_build_object(VARIADIC a "any") RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('jsonb_build_object'); RETURN '{}'; END $$;
CREATE FUNCTION trap.float8(t text) RETURNS float8 LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM trap.hit('float8'); RETURN 0; END $$;
CREATE TABLE trap.models (model text);
CREATE TABLE trap_data AS
SELECT i AS id, i::float8 AS a, (i % 7)::float8 AS b, (2 * i + (i % 7))::float8 AS y, i % 2 = 0 AS flag,
       'c' || (i % 3) AS cat, i % 11 AS item
FROM generate_series(1, 120) i;
SET search_path = trap, public, pg_catalog;
-- control: the traps do fire for unqualified references under this search_path
SELECT 'a'::text = 'a'::text AS eq, format('%s', 'q') AS fmt;
SELECT pg_catalog.current_setting('trap.hits') AS hits_before;
SELECT set_config('trap.hits', '0', false);
-- mlsys functions under the hostile search_path (none may call a trap)
SELECT version, deployed FROM mlsys.train('trapm', 'trap_data', 'y', ARRAY['a', 'b', 'cat']);
SELECT version, deployed FROM mlsys.train('trapc', 'trap_data', 'flag', ARRAY['a', 'b']);
SELECT mlsys.deploy('trapm', 1);
SELECT version FROM mlsys.train('trapm', 'trap_data', 'y', ARRAY['a', 'b', 'cat'], deploy => 'never');
SELECT mlsys.deploy('trapm', 2);
SELECT mlsys.rollback('trapm');
SELECT round(mlsys.predict('trapm', t)::numeric, 6) FROM trap_data t WHERE id OPERATOR(pg_catalog.=) 5;
SELECT round(mlsys.predict('trapm', '{"a": 5, "b": 5, "cat": "c2"}'::jsonb)::numeric, 6);
SELECT mlsys.predict_label('trapc', t) FROM trap_data t WHERE id OPERATOR(pg_catalog.=) 5;
SELECT mlsys.live_version('trapm'), mlsys.classes('trapc');
SELECT count(*) FROM mlsys.features('trapm');
SELECT round(mlsys.predict('trapm', 2, t)::numeric, 6) FROM trap_data t WHERE id OPERATOR(pg_catalog.=) 5;
SELECT pg_catalog.array_length(mlsys.predict_proba('trapc', t), 1) FROM trap_data t WHERE id OPERATOR(pg_catalog.=) 5;
SELECT mlsys.predict_batch('trapm', 'trap_data', 'id');
SELECT mlsys.predict_batch('trapc', 'trap_data', 'id');
SELECT count(*) FROM mlsys.cross_validate('trap_data', 'y', ARRAY['a', 'b'], folds => 3);
SELECT version FROM mlsys.tune('trapm', 'trap_data', 'y', '{"alpha": [0.1, 1]}', ARRAY['a', 'b', 'cat'], 'ridge', folds => 3);
SELECT mlsys.configure('trapm', '{"relation": "trap_data", "tolerance": 0.2}') ->> 'tolerance';
SELECT decision FROM mlsys.retrain('trapm');
SELECT data_unchanged, params_match FROM mlsys.reproduce('trapm', 1);
SELECT mlsys.prune_versions('trapm', 10);
SELECT version FROM mlsys.train_recommender('trapr', 'trap_data', 'id', 'item', 'a');
SELECT count(*) FROM mlsys.recommend(5, 3, 'trapr');
SELECT count(*) FROM mlsys.similar_items(3, 3, 'trapr');
-- the default-recommender lookup runs its registry query (whether it then finds
-- one recommender depends on the other tests' models)
DO $$ BEGIN PERFORM mlsys.recommend(5, 3); EXCEPTION WHEN ambiguous_parameter THEN NULL; END $$;
SELECT count(*) FROM mlsys.recommend_for_items(ARRAY[1, 2]::bigint[], 3, 'trapr');
SELECT round(mlsys.predict_rating('trapr', 5, 3)::numeric, 6) IS NOT NULL AS rated;
SELECT pg_catalog.jsonb_typeof(mlsys.evaluate_recommender('trapr', 'trap_data', 3, 'id', 'item', 'a')) AS evaluated;
SELECT mlsys.drop_model('trapm');
-- no trap was called by mlsys
SELECT pg_catalog.current_setting('trap.hits') AS trap_hits;
RESET search_path;
SELECT mlsys.drop_model(m) FROM unnest(ARRAY['trapc', 'trapr']) m;
DROP TABLE trap_data;
DROP SCHEMA trap CASCADE;
