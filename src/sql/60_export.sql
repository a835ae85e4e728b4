------------------------------------------------------------------------------
-- Export and import (src/export.c, src/import.c): a model version as a self-contained,
-- human-readable jsonb document, and back — how a model trained on an
-- analytics database is served on the OLTP one.
------------------------------------------------------------------------------

CREATE FUNCTION mlsys.export_model(model text, version int DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'export_model' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.export_model(text, int) IS
'A model version (NULL: the live one) as a jsonb document: algorithm, task, spec, preprocessing, classes, the parameters as named numbers in their shortest exact form, metrics, profile and data fingerprint. mlsys.import_model reads it back bit for bit.';

-- register an imported version: the spec and what describes it come from the
-- document (extension and server versions included: the ones it was trained
-- with); deployed (reason 'import') only when the model has no live version
CREATE FUNCTION mlsys._import_version(
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

CREATE FUNCTION mlsys.import_model(model text, doc jsonb) RETURNS int
    AS 'MODULE_PATHNAME', 'import_model' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys.import_model(text, jsonb) IS
'Registers a document from mlsys.export_model, or an XGBoost JSON model (Booster.save_model; algorithm boosted_trees), as a new version of a model (created when needed; an existing model must have the same task) and deploys it when the model has no live version; returns the version. A malformed, tampered or unsupported document is rejected with a class-22 error and registers nothing.';
