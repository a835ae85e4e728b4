-- resource limits: a training whose memory estimate exceeds maintenance_work_mem
-- is refused up front with a hint, and leaves nothing behind
CREATE TABLE wide AS
SELECT i AS id, ARRAY(SELECT ((i * k) % 97)::float8 FROM generate_series(1, 300) k WHERE i > 0) AS x,
       (i % 13)::float8 AS y
FROM generate_series(1, 400) i;
CREATE TABLE clicks_lim AS
SELECT u AS user_id, it AS item_id FROM generate_series(1, 500) u, generate_series(1, 80) it WHERE (u + it) % 3 = 0;
SET maintenance_work_mem = '1MB';
\set SHOW_CONTEXT never
SELECT * FROM mlsys.train('lim', 'wide', 'y', ARRAY['x'], algorithm => 'ridge');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys.train_recommender('lim_rec', 'clicks_lim');
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
SELECT count(*) AS nothing_registered FROM mlsys.models WHERE model IN ('lim', 'lim_rec');
-- with room, the same trainings run
RESET maintenance_work_mem;
SELECT model, version FROM mlsys.train('lim', 'wide', 'y', ARRAY['x'], algorithm => 'ridge');
SELECT model, version FROM mlsys.train_recommender('lim_rec', 'clicks_lim');
DROP TABLE wide, clicks_lim;
