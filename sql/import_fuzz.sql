-- randomized fuzzing of the jsonb import parser, in the server: 1500 mutations
-- of real exported documents (keys dropped, values replaced by other JSON types,
-- numbers perturbed to extremes, arrays truncated or extended, strings garbled),
-- each imported in its own subtransaction. Every outcome must be a success or a
-- class-22 / 42809 error: never an internal error, never a crash, and a
-- rejected document registers nothing. Deterministic (setseed).
SET client_min_messages = warning;
CREATE TABLE fz AS
SELECT i AS id, (i % 11)::float8 AS a, CASE i % 3 WHEN 0 THEN 'x' WHEN 1 THEN 'y' END AS c,
       (i % 11) * 2 + CASE i % 3 WHEN 0 THEN 1 ELSE 0 END + 0.5 AS y, i % 4 = 0 AS flag
FROM generate_series(1, 300) i;
SELECT count(*) FROM (SELECT mlsys.train('fz_lin', 'fz', 'y', ARRAY['a', 'c'])) s;
SELECT count(*) FROM (SELECT mlsys.train('fz_bin', 'fz', 'flag', ARRAY['a', 'c'])) s;
CREATE TABLE fz_ratings AS SELECT (i % 20) AS user_id, (i % 17) AS item_id FROM generate_series(1, 400) i;
SELECT count(*) FROM (SELECT mlsys.train_recommender('fz_rec', 'fz_ratings', hyperparams => '{"factors": 3}')) s;

CREATE FUNCTION pg_temp.mutate(doc jsonb, r float8) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    paths text[][];
    p text[];
    v jsonb;
    k int;
BEGIN
    -- every path to a scalar or container, then pick one
    SELECT array_agg(path) INTO paths FROM (
        WITH RECURSIVE t(path, val) AS (
            SELECT ARRAY[e.key], e.value FROM jsonb_each(doc) e
            UNION ALL
            SELECT t.path || c.key, c.value
              FROM t, LATERAL (SELECT e.key, e.value FROM jsonb_each(CASE WHEN jsonb_typeof(t.val) = 'object' THEN t.val END) e
                               UNION ALL
                               SELECT (a.o - 1)::text, a.v FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.val) = 'array' THEN t.val END)
                                      WITH ORDINALITY a(v, o) WHERE a.o <= 3) c
             WHERE array_length(t.path, 1) < 5)
        SELECT array_to_string(path, E'\x1f') AS path FROM t) s(path);
    p := string_to_array(paths[1 + floor(random() * array_length(paths, 1))::int], E'\x1f');
    v := doc #> p;
    k := floor(r * 8)::int;
    RETURN CASE k
        WHEN 0 THEN doc #- p                                                  -- drop it
        WHEN 1 THEN jsonb_set(doc, p, '"garbage"')                            -- a string
        WHEN 2 THEN jsonb_set(doc, p, 'null')                                 -- null
        WHEN 3 THEN jsonb_set(doc, p, (ARRAY['1e308', '-1e308', '5e-324', '0', '-1', '2147483648', '9.3e18', '1e400'])[1 + floor(random() * 8)::int]::jsonb)
        WHEN 4 THEN jsonb_set(doc, p, '[]')                                   -- empty array
        WHEN 5 THEN jsonb_set(doc, p, CASE WHEN jsonb_typeof(v) = 'array' THEN v || v ELSE jsonb_build_array(v) END)
        WHEN 6 THEN jsonb_set(doc, p, '{}')                                   -- empty object
        ELSE jsonb_set(doc, p, to_jsonb(repeat('x', 1 + floor(random() * 3000)::int)))
    END;
END $$;

CREATE TABLE fz_out (sqlstate text);
SELECT setseed(0.42);
DO $$
DECLARE
    docs jsonb[] := ARRAY[mlsys.export_model('fz_lin'), mlsys.export_model('fz_bin'), mlsys.export_model('fz_rec')];
    d jsonb;
    st text;
BEGIN
    FOR i IN 1..1500 LOOP
        d := pg_temp.mutate(docs[1 + i % 3], random());
        IF random() < 0.3 THEN
            d := pg_temp.mutate(d, random());                                  -- two mutations
        END IF;
        BEGIN
            PERFORM mlsys.import_model('fz_target_' || (i % 3), d);
            st := 'ok';
            RAISE EXCEPTION USING ERRCODE = 'MLOK0';                           -- roll it back
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
            INSERT INTO fz_out VALUES (CASE WHEN st = 'MLOK0' THEN 'ok' ELSE st END);
        END;
    END LOOP;
END $$;
-- outcome classes: successes and data exceptions (22xxx), nothing else
SELECT CASE WHEN sqlstate = 'ok' THEN 'imported'
            WHEN sqlstate LIKE '22%' THEN 'rejected: data exception (class 22)'
            WHEN sqlstate = '42809' THEN 'rejected: wrong model kind'
            ELSE 'UNEXPECTED ' || sqlstate END AS outcome,
       count(*) > 0 AS seen
FROM fz_out GROUP BY 1 ORDER BY 1;
SELECT count(*) AS mutations, count(*) FILTER (WHERE sqlstate LIKE 'XX%') AS internal_errors FROM fz_out;
-- rejected documents registered nothing (successes were rolled back too)
SELECT count(*) AS leftover FROM mlsys.models WHERE model LIKE 'fz\_target\_%';
SELECT count(mlsys.drop_model(m)) FROM unnest(ARRAY['fz_lin', 'fz_bin', 'fz_rec']) m;
DROP TABLE fz, fz_ratings, fz_out;
