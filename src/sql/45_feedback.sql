------------------------------------------------------------------------------
-- Feedback on recommendations: the impressions a recommender's lists made
-- (written by the application or the online logging), the interactions that
-- followed them (mlsys.record_interactions), and the click-through that
-- mlsys.performance and mlsys.check watch as a recommender's live metric.
--
-- An impression is one list shown to one user: the item ids in rank order
-- with their scores, when it was shown, and which of its items the user then
-- interacted with (clicked, a set in rank order; NULL until one is marked).
-- An interaction counts for an impression when it is the same user and item
-- and happens at or after shown_at and before shown_at + the model's
-- "interaction_window" setting (default 7 days).
------------------------------------------------------------------------------

CREATE TABLE mlsys.impressions (
    id        bigserial PRIMARY KEY,
    model     text NOT NULL,
    version   int NOT NULL,
    user_id   bigint,             -- NULL: an anonymous basket (recommend_for_items)
    item_ids  bigint[] NOT NULL,
    scores    float8[] NOT NULL,
    shown_at  timestamptz NOT NULL DEFAULT now(),
    clicked   bigint[],
    scored_by name NOT NULL DEFAULT CURRENT_USER
);
-- mlsys.performance and pruning read a model's impressions by time;
-- mlsys.record_interactions looks a user's impressions up within the window
CREATE INDEX impressions_model_time_idx ON mlsys.impressions (model, shown_at);
CREATE INDEX impressions_model_user_idx ON mlsys.impressions (model, user_id, shown_at);
COMMENT ON TABLE mlsys.impressions IS
'Recommendation lists shown to users: model, version, user, the items in rank order with their scores, when they were shown, and the items the user then interacted with (clicked, filled in by mlsys.record_interactions).';
SELECT pg_catalog.pg_extension_config_dump('mlsys.impressions', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.impressions_id_seq', '');

CREATE FUNCTION mlsys.record_interactions(model text, relation regclass, user_column text DEFAULT 'user_id',
                                          item_column text DEFAULT 'item_id', time_column text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_task text;
    v_what text;
    v_col text;
    v_type oid;
    v_base oid;
    v_time text;
    v_count bigint;
BEGIN
    IF record_interactions.model IS NULL OR record_interactions.relation IS NULL
       OR record_interactions.user_column IS NULL OR record_interactions.item_column IS NULL THEN
        RAISE EXCEPTION 'model, relation, user_column and item_column must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT m.task INTO v_task FROM mlsys.models m WHERE m.model = record_interactions.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', record_interactions.model USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM mlsys._check_model_access(record_interactions.model);
    IF v_task NOT LIKE 'recommender%' THEN
        RAISE EXCEPTION 'model "%" is not a recommender', record_interactions.model
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Interactions are recorded against the impressions of a recommender.',
                  HINT = 'Record the outcomes of other models with mlsys.record_outcomes.';
    END IF;
    FOR v_what, v_col IN SELECT c.what, c.col
                           FROM (VALUES (1, 'user', record_interactions.user_column),
                                        (2, 'item', record_interactions.item_column),
                                        (3, 'time', record_interactions.time_column)) c(n, what, col)
                          WHERE c.col IS NOT NULL ORDER BY c.n LOOP
        SELECT a.atttypid INTO v_type FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = record_interactions.relation AND a.attname = v_col
           AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column "%" of relation "%" does not exist', v_col, mlsys._relation_name(record_interactions.relation)
                USING ERRCODE = 'undefined_column';
        END IF;
        -- a domain is judged by its base type
        LOOP
            SELECT t.typbasetype INTO v_base FROM pg_catalog.pg_type t WHERE t.oid = v_type AND t.typtype = 'd';
            EXIT WHEN NOT FOUND;
            v_type := v_base;
        END LOOP;
        IF v_what = 'time' AND v_type NOT IN ('pg_catalog.timestamptz'::pg_catalog.regtype,
                                               'pg_catalog.timestamp'::pg_catalog.regtype,
                                               'pg_catalog.date'::pg_catalog.regtype) THEN
            RAISE EXCEPTION 'time column "%" must be a timestamp or a date, not %', v_col, pg_catalog.format_type(v_type, NULL)
                USING ERRCODE = 'datatype_mismatch';
        ELSIF v_what <> 'time' AND v_type NOT IN ('pg_catalog.int2'::pg_catalog.regtype,
                                                   'pg_catalog.int4'::pg_catalog.regtype,
                                                   'pg_catalog.int8'::pg_catalog.regtype) THEN
            RAISE EXCEPTION '% column "%" must be an integer, not %', v_what, v_col, pg_catalog.format_type(v_type, NULL)
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Map the ids to integers (smallint, integer or bigint) first.';
        END IF;
    END LOOP;
    -- without a time column every row happened now: it counts for the
    -- impressions shown within the last interaction window
    v_time := CASE WHEN record_interactions.time_column IS NULL THEN 'pg_catalog.now()'
                   ELSE pg_catalog.format('(s.%I)::pg_catalog.timestamptz', record_interactions.time_column) END;
    -- one statement: the (impression, item) pairs the rows followed and that
    -- are not marked yet, then each impression's clicked set extended with
    -- them, kept in rank order; returns how many items were newly marked.
    -- The second bound on shown_at is implied by the first (interval
    -- arithmetic in months and across daylight-saving changes is not exactly
    -- reversible: 4 days of slack) and lets the index narrow the scan.
    EXECUTE pg_catalog.format(
        'WITH s AS ('
        '    SELECT (s.%1$I)::pg_catalog.int8 AS user_id, (s.%2$I)::pg_catalog.int8 AS item_id, %3$s AS t'
        '      FROM %4$s AS s'
        '), hits AS ('
        '    SELECT i.id, pg_catalog.array_agg(DISTINCT s.item_id) AS items'
        '      FROM s JOIN mlsys.impressions i ON i.user_id = s.user_id AND s.item_id = ANY (i.item_ids)'
        '     WHERE i.model = $1 AND i.shown_at <= s.t AND s.t < i.shown_at + $2'
        '       AND i.shown_at > s.t - $2 - interval ''4 days'''
        '       AND NOT (s.item_id = ANY (COALESCE(i.clicked, ''{}'')))'
        '     GROUP BY i.id'
        '), marked AS ('
        '    UPDATE mlsys.impressions i'
        '       SET clicked = ARRAY(SELECT c.item FROM pg_catalog.unnest(COALESCE(i.clicked, ''{}'') || h.items) c(item)'
        '                            GROUP BY c.item'
        '                            ORDER BY pg_catalog.array_position(i.item_ids, c.item) NULLS LAST, c.item)'
        '      FROM hits h WHERE i.id = h.id'
        '    RETURNING pg_catalog.cardinality(h.items) AS n'
        ')'
        'SELECT COALESCE(pg_catalog.sum(marked.n), 0) FROM marked',
        record_interactions.user_column, record_interactions.item_column, v_time, record_interactions.relation)
    INTO v_count
    USING record_interactions.model, (mlsys._setting(record_interactions.model, 'interaction_window') #>> '{}')::interval;
    RETURN v_count;
END $$;
COMMENT ON FUNCTION mlsys.record_interactions(text, regclass, text, text, text) IS
'Marks as clicked the items of the model''s impressions that the relation''s rows followed: same user and item, at or after shown_at and before shown_at + interaction_window (no time_column: now); returns the number of items newly marked.';

-- A recommender's live metric for mlsys.performance: click-through (items
-- clicked / items shown) per bucket of shown_at and version, against the
-- version's own click-through over its first window (the "window" setting,
-- default 1 day) from its first impression.
CREATE FUNCTION mlsys._ctr_performance(p_model text, p_bucket interval, p_since timestamptz)
RETURNS TABLE (bucket_start timestamptz, version int, predictions bigint, labeled bigint,
               metric text, value float8, baseline float8, degraded bool)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_window interval := COALESCE((mlsys._setting(p_model, 'window') #>> '{}')::interval, interval '1 day');
    v_versions int[] := '{}';
    v_baselines float8[] := '{}';
    v_first timestamptz;
    v_base float8;
    v_k int;
    g record;
BEGIN
    -- one pass over the impressions in range (planned with the arguments'
    -- values, so a since bound reads only its part of the index on (model,
    -- shown_at)); each version's baseline once, by two lookups of its own
    FOR g IN
        SELECT pg_catalog.date_bin(p_bucket, i.shown_at, timestamptz '2000-01-01 00:00:00+00') AS b,
               i.version AS v, pg_catalog.count(*) AS n,
               pg_catalog.sum(pg_catalog.cardinality(i.item_ids)) AS shown,
               pg_catalog.sum(COALESCE(pg_catalog.cardinality(i.clicked), 0)) AS clicks
          FROM mlsys.impressions i
         WHERE i.model = p_model AND (p_since IS NULL OR i.shown_at >= p_since)
         GROUP BY 1, 2
         ORDER BY 1, 2
    LOOP
        v_k := pg_catalog.array_position(v_versions, g.v);
        IF v_k IS NULL THEN
            SELECT i.shown_at INTO v_first FROM mlsys.impressions i
             WHERE i.model = p_model AND i.version = g.v ORDER BY i.shown_at LIMIT 1;
            SELECT CASE WHEN pg_catalog.sum(pg_catalog.cardinality(i.item_ids)) > 0
                        THEN pg_catalog.sum(COALESCE(pg_catalog.cardinality(i.clicked), 0))::float8
                             / pg_catalog.sum(pg_catalog.cardinality(i.item_ids)) END
              INTO v_base
              FROM mlsys.impressions i
             WHERE i.model = p_model AND i.version = g.v
               AND i.shown_at >= v_first AND i.shown_at < v_first + v_window;
            v_versions := v_versions || g.v;
            v_baselines := v_baselines || v_base;
        ELSE
            v_base := v_baselines[v_k];
        END IF;
        bucket_start := g.b;
        version := g.v;
        predictions := g.n;
        labeled := g.clicks;
        metric := 'ctr';
        value := CASE WHEN g.shown > 0 THEN g.clicks::float8 / g.shown END;
        baseline := v_base;
        degraded := mlsys._degraded(p_model, 'ctr', value, v_base);
        RETURN NEXT;
    END LOOP;
END $$;
COMMENT ON FUNCTION mlsys._ctr_performance(text, interval, timestamptz) IS
'mlsys.performance of a recommender: impressions, items clicked and click-through per bucket of shown_at and version, against the version''s click-through over its first window (internal).';
