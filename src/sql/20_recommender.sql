------------------------------------------------------------------------------
-- Recommender: ALS matrix factorization (src/als.c, src/recommend*.c)
------------------------------------------------------------------------------

CREATE FUNCTION mlsys.train_recommender(
    model text, relation regclass,
    user_column text DEFAULT 'user_id', item_column text DEFAULT 'item_id',
    rating_column text DEFAULT NULL, hyperparams jsonb DEFAULT '{}',
    test_size float8 DEFAULT 0.2, seed int DEFAULT 0, deploy text DEFAULT 'best_score')
RETURNS TABLE (model text, version int, algorithm text, metrics jsonb, deployed bool)
AS 'MODULE_PATHNAME', 'train_recommender' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys.train_recommender(text, regclass, text, text, text, jsonb, float8, int, text) IS
'Trains a recommender by alternating least squares: biased matrix factorization on a rating column (explicit), or weighted ALS for implicit feedback (no rating column, or {"implicit": true}); evaluates it on a content-hashed holdout and deploys it per the deploy policy.';

CREATE FUNCTION mlsys.recommend(
    user_id bigint, k int DEFAULT 10, model text DEFAULT NULL, exclude_seen bool DEFAULT true)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recommend' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION mlsys.recommend(bigint, int, text, bool) IS
'Top-k items for a user by the live version of a recommender (model NULL: mlsys.default_recommender or the one deployed recommender); a user unknown to the model gets the most popular items.';

CREATE FUNCTION mlsys.recommend_for_items(
    item_ids bigint[], k int DEFAULT 10, model text DEFAULT NULL)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recommend_for_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION mlsys.recommend_for_items(bigint[], int, text) IS
'Top-k items for an anonymous user who interacted with the given items: their interactions are folded into a user vector by one least-squares solve against the item factors; the given items are excluded.';

CREATE FUNCTION mlsys.similar_items(item_id bigint, k int DEFAULT 10, model text DEFAULT NULL)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'similar_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION mlsys.similar_items(bigint, int, text) IS
'The k items whose factor vectors have the highest cosine similarity with the given item''s.';

CREATE FUNCTION mlsys.predict_rating(model text, user_id bigint, item_id bigint)
RETURNS float8
AS 'MODULE_PATHNAME', 'predict_rating' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict_rating(text, bigint, bigint) IS
'Predicted rating by an explicit recommender: global mean + user bias + item bias + factor dot product; an unknown user or item contributes nothing (biases / global mean only).';

CREATE FUNCTION mlsys.evaluate_recommender(
    model text, relation regclass, k int DEFAULT 10,
    user_column text DEFAULT 'user_id', item_column text DEFAULT 'item_id',
    rating_column text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'evaluate_recommender' LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys.evaluate_recommender(text, regclass, int, text, text, text) IS
'Ranking metrics (precision, recall, nDCG, MAP at k, coverage) of the live version of a recommender on a held-out table, training items excluded; with rating_column, also rmse and mae of an explicit model.';
