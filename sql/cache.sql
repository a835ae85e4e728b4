-- the backend model cache: bounded by mlsys.model_cache_size with LRU
-- eviction that never frees a model a running statement uses; mlsys.warm
CREATE TABLE cache_src AS SELECT g::float8 AS x, (3 * g + 1)::float8 AS y FROM generate_series(1, 50) g;
SELECT count(*) AS trained
FROM (SELECT mlsys.train('cache_m' || i, 'cache_src', 'y', deploy => 'most_recent') FROM generate_series(1, 40) i) s;
SHOW mlsys.model_cache_size;
-- every deployed model, loaded: 40 small models fit in the default
SELECT mlsys.warm() >= 40 AS warmed;
SELECT count(*) >= 40 AS all_cached FROM mlsys.cached_models() WHERE model LIKE 'cache_m%' AND requested = 0;
-- a small limit: the least recently used are evicted down to it
SET mlsys.model_cache_size = '64kB';
SELECT mlsys.warm(ARRAY['cache_m1']) AS warmed;
SELECT sum(bytes) <= 64 * 1024 AS within_limit, count(*) < 40 AS some_evicted FROM mlsys.cached_models();
SELECT count(*) AS most_recent_kept FROM mlsys.cached_models() WHERE model = 'cache_m1' AND requested = 0;
-- a model in use by the running statement is never freed, whatever is loaded meanwhile
SELECT count(*) AS rows, count(*) FILTER (WHERE abs(mlsys.predict('cache_m1', ARRAY[x]) - (3 * x + 1)) < 1e-9) AS correct
FROM cache_src, LATERAL (SELECT mlsys.warm(ARRAY['cache_m' || (2 + x::int % 39)])) w;
RESET mlsys.model_cache_size;
-- bad input
\set SHOW_CONTEXT never
SELECT mlsys.warm(ARRAY['no_such_model']);
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.warm(ARRAY[NULL]::text[]);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS failed_load_not_cached FROM mlsys.cached_models() WHERE model = 'no_such_model';
-- (the message names the range with units from PostgreSQL 16 on: only the SQLSTATE is compared)
\set VERBOSITY sqlstate
SET mlsys.model_cache_size = '1kB';
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SET mlsys.model_cache_sise = '1MB';
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
SELECT count(*) AS dropped FROM (SELECT mlsys.drop_model('cache_m' || i) FROM generate_series(1, 40) i) s;
DROP TABLE cache_src;
