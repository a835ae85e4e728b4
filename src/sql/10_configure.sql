
------------------------------------------------------------------------------
-- Per-model settings: mlsys.configure is the one place they are set
------------------------------------------------------------------------------

-- The recognised keys, their JSON types and defaults. Monitoring (mlsys.drift,
-- mlsys.performance, mlsys.check) and retraining (mlsys.retrain) read a
-- model's settings through mlsys._setting, so a default lives in one place.
CREATE FUNCTION mlsys._setting_defaults() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT '{
        "relation": null, "time_column": null, "window": null,
        "interaction_window": "7 days",
        "psi_threshold": 0.2, "js_threshold": 0.1, "features": {},
        "tolerance": 0.1, "auc_drop": 0.05,
        "min_improvement": 0.01, "metric": null, "min_rows": 1,
        "serve": "live", "recommend_batch": null,
        "log_sample": 0, "log_entity": null,
        "private": false
    }'::pg_catalog.jsonb
$$;
COMMENT ON FUNCTION mlsys._setting_defaults() IS 'The settings mlsys.configure recognises, with their defaults (internal).';

CREATE FUNCTION mlsys._setting(model text, key text) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT COALESCE((SELECT m.settings -> _setting.key FROM mlsys.models m
                      WHERE m.model = _setting.model),
                    mlsys._setting_defaults() -> _setting.key)
$$;
COMMENT ON FUNCTION mlsys._setting(text, text) IS 'A model setting, or its default when not configured (internal).';

CREATE FUNCTION mlsys._configure(model text, settings jsonb, relation regclass) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_key text;
    v_value jsonb;
    v_current jsonb;
    v_defaults jsonb := mlsys._setting_defaults();
    v_feature text;
    v_override jsonb;
BEGIN
    IF _configure.model IS NULL OR _configure.settings IS NULL THEN
        RAISE EXCEPTION 'model and settings must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(_configure.settings) <> 'object' THEN
        RAISE EXCEPTION 'settings must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.settings INTO v_current FROM mlsys.models m WHERE m.model = _configure.model FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', _configure.model USING ERRCODE = 'undefined_object';
    END IF;
    -- runs as the extension's owner: the owner and roles granted manage may configure
    PERFORM mlsys._require_model_privilege(_configure.model, 'manage');
    FOR v_key, v_value IN SELECT e.key, e.value FROM jsonb_each(_configure.settings) e LOOP
        IF NOT v_defaults ? v_key THEN
            RAISE EXCEPTION 'unrecognized setting "%"', v_key
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Recognised settings: ' || (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(v_defaults) k) || '.';
        END IF;
        IF jsonb_typeof(v_value) = 'null' THEN
            v_current := v_current - v_key;     -- back to the default
            CONTINUE;
        END IF;
        CASE
            WHEN v_key IN ('psi_threshold', 'js_threshold', 'tolerance', 'auc_drop', 'min_improvement') THEN
                IF jsonb_typeof(v_value) <> 'number' OR v_value::text::float8 < 0
                   OR v_value::text::float8 = 'Infinity'::float8 THEN
                    RAISE EXCEPTION 'setting "%" must be a non-negative number', v_key
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
            WHEN v_key = 'min_rows' THEN
                IF jsonb_typeof(v_value) <> 'number' OR v_value::text::numeric <> trunc(v_value::text::numeric)
                   OR v_value::text::numeric < 1 OR v_value::text::numeric > 9223372036854775807 THEN
                    RAISE EXCEPTION 'setting "min_rows" must be a positive integer'
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
            WHEN v_key = 'relation' THEN
                IF jsonb_typeof(v_value) <> 'string' THEN
                    RAISE EXCEPTION 'setting "relation" must be a string' USING ERRCODE = 'invalid_parameter_value';
                END IF;
                -- resolved by mlsys.configure under the caller's search_path;
                -- stored by its schema-qualified name
                v_value := to_jsonb(_configure.relation::oid::regclass::text);
            WHEN v_key IN ('window', 'interaction_window') THEN
                IF jsonb_typeof(v_value) <> 'string' OR (v_value #>> '{}')::interval <= interval '0' THEN
                    RAISE EXCEPTION 'setting "%" must be a positive interval', v_key USING ERRCODE = 'invalid_parameter_value';
                END IF;
            WHEN v_key IN ('time_column', 'metric') THEN
                IF jsonb_typeof(v_value) <> 'string' THEN
                    RAISE EXCEPTION 'setting "%" must be a string', v_key USING ERRCODE = 'invalid_parameter_value';
                END IF;
                IF v_key = 'metric' AND (v_value #>> '{}') NOT IN
                   ('rmse', 'mae', 'r2', 'auc', 'log_loss', 'accuracy', 'f1', 'macro_f1',
                    'precision_at_10', 'recall_at_10', 'ndcg_at_10', 'map_at_10') THEN
                    RAISE EXCEPTION 'unrecognized metric "%"', v_value #>> '{}' USING ERRCODE = 'invalid_parameter_value';
                END IF;
            WHEN v_key = 'features' THEN
                -- per-feature drift overrides: {"feature": {"metric": "psi", "threshold": 0.3}}
                IF jsonb_typeof(v_value) <> 'object' THEN
                    RAISE EXCEPTION 'setting "features" must be an object mapping feature names to overrides'
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                FOR v_feature, v_override IN SELECT e.key, e.value FROM jsonb_each(v_value) e LOOP
                    IF jsonb_typeof(v_override) <> 'object'
                       OR EXISTS (SELECT 1 FROM jsonb_object_keys(v_override) k WHERE k NOT IN ('metric', 'threshold'))
                       OR (v_override ? 'metric' AND (v_override ->> 'metric') NOT IN ('psi', 'ks', 'wasserstein', 'js', 'linf'))
                       OR (v_override ? 'threshold' AND (jsonb_typeof(v_override -> 'threshold') <> 'number'
                                                         OR (v_override ->> 'threshold')::float8 < 0)) THEN
                        RAISE EXCEPTION 'invalid override for feature "%"', v_feature
                            USING ERRCODE = 'invalid_parameter_value',
                                  DETAIL = 'An override is an object with "metric" (psi, ks, wasserstein, js or linf) and/or a non-negative "threshold".';
                    END IF;
                END LOOP;
            WHEN v_key IN ('serve', 'recommend_batch') THEN
                IF (SELECT m.task FROM mlsys.models m WHERE m.model = _configure.model) NOT LIKE 'recommender%' THEN
                    RAISE EXCEPTION 'model "%" is not a recommender', _configure.model
                        USING ERRCODE = 'wrong_object_type',
                              DETAIL = pg_catalog.format('Setting "%s" applies to recommenders only.', v_key);
                END IF;
                IF v_key = 'serve' AND (jsonb_typeof(v_value) <> 'string' OR (v_value #>> '{}') NOT IN ('live', 'precomputed')) THEN
                    RAISE EXCEPTION 'setting "serve" must be "live" or "precomputed"'
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                -- what mlsys.recommend_batch records: {"relation", "user_column", "k"}
                IF v_key = 'recommend_batch' AND (jsonb_typeof(v_value) <> 'object'
                   OR EXISTS (SELECT 1 FROM jsonb_object_keys(v_value) k WHERE k NOT IN ('relation', 'user_column', 'k'))
                   OR jsonb_typeof(COALESCE(v_value -> 'relation', 'null')) NOT IN ('string', 'null')
                   OR jsonb_typeof(COALESCE(v_value -> 'user_column', '""')) <> 'string'
                   OR jsonb_typeof(COALESCE(v_value -> 'k', '100')) <> 'number'
                   OR COALESCE(v_value ->> 'k', '100')::numeric NOT BETWEEN 1 AND 1000
                   OR COALESCE(v_value ->> 'k', '100')::numeric <> trunc(COALESCE(v_value ->> 'k', '100')::numeric)) THEN
                    RAISE EXCEPTION 'invalid setting "recommend_batch"'
                        USING ERRCODE = 'invalid_parameter_value',
                              DETAIL = 'It is an object with "relation" (a relation name or null), "user_column" (a column name) and "k" (a whole number from 1 to 1000).';
                END IF;
                IF v_key = 'recommend_batch' AND jsonb_typeof(COALESCE(v_value -> 'relation', 'null')) = 'string' THEN
                    -- stored by its schema-qualified name, as "relation" is
                    v_value := v_value || jsonb_build_object('relation', (v_value ->> 'relation')::regclass::text);
                END IF;
            WHEN v_key = 'log_sample' THEN
                IF jsonb_typeof(v_value) <> 'number' OR v_value::text::float8 < 0 OR v_value::text::float8 > 1 THEN
                    RAISE EXCEPTION 'setting "log_sample" must be a number from 0 to 1'
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                -- the ring and its workers exist only when the library was preloaded
                IF v_value::text::float8 > 0 AND NOT mlsys._logging_available() THEN
                    RAISE EXCEPTION 'online logging needs mlsys in shared_preload_libraries'
                        USING ERRCODE = 'object_not_in_prerequisite_state',
                              HINT = 'Add mlsys to shared_preload_libraries in postgresql.conf (shared_preload_libraries = ''pg_cron,mlsys'' with pg_cron) and restart the server.';
                END IF;
            WHEN v_key = 'log_entity' THEN
                IF jsonb_typeof(v_value) <> 'string' OR v_value #>> '{}' = '' THEN
                    RAISE EXCEPTION 'setting "log_entity" must be a column or key name' USING ERRCODE = 'invalid_parameter_value';
                END IF;
            WHEN v_key = 'private' THEN
                IF jsonb_typeof(v_value) <> 'boolean' THEN
                    RAISE EXCEPTION 'setting "private" must be true or false' USING ERRCODE = 'invalid_parameter_value';
                END IF;
            ELSE
                NULL;
        END CASE;
        v_current := v_current || jsonb_build_object(v_key, v_value);
    END LOOP;
    UPDATE mlsys.models m SET settings = v_current WHERE m.model = _configure.model;
    RETURN v_current;
END;
$$;
COMMENT ON FUNCTION mlsys._configure(text, jsonb, regclass) IS 'The work of mlsys.configure, given the relation setting already resolved (internal).';

-- Not pinned to a search_path on purpose, so that the "relation" setting is
-- resolved as the caller would resolve it; every name and operator inside is
-- schema-qualified instead.
CREATE FUNCTION mlsys.configure(model text, settings jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT mlsys._configure($1, $2,
        CASE WHEN pg_catalog.jsonb_typeof($2 OPERATOR(pg_catalog.->) 'relation') OPERATOR(pg_catalog.=) 'string'
             THEN CAST($2 OPERATOR(pg_catalog.->>) 'relation' AS pg_catalog.regclass) END)
$$;
COMMENT ON FUNCTION mlsys.configure(text, jsonb) IS
'Sets monitoring, retraining and serving settings of a model (merged into the current ones; a null value restores the default) and returns them.';
