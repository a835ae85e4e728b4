-- Timing of retrain and reproduce for multiclass models and recommenders (README,
-- Lifecycle, Performance). Run with psql in a database with mlsys installed:
--   psql -X -f test/bench_lifecycle_more.sql
-- It creates and drops the tables bench_lm_* and the models bench_lm_*.
SELECT setseed(0.1);
CREATE TABLE bench_lm_ratings AS
SELECT u AS user_id, i AS item_id, 3 + sin(u * 0.37) * cos(i * 0.51) + cos(u * 0.23) * sin(i * 0.29) + (random() - 0.5) * 0.3 AS rating
FROM generate_series(1, 2000) u, generate_series(1, 500) i WHERE random() < 0.1;
CREATE TABLE bench_lm_clicks AS SELECT user_id, item_id FROM bench_lm_ratings WHERE rating > 3.3;
CREATE TABLE bench_lm_mc AS
SELECT i AS id, x1, x2, x3, CASE WHEN x1 + x2 > 1.2 THEN 'c' WHEN x1 - x3 > 0 THEN 'b' ELSE 'a' END AS label
FROM (SELECT i, (hashint4(i * 3) % 1000) / 500.0 AS x1, (hashint4(i * 5) % 1000) / 500.0 AS x2, (hashint4(i * 7) % 1000) / 500.0 AS x3
      FROM generate_series(1, 200000) i) s;
SELECT count(*) FROM bench_lm_ratings; SELECT count(*) FROM bench_lm_clicks;
\timing on
SELECT version FROM mlsys.train_recommender('bench_lm_exp', 'bench_lm_ratings', rating_column => 'rating', hyperparams => '{"factors": 16}');
SELECT version, decision FROM mlsys.retrain('bench_lm_exp');
SELECT version, decision FROM mlsys.retrain('bench_lm_exp');
SELECT * FROM mlsys.reproduce('bench_lm_exp', 1);
SELECT version FROM mlsys.train_recommender('bench_lm_imp', 'bench_lm_clicks', hyperparams => '{"factors": 16}');
SELECT version, decision FROM mlsys.retrain('bench_lm_imp');
SELECT version, decision FROM mlsys.retrain('bench_lm_imp');
SELECT * FROM mlsys.reproduce('bench_lm_imp', 1);
SELECT version FROM mlsys.train('bench_lm_mc', 'bench_lm_mc', 'label', ARRAY['x1', 'x2', 'x3']);
SELECT version, decision FROM mlsys.retrain('bench_lm_mc');
SELECT version, decision FROM mlsys.retrain('bench_lm_mc');
SELECT * FROM mlsys.reproduce('bench_lm_mc', 1);
\timing off
SELECT mlsys.drop_model(m) FROM unnest(ARRAY['bench_lm_exp', 'bench_lm_imp', 'bench_lm_mc']) m;
DROP TABLE bench_lm_ratings, bench_lm_clicks, bench_lm_mc;
