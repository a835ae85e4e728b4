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

-- Precomputed recommendations (src/serve/recommend_batch.c): each user's
-- exact top-k by one version, written by mlsys.recommend_batch, served by
-- mlsys.recommend while that version is live and the model's "serve" setting
-- is "precomputed". Rows of a version go with it (ON DELETE CASCADE).
CREATE TABLE mlsys.recommendations (
    model       text NOT NULL,
    version     int NOT NULL,
    user_id     bigint NOT NULL,
    k           int NOT NULL CHECK (k BETWEEN 1 AND 1000),
    item_ids    bigint[] NOT NULL,
    scores      float8[] NOT NULL CHECK (pg_catalog.cardinality(scores) = pg_catalog.cardinality(item_ids)),
    computed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (model, user_id),
    FOREIGN KEY (model, version) REFERENCES mlsys.model_versions (model, version) ON DELETE CASCADE
);
-- what the cascade from mlsys.model_versions looks rows up by
CREATE INDEX recommendations_version_idx ON mlsys.recommendations (model, version);
COMMENT ON TABLE mlsys.recommendations IS
'Precomputed recommendations, one row per (model, user): the top k items of the user by a version (best first, ties by smaller id) with their scores, written by mlsys.recommend_batch.';
SELECT pg_catalog.pg_extension_config_dump('mlsys.recommendations', '');

CREATE FUNCTION mlsys.recommend_batch(model text, relation regclass DEFAULT NULL,
                                      user_column text DEFAULT 'user_id', k int DEFAULT 100)
RETURNS bigint
AS 'MODULE_PATHNAME', 'recommend_batch' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys.recommend_batch(text, regclass, text, int) IS
'Writes the exact top-k items (seen items excluded) of every user in the relation''s user column (NULL: every user the model knows) by the live version into mlsys.recommendations, replacing their rows; returns how many users were written. Users the model does not know are skipped.';

-- mlsys.recommend_batch remembers its arguments in the model's settings, so
-- that refreshes rerun it. Readers run the batch but cannot write
-- mlsys.models: this runs as the extension's owner and writes only that key,
-- and only when it changes (a settings write makes every backend reload the
-- model).
CREATE FUNCTION mlsys._store_batch_settings(p_model text, p_relation regclass, p_user_column text, p_k int)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_new jsonb := pg_catalog.jsonb_build_object('relation', p_relation::text, 'user_column', p_user_column, 'k', p_k);
BEGIN
    IF (SELECT m.settings -> 'recommend_batch' FROM mlsys.models m WHERE m.model = p_model) IS DISTINCT FROM v_new THEN
        UPDATE mlsys.models m SET settings = m.settings || pg_catalog.jsonb_build_object('recommend_batch', v_new)
         WHERE m.model = p_model;
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._store_batch_settings(text, regclass, text, int) IS
'Records the relation, user column and k of a model''s last mlsys.recommend_batch in its settings (internal).';

-- The refresh: mlsys.recommend_batch again with the arguments it last ran with
-- (never run: every user, k 100).
CREATE FUNCTION mlsys._recommend_batch_again(p_model text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_batch jsonb := mlsys._setting(p_model, 'recommend_batch');
BEGIN
    RETURN mlsys.recommend_batch(p_model, (v_batch ->> 'relation')::regclass,
                                 COALESCE(v_batch ->> 'user_column', 'user_id'),
                                 COALESCE((v_batch ->> 'k')::int, 100));
END $$;
COMMENT ON FUNCTION mlsys._recommend_batch_again(text) IS
'Reruns mlsys.recommend_batch for a model with the relation, user column and k it last ran with (internal).';

-- Training and retraining call this in the transaction that deploys, so that a
-- model serving precomputed lists never serves a new version's lists late.
CREATE FUNCTION mlsys._refresh_recommendations(p_model text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (mlsys._setting(p_model, 'serve') #>> '{}') IS DISTINCT FROM 'precomputed' THEN
        RETURN NULL;
    END IF;
    RETURN mlsys._recommend_batch_again(p_model);
END $$;
COMMENT ON FUNCTION mlsys._refresh_recommendations(text) IS
'Refreshes a model''s precomputed recommendations when it serves them; NULL when it serves live (internal).';

-- "serve" and the rest of a model's settings, and its owner (who may use a
-- private model), reach every backend's model cache as deployments do
CREATE TRIGGER registry_changed AFTER UPDATE OF settings, owner OR DELETE ON mlsys.models
    FOR EACH STATEMENT EXECUTE FUNCTION mlsys._registry_changed();
