------------------------------------------------------------------------------
-- Lifecycle for recommenders (src/sql/55_lifecycle_recommender.sql): the
-- split rule of mlsys.train_recommender callable from SQL (implemented in
-- src/recommend_train.c by the same inline helpers training uses), the
-- holdout interactions of a version, and scoring champion and challenger on
-- them. mlsys._retrain and mlsys.reproduce (50_lifecycle.sql) call these.
------------------------------------------------------------------------------

CREATE FUNCTION mlsys._recommender_in_holdout(user_id bigint, item_id bigint, seed int, test_size float8) RETURNS bool
    AS 'MODULE_PATHNAME', 'recommender_in_holdout' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._recommender_in_holdout(bigint, bigint, int, float8) IS
'Whether an explicit recommender trained with this seed and test_size holds out the interaction (user, item) (internal; the rule of mlsys.train_recommender).';

CREATE FUNCTION mlsys._recommender_split_u(user_id bigint, item_id bigint, seed int) RETURNS float8
    AS 'MODULE_PATHNAME', 'recommender_split_u' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._recommender_split_u(bigint, bigint, int) IS
'The uniform split key in [0, 1) of the interaction (user, item) for a seed: an implicit recommender holds out each user''s interactions with the smallest keys, ties by item id (internal).';

CREATE FUNCTION mlsys._recommender_holdout_count(interactions bigint, test_size float8) RETURNS bigint
    AS 'MODULE_PATHNAME', 'recommender_holdout_count' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._recommender_holdout_count(bigint, float8) IS
'How many of a user''s distinct interactions an implicit recommender holds out: round(test_size * n), at most n - 1 (internal).';

-- The SQL of a version's holdout interactions: user_id and item_id (bigint)
-- and, for explicit models, rating (the rating column as it is), over the
-- version's relation as it is now. Explicit: every row whose (user, item) is
-- held out, duplicates included (training sums them, and so does
-- mlsys.evaluate_recommender); with test_size 0 every row, as training then
-- reports its rmse on the training rows. Implicit: per user, the distinct
-- items the per-user rule holds out (strength plays no part in the split nor
-- in the ranking metrics).
CREATE FUNCTION mlsys._recommender_holdout_query(p_model text, p_version int) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v mlsys.model_versions;
BEGIN
    SELECT * INTO v FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = p_version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of model "%" does not exist', p_version, p_model USING ERRCODE = 'undefined_object';
    END IF;
    IF v.algorithm NOT IN ('als_explicit', 'als_implicit') THEN
        RAISE EXCEPTION 'model "%" is not a recommender', p_model USING ERRCODE = 'wrong_object_type';
    END IF;
    IF v.algorithm = 'als_explicit' THEN
        RETURN pg_catalog.format(
            'SELECT (r.%1$I)::pg_catalog.int8 AS user_id, (r.%2$I)::pg_catalog.int8 AS item_id, r.%3$I AS rating '
            'FROM %4$s AS r WHERE %5$s OR mlsys._recommender_in_holdout((r.%1$I)::pg_catalog.int8, (r.%2$I)::pg_catalog.int8, %6$s, %7$L::pg_catalog.float8)',
            v.feature_columns[1], v.feature_columns[2], v.target, v.relation::regclass,
            CASE WHEN v.test_size = 0 THEN 'true' ELSE 'false' END, v.seed, v.test_size);
    END IF;
    RETURN pg_catalog.format(
        'SELECT k.user_id, k.item_id FROM ('
          'SELECT p.user_id, p.item_id, '
                 'pg_catalog.row_number() OVER (PARTITION BY p.user_id ORDER BY mlsys._recommender_split_u(p.user_id, p.item_id, %3$s), p.item_id) AS rank, '
                 'pg_catalog.count(*) OVER (PARTITION BY p.user_id) AS n '
            'FROM (SELECT DISTINCT (r.%1$I)::pg_catalog.int8 AS user_id, (r.%2$I)::pg_catalog.int8 AS item_id FROM %5$s AS r) p) k '
        'WHERE k.rank <= mlsys._recommender_holdout_count(k.n, %4$L::pg_catalog.float8)',
        v.feature_columns[1], v.feature_columns[2], v.seed, v.test_size, v.relation::regclass);
END $$;
COMMENT ON FUNCTION mlsys._recommender_holdout_query(text, int) IS
'SQL of the holdout interactions of a recommender version (user_id, item_id and, explicit, rating) over its relation''s current rows (internal; the one place that knows the split in SQL).';

-- Champion and challenger on the challenger's holdout interactions,
-- materialized once into a temporary table. The champion (the live version)
-- is scored by mlsys.evaluate_recommender on it. The challenger's score is the
-- holdout metric mlsys.train_recommender stored: training computes it with
-- the deserialized model, over the same interactions (every user and item of
-- the holdout is known to the challenger), in the same order (users, then
-- items, increasing) and with the same code (als_predict, als_metrics_user)
-- as mlsys.evaluate_recommender would, so it is the very number evaluating
-- the challenger on this table gives (the regression test checks it after a
-- deployment). n is the number of distinct holdout interactions, which
-- mlsys._retrain checks against the challenger's test_rows.
CREATE FUNCTION mlsys._score_recommender_pair(p_model text, p_champion int, p_challenger int, p_metric text,
    OUT champion_score float8, OUT challenger_score float8, OUT n bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v mlsys.model_versions;
    v_champion mlsys.model_versions;
    v_rating bool;
    v_k int := 10;
    v_holdout regclass;
BEGIN
    SELECT * INTO v FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = p_challenger;
    SELECT * INTO v_champion FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = p_champion;
    IF p_champion IS DISTINCT FROM (SELECT d.version FROM mlsys.deployments d WHERE d.model = p_model ORDER BY d.id DESC LIMIT 1) THEN
        RAISE EXCEPTION 'version % of model "%" is not the live version', p_champion, p_model
            USING ERRCODE = 'internal_error', DETAIL = 'mlsys.evaluate_recommender scores the live version only.';
    END IF;
    v_rating := p_metric IN ('rmse', 'mae');
    IF v_rating THEN
        -- k only matters for the ranking metrics, which are not compared here
        v_k := LEAST(10, GREATEST(1, (v_champion.profile ->> 'items')::int));
    END IF;
    -- a failed retrain rolls the table back with everything else; all
    -- statements on it are dynamic, so no cached plan outlives it
    EXECUTE 'CREATE TEMPORARY TABLE mlsys_retrain_holdout AS ' || mlsys._recommender_holdout_query(p_model, p_challenger);
    v_holdout := pg_catalog.to_regclass('pg_temp.mlsys_retrain_holdout');
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM (SELECT DISTINCT h.user_id, h.item_id FROM %s AS h) d', v_holdout)
       INTO n;
    EXECUTE 'SELECT (mlsys.evaluate_recommender($1, $2, $3, ''user_id'', ''item_id'', $4) OPERATOR(pg_catalog.->>) $5)::pg_catalog.float8'
       INTO champion_score
      USING p_model, v_holdout, v_k, CASE WHEN v_rating THEN 'rating' END, p_metric;
    challenger_score := (v.metrics ->> p_metric)::float8;
    EXECUTE pg_catalog.format('DROP TABLE %s', v_holdout);
END $$;
COMMENT ON FUNCTION mlsys._score_recommender_pair(text, int, int, text) IS
'Scores the live version of a recommender (mlsys.evaluate_recommender) and a challenger (its stored holdout metric, computed on the same interactions) on the challenger''s holdout (internal).';

-- A recommender version's hyperparameters as training must get them again:
-- versions stored before "solver" was recorded were fitted by Cholesky, which
-- is no longer the implicit default.
CREATE FUNCTION mlsys._recommender_hyperparams(p_hyperparams jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN p_hyperparams ? 'solver' THEN p_hyperparams
                ELSE p_hyperparams || '{"solver": "cholesky"}'::jsonb END
$$;
COMMENT ON FUNCTION mlsys._recommender_hyperparams(jsonb) IS
'A recommender version''s stored hyperparameters with the solver it was fitted by made explicit (internal).';
