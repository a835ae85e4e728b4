-- recommender: ALS on generated data with a planted rank-3 structure,
-- every serving function, and bad input
SELECT setseed(0.25);
-- ratings r = 4 + b_u + b_i + p_u·q_i + noise (uniform, standard deviation 0.1),
-- observed for about 45% of the 200 × 120 pairs
CREATE TABLE truth AS
SELECT u AS user_id, i AS item_id,
       4 + 0.3 * sin(u * 1.3) + 0.4 * cos(i * 0.7)
         + 0.9 * (sin(u * 0.37) * cos(i * 0.51) + cos(u * 0.23 + 1) * sin(i * 0.29 + 2)
                  + sin(u * 0.11 + 3) * sin(i * 0.13)) AS signal
FROM generate_series(1, 200) u, generate_series(1, 120) i;
CREATE TABLE ratings AS
SELECT user_id, item_id, signal + (random() - 0.5) * sqrt(12) * 0.1 AS rating
FROM truth WHERE random() < 0.45;
-- the same interactions in another physical order, and with each rating split
-- into two duplicate rows that sum to it
CREATE TABLE ratings_shuffled AS SELECT * FROM ratings ORDER BY md5(user_id || ':' || item_id);
CREATE TABLE ratings_dup AS
SELECT user_id, item_id, rating / 2 AS rating FROM ratings
UNION ALL SELECT user_id, item_id, rating / 2 FROM ratings ORDER BY 2, 1;
SELECT count(*) > 10000 AS enough, stddev(rating) > 0.5 AS signal_exceeds_noise FROM ratings;

-- explicit: the holdout RMSE comes close to the noise level (0.1), far below
-- the spread of the ratings
SELECT model, version, algorithm, deployed,
       (metrics ->> 'rmse')::float8 < 0.13 AS rmse_near_noise,
       (metrics ->> 'mae')::float8 < (metrics ->> 'rmse')::float8 AS mae_below_rmse,
       (metrics ->> 'precision_at_10')::float8 BETWEEN 0 AND 1 AS has_precision,
       (metrics ->> 'coverage')::float8 > 0 AS has_coverage,
       metrics ?& ARRAY['recall_at_10', 'ndcg_at_10', 'map_at_10'] AS has_rank_metrics
FROM mlsys.train_recommender('rec', 'ratings', rating_column => 'rating',
                             hyperparams => '{"factors": 8, "regularization": 0.02, "iterations": 15}');
SELECT task, last_version FROM mlsys.models WHERE model = 'rec';
SELECT algorithm, hyperparams, target, feature_columns, train_rows + test_rows = (SELECT count(*) FROM ratings) AS all_rows,
       test_rows BETWEEN 0.15 * (train_rows + test_rows) AND 0.25 * (train_rows + test_rows) AS split_20
FROM mlsys.model_versions WHERE model = 'rec';

-- deterministic whatever the row order; duplicates are summed
SELECT version FROM mlsys.train_recommender('rec_shuffled', 'ratings_shuffled', rating_column => 'rating',
                             hyperparams => '{"factors": 8, "regularization": 0.02, "iterations": 15}');
SELECT version FROM mlsys.train_recommender('rec_dup', 'ratings_dup', rating_column => 'rating',
                             hyperparams => '{"factors": 8, "regularization": 0.02, "iterations": 15}');
SELECT a.params = b.params AS same_params_any_order, a.params = c.params AS same_params_duplicates_summed,
       a.metrics - 'fit_seconds' = b.metrics - 'fit_seconds' AS same_metrics
FROM mlsys.model_versions a, mlsys.model_versions b, mlsys.model_versions c
WHERE a.model = 'rec' AND b.model = 'rec_shuffled' AND c.model = 'rec_dup';
-- another seed gives another split
SELECT version, (metrics ->> 'rmse')::float8 < 0.13 AS rmse_near_noise
FROM mlsys.train_recommender('rec', 'ratings', rating_column => 'rating', seed => 7, deploy => 'never',
                             hyperparams => '{"factors": 8, "regularization": 0.02, "iterations": 15}');
SELECT (SELECT params FROM mlsys.model_versions WHERE model = 'rec' AND version = 1)
       <> (SELECT params FROM mlsys.model_versions WHERE model = 'rec' AND version = 2) AS seed_changes_model;
SELECT mlsys.deploy('rec', 1) IS NOT NULL AS redeployed;

-- serving: top-k, seen items excluded, scores decreasing
SELECT count(*) AS n, count(DISTINCT item_id) AS distinct_items,
       bool_and(item_id NOT IN (SELECT item_id FROM ratings WHERE user_id = 7)) AS unseen
FROM mlsys.recommend(7, 5, 'rec');
SELECT bool_and(score <= prev) AS decreasing
FROM (SELECT score, lag(score) OVER (ORDER BY ordinality) AS prev
      FROM mlsys.recommend(7, 20, 'rec') WITH ORDINALITY) s WHERE prev IS NOT NULL;
-- the recommended items are truly good for the user: their planted signal
-- beats the average of the unseen items by far
SELECT (SELECT avg(t.signal) FROM mlsys.recommend(u, 10, 'rec') r
          JOIN truth t ON t.user_id = u AND t.item_id = r.item_id)
       > (SELECT avg(t.signal) + 0.5 FROM truth t WHERE t.user_id = u) AS good_recommendations
FROM (VALUES (3), (50), (199)) v(u);
-- the score of a recommendation is the predicted rating
SELECT bool_and(abs(r.score - mlsys.predict_rating('rec', 11, r.item_id)) < 1e-4) AS score_is_rating
FROM mlsys.recommend(11, 10, 'rec') r;
-- exclude_seen false may return seen items
SELECT count(*) FILTER (WHERE item_id IN (SELECT item_id FROM ratings WHERE user_id = 7)) > 0 AS some_seen
FROM mlsys.recommend(7, 60, 'rec', exclude_seen => false);
-- k may be the whole catalogue; the seen items are left out
SELECT count(*) < 120 AS some_left_out, count(*) >= 120 - (SELECT count(*) FROM ratings WHERE user_id = 7) AS all_unseen
FROM mlsys.recommend(7, 120, 'rec');

-- predict_rating: close to the planted signal; unknown ids fall back to biases
SELECT sqrt(avg((mlsys.predict_rating('rec', t.user_id, t.item_id) - t.signal) ^ 2)) < 0.15 AS recovers_truth
FROM truth t;
SELECT abs(mlsys.predict_rating('rec', -1, -1) - (SELECT avg(rating) FROM ratings)) < 0.05 AS unknown_is_mean,
       mlsys.predict_rating('rec', -1, 5) <> mlsys.predict_rating('rec', -1, -1) AS item_bias_used,
       mlsys.predict_rating('rec', 5, -1) <> mlsys.predict_rating('rec', -1, -1) AS user_bias_used,
       mlsys.predict_rating(NULL, 1, 1) IS NULL AS strict;

-- recommend_for_items: folding in the items user 3 rated highly gives
-- recommendations resembling user 3's own
SELECT count(*) AS n,
       bool_and(item_id NOT IN (SELECT item_id FROM ratings WHERE user_id = 3 AND rating > 4.5)) AS given_excluded
FROM mlsys.recommend_for_items((SELECT array_agg(item_id) FROM ratings WHERE user_id = 3 AND rating > 4.5), 10, 'rec');
SELECT (SELECT avg(t.signal) FROM mlsys.recommend_for_items(
          (SELECT array_agg(item_id) FROM ratings WHERE user_id = 3 AND rating > 4.5), 10, 'rec') r
          JOIN truth t ON t.user_id = 3 AND t.item_id = r.item_id)
       > (SELECT avg(t.signal) FROM truth t WHERE t.user_id = 3) AS fold_in_personalizes;
-- unknown ids and NULLs are ignored; nothing known: the most popular items
SELECT count(*) AS n FROM mlsys.recommend_for_items(ARRAY[-5, NULL]::bigint[], 3, 'rec');
SELECT array_agg(item_id) = (SELECT array_agg(item_id) FROM mlsys.recommend(-1, 3, 'rec')) AS popular
FROM mlsys.recommend_for_items('{}', 3, 'rec');

-- similar_items: cosine similarity, the item itself excluded
SELECT count(*) AS n, bool_and(item_id <> 10) AS self_excluded, bool_and(score BETWEEN -1.0001 AND 1.0001) AS cosine
FROM mlsys.similar_items(10, 10, 'rec');
SELECT count(*) AS n FROM mlsys.similar_items(10, 120, 'rec');

-- evaluate_recommender on a user's own split
CREATE TABLE r_train AS SELECT * FROM ratings WHERE (user_id * 7 + item_id) % 5 <> 0;
CREATE TABLE r_test AS SELECT * FROM ratings WHERE (user_id * 7 + item_id) % 5 = 0;
SELECT version, deployed FROM mlsys.train_recommender('rec_eval', 'r_train', rating_column => 'rating', test_size => 0,
                             hyperparams => '{"factors": 8, "regularization": 0.02, "iterations": 15}');
SELECT (e ->> 'rmse')::float8 < 0.13 AS rmse_near_noise,
       (e ->> 'precision_at_5')::float8 > 0 AS precision,
       e ?& ARRAY['recall_at_5', 'ndcg_at_5', 'map_at_5', 'coverage', 'mae'] AS keys,
       (e ->> 'evaluated_users')::int = (SELECT count(DISTINCT user_id) FROM r_test) AS users
FROM mlsys.evaluate_recommender('rec_eval', 'r_test', 5, rating_column => 'rating') e;
-- cold start: an unknown user gets the most popular training items, scored by
-- the share of users who interacted with them
SELECT array_agg(r.item_id) = (SELECT array_agg(item_id::bigint ORDER BY c DESC, item_id) FROM
         (SELECT item_id, count(*) AS c FROM r_train GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5) x) AS most_popular,
       abs(max(score) - (SELECT max(c)::float8 / 200 FROM (SELECT count(*) AS c FROM r_train GROUP BY item_id) y)) < 1e-6 AS share
FROM mlsys.recommend(-1, 5, 'rec_eval') r;
SELECT (e ->> 'ndcg_at_10')::float8 BETWEEN 0 AND 1 AS ndcg, NOT e ? 'rmse' AS no_rmse
FROM mlsys.evaluate_recommender('rec_eval', 'r_test') e;

-- implicit feedback: users interact with the items they like (planted)
CREATE TABLE clicks AS SELECT user_id, item_id FROM truth WHERE signal > 4.8 AND random() < 0.8;
SELECT model, version, algorithm, deployed,
       (metrics ->> 'recall_at_10')::float8 > 0.5 AS recalls_half,
       NOT metrics ? 'rmse' AS no_rmse
FROM mlsys.train_recommender('clicks', 'clicks', test_size => 0.25);
SELECT hyperparams FROM mlsys.model_versions WHERE model = 'clicks';
-- every version records the wall time of its ALS sweeps, explicit and implicit
SELECT model, version, (metrics ->> 'fit_seconds')::float8 >= 0 AS has_fit_seconds
FROM mlsys.model_versions WHERE model IN ('rec', 'clicks') ORDER BY 1, 2;
-- evaluate_recommender on an own split beats recommending the most popular
-- items (what users unknown to the model get)
CREATE TABLE c_train AS SELECT * FROM clicks WHERE (user_id * 7 + item_id) % 4 <> 0;
CREATE TABLE c_test AS SELECT * FROM clicks WHERE (user_id * 7 + item_id) % 4 = 0;
CREATE TABLE c_test_unknown AS SELECT user_id + 1000 AS user_id, item_id FROM c_test;
SELECT version FROM mlsys.train_recommender('clicks_own', 'c_train', test_size => 0);
SELECT (a ->> 'precision_at_10')::float8 > 1.5 * (b ->> 'precision_at_10')::float8 AS beats_popularity,
       (a ->> 'ndcg_at_10')::float8 > (b ->> 'ndcg_at_10')::float8 AS ndcg_beats_popularity
FROM mlsys.evaluate_recommender('clicks_own', 'c_test') a,
     mlsys.evaluate_recommender('clicks_own', 'c_test_unknown') b;
SELECT count(*) AS n FROM mlsys.recommend(1, 5, 'clicks');
SELECT count(*) AS n FROM mlsys.recommend_for_items(ARRAY[1, 2, 3], 5, 'clicks');
SELECT count(*) AS n FROM mlsys.similar_items(5, 5, 'clicks');
-- the rating column as interaction strength
SELECT algorithm FROM mlsys.train_recommender('strength', 'ratings', rating_column => 'rating',
                                              hyperparams => '{"implicit": true, "factors": 4}', deploy => 'never');

\set VERBOSITY sqlstate
-- invalid input: predict_rating with an implicit model, rating_column with an implicit model
SELECT mlsys.predict_rating('clicks', 1, 1);
SELECT mlsys.evaluate_recommender('clicks', 'r_test', rating_column => 'rating');
-- model NULL: several recommenders are deployed, so the GUC must pick one
SELECT * FROM mlsys.recommend(1);
\set VERBOSITY default
SET mlsys.default_recommender = 'rec';
SELECT count(*) AS n FROM mlsys.recommend(7, 3);
SELECT array_agg(item_id) = (SELECT array_agg(item_id) FROM mlsys.recommend(7, 3, 'rec')) AS same FROM mlsys.recommend(7, 3);
RESET mlsys.default_recommender;
-- with one deployed recommender, model NULL finds it
DELETE FROM mlsys.models WHERE task LIKE 'recommender%' AND model <> 'rec';
SELECT array_agg(item_id) = (SELECT array_agg(item_id) FROM mlsys.recommend(7, 3, 'rec')) AS one_deployed
FROM mlsys.recommend(7, 3);
-- and a new deployment is picked up on the next call
CREATE TABLE before AS SELECT array_agg(item_id) AS items FROM mlsys.recommend(7, 10);
SELECT version FROM mlsys.train_recommender('rec', 'ratings', rating_column => 'rating', deploy => 'most_recent',
                             hyperparams => '{"factors": 2, "regularization": 1, "iterations": 2}');
SELECT bool_and(abs(r.score - mlsys.predict_rating('rec', 7, r.item_id)) < 1e-4) AS new_version_served,
       (SELECT array_agg(item_id) FROM mlsys.recommend(7, 10)) IS DISTINCT FROM
       (SELECT items FROM before) AS changed
FROM mlsys.recommend(7, 10) r;

-- bad input
\set VERBOSITY sqlstate
CREATE TABLE bad (user_id int, item_id int, rating float8, name text, x float8);
INSERT INTO bad VALUES (1, 1, 5, 'a', 0.5), (1, 2, 3, 'b', 1.5), (2, 1, 4, 'c', 2.5), (2, 2, 1, 'd', 3.5);
-- invalid input: negative rating
CREATE TABLE bad_neg AS SELECT * FROM bad UNION ALL SELECT 3, 1, -1, 'e', 0;
SELECT * FROM mlsys.train_recommender('b', 'bad_neg', rating_column => 'rating');
-- invalid input: NULL rating
CREATE TABLE bad_null AS SELECT * FROM bad UNION ALL SELECT 3, 1, NULL, 'e', 0;
SELECT * FROM mlsys.train_recommender('b', 'bad_null', rating_column => 'rating');
-- invalid input: NaN rating
CREATE TABLE bad_nan AS SELECT * FROM bad UNION ALL SELECT 3, 1, 'NaN', 'e', 0;
SELECT * FROM mlsys.train_recommender('b', 'bad_nan', rating_column => 'rating');
-- invalid input: NULL user id
CREATE TABLE bad_nulluser AS SELECT * FROM bad UNION ALL SELECT NULL, 1, 1, 'e', 0;
SELECT * FROM mlsys.train_recommender('b', 'bad_nulluser', rating_column => 'rating');
-- invalid input: one user
CREATE TABLE bad_oneuser AS SELECT * FROM bad WHERE user_id = 1;
SELECT * FROM mlsys.train_recommender('b', 'bad_oneuser', rating_column => 'rating');
-- invalid input: one item
CREATE TABLE bad_oneitem AS SELECT * FROM bad WHERE item_id = 1;
SELECT * FROM mlsys.train_recommender('b', 'bad_oneitem', rating_column => 'rating');
-- invalid input: empty relation
CREATE TABLE bad_empty AS SELECT * FROM bad WHERE false;
SELECT * FROM mlsys.train_recommender('b', 'bad_empty', rating_column => 'rating');
-- invalid input: non-integer id columns
SELECT * FROM mlsys.train_recommender('b', 'bad', user_column => 'name', rating_column => 'rating');
SELECT * FROM mlsys.train_recommender('b', 'bad', item_column => 'x', rating_column => 'rating');
-- invalid input: text rating column
SELECT * FROM mlsys.train_recommender('b', 'bad', rating_column => 'name');
-- invalid input: missing column
SELECT * FROM mlsys.train_recommender('b', 'bad', user_column => 'nope');
-- invalid input: factors <= 0, absurdly large, or not whole
SELECT * FROM mlsys.train_recommender('b', 'ratings', rating_column => 'rating', hyperparams => '{"factors": 0}');
SELECT * FROM mlsys.train_recommender('b', 'ratings', rating_column => 'rating', hyperparams => '{"factors": 1000000000}');
SELECT * FROM mlsys.train_recommender('b', 'ratings', rating_column => 'rating', hyperparams => '{"factors": 2.5}');
-- invalid input: factors allowed but too large for the catalogue
CREATE TABLE wide AS SELECT u AS user_id, u % 2 AS item_id FROM generate_series(1, 300000) u;
SELECT * FROM mlsys.train_recommender('b', 'wide', hyperparams => '{"factors": 1024}');
-- invalid input: other hyperparameters
SELECT * FROM mlsys.train_recommender('b', 'ratings', rating_column => 'rating', hyperparams => '{"regularization": 0}');
SELECT * FROM mlsys.train_recommender('b', 'ratings', rating_column => 'rating', hyperparams => '{"iterations": 0}');
SELECT * FROM mlsys.train_recommender('b', 'ratings', hyperparams => '{"alpha": -1}');
SELECT * FROM mlsys.train_recommender('b', 'ratings', rating_column => 'rating', hyperparams => '{"learning_rate": 0.1}');
SELECT * FROM mlsys.train_recommender('b', 'ratings', rating_column => 'rating', hyperparams => '[1]');
SELECT * FROM mlsys.train_recommender('b', 'ratings', hyperparams => '{"implicit": false}');
-- invalid input: test_size and deploy
SELECT * FROM mlsys.train_recommender('b', 'ratings', rating_column => 'rating', test_size => 1);
SELECT * FROM mlsys.train_recommender('b', 'ratings', rating_column => 'rating', deploy => 'sometimes');
SELECT * FROM mlsys.train_recommender(NULL, 'ratings', rating_column => 'rating');
-- invalid input: a recommender name used by a regression model
SELECT version FROM mlsys.train('linmodel', 'ratings', 'rating', ARRAY['user_id', 'item_id']);
SELECT * FROM mlsys.train_recommender('linmodel', 'ratings', rating_column => 'rating');
-- invalid input: k <= 0, k NULL, k larger than the catalogue
SELECT * FROM mlsys.recommend(1, 0, 'rec');
SELECT * FROM mlsys.recommend(1, NULL, 'rec');
SELECT * FROM mlsys.recommend(1, 121, 'rec');
SELECT * FROM mlsys.recommend_for_items(ARRAY[1], -1, 'rec');
SELECT * FROM mlsys.similar_items(1, 1000, 'rec');
SELECT mlsys.evaluate_recommender('rec', 'r_test', 0);
-- invalid input: NULL ids
SELECT * FROM mlsys.recommend(NULL, 5, 'rec');
SELECT * FROM mlsys.similar_items(NULL, 5, 'rec');
SELECT * FROM mlsys.recommend_for_items(NULL, 5, 'rec');
-- invalid input: unknown item for similar_items
SELECT * FROM mlsys.similar_items(100000, 5, 'rec');
-- invalid input: unknown model, not a recommender, recommender used as a regression model
SELECT * FROM mlsys.recommend(1, 5, 'no_such_model');
SELECT * FROM mlsys.recommend(1, 5, 'linmodel');
SELECT mlsys.predict('rec', '{"user_id": 1, "item_id": 2}'::jsonb);
-- nothing was registered by the failed calls
SELECT count(*) AS failed_models FROM mlsys.models WHERE model = 'b';
