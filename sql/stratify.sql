-- Exactly stratified holdout and folds of classifiers (strata.c): every class
-- holds out round(test_size * n) of its rows, and fold k of every class
-- gets round(k * n / folds) - round((k - 1) * n / folds) of its rows.
SET extra_float_digits = 0;
-- three classes of very different sizes, one feature
CREATE TABLE strat AS
SELECT i AS id,
       CASE WHEN i % 97 = 0 THEN 'rare' WHEN i % 5 = 0 THEN 'mid' ELSE 'common' END AS y,
       sin(i) * 3 + CASE WHEN i % 5 = 0 THEN 1 ELSE 0 END AS a
FROM generate_series(1, 4000) i;
SELECT y, count(*) AS n, count(DISTINCT a) AS distinct_a FROM strat GROUP BY y ORDER BY y;

-- the rows of each class that a version holds out, through the lifecycle's predicate
CREATE FUNCTION held_out(p_model text) RETURNS TABLE (label text, n bigint, held bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v mlsys.model_versions;
BEGIN
    SELECT * INTO v FROM mlsys.model_versions WHERE model = p_model ORDER BY version DESC LIMIT 1;
    RETURN QUERY EXECUTE format('SELECT (r.%I)::text, count(*), count(*) FILTER (WHERE %s) FROM %s r GROUP BY 1 ORDER BY 1',
                                v.target, mlsys._holdout_predicate(v.model, v.version, 'r'), v.relation);
END $$;

-- multiclass, test_size 0.3: each class exactly round(0.3 n), the total equals test_rows
SELECT version, metrics->'split'->'class_rows' AS class_rows
FROM mlsys.train('strat3', 'strat', 'y', ARRAY['a'], test_size => 0.3, deploy => 'never');
SELECT label, n, held, held = round(0.3 * n) AS exact FROM held_out('strat3');
SELECT sum(held) = (SELECT test_rows FROM mlsys.model_versions WHERE model = 'strat3') AS matches_test_rows
FROM held_out('strat3');

-- binary with a rare positive class (1 in 97), another seed and test_size
CREATE TABLE strat2 AS SELECT id, y = 'rare' AS rare, a FROM strat;
SELECT version FROM mlsys.train('strat2', 'strat2', 'rare', ARRAY['a'], test_size => 0.2, seed => 7, deploy => 'never');
SELECT label, n, held, held = round(0.2 * n) AS exact FROM held_out('strat2');

-- the same data in another order splits the same way (content, not position)
CREATE TABLE strat_shuffled AS SELECT * FROM strat ORDER BY md5(id::text);
SELECT version FROM mlsys.train('strat3s', 'strat_shuffled', 'y', ARRAY['a'], test_size => 0.3, deploy => 'never');
SELECT a.metrics->'split' = b.metrics->'split' AS same_cuts, a.metrics->>'accuracy' = b.metrics->>'accuracy' AS same_accuracy
FROM mlsys.model_versions a, mlsys.model_versions b WHERE a.model = 'strat3' AND b.model = 'strat3s';

-- folds: the cuts of the split aggregate give every class its share of every fold
CREATE TABLE cuts5 AS
SELECT r[1:3] AS n, ARRAY(SELECT r[3 + 3 * k + 1] FROM generate_series(0, 11) k) AS cuts
FROM (SELECT mlsys._strata_agg(array_position(ARRAY['common', 'mid', 'rare'], y)::float8 - 1, ARRAY[a], 0, 3, 0.5, 5, NULL, NULL) AS r
      FROM strat) s;
SELECT n, (SELECT bool_and(c >= 0 AND c < 1) FROM unnest(cuts) c) AS cuts_in_range FROM cuts5;
WITH f AS (
    SELECT y, mlsys._fold(array_position(ARRAY['common', 'mid', 'rare'], y)::float8 - 1, ARRAY[a], 0, 5, cuts) AS fold
    FROM strat, cuts5),
counted AS (SELECT y, fold, count(*) AS rows FROM f GROUP BY y, fold),
expected AS (
    SELECT y, k AS fold, (2 * k * n + 5) / 10 - (2 * (k - 1) * n + 5) / 10 AS rows
    FROM (SELECT y, count(*) AS n FROM strat GROUP BY y) c, generate_series(1, 5) k)
SELECT e.y, array_agg(c.rows ORDER BY e.fold) AS rows_per_fold, bool_and(c.rows = e.rows) AS exact
FROM expected e LEFT JOIN counted c USING (y, fold) GROUP BY e.y ORDER BY e.y;

-- parallel workers (combine) find the same cuts as one process
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT (SELECT ARRAY(SELECT r[3 + 3 * k + 1] FROM generate_series(0, 11) k)
        FROM (SELECT mlsys._strata_agg(array_position(ARRAY['common', 'mid', 'rare'], y)::float8 - 1, ARRAY[a], 0, 3, 0.5, 5, NULL, NULL) AS r
              FROM strat) s) = (SELECT cuts FROM cuts5) AS same_cuts;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- a refining pass (fixed windows, as after a rare miss of the first pass)
-- places the cut exactly where the first pass did; windows already placed
-- are skipped (NaN)
WITH hit AS (SELECT mlsys._strata_agg(array_position(ARRAY['common', 'mid', 'rare'], y)::float8 - 1, ARRAY[a], 0, 3, 0.3, 0,
                                      ARRAY[1, 0.2, 0.4, 2, 0, 1, 2, 0, 1], NULL) AS r FROM strat),
adaptive AS (SELECT mlsys._strata_agg(array_position(ARRAY['common', 'mid', 'rare'], y)::float8 - 1, ARRAY[a], 0, 3, 0.3, 0,
                                      NULL, NULL) AS r FROM strat)
SELECT hit.r[4] = adaptive.r[4] AS same_cut_as_adaptive, hit.r[7] = 'NaN' AND hit.r[10] = 'NaN' AS placed_windows_skipped
FROM hit, adaptive;
-- a window that cannot hold the cut: the data changed between passes
SELECT mlsys._strata_agg(array_position(ARRAY['common', 'mid', 'rare'], y)::float8 - 1, ARRAY[a], 0, 3, 0.3, 0,
                         ARRAY[1, 0.9, 1, 2, 0, 1, 2, 0, 1], NULL) FROM strat;

-- identical rows share their content hash, so they are never split apart
CREATE TABLE dup AS
SELECT i AS id, (i % 2 = 0) AS y, CASE WHEN i <= 40 THEN 1.5 ELSE i::float8 END AS a FROM generate_series(1, 400) i;
SELECT version FROM mlsys.train('dup', 'dup', 'y', ARRAY['a'], deploy => 'never');
CREATE FUNCTION dup_sides() RETURNS TABLE (y bool, sides bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT r.y, count(DISTINCT %s) FROM dup r WHERE r.a = 1.5 GROUP BY 1 ORDER BY 1',
                                mlsys._holdout_predicate('dup', 1, 'r'));
END $$;
SELECT * FROM dup_sides();

-- bad input to the internal functions: clear errors
\set VERBOSITY terse
SELECT mlsys._strata_agg(5, ARRAY[1.0], 0, 3, 0.3, 0, NULL, NULL);
SELECT mlsys._strata_agg(0, ARRAY[1.0], 0, 1, 0.3, 0, NULL, NULL);
SELECT mlsys._strata_agg(0, ARRAY[1.0], 0, 2, 1.5, 0, NULL, NULL);
SELECT mlsys._strata_agg(0, ARRAY[1.0], 0, 2, 0.3, 1, NULL, NULL);
SELECT mlsys._strata_agg(0, ARRAY[1.0], 0, 2, 0.3, 0, ARRAY[7, 0, 1, 0, 0, 1], NULL);
SELECT mlsys._strata_agg(0, ARRAY[NULL::float8], 0, 2, 0.3, 0, NULL, NULL);
SELECT mlsys._strata_agg(0, ARRAY['NaN'::float8], 0, 2, 0.3, 0, NULL, ARRAY['a']);
SELECT mlsys._in_holdout(0, ARRAY[1.0], 0, ARRAY[0.5]::float8[]);
SELECT mlsys._in_holdout(2, ARRAY[1.0], 0, ARRAY[0.5, 0.5]::float8[]);
SELECT mlsys._fold(0, ARRAY[1.0], 0, 3, ARRAY[0.5, 0.5, 0.5]::float8[]);
SELECT mlsys._strata_final('\x00'::bytea);
\set VERBOSITY default

-- the content hash is part of the split's contract: the same rows split the
-- same way in every version and on every platform (x86-64 hashes four values
-- at a time with SSE2, others one at a time). These holdout bits of rows of
-- 1 to 9 features (the four-wide loop and the tail) pin it.
SELECT p, string_agg(CASE WHEN mlsys._in_holdout(i % 3, x, 7, 0.5) THEN '1' ELSE '0' END, '' ORDER BY i) AS holdout_bits
FROM generate_series(1, 9) p, generate_series(1, 40) i,
     LATERAL (SELECT array_agg((i * 37 + j * 11) % 23 - 11.5 + j * 0.25 ORDER BY j) AS x FROM generate_series(1, p) j) r
GROUP BY p ORDER BY p;
-- -0.0 hashes as +0.0 in every position, NaN and infinity are caught wherever they are
SELECT count(*) AS rows,
       count(*) FILTER (WHERE mlsys._in_holdout(1, x, 3, 0.5) = mlsys._in_holdout(1, xneg, 3, 0.5)) AS same_split
FROM (SELECT i, array_agg(CASE WHEN j = i % 9 + 1 THEN 0.0 ELSE j * 1.5 + i END ORDER BY j) AS x,
             array_agg(CASE WHEN j = i % 9 + 1 THEN '-0'::float8 ELSE j * 1.5 + i END ORDER BY j) AS xneg
      FROM generate_series(1, 200) i, generate_series(1, 9) j GROUP BY i) r;
\set VERBOSITY terse
SELECT mlsys._strata_agg(0, ARRAY['Infinity', 2, 3, 4, 5, 6, 7, 8, 9]::float8[], 0, 2, 0.3, 0, NULL, NULL);
SELECT mlsys._strata_agg(0, ARRAY[1, 2, 3, 4, 5, '-Infinity', 7, 8, 9]::float8[], 0, 2, 0.3, 0, NULL, NULL);
SELECT mlsys._strata_agg(0, ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 'NaN']::float8[], 0, 2, 0.3, 0, NULL, NULL);
\set VERBOSITY default
