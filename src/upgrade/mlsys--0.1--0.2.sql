-- mlsys 0.1 -> 0.2 (ALTER EXTENSION mlsys UPDATE). Every object added or
-- changed after 0.1 comes here as well as into the install script built from
-- src/mlsys.sql and src/sql/; test/t/009_upgrade.pl checks that an upgraded
-- installation and a fresh one have the same objects.
\echo Use "ALTER EXTENSION mlsys UPDATE" to load this file. \quit

-- Scheduling from any database
CREATE FUNCTION mlsys._cron_database_name() RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN pg_catalog.current_setting('cron.database_name', true);
EXCEPTION WHEN insufficient_privilege THEN
    RETURN NULL;
END $$;
COMMENT ON FUNCTION mlsys._cron_database_name() IS 'pg_cron''s database (cron.database_name), or NULL when pg_cron is not loaded or the setting is not readable by the role (internal).';
REVOKE EXECUTE ON FUNCTION mlsys._cron_database_name() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._cron_database_name() TO mlsys_reader;

CREATE OR REPLACE FUNCTION mlsys._require_pg_cron() RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', pg_catalog.current_database()
            USING ERRCODE = 'feature_not_supported',
                  HINT = pg_catalog.format('Add pg_cron to shared_preload_libraries, set cron.use_background_workers = on (or cron.host), '
                         'and run CREATE EXTENSION pg_cron in the database named by cron.database_name (%s), where mlsys must be installed too.',
                         COALESCE(mlsys._cron_database_name(), 'not set, or not readable by this role'));
    END IF;
END $$;

CREATE FUNCTION mlsys._require_pg_cron(p_there text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_cron_db text := mlsys._cron_database_name();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron')
       AND v_cron_db IS NOT NULL AND v_cron_db <> pg_catalog.current_database() THEN
        RAISE EXCEPTION 'pg_cron keeps its jobs in database "%", not in "%"', v_cron_db, pg_catalog.current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'pg_cron''s jobs can be created and read only in the database named by cron.database_name.',
                  HINT = pg_catalog.format('Run this in database "%s": %s', v_cron_db, p_there);
    END IF;
    PERFORM mlsys._require_pg_cron();
END $$;
COMMENT ON FUNCTION mlsys._require_pg_cron(text) IS 'Raises an error whose hint is the statement to run in pg_cron''s database when called from another one, else as mlsys._require_pg_cron() (internal).';

CREATE OR REPLACE FUNCTION mlsys.schedule(model text, schedule text, action text DEFAULT 'retrain') RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_job bigint;
BEGIN
    IF schedule.model IS NULL OR schedule.schedule IS NULL OR schedule.action IS NULL THEN
        RAISE EXCEPTION 'model, schedule and action must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF schedule.action NOT IN ('retrain', 'check', 'retrain_if_drifted', 'recommend_batch') THEN
        RAISE EXCEPTION 'unrecognized action "%"', schedule.action
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Actions are retrain, check, retrain_if_drifted and recommend_batch.';
    END IF;
    PERFORM 1 FROM mlsys.models m WHERE m.model = schedule.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', schedule.model USING ERRCODE = 'undefined_object';
    END IF;
    -- the job runs as this role, with its privileges on the model when it runs
    PERFORM mlsys._require_model_privilege(schedule.model, 'manage');
    PERFORM mlsys._require_pg_cron(pg_catalog.format('SELECT cron.schedule_in_database(%L, %L, %L, %L);',
        mlsys._job_name(schedule.model, schedule.action), schedule.schedule,
        pg_catalog.format('SELECT mlsys._run_job(%L, %L)', schedule.model, schedule.action),
        pg_catalog.current_database()));
    IF schedule.action IN ('check', 'retrain_if_drifted') AND pg_catalog.to_regprocedure('mlsys.check(text)') IS NULL THEN
        RAISE EXCEPTION 'function mlsys.check(text) does not exist'
            USING ERRCODE = 'undefined_function',
                  HINT = 'The check and retrain_if_drifted actions need the monitoring functions of mlsys.';
    END IF;
    -- same name again: pg_cron updates the existing job
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO v_job
      USING mlsys._job_name(schedule.model, schedule.action), schedule.schedule,
            pg_catalog.format('SELECT mlsys._run_job(%L, %L)', schedule.model, schedule.action);
    RETURN v_job;
END $$;
COMMENT ON FUNCTION mlsys.schedule(text, text, text) IS
'Schedules a model action (retrain, check, retrain_if_drifted or recommend_batch) with pg_cron under the job name mlsys:<model>:<action>; returns the job id.';

CREATE OR REPLACE FUNCTION mlsys.unschedule(model text, action text DEFAULT NULL) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_job bigint;
    v_count int := 0;
BEGIN
    IF unschedule.model IS NULL THEN
        RAISE EXCEPTION 'model must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT 1 FROM mlsys.models m WHERE m.model = unschedule.model) THEN
        PERFORM mlsys._require_model_privilege(unschedule.model, 'manage');
    END IF;
    IF unschedule.action IS NOT NULL AND unschedule.action NOT IN ('retrain', 'check', 'retrain_if_drifted', 'recommend_batch') THEN
        RAISE EXCEPTION 'unrecognized action "%"', unschedule.action
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Actions are retrain, check, retrain_if_drifted and recommend_batch.';
    END IF;
    PERFORM mlsys._require_pg_cron(pg_catalog.format(
        'SELECT cron.unschedule(jobid) FROM cron.job WHERE database = %L AND jobname IN (%s);',
        pg_catalog.current_database(),
        (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(mlsys._job_name(unschedule.model, a)), ', ')
           FROM pg_catalog.unnest(CASE WHEN unschedule.action IS NULL THEN ARRAY['retrain', 'check', 'retrain_if_drifted', 'recommend_batch']
                                          ELSE ARRAY[unschedule.action] END) a)));
    FOR v_job IN EXECUTE 'SELECT j.jobid FROM cron.job j WHERE j.jobname OPERATOR(pg_catalog.=) ANY ($1)'
        USING (SELECT pg_catalog.array_agg(mlsys._job_name(unschedule.model, a))
                 FROM pg_catalog.unnest(CASE WHEN unschedule.action IS NULL THEN ARRAY['retrain', 'check', 'retrain_if_drifted', 'recommend_batch']
                                                ELSE ARRAY[unschedule.action] END) a)
    LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING v_job;
        v_count := v_count + 1;
    END LOOP;
    IF v_count = 0 THEN
        RAISE NOTICE 'model "%" has no scheduled %', unschedule.model, COALESCE(unschedule.action, 'action');
    END IF;
    RETURN v_count;
END $$;
COMMENT ON FUNCTION mlsys.unschedule(text, text) IS 'Removes the pg_cron jobs of a model (one action, or all when action is NULL); returns how many.';

CREATE OR REPLACE FUNCTION mlsys.schedules()
RETURNS TABLE (jobid bigint, model text, action text, schedule text, active bool, command text,
               last_status text, last_start timestamptz, last_end timestamptz, last_message text,
               runs bigint, last_training_status text, last_training_error text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM mlsys._require_pg_cron(pg_catalog.format(
        'SELECT jobid, jobname, schedule, active, command FROM cron.job WHERE database = %L AND jobname LIKE %L ORDER BY jobname;',
        pg_catalog.current_database(), 'mlsys:%'));
    RETURN QUERY EXECUTE $q$
        SELECT j.jobid, m[1], m[2], j.schedule, j.active, j.command,
               d.status, d.start_time, d.end_time, d.return_message,
               (SELECT pg_catalog.count(*) FROM cron.job_run_details x WHERE x.jobid OPERATOR(pg_catalog.=) j.jobid),
               t.status, t.error
          FROM cron.job j
         CROSS JOIN LATERAL pg_catalog.regexp_match(j.jobname, '^mlsys:(.*):(retrain|check|retrain_if_drifted|recommend_batch)$') m
          LEFT JOIN LATERAL (SELECT x.status, x.start_time, x.end_time, x.return_message
                               FROM cron.job_run_details x WHERE x.jobid OPERATOR(pg_catalog.=) j.jobid
                              ORDER BY x.runid DESC LIMIT 1) d ON true
          LEFT JOIN LATERAL (SELECT r.status, r.error FROM mlsys.training_runs r
                              WHERE r.model OPERATOR(pg_catalog.=) m[1] AND r.kind OPERATOR(pg_catalog.=) 'scheduled'
                              ORDER BY r.id DESC LIMIT 1) t ON true
         ORDER BY m[1], m[2]
    $q$;
END $$;
COMMENT ON FUNCTION mlsys.schedules() IS
'The pg_cron jobs of mlsys with their last run (cron.job_run_details) and the last scheduled training run of their model.';

-- grants as the install script gives them (90_security.sql): a new function
-- is for readers unless it is listed there for trainers or admins
REVOKE EXECUTE ON FUNCTION mlsys._require_pg_cron(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._require_pg_cron(text) TO mlsys_reader;

------------------------------------------------------------------------------
-- Boosted trees: the training passes, and mlsys.reproduce comparing trees
-- through their family
------------------------------------------------------------------------------
CREATE FUNCTION mlsys._gbt_sample_step(bytea, float8, float8[], int8, float8, int4) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gbt_sample_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._gbt_sample_step(bytea, float8, float8[], int8, float8, int4) IS 'Transition function of mlsys._gbt_sample_agg (internal).';
CREATE FUNCTION mlsys._gbt_sample_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gbt_sample_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._gbt_sample_combine(bytea, bytea) IS 'Combine function of mlsys._gbt_sample_agg (internal).';
CREATE AGGREGATE mlsys._gbt_sample_agg(float8, float8[], int8, float8, int4) (
    SFUNC = mlsys._gbt_sample_step, STYPE = bytea,
    COMBINEFUNC = mlsys._gbt_sample_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._gbt_sample_agg(float8, float8[], int8, float8, int4) IS
'First pass of boosted trees: a sample of the training rows (by a draw from their content hash) that the cut points are chosen from, and the count of labelled rows (internal).';

CREATE FUNCTION mlsys._gbt_rows_step(bytea, float8, float8[], int8, float8, float8[], int4[], int8) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gbt_rows_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._gbt_rows_step(bytea, float8, float8[], int8, float8, float8[], int4[], int8) IS 'Transition function of mlsys._gbt_rows_agg (internal).';
CREATE FUNCTION mlsys._gbt_rows_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gbt_rows_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._gbt_rows_combine(bytea, bytea) IS 'Combine function of mlsys._gbt_rows_agg (internal).';
CREATE AGGREGATE mlsys._gbt_rows_agg(float8, float8[], int8, float8, float8[], int4[], int8) (
    SFUNC = mlsys._gbt_rows_step, STYPE = bytea,
    COMBINEFUNC = mlsys._gbt_rows_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._gbt_rows_agg(float8, float8[], int8, float8, float8[], int4[], int8) IS
'Second pass of boosted trees: every labelled row binned on the cut points (one byte per feature) with its content hash and target, and the profile''s moments (internal).';

CREATE FUNCTION mlsys._params_diff(bytea, bytea) RETURNS float8
    AS 'MODULE_PATHNAME', 'params_diff' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._params_diff(bytea, bytea) IS
'The largest difference between two model blobs'' parameters, through their family (Infinity when their shapes differ; NULL when the family has no comparison) (internal; mlsys.reproduce).';

CREATE OR REPLACE FUNCTION mlsys.reproduce(model text, version int)
RETURNS TABLE (data_unchanged bool, params_match bool, max_abs_diff float8)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v mlsys.model_versions;
    v_new int;
    v_fp text;
    v_same_blob bool;
    v_match bool;
    v_diff float8;
BEGIN
    IF reproduce.model IS NULL OR reproduce.version IS NULL THEN
        RAISE EXCEPTION 'model and version must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM mlsys._check_model_access(reproduce.model);
    SELECT * INTO v FROM mlsys.model_versions mv WHERE mv.model = reproduce.model AND mv.version = reproduce.version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of model "%" does not exist', reproduce.version, reproduce.model
            USING ERRCODE = 'undefined_object';
    END IF;
    IF v.relation = '' THEN
        RAISE EXCEPTION 'version % of model "%" has no training relation to reproduce it from', reproduce.version, reproduce.model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The version was imported from a model trained outside mlsys.';
    END IF;
    BEGIN
        IF v.algorithm IN ('als_explicit', 'als_implicit') THEN
            SELECT t.version INTO v_new
              FROM mlsys.train_recommender(reproduce.model, v.relation::regclass, v.feature_columns[1], v.feature_columns[2],
                                           NULLIF(v.target, ''), mlsys._recommender_hyperparams(v.hyperparams), v.test_size, v.seed, 'never') t;
        ELSE
            SELECT t.version INTO v_new
              FROM mlsys.train(reproduce.model, v.relation::regclass, v.target, v.feature_columns, v.algorithm,
                               v.hyperparams, v.test_size, v.seed, 'never') t;
        END IF;
        SELECT mv.data_fingerprint, mv.params = v.params INTO v_fp, v_same_blob
          FROM mlsys.model_versions mv WHERE mv.model = reproduce.model AND mv.version = v_new;
        IF v.algorithm IN ('als_explicit', 'als_implicit') THEN
            -- factors are compared as blobs: bit-identical or not
            v_diff := CASE WHEN v_same_blob THEN 0 END;
        ELSIF v.algorithm = 'boosted_trees' THEN
            -- trees have no coefficients: their family compares thresholds and leaves
            SELECT mlsys._params_diff(v.params, mv.params) INTO v_diff
              FROM mlsys.model_versions mv WHERE mv.model = reproduce.model AND mv.version = v_new;
            v_match := v_diff <= 1e-9;
        ELSE
            -- multiclass: one coefficient per (class, feature), matched by
            -- ordinal and name (a changed class list does not match)
            SELECT pg_catalog.max(abs(a.coefficient - b.coefficient)),
                   pg_catalog.bool_and(a.ordinal IS NOT NULL AND b.ordinal IS NOT NULL AND a.feature = b.feature
                                       AND abs(a.coefficient - b.coefficient) <= 1e-9 * greatest(1, abs(a.coefficient)))
              INTO v_diff, v_match
              FROM mlsys.features(reproduce.model, reproduce.version) a
              FULL JOIN mlsys.features(reproduce.model, v_new) b ON a.ordinal = b.ordinal;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'MLRPR', MESSAGE = 'reproduce: roll back the retrained version';
    EXCEPTION WHEN SQLSTATE 'MLRPR' THEN
        NULL;
    END;
    RETURN QUERY SELECT v_fp = v.data_fingerprint, v_same_blob OR COALESCE(v_match, false), v_diff;
END $$;
COMMENT ON FUNCTION mlsys.reproduce(text, int) IS
'Retrains a version from its stored spec (recommenders included) without registering anything and says whether the data is unchanged (fingerprint) and the parameters reproduced (within 1e-9 relative; recommenders bit-identical), with the largest coefficient difference.';

REVOKE EXECUTE ON FUNCTION mlsys._gbt_sample_step(bytea, float8, float8[], int8, float8, int4) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._gbt_sample_step(bytea, float8, float8[], int8, float8, int4) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._gbt_sample_combine(bytea, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._gbt_sample_combine(bytea, bytea) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._gbt_sample_agg(float8, float8[], int8, float8, int4) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._gbt_sample_agg(float8, float8[], int8, float8, int4) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._gbt_rows_step(bytea, float8, float8[], int8, float8, float8[], int4[], int8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._gbt_rows_step(bytea, float8, float8[], int8, float8, float8[], int4[], int8) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._gbt_rows_combine(bytea, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._gbt_rows_combine(bytea, bytea) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._gbt_rows_agg(float8, float8[], int8, float8, float8[], int4[], int8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._gbt_rows_agg(float8, float8[], int8, float8, float8[], int4[], int8) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._params_diff(bytea, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._params_diff(bytea, bytea) TO mlsys_reader;

------------------------------------------------------------------------------
-- Explanations for every family: mlsys.explain, mlsys.feature_importance and
-- the training sample they are measured on
------------------------------------------------------------------------------
CREATE TABLE mlsys.explain_samples (
    model    text NOT NULL,
    version  int NOT NULL,
    nrows    int NOT NULL CHECK (nrows > 0),
    features float8[] NOT NULL,
    PRIMARY KEY (model, version),
    FOREIGN KEY (model, version) REFERENCES mlsys.model_versions ON DELETE CASCADE
);
COMMENT ON TABLE mlsys.explain_samples IS
'A bounded sample of each trained version''s training rows as encoded feature vectors (nrows vectors in model order, one after the other), which mlsys.feature_importance explains; none for imported versions and recommenders.';
SELECT pg_catalog.pg_extension_config_dump('mlsys.explain_samples', '');

-- Training stores the sample right after registering the version
-- (src/train/explain_sample.c). Trainers cannot write the table; this runs as
-- the extension's owner and writes only a version the current transaction
-- registered, with as many values as it has features.
CREATE FUNCTION mlsys._store_explain_sample(p_model text, p_version int, p_nrows int, p_features float8[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_nfeat int;
BEGIN
    SELECT pg_catalog.cardinality(v.features) INTO v_nfeat
      FROM mlsys.model_versions v
     WHERE v.model OPERATOR(pg_catalog.=) p_model AND v.version OPERATOR(pg_catalog.=) p_version
       AND mlsys._xid_is_current(v.xmin);
    IF v_nfeat IS NULL THEN
        RAISE EXCEPTION 'permission denied to store an explanation sample for version % of model "%"', p_version, p_model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only the transaction that registered a version stores its sample.';
    END IF;
    IF p_nrows IS NULL OR p_nrows < 1 OR p_features IS NULL
       OR pg_catalog.array_ndims(p_features) IS DISTINCT FROM 1
       OR pg_catalog.cardinality(p_features) IS DISTINCT FROM p_nrows OPERATOR(pg_catalog.*) v_nfeat THEN
        RAISE EXCEPTION 'an explanation sample must hold nrows feature vectors of % values', v_nfeat
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO mlsys.explain_samples AS s (model, version, nrows, features)
    VALUES (p_model, p_version, p_nrows, p_features)
    ON CONFLICT ON CONSTRAINT explain_samples_pkey
    DO UPDATE SET nrows = EXCLUDED.nrows, features = EXCLUDED.features;
END $$;
COMMENT ON FUNCTION mlsys._store_explain_sample(text, int, int, float8[]) IS
'Stores the explanation sample of a version the current transaction registered (internal; called by mlsys.train).';

CREATE FUNCTION mlsys.explain(model text, features record)
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_record' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, record) IS
'Each feature''s contribution to the live version''s raw output for a row (features by column name), plus a <bias> row; they add up to the prediction (regression), the positive class''s log-odds (binary) or each class''s margin (multiclass). Trees: exact TreeSHAP; linear models: coefficient times the distance from the training mean.';
CREATE FUNCTION mlsys.explain(model text, features float8[])
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_array' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, float8[]) IS
'mlsys.explain for a feature vector in model order, by the live version.';
CREATE FUNCTION mlsys.explain(model text, features jsonb)
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_jsonb' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, jsonb) IS
'mlsys.explain for a JSON object keyed by source column name, by the live version.';
CREATE FUNCTION mlsys.explain(model text, version int, features record)
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_record_version' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, int, record) IS 'mlsys.explain for a row, by the given version.';
CREATE FUNCTION mlsys.explain(model text, version int, features float8[])
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_array_version' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, int, float8[]) IS 'mlsys.explain for a feature vector, by the given version.';
CREATE FUNCTION mlsys.explain(model text, version int, features jsonb)
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_jsonb_version' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, int, jsonb) IS 'mlsys.explain for a JSON object, by the given version.';

CREATE FUNCTION mlsys.feature_importance(model text, version int DEFAULT NULL)
RETURNS TABLE (feature text, gain float8, mean_abs_contribution float8)
    AS 'MODULE_PATHNAME', 'feature_importance' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.feature_importance(text, int) IS
'Per source column of a version (NULL: the live one), in model order: the total split gain of its features (trees; NULL otherwise) and the mean over the version''s training sample of the absolute sum of its features'' contributions, summed over classes for multiclass (NULL without a sample: imported versions).';

REVOKE ALL ON mlsys.explain_samples FROM PUBLIC;
GRANT SELECT ON mlsys.explain_samples TO mlsys_reader;
GRANT ALL ON mlsys.explain_samples TO mlsys_admin;
REVOKE EXECUTE ON FUNCTION mlsys._store_explain_sample(text, int, int, float8[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._store_explain_sample(text, int, int, float8[]) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys.explain(text, record) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys.explain(text, record) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys.explain(text, float8[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys.explain(text, float8[]) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys.explain(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys.explain(text, jsonb) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys.explain(text, int, record) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys.explain(text, int, record) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys.explain(text, int, float8[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys.explain(text, int, float8[]) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys.explain(text, int, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys.explain(text, int, jsonb) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys.feature_importance(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys.feature_importance(text, int) TO mlsys_reader;

-- import_model also reads XGBoost models
COMMENT ON FUNCTION mlsys.import_model(text, jsonb) IS
'Registers a document from mlsys.export_model, or an XGBoost JSON model (Booster.save_model; algorithm boosted_trees), as a new version of a model (created when needed; an existing model must have the same task) and deploys it when the model has no live version; returns the version. A malformed, tampered or unsupported document is rejected with a class-22 error and registers nothing.';

-- retraining refuses a version imported without a training relation
CREATE OR REPLACE FUNCTION mlsys._retrain(p_model text, p_run bigint)
RETURNS TABLE (o_model text, o_version int, o_algorithm text, o_metrics jsonb, o_deployed bool,
               o_champion_metrics jsonb, o_decision text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v mlsys.model_versions;
    v_task text;
    v_live int;
    v_rows bigint;
    v_min_rows bigint := (mlsys._setting(p_model, 'min_rows') #>> '{}')::bigint;
    v_margin float8 := (mlsys._setting(p_model, 'min_improvement') #>> '{}')::float8;
    v_metric text;
    v_lower bool;
    t record;
    s record;
    v_gain float8;
    v_deploy bool;
    v_decision text;
    v_reason text;
    v_recommender bool;
BEGIN
    PERFORM mlsys._lock_model(p_model);   -- one retrain of a model at a time
    -- On Citus the challenger this retrain registers is in the registry's
    -- copy (mlsys_replica) only for the connections that wrote it, until
    -- commit; scoring it on the workers must use those: one per node
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus') THEN
        PERFORM pg_catalog.set_config('citus.max_adaptive_executor_pool_size', '1', true);
    END IF;
    SELECT m.task INTO v_task FROM mlsys.models m WHERE m.model = p_model;
    SELECT d.version INTO v_live FROM mlsys.deployments d WHERE d.model = p_model ORDER BY d.id DESC LIMIT 1;
    IF v_live IS NULL THEN
        RAISE EXCEPTION 'model "%" has no deployed version to retrain', p_model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Deploy a version with mlsys.deploy first: retraining reuses its spec.';
    END IF;
    SELECT * INTO v FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = v_live;
    IF v_task NOT IN ('regression', 'binary', 'multiclass', 'recommender_explicit', 'recommender_implicit') THEN
        RAISE EXCEPTION 'retraining % models is not supported yet', v_task USING ERRCODE = 'feature_not_supported';
    END IF;
    v_recommender := v_task LIKE 'recommender%';
    IF v.relation = '' THEN
        RAISE EXCEPTION 'version % of model "%" has no training relation to retrain on', v_live, p_model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The version was imported from a model trained outside mlsys.',
                  HINT = 'Train a version with mlsys.train and deploy it: retraining reuses its spec.';
    END IF;
    IF v.algorithm = 'als_implicit' AND v.test_size = 0 THEN
        RAISE EXCEPTION 'an implicit recommender trained with test_size 0 has no holdout to compare versions on'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Train it with test_size > 0 and deploy that version first.';
    END IF;
    SELECT rm.metric, rm.lower_is_better INTO v_metric, v_lower FROM mlsys._retrain_metric(p_model, v_task) rm;

    -- min_rows (default 1: no extra pass; mlsys.train itself refuses an empty relation)
    -- (recommenders: interactions, i.e. rows)
    IF v_min_rows > 1 THEN
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s AS r WHERE %s', v.relation::regclass,
                                  CASE WHEN v_recommender THEN 'true' ELSE pg_catalog.format('r.%I IS NOT NULL', v.target) END)
           INTO v_rows;
    END IF;
    IF v_rows < v_min_rows THEN
        v_reason := pg_catalog.format('%s has %s %s, fewer than min_rows %s', v.relation, v_rows,
                                      CASE WHEN v_recommender THEN 'interactions' ELSE 'rows with a target' END, v_min_rows);
        INSERT INTO mlsys.retrain_decisions (model, run_id, champion_version, metric, lower_is_better,
                                             min_improvement, deployed, decision, reason)
        VALUES (p_model, p_run, v_live, v_metric, v_lower, v_margin, false, 'skipped', v_reason);
        UPDATE mlsys.training_runs r SET rows = v_rows WHERE r.id = p_run;
        RAISE NOTICE 'retraining of model "%" skipped: %', p_model, v_reason;
        RETURN QUERY SELECT p_model, NULL::int, v.algorithm, NULL::jsonb, false, v.metrics, 'skipped'::text;
        RETURN;
    END IF;

    -- (1) the challenger, from the champion's spec, never deployed by the trainer itself
    IF v_recommender THEN
        -- train_recommender stores user and item columns as feature_columns,
        -- the rating (or strength) column as target ('' for none) and the
        -- resolved hyperparameters, "implicit" included
        SELECT tr.version, tr.algorithm, tr.metrics INTO t
          FROM mlsys.train_recommender(p_model, v.relation::regclass, v.feature_columns[1], v.feature_columns[2],
                                       NULLIF(v.target, ''), mlsys._recommender_hyperparams(v.hyperparams), v.test_size, v.seed, 'never') tr;
    ELSE
        SELECT tr.version, tr.algorithm, tr.metrics INTO t
          FROM mlsys.train(p_model, v.relation::regclass, v.target, v.feature_columns, v.algorithm,
                           v.hyperparams, v.test_size, v.seed, 'never') tr;
    END IF;

    -- (2) both on the challenger's holdout
    IF v_recommender THEN
        SELECT * INTO s FROM mlsys._score_recommender_pair(p_model, v_live, t.version, v_metric);
    ELSE
        SELECT * INTO s FROM mlsys._score_pair(p_model, t.version, v_live, t.version, v_metric);
    END IF;
    IF s.n <> (SELECT CASE WHEN mv.test_size = 0 THEN mv.train_rows ELSE mv.test_rows END
                 FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = t.version) THEN
        RAISE EXCEPTION 'the holdout used to compare versions (% rows) is not the challenger''s', s.n
            USING ERRCODE = 'internal_error',
                  HINT = 'mlsys._holdout_predicate (recommenders: mlsys._recommender_holdout_query) no longer matches the split of training.';
    END IF;

    -- strictly better by more than the relative margin; a tie keeps the champion
    v_gain := CASE WHEN v_lower THEN s.champion_score - s.challenger_score
                   ELSE s.challenger_score - s.champion_score END;
    v_deploy := s.champion_score IS NULL
                OR (v_gain > 0 AND v_gain > v_margin * abs(s.champion_score));
    v_decision := CASE WHEN v_deploy THEN 'deployed' ELSE 'kept' END;
    v_reason := CASE
        WHEN s.champion_score IS NULL THEN 'the champion has no score on the fresh holdout'
        ELSE pg_catalog.format('challenger %s %s vs champion %s on %s %s: %s by %s%% (%s), margin %s%%',
                 v_metric, pg_catalog.round(s.challenger_score::numeric, 6), pg_catalog.round(s.champion_score::numeric, 6),
                 s.n, CASE WHEN v.test_size = 0 THEN 'rows (test_size 0: no holdout, training rows)' ELSE 'fresh holdout rows' END,
                 CASE WHEN v_gain > 0 THEN 'better' WHEN v_gain = 0 THEN 'tie' ELSE 'worse' END,
                 CASE WHEN s.champion_score = 0 THEN 'inf'
                      ELSE pg_catalog.round((100 * abs(v_gain) / abs(s.champion_score))::numeric, 3)::text END,
                 CASE WHEN v_deploy THEN 'challenger deployed' ELSE 'champion kept' END,
                 pg_catalog.round((100 * v_margin)::numeric, 3)) END;
    IF v_deploy THEN
        PERFORM mlsys._insert_deployment(p_model, t.version, 'retrain');
    END IF;
    INSERT INTO mlsys.retrain_decisions (model, run_id, champion_version, challenger_version, metric,
        lower_is_better, champion_score, challenger_score, min_improvement, holdout_rows, deployed, decision, reason)
    VALUES (p_model, p_run, v_live, t.version, v_metric, v_lower, s.champion_score, s.challenger_score,
            v_margin, s.n, v_deploy, v_decision, v_reason);
    -- precomputed lists move to the new version in the deploying transaction
    IF v_deploy AND v_recommender THEN
        PERFORM mlsys._refresh_recommendations(p_model);
    END IF;
    RETURN QUERY SELECT p_model, t.version, t.algorithm, t.metrics, v_deploy,
        v.metrics || pg_catalog.jsonb_build_object('fresh_' || v_metric, s.champion_score), v_decision;
END $$;
COMMENT ON FUNCTION mlsys._retrain(text, bigint) IS 'The work of mlsys.retrain within an open training run (internal).';

------------------------------------------------------------------------------
-- Precomputed recommendations: mlsys.recommend_batch, the "serve" setting,
-- the recommend_batch action of mlsys.schedule
------------------------------------------------------------------------------

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


CREATE OR REPLACE FUNCTION mlsys._setting_defaults() RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mlsys._configure(model text, settings jsonb, relation regclass) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION mlsys._run_job(p_model text, p_action text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run bigint;
    v_alerts bigint;
    v_msg text;
    v_state text;
    r record;
BEGIN
    IF p_action IN ('check', 'retrain_if_drifted') THEN
        v_alerts := mlsys._check_alerts(p_model);
        IF p_action = 'check' OR v_alerts = 0 THEN
            RETURN pg_catalog.format('%s alert(s)', v_alerts);
        END IF;
    ELSIF p_action = 'recommend_batch' THEN
        RETURN pg_catalog.format('%s users', mlsys._recommend_batch_again(p_model));
    ELSIF p_action IS DISTINCT FROM 'retrain' THEN
        RAISE EXCEPTION 'unrecognized action "%"', p_action USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_run := mlsys._run_start(p_model, 'scheduled');
    BEGIN
        SELECT * INTO r FROM mlsys._retrain(p_model, v_run);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
    END;
    IF v_state IS NOT NULL THEN
        PERFORM mlsys._run_finish(v_run, 'failed', v_msg, v_state);
        RAISE WARNING 'scheduled retrain of model "%" failed: %', p_model, v_msg;
        RETURN 'failed: ' || v_msg;
    END IF;
    PERFORM mlsys._run_finish(v_run, CASE WHEN r.o_decision = 'skipped' THEN 'skipped' ELSE 'succeeded' END);
    RETURN pg_catalog.format('%s: version %s %s', COALESCE(v_alerts::text || ' alert(s), retrained', 'retrained'),
                             r.o_version, r.o_decision);
END $$;
COMMENT ON FUNCTION mlsys._run_job(text, text) IS 'The command of a scheduled job: runs one action and records a failed retrain instead of losing it (internal).';

COMMENT ON FUNCTION mlsys.configure(text, jsonb) IS
'Sets monitoring, retraining and serving settings of a model (merged into the current ones; a null value restores the default) and returns them.';

-- grants as the install script gives them (90_security.sql)
REVOKE ALL ON TABLE mlsys.recommendations FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON mlsys.recommendations TO mlsys_reader;
GRANT ALL ON TABLE mlsys.recommendations TO mlsys_admin;
REVOKE EXECUTE ON FUNCTION
    mlsys.recommend_batch(text, regclass, text, int),
    mlsys._store_batch_settings(text, regclass, text, int),
    mlsys._recommend_batch_again(text),
    mlsys._refresh_recommendations(text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    mlsys.recommend_batch(text, regclass, text, int),
    mlsys._store_batch_settings(text, regclass, text, int),
    mlsys._recommend_batch_again(text),
    mlsys._refresh_recommendations(text)
TO mlsys_reader;

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
REVOKE EXECUTE ON FUNCTION mlsys._recommender_hyperparams(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._recommender_hyperparams(jsonb) TO mlsys_reader;

------------------------------------------------------------------------------
-- Alerts a team can live with: one open alert per condition, updated by
-- later checks, resolved when a check no longer finds it, by hand, or by a
-- deployment of another version; NOTIFY only when an alert opens, escalates
-- or resolves
------------------------------------------------------------------------------
ALTER TABLE mlsys.alerts
    ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN severity text NOT NULL DEFAULT 'warning' CHECK (severity IN ('warning', 'critical')),
    ADD COLUMN resolution text;
UPDATE mlsys.alerts SET last_seen_at = created_at;
-- 0.1 opened a new alert at every check: the newest of each open condition stays open
UPDATE mlsys.alerts a SET resolved_at = pg_catalog.now(), resolution = 'superseded by alert ' || d.newest
  FROM (SELECT x.id, pg_catalog.max(x.id) OVER (PARTITION BY x.model, x.version, x.kind, x.feature) AS newest
          FROM mlsys.alerts x WHERE x.resolved_at IS NULL) d
 WHERE a.id OPERATOR(pg_catalog.=) d.id AND d.id OPERATOR(pg_catalog.<>) d.newest;
CREATE UNIQUE INDEX alerts_one_open_idx ON mlsys.alerts (model, version, kind, feature) NULLS NOT DISTINCT
    WHERE resolved_at IS NULL;
COMMENT ON TABLE mlsys.alerts IS 'One row per condition found by mlsys.check (model, version, kind, feature): open until a check no longer finds it, mlsys.resolve_alert, or a deployment of another version resolves it.';
SELECT pg_catalog.pg_extension_config_dump('mlsys.alerts', '');

CREATE OR REPLACE FUNCTION mlsys._notify_alert(p_alert mlsys.alerts, p_event text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.pg_notify('mlsys_alerts',
        pg_catalog.jsonb_build_object('id', (p_alert).id, 'model', (p_alert).model, 'kind', (p_alert).kind,
                                      'feature', pg_catalog.left((p_alert).feature, 200), 'event', p_event)::text)
$$;
COMMENT ON FUNCTION mlsys._notify_alert(mlsys.alerts, text) IS
'Sends NOTIFY mlsys_alerts {id, model, kind, feature, event} for an alert event: opened, escalated or resolved (internal).';

CREATE OR REPLACE FUNCTION mlsys._raise_alert(p_check bigint, p_model text, p_version int, p_kind text, p_feature text,
                                   p_metric text, p_value float8, p_threshold float8, p_critical bool,
                                   p_detail jsonb) RETURNS mlsys.alerts
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a mlsys.alerts;
    v_was text;
BEGIN
    SELECT * INTO a FROM mlsys.alerts x
     WHERE x.model = p_model AND x.version IS NOT DISTINCT FROM p_version AND x.kind = p_kind
       AND x.feature IS NOT DISTINCT FROM p_feature AND x.resolved_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO mlsys.alerts (check_id, model, version, kind, feature, metric, value, threshold, detail, severity)
        VALUES (p_check, p_model, p_version, p_kind, p_feature, p_metric, p_value, p_threshold, p_detail,
                CASE WHEN p_critical THEN 'critical' ELSE 'warning' END)
        RETURNING * INTO a;
        PERFORM mlsys._notify_alert(a, 'opened');
        RETURN a;
    END IF;
    v_was := a.severity;
    UPDATE mlsys.alerts x
       SET last_seen_at = now(), metric = p_metric, value = p_value, threshold = p_threshold, detail = p_detail,
           severity = CASE WHEN p_critical THEN 'critical' ELSE x.severity END
     WHERE x.id = a.id
    RETURNING * INTO a;
    IF a.severity = 'critical' AND v_was <> 'critical' THEN
        PERFORM mlsys._notify_alert(a, 'escalated');
    END IF;
    RETURN a;
END $$;
COMMENT ON FUNCTION mlsys._raise_alert(bigint, text, int, text, text, text, float8, float8, bool, jsonb) IS
'Opens the alert of a condition mlsys.check found, or updates and possibly escalates the open one (internal).';

CREATE OR REPLACE FUNCTION mlsys._resolve_alerts(p_model text, p_version int, p_kind text, p_feature text,
                                      p_resolution text, p_except_version int DEFAULT NULL) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a mlsys.alerts;
    v_count int := 0;
BEGIN
    FOR a IN UPDATE mlsys.alerts x SET resolved_at = now(), resolution = p_resolution
              WHERE x.model = p_model AND x.resolved_at IS NULL
                AND CASE WHEN p_kind IS NULL THEN x.version IS DISTINCT FROM p_except_version
                         ELSE x.version IS NOT DISTINCT FROM p_version AND x.kind = p_kind
                              AND x.feature IS NOT DISTINCT FROM p_feature END
             RETURNING x.* LOOP
        PERFORM mlsys._notify_alert(a, 'resolved');
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END $$;
COMMENT ON FUNCTION mlsys._resolve_alerts(text, int, text, text, text, int) IS
'Resolves the matching open alerts of a model with a resolution and notifies listeners (internal).';

CREATE OR REPLACE FUNCTION mlsys.resolve_alert(id bigint) RETURNS bool
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a mlsys.alerts;
BEGIN
    IF resolve_alert.id IS NULL THEN
        RAISE EXCEPTION 'id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO a FROM mlsys.alerts x WHERE x.id = resolve_alert.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'alert % does not exist', resolve_alert.id USING ERRCODE = 'undefined_object';
    END IF;
    IF a.resolved_at IS NOT NULL THEN
        RAISE NOTICE 'alert % is already resolved', resolve_alert.id;
        RETURN false;
    END IF;
    UPDATE mlsys.alerts x SET resolved_at = now(), resolution = 'manual' WHERE x.id = a.id RETURNING * INTO a;
    PERFORM mlsys._notify_alert(a, 'resolved');
    RETURN true;
END $$;
COMMENT ON FUNCTION mlsys.resolve_alert(bigint) IS
'Resolves an open alert by hand (resolution "manual", NOTIFY event "resolved"); false when it was already resolved.';

CREATE OR REPLACE FUNCTION mlsys._insert_deployment(p_model text, p_version int, p_reason text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_previous bigint;
    v_id bigint;
BEGIN
    PERFORM mlsys._lock_model(p_model);
    PERFORM mlsys._authorize_deployment(p_model, p_version);   -- see src/sql/90_security.sql
    SELECT d.id INTO v_previous FROM mlsys.deployments d
     WHERE d.model = p_model ORDER BY d.id DESC LIMIT 1;
    INSERT INTO mlsys.deployments (model, version, reason, previous_id)
    VALUES (p_model, p_version, p_reason, v_previous)
    RETURNING id INTO v_id;
    -- the open alerts of the versions it replaces are about what no longer serves
    PERFORM mlsys._resolve_alerts(p_model, NULL, NULL, NULL,
                                  pg_catalog.format('superseded by version %s', p_version), p_version);
    RETURN v_id;
END $$;
COMMENT ON FUNCTION mlsys._insert_deployment(text, int, text) IS 'Records a deployment stacked on the current one (internal).';

-- CREATE OR REPLACE resets what ALTER FUNCTION set: as 90_security.sql has it
ALTER FUNCTION mlsys._insert_deployment(text, int, text) SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION
    mlsys._notify_alert(mlsys.alerts, text),
    mlsys._raise_alert(bigint, text, int, text, text, text, float8, float8, bool, jsonb),
    mlsys._resolve_alerts(text, int, text, text, text, int),
    mlsys.resolve_alert(bigint)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    mlsys._notify_alert(mlsys.alerts, text),
    mlsys._raise_alert(bigint, text, int, text, text, text, float8, float8, bool, jsonb),
    mlsys._resolve_alerts(text, int, text, text, text, int)
TO mlsys_reader;
GRANT EXECUTE ON FUNCTION mlsys.resolve_alert(bigint) TO mlsys_trainer;

------------------------------------------------------------------------------
-- Dashboards: one live metric per task (prediction_stats' binary figure is
-- the AUC, as mlsys.performance and mlsys.model_overview have it), and the
-- latest prediction per entity
------------------------------------------------------------------------------
-- Online logging: sampled online calls land in mlsys.predictions (source
-- 'online', with their features and the role that scored); drift without a
-- relation reads them.
ALTER TABLE mlsys.predictions ALTER COLUMN run_id DROP NOT NULL;
-- online rows have no run: they stay out of the run index
DROP INDEX mlsys.predictions_run_idx;
CREATE INDEX predictions_run_idx ON mlsys.predictions (run_id) WHERE run_id IS NOT NULL;
ALTER TABLE mlsys.predictions
    ADD COLUMN source text NOT NULL DEFAULT 'batch' CHECK (source IN ('batch', 'online')),
    ADD COLUMN features jsonb,
    ADD COLUMN scored_by name;
-- rows scored before the upgrade keep no scorer
ALTER TABLE mlsys.predictions ALTER COLUMN scored_by SET DEFAULT CURRENT_USER;
COMMENT ON COLUMN mlsys.predictions.features IS 'Online rows: the source columns'' values as scored (NULLs kept, categories as they came), for drift over live traffic.';
COMMENT ON COLUMN mlsys.predictions.scored_by IS 'The role that scored: the caller of mlsys.predict_batch, or of the logged online call.';
COMMENT ON TABLE mlsys.predictions IS 'Scoring output: batch runs (source batch, with a run_id) and sampled online calls (source online, with the features as scored); label (the actual outcome) is filled in later as feedback.';

CREATE TABLE mlsys.online_traffic (
    model   text NOT NULL,
    version int NOT NULL,
    hour    timestamptz NOT NULL,
    calls   bigint NOT NULL,
    logged  bigint NOT NULL,
    dropped bigint NOT NULL,
    PRIMARY KEY (model, version, hour)
);
COMMENT ON TABLE mlsys.online_traffic IS
'Online calls of models that log, per model, version and hour (UTC): calls made, records logged, and sampled calls dropped before reaching the ring''s writers; maintained by the log writer workers.';
SELECT pg_catalog.pg_extension_config_dump('mlsys.online_traffic', '');
REVOKE ALL ON mlsys.online_traffic FROM PUBLIC;
GRANT SELECT ON mlsys.online_traffic TO mlsys_reader;
GRANT ALL ON mlsys.online_traffic TO mlsys_admin;

CREATE OR REPLACE VIEW mlsys.prediction_stats WITH (security_invoker = true) AS
SELECT d.*,
       -- the online calls the day's logged rows were sampled from, and the sampled ones dropped
       (SELECT sum(o.calls) FROM mlsys.online_traffic o
         WHERE o.model = d.model AND o.version = d.version
           AND date_trunc('day', o.hour AT TIME ZONE 'UTC') = d.day) AS online_calls,
       (SELECT sum(o.dropped) FROM mlsys.online_traffic o
         WHERE o.model = d.model AND o.version = d.version
           AND date_trunc('day', o.hour AT TIME ZONE 'UTC') = d.day) AS online_dropped
  FROM (
SELECT s.model, s.version, date_trunc('day', s.predicted_at AT TIME ZONE 'UTC') AS day,
       count(*) AS predictions,
       avg(coalesce(s.probability, s.prediction)) AS mean_prediction,
       avg(CASE WHEN s.predicted_label IS NULL THEN NULL
                WHEN mlsys._is_positive(s.predicted_label, s.positive_class, s.target_type)
                THEN 1.0 ELSE 0.0 END) FILTER (WHERE s.task = 'binary') AS positive_rate,
       count(s.label) AS labeled,
       -- one live metric per task, as mlsys.performance and mlsys.model_overview have it
       CASE s.task WHEN 'regression' THEN 'rmse' WHEN 'binary' THEN 'auc' WHEN 'multiclass' THEN 'accuracy' END AS live_metric,
       -- the cast sits inside the argument: the aggregate is computed over every row
       -- whatever the CASE branch, and a classifier's labels are not numbers
       CASE s.task WHEN 'regression' THEN mlsys.rmse(s.prediction, CASE WHEN s.task = 'regression' THEN s.label::float8 END)
                   WHEN 'binary' THEN CASE WHEN bool_or(s.pos) AND bool_or(NOT s.pos)
                                           THEN mlsys.auc(s.probability, s.pos) FILTER (WHERE s.pos IS NOT NULL) END
                   ELSE mlsys.accuracy(s.predicted_label, s.label) END AS live_value,
       count(*) FILTER (WHERE s.source = 'online') AS online,
       count(*) FILTER (WHERE s.source = 'batch') AS batch
  FROM (SELECT p.model, p.version, p.predicted_at, p.prediction, p.probability, p.predicted_label, p.label,
               p.source, m.task, v.hyperparams ->> 'positive_class' AS positive_class, v.target_type,
               CASE WHEN m.task = 'binary' AND p.label IS NOT NULL
                    THEN mlsys._is_positive(p.label, v.hyperparams ->> 'positive_class', v.target_type) END AS pos
          FROM mlsys.predictions p
          JOIN mlsys.models m ON m.model = p.model
          JOIN mlsys.model_versions v ON v.model = p.model AND v.version = p.version) s
 GROUP BY s.model, s.version, date_trunc('day', s.predicted_at AT TIME ZONE 'UTC'), s.task) d;
COMMENT ON VIEW mlsys.prediction_stats IS
'Per model, version and UTC day (a timestamp without time zone): predictions, mean prediction (probability of the positive class for binary models), positive rate, labeled count and the task''s live metric (rmse for regression, auc for binary, accuracy for multiclass), as mlsys.performance computes it; online (sampled, logged) and batch predictions side by side, with the online calls they were sampled from and the sampled calls dropped (mlsys.online_traffic).';

-- the latest prediction of each entity: what a dashboard or an application
-- looks up per customer
CREATE VIEW mlsys.latest_predictions WITH (security_invoker = true) AS
SELECT DISTINCT ON (p.model, p.entity_id)
       p.model, p.entity_id, p.version, p.prediction, p.predicted_label, p.probability, p.predicted_at,
       p.run_id, p.id
  FROM mlsys.predictions p
 ORDER BY p.model, p.entity_id, p.predicted_at DESC, p.id DESC;
COMMENT ON VIEW mlsys.latest_predictions IS
'The latest prediction of each (model, entity): version, prediction, label, probability, when, and its run and row id.';
REVOKE ALL ON mlsys.latest_predictions FROM PUBLIC;
GRANT SELECT ON mlsys.latest_predictions TO mlsys_reader;
GRANT ALL ON mlsys.latest_predictions TO mlsys_admin;

------------------------------------------------------------------------------
-- Feedback on recommendations: impressions, mlsys.record_interactions and
-- click-through as a recommender's live metric
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

CREATE OR REPLACE FUNCTION mlsys.record_interactions(model text, relation regclass, user_column text DEFAULT 'user_id',
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

CREATE OR REPLACE FUNCTION mlsys.performance(model text, bucket interval DEFAULT '1 day', since timestamptz DEFAULT NULL)
RETURNS TABLE (bucket_start timestamptz, version int, predictions bigint, labeled bigint,
               metric text, value float8, baseline float8, degraded bool)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_task text;
BEGIN
    IF performance.model IS NULL OR performance.bucket IS NULL THEN
        RAISE EXCEPTION 'model and bucket must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF performance.bucket <= interval '0' THEN
        RAISE EXCEPTION 'bucket must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.task INTO v_task FROM mlsys.models m WHERE m.model = performance.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', performance.model USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM mlsys._check_model_access(performance.model);
    -- a recommender's live metric is the click-through of its impressions
    IF v_task LIKE 'recommender%' THEN
        RETURN QUERY SELECT * FROM mlsys._ctr_performance(performance.model, performance.bucket, performance.since);
        RETURN;
    END IF;
    RETURN QUERY
    WITH p AS (
        SELECT pg_catalog.date_bin(performance.bucket, pr.predicted_at, timestamptz '2000-01-01 00:00:00+00') AS b,
               pr.version AS v, pr.prediction, pr.probability, pr.predicted_label, pr.label,
               CASE WHEN v_task = 'binary'
                    THEN mlsys._is_positive(pr.label, mv.hyperparams ->> 'positive_class', mv.target_type) END AS pos
          FROM mlsys.predictions pr
          JOIN mlsys.model_versions mv ON mv.model = pr.model AND mv.version = pr.version
         WHERE pr.model = performance.model
           AND (performance.since IS NULL OR pr.predicted_at >= performance.since)
    ), g AS (
        SELECT p.b, p.v, pg_catalog.count(*) AS n, pg_catalog.count(p.label) AS nl,
               pg_catalog.count(*) FILTER (WHERE p.pos) AS npos,
               pg_catalog.count(*) FILTER (WHERE NOT p.pos) AS nneg,
               -- the cast sits inside the argument: an aggregate in a CASE branch is
               -- computed over every row whatever the branch (and under a generic
               -- plan v_task is not folded), so text labels must never reach it
               CASE v_task WHEN 'regression' THEN mlsys.rmse(p.prediction, CASE WHEN v_task = 'regression' THEN p.label::float8 END)
                           WHEN 'multiclass' THEN mlsys.accuracy(p.predicted_label, p.label) END AS val
          FROM p GROUP BY p.b, p.v
    )
    SELECT g.b, g.v, g.n, g.nl, x.metric, x.value,
           (mv.metrics ->> x.metric)::float8,
           mlsys._degraded(performance.model, x.metric, x.value, (mv.metrics ->> x.metric)::float8)
      FROM g
      JOIN mlsys.model_versions mv ON mv.model = performance.model AND mv.version = g.v
     CROSS JOIN LATERAL (
        SELECT CASE v_task WHEN 'regression' THEN 'rmse' WHEN 'binary' THEN 'auc' ELSE 'accuracy' END AS metric,
               CASE WHEN v_task <> 'binary' THEN g.val
                    WHEN g.npos > 0 AND g.nneg > 0 THEN
                        (SELECT mlsys.auc(p.probability, p.pos) FROM p
                          WHERE p.b = g.b AND p.v = g.v AND p.pos IS NOT NULL) END AS value
     ) x
     ORDER BY g.b, g.v;
END $$;
COMMENT ON FUNCTION mlsys.performance(text, interval, timestamptz) IS
'Live primary metric per time bucket and version from labeled predictions (rmse for regression, auc for binary, accuracy for multiclass), against the holdout value recorded at training, or for a recommender the click-through of its impressions (ctr) against the version''s first window; degraded per mlsys.configure''s tolerance and auc_drop.';

COMMENT ON FUNCTION mlsys._degradation_limit(text, text, float8) IS
'Degradation rule: the limit is baseline*(1 + tolerance) for rmse and log_loss (lower is better), baseline - auc_drop for auc, baseline*(1 - tolerance) for accuracy and ctr (internal).';

CREATE OR REPLACE FUNCTION mlsys.drop_model(model text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM mlsys._lock_model(drop_model.model);
    PERFORM mlsys._require_model_privilege(drop_model.model, 'manage');
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
        PERFORM mlsys.unschedule(drop_model.model);
    END IF;
    DELETE FROM mlsys.retrain_decisions d WHERE d.model = drop_model.model;
    DELETE FROM mlsys.training_runs r WHERE r.model = drop_model.model;
    DELETE FROM mlsys.predictions p WHERE p.model = drop_model.model;
    DELETE FROM mlsys.impressions i WHERE i.model = drop_model.model;
    DELETE FROM mlsys.online_traffic o WHERE o.model = drop_model.model;
    DELETE FROM mlsys.prediction_runs p WHERE p.model = drop_model.model;
    DELETE FROM mlsys.tuning_trials t WHERE t.model = drop_model.model;
    DELETE FROM mlsys.deployments d WHERE d.model = drop_model.model;
    DELETE FROM mlsys.models m WHERE m.model = drop_model.model;   -- cascades to its versions
END $$;
COMMENT ON FUNCTION mlsys.drop_model(text) IS
'Removes a model with its versions, deployments, training runs, retrain decisions, tuning trials, predictions, impressions, online traffic counts and pg_cron schedules; needs manage on the model.';

-- grants as the install script gives them (90_security.sql)
REVOKE ALL ON TABLE mlsys.impressions FROM PUBLIC;
GRANT SELECT ON mlsys.impressions TO mlsys_reader;
GRANT UPDATE (clicked) ON mlsys.impressions TO mlsys_reader;
GRANT ALL ON TABLE mlsys.impressions TO mlsys_admin;
REVOKE ALL ON SEQUENCE mlsys.impressions_id_seq FROM PUBLIC;
GRANT ALL ON SEQUENCE mlsys.impressions_id_seq TO mlsys_admin;
REVOKE EXECUTE ON FUNCTION
    mlsys.record_interactions(text, regclass, text, text, text),
    mlsys._ctr_performance(text, interval, timestamptz)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    mlsys.record_interactions(text, regclass, text, text, text),
    mlsys._ctr_performance(text, interval, timestamptz)
TO mlsys_reader;

------------------------------------------------------------------------------
-- Model owners: the role that created a model (its first training or
-- import) owns it; existing models get their creator
------------------------------------------------------------------------------
ALTER TABLE mlsys.models ADD COLUMN owner regrole;
-- "serve" and the rest of a model's settings, and its owner (who may use a
-- private model), reach every backend's model cache as deployments do
CREATE TRIGGER registry_changed AFTER UPDATE OF settings, owner OR DELETE ON mlsys.models
    FOR EACH STATEMENT EXECUTE FUNCTION mlsys._registry_changed();
UPDATE mlsys.models m
   SET owner = COALESCE(pg_catalog.to_regrole(pg_catalog.quote_ident(m.created_by)),
                        (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'mlsys')::regrole);
ALTER TABLE mlsys.models ALTER COLUMN owner SET NOT NULL;
COMMENT ON COLUMN mlsys.models.owner IS 'The role that owns the model: the one that created it (its first training or import), or the one mlsys.set_owner named.';

CREATE OR REPLACE FUNCTION mlsys._stamp_creator() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_outer name := mlsys._outer_user();
BEGIN
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'deployments' THEN
        IF NEW.deployed_by OPERATOR(pg_catalog.=) CURRENT_USER THEN
            NEW.deployed_by := v_outer;
        END IF;
    ELSIF NEW.created_by OPERATOR(pg_catalog.=) CURRENT_USER THEN
        NEW.created_by := v_outer;
    END IF;
    -- a new model belongs to the role that created it (only models have an owner)
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'models' THEN
        IF NEW.owner IS NULL THEN
            NEW.owner := pg_catalog.to_regrole(pg_catalog.quote_ident(v_outer));
        END IF;
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION mlsys._stamp_creator() IS 'Trigger: records the acting role in created_by / deployed_by, and as the owner of a new model (internal).';

-- A model's owner may give it away; admins may give any model to anyone.
-- Owners are not admins and cannot write mlsys.models: this runs as the
-- extension's owner and checks the acting role itself.
CREATE OR REPLACE FUNCTION mlsys.set_owner(model text, role regrole) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_owner regrole;
    v_outer name := mlsys._outer_user();
BEGIN
    IF set_owner.model IS NULL OR set_owner.role IS NULL THEN
        RAISE EXCEPTION 'model and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT m.owner INTO v_owner FROM mlsys.models m WHERE m.model OPERATOR(pg_catalog.=) set_owner.model FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', set_owner.model USING ERRCODE = 'undefined_object';
    END IF;
    -- members of the owning role count as the owner; a dropped owner leaves it to admins
    IF NOT mlsys._has_model_privilege(set_owner.model, v_outer, 'manage') THEN
        RAISE EXCEPTION 'permission denied to change the owner of model "%"', set_owner.model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Model "%s" is owned by %s; only its owner, members of mlsys_admin and roles granted manage on it may give it to another role.',
                                             set_owner.model, v_owner),
                  HINT = 'Ask the owner or a member of mlsys_admin.';
    END IF;
    UPDATE mlsys.models m SET owner = set_owner.role WHERE m.model OPERATOR(pg_catalog.=) set_owner.model;
END $$;
COMMENT ON FUNCTION mlsys.set_owner(text, regrole) IS
'Gives a model to another role; allowed to the owner (and members of the owning role), roles granted manage on it, and mlsys_admin.';
REVOKE EXECUTE ON FUNCTION mlsys.set_owner(text, regrole) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys.set_owner(text, regrole) TO mlsys_trainer;

CREATE OR REPLACE VIEW mlsys.model_overview WITH (security_invoker = true) AS
SELECT m.model, m.task,
       d.version AS deployed_version,
       v.algorithm,
       v.created_at AS trained_at,
       v.train_rows,
       v.metrics AS holdout_metrics,
       (SELECT max(h.checked_at) FROM mlsys.drift_history h WHERE h.model = m.model) AS last_check_at,
       (SELECT count(*) FROM mlsys.alerts a WHERE a.model = m.model AND a.resolved_at IS NULL) AS open_alerts,
       lh.metric AS live_metric,
       lh.value AS live_value,
       coalesce((m.settings ->> 'log_sample')::float8, 0) AS log_sample,
       (SELECT count(*) FROM mlsys.predictions p WHERE p.model = m.model AND p.source = 'online'
           AND p.predicted_at >= now() - interval '1 day') AS online_predictions_1d,
       (SELECT count(*) FROM mlsys.predictions p WHERE p.model = m.model AND p.source = 'batch'
           AND p.predicted_at >= now() - interval '1 day') AS batch_predictions_1d,
       (SELECT coalesce(sum(o.calls), 0) FROM mlsys.online_traffic o WHERE o.model = m.model
           AND o.hour >= now() - interval '1 day') AS online_calls_1d,
       (SELECT coalesce(sum(o.dropped), 0) FROM mlsys.online_traffic o WHERE o.model = m.model
           AND o.hour >= now() - interval '1 day') AS online_dropped_1d
  FROM mlsys.models m
  LEFT JOIN LATERAL (SELECT dd.version FROM mlsys.deployments dd WHERE dd.model = m.model
                      ORDER BY dd.id DESC LIMIT 1) d ON true
  LEFT JOIN mlsys.model_versions v ON v.model = m.model AND v.version = d.version
  -- the live figure of the deployed version only: a newer deployment shows NULL until checked
  LEFT JOIN LATERAL (SELECT h.metric, h.value FROM mlsys.drift_history h
                      WHERE h.model = m.model AND h.feature = '<performance>' AND h.version = d.version
                      ORDER BY h.checked_at DESC, h.id DESC LIMIT 1) lh ON true;
COMMENT ON VIEW mlsys.model_overview IS
'One row per model: deployed version, algorithm, trained at, training rows, holdout metrics, last check time, open alerts, latest live metric of the deployed version (from mlsys.check), its online logging sample rate, its online (logged) and batch predictions of the last day, and the online calls and dropped samples of the last day (mlsys.online_traffic, by the hour).';

CREATE OR REPLACE FUNCTION mlsys.drift(model text, relation regclass DEFAULT NULL, version int DEFAULT NULL)
RETURNS TABLE (feature text, kind text, rows bigint, null_rate float8, psi float8, ks float8,
               wasserstein float8, js float8, linf float8, metric text, value float8,
               threshold float8, drifted bool)
AS 'MODULE_PATHNAME', 'drift_report' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys.drift(text, regclass, int) IS
'Compares a relation (NULL: the model''s logged online traffic over its window, default 1 day) with a version''s baseline (NULL: the live version) in one pass: one row per profiled feature and one for the prediction; metric, value and threshold decide drifted (defaults: psi >= 0.2 numeric, js >= 0.1 categorical; see mlsys.configure).';

CREATE FUNCTION mlsys._logging_available() RETURNS bool
    AS 'MODULE_PATHNAME', 'logging_available' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._logging_available() IS
'Whether online logging can run in this server: mlsys is in shared_preload_libraries (internal).';

CREATE FUNCTION mlsys._logging_stats() RETURNS TABLE (logged bigint, dropped bigint, pending bigint)
    AS 'MODULE_PATHNAME', 'logging_stats' LANGUAGE C VOLATILE PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION mlsys._logging_stats() IS 'The online logging counters of the server since it started (internal; see mlsys.logging_stats).';
REVOKE EXECUTE ON FUNCTION mlsys._logging_available(), mlsys._logging_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._logging_available(), mlsys._logging_stats() TO mlsys_reader;

CREATE VIEW mlsys.logging_stats AS
SELECT s.logged, s.dropped, s.pending FROM mlsys._logging_stats() s;
COMMENT ON VIEW mlsys.logging_stats IS
'Online logging since the server started, all databases: records stored by the writers (logged), dropped (ring full, hot standby, database gone, writer failure) and waiting (pending). Every sampled call is in exactly one.';
REVOKE ALL ON mlsys.logging_stats FROM PUBLIC;
GRANT SELECT ON mlsys.logging_stats TO mlsys_reader;
GRANT ALL ON mlsys.logging_stats TO mlsys_admin;

CREATE OR REPLACE FUNCTION mlsys._authorize_deployment(p_model text, p_version int) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM mlsys._require_model_privilege(p_model, 'deploy');
END $$;
COMMENT ON FUNCTION mlsys._authorize_deployment(text, int) IS 'Raises insufficient_privilege unless the acting role holds the deploy privilege on the model (internal).';

CREATE OR REPLACE FUNCTION mlsys._register_version(
    p_model text, p_task text, p_algorithm text, p_hyperparams jsonb, p_relation text,
    p_target text, p_feature_columns text[], p_feature_lengths int[], p_features text[],
    p_test_size float8, p_seed int, p_metrics jsonb, p_train_rows bigint, p_test_rows bigint,
    p_training_seconds float8, p_fingerprint text, p_params bytea, p_profile jsonb, p_deploy text,
    p_classes text[], p_target_type text,
    OUT o_version int, OUT o_deployed bool)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_task text;
    v_live_metrics jsonb;
    v_metric text;
    v_lower bool;
    v_new float8;
    v_old float8;
BEGIN
    INSERT INTO mlsys.models (model, task) VALUES (p_model, p_task) ON CONFLICT (model) DO NOTHING;
    -- the row lock serializes concurrent trainings of one model: distinct version numbers
    UPDATE mlsys.models m SET last_version = m.last_version + 1
     WHERE m.model = p_model RETURNING m.last_version, m.task INTO o_version, v_task;
    -- a new model is the acting role's; another's needs the train privilege on it
    PERFORM mlsys._require_model_privilege(p_model, 'train');
    IF v_task <> p_task THEN
        RAISE EXCEPTION 'model "%" is a % model, not %', p_model, v_task, p_task
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Train under another model name.';
    END IF;
    INSERT INTO mlsys.model_versions (model, version, algorithm, hyperparams, relation, target,
        feature_columns, feature_lengths, features, test_size, seed, metrics, train_rows, test_rows,
        training_seconds, data_fingerprint, params, profile, classes, target_type,
        extension_version, server_version)
    VALUES (p_model, o_version, p_algorithm, p_hyperparams, p_relation, p_target,
        p_feature_columns, p_feature_lengths, p_features, p_test_size, p_seed, p_metrics,
        p_train_rows, p_test_rows, p_training_seconds, p_fingerprint, p_params, p_profile,
        p_classes, p_target_type,
        (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'mlsys'),
        pg_catalog.current_setting('server_version'));

    o_deployed := false;
    IF p_deploy = 'most_recent' OR (p_deploy = 'best_score' AND p_test_size = 0) THEN
        o_deployed := true;
    ELSIF p_deploy = 'best_score' THEN
        SELECT v.metrics INTO v_live_metrics
          FROM mlsys.deployments d
          JOIN mlsys.model_versions v ON v.model = d.model AND v.version = d.version
         WHERE d.model = p_model ORDER BY d.id DESC LIMIT 1;
        SELECT pm.metric, pm.lower_is_better INTO v_metric, v_lower FROM mlsys._primary_metric(p_task) pm;
        v_new := (p_metrics ->> v_metric)::float8;
        v_old := (v_live_metrics ->> v_metric)::float8;
        o_deployed := v_live_metrics IS NULL OR v_old IS NULL
                      OR (v_lower AND v_new < v_old) OR (NOT v_lower AND v_new > v_old);
    END IF;
    IF o_deployed THEN
        PERFORM mlsys._insert_deployment(p_model, o_version, p_deploy);
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._register_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, text, text[], text) IS
'Inserts a trained version and, per the deploy policy, a deployment (internal; called by mlsys.train).';

CREATE OR REPLACE FUNCTION mlsys._import_version(
    p_model text, p_task text, p_algorithm text, p_hyperparams jsonb, p_relation text,
    p_target text, p_feature_columns text[], p_feature_lengths int[], p_features text[],
    p_test_size float8, p_seed int, p_metrics jsonb, p_train_rows bigint, p_test_rows bigint,
    p_training_seconds float8, p_fingerprint text, p_params bytea, p_profile jsonb,
    p_preprocessing jsonb, p_classes text[], p_target_type text,
    p_extension_version text, p_server_version text)
RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_version int;
    v_task text;
BEGIN
    IF p_model IS NULL THEN
        RAISE EXCEPTION 'model must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    INSERT INTO mlsys.models (model, task) VALUES (p_model, p_task) ON CONFLICT (model) DO NOTHING;
    -- the row lock serializes concurrent registrations of one model: distinct version numbers
    UPDATE mlsys.models m SET last_version = m.last_version + 1
     WHERE m.model = p_model RETURNING m.last_version, m.task INTO v_version, v_task;
    PERFORM mlsys._require_model_privilege(p_model, 'train');
    IF v_task <> p_task THEN
        RAISE EXCEPTION 'model "%" is a % model, the document holds a % model', p_model, v_task, p_task
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Import it under another model name.';
    END IF;
    -- logged in mlsys.training_runs as kind 'import' (mlsys._log_training_run)
    PERFORM pg_catalog.set_config('mlsys.run_id', 'import', true);
    INSERT INTO mlsys.model_versions (model, version, algorithm, hyperparams, relation, target,
        feature_columns, feature_lengths, features, test_size, seed, metrics, train_rows, test_rows,
        training_seconds, data_fingerprint, params, profile, preprocessing, classes, target_type,
        extension_version, server_version)
    VALUES (p_model, v_version, p_algorithm, p_hyperparams, p_relation, p_target,
        p_feature_columns, p_feature_lengths, p_features, p_test_size, p_seed, p_metrics,
        p_train_rows, p_test_rows, p_training_seconds, p_fingerprint, p_params, p_profile,
        p_preprocessing, p_classes, p_target_type, p_extension_version, p_server_version);
    PERFORM pg_catalog.set_config('mlsys.run_id', '', true);
    IF NOT EXISTS (SELECT 1 FROM mlsys.deployments d WHERE d.model = p_model) THEN
        PERFORM mlsys._insert_deployment(p_model, v_version, 'import');
    END IF;
    RETURN v_version;
END $$;
COMMENT ON FUNCTION mlsys._import_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, jsonb, text[], text, text, text) IS
'Inserts an imported version and deploys it when the model has no live version (internal; called by mlsys.import_model).';

CREATE OR REPLACE FUNCTION mlsys.deploy(model text, version int) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_live int;
BEGIN
    IF deploy.version IS NULL THEN
        RAISE EXCEPTION 'version must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM mlsys._lock_model(deploy.model);
    PERFORM mlsys._require_model_privilege(deploy.model, 'deploy');
    PERFORM 1 FROM mlsys.model_versions v WHERE v.model = deploy.model AND v.version = deploy.version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of model "%" does not exist', deploy.version, deploy.model
            USING ERRCODE = 'undefined_object';
    END IF;
    SELECT d.version INTO v_live FROM mlsys.deployments d
     WHERE d.model = deploy.model ORDER BY d.id DESC LIMIT 1;
    IF v_live = deploy.version THEN
        RAISE NOTICE 'version % of model "%" is already live', deploy.version, deploy.model;
        RETURN;
    END IF;
    PERFORM mlsys._insert_deployment(deploy.model, deploy.version, 'manual');
END $$;
COMMENT ON FUNCTION mlsys.deploy(text, int) IS 'Makes a version the live version of its model (recorded in mlsys.deployments).';

CREATE OR REPLACE FUNCTION mlsys.rollback(model text) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_cur mlsys.deployments;
    v_prev mlsys.deployments;
BEGIN
    PERFORM mlsys._lock_model(rollback.model);
    PERFORM mlsys._require_model_privilege(rollback.model, 'deploy');
    SELECT * INTO v_cur FROM mlsys.deployments d
     WHERE d.model = rollback.model ORDER BY d.id DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no deployed version', rollback.model
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT * INTO v_prev FROM mlsys.deployments d WHERE d.id = v_cur.previous_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no earlier deployment to roll back to', rollback.model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('Version %s is the first deployment on the stack.', v_cur.version);
    END IF;
    -- the restored deployment sits on what the earlier one sat on: rollbacks walk back
    INSERT INTO mlsys.deployments (model, version, reason, previous_id)
    VALUES (rollback.model, v_prev.version, 'rollback', v_prev.previous_id);
    RETURN v_prev.version;
END $$;
COMMENT ON FUNCTION mlsys.rollback(text) IS 'Redeploys the version that was live before the current deployment; repeated calls walk further back. Returns the version now live.';

-- Per-model privileges: train, deploy, manage and score, granted with
-- mlsys.grant; owners and admins hold them all
CREATE TABLE mlsys.model_grants (
    model      text NOT NULL REFERENCES mlsys.models (model) ON DELETE CASCADE,
    role       regrole NOT NULL,
    privilege  text NOT NULL CHECK (privilege IN ('train', 'deploy', 'manage', 'score')),
    granted_by name NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, role, privilege)
);
COMMENT ON TABLE mlsys.model_grants IS 'Privileges on models granted with mlsys.grant (owners and mlsys_admin hold every privilege without a row).';
SELECT pg_catalog.pg_extension_config_dump('mlsys.model_grants', '');
-- a grant or revoke reaches every backend's answers about private models
CREATE TRIGGER registry_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mlsys.model_grants
    FOR EACH STATEMENT EXECUTE FUNCTION mlsys._registry_changed();
REVOKE ALL ON mlsys.model_grants FROM PUBLIC;
GRANT SELECT ON mlsys.model_grants TO mlsys_reader;
GRANT ALL ON mlsys.model_grants TO mlsys_admin;

CREATE VIEW mlsys.model_privileges AS
SELECT g.model, g.role, g.privilege, g.granted_by, g.granted_at FROM mlsys.model_grants g;
COMMENT ON VIEW mlsys.model_privileges IS
'Privileges granted on models (model, role, privilege, granted_by, granted_at); owners and members of mlsys_admin hold every privilege without a row.';
REVOKE ALL ON mlsys.model_privileges FROM PUBLIC;
GRANT SELECT ON mlsys.model_privileges TO mlsys_reader;
GRANT ALL ON mlsys.model_privileges TO mlsys_admin;

CREATE FUNCTION mlsys._has_model_privilege(p_model text, p_role name, p_privilege text) RETURNS bool
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.pg_has_role(p_role, 'mlsys_admin', 'MEMBER')
        OR EXISTS (SELECT 1 FROM mlsys.models m JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.owner::oid
                    WHERE m.model OPERATOR(pg_catalog.=) p_model
                      AND pg_catalog.pg_has_role(p_role, r.oid, 'MEMBER'))
        OR EXISTS (SELECT 1 FROM mlsys.model_grants g JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::oid
                    WHERE g.model OPERATOR(pg_catalog.=) p_model
                      AND (g.privilege OPERATOR(pg_catalog.=) p_privilege OR p_privilege OPERATOR(pg_catalog.=) 'score')
                      AND pg_catalog.pg_has_role(p_role, r.oid, 'MEMBER'))
$$;
COMMENT ON FUNCTION mlsys._has_model_privilege(text, name, text) IS
'Whether a role holds a privilege on a model: as a member of its owner or of mlsys_admin, or through mlsys.grant; any granted privilege includes score (internal).';

CREATE FUNCTION mlsys._require_model_privilege(p_model text, p_privilege text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_outer name := mlsys._outer_user();
BEGIN
    IF mlsys._has_model_privilege(p_model, v_outer, p_privilege) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'permission denied for model "%"', p_model
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = pg_catalog.format('This needs the %s privilege on model "%s", whose owner is %s.', p_privilege, p_model,
                                         (SELECT m.owner FROM mlsys.models m WHERE m.model OPERATOR(pg_catalog.=) p_model)),
              HINT = pg_catalog.format('The owner or a member of mlsys_admin can grant it: SELECT mlsys.grant(%L, %L, %L);',
                                       p_model, v_outer, p_privilege);
END $$;
COMMENT ON FUNCTION mlsys._require_model_privilege(text, text) IS
'Raises insufficient_privilege, naming the model, the privilege and the owner, unless the acting role holds it (internal).';

CREATE FUNCTION mlsys._change_model_privilege(p_model text, p_role regrole, p_privilege text, p_grant bool)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_outer name := mlsys._outer_user();
    v_owner regrole;
BEGIN
    IF p_model IS NULL OR p_role IS NULL OR p_privilege IS NULL THEN
        RAISE EXCEPTION 'model, role and privilege must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_privilege NOT IN ('train', 'deploy', 'manage', 'score') THEN
        RAISE EXCEPTION 'unrecognized model privilege "%"', p_privilege
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The privileges on a model are train, deploy, manage and score.';
    END IF;
    SELECT m.owner INTO v_owner FROM mlsys.models m WHERE m.model OPERATOR(pg_catalog.=) p_model FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', p_model USING ERRCODE = 'undefined_object';
    END IF;
    -- manage itself is the owner's (or an admin's) to give
    IF NOT (pg_catalog.pg_has_role(v_outer, 'mlsys_admin', 'MEMBER')
            OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                        WHERE r.oid OPERATOR(pg_catalog.=) v_owner::oid
                          AND pg_catalog.pg_has_role(v_outer, r.oid, 'MEMBER'))
            OR (p_privilege OPERATOR(pg_catalog.<>) 'manage'
                AND mlsys._has_model_privilege(p_model, v_outer, 'manage'))) THEN
        RAISE EXCEPTION 'permission denied to % % on model "%"',
                        CASE WHEN p_grant THEN 'grant' ELSE 'revoke' END, p_privilege, p_model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Model "%s" is owned by %s; %s.', p_model, v_owner,
                                             CASE WHEN p_privilege OPERATOR(pg_catalog.=) 'manage'
                                                  THEN 'only its owner and members of mlsys_admin may change who manages it'
                                                  ELSE 'changing its train, deploy and score privileges needs the manage privilege on it' END),
                  HINT = 'Ask the owner or a member of mlsys_admin.';
    END IF;
    IF p_grant THEN
        INSERT INTO mlsys.model_grants (model, role, privilege, granted_by)
        VALUES (p_model, p_role, p_privilege, v_outer)
        ON CONFLICT (model, role, privilege) DO NOTHING;
    ELSE
        DELETE FROM mlsys.model_grants g
         WHERE g.model OPERATOR(pg_catalog.=) p_model AND g.role OPERATOR(pg_catalog.=) p_role
           AND g.privilege OPERATOR(pg_catalog.=) p_privilege;
        IF NOT FOUND THEN
            RAISE NOTICE 'role % has no % privilege on model "%" to revoke', p_role, p_privilege, p_model;
        END IF;
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._change_model_privilege(text, regrole, text, bool) IS
'The work of mlsys.grant and mlsys.revoke, with the acting role''s right to do it checked (internal).';

CREATE FUNCTION mlsys.grant(model text, role regrole, privilege text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT mlsys._change_model_privilege($1, $2, $3, true)
$$;
COMMENT ON FUNCTION mlsys.grant(text, regrole, text) IS
'Grants a privilege on a model to a role: train (add versions), deploy (deploy, rollback, deploy policies, retrain''s deployment), manage (configure, set_owner, grant and revoke train, deploy and score) or score (use and read a private model; every other privilege includes it). Allowed to the owner and mlsys_admin, and except for manage to roles granted manage.';

CREATE FUNCTION mlsys.revoke(model text, role regrole, privilege text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT mlsys._change_model_privilege($1, $2, $3, false)
$$;
COMMENT ON FUNCTION mlsys.revoke(text, regrole, text) IS
'Revokes a privilege on a model granted with mlsys.grant (a NOTICE when the role did not hold it); allowed to whoever may grant it.';
REVOKE EXECUTE ON FUNCTION mlsys._has_model_privilege(text, name, text),
    mlsys._require_model_privilege(text, text),
    mlsys._change_model_privilege(text, regrole, text, bool),
    mlsys.grant(text, regrole, text), mlsys.revoke(text, regrole, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._has_model_privilege(text, name, text),
    mlsys._require_model_privilege(text, text) TO mlsys_reader;
GRANT EXECUTE ON FUNCTION mlsys._change_model_privilege(text, regrole, text, bool),
    mlsys.grant(text, regrole, text), mlsys.revoke(text, regrole, text) TO mlsys_trainer;
-- the owner and roles granted deploy or manage are not admins: deploy,
-- rollback and configure check the privilege per model and are the trainers'
GRANT EXECUTE ON FUNCTION mlsys.deploy(text, int), mlsys.rollback(text),
    mlsys.configure(text, jsonb), mlsys._configure(text, jsonb, regclass) TO mlsys_trainer;
REVOKE EXECUTE ON FUNCTION mlsys.deploy(text, int), mlsys.rollback(text),
    mlsys.configure(text, jsonb), mlsys._configure(text, jsonb, regclass) FROM mlsys_admin;   -- a trainer's now

-- CREATE OR REPLACE reset these to SECURITY INVOKER
ALTER FUNCTION mlsys._register_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, text, text[], text) SECURITY DEFINER;
ALTER FUNCTION mlsys._import_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, jsonb, text[], text, text, text) SECURITY DEFINER;
ALTER FUNCTION mlsys.rollback(text) SECURITY DEFINER;
ALTER FUNCTION mlsys._configure(text, jsonb, regclass) SECURITY DEFINER;

-- scheduling is a trainer's with manage on the model: the job runs as that
-- role, with its privileges on the model each time it runs
GRANT EXECUTE ON FUNCTION mlsys.schedule(text, text, text), mlsys.unschedule(text, text),
    mlsys._run_job(text, text) TO mlsys_trainer;
REVOKE EXECUTE ON FUNCTION mlsys.schedule(text, text, text), mlsys.unschedule(text, text),
    mlsys._run_job(text, text) FROM mlsys_admin;

-- Private models ("private": true in mlsys.configure). Their rows in the
-- registry and monitoring tables are visible only to roles that may score
-- them (row-level security below, evaluated once per query through an
-- InitPlan); scoring, explain, export and reproduce check the same right
-- and raise insufficient_privilege. The model's name, owner, settings and
-- grants stay visible. The role checked is the current user: the rights of
-- whoever runs the query, as for table privileges.
CREATE FUNCTION mlsys._hidden_models() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT COALESCE(pg_catalog.array_agg(m.model), '{}'::text[]) FROM mlsys.models m
     WHERE m.settings OPERATOR(pg_catalog.@>) '{"private": true}'::jsonb
       AND NOT mlsys._has_model_privilege(m.model, CURRENT_USER, 'score')
$$;
COMMENT ON FUNCTION mlsys._hidden_models() IS
'The private models the current user may not score, whose registry rows row-level security hides (internal).';

CREATE FUNCTION mlsys._check_model_access(p_model text) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_owner regrole;
BEGIN
    SELECT m.owner INTO v_owner FROM mlsys.models m
     WHERE m.model OPERATOR(pg_catalog.=) p_model AND m.settings OPERATOR(pg_catalog.@>) '{"private": true}'::jsonb;
    IF FOUND AND NOT mlsys._has_model_privilege(p_model, CURRENT_USER, 'score') THEN
        RAISE EXCEPTION 'permission denied for model "%"', p_model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Model "%s" is private: using or reading it needs the score privilege on it, and its owner is %s.',
                                             p_model, v_owner),
                  HINT = pg_catalog.format('The owner or a role granted manage on it can grant it: SELECT mlsys.grant(%L, %L, %L);',
                                           p_model, CURRENT_USER, 'score');
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._check_model_access(text) IS
'Raises insufficient_privilege when the model is private and the current user may not score it (internal).';
REVOKE EXECUTE ON FUNCTION mlsys._hidden_models(), mlsys._check_model_access(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._hidden_models(), mlsys._check_model_access(text) TO mlsys_reader;

-- Row-level security for private models on every table with a model column
-- but mlsys.models and mlsys.model_grants (names, owners and grants stay
-- visible): a RESTRICTIVE policy, so that it applies on top of whatever the
-- table's owner grants (for example tenants' policies on mlsys.predictions,
-- which must be restrictive too), and a permissive one that grants the rest.
-- A table whose owner had already enabled row-level security keeps its own
-- permissive policies as the only ones. The extension's owner, which the
-- SECURITY DEFINER functions and the log writers run as, is not subject to
-- any of them.
DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['model_versions', 'deployments', 'prediction_runs', 'predictions',
                                   'tuning_trials', 'recommendations', 'baselines', 'alerts', 'drift_history',
                                   'online_traffic', 'impressions', 'training_runs', 'retrain_decisions',
                                   'explain_samples'] LOOP
        IF NOT (SELECT c.relrowsecurity FROM pg_catalog.pg_class c
                 WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.format('mlsys.%I', v_table)::pg_catalog.regclass) THEN
            EXECUTE pg_catalog.format('ALTER TABLE mlsys.%I ENABLE ROW LEVEL SECURITY', v_table);
            EXECUTE pg_catalog.format('CREATE POLICY mlsys_access ON mlsys.%I USING (true)', v_table);
        END IF;
        EXECUTE pg_catalog.format('CREATE POLICY private_models ON mlsys.%I AS RESTRICTIVE '
                                  'USING (NOT (model OPERATOR(pg_catalog.=) ANY ((SELECT mlsys._hidden_models())::text[])))', v_table);
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION mlsys.prune_versions(model text, keep int) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_live int;
    v_skipped int[];
    v_count int;
BEGIN
    IF prune_versions.keep IS NULL OR prune_versions.keep < 0 THEN
        RAISE EXCEPTION 'keep must be a non-negative number of versions' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM mlsys._lock_model(prune_versions.model);
    PERFORM mlsys._require_model_privilege(prune_versions.model, 'manage');
    SELECT d.version INTO v_live FROM mlsys.deployments d
     WHERE d.model = prune_versions.model ORDER BY d.id DESC LIMIT 1;
    -- candidates: all but the newest `keep` and the live one; versions named by
    -- a deployment (the rollback stack and its history) are skipped
    WITH candidates AS (
        SELECT v.version FROM mlsys.model_versions v
         WHERE v.model = prune_versions.model AND v.version IS DISTINCT FROM v_live
           AND v.version NOT IN (SELECT v2.version FROM mlsys.model_versions v2
                                  WHERE v2.model = prune_versions.model
                                  ORDER BY v2.version DESC LIMIT prune_versions.keep))
    SELECT pg_catalog.array_agg(c.version ORDER BY c.version) INTO v_skipped
      FROM candidates c
     WHERE EXISTS (SELECT 1 FROM mlsys.deployments d WHERE d.model = prune_versions.model AND d.version = c.version);
    IF v_skipped IS NOT NULL THEN
        RAISE NOTICE 'kept version(s) % of model "%": referenced by its deployment history',
            pg_catalog.array_to_string(v_skipped, ', '), prune_versions.model
            USING HINT = 'Deployed versions stay so that mlsys.rollback and the history keep working; mlsys.drop_model removes everything.';
    END IF;
    DELETE FROM mlsys.model_versions v
     WHERE v.model = prune_versions.model AND v.version IS DISTINCT FROM v_live
       AND v.version NOT IN (SELECT v2.version FROM mlsys.model_versions v2
                              WHERE v2.model = prune_versions.model
                              ORDER BY v2.version DESC LIMIT prune_versions.keep)
       AND NOT EXISTS (SELECT 1 FROM mlsys.deployments d WHERE d.model = v.model AND d.version = v.version);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;
COMMENT ON FUNCTION mlsys.prune_versions(text, int) IS
'Deletes the versions of a model other than the newest `keep`, the live one and any version a deployment refers to (those are kept with a NOTICE); returns how many were deleted; needs manage on the model.';

-- dropping and pruning need manage on the model: trainers may call them, and
-- they run as the extension's owner after checking the acting role
ALTER FUNCTION mlsys.drop_model(text) SECURITY DEFINER;
ALTER FUNCTION mlsys.prune_versions(text, int) SECURITY DEFINER;
GRANT EXECUTE ON FUNCTION mlsys.drop_model(text), mlsys.prune_versions(text, int) TO mlsys_trainer;
REVOKE EXECUTE ON FUNCTION mlsys.drop_model(text), mlsys.prune_versions(text, int) FROM mlsys_admin;   -- a trainer's now

CREATE OR REPLACE FUNCTION mlsys._replicate_model(p_model text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM mlsys_replica.live l WHERE l.model OPERATOR(pg_catalog.=) p_model;
    DELETE FROM mlsys_replica.model_versions v WHERE v.model OPERATOR(pg_catalog.=) p_model;
    DELETE FROM mlsys_replica.models m WHERE m.model OPERATOR(pg_catalog.=) p_model;
    INSERT INTO mlsys_replica.models (model, settings)
    SELECT m.model, m.settings FROM mlsys.models m WHERE m.model OPERATOR(pg_catalog.=) p_model;
    IF NOT FOUND OR mlsys._setting(p_model, 'private') OPERATOR(pg_catalog.=) 'true'::jsonb THEN
        RETURN;
    END IF;
    INSERT INTO mlsys_replica.model_versions (model, version, algorithm, params, feature_columns, feature_lengths,
                                              classes, hyperparams, target_type, preprocessing, profile)
    SELECT v.model, v.version, v.algorithm, v.params, v.feature_columns, v.feature_lengths,
           v.classes, v.hyperparams, v.target_type, v.preprocessing, v.profile
      FROM mlsys.model_versions v WHERE v.model OPERATOR(pg_catalog.=) p_model;
    INSERT INTO mlsys_replica.live (model, version, deployment_id)
    SELECT d.model, d.version, d.id FROM mlsys.deployments d
     WHERE d.model OPERATOR(pg_catalog.=) p_model ORDER BY d.id DESC LIMIT 1;
END $$;
COMMENT ON FUNCTION mlsys._replicate_model(text) IS
'Copies a model''s row, versions and live version into mlsys_replica (only its row when it is private) (internal).';

CREATE OR REPLACE FUNCTION mlsys._replicate_registry() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_model text;
BEGIN
    IF pg_catalog.to_regclass('mlsys_replica.live') IS NULL THEN
        RETURN NULL;
    END IF;
    v_model := CASE WHEN TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN OLD.model ELSE NEW.model END;
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'models' THEN
        IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE'
           AND OLD.settings OPERATOR(pg_catalog.=) NEW.settings THEN
            RETURN NULL;     -- last_version or the owner: nothing a worker reads
        END IF;
        PERFORM mlsys._replicate_model(v_model);
    ELSIF mlsys._setting(v_model, 'private') OPERATOR(pg_catalog.=) 'true'::jsonb THEN
        RETURN NULL;
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'model_versions' THEN
        DELETE FROM mlsys_replica.model_versions v
         WHERE v.model OPERATOR(pg_catalog.=) v_model
           AND v.version OPERATOR(pg_catalog.=) CASE WHEN TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN OLD.version ELSE NEW.version END;
        IF TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN
            INSERT INTO mlsys_replica.model_versions (model, version, algorithm, params, feature_columns, feature_lengths,
                                                      classes, hyperparams, target_type, preprocessing, profile)
            VALUES (NEW.model, NEW.version, NEW.algorithm, NEW.params, NEW.feature_columns, NEW.feature_lengths,
                    NEW.classes, NEW.hyperparams, NEW.target_type, NEW.preprocessing, NEW.profile);
        END IF;
    ELSE
        -- deployments: the live version is the newest deployment left
        DELETE FROM mlsys_replica.live l WHERE l.model OPERATOR(pg_catalog.=) v_model;
        INSERT INTO mlsys_replica.live (model, version, deployment_id)
        SELECT d.model, d.version, d.id FROM mlsys.deployments d
         WHERE d.model OPERATOR(pg_catalog.=) v_model ORDER BY d.id DESC LIMIT 1;
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION mlsys._replicate_registry() IS
'Trigger: copies a registry change into mlsys_replica, the Citus reference tables scoring reads on workers, once mlsys.citus_setup() created them (internal).';

CREATE OR REPLACE FUNCTION mlsys.citus_setup() RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_owner regrole := (SELECT e.extowner::regrole FROM pg_catalog.pg_extension e
                         WHERE e.extname OPERATOR(pg_catalog.=) 'mlsys');
    v_citus bool := EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus');
    v_table text;
    v_models bigint;
    v_versions bigint;
BEGIN
    IF NOT pg_catalog.pg_has_role(CURRENT_USER, v_owner::oid, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to set up mlsys for Citus'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('The copy of the registry belongs to the extension''s owner, %s.', v_owner),
                  HINT = pg_catalog.format('Run it as %s on the coordinator.', v_owner);
    END IF;
    IF pg_catalog.to_regclass('mlsys_replica.live') IS NULL THEN
        CREATE SCHEMA IF NOT EXISTS mlsys_replica;
        CREATE TABLE mlsys_replica.models (
            model    text PRIMARY KEY,
            settings jsonb NOT NULL
        );
        CREATE TABLE mlsys_replica.model_versions (
            model           text NOT NULL,
            version         int NOT NULL,
            algorithm       text NOT NULL,
            params          bytea NOT NULL,
            feature_columns text[] NOT NULL,
            feature_lengths int[] NOT NULL,
            classes         text[],
            hyperparams     jsonb NOT NULL,
            target_type     text,
            preprocessing   jsonb,
            profile         jsonb,
            PRIMARY KEY (model, version)
        );
        CREATE TABLE mlsys_replica.live (
            model         text PRIMARY KEY,
            version       int NOT NULL,
            deployment_id bigint NOT NULL
        );
        IF v_citus THEN
            FOREACH v_table IN ARRAY ARRAY['models', 'model_versions', 'live'] LOOP
                EXECUTE 'SELECT create_reference_table($1)' USING pg_catalog.format('mlsys_replica.%I', v_table);
            END LOOP;
        END IF;
        GRANT USAGE ON SCHEMA mlsys_replica TO mlsys_reader;
        GRANT SELECT ON ALL TABLES IN SCHEMA mlsys_replica TO mlsys_reader;
    END IF;
    -- (re)fill from the registry, in this transaction
    DELETE FROM mlsys_replica.live;
    DELETE FROM mlsys_replica.model_versions;
    DELETE FROM mlsys_replica.models;
    PERFORM mlsys._replicate_model(m.model) FROM mlsys.models m;
    SELECT pg_catalog.count(*) INTO v_models FROM mlsys_replica.models;
    SELECT pg_catalog.count(*) INTO v_versions FROM mlsys_replica.model_versions;
    RETURN pg_catalog.format('%s models and %s versions copied to mlsys_replica%s', v_models, v_versions,
                             CASE WHEN v_citus THEN ' (Citus reference tables)' ELSE ' (no Citus: plain tables)' END);
END $$;
COMMENT ON FUNCTION mlsys.citus_setup() IS
'Creates (or refills) mlsys_replica: the models, versions and live versions that scoring needs on Citus workers (private models: their name only), as reference tables kept by triggers on the registry; run once on the coordinator by the extension''s owner.';
CREATE TRIGGER replicate AFTER INSERT OR UPDATE OR DELETE ON mlsys.models
    FOR EACH ROW EXECUTE FUNCTION mlsys._replicate_registry();
CREATE TRIGGER replicate AFTER INSERT OR UPDATE OR DELETE ON mlsys.model_versions
    FOR EACH ROW EXECUTE FUNCTION mlsys._replicate_registry();
CREATE TRIGGER replicate AFTER INSERT OR DELETE ON mlsys.deployments
    FOR EACH ROW EXECUTE FUNCTION mlsys._replicate_registry();
ALTER FUNCTION mlsys._replicate_registry() SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION mlsys._replicate_registry(), mlsys._replicate_model(text), mlsys.citus_setup() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._replicate_registry() TO mlsys_reader;
GRANT EXECUTE ON FUNCTION mlsys.citus_setup() TO mlsys_admin;



------------------------------------------------------------------------------
-- The model report: mlsys.check keeps each feature's current counts on the
-- baseline's bins (mlsys._drift returns them), and mlsys.report draws them
------------------------------------------------------------------------------
ALTER TABLE mlsys.drift_history ADD COLUMN current_counts float8[];
COMMENT ON COLUMN mlsys.drift_history.current_counts IS
'On the deciding metric''s row: the checked rows'' non-null values on the baseline''s bins (a numeric feature''s grid counts, then the values below and above the grid; a categorical feature''s counts per baseline category, then the other categories), which mlsys.report draws.';
DROP FUNCTION mlsys._drift(text, regclass, int, text, timestamptz);
CREATE FUNCTION mlsys._drift(model text, relation regclass, version int, time_column text, since timestamptz)
RETURNS TABLE (feature text, kind text, rows bigint, null_rate float8, psi float8, ks float8,
               wasserstein float8, js float8, linf float8, metric text, value float8,
               threshold float8, drifted bool, current_counts float8[])
AS 'MODULE_PATHNAME', 'drift_report' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys._drift(text, regclass, int, text, timestamptz) IS
'mlsys.drift over the rows whose time_column is at least since, with each feature''s current counts on the baseline''s bins (internal; used by mlsys.check).';
REVOKE EXECUTE ON FUNCTION mlsys._drift(text, regclass, int, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._drift(text, regclass, int, text, timestamptz) TO mlsys_reader;

CREATE OR REPLACE FUNCTION mlsys.check(model text) RETURNS SETOF mlsys.alerts
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_model text := $1;     -- "check" is a reserved word: the parameter cannot be qualified
    v_check bigint := nextval('mlsys.check_id_seq');
    v_version int;
    v_relation text := mlsys._setting(v_model, 'relation') #>> '{}';
    v_time_column text := mlsys._setting(v_model, 'time_column') #>> '{}';
    v_window interval := (mlsys._setting(v_model, 'window') #>> '{}')::interval;
    v_recommender bool := (SELECT m.task LIKE 'recommender%' FROM mlsys.models m WHERE m.model = v_model);
    v_since timestamptz;
    v_logged bool;
    d record;
    p record;
    a mlsys.alerts;
BEGIN
    PERFORM mlsys._lock_model(v_model);
    PERFORM mlsys._check_model_access(v_model);
    IF v_recommender THEN
        -- recommenders are not scored by mlsys.predict: their live version is the latest deployment
        SELECT dd.version INTO v_version FROM mlsys.deployments dd WHERE dd.model = v_model ORDER BY dd.id DESC LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'model "%" has no deployed version', v_model
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = pg_catalog.format('Deploy a version with mlsys.deploy(''%s'', version), or train with deploy => ''most_recent''.', v_model);
        END IF;
    ELSE
        v_version := mlsys.live_version(v_model);
    END IF;
    IF v_window IS NOT NULL THEN
        v_since := now() - v_window;
    END IF;
    -- no relation configured: the logged online traffic, when the model logs
    v_logged := v_relation IS NULL AND NOT v_recommender
                AND (mlsys._setting(v_model, 'log_sample') #>> '{}')::float8 > 0;
    IF (v_relation IS NOT NULL OR v_logged) AND NOT v_recommender THEN
        IF NOT v_logged AND v_time_column IS NULL AND v_window IS NOT NULL THEN
            RAISE EXCEPTION 'setting "window" of model "%" needs "time_column"', v_model
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR d IN SELECT * FROM mlsys._drift(v_model, v_relation::regclass, v_version, v_time_column,
                                             CASE WHEN v_logged THEN coalesce(v_since, now() - interval '1 day')
                                                  WHEN v_time_column IS NOT NULL THEN v_since END) LOOP
            INSERT INTO mlsys.drift_history (check_id, model, version, feature, metric, value, threshold, drifted, rows,
                                             current_counts)
            SELECT v_check, v_model, v_version, d.feature, x.metric, x.value,
                   CASE WHEN x.metric = d.metric THEN d.threshold END,
                   CASE WHEN x.metric = d.metric THEN d.drifted END, d.rows,
                   CASE WHEN x.metric = d.metric THEN d.current_counts END
              FROM (VALUES ('null_rate', d.null_rate), ('psi', d.psi), ('ks', d.ks),
                           ('wasserstein', d.wasserstein), ('js', d.js), ('linf', d.linf)) x(metric, value)
             WHERE x.value IS NOT NULL;
            IF d.drifted THEN
                -- critical at twice the threshold
                a := mlsys._raise_alert(v_check, v_model, v_version,
                        CASE WHEN d.kind = 'prediction' THEN 'prediction_drift' ELSE 'data_drift' END,
                        d.feature, d.metric, d.value, d.threshold, d.threshold > 0 AND d.value >= 2 * d.threshold,
                        jsonb_build_object('relation', coalesce(v_relation, 'online traffic'), 'rows', d.rows, 'null_rate', d.null_rate,
                                           'psi', d.psi, 'ks', d.ks, 'wasserstein', d.wasserstein,
                                           'js', d.js, 'linf', d.linf, 'since', v_since));
                RETURN NEXT a;
            ELSIF d.drifted IS NOT NULL AND d.rows > 0 THEN
                -- evaluated on rows and not found: the condition has cleared
                PERFORM mlsys._resolve_alerts(v_model, v_version,
                        CASE WHEN d.kind = 'prediction' THEN 'prediction_drift' ELSE 'data_drift' END,
                        d.feature, 'cleared');
            END IF;
        END LOOP;
    ELSIF NOT v_recommender THEN
        RAISE NOTICE 'model "%" has no "relation" setting and logs no online traffic: only its performance is checked', v_model
            USING HINT = 'Set one with mlsys.configure(model, ''{"relation": "..."}''), or log online calls with ''{"log_sample": 0.1}''.';
    ELSIF v_relation IS NOT NULL THEN
        -- recommenders have no drift baseline: the check watches their click-through
        RAISE NOTICE 'model "%" is a recommender: its "relation" setting is not checked for drift', v_model
            USING DETAIL = 'The check of a recommender compares the click-through of its impressions with its first window.';
    END IF;

    -- concept drift: the live version's metric over the window (default: 1 day)
    SELECT * INTO p FROM mlsys.performance(v_model, coalesce(v_window, interval '1 day'),
                                           now() - coalesce(v_window, interval '1 day')) pf
     WHERE pf.version = v_version AND pf.value IS NOT NULL
     ORDER BY pf.bucket_start DESC LIMIT 1;
    IF FOUND THEN
        INSERT INTO mlsys.drift_history (check_id, model, version, feature, metric, value, threshold, drifted, rows)
        VALUES (v_check, v_model, v_version, '<performance>', p.metric, p.value,
                mlsys._degradation_limit(v_model, p.metric, p.baseline), p.degraded, p.labeled);
        IF p.degraded THEN
            -- critical when the metric has moved twice as far from the baseline as allowed
            a := mlsys._raise_alert(v_check, v_model, v_version, 'concept_drift', NULL, p.metric, p.value,
                    mlsys._degradation_limit(v_model, p.metric, p.baseline),
                    abs(p.value - p.baseline) >= 2 * abs(mlsys._degradation_limit(v_model, p.metric, p.baseline) - p.baseline),
                    jsonb_build_object('bucket_start', p.bucket_start, 'predictions', p.predictions,
                                       'labeled', p.labeled, 'baseline', p.baseline,
                                       'tolerance', mlsys._setting(v_model, 'tolerance'),
                                       'auc_drop', mlsys._setting(v_model, 'auc_drop')));
            RETURN NEXT a;
        ELSIF p.degraded IS NOT NULL THEN
            PERFORM mlsys._resolve_alerts(v_model, v_version, 'concept_drift', NULL, 'cleared');
        END IF;
    END IF;
    -- the closed days mlsys.report reads from the rollup
    PERFORM mlsys._refresh_rollup(v_model);
END $$;
COMMENT ON FUNCTION mlsys.check(text) IS
'Runs the drift report on the configured relation and window (not for recommenders) and the performance check for the live version (click-through for recommenders), stores every figure in mlsys.drift_history, opens or updates one mlsys.alerts row per condition found and resolves those it evaluated and no longer finds (NOTIFY mlsys_alerts {id, model, kind, feature, event} when an alert opens, escalates or resolves), and returns the alerts it found.';

CREATE OR REPLACE FUNCTION mlsys.record_outcomes(model text, relation regclass, id_column text, label_column text)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_count bigint;
    v_days timestamptz[];
    v_col text;
BEGIN
    IF record_outcomes.model IS NULL OR record_outcomes.relation IS NULL
       OR record_outcomes.id_column IS NULL OR record_outcomes.label_column IS NULL THEN
        RAISE EXCEPTION 'model, relation, id_column and label_column must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM 1 FROM mlsys.models m WHERE m.model = record_outcomes.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', record_outcomes.model USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM mlsys._check_model_access(record_outcomes.model);
    FOREACH v_col IN ARRAY ARRAY[record_outcomes.id_column, record_outcomes.label_column] LOOP
        PERFORM 1 FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = record_outcomes.relation AND a.attname = v_col
           AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column "%" of relation "%" does not exist', v_col, mlsys._relation_name(record_outcomes.relation)
                USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
    -- one outcome per entity is expected; with duplicates an arbitrary one wins
    EXECUTE pg_catalog.format(
        'WITH u AS (UPDATE mlsys.predictions p SET label = (s.%I)::pg_catalog.text, labeled_at = pg_catalog.now() '
        'FROM %s AS s WHERE p.model = $1 AND p.entity_id = (s.%I)::pg_catalog.text AND s.%I IS NOT NULL '
        'AND p.label IS DISTINCT FROM (s.%I)::pg_catalog.text RETURNING p.predicted_at) '
        'SELECT pg_catalog.count(*), pg_catalog.array_agg(DISTINCT pg_catalog.date_bin(''1 day''::pg_catalog.interval, u.predicted_at, '
        '''2000-01-01 00:00:00+00''::pg_catalog.timestamptz)) FROM u',
        record_outcomes.label_column, record_outcomes.relation, record_outcomes.id_column,
        record_outcomes.label_column, record_outcomes.label_column)
    INTO v_count, v_days
    USING record_outcomes.model;
    -- the rollup's days whose labels changed are computed again
    UPDATE mlsys.prediction_rollup r SET stale = true
     WHERE r.model = record_outcomes.model AND r.day = ANY (v_days) AND NOT r.stale;
    RETURN v_count;
END $$;
COMMENT ON FUNCTION mlsys.record_outcomes(text, regclass, text, text) IS
'Fills in label (as text) and labeled_at of the model''s logged predictions whose entity_id appears in the relation, marks the days of mlsys.prediction_rollup whose labels changed stale, and returns the number of predictions updated.';

CREATE OR REPLACE FUNCTION mlsys.prune(older_than interval)
RETURNS TABLE (predictions bigint, history bigint, alerts bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_cut timestamptz;
BEGIN
    IF prune.older_than IS NULL OR prune.older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_cut := now() - prune.older_than;
    DELETE FROM mlsys.predictions p WHERE p.predicted_at < v_cut;
    GET DIAGNOSTICS predictions = ROW_COUNT;
    DELETE FROM mlsys.drift_history h WHERE h.checked_at < v_cut;
    GET DIAGNOSTICS history = ROW_COUNT;
    DELETE FROM mlsys.alerts a WHERE a.created_at < v_cut AND a.resolved_at IS NOT NULL;
    GET DIAGNOSTICS alerts = ROW_COUNT;
    -- impressions go with the predictions; the result keeps its 0.1 columns, so they are not counted
    DELETE FROM mlsys.impressions i WHERE i.shown_at < v_cut;
    DELETE FROM mlsys.online_traffic o WHERE o.hour < v_cut;
    DELETE FROM mlsys.prediction_rollup r WHERE r.day < v_cut;
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION mlsys.prune(interval) IS
'Deletes predictions, impressions, online traffic counts, prediction rollup days and drift history older than the interval, and resolved alerts created before it; returns the counts of predictions, history and alerts.';

CREATE OR REPLACE FUNCTION mlsys.predict_batch(model text, relation regclass, id_column text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_version int;
    v_run bigint;
    v_count bigint;
    v_classes text[];
    v_target_type text;
    v_positive text;
BEGIN
    IF predict_batch.model IS NULL OR predict_batch.relation IS NULL OR predict_batch.id_column IS NULL THEN
        RAISE EXCEPTION 'model, relation and id_column must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    v_version := mlsys.live_version(predict_batch.model);
    PERFORM 1 FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = predict_batch.relation AND a.attname = predict_batch.id_column
       AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', predict_batch.id_column, mlsys._relation_name(predict_batch.relation)
            USING ERRCODE = 'undefined_column';
    END IF;
    SELECT v.classes, v.target_type, v.hyperparams ->> 'positive_class'
      INTO v_classes, v_target_type, v_positive
      FROM mlsys.model_versions v WHERE v.model = predict_batch.model AND v.version = v_version;
    INSERT INTO mlsys.prediction_runs (model, version, relation)
    VALUES (predict_batch.model, v_version, predict_batch.relation::text)
    RETURNING run_id INTO v_run;
    IF v_classes IS NULL THEN
        EXECUTE pg_catalog.format(
            'INSERT INTO mlsys.predictions (run_id, model, version, entity_id, prediction) '
            'SELECT $1, $2, $3, (r.%I)::pg_catalog.text, mlsys.predict($2, $3, r.*) FROM %s AS r',
            predict_batch.id_column, predict_batch.relation)
        USING v_run, predict_batch.model, v_version;
    ELSE
        -- classifiers: the label, the positive-class probability (multiclass: the
        -- predicted class's), and the label as a number when labels are booleans
        -- or integers
        EXECUTE pg_catalog.format(
            'INSERT INTO mlsys.predictions (run_id, model, version, entity_id, prediction, predicted_label, probability) '
            'SELECT $1, $2, $3, s.id, CASE WHEN $4 THEN mlsys.predict($2, $3, s.r) END, s.label, '
            '       s.proba[COALESCE($5, pg_catalog.array_position($6, s.label))] '
            'FROM (SELECT (r.%I)::pg_catalog.text AS id, r AS r, mlsys.predict_label($2, $3, r.*) AS label, '
            '             mlsys.predict_proba($2, $3, r.*) AS proba FROM %s AS r) s',
            predict_batch.id_column, predict_batch.relation)
        USING v_run, predict_batch.model, v_version,
              v_target_type IN ('boolean', 'smallint', 'integer', 'bigint'),
              pg_catalog.array_position(v_classes, v_positive), v_classes;
    END IF;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    UPDATE mlsys.prediction_runs SET rows = v_count, finished_at = pg_catalog.clock_timestamp()
     WHERE run_id = v_run;
    -- the rows carry the transaction's start time: a day of the prediction
    -- rollup that a check closed meanwhile is computed again
    UPDATE mlsys.prediction_rollup r SET stale = true
     WHERE r.model = predict_batch.model AND NOT r.stale
       AND r.day >= pg_catalog.date_bin('1 day'::pg_catalog.interval, pg_catalog.now(), '2000-01-01 00:00:00+00'::pg_catalog.timestamptz);
    RETURN v_count;
END $$;
COMMENT ON FUNCTION mlsys.predict_batch(text, regclass, text) IS
'Scores every row of a relation with the live version into mlsys.predictions under a new run id; returns the row count.';

-- The holdout sample: at most 2,000 holdout rows of each trained version
-- (the first the relation's scan meets, so taking it stops early), with the
-- version's score and the actual outcome, which the report's ROC curve,
-- confusion matrix and predicted-against-actual chart are drawn from.
CREATE TABLE mlsys.holdout_samples (
    model     text NOT NULL,
    version   int NOT NULL,
    score     float8[],
    predicted text[],
    actual    text[] NOT NULL,
    PRIMARY KEY (model, version),
    FOREIGN KEY (model, version) REFERENCES mlsys.model_versions ON DELETE CASCADE
);
COMMENT ON TABLE mlsys.holdout_samples IS
'At most 2,000 holdout rows of each trained version (none for recommenders and imports), kept by training: score (regression: the prediction; binary: the probability of the positive class), predicted (classifiers: the predicted label) and actual (the outcome as text), for mlsys.report.';
SELECT pg_catalog.pg_extension_config_dump('mlsys.holdout_samples', '');

-- Training calls this after registering a version (src/train/train.c), with
-- the trainer's rights on the relation. A sample that cannot be taken is a
-- warning, never a failed training.
CREATE FUNCTION mlsys._capture_holdout_sample(p_model text, p_version int) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v mlsys.model_versions;
    v_task text;
    v_x text;
    v_n int;
BEGIN
    SELECT * INTO v FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = p_version;
    SELECT m.task INTO v_task FROM mlsys.models m WHERE m.model = p_model;
    IF v.model IS NULL OR v_task NOT IN ('regression', 'binary', 'multiclass') THEN
        RETURN 0;
    END IF;
    -- the feature vector as training encodes it, from the feature columns
    -- alone (a trainer may hold column privileges on just those)
    v_x := pg_catalog.format('mlsys._encode(%L::pg_catalog.text[], %L::pg_catalog.int4[], %L::pg_catalog.jsonb',
                             v.feature_columns, v.feature_lengths, v.preprocessing)
           || (SELECT pg_catalog.string_agg(pg_catalog.format(', r.%I', u.col), '' ORDER BY u.ord)
                 FROM pg_catalog.unnest(v.feature_columns) WITH ORDINALITY u(col, ord))
           || ')';
    BEGIN
        EXECUTE pg_catalog.format(
            'INSERT INTO mlsys.holdout_samples AS h (model, version, score, predicted, actual) '
            'SELECT $1, $2, pg_catalog.array_agg(s.score) FILTER (WHERE %L <> ''multiclass''), '
            '       pg_catalog.array_agg(s.predicted) FILTER (WHERE %L <> ''regression''), pg_catalog.array_agg(s.actual) '
            '  FROM (SELECT CASE %L WHEN ''regression'' THEN mlsys.predict($1, $2, e.x) '
            '                       WHEN ''binary'' THEN (mlsys._predict_proba($1, $2, e.x))[$4] END AS score, '
            '               CASE WHEN %L <> ''regression'' THEN '
            '                   $3[(SELECT q.k FROM pg_catalog.unnest(mlsys._predict_proba($1, $2, e.x)) WITH ORDINALITY q(pr, k) '
            '                        ORDER BY q.pr DESC, q.k LIMIT 1)] END AS predicted, e.actual '
            '          FROM (SELECT %s AS x, (r.%I)::pg_catalog.text AS actual FROM %s AS r WHERE %s LIMIT 2000) e) s '
            'HAVING pg_catalog.count(*) > 0 '
            'ON CONFLICT (model, version) DO UPDATE SET score = EXCLUDED.score, predicted = EXCLUDED.predicted, actual = EXCLUDED.actual',
            v_task, v_task, v_task, v_task, v_x, v.target, v.relation::regclass, mlsys._holdout_predicate(p_model, p_version, 'r'))
        USING p_model, p_version, v.classes,
              pg_catalog.array_position(v.classes, coalesce(v.hyperparams ->> 'positive_class', v.classes[2]));
        GET DIAGNOSTICS v_n = ROW_COUNT;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'could not keep a holdout sample of version % of model "%"', p_version, p_model
            USING DETAIL = SQLERRM, HINT = 'mlsys.report draws no holdout curve for this version.';
        RETURN 0;
    END;
    RETURN v_n;
END $$;
COMMENT ON FUNCTION mlsys._capture_holdout_sample(text, int) IS
'Keeps at most 2,000 holdout rows of a version in mlsys.holdout_samples with its score and the outcome (internal; training calls it).';

-- The prediction rollup: mlsys.performance's figures per model, version and
-- closed UTC day, so the report reads a row per day instead of the day's
-- predictions. mlsys.check fills in the closed days of the last 30 that have
-- no fresh row (a day without predictions gets a row of version 0);
-- mlsys.record_outcomes marks the days whose labels it changed stale, and the
-- next check computes them again. Today is always computed from the
-- predictions. The batch scorer marks the days from its transaction's start
-- on stale (its rows carry that time), and a day closes 15 minutes after its
-- end, when the log writers have stored its online records.
CREATE TABLE mlsys.prediction_rollup (
    model       text NOT NULL REFERENCES mlsys.models ON DELETE CASCADE,
    version     int NOT NULL,
    day         timestamptz NOT NULL,
    predictions bigint NOT NULL,
    labeled     bigint NOT NULL,
    metric      text,
    value       float8,
    stale       bool NOT NULL DEFAULT false,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, day, version)
);
COMMENT ON TABLE mlsys.prediction_rollup IS
'mlsys.performance per model, version and closed UTC day (predictions, labelled, the live metric and its value; version 0: a day without predictions), kept by mlsys.check for the last 30 days and marked stale by mlsys.record_outcomes when labels of a day change; mlsys.report reads it.';
SELECT pg_catalog.pg_extension_config_dump('mlsys.prediction_rollup', '');

-- mlsys.performance by UTC day over [p_from, p_to), for one model that is not
-- a recommender: through the (model, predicted_at) index, that window only
CREATE FUNCTION mlsys._performance_between(p_model text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (bucket_start timestamptz, version int, predictions bigint, labeled bigint, metric text, value float8)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_task text;
BEGIN
    SELECT m.task INTO v_task FROM mlsys.models m WHERE m.model = p_model;
    IF v_task IS NULL OR v_task LIKE 'recommender%' THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH p AS (
        SELECT pg_catalog.date_bin(interval '1 day', pr.predicted_at, timestamptz '2000-01-01 00:00:00+00') AS b,
               pr.version AS v, pr.prediction, pr.probability, pr.predicted_label, pr.label,
               CASE WHEN v_task = 'binary'
                    THEN mlsys._is_positive(pr.label, mv.hyperparams ->> 'positive_class', mv.target_type) END AS pos
          FROM mlsys.predictions pr
          JOIN mlsys.model_versions mv ON mv.model = pr.model AND mv.version = pr.version
         WHERE pr.model = p_model AND pr.predicted_at >= p_from AND pr.predicted_at < p_to
    ), g AS (
        SELECT p.b, p.v, pg_catalog.count(*) AS n, pg_catalog.count(p.label) AS nl,
               pg_catalog.count(*) FILTER (WHERE p.pos) AS npos,
               pg_catalog.count(*) FILTER (WHERE NOT p.pos) AS nneg,
               -- as in mlsys.performance: the cast inside the argument
               CASE v_task WHEN 'regression' THEN mlsys.rmse(p.prediction, CASE WHEN v_task = 'regression' THEN p.label::float8 END)
                           WHEN 'multiclass' THEN mlsys.accuracy(p.predicted_label, p.label) END AS val
          FROM p GROUP BY p.b, p.v
    )
    SELECT g.b, g.v, g.n, g.nl,
           CASE v_task WHEN 'regression' THEN 'rmse' WHEN 'binary' THEN 'auc' ELSE 'accuracy' END,
           CASE WHEN v_task <> 'binary' THEN g.val
                WHEN g.npos > 0 AND g.nneg > 0 THEN
                    (SELECT mlsys.auc(p.probability, p.pos) FROM p WHERE p.b = g.b AND p.v = g.v AND p.pos IS NOT NULL) END
      FROM g ORDER BY g.b, g.v;
END $$;
COMMENT ON FUNCTION mlsys._performance_between(text, timestamptz, timestamptz) IS
'mlsys.performance by UTC day over a window of predicted_at, for a model that is not a recommender (internal; the prediction rollup and mlsys.report).';

-- fill in the closed days of the last 30 without a fresh rollup row, in one
-- pass from the first of them
CREATE FUNCTION mlsys._refresh_rollup(p_model text) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_today timestamptz := pg_catalog.date_bin(interval '1 day', pg_catalog.now(), timestamptz '2000-01-01 00:00:00+00');
    v_days timestamptz[];
BEGIN
    IF (SELECT m.task FROM mlsys.models m WHERE m.model = p_model) LIKE 'recommender%' THEN
        RETURN 0;
    END IF;
    -- a day counts as closed 15 minutes after its end: online records logged
    -- before midnight may still be on their way to the table
    v_days := ARRAY(SELECT g FROM pg_catalog.generate_series(v_today - interval '30 days', v_today - interval '1 day', interval '1 day') g
                     WHERE g + interval '1 day 15 minutes' <= pg_catalog.now()
                       AND NOT EXISTS (SELECT 1 FROM mlsys.prediction_rollup r WHERE r.model = p_model AND r.day = g AND NOT r.stale)
                     ORDER BY g);
    IF pg_catalog.cardinality(v_days) > 0 THEN
        DELETE FROM mlsys.prediction_rollup r WHERE r.model = p_model AND r.day = ANY (v_days);
        INSERT INTO mlsys.prediction_rollup (model, version, day, predictions, labeled, metric, value)
        SELECT p_model, pb.version, pb.bucket_start, pb.predictions, pb.labeled, pb.metric, pb.value
          FROM mlsys._performance_between(p_model, v_days[1], v_days[pg_catalog.cardinality(v_days)] + interval '1 day') pb
         WHERE pb.bucket_start = ANY (v_days);
        INSERT INTO mlsys.prediction_rollup (model, version, day, predictions, labeled)
        SELECT p_model, 0, d, 0, 0 FROM pg_catalog.unnest(v_days) d
         WHERE NOT EXISTS (SELECT 1 FROM mlsys.prediction_rollup r WHERE r.model = p_model AND r.day = d);
    END IF;
    DELETE FROM mlsys.prediction_rollup r WHERE r.model = p_model AND r.day < v_today - interval '30 days';
    RETURN pg_catalog.cardinality(v_days);
END $$;
COMMENT ON FUNCTION mlsys._refresh_rollup(text) IS
'Computes the prediction rollup of a model''s closed days of the last 30 that have no fresh row (one pass from the first of them), drops older days, and returns how many days it computed (internal; mlsys.check calls it).';

-- a model's live metric per UTC day over the last p_days days (today
-- included): fresh rollup rows, and the other days in one pass over the
-- predictions from the first of them
CREATE FUNCTION mlsys._performance_days(p_model text, p_days int)
RETURNS TABLE (bucket_start timestamptz, version int, predictions bigint, labeled bigint, metric text, value float8)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_today timestamptz := pg_catalog.date_bin(interval '1 day', pg_catalog.now(), timestamptz '2000-01-01 00:00:00+00');
    v_live timestamptz[];
BEGIN
    v_live := ARRAY(SELECT g FROM pg_catalog.generate_series(v_today - (p_days - 1) * interval '1 day', v_today, interval '1 day') g
                     WHERE g = v_today
                        OR NOT EXISTS (SELECT 1 FROM mlsys.prediction_rollup r WHERE r.model = p_model AND r.day = g)
                        OR EXISTS (SELECT 1 FROM mlsys.prediction_rollup r WHERE r.model = p_model AND r.day = g AND r.stale)
                     ORDER BY g);
    RETURN QUERY
    SELECT r.day, r.version, r.predictions, r.labeled, r.metric, r.value
      FROM mlsys.prediction_rollup r
     WHERE r.model = p_model AND r.day >= v_today - (p_days - 1) * interval '1 day' AND r.day < v_today
       AND r.version > 0 AND r.day <> ALL (v_live);
    RETURN QUERY
    SELECT pb.* FROM mlsys._performance_between(p_model, v_live[1], v_today + interval '1 day') pb
     WHERE pb.bucket_start = ANY (v_live);
END $$;
COMMENT ON FUNCTION mlsys._performance_days(text, int) IS
'A model''s live metric per UTC day over its last days, today included: the fresh rows of mlsys.prediction_rollup, and the days without one computed from the predictions (internal; mlsys.report).';

-- text as HTML: the five characters that could end an attribute or open a tag
CREATE FUNCTION mlsys._html(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
               coalesce(t, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;
COMMENT ON FUNCTION mlsys._html(text) IS 'A text escaped for HTML content and attribute values: & < > " and '' (internal; mlsys.report).';

-- a number for people: 120,000 / 2.59 / 0.046; NULL is a dash
CREATE FUNCTION mlsys._fmt(x float8) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN x IS NULL THEN '–'
        WHEN x = 'NaN'::float8 THEN 'NaN'
        WHEN x = 'Infinity'::float8 THEN '∞'
        WHEN x = '-Infinity'::float8 THEN '−∞'
        WHEN abs(x) >= 1e15 THEN pg_catalog.btrim(pg_catalog.to_char(x, '9.99EEEE'))
        WHEN abs(x) >= 100 THEN pg_catalog.to_char(pg_catalog.round(x::numeric), 'FM999,999,999,999,990')
        WHEN abs(x) >= 1 THEN pg_catalog.rtrim(pg_catalog.rtrim(pg_catalog.to_char(pg_catalog.round(x::numeric, 2), 'FM990.00'), '0'), '.')
        WHEN x = 0 THEN '0'
        WHEN abs(x) < 0.001 THEN pg_catalog.btrim(pg_catalog.to_char(x, '9.99EEEE'))
        ELSE pg_catalog.rtrim(pg_catalog.rtrim(pg_catalog.to_char(pg_catalog.round(x::numeric, 3), 'FM0.000'), '0'), '.') END
$$;
COMMENT ON FUNCTION mlsys._fmt(float8) IS 'A number formatted for people: thousands separated (120,000), two decimals from 1 (2.59), three below (0.046) (internal; mlsys.report).';

-- A line chart: series [{name, color, points: [[x, y, tooltip], ...], line,
-- radius} (line false: dots only)] and
-- horizontal reference lines [{name, color, y}]; x is epoch seconds when
-- p_time. Axes with five ticks (or the y ticks [[y, label], ...] given), a
-- legend, a <title> on every mark.
CREATE FUNCTION mlsys._svg_lines(p_title text, p_xlabel text, p_ylabel text, p_time bool,
                                 p_series jsonb, p_lines jsonb DEFAULT '[]', p_width int DEFAULT 460,
                                 p_yticks jsonb DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w int := p_width;
    h int := 230;
    l int := 58;
    r int := 26;
    t int := 40;
    b int := 44;
    xmin float8; xmax float8; ymin float8; ymax float8;
    v float8;
    o text;
    s jsonb;
    pt jsonb;
    ln jsonb;
    pts text;
    i int;
    lx int := 0;
    fmt text;
BEGIN
    SELECT min((q ->> 0)::float8), max((q ->> 0)::float8), min((q ->> 1)::float8), max((q ->> 1)::float8)
      INTO xmin, xmax, ymin, ymax
      FROM jsonb_array_elements(p_series) e, jsonb_array_elements(e -> 'points') q
     WHERE q ->> 1 IS NOT NULL;
    IF xmin IS NULL THEN
        RETURN '<p class="note">' || mlsys._html(p_title) || ': no data points.</p>';
    END IF;
    SELECT least(ymin, min((e ->> 'y')::float8)), greatest(ymax, max((e ->> 'y')::float8))
      INTO ymin, ymax FROM jsonb_array_elements(p_lines) e WHERE e ->> 'y' IS NOT NULL;
    IF xmax = xmin THEN
        xmin := xmin - CASE WHEN p_time THEN 43200 ELSE 1 END;
        xmax := xmax + CASE WHEN p_time THEN 43200 ELSE 1 END;
    END IF;
    IF p_yticks IS NOT NULL THEN
        SELECT least(ymin, min((q ->> 0)::float8) - 0.5), greatest(ymax, max((q ->> 0)::float8) + 0.5)
          INTO ymin, ymax FROM jsonb_array_elements(p_yticks) q;
    ELSE
        IF ymax = ymin THEN
            ymin := ymin - greatest(abs(ymin) * 0.1, 0.01);
            ymax := ymax + greatest(abs(ymax) * 0.1, 0.01);
        END IF;
        -- round the axis out to four steps of 1, 2, 2.5 or 5 times a power of ten
        v := (ymax - ymin) / 4;
        v := power(10::float8, floor(log(v))) * CASE WHEN v / power(10::float8, floor(log(v))) <= 1 THEN 1
                                                      WHEN v / power(10::float8, floor(log(v))) <= 2 THEN 2
                                                      WHEN v / power(10::float8, floor(log(v))) <= 2.5 THEN 2.5
                                                      WHEN v / power(10::float8, floor(log(v))) <= 5 THEN 5 ELSE 10 END;
        ymin := floor(ymin / v) * v;
        ymax := ymin + 4 * v;
        WHILE ymax < (SELECT max((q ->> 1)::float8) FROM jsonb_array_elements(p_series) e, jsonb_array_elements(e -> 'points') q)
              OR ymax < coalesce((SELECT max((e ->> 'y')::float8) FROM jsonb_array_elements(p_lines) e), ymax) LOOP
            v := v * 2;
            ymin := floor(ymin / v) * v;
            ymax := ymin + 4 * v;
        END LOOP;
    END IF;
    fmt := CASE WHEN xmax - xmin > 3 * 86400 THEN 'Mon DD' WHEN xmax - xmin > 3600 THEN 'Mon DD HH24:MI' ELSE 'HH24:MI:SS' END;
    IF p_yticks IS NOT NULL THEN
        l := 74;
    END IF;
    o := format('<figure><svg class="chart" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="%s">',
                w, h, w, h, mlsys._html(p_title))
      || format('<text class="ct" x="%s" y="16">%s</text>', l, mlsys._html(p_title));
    -- grid, ticks and axes
    IF p_yticks IS NOT NULL THEN
        FOR pt IN SELECT q FROM jsonb_array_elements(p_yticks) q LOOP
            v := h - b - ((pt ->> 0)::float8 - ymin) / (ymax - ymin) * (h - b - t);
            o := o || format('<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>', l, w - r,
                             round(v::numeric, 1), round(v::numeric, 1))
                   || format('<text class="tick" x="%s" y="%s" text-anchor="end">%s</text>', l - 5,
                             round(v::numeric + 4, 1), mlsys._html(pt ->> 1));
        END LOOP;
    END IF;
    FOR i IN 0..4 LOOP
        v := ymin + i * (ymax - ymin) / 4;
        IF p_yticks IS NULL THEN
            o := o || format('<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>', l, w - r,
                             round(h - b - i * (h - b - t) / 4.0, 1), round(h - b - i * (h - b - t) / 4.0, 1))
                   || format('<text class="tick" x="%s" y="%s" text-anchor="end">%s</text>', l - 5,
                             round(h - b - i * (h - b - t) / 4.0 + 4, 1), mlsys._fmt(v));
        END IF;
        v := xmin + i * (xmax - xmin) / 4;
        o := o || format('<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>',
                         round(l + i * (w - l - r) / 4.0, 1), round(l + i * (w - l - r) / 4.0, 1), h - b, h - b + 4)
               || format('<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>',
                         round(l + i * (w - l - r) / 4.0, 1), h - b + 16,
                         CASE WHEN p_time THEN to_char(to_timestamp(v) AT TIME ZONE 'UTC', fmt) ELSE mlsys._fmt(v) END);
    END LOOP;
    o := o || format('<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>', l, w - r, h - b, h - b)
           || format('<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>', l, l, t, h - b)
           || format('<text class="lab" x="%s" y="%s" text-anchor="middle">%s</text>', (l + w - r) / 2, h - 6, mlsys._html(p_xlabel))
           || format('<text class="lab" x="12" y="%s" text-anchor="middle" transform="rotate(-90 12 %s)">%s</text>',
                     (t + h - b) / 2, (t + h - b) / 2, mlsys._html(p_ylabel));
    -- reference lines
    FOR ln IN SELECT e FROM jsonb_array_elements(p_lines) e WHERE e ->> 'y' IS NOT NULL LOOP
        v := h - b - ((ln ->> 'y')::float8 - ymin) / (ymax - ymin) * (h - b - t);
        o := o || format('<line class="ref" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"><title>%s: %s</title></line>',
                         l, w - r, round(v::numeric, 1), round(v::numeric, 1), mlsys._html(ln ->> 'color'),
                         mlsys._html(ln ->> 'name'), mlsys._fmt((ln ->> 'y')::float8));
    END LOOP;
    -- series: a polyline and a dot with its tooltip per point
    FOR s IN SELECT e FROM jsonb_array_elements(p_series) e LOOP
        pts := '';
        FOR pt IN SELECT q FROM jsonb_array_elements(s -> 'points') q WHERE q ->> 1 IS NOT NULL ORDER BY (q ->> 0)::float8 LOOP
            pts := pts || format('%s,%s ',
                round((l + ((pt ->> 0)::float8 - xmin) / (xmax - xmin) * (w - l - r))::numeric, 1),
                round((h - b - ((pt ->> 1)::float8 - ymin) / (ymax - ymin) * (h - b - t))::numeric, 1));
        END LOOP;
        IF coalesce((s ->> 'line')::bool, true) THEN
            o := o || format('<polyline class="series" fill="none" stroke="%s" points="%s"/>', mlsys._html(s ->> 'color'), rtrim(pts));
        END IF;
        FOR pt IN SELECT q FROM jsonb_array_elements(s -> 'points') q WHERE q ->> 1 IS NOT NULL LOOP
            o := o || format('<circle class="mark" cx="%s" cy="%s" r="%s" fill="%s"><title>%s</title></circle>',
                round((l + ((pt ->> 0)::float8 - xmin) / (xmax - xmin) * (w - l - r))::numeric, 1),
                round((h - b - ((pt ->> 1)::float8 - ymin) / (ymax - ymin) * (h - b - t))::numeric, 1),
                coalesce(s ->> 'radius', '3.5'), mlsys._html(s ->> 'color'),
                mlsys._html(coalesce(pt ->> 2, (s ->> 'name') || ': ' || mlsys._fmt((pt ->> 1)::float8))));
        END LOOP;
    END LOOP;
    -- legend
    FOR s IN SELECT e || jsonb_build_object('kind', 'series') FROM jsonb_array_elements(p_series) e
             UNION ALL SELECT e || jsonb_build_object('kind', 'line') FROM jsonb_array_elements(p_lines) e WHERE e ->> 'y' IS NOT NULL LOOP
        o := o || CASE WHEN s ->> 'kind' = 'series'
                       THEN format('<rect x="%s" y="24" width="12" height="8" fill="%s"/>', l + lx, mlsys._html(s ->> 'color'))
                       ELSE format('<line class="ref" x1="%s" x2="%s" y1="28" y2="28" stroke="%s"/>', l + lx, l + lx + 12, mlsys._html(s ->> 'color')) END
               || format('<text class="leg" x="%s" y="32">%s</text>', l + lx + 16, mlsys._html(s ->> 'name'));
        lx := lx + 24 + 6 * length(s ->> 'name');
    END LOOP;
    RETURN o || '</svg></figure>';
END $$;
COMMENT ON FUNCTION mlsys._svg_lines(text, text, text, bool, jsonb, jsonb, int, jsonb) IS
'An inline SVG line chart with axes, ticks, legend, reference lines and a tooltip per point (internal; mlsys.report).';

-- Grouped bars: one group per label, one bar per series
-- [{name, color, values: [...]}], values as proportions drawn in percent.
CREATE FUNCTION mlsys._svg_bars(p_title text, p_xlabel text, p_labels text[], p_series jsonb, p_width int DEFAULT 460)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w int := p_width;
    h int := 240;
    l int := 58;
    r int := 10;
    t int := 40;
    b int := 58;
    n int := coalesce(cardinality(p_labels), 0);
    k int := jsonb_array_length(p_series);
    ymax float8;
    gw float8;
    bw float8;
    o text;
    i int;
    j int;
    v float8;
    lx int := 0;
    s jsonb;
BEGIN
    IF n = 0 OR k = 0 THEN
        RETURN '<p class="note">' || mlsys._html(p_title) || ': no bins.</p>';
    END IF;
    SELECT max(x::float8) INTO ymax FROM jsonb_array_elements(p_series) e, jsonb_array_elements_text(e -> 'values') x;
    -- four ticks of a whole number of percent
    ymax := ceil(greatest(coalesce(ymax, 0), 0.01) * 100 / 4) * 4 / 100;
    gw := (w - l - r)::float8 / n;
    bw := gw * 0.8 / k;
    o := format('<figure><svg class="chart" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="%s">',
                w, h, w, h, mlsys._html(p_title))
      || format('<text class="ct" x="%s" y="16">%s</text>', l, mlsys._html(p_title));
    FOR i IN 0..4 LOOP
        o := o || format('<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>', l, w - r,
                         round(h - b - i * (h - b - t) / 4.0, 1), round(h - b - i * (h - b - t) / 4.0, 1))
               || format('<text class="tick" x="%s" y="%s" text-anchor="end">%s%%</text>', l - 5,
                         round(h - b - i * (h - b - t) / 4.0 + 4, 1), mlsys._fmt(100 * ymax * i / 4));
    END LOOP;
    FOR i IN 1..n LOOP
        FOR j IN 0..k - 1 LOOP
            s := p_series -> j;
            v := coalesce((s -> 'values' ->> (i - 1))::float8, 0);
            o := o || format('<rect class="mark" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s, %s: %s%%</title></rect>',
                round((l + (i - 1) * gw + gw * 0.1 + j * bw)::numeric, 1),
                round((h - b - v / ymax * (h - b - t))::numeric, 1), round(greatest(bw - 1, 1)::numeric, 1),
                round((v / ymax * (h - b - t))::numeric, 1), mlsys._html(s ->> 'color'),
                mlsys._html(p_labels[i]), mlsys._html(s ->> 'name'), mlsys._fmt(100 * v));
        END LOOP;
        -- at most about twelve labels on the axis
        IF (i - 1) % greatest(1, ceil(n / 12.0)::int) = 0 THEN
            o := o || format('<text class="tick" x="%s" y="%s" text-anchor="end" transform="rotate(-35 %s %s)">%s</text>',
                round((l + (i - 0.5) * gw)::numeric, 1), h - b + 12, round((l + (i - 0.5) * gw)::numeric, 1), h - b + 12,
                mlsys._html(CASE WHEN length(p_labels[i]) > 14 THEN left(p_labels[i], 13) || '…' ELSE p_labels[i] END));
        END IF;
    END LOOP;
    o := o || format('<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>', l, w - r, h - b, h - b)
           || format('<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>', l, l, t, h - b)
           || format('<text class="lab" x="%s" y="%s" text-anchor="middle">%s</text>', (l + w - r) / 2, h - 4, mlsys._html(p_xlabel))
           || format('<text class="lab" x="12" y="%s" text-anchor="middle" transform="rotate(-90 12 %s)">share of rows (%%)</text>',
                     (t + h - b) / 2, (t + h - b) / 2);
    FOR s IN SELECT e FROM jsonb_array_elements(p_series) e LOOP
        o := o || format('<rect x="%s" y="24" width="12" height="8" fill="%s"/>', l + lx, mlsys._html(s ->> 'color'))
               || format('<text class="leg" x="%s" y="32">%s</text>', l + lx + 16, mlsys._html(s ->> 'name'));
        lx := lx + 24 + 6 * length(s ->> 'name');
    END LOOP;
    RETURN o || '</svg></figure>';
END $$;
COMMENT ON FUNCTION mlsys._svg_bars(text, text, text[], jsonb, int) IS
'An inline SVG grouped bar chart of proportions with axes, ticks, legend and a tooltip per bar (internal; mlsys.report).';

-- A feature's baseline and current distributions on the baseline's bins:
-- numeric grids are merged into at most 16 bars (plus values below and
-- above the grid), categories keep the baseline's order plus "other".
CREATE FUNCTION mlsys._report_bins(p_profile jsonb, p_current float8[],
                                   OUT labels text[], OUT baseline float8[], OUT current float8[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n int;
    g int;
    e float8;
    k0 float8;
    i int;
    j int;
    rb float8[];
    tb float8;
    tc float8;
    sb float8;
    sc float8;
BEGIN
    labels := '{}'; baseline := '{}'; current := '{}';
    IF p_profile ->> 'kind' = 'categorical' THEN
        rb := ARRAY(SELECT x::float8 FROM jsonb_array_elements_text(p_profile -> 'counts') x)
              || coalesce((p_profile ->> 'other')::float8, 0);
        labels := ARRAY(SELECT x FROM jsonb_array_elements_text(p_profile -> 'categories') x) || 'other'::text;
        labels := ARRAY(SELECT coalesce(x, '(null)') FROM unnest(labels) x);
        tb := (SELECT sum(x) FROM unnest(rb) x);
        tc := (SELECT sum(x) FROM unnest(p_current) x);
        baseline := ARRAY(SELECT CASE WHEN tb > 0 THEN x / tb ELSE 0 END FROM unnest(rb) x);
        IF p_current IS NOT NULL AND cardinality(p_current) = cardinality(rb) THEN
            current := ARRAY(SELECT CASE WHEN tc > 0 THEN x / tc ELSE 0 END FROM unnest(p_current) x);
        ELSE
            current := NULL;
        END IF;
        -- the "other" bar only when someone is in it
        IF rb[cardinality(rb)] = 0 AND coalesce(current[cardinality(rb)], 0) = 0 THEN
            labels := labels[1:cardinality(labels) - 1];
            baseline := baseline[1:cardinality(baseline) - 1];
            current := current[1:cardinality(rb) - 1];
        END IF;
        RETURN;
    END IF;
    rb := ARRAY(SELECT x::float8 FROM jsonb_array_elements_text(p_profile #> '{grid,counts}') x);
    n := coalesce(cardinality(rb), 0);
    IF n = 0 THEN
        RETURN;
    END IF;
    e := power(2::float8, (p_profile #>> '{grid,e}')::float8);
    k0 := (p_profile #>> '{grid,k0}')::float8;
    tb := (SELECT sum(x) FROM unnest(rb) x);
    IF p_current IS NOT NULL AND cardinality(p_current) = n + 2 THEN
        tc := (SELECT sum(x) FROM unnest(p_current) x);
        IF p_current[n + 1] > 0 THEN
            labels := labels || ('< ' || mlsys._fmt(k0 * e));
            baseline := baseline || 0::float8;
            current := current || CASE WHEN tc > 0 THEN p_current[n + 1] / tc ELSE 0 END;
        END IF;
    ELSE
        tc := NULL;
    END IF;
    g := ceil(n / 16.0)::int;
    i := 1;
    WHILE i <= n LOOP
        sb := 0; sc := 0;
        FOR j IN i..least(i + g - 1, n) LOOP
            sb := sb + rb[j];
            sc := sc + coalesce(p_current[j], 0);
        END LOOP;
        labels := labels || mlsys._fmt((k0 + i - 1) * e);
        baseline := baseline || CASE WHEN tb > 0 THEN sb / tb ELSE 0 END;
        current := current || CASE WHEN tc > 0 THEN sc / tc ELSE 0 END;
        i := i + g;
    END LOOP;
    IF tc IS NOT NULL AND p_current[n + 2] > 0 THEN
        labels := labels || ('≥ ' || mlsys._fmt((k0 + n) * e));
        baseline := baseline || 0::float8;
        current := current || p_current[n + 2] / tc;
    END IF;
    IF tc IS NULL THEN
        current := NULL;
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._report_bins(jsonb, float8[]) IS
'A feature''s baseline profile and the current counts a check stored, as bars of proportions on the baseline''s bins (internal; mlsys.report).';

-- The holdout sample drawn: an ROC curve (binary), a confusion matrix
-- (multiclass, the 12 commonest classes), predicted against actual
-- (regression); a note when there is no sample or it may not be read.
CREATE FUNCTION mlsys._report_holdout(p_model text, p_version int, p_task text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v mlsys.model_versions;
    h mlsys.holdout_samples;
    v_pts jsonb;
    v_n int;
    v_classes text[];
    o text;
    x record;
    y record;
    v_max float8;
BEGIN
    BEGIN
        SELECT * INTO h FROM mlsys.holdout_samples hs WHERE hs.model = p_model AND hs.version = p_version;
    EXCEPTION WHEN insufficient_privilege THEN
        RETURN '<p class="note">You may not read the holdout samples.</p>';
    END;
    IF h.model IS NULL THEN
        RETURN '<p class="note">No holdout sample of version ' || p_version || ' is kept (recommenders, imported versions and versions trained before mlsys 0.2 have none).</p>';
    END IF;
    SELECT * INTO v FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = p_version;
    v_n := cardinality(h.actual);
    IF p_task = 'binary' THEN
        -- the ROC curve: one point per distinct score, thinned to about 200
        WITH s AS (
            SELECT u.score, mlsys._is_positive(u.actual, coalesce(v.hyperparams ->> 'positive_class', v.classes[2]), v.target_type) AS pos
              FROM unnest(h.score, h.actual) u(score, actual) WHERE u.score IS NOT NULL AND u.actual IS NOT NULL
        ), c AS (
            SELECT s.score, sum(s.pos::int) OVER w AS tp, sum((NOT s.pos)::int) OVER w AS fp,
                   count(*) FILTER (WHERE s.pos) OVER () AS p, count(*) FILTER (WHERE NOT s.pos) OVER () AS n,
                   row_number() OVER (ORDER BY s.score DESC) AS k
              FROM s WINDOW w AS (ORDER BY s.score DESC RANGE UNBOUNDED PRECEDING)
        ), d AS (
            SELECT DISTINCT ON (c.score) c.* FROM c ORDER BY c.score DESC, c.k DESC
        ), t AS (
            SELECT d.*, row_number() OVER (ORDER BY d.score DESC) AS j, count(*) OVER () AS m FROM d
        )
        SELECT jsonb_build_array(jsonb_build_array(0, 0, 'threshold above every score: no positives predicted'))
               || coalesce(jsonb_agg(jsonb_build_array(t.fp::float8 / t.n, t.tp::float8 / t.p,
                      format('threshold %s: true positive rate %s, false positive rate %s', mlsys._fmt(t.score),
                             mlsys._fmt(t.tp::float8 / t.p), mlsys._fmt(t.fp::float8 / t.n))) ORDER BY t.score DESC), '[]')
          INTO v_pts
          FROM t WHERE t.p > 0 AND t.n > 0 AND (t.j % greatest(1, t.m / 200) = 0 OR t.j = t.m);
        IF jsonb_array_length(v_pts) < 2 THEN
            RETURN '<p class="note">The holdout sample has a single class: no ROC curve.</p>';
        END IF;
        RETURN mlsys._svg_lines('ROC curve on ' || mlsys._fmt(v_n) || ' holdout rows (auc ' || mlsys._fmt((v.metrics ->> 'auc')::float8) || ')',
                   'false positive rate', 'true positive rate', false,
                   jsonb_build_array(jsonb_build_object('name', 'version ' || p_version, 'color', '#0072B2', 'points', v_pts, 'radius', 2),
                                     jsonb_build_object('name', 'chance', 'color', '#999999', 'radius', 1,
                                                        'points', '[[0, 0, "chance"], [1, 1, "chance"]]'::jsonb)),
                   '[]', 460);
    ELSIF p_task = 'regression' THEN
        SELECT jsonb_agg(jsonb_build_array(u.actual::float8, u.score, format('actual %s, predicted %s', mlsys._fmt(u.actual::float8), mlsys._fmt(u.score))))
          INTO v_pts
          FROM (SELECT * FROM unnest(h.score, h.actual) q(score, actual)
                 WHERE q.score IS NOT NULL AND q.actual IS NOT NULL LIMIT 500) u;
        SELECT min(least(q.actual::float8, q.score)), max(greatest(q.actual::float8, q.score)) INTO x
          FROM unnest(h.score, h.actual) q(score, actual) WHERE q.score IS NOT NULL AND q.actual IS NOT NULL;
        RETURN mlsys._svg_lines('Predicted against actual on ' || mlsys._fmt(least(v_n, 500)) || ' holdout rows',
                   'actual ' || v.target, 'predicted', false,
                   jsonb_build_array(jsonb_build_object('name', 'holdout row', 'color', '#0072B2', 'points', coalesce(v_pts, '[]'),
                                                        'line', false, 'radius', 2),
                                     jsonb_build_object('name', 'predicted = actual', 'color', '#999999', 'radius', 1,
                                                        'points', jsonb_build_array(jsonb_build_array(x.min, x.min, 'predicted = actual'),
                                                                                    jsonb_build_array(x.max, x.max, 'predicted = actual')))),
                   '[]', 460);
    END IF;
    -- multiclass: a confusion matrix of the commonest actual classes
    v_classes := ARRAY(SELECT q.actual FROM unnest(h.actual) q(actual) WHERE q.actual IS NOT NULL
                        GROUP BY q.actual ORDER BY count(*) DESC, q.actual LIMIT 12);
    SELECT max(c) INTO v_max FROM (SELECT count(*) AS c FROM unnest(h.predicted, h.actual) q(p, a) GROUP BY q.p, q.a) z;
    o := '<p>Confusion matrix on ' || mlsys._fmt(v_n) || ' holdout rows (rows: actual class, columns: predicted class'
         || CASE WHEN cardinality(v_classes) = 12 THEN '; the 12 commonest classes' ELSE '' END || ').</p>'
         || '<table class="confusion"><tr><th>actual \ predicted</th>';
    FOR x IN SELECT c FROM unnest(v_classes) c LOOP
        o := o || '<th class="n">' || mlsys._html(x.c) || '</th>';
    END LOOP;
    o := o || '</tr>';
    FOR x IN SELECT c FROM unnest(v_classes) c LOOP
        o := o || '<tr><th>' || mlsys._html(x.c) || '</th>';
        FOR y IN SELECT pc.c AS pc, (SELECT count(*) FROM unnest(h.predicted, h.actual) q(p, a) WHERE q.a = x.c AND q.p = pc.c) AS k
                   FROM unnest(v_classes) pc(c) LOOP
            o := o || format('<td class="n" style="background:rgba(0,114,178,%s);color:%s" title="actual %s, predicted %s: %s rows">%s</td>',
                             round((y.k / greatest(v_max, 1) * 0.85)::numeric, 2),
                             CASE WHEN y.k / greatest(v_max, 1) > 0.5 THEN '#fff' ELSE '#222' END,
                             mlsys._html(x.c), mlsys._html(y.pc), mlsys._fmt(y.k), mlsys._fmt(y.k));
        END LOOP;
        o := o || '</tr>';
    END LOOP;
    RETURN o || '</table>';
END $$;
COMMENT ON FUNCTION mlsys._report_holdout(text, int, text) IS
'The report''s drawing of a version''s holdout sample: ROC curve, confusion matrix or predicted against actual (internal; mlsys.report).';

CREATE FUNCTION mlsys.report(model text, version int DEFAULT NULL) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_model text := report.model;
    v_version int := report.version;
    v_live int;
    v_task text;
    m record;
    mv record;
    d record;
    x record;
    o text := '';
    s text;
    v_series jsonb;
    v_lines jsonb;
    v_check bigint;
    v_count int;
    v_metric text;
    v_bins record;
    -- Okabe–Ito, safe for the common colour-vision deficiencies
    c_blue constant text := '#0072B2';
    c_orange constant text := '#E69F00';
    c_green constant text := '#009E73';
    c_red constant text := '#D55E00';
    c_sky constant text := '#56B4E9';
    c_purple constant text := '#CC79A7';
    c_grey constant text := '#666666';
BEGIN
    IF v_model IS NULL THEN
        RAISE EXCEPTION 'model must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT mm.* INTO m FROM mlsys.models mm WHERE mm.model = v_model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', v_model USING ERRCODE = 'undefined_object';
    END IF;
    -- a private model's report, like its other monitoring, needs its score privilege
    PERFORM mlsys._check_model_access(v_model);
    v_task := m.task;
    SELECT dd.version INTO v_live FROM mlsys.deployments dd WHERE dd.model = v_model ORDER BY dd.id DESC LIMIT 1;
    IF v_version IS NULL THEN
        v_version := coalesce(v_live, (SELECT max(vv.version) FROM mlsys.model_versions vv WHERE vv.model = v_model));
    END IF;
    SELECT vv.* INTO mv FROM mlsys.model_versions vv WHERE vv.model = v_model AND vv.version = v_version;
    IF NOT FOUND AND report.version IS NOT NULL THEN
        RAISE EXCEPTION 'version % of model "%" does not exist', report.version, v_model USING ERRCODE = 'undefined_object';
    ELSIF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no version', v_model USING ERRCODE = 'undefined_object',
            HINT = 'Train one with mlsys.train.';
    END IF;

    o := '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
      || '<meta name="viewport" content="width=device-width, initial-scale=1">'
      || '<meta name="generator" content="mlsys">'
      || '<title>Model ' || mlsys._html(v_model) || ', version ' || v_version || '</title><style>'
      || 'body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;margin:0 auto;max-width:980px;padding:16px 20px;background:#fff}'
      || 'h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;border-bottom:2px solid #0072B2;padding-bottom:3px;margin-top:1.6em}'
      || 'table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}'
      || 'td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}'
      || '.note{color:#555;font-style:italic}.drifted{color:#D55E00;font-weight:600}.ok{color:#009E73}'
      || 'figure{display:inline-block;margin:4px 6px 4px 0;vertical-align:top}svg.chart{max-width:100%;height:auto;background:#fcfcfc}'
      || '.ct{font-size:13px;font-weight:600;fill:#222}.tick{font-size:10px;fill:#444}.lab{font-size:11px;fill:#333}.leg{font-size:11px;fill:#222}'
      || '.axis{stroke:#444;stroke-width:1}.grid{stroke:#e4e4e4;stroke-width:1}.ref{stroke-width:1.5;stroke-dasharray:5 3}'
      || '.series{stroke-width:2}.lane{stroke:#ccc;stroke-width:1}'
      || 'dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:.5em 0}dt{color:#555}dd{margin:0}'
      || '@media print{@page{size:A4;margin:12mm}body{max-width:none;padding:0;font-size:10pt}section{break-inside:avoid}figure{break-inside:avoid}}'
      || '</style></head><body>';

    -- 1. header
    o := o || '<header><h1>Model ' || mlsys._html(v_model) || '</h1><section id="header"><dl>'
      || '<dt>Task</dt><dd>' || mlsys._html(v_task) || '</dd>'
      || '<dt>Version</dt><dd>' || v_version || ' (' || mlsys._html(mv.algorithm) || ')'
      || CASE WHEN v_live = v_version THEN ', live' WHEN v_live IS NULL THEN ', no version deployed'
              ELSE ', not live (live version: ' || v_live || ')' END || '</dd>';
    BEGIN
        SELECT dd.deployed_at, dd.deployed_by, dd.reason INTO d FROM mlsys.deployments dd
         WHERE dd.model = v_model AND dd.version = v_version ORDER BY dd.id DESC LIMIT 1;
        IF FOUND THEN
            o := o || '<dt>Deployed</dt><dd>' || to_char(d.deployed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC by '
                   || mlsys._html(d.deployed_by) || ' (' || mlsys._html(d.reason) || ')</dd>';
        ELSE
            o := o || '<dt>Deployed</dt><dd>never</dd>';
        END IF;
    END;
    o := o || '<dt>Trained</dt><dd>' || to_char(mv.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC by '
           || mlsys._html(mv.created_by) || ' in ' || mlsys._fmt(mv.training_seconds) || ' s</dd>'
           || '<dt>Training data</dt><dd>' || mlsys._html(mv.relation) || ', target ' || mlsys._html(mv.target) || ': '
           || mlsys._fmt(mv.train_rows) || ' training rows, ' || mlsys._fmt(mv.test_rows) || ' holdout rows</dd>'
           || '<dt>Fingerprint</dt><dd><code>' || mlsys._html(mv.data_fingerprint) || '</code></dd>'
           || '<dt>Features</dt><dd>' || mlsys._html(array_to_string(mv.feature_columns, ', ')) || '</dd>'
           || '<dt>Report written</dt><dd>' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC</dd>'
           || '</dl></section></header>';

    -- 2. versions and deployments on a timeline
    o := o || '<section id="timeline"><h2>Versions and deployments</h2>';
    BEGIN
        SELECT jsonb_agg(jsonb_build_array(extract(epoch FROM vv.created_at), 3,
                   format('version %s trained %s UTC (%s, %s rows)', vv.version,
                          to_char(vv.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), vv.algorithm, mlsys._fmt(vv.train_rows)))
                   ORDER BY vv.version)
          INTO v_series FROM mlsys.model_versions vv WHERE vv.model = v_model;
        v_series := jsonb_build_array(jsonb_build_object('name', 'trainings', 'color', c_blue, 'points', coalesce(v_series, '[]')));
        SELECT v_series || jsonb_build_array(jsonb_build_object('name', 'deployments', 'color', c_green, 'points',
                   coalesce(jsonb_agg(jsonb_build_array(extract(epoch FROM dd.deployed_at), 2,
                       format('version %s deployed %s UTC by %s (%s)%s', dd.version,
                              to_char(dd.deployed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), dd.deployed_by, dd.reason,
                              CASE WHEN dd.id = (SELECT max(z.id) FROM mlsys.deployments z WHERE z.model = v_model)
                                   THEN ', live' ELSE '' END)) ORDER BY dd.id), '[]')))
          INTO v_series FROM mlsys.deployments dd WHERE dd.model = v_model;
        BEGIN
            SELECT v_series || jsonb_build_array(jsonb_build_object('name', 'retrain decisions', 'color', c_orange, 'points',
                       coalesce(jsonb_agg(jsonb_build_array(extract(epoch FROM rd.decided_at), 1,
                           format('retrain %s %s UTC: challenger %s scored %s against champion %s''s %s (%s)', rd.decision,
                                  to_char(rd.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                                  coalesce(rd.challenger_version::text, '–'), mlsys._fmt(rd.challenger_score),
                                  coalesce(rd.champion_version::text, '–'), mlsys._fmt(rd.champion_score), rd.reason))
                           ORDER BY rd.id), '[]')))
              INTO v_series FROM mlsys.retrain_decisions rd WHERE rd.model = v_model;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        END;
        o := o || mlsys._svg_lines('Trainings, deployments and retrain decisions', 'time (UTC)', '',
                                   true, v_series, '[]', 940, '[[1, "retrain"], [2, "deployed"], [3, "trained"]]');
        o := o || '<table><tr><th>When (UTC)</th><th>Event</th><th>Version</th><th>By</th><th>Detail</th></tr>';
        FOR x IN
            SELECT * FROM (
                SELECT vv.created_at AS at, 'trained' AS ev, vv.version, vv.created_by::text AS who,
                       format('%s, %s training rows', vv.algorithm, mlsys._fmt(vv.train_rows)) AS detail
                  FROM mlsys.model_versions vv WHERE vv.model = v_model
                UNION ALL
                SELECT dd.deployed_at, CASE WHEN dd.reason = 'rollback' THEN 'rolled back' ELSE 'deployed' END,
                       dd.version, dd.deployed_by::text,
                       dd.reason || CASE WHEN dd.id = (SELECT max(z.id) FROM mlsys.deployments z WHERE z.model = v_model)
                                         THEN ' (live)' ELSE '' END
                  FROM mlsys.deployments dd WHERE dd.model = v_model) e
            ORDER BY e.at DESC LIMIT 30
        LOOP
            o := o || '<tr><td>' || to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || '</td><td>' || x.ev
                   || '</td><td class="n">' || x.version || '</td><td>' || mlsys._html(x.who) || '</td><td>'
                   || mlsys._html(x.detail) || '</td></tr>';
        END LOOP;
        o := o || '</table>';
    EXCEPTION WHEN insufficient_privilege THEN
        o := o || '<p class="note">You may not read this model''s versions or deployments.</p>';
    END;
    o := o || '</section>';

    -- 3. holdout quality
    o := o || '<section id="holdout"><h2>Holdout quality of version ' || v_version || '</h2><table><tr><th>Metric</th><th class="n">Holdout value</th></tr>';
    FOR x IN SELECT j.key, j.value FROM jsonb_each(mv.metrics) j WHERE jsonb_typeof(j.value) = 'number' ORDER BY j.key LOOP
        o := o || '<tr><td>' || mlsys._html(x.key) || '</td><td class="n">' || mlsys._fmt((x.value #>> '{}')::float8) || '</td></tr>';
    END LOOP;
    o := o || '</table>';
    o := o || mlsys._report_holdout(v_model, v_version, v_task);
    v_metric := CASE v_task WHEN 'regression' THEN 'rmse' WHEN 'binary' THEN 'auc' WHEN 'multiclass' THEN 'accuracy' END;
    IF v_metric IS NOT NULL THEN
        SELECT jsonb_agg(jsonb_build_array(vv.version, (vv.metrics ->> v_metric)::float8,
                   format('version %s: holdout %s %s', vv.version, v_metric, mlsys._fmt((vv.metrics ->> v_metric)::float8)))
                   ORDER BY vv.version)
          INTO v_series FROM mlsys.model_versions vv WHERE vv.model = v_model AND vv.metrics ? v_metric;
        o := o || mlsys._svg_lines('Holdout ' || v_metric || ' of every version', 'version', v_metric, false,
                     jsonb_build_array(jsonb_build_object('name', 'holdout ' || v_metric, 'color', c_blue, 'points', coalesce(v_series, '[]'))),
                     jsonb_build_array(jsonb_build_object('name', 'this version', 'color', c_green, 'y', (mv.metrics ->> v_metric)::float8)), 940);
    END IF;
    o := o || '</section>';

    -- 4. drift now, per feature: the latest check of this version
    o := o || '<section id="drift"><h2>Drift now</h2>';
    BEGIN
        SELECT max(h.check_id) INTO v_check FROM mlsys.drift_history h
         WHERE h.model = v_model AND h.version = v_version AND h.feature <> '<performance>';
        IF v_check IS NULL THEN
            o := o || '<p class="note">No drift check of version ' || v_version || ' yet: run mlsys.check on this model.</p>';
        ELSE
            o := o || '<p>Latest check: ' || to_char((SELECT max(h.checked_at) FROM mlsys.drift_history h WHERE h.check_id = v_check) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
                   || ' UTC, ' || mlsys._fmt((SELECT max(h.rows) FROM mlsys.drift_history h WHERE h.check_id = v_check)) || ' rows. Drifted features come first.</p>'
                   || '<table><tr><th>Feature</th><th class="n">PSI</th><th class="n">KS</th><th class="n">JS</th><th>Deciding metric</th><th class="n">Value</th><th class="n">Threshold</th><th>Drifted</th></tr>';
            v_count := 0;
            FOR x IN
                SELECT h.feature,
                       max(h.value) FILTER (WHERE h.metric = 'psi') AS psi,
                       max(h.value) FILTER (WHERE h.metric = 'ks') AS ks,
                       max(h.value) FILTER (WHERE h.metric = 'js') AS js,
                       max(h.metric) FILTER (WHERE h.threshold IS NOT NULL) AS metric,
                       max(h.value) FILTER (WHERE h.threshold IS NOT NULL) AS value,
                       max(h.threshold) AS threshold,
                       bool_or(h.drifted) AS drifted
                  FROM mlsys.drift_history h
                 WHERE h.check_id = v_check AND h.model = v_model AND h.feature <> '<performance>'
                 GROUP BY h.feature
                 ORDER BY bool_or(h.drifted) DESC NULLS LAST,
                          max(h.value) FILTER (WHERE h.threshold IS NOT NULL) / nullif(max(h.threshold), 0) DESC NULLS LAST,
                          h.feature
            LOOP
                o := o || '<tr><td>' || mlsys._html(x.feature) || '</td><td class="n">' || mlsys._fmt(x.psi)
                       || '</td><td class="n">' || mlsys._fmt(x.ks) || '</td><td class="n">' || mlsys._fmt(x.js)
                       || '</td><td>' || mlsys._html(x.metric) || '</td><td class="n">' || mlsys._fmt(x.value)
                       || '</td><td class="n">' || mlsys._fmt(x.threshold) || '</td><td>'
                       || CASE WHEN x.drifted THEN '<span class="drifted">drifted</span>' WHEN x.drifted IS NULL THEN '–'
                               ELSE '<span class="ok">no</span>' END || '</td></tr>';
            END LOOP;
            o := o || '</table>';
            -- the distributions, baseline against the current window (at most 24 features)
            s := '';
            FOR x IN
                SELECT h.feature, bool_or(h.drifted) AS drifted,
                       max(h.metric) FILTER (WHERE h.threshold IS NOT NULL) AS metric,
                       max(h.value) FILTER (WHERE h.threshold IS NOT NULL) AS value,
                       max(h.threshold) AS threshold,
                       (SELECT h2.current_counts FROM mlsys.drift_history h2
                         WHERE h2.check_id = v_check AND h2.model = v_model AND h2.feature = h.feature
                           AND h2.current_counts IS NOT NULL LIMIT 1) AS current_counts,
                       (SELECT f FROM mlsys.baselines bl,
                               jsonb_array_elements((bl.profile -> 'features') || jsonb_path_query_array(bl.profile, '$.prediction')) f
                         WHERE bl.model = v_model AND bl.version = v_version AND f ->> 'name' = h.feature LIMIT 1) AS profile
                  FROM mlsys.drift_history h
                 WHERE h.check_id = v_check AND h.model = v_model AND h.feature <> '<performance>'
                 GROUP BY h.feature
                 ORDER BY bool_or(h.drifted) DESC NULLS LAST,
                          max(h.value) FILTER (WHERE h.threshold IS NOT NULL) / nullif(max(h.threshold), 0) DESC NULLS LAST,
                          h.feature
                 LIMIT 24
            LOOP
                IF x.profile IS NULL THEN
                    s := s || '<p class="note">' || mlsys._html(x.feature) || ': no baseline profile.</p>';
                    CONTINUE;
                END IF;
                v_bins := mlsys._report_bins(x.profile, x.current_counts);
                s := s || mlsys._svg_bars(
                    x.feature || ': ' || coalesce(x.metric, 'drift') || ' ' || mlsys._fmt(x.value) || ' (threshold '
                        || mlsys._fmt(x.threshold) || ')' || CASE WHEN x.drifted THEN ', drifted' ELSE '' END,
                    CASE WHEN x.profile ->> 'kind' = 'categorical' THEN 'category' ELSE 'bin (lower edge)' END,
                    v_bins.labels,
                    jsonb_build_array(jsonb_build_object('name', 'baseline', 'color', c_blue, 'values', to_jsonb(v_bins.baseline)))
                    || CASE WHEN v_bins.current IS NULL THEN '[]'::jsonb
                            ELSE jsonb_build_array(jsonb_build_object('name', 'current window', 'color', c_orange, 'values', to_jsonb(v_bins.current))) END,
                    460);
            END LOOP;
            o := o || '<div>' || s || '</div>';
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN
        o := o || '<p class="note">You may not read the drift history or the baselines of this model.</p>';
    END;
    o := o || '</section>';

    -- 5. drift over time: the deciding metric of the last 30 days' checks
    o := o || '<section id="drift-history"><h2>Drift over time</h2>';
    BEGIN
        s := '';
        v_count := 0;
        FOR x IN
            -- at most one point per feature and 6 hours (the highest value), so
            -- checks every few minutes still draw 120 points a feature
            SELECT q.feature, max(q.metric) AS metric, max(q.threshold) AS threshold,
                   jsonb_agg(jsonb_build_array(extract(epoch FROM q.at), q.value,
                       format('%s UTC: %s %s%s%s', to_char(q.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), q.metric,
                              mlsys._fmt(q.value), CASE WHEN q.drifted THEN ', drifted' ELSE '' END,
                              CASE WHEN q.checks > 1 THEN format(' (the highest of %s checks in 6 hours)', q.checks) ELSE '' END))
                             ORDER BY q.at) AS points,
                   bool_or(q.drifted) AS drifted
              FROM (SELECT h.feature, max(h.metric) AS metric, max(h.threshold) AS threshold,
                           CASE WHEN count(*) = 1 THEN min(h.checked_at)
                                ELSE date_bin(interval '6 hours', h.checked_at, timestamptz '2000-01-01 00:00:00+00') END AS at,
                           max(h.value) AS value, bool_or(h.drifted) AS drifted, count(*) AS checks
                      FROM mlsys.drift_history h
                     WHERE h.model = v_model AND h.version = v_version AND h.threshold IS NOT NULL
                       AND h.feature <> '<performance>' AND h.checked_at >= now() - interval '30 days'
                     GROUP BY h.feature, date_bin(interval '6 hours', h.checked_at, timestamptz '2000-01-01 00:00:00+00')) q
             GROUP BY q.feature
             ORDER BY bool_or(q.drifted) DESC, q.feature
             LIMIT 24
        LOOP
            v_count := v_count + 1;
            s := s || mlsys._svg_lines(x.feature || ' (' || x.metric || ')', 'check time (UTC)', x.metric, true,
                          jsonb_build_array(jsonb_build_object('name', x.metric, 'color', c_blue, 'points', x.points)),
                          jsonb_build_array(jsonb_build_object('name', 'threshold', 'color', c_red, 'y', x.threshold)), 460);
        END LOOP;
        IF v_count = 0 THEN
            o := o || '<p class="note">No drift checks of version ' || v_version || ' in the last 30 days.</p>';
        ELSE
            o := o || '<div>' || s || '</div>';
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN
        o := o || '<p class="note">You may not read the drift history of this model.</p>';
    END;
    o := o || '</section>';

    -- 6. live performance over the last 14 days
    o := o || '<section id="performance"><h2>Live performance</h2>';
    BEGIN
        -- the rollup's closed days and today's predictions; a recommender's
        -- click-through comes from its impressions
        SELECT jsonb_agg(jsonb_build_array(extract(epoch FROM pf.bucket_start), pf.value,
                   format('%s: %s %s, %s of %s predictions labelled (%s%%)%s', to_char(pf.bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                          pf.metric, mlsys._fmt(pf.value), mlsys._fmt(pf.labeled), mlsys._fmt(pf.predictions),
                          mlsys._fmt(100.0 * pf.labeled / nullif(pf.predictions, 0)),
                          CASE WHEN mlsys._degraded(v_model, pf.metric, pf.value, (mv.metrics ->> pf.metric)::float8)
                               THEN ', degraded' ELSE '' END)) ORDER BY pf.bucket_start) AS pts,
               max(pf.metric) AS metric, max((mv.metrics ->> pf.metric)::float8) AS baseline, sum(pf.labeled)::float8 AS labeled,
               sum(pf.predictions)::float8 AS predictions
          INTO x
          FROM (SELECT b.bucket_start, b.version, b.predictions, b.labeled, b.metric, b.value
                  FROM mlsys._performance_days(v_model, 14) b WHERE v_task NOT LIKE 'recommender%'
                UNION ALL
                SELECT c.bucket_start, c.version, c.predictions, c.labeled, c.metric, c.value
                  FROM mlsys.performance(v_model, interval '1 day', date_bin(interval '1 day', now(), timestamptz '2000-01-01 00:00:00+00') - interval '13 days') c
                 WHERE v_task LIKE 'recommender%') pf
         WHERE pf.version = v_version;
        IF x.pts IS NULL OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(x.pts) q WHERE q ->> 1 IS NOT NULL) THEN
            o := o || '<p class="note">No labelled predictions of version ' || v_version
                   || ' in the last 14 days: record outcomes with mlsys.record_outcomes.</p>';
        ELSE
            o := o || '<p>' || mlsys._fmt(x.labeled) || ' labelled predictions' || ' ('
                   || mlsys._fmt(100.0 * x.labeled / nullif(x.predictions, 0)) || '% of ' || mlsys._fmt(x.predictions) || ') in the last 14 days.</p>'
                   || mlsys._svg_lines('Live ' || x.metric || ' per day', 'day (UTC)', x.metric, true,
                          jsonb_build_array(jsonb_build_object('name', 'live ' || x.metric, 'color', c_blue, 'points', x.pts)),
                          jsonb_build_array(jsonb_build_object('name', 'holdout', 'color', c_green, 'y', x.baseline),
                                            jsonb_build_object('name', 'degradation limit', 'color', c_red,
                                                               'y', mlsys._degradation_limit(v_model, x.metric, x.baseline))), 940);
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN
        o := o || '<p class="note">You may not read this model''s predictions.</p>';
    END;
    o := o || '</section>';

    -- 7. alerts: open, and resolved in the last 30 days
    o := o || '<section id="alerts"><h2>Alerts</h2>';
    BEGIN
        v_count := 0;
        s := '<table><tr><th>Opened (UTC)</th><th>Kind</th><th>Feature</th><th>Metric</th><th class="n">Value</th><th class="n">Threshold</th><th>Severity</th><th>State</th></tr>';
        FOR x IN
            SELECT a.* FROM mlsys.alerts a
             WHERE a.model = v_model AND (a.resolved_at IS NULL OR a.resolved_at >= now() - interval '30 days')
             ORDER BY a.resolved_at IS NULL DESC, a.created_at DESC LIMIT 50
        LOOP
            v_count := v_count + 1;
            s := s || '<tr><td>' || to_char(x.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || '</td><td>'
                   || mlsys._html(x.kind) || '</td><td>' || mlsys._html(coalesce(x.feature, '–')) || '</td><td>'
                   || mlsys._html(x.metric) || '</td><td class="n">' || mlsys._fmt(x.value) || '</td><td class="n">'
                   || mlsys._fmt(x.threshold) || '</td><td>' || mlsys._html(x.severity) || '</td><td>'
                   || CASE WHEN x.resolved_at IS NULL THEN '<span class="drifted">open</span>'
                           ELSE 'resolved ' || to_char(x.resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
                                || coalesce(' (' || mlsys._html(x.resolution) || ')', '') END || '</td></tr>';
        END LOOP;
        o := o || CASE WHEN v_count = 0 THEN '<p class="note">No open alerts and none resolved in the last 30 days.</p>'
                       ELSE s || '</table>' END;
    EXCEPTION WHEN insufficient_privilege THEN
        o := o || '<p class="note">You may not read the alerts of this model.</p>';
    END;
    o := o || '</section>';

    -- 8. prediction volume per day over the last 30 days: batch runs' rows
    -- and online calls, from their counters (no scan of the predictions)
    o := o || '<section id="volume"><h2>Prediction volume</h2>';
    v_series := '[]';
    BEGIN
        SELECT v_series || jsonb_build_array(jsonb_build_object('name', 'batch', 'color', c_blue, 'points',
                   jsonb_agg(jsonb_build_array(extract(epoch FROM q.day), q.n, format('%s: %s batch predictions', to_char(q.day, 'YYYY-MM-DD'), mlsys._fmt(q.n)))
                             ORDER BY q.day)))
          INTO v_series
          FROM (SELECT date_trunc('day', pr.started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day, sum(pr.rows)::float8 AS n
                  FROM mlsys.prediction_runs pr
                 WHERE pr.model = v_model AND pr.started_at >= now() - interval '30 days' AND pr.rows IS NOT NULL
                 GROUP BY 1) q
        HAVING count(*) > 0;
        v_series := coalesce(v_series, '[]');
    EXCEPTION WHEN insufficient_privilege THEN
        o := o || '<p class="note">You may not read the batch prediction runs of this model.</p>';
    END;
    BEGIN
        SELECT v_series || jsonb_build_array(jsonb_build_object('name', 'online calls', 'color', c_orange, 'points',
                   jsonb_agg(jsonb_build_array(extract(epoch FROM q.day), q.n, format('%s: %s online calls', to_char(q.day, 'YYYY-MM-DD'), mlsys._fmt(q.n)))
                             ORDER BY q.day)))
          INTO v_lines
          FROM (SELECT date_trunc('day', ot.hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day, sum(ot.calls)::float8 AS n
                  FROM mlsys.online_traffic ot
                 WHERE ot.model = v_model AND ot.hour >= now() - interval '30 days'
                 GROUP BY 1) q
        HAVING count(*) > 0;
        v_series := coalesce(v_lines, v_series);
    EXCEPTION WHEN insufficient_privilege THEN
        o := o || '<p class="note">You may not read the online traffic of this model.</p>';
    END;
    IF jsonb_array_length(v_series) = 0 THEN
        o := o || '<p class="note">No predictions in the last 30 days.</p>';
    ELSE
        o := o || mlsys._svg_lines('Predictions per day', 'day (UTC)', 'predictions', true, v_series, '[]', 940);
    END IF;
    o := o || '</section>';

    RETURN o || '<footer><p class="note">Written by mlsys ' || mlsys._html(mv.extension_version)
             || '. Times are UTC. Hover over a mark for its figures.</p></footer></body></html>';
END $$;
COMMENT ON FUNCTION mlsys.report(text, int) IS
'One self-contained HTML5 page about a model version (NULL: the live one): header, versions and deployments, holdout quality, drift now per feature (baseline against the latest check''s window), drift over time, live performance, alerts and prediction volume, as inline SVG charts with no scripts and no external references; sections the caller may not read, or without data yet, become notes.';

REVOKE EXECUTE ON FUNCTION mlsys._html(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._html(text) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._fmt(float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._fmt(float8) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._svg_lines(text, text, text, bool, jsonb, jsonb, int, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._svg_lines(text, text, text, bool, jsonb, jsonb, int, jsonb) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._svg_bars(text, text, text[], jsonb, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._svg_bars(text, text, text[], jsonb, int) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._report_bins(jsonb, float8[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._report_bins(jsonb, float8[]) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._capture_holdout_sample(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._capture_holdout_sample(text, int) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._report_holdout(text, int, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._report_holdout(text, int, text) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._performance_between(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._performance_between(text, timestamptz, timestamptz) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._refresh_rollup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._refresh_rollup(text) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys._performance_days(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys._performance_days(text, int) TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION mlsys.report(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlsys.report(text, int) TO mlsys_reader;
REVOKE ALL ON mlsys.holdout_samples FROM PUBLIC;
GRANT SELECT ON mlsys.holdout_samples TO mlsys_reader;
GRANT ALL ON mlsys.holdout_samples TO mlsys_admin;
GRANT INSERT, UPDATE ON mlsys.holdout_samples TO mlsys_trainer;
REVOKE ALL ON mlsys.prediction_rollup FROM PUBLIC;
GRANT SELECT ON mlsys.prediction_rollup TO mlsys_reader;
GRANT ALL ON mlsys.prediction_rollup TO mlsys_admin;
GRANT INSERT, UPDATE, DELETE ON mlsys.prediction_rollup TO mlsys_trainer;
GRANT UPDATE (stale) ON mlsys.prediction_rollup TO mlsys_reader;
-- private models: the same row-level security as the other tables with a model column
DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['holdout_samples', 'prediction_rollup'] LOOP
        EXECUTE pg_catalog.format('ALTER TABLE mlsys.%I ENABLE ROW LEVEL SECURITY', v_table);
        EXECUTE pg_catalog.format('CREATE POLICY mlsys_access ON mlsys.%I USING (true)', v_table);
        EXECUTE pg_catalog.format('CREATE POLICY private_models ON mlsys.%I AS RESTRICTIVE '
                                  'USING (NOT (model OPERATOR(pg_catalog.=) ANY ((SELECT mlsys._hidden_models())::text[])))', v_table);
    END LOOP;
END $$;
