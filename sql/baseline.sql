-- drift baselines gathered by training's own passes: the same document as a
-- separate capture pass, serial and with parallel workers, for every
-- feature-based family; the profile aggregates themselves; bad inputs
CREATE TABLE bl_data AS
SELECT i AS id, ((i * 7919) % 1000) / 100.0 AS a, (i % 5)::text AS c, (i % 3 = 0) AS flag,
       CASE WHEN i % 97 = 0 THEN NULL ELSE ((i * 104729) % 300) / 100.0 END AS b,
       CASE WHEN i % 50 = 0 THEN NULL ELSE ((i * 31) % 400) / 100.0 + i % 7 END AS y,
       CASE WHEN (i * 13) % 7 < 3 THEN 'yes' ELSE 'no' END AS lab,
       (ARRAY['x', 'y', 'z'])[1 + (i + (i * 17) % 5 / 4) % 3] AS lab3,
       ARRAY[(i % 11)::float8, ((i * 3) % 13)::float8] AS arr
FROM generate_series(1, 20000) i;

-- how two baselines of one version compare: the same rows, columns, counts,
-- grids and categories; moments equal to rounding (the passes may sum in
-- another order, and score with another dot product than mlsys.predict)
CREATE FUNCTION bl_compare(a jsonb, b jsonb) RETURNS TABLE (same_but_moments bool, moments_ok bool)
LANGUAGE sql AS $$
    SELECT bool_and(x - 'mean' - 'std' - 'min' - 'max' = y - 'mean' - 'std' - 'min' - 'max')
               AND a - 'features' - 'prediction' - 'target' = b - 'features' - 'prediction' - 'target',
           bool_and(coalesce(abs((x ->> k)::float8 - (y ->> k)::float8) <= 1e-9 * (1 + abs((y ->> k)::float8)), x ->> k IS NULL AND y ->> k IS NULL))
    FROM jsonb_array_elements(a -> 'features' || jsonb_build_array(a -> 'prediction', a -> 'target')) WITH ORDINALITY AS ax(x, i)
    JOIN jsonb_array_elements(b -> 'features' || jsonb_build_array(b -> 'prediction', b -> 'target')) WITH ORDINALITY AS bx(y, i) USING (i),
         unnest(ARRAY['mean', 'std', 'min', 'max']) k
$$;

-- serial: training's baseline is what mlsys.capture_baseline captures
SET max_parallel_workers_per_gather = 0;
SELECT m, version FROM (VALUES
    ('bl_lin',  (SELECT version FROM mlsys.train('bl_lin', 'bl_data', 'y', ARRAY['a', 'c', 'flag', 'b'], deploy => 'never'))),
    ('bl_arr',  (SELECT version FROM mlsys.train('bl_arr', 'bl_data', 'y', ARRAY['a', 'arr'], deploy => 'never'))),
    ('bl_bin',  (SELECT version FROM mlsys.train('bl_bin', 'bl_data', 'lab', ARRAY['a', 'c', 'b'], deploy => 'never'))),
    ('bl_mc',   (SELECT version FROM mlsys.train('bl_mc', 'bl_data', 'lab3', ARRAY['a', 'c'], deploy => 'never')))) v(m, version)
ORDER BY 1;
CREATE TEMP TABLE bl_trained AS SELECT model, version, profile FROM mlsys.baselines WHERE model LIKE 'bl\_%';
SELECT count(*) FROM (SELECT mlsys.capture_baseline(model, version) FROM bl_trained) c;
SELECT b.model, c.*, b.profile -> 'rows' AS rows, jsonb_array_length(b.profile -> 'features') AS profiled_columns,
       b.profile #>> '{prediction,kind}' AS prediction_kind, (b.profile #>> '{prediction,nulls}')::int AS no_prediction,
       (b.profile #>> '{target,nulls}')::int AS target_nulls
FROM mlsys.baselines b JOIN bl_trained t USING (model, version), bl_compare(t.profile, b.profile) c
ORDER BY 1;

-- with two workers: training's baseline is again what a serial capture captures
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT mlsys._profile_num_agg(a, 'a'), mlsys._profile_cat_agg(c, 'c') FROM bl_data;
CREATE TEMP TABLE bl_par AS
SELECT m AS model, v.version
FROM unnest(ARRAY['bl_lin', 'bl_arr', 'bl_bin', 'bl_mc']) m,
     LATERAL (SELECT version FROM mlsys.train(m, 'bl_data',
              CASE m WHEN 'bl_bin' THEN 'lab' WHEN 'bl_mc' THEN 'lab3' ELSE 'y' END,
              CASE m WHEN 'bl_lin' THEN ARRAY['a', 'c', 'flag', 'b'] WHEN 'bl_arr' THEN ARRAY['a', 'arr']
                     WHEN 'bl_bin' THEN ARRAY['a', 'c', 'b'] ELSE ARRAY['a', 'c'] END,
              deploy => 'never')) v;
CREATE TEMP TABLE bl_par_trained AS
SELECT b.model, b.version, b.profile FROM mlsys.baselines b JOIN bl_par USING (model, version);
SET max_parallel_workers_per_gather = 0;
SELECT count(*) FROM (SELECT mlsys.capture_baseline(model, version) FROM bl_par) c;
SELECT b.model, b.version, c.*
FROM mlsys.baselines b JOIN bl_par_trained t USING (model, version), bl_compare(t.profile, b.profile) c
ORDER BY 1;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;

-- mlsys.capture_baseline = off: no baseline until captured by hand
SET mlsys.capture_baseline = off;
SELECT version FROM mlsys.train('bl_lin', 'bl_data', 'y', ARRAY['a', 'c'], deploy => 'never');
SELECT count(*) AS baselines FROM mlsys.baselines WHERE model = 'bl_lin' AND version = 3;
RESET mlsys.capture_baseline;

-- the aggregates on their own
SELECT mlsys._profile_num_agg(v, 'v')::jsonb - 'grid' - 'psi_edges' - 'psi_proportions' AS numeric_profile
FROM (VALUES (1.0::float8), (2.0), (NULL), ('NaN'), (4.0)) t(v);
SELECT mlsys._profile_cat_agg(v, 'v')::jsonb AS categorical_profile
FROM (VALUES ('b'), ('a'), (NULL), ('b'), ('c'), ('b'), ('a')) t(v);
SELECT mlsys._profile_num_agg(v, 'v') IS NULL AS empty FROM (SELECT 1.0::float8 WHERE false) t(v);

-- invalid input: an infinite value
SELECT mlsys._profile_num_agg(v, 'v') FROM (VALUES (1.0::float8), ('Infinity')) t(v);
-- invalid input: a null column name
SELECT mlsys._profile_cat_agg(v, NULL) FROM (VALUES ('a')) t(v);
-- invalid input: support functions outside an aggregate, forged states
SELECT mlsys._profile_num_accum(NULL, 1.0, 'v');
SELECT mlsys._profile_cat_final('\x00'::bytea);
SELECT mlsys._profile_num_final('\x0000000000000000'::bytea);
-- invalid input: a forged categorical state whose category text lies outside it
SELECT mlsys._profile_cat_final(decode('010043501000000001000000000000000000f03f00000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000f03f40420f000a00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000', 'hex'));

SELECT mlsys.drop_model(m) FROM unnest(ARRAY['bl_lin', 'bl_arr', 'bl_bin', 'bl_mc']) m;
DROP TABLE bl_data;
DROP FUNCTION bl_compare(jsonb, jsonb);
