-- categorical features: one vocabulary pass for every column, the encoder in C
SET extra_float_digits = 0;
SELECT setseed(0.31);
CREATE TYPE cat_tier AS ENUM ('gold', 'silver', 'bronze', 'unused');
-- every categorical type; NULLs among labelled rows (s) and only among
-- unlabelled ones (t); long categories that share their first and last
-- bytes; a category seen only in unlabelled rows ('orphan')
CREATE TABLE cat AS
SELECT i AS id, (i % 13)::float8 AS x,
       CASE WHEN i % 11 = 0 THEN NULL ELSE (ARRAY['red', 'Blue', 'green'])[1 + i % 3] END AS s,
       (ARRAY['north', 'south', 'east'])[1 + i % 3]::varchar(10) AS t,
       (ARRAY['gold', 'silver', 'bronze'])[1 + i % 3]::cat_tier AS tier,
       i % 2 = 0 AS flag,
       (ARRAY['ab', 'c'])[1 + i % 2]::char(4) AS code,
       (ARRAY['customer-segment-alpha-end', 'customer-segment-omega-end', 'mid-length-9',
              'mid-length-X'])[1 + i % 4] AS long_cat,
       random() AS noise
FROM generate_series(1, 3000) i;
ALTER TABLE cat ADD COLUMN churn bool;
UPDATE cat SET churn = noise + CASE s WHEN 'red' THEN 0.4 ELSE 0 END + x * 0.03 > 0.9;
ALTER TABLE cat ADD COLUMN y float8;
UPDATE cat SET y = x + CASE s WHEN 'red' THEN 2 WHEN 'Blue' THEN -1 ELSE 0.5 END
                 + CASE tier WHEN 'gold' THEN 1 ELSE 0 END + CASE WHEN flag THEN 0.5 ELSE 0 END
                 + length(long_cat) * 0.1 + noise
 WHERE id % 10 <> 0;
-- unlabelled rows: a NULL in t and a category no labelled row has
UPDATE cat SET t = NULL WHERE id % 20 = 0;
UPDATE cat SET s = 'orphan' WHERE id % 20 = 10;

SELECT version FROM mlsys.train('cat_lin', 'cat', 'y',
    ARRAY['x', 's', 't', 'tier', 'flag', 'code', 'long_cat'], deploy => 'most_recent');

-- each vocabulary is exactly the distinct value::text of the labelled rows,
-- in byte order, NULL last when a labelled row has it
CREATE FUNCTION expected_categories(col text, target text DEFAULT 'y') RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE result jsonb;
BEGIN
    EXECUTE format('SELECT jsonb_agg(v ORDER BY v IS NULL, v COLLATE "C")
                      FROM (SELECT DISTINCT (%I)::text AS v FROM cat WHERE %I IS NOT NULL) d', col, target)
       INTO result;
    RETURN result;
END $$;
SELECT c AS column_name, preprocessing -> 'categories' -> c AS categories,
       preprocessing -> 'categories' -> c = expected_categories(c) AS as_before
FROM mlsys.model_versions, unnest(ARRAY['s', 't', 'tier', 'flag', 'code', 'long_cat']) c
WHERE model = 'cat_lin';

-- the encoder gives exactly the vector of the one-hot SQL expression it replaces
CREATE FUNCTION vocabulary(v mlsys.model_versions, col text) RETURNS text[] LANGUAGE sql AS $$
    SELECT ARRAY(SELECT c FROM jsonb_array_elements_text(v.preprocessing -> 'categories' -> col)
                 WITH ORDINALITY e(c, o) WHERE c IS NOT NULL ORDER BY o)
$$;
CREATE FUNCTION old_vector(r cat, v mlsys.model_versions) RETURNS float8[] LANGUAGE sql AS $$
    SELECT ARRAY[r.x]
        || mlsys._onehot(r.s::text, vocabulary(v, 's'), true)
        || mlsys._onehot(r.t::text, vocabulary(v, 't'), false)
        || mlsys._onehot(r.tier::text, vocabulary(v, 'tier'), false)
        || mlsys._onehot(r.flag::text, vocabulary(v, 'flag'), false)
        || mlsys._onehot(r.code::text, vocabulary(v, 'code'), false)
        || mlsys._onehot(r.long_cat::text, vocabulary(v, 'long_cat'), false)
$$;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE mlsys._encode(v.feature_columns, v.feature_lengths, v.preprocessing,
                                            r.x, r.s, r.t, r.tier, r.flag, r.code, r.long_cat)
                              = old_vector(r, v)) AS same_vector
FROM cat r, mlsys.model_versions v WHERE v.model = 'cat_lin';

-- scoring a record, a jsonb object and a batch agree, on labelled and
-- unlabelled rows (unseen categories and NULLs included)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE mlsys.predict('cat_lin', r) = mlsys.predict('cat_lin',
           jsonb_build_object('x', x, 's', s, 't', t, 'tier', tier, 'flag', flag, 'code', rtrim(code),
                              'long_cat', long_cat))) AS record_equals_json
FROM cat r;
SELECT mlsys.predict_batch('cat_lin', 'cat', 'id') AS scored;
SELECT count(*) FILTER (WHERE pr.prediction = mlsys.predict('cat_lin', r)) AS batch_equals_record
FROM mlsys.predictions pr JOIN cat r ON r.id::text = pr.entity_id WHERE pr.model = 'cat_lin';
-- the holdout predicate (retraining's) names exactly the held-out rows
CREATE FUNCTION holdout_count(m text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM cat r WHERE %s', mlsys._holdout_predicate(m, 1, 'r')) INTO n;
    RETURN n;
END $$;
SELECT holdout_count('cat_lin') = test_rows AS holdout_matches FROM mlsys.model_versions WHERE model = 'cat_lin';

-- the baseline gathered with the vocabularies equals a separate capture
SELECT b.profile -> 'features' = mlsys._capture_baseline('cat_lin', 1) -> 'features' AS baseline_matches,
       jsonb_path_query_array(b.profile, '$.features[*] ? (@.kind == "categorical").name') AS categorical_profiles
FROM mlsys.baselines b WHERE b.model = 'cat_lin' AND b.version = 1;

-- a classifier with categorical features; its vocabularies and holdout too
SELECT version, algorithm FROM mlsys.train('cat_log', 'cat', 'churn', ARRAY['x', 's', 'tier', 'long_cat'], 'logistic');
SELECT preprocessing -> 'categories' -> 's' AS categories,
       preprocessing -> 'categories' -> 's' = expected_categories('s', 'churn') AS as_before
FROM mlsys.model_versions WHERE model = 'cat_log';
SELECT holdout_count('cat_log') = test_rows AS holdout_matches FROM mlsys.model_versions WHERE model = 'cat_log';

-- two workers train the same model as one process
CREATE TABLE cat_big AS SELECT (c.id - 1) * 20 + g AS id, c.x, c.s, c.t, c.tier, c.flag, c.code, c.long_cat, c.churn, c.y + g * 0.001 AS y
FROM cat c, generate_series(1, 20) g;
ANALYZE cat_big;
SET max_parallel_workers_per_gather = 0;
SELECT version FROM mlsys.train('cat_serial', 'cat_big', 'y', ARRAY['x', 's', 't', 'tier', 'flag', 'code', 'long_cat']);
SELECT version FROM mlsys.train('cat_serial_log', 'cat_big', 'churn', ARRAY['x', 's', 'tier', 'long_cat'], 'logistic');
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
SELECT version FROM mlsys.train('cat_parallel', 'cat_big', 'y', ARRAY['x', 's', 't', 'tier', 'flag', 'code', 'long_cat']);
SELECT version FROM mlsys.train('cat_parallel_log', 'cat_big', 'churn', ARRAY['x', 's', 'tier', 'long_cat'], 'logistic');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET parallel_leader_participation;
SELECT a.preprocessing -> 'categories' = b.preprocessing -> 'categories' AS same_vocabularies,
       max(abs(fa.coefficient - fb.coefficient)) < 1e-9 AS same_coefficients,
       ba.profile -> 'features' = bb.profile -> 'features' AS same_baseline
FROM mlsys.model_versions a, mlsys.model_versions b, mlsys.features('cat_serial') fa,
     mlsys.features('cat_parallel') fb, mlsys.baselines ba, mlsys.baselines bb
WHERE a.model = 'cat_serial' AND b.model = 'cat_parallel' AND fa.ordinal = fb.ordinal
  AND ba.model = 'cat_serial' AND bb.model = 'cat_parallel'
GROUP BY a.preprocessing, b.preprocessing, ba.profile, bb.profile;
SELECT max(abs(fa.coefficient - fb.coefficient)) < 1e-9 AS same_logistic
FROM mlsys.features('cat_serial_log') fa JOIN mlsys.features('cat_parallel_log') fb USING (ordinal);

-- the category limit: 1000 distinct values train, 1001 do not
CREATE TABLE cat_wide AS SELECT i AS id, 'value-' || (i % 1000) AS at_limit, 'value-' || (i % 1001) AS past_limit,
       (i % 7)::float8 AS y FROM generate_series(1, 3003) i;
SELECT version FROM mlsys.train('cat_limit', 'cat_wide', 'y', ARRAY['at_limit'], 'ridge', '{"alpha": 1}');
SELECT jsonb_array_length(preprocessing -> 'categories' -> 'at_limit') AS categories,
       preprocessing -> 'categories' -> 'at_limit' = (SELECT jsonb_agg(v ORDER BY v COLLATE "C")
           FROM (SELECT DISTINCT at_limit AS v FROM cat_wide) d) AS as_before
FROM mlsys.model_versions WHERE model = 'cat_limit';
SELECT count(*) FILTER (WHERE mlsys.predict('cat_limit', r) = mlsys.predict('cat_limit', jsonb_build_object('at_limit', at_limit))) AS record_equals_json
FROM cat_wide r;
\set SHOW_CONTEXT never
SELECT * FROM mlsys.train('cat_past', 'cat_wide', 'y', ARRAY['past_limit']);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS nothing_registered FROM mlsys.models WHERE model = 'cat_past';
-- more distinct values than the vocabulary pass tracks (65536), few labelled:
-- the column's vocabulary comes from a query of its own, still exact
CREATE TABLE cat_huge AS SELECT i AS id, CASE WHEN i % 1000 = 0 THEN 'k' || (i % 7) ELSE 'u' || i END AS c,
       CASE WHEN i % 1000 = 0 THEN (i % 5)::float8 END AS y FROM generate_series(1, 70000) i;
SELECT version FROM mlsys.train('cat_huge', 'cat_huge', 'y', ARRAY['c'], 'ridge', '{"alpha": 1}');
SELECT preprocessing -> 'categories' -> 'c' AS categories FROM mlsys.model_versions WHERE model = 'cat_huge';
\set SHOW_CONTEXT errors
