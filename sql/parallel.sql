-- parallel query: the training aggregates split across workers and combine to
-- the serial result
SET extra_float_digits = 0;
SELECT setseed(0.9);
CREATE TABLE par AS
SELECT i, x, 0.5 + x[1] - 2 * x[2] + 3 * x[3] + (random() - 0.5) AS y
FROM (SELECT i, ARRAY[random(), random() * 10, random() - 0.5, random()] AS x
      FROM generate_series(1, 200000) i) s;
ANALYZE par;

SET max_parallel_workers_per_gather = 0;
CREATE TABLE serial_fit AS
SELECT mlsys.linreg_agg(y, x) AS ols, mlsys.linreg_agg(y, x, 5) AS ridge FROM par;
SELECT version FROM mlsys.train('par_serial', 'par', 'y', deploy => 'most_recent');

SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;

EXPLAIN (COSTS OFF) SELECT mlsys.linreg_agg(y, x) FROM par;
EXPLAIN (COSTS OFF) SELECT mlsys.linreg_agg(y, x, 5) FROM par;

-- workers really run: EXPLAIN ANALYZE reports them launched
CREATE FUNCTION workers_launched(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO plan;
    RETURN (plan -> 0 -> 'Plan' -> 'Plans' -> 0 ->> 'Workers Launched')::int;
END $$;
SELECT workers_launched('SELECT mlsys.linreg_agg(y, x) FROM par') > 0 AS workers_ran;
SELECT workers_launched('SELECT mlsys._linreg_split_agg(y, x, 0, 0.25, NULL) FROM par') > 0 AS train_pass_workers_ran;

-- the same coefficients as the serial run, to 1e-9 relative
SELECT bool_and(abs(p - s) <= 1e-9 * abs(s)) AS ols_parallel_equals_serial
FROM unnest((SELECT mlsys.linreg_agg(y, x) FROM par), (SELECT ols FROM serial_fit)) u(p, s);
SELECT bool_and(abs(p - s) <= 1e-9 * abs(s)) AS ridge_parallel_equals_serial
FROM unnest((SELECT mlsys.linreg_agg(y, x, 5) FROM par), (SELECT ridge FROM serial_fit)) u(p, s);

-- mlsys.train with parallel workers: same split, fingerprint and model
SELECT version FROM mlsys.train('par_parallel', 'par', 'y', deploy => 'most_recent');
SELECT a.train_rows = b.train_rows AND a.test_rows = b.test_rows AS same_split,
       a.data_fingerprint = b.data_fingerprint AS same_fingerprint,
       abs((a.metrics->>'rmse')::float8 / (b.metrics->>'rmse')::float8 - 1) < 1e-9 AS same_rmse
FROM mlsys.model_versions a, mlsys.model_versions b
WHERE a.model = 'par_serial' AND b.model = 'par_parallel';

-- scoring runs in parallel workers too (each loads the model once)
SELECT workers_launched($$SELECT sum(mlsys.predict('par_parallel', par)) FROM par$$) > 0 AS scoring_workers_ran;
SELECT abs(p / s - 1) < 1e-9 AS parallel_scoring_matches
FROM (SELECT sum(mlsys.predict('par_parallel', par)) AS p FROM par) a,
     (SELECT sum(mlsys.predict('par_serial', par)) AS s FROM par) b;
