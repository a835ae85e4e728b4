-- mlsys install script (source of mlsys--0.1.sql).
-- Registry tables are the source of truth; C functions do the arithmetic.
-- Every SQL-language and PL/pgSQL function pins search_path, and every name
-- inside is schema-qualified, so objects in other schemas cannot hijack them.

\echo Use "CREATE EXTENSION mlsys" to load this file. \quit

------------------------------------------------------------------------------
-- Registry
------------------------------------------------------------------------------

CREATE TABLE mlsys.models (
    model        text PRIMARY KEY CHECK (model <> '' AND octet_length(model) < 64),
    task         text NOT NULL CHECK (task IN ('regression', 'binary', 'multiclass',
                                               'recommender_explicit', 'recommender_implicit')),
    last_version int NOT NULL DEFAULT 0,
    settings     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE mlsys.models IS 'One row per model name: its task and the last version number handed out.';
COMMENT ON COLUMN mlsys.models.settings IS 'Monitoring and retraining settings, set with mlsys.configure.';

CREATE TABLE mlsys.model_versions (
    model             text NOT NULL REFERENCES mlsys.models ON DELETE CASCADE,
    version           int NOT NULL CHECK (version > 0),
    algorithm         text NOT NULL,
    hyperparams       jsonb NOT NULL,
    relation          text NOT NULL,
    target            text NOT NULL,
    feature_columns   text[] NOT NULL,
    feature_lengths   int[] NOT NULL,
    features          text[] NOT NULL,
    test_size         float8 NOT NULL,
    seed              int NOT NULL,
    metrics           jsonb NOT NULL,
    train_rows        bigint NOT NULL,
    test_rows         bigint NOT NULL,
    training_seconds  float8 NOT NULL,
    data_fingerprint  text NOT NULL,
    params            bytea NOT NULL,
    profile           jsonb,
    preprocessing     jsonb,
    classes           text[],
    target_type       text,
    extension_version text NOT NULL,
    server_version    text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_by        name NOT NULL DEFAULT current_user,
    PRIMARY KEY (model, version)
);
COMMENT ON TABLE mlsys.model_versions IS 'Every trained model version: training spec, holdout metrics, data fingerprint, profile and serialized parameters.';
COMMENT ON COLUMN mlsys.model_versions.feature_columns IS 'Source columns in model order.';
COMMENT ON COLUMN mlsys.model_versions.feature_lengths IS 'Per source column: 0 for a scalar, n for a float8[] column of n elements.';
COMMENT ON COLUMN mlsys.model_versions.features IS 'Expanded feature names in model order (x[1], x[2], ... for arrays).';
COMMENT ON COLUMN mlsys.model_versions.data_fingerprint IS 'Order-independent hash of the training rows (features and target, both splits) and their count.';
COMMENT ON COLUMN mlsys.model_versions.preprocessing IS 'How rows become feature vectors: {"impute": method, "impute_values": {column: value}, "categories": {column: [categories in byte order, null = the NULL category]}}.';
COMMENT ON COLUMN mlsys.model_versions.classes IS 'Classifiers: the labels in class order (false then true, ascending integers, byte order for text).';
COMMENT ON COLUMN mlsys.model_versions.target_type IS 'The type of the target column at training time.';
COMMENT ON COLUMN mlsys.model_versions.params IS 'Serialized parameters: versioned header, payload and CRC-32C; never edit by hand.';

CREATE TABLE mlsys.deployments (
    id          bigserial PRIMARY KEY,
    model       text NOT NULL,
    version     int NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('manual', 'best_score', 'most_recent',
                                                'retrain', 'rollback', 'import')),
    previous_id bigint REFERENCES mlsys.deployments,
    deployed_at timestamptz NOT NULL DEFAULT now(),
    deployed_by name NOT NULL DEFAULT current_user,
    FOREIGN KEY (model, version) REFERENCES mlsys.model_versions ON DELETE CASCADE
);
CREATE INDEX deployments_model_id_idx ON mlsys.deployments (model, id DESC);
COMMENT ON TABLE mlsys.deployments IS 'History of real deployments; the row with the highest id per model names its live version.';
COMMENT ON COLUMN mlsys.deployments.previous_id IS 'The deployment this one was stacked on; rollback returns to it.';

CREATE TABLE mlsys.prediction_runs (
    run_id      bigserial PRIMARY KEY,
    model       text NOT NULL,
    version     int NOT NULL,
    relation    text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    rows        bigint,
    run_by      name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE mlsys.prediction_runs IS 'One row per mlsys.predict_batch call.';

CREATE TABLE mlsys.predictions (
    id              bigserial PRIMARY KEY,
    run_id          bigint NOT NULL,
    model           text NOT NULL,
    version         int NOT NULL,
    entity_id       text,
    prediction      float8,
    predicted_label text,
    probability     float8,
    label           text,
    predicted_at    timestamptz NOT NULL DEFAULT now(),
    labeled_at      timestamptz
);
CREATE INDEX predictions_model_time_idx ON mlsys.predictions (model, predicted_at);
CREATE INDEX predictions_run_idx ON mlsys.predictions (run_id);
COMMENT ON TABLE mlsys.predictions IS 'Batch scoring output; label (the actual outcome) is filled in later as feedback.';

SELECT pg_catalog.pg_extension_config_dump('mlsys.models', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.model_versions', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.deployments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.prediction_runs', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.prediction_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.predictions', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.predictions_id_seq', '');

-- Model cache invalidation (see src/cache.c)
CREATE FUNCTION mlsys._relation_name(regclass) RETURNS text
    AS 'MODULE_PATHNAME', 'relation_name' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._relation_name(regclass) IS 'A relation as messages name it: schema.relation, unquoted (internal).';

CREATE FUNCTION mlsys._registry_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'registry_changed' LANGUAGE C;
COMMENT ON FUNCTION mlsys._registry_changed() IS 'Trigger: tells every backend that cached models may be stale.';
CREATE TRIGGER registry_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mlsys.deployments
    FOR EACH STATEMENT EXECUTE FUNCTION mlsys._registry_changed();
CREATE TRIGGER registry_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mlsys.model_versions
    FOR EACH STATEMENT EXECUTE FUNCTION mlsys._registry_changed();

------------------------------------------------------------------------------
-- Training aggregates
------------------------------------------------------------------------------

CREATE FUNCTION mlsys._linreg_accum(bytea, float8, float8[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'linreg_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._linreg_accum(bytea, float8, float8[]) IS 'Transition function of mlsys.linreg_agg.';
CREATE FUNCTION mlsys._linreg_accum(bytea, float8, float8[], float8) RETURNS bytea
    AS 'MODULE_PATHNAME', 'linreg_accum_ridge' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._linreg_accum(bytea, float8, float8[], float8) IS 'Transition function of mlsys.linreg_agg with a ridge penalty.';
CREATE FUNCTION mlsys._linreg_split_accum(bytea, float8, float8[], int8, float8, text[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'linreg_split_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._linreg_split_accum(bytea, float8, float8[], int8, float8, text[]) IS 'Transition function of mlsys._linreg_split_agg.';
CREATE FUNCTION mlsys._linreg_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'linreg_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._linreg_combine(bytea, bytea) IS 'Combine function of the linear regression aggregates.';
CREATE FUNCTION mlsys._linreg_final(bytea) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'linreg_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._linreg_final(bytea) IS 'Final function of mlsys.linreg_agg: solves for the coefficients.';

CREATE AGGREGATE mlsys.linreg_agg(y float8, x float8[]) (
    SFUNC = mlsys._linreg_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._linreg_combine, FINALFUNC = mlsys._linreg_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys.linreg_agg(float8, float8[]) IS
'Ordinary least squares: coefficients of y on x, intercept first. Rows with a null y or x are skipped.';

CREATE AGGREGATE mlsys.linreg_agg(y float8, x float8[], alpha float8) (
    SFUNC = mlsys._linreg_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._linreg_combine, FINALFUNC = mlsys._linreg_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys.linreg_agg(float8, float8[], float8) IS
'Ridge regression (scikit-learn''s Ridge): minimizes ||y - Xw - b||^2 + alpha*||w||^2, intercept not penalized; intercept first.';

CREATE AGGREGATE mlsys._linreg_split_agg(float8, float8[], int8, float8, text[]) (
    SFUNC = mlsys._linreg_split_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._linreg_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._linreg_split_agg(float8, float8[], int8, float8, text[]) IS
'Training pass of mlsys.train: statistics of the training split, holdout count and data fingerprint (internal).';

CREATE FUNCTION mlsys._regression_holdout_accum(float8[], float8, float8[], int8, float8, float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'linreg_holdout_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._regression_holdout_accum(float8[], float8, float8[], int8, float8, float8[]) IS 'Transition function of mlsys._regression_holdout.';
CREATE FUNCTION mlsys._regression_metrics_combine(float8[], float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'regression_metrics_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._regression_metrics_combine(float8[], float8[]) IS 'Combine function of the regression metrics aggregates.';
CREATE FUNCTION mlsys._regression_metrics_final(float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'regression_metrics_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._regression_metrics_final(float8[]) IS 'Final function of the regression metrics aggregates: {n, rmse, mae, r2}.';

CREATE AGGREGATE mlsys._regression_holdout(float8, float8[], int8, float8, float8[]) (
    SFUNC = mlsys._regression_holdout_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0}',
    COMBINEFUNC = mlsys._regression_metrics_combine,
    FINALFUNC = mlsys._regression_metrics_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._regression_holdout(float8, float8[], int8, float8, float8[]) IS
'Evaluation pass of mlsys.train: {n, rmse, mae, r2} of a linear model on the holdout rows (internal).';
CREATE FUNCTION mlsys._regression_eval_accum(bytea, float8, float8[], int8, float8, float8[], bool, text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'regression_eval_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._regression_eval_accum(bytea, float8, float8[], int8, float8, float8[], bool, text) IS 'Transition function of mlsys._regression_eval.';
CREATE FUNCTION mlsys._regression_eval_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'regression_eval_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._regression_eval_combine(bytea, bytea) IS 'Combine function of mlsys._regression_eval.';
CREATE AGGREGATE mlsys._regression_eval(float8, float8[], int8, float8, float8[], bool, text) (
    SFUNC = mlsys._regression_eval_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._regression_eval_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys._regression_eval(float8, float8[], int8, float8, float8[], bool, text) IS
'Evaluation pass of mlsys.train for a linear model (target, feature vector, seed, test_size, coefficients, feature columns all present, target name): the holdout metrics and the drift baseline''s prediction and target profiles, as a state the training reads (internal).';

CREATE FUNCTION mlsys._logreg_step_accum(bytea, float8, float8[], int8, float8[], float8[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'logreg_step_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._logreg_step_accum(bytea, float8, float8[], int8, float8[], float8[]) IS 'Transition function of mlsys._logreg_step_agg.';
CREATE FUNCTION mlsys._logreg_step_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'logreg_step_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._logreg_step_combine(bytea, bytea) IS 'Combine function of mlsys._logreg_step_agg.';
CREATE AGGREGATE mlsys._logreg_step_agg(float8, float8[], int8, float8[], float8[]) (
    SFUNC = mlsys._logreg_step_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._logreg_step_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys._logreg_step_agg(float8, float8[], int8, float8[], float8[]) IS
'One Newton pass of logistic regression over the training rows (outside the stratified holdout of the cuts): loss, gradient and Hessian (internal).';
CREATE FUNCTION mlsys._logreg_fold_step_accum(bytea, float8, float8[], int8, float8[], int, float8[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'logreg_fold_step_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._logreg_fold_step_accum(bytea, float8, float8[], int8, float8[], int, float8[]) IS 'Transition function of mlsys._logreg_fold_step_agg.';
CREATE AGGREGATE mlsys._logreg_fold_step_agg(float8, float8[], int8, float8[], int, float8[]) (
    SFUNC = mlsys._logreg_fold_step_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._logreg_step_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys._logreg_fold_step_agg(float8, float8[], int8, float8[], int, float8[]) IS
'One Newton pass of logistic regression over every cross-validation fold but one (internal).';
CREATE FUNCTION mlsys._logreg_proba_fold(float8[], int8, int, float8[], float8, float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'logreg_proba_fold' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._logreg_proba_fold(float8[], int8, int, float8[], float8, float8[]) IS 'Positive-class probability of a row by the logistic model of its fold (internal).';
CREATE FUNCTION mlsys._logreg_proba(float8[], float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'logreg_proba' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._logreg_proba(float8[], float8[]) IS 'Positive-class probability of a logistic model given as its parameter vector (internal).';
CREATE FUNCTION mlsys._softmax_step_accum(bytea, float8, float8[], int8, float8[], float8[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'softmax_step_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._softmax_step_accum(bytea, float8, float8[], int8, float8[], float8[]) IS 'Transition function of mlsys._softmax_step_agg.';
CREATE FUNCTION mlsys._softmax_step_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'softmax_step_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._softmax_step_combine(bytea, bytea) IS 'Combine function of the multinomial logistic regression passes.';
CREATE AGGREGATE mlsys._softmax_step_agg(float8, float8[], int8, float8[], float8[]) (
    SFUNC = mlsys._softmax_step_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._softmax_step_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys._softmax_step_agg(float8, float8[], int8, float8[], float8[]) IS
'One Newton pass of multinomial logistic regression over the training rows: loss, gradient and Hessian (internal).';
CREATE FUNCTION mlsys._softmax_fold_step_accum(bytea, float8, float8[], int8, float8[], int, float8[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'softmax_fold_step_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._softmax_fold_step_accum(bytea, float8, float8[], int8, float8[], int, float8[]) IS 'Transition function of mlsys._softmax_fold_step_agg.';
CREATE AGGREGATE mlsys._softmax_fold_step_agg(float8, float8[], int8, float8[], int, float8[]) (
    SFUNC = mlsys._softmax_fold_step_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._softmax_step_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys._softmax_fold_step_agg(float8, float8[], int8, float8[], int, float8[]) IS
'One Newton pass of multinomial logistic regression over every cross-validation fold but one (internal).';
CREATE FUNCTION mlsys._softmax_eval(float8[], float8[], float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'softmax_eval' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._softmax_eval(float8[], float8[], float8) IS 'The predicted class index and the log-probability of the true class of a row under a multinomial model given as its parameter vector (internal).';
CREATE FUNCTION mlsys._softmax_holdout_accum(bytea, float8, float8[], int8, float8[], float8[], bool) RETURNS bytea
    AS 'MODULE_PATHNAME', 'softmax_holdout_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._softmax_holdout_accum(bytea, float8, float8[], int8, float8[], float8[], bool) IS 'Transition function of mlsys._softmax_holdout_agg.';
CREATE FUNCTION mlsys._softmax_holdout_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'softmax_holdout_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._softmax_holdout_combine(bytea, bytea) IS 'Combine function of mlsys._softmax_holdout_agg.';
CREATE AGGREGATE mlsys._softmax_holdout_agg(float8, float8[], int8, float8[], float8[], bool) (
    SFUNC = mlsys._softmax_holdout_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._softmax_holdout_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._softmax_holdout_agg(float8, float8[], int8, float8[], float8[], bool) IS
'Evaluation pass of a multinomial model (class index, feature vector, seed, cuts, parameters, every row): the confusion counts and summed log-likelihood of the stratified holdout rows, or of every row, from which accuracy, macro F1 and log loss follow (internal).';
CREATE FUNCTION mlsys._softmax_eval_fold(float8[], int8, int, float8[], float8, float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'softmax_eval_fold' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._softmax_eval_fold(float8[], int8, int, float8[], float8, float8[]) IS 'As mlsys._softmax_eval, by the multinomial model of the row''s fold (internal).';
CREATE FUNCTION mlsys._in_holdout(float8, float8[], int8, float8) RETURNS bool
    AS 'MODULE_PATHNAME', 'row_in_holdout' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._in_holdout(float8, float8[], int8, float8) IS 'Whether a row (target, feature vector) falls in the holdout for a seed and test_size (internal).';
CREATE FUNCTION mlsys._in_holdout(float8, float8[], int8, float8[]) RETURNS bool
    AS 'MODULE_PATHNAME', 'row_in_stratified_holdout' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._in_holdout(float8, float8[], int8, float8[]) IS 'Whether a classifier''s row (class index, feature vector) falls in the stratified holdout of the cuts, one per class (internal).';

-- the stratified split of classifiers (strata.c)
CREATE FUNCTION mlsys._strata_accum(bytea, float8, float8[], int8, int, float8, int, float8[], text[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'strata_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._strata_accum(bytea, float8, float8[], int8, int, float8, int, float8[], text[]) IS 'Transition function of mlsys._strata_agg.';
CREATE FUNCTION mlsys._strata_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'strata_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._strata_combine(bytea, bytea) IS 'Combine function of mlsys._strata_agg.';
CREATE FUNCTION mlsys._strata_final(bytea) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'strata_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._strata_final(bytea) IS 'Final function of mlsys._strata_agg: rows per class, then per cut its value (NaN if not yet placed) and the window to search next, then per cut the exact rows of its class below it.';
CREATE FUNCTION mlsys._logreg_folds_step_accum(bytea, float8, float8[], int8, float8[], float8[], bool[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'logreg_folds_step_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._logreg_folds_step_accum(bytea, float8, float8[], int8, float8[], float8[], bool[]) IS 'Transition function of mlsys._logreg_folds_step_agg.';
CREATE FUNCTION mlsys._logreg_folds_step_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'logreg_folds_step_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._logreg_folds_step_combine(bytea, bytea) IS 'Combine function of mlsys._logreg_folds_step_agg.';
CREATE AGGREGATE mlsys._logreg_folds_step_agg(float8, float8[], int8, float8[], float8[], bool[]) (
    SFUNC = mlsys._logreg_folds_step_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._logreg_folds_step_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._logreg_folds_step_agg(float8, float8[], int8, float8[], float8[], bool[]) IS
'One Newton pass of every active fold of a binary model''s cross-validation in one scan (label 0 or 1, feature vector, seed, fold cuts, one parameter vector per fold, active folds): per fold the state of mlsys._logreg_fold_step_agg (internal).';
CREATE AGGREGATE mlsys._strata_agg(float8, float8[], int8, int, float8, int, float8[], text[]) (
    SFUNC = mlsys._strata_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._strata_combine, FINALFUNC = mlsys._strata_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys._strata_agg(float8, float8[], int8, int, float8, int, float8[], text[]) IS
'One pass of the stratified split of a classifier (class index, feature vector, seed, classes, test_size, folds, windows, names): per class, the cuts on the content hash that hold out round(test_size * n) rows or cut the folds (internal).';
CREATE FUNCTION mlsys._linreg_strata_accum(bytea, float8, float8[], int8, float8[], text[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'linreg_strata_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._linreg_strata_accum(bytea, float8, float8[], int8, float8[], text[]) IS 'Transition function of mlsys._linreg_strata_agg.';
CREATE AGGREGATE mlsys._linreg_strata_agg(float8, float8[], int8, float8[], text[]) (
    SFUNC = mlsys._linreg_strata_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._linreg_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._linreg_strata_agg(float8, float8[], int8, float8[], text[]) IS
'First pass of a classifier: statistics of the training split (outside the stratified holdout of the cuts), holdout count and data fingerprint (internal).';
CREATE FUNCTION mlsys._linreg_strata_sample_accum(bytea, float8, float8[], int8, float8[], text[], int) RETURNS bytea
    AS 'MODULE_PATHNAME', 'linreg_strata_sample_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._linreg_strata_sample_accum(bytea, float8, float8[], int8, float8[], text[], int) IS 'Transition function of mlsys._linreg_strata_agg with a sample size.';
CREATE AGGREGATE mlsys._linreg_strata_agg(float8, float8[], int8, float8[], text[], int) (
    SFUNC = mlsys._linreg_strata_sample_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._linreg_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._linreg_strata_agg(float8, float8[], int8, float8[], text[], int) IS
'First pass of a classifier that also keeps a uniform sample of at most that many training rows (the rows of mlsys._train_sample_agg), for the starting point of logistic regression (internal).';
CREATE FUNCTION mlsys._train_sample_accum(bytea, float8, float8[], int8, float8[], int) RETURNS bytea
    AS 'MODULE_PATHNAME', 'train_sample_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._train_sample_accum(bytea, float8, float8[], int8, float8[], int) IS 'Transition function of mlsys._train_sample_agg.';
CREATE FUNCTION mlsys._train_sample_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'train_sample_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._train_sample_combine(bytea, bytea) IS 'Combine function of mlsys._train_sample_agg.';
CREATE AGGREGATE mlsys._train_sample_agg(float8, float8[], int8, float8[], int) (
    SFUNC = mlsys._train_sample_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._train_sample_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._train_sample_agg(float8, float8[], int8, float8[], int) IS
'A uniform sample of at most size training rows of a classifier (class index, feature vector, seed, cuts, size): the rows outside the stratified holdout with the largest second hash number, independent of scan order; logistic regression starts from its fit (internal).';
CREATE FUNCTION mlsys._train_sample_accum(bytea, float8, float8[], int8, float8[], int, float8) RETURNS bytea
    AS 'MODULE_PATHNAME', 'train_sample_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._train_sample_accum(bytea, float8, float8[], int8, float8[], int, float8) IS 'Transition function of mlsys._train_sample_agg with a threshold.';
CREATE AGGREGATE mlsys._train_sample_agg(float8, float8[], int8, float8[], int, float8) (
    SFUNC = mlsys._train_sample_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._train_sample_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._train_sample_agg(float8, float8[], int8, float8[], int, float8) IS
'A sample of at most size training rows among those whose second hash number is at least the threshold, the largest numbers first (internal).';
CREATE FUNCTION mlsys._linreg_strata_sample_accum(bytea, float8, float8[], int8, float8[], text[], int, float8) RETURNS bytea
    AS 'MODULE_PATHNAME', 'linreg_strata_sample_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._linreg_strata_sample_accum(bytea, float8, float8[], int8, float8[], text[], int, float8) IS 'Transition function of mlsys._linreg_strata_agg with a sample size and threshold.';
CREATE AGGREGATE mlsys._linreg_strata_agg(float8, float8[], int8, float8[], text[], int, float8) (
    SFUNC = mlsys._linreg_strata_sample_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._linreg_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._linreg_strata_agg(float8, float8[], int8, float8[], text[], int, float8) IS
'First pass of a classifier keeping the training sample of mlsys._train_sample_agg with a threshold (internal).';
CREATE FUNCTION mlsys._train_sample_rows(bytea) RETURNS TABLE (y float8, x float8[])
    AS 'MODULE_PATHNAME', 'train_sample_rows' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._train_sample_rows(bytea) IS 'The rows of a mlsys._train_sample_agg state in key order (internal; for tests and inspection).';

CREATE FUNCTION mlsys._feature_array(float8[], int, text) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'feature_array_checked' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._feature_array(float8[], int, text) IS 'A float8[] feature column value, checked for nulls and length (internal).';
CREATE FUNCTION mlsys._onehot(text, text[], bool) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'onehot_encode' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._onehot(text, text[], bool) IS 'One-hot encoding of a categorical value against a vocabulary in byte order, plus a NULL category when the flag is set (internal).';
CREATE FUNCTION mlsys._encode(columns text[], lengths int[], preprocessing jsonb, VARIADIC "any") RETURNS float8[]
    AS 'MODULE_PATHNAME', 'encode_features' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._encode(text[], int[], jsonb, "any") IS 'A row''s feature vector from its feature columns (given in the order of columns) as a model version with this feature spec and preprocessing encodes it: categorical columns one-hot, float8[] columns checked, numeric columns imputed (internal).';
CREATE FUNCTION mlsys._impute(float8, float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'impute_value' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._impute(float8, float8) IS 'A numeric feature value, or the imputed value when it is NULL or NaN (internal).';

------------------------------------------------------------------------------
-- Metrics as aggregates (scikit-learn's definitions; NULL rows skipped)
------------------------------------------------------------------------------

CREATE FUNCTION mlsys._regression_metrics_accum(float8[], float8, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'regression_metrics_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._regression_metrics_accum(float8[], float8, float8) IS 'Transition function of mlsys.rmse, mlsys.mae and mlsys.r2.';
CREATE FUNCTION mlsys._rmse_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'rmse_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._rmse_final(float8[]) IS 'Final function of mlsys.rmse.';
CREATE FUNCTION mlsys._mae_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'mae_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._mae_final(float8[]) IS 'Final function of mlsys.mae.';
CREATE FUNCTION mlsys._r2_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'r2_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._r2_final(float8[]) IS 'Final function of mlsys.r2.';

CREATE AGGREGATE mlsys.rmse(prediction float8, actual float8) (
    SFUNC = mlsys._regression_metrics_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0}',
    COMBINEFUNC = mlsys._regression_metrics_combine, FINALFUNC = mlsys._rmse_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.rmse(float8, float8) IS 'Root mean squared error: sqrt(avg((prediction - actual)^2)).';
CREATE AGGREGATE mlsys.mae(prediction float8, actual float8) (
    SFUNC = mlsys._regression_metrics_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0}',
    COMBINEFUNC = mlsys._regression_metrics_combine, FINALFUNC = mlsys._mae_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.mae(float8, float8) IS 'Mean absolute error: avg(abs(prediction - actual)).';
CREATE AGGREGATE mlsys.r2(prediction float8, actual float8) (
    SFUNC = mlsys._regression_metrics_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0}',
    COMBINEFUNC = mlsys._regression_metrics_combine, FINALFUNC = mlsys._r2_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.r2(float8, float8) IS 'Coefficient of determination: 1 - SSE / sum((actual - avg(actual))^2); for a constant actual, 1 when every prediction is exact, else 0 (scikit-learn''s r2_score).';

CREATE FUNCTION mlsys._sum2_combine(float8[], float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'sum2_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._sum2_combine(float8[], float8[]) IS 'Combine function of mlsys.accuracy and mlsys.log_loss.';
CREATE FUNCTION mlsys._mean2_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'mean2_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._mean2_final(float8[]) IS 'Final function of mlsys.accuracy and mlsys.log_loss: sum / n.';
CREATE FUNCTION mlsys._accuracy_accum(float8[], text, text) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'accuracy_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._accuracy_accum(float8[], text, text) IS 'Transition function of mlsys.accuracy.';
CREATE AGGREGATE mlsys.accuracy(predicted text, actual text) (
    SFUNC = mlsys._accuracy_accum, STYPE = float8[], INITCOND = '{0,0}',
    COMBINEFUNC = mlsys._sum2_combine, FINALFUNC = mlsys._mean2_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.accuracy(text, text) IS 'Share of rows whose predicted label equals the actual one (byte-wise equality).';
CREATE FUNCTION mlsys._log_loss_accum(float8[], float8, bool) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'log_loss_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._log_loss_accum(float8[], float8, bool) IS 'Transition function of mlsys.log_loss.';
CREATE AGGREGATE mlsys.log_loss(probability float8, label bool) (
    SFUNC = mlsys._log_loss_accum, STYPE = float8[], INITCOND = '{0,0}',
    COMBINEFUNC = mlsys._sum2_combine, FINALFUNC = mlsys._mean2_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.log_loss(float8, bool) IS 'Mean binary cross-entropy of the positive-class probability, clipped to [eps, 1 - eps] with eps the float8 machine epsilon (scikit-learn''s log_loss).';

CREATE FUNCTION mlsys._auc_accum(bytea, float8, bool) RETURNS bytea
    AS 'MODULE_PATHNAME', 'auc_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._auc_accum(bytea, float8, bool) IS 'Transition function of mlsys.auc.';
CREATE FUNCTION mlsys._auc_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'auc_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._auc_combine(bytea, bytea) IS 'Combine function of mlsys.auc.';
CREATE FUNCTION mlsys._auc_final(bytea) RETURNS float8
    AS 'MODULE_PATHNAME', 'auc_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._auc_final(bytea) IS 'Final function of mlsys.auc.';
CREATE AGGREGATE mlsys.auc(score float8, label bool) (
    SFUNC = mlsys._auc_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._auc_combine, FINALFUNC = mlsys._auc_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.auc(float8, bool) IS 'Exact area under the ROC curve, ties counted one half (scikit-learn''s roc_auc_score); keeps 16 bytes per row.';
CREATE FUNCTION mlsys._logreg_holdout_accum(bytea, float8, float8[], int8, float8[], float8[], bool) RETURNS bytea
    AS 'MODULE_PATHNAME', 'logreg_holdout_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._logreg_holdout_accum(bytea, float8, float8[], int8, float8[], float8[], bool) IS 'Transition function of mlsys._logreg_holdout_agg.';
CREATE AGGREGATE mlsys._logreg_holdout_agg(float8, float8[], int8, float8[], float8[], bool) (
    SFUNC = mlsys._logreg_holdout_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._auc_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._logreg_holdout_agg(float8, float8[], int8, float8[], float8[], bool) IS
'Evaluation pass of a binary logistic model (label 0 or 1, feature vector, seed, cuts, parameters, every row): the (probability, label) pairs of the stratified holdout rows, or of every row, as the state of mlsys.auc (internal).';
CREATE FUNCTION mlsys._binary_holdout_metrics(bytea, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'binary_holdout_metrics' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._binary_holdout_metrics(bytea, float8) IS 'The binary metrics of (probability, label) pairs at a threshold: {n, tp, fp, fn, log_loss, auc}, as mlsys.auc, mlsys.log_loss and the confusion counts give them (internal).';

CREATE FUNCTION mlsys._report_accum(bytea, text, text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'report_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._report_accum(bytea, text, text) IS 'Transition function of mlsys.classification_report.';
CREATE FUNCTION mlsys._report_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'report_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._report_combine(bytea, bytea) IS 'Combine function of mlsys.classification_report.';
CREATE FUNCTION mlsys._report_final(bytea) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'report_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._report_final(bytea) IS 'Final function of mlsys.classification_report.';
CREATE AGGREGATE mlsys.classification_report(predicted text, actual text) (
    SFUNC = mlsys._report_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._report_combine, FINALFUNC = mlsys._report_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.classification_report(text, text) IS
'Per-class precision, recall, f1-score and support, accuracy, macro and weighted averages as jsonb (scikit-learn''s classification_report with output_dict; 0 where a denominator is 0).';

------------------------------------------------------------------------------
-- Registry functions
------------------------------------------------------------------------------

-- lock a model's row (serializes deployments and version numbering); error if missing
CREATE FUNCTION mlsys._lock_model(p_model text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_model IS NULL THEN
        RAISE EXCEPTION 'model name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM 1 FROM mlsys.models m WHERE m.model = p_model FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', p_model USING ERRCODE = 'undefined_object';
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._lock_model(text) IS 'Locks a model''s row, or raises an error when the model does not exist (internal).';

-- insert a deployment on top of the model's current one
CREATE FUNCTION mlsys._insert_deployment(p_model text, p_version int, p_reason text) RETURNS bigint
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
    RETURN v_id;
END $$;
COMMENT ON FUNCTION mlsys._insert_deployment(text, int, text) IS 'Records a deployment stacked on the current one (internal).';

-- the primary metric of a task: its name and whether lower is better
CREATE FUNCTION mlsys._primary_metric(p_task text, OUT metric text, OUT lower_is_better bool)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE p_task WHEN 'regression' THEN 'rmse' WHEN 'binary' THEN 'auc'
                       WHEN 'multiclass' THEN 'log_loss' WHEN 'recommender_explicit' THEN 'rmse'
                       WHEN 'recommender_implicit' THEN 'ndcg_at_10' END,
           p_task NOT IN ('binary', 'recommender_implicit')
$$;
COMMENT ON FUNCTION mlsys._primary_metric(text) IS 'Primary metric of a task and its direction: rmse (lower is better) for regression, auc (higher) for binary, log_loss (lower) for multiclass, rmse / ndcg_at_10 for recommenders.';

CREATE FUNCTION mlsys._register_version(
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

------------------------------------------------------------------------------
-- Training
------------------------------------------------------------------------------

CREATE FUNCTION mlsys.train(
    model text, relation regclass, target text,
    features text[] DEFAULT NULL, algorithm text DEFAULT NULL,
    hyperparams jsonb DEFAULT '{}', test_size float8 DEFAULT 0.25,
    seed int DEFAULT 0, deploy text DEFAULT 'best_score')
RETURNS TABLE (model text, version int, algorithm text, metrics jsonb, deployed bool)
AS 'MODULE_PATHNAME', 'train' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys.train(text, regclass, text, text[], text, jsonb, float8, int, text) IS
'Trains a new version of a model on a table or view, evaluates it on a content-hashed holdout and deploys it per the deploy policy (best_score, most_recent, never).';

CREATE FUNCTION mlsys._fold(float8, float8[], int8, int) RETURNS int
    AS 'MODULE_PATHNAME', 'fold_of_row' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._fold(float8, float8[], int8, int) IS 'Cross-validation fold (1..folds) of a row from its content hash and the seed (internal).';
CREATE FUNCTION mlsys._fold(float8, float8[], int8, int, float8[]) RETURNS int
    AS 'MODULE_PATHNAME', 'stratified_fold_of_row' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._fold(float8, float8[], int8, int, float8[]) IS 'Stratified cross-validation fold (1..folds) of a classifier''s row (class index, feature vector) under the cuts of its class (internal).';
CREATE FUNCTION mlsys._predict_fold(float8[], int8, int, float8, float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'predict_fold' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._predict_fold(float8[], int8, int, float8, float8[]) IS 'Prediction for a row by the linear model of its fold (internal).';

CREATE FUNCTION mlsys.cross_validate(
    relation regclass, target text, features text[] DEFAULT NULL, algorithm text DEFAULT NULL,
    hyperparams jsonb DEFAULT '{}', folds int DEFAULT 5, seed int DEFAULT 0)
RETURNS TABLE (fold int, metrics jsonb)
AS 'MODULE_PATHNAME', 'cross_validate' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys.cross_validate(regclass, text, text[], text, jsonb, int, int) IS
'K-fold cross-validation with deterministic content-based folds: per fold, the metrics of a model trained on the other folds. Two passes over the relation whatever the number of folds; registers nothing.';

------------------------------------------------------------------------------
-- Hyperparameter tuning
------------------------------------------------------------------------------

CREATE SEQUENCE mlsys.tuning_id_seq;
CREATE TABLE mlsys.tuning_trials (
    id          bigserial PRIMARY KEY,
    tuning_id   bigint NOT NULL,
    model       text NOT NULL,
    trial       int NOT NULL,
    algorithm   text NOT NULL,
    hyperparams jsonb NOT NULL,
    metric      text NOT NULL,
    mean        float8,
    std         float8,
    folds       int NOT NULL,
    best        bool NOT NULL DEFAULT false,
    version     int,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  name NOT NULL DEFAULT current_user,
    UNIQUE (tuning_id, trial)
);
COMMENT ON TABLE mlsys.tuning_trials IS 'Every trial of mlsys.tune: hyperparameters and the cross-validated mean and population standard deviation of the primary metric (rmse for regression, auc for binary classifiers, log_loss for multiclass); best marks the trial trained as version.';
SELECT pg_catalog.pg_extension_config_dump('mlsys.tuning_trials', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.tuning_trials_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.tuning_id_seq', '');

-- the trials of a search space, in a canonical order: the grid of every list
-- (keys in jsonb order, values in list order) crossed with the random draws
-- 1..n of the {"min", "max", "log", "trials"} specs, drawn from the seed
CREATE FUNCTION mlsys._search_trials(p_search jsonb, p_seed int) RETURNS SETOF jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_grid jsonb := '[{}]';
    v_random jsonb := '{}';
    v_n int;
    v_key text;
    v_spec jsonb;
    v_point jsonb;
    v_trial jsonb;
    v_lo float8;
    v_hi float8;
    v_u float8;
    i int;
BEGIN
    IF p_search IS NULL OR jsonb_typeof(p_search) <> 'object' OR p_search = '{}' THEN
        RAISE EXCEPTION 'search must be a non-empty JSON object of hyperparameters'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example {"alpha": [0.1, 1, 10]} or {"alpha": {"min": 0.01, "max": 100, "log": true, "trials": 20}}.';
    END IF;
    FOR v_key, v_spec IN SELECT e.key, e.value FROM jsonb_each(p_search) e LOOP
        IF jsonb_typeof(v_spec) = 'array' THEN
            IF jsonb_array_length(v_spec) = 0 THEN
                RAISE EXCEPTION 'search space for hyperparameter "%" is empty', v_key
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            SELECT jsonb_agg(g.value || jsonb_build_object(v_key, x.value) ORDER BY g.ordinality, x.ordinality)
              INTO v_grid
              FROM jsonb_array_elements(v_grid) WITH ORDINALITY g,
                   jsonb_array_elements(v_spec) WITH ORDINALITY x;
        ELSIF jsonb_typeof(v_spec) = 'object' THEN
            IF NOT (v_spec ? 'min' AND v_spec ? 'max' AND v_spec ? 'trials')
               OR jsonb_typeof(v_spec -> 'min') <> 'number' OR jsonb_typeof(v_spec -> 'max') <> 'number'
               OR jsonb_typeof(v_spec -> 'trials') <> 'number'
               OR (v_spec ? 'log' AND jsonb_typeof(v_spec -> 'log') <> 'boolean')
               OR EXISTS (SELECT 1 FROM jsonb_object_keys(v_spec) k WHERE k NOT IN ('min', 'max', 'log', 'trials')) THEN
                RAISE EXCEPTION 'random search for hyperparameter "%" needs numbers "min", "max", "trials" and an optional boolean "log"', v_key
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF (v_spec ->> 'trials')::numeric < 1 OR (v_spec ->> 'trials')::numeric > 10000
               OR (v_spec ->> 'trials')::numeric <> trunc((v_spec ->> 'trials')::numeric) THEN
                RAISE EXCEPTION 'trials for hyperparameter "%" must be a whole number from 1 to 10000', v_key
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF (v_spec ->> 'min')::float8 > (v_spec ->> 'max')::float8
               OR (coalesce((v_spec ->> 'log')::bool, false) AND (v_spec ->> 'min')::float8 <= 0) THEN
                RAISE EXCEPTION 'search range for hyperparameter "%" is empty or not positive on a log scale', v_key
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF v_n IS NOT NULL AND v_n <> (v_spec ->> 'trials')::int THEN
                RAISE EXCEPTION 'every random search must have the same number of trials'
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            v_n := (v_spec ->> 'trials')::int;
            v_random := v_random || jsonb_build_object(v_key, v_spec);
        ELSE
            RAISE EXCEPTION 'search space for hyperparameter "%" must be a list of values or a random range', v_key
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    FOR v_point IN SELECT g.value FROM jsonb_array_elements(v_grid) WITH ORDINALITY g ORDER BY g.ordinality LOOP
        FOR i IN 1 .. coalesce(v_n, 1) LOOP
            v_trial := v_point;
            FOR v_key, v_spec IN SELECT e.key, e.value FROM jsonb_each(v_random) e LOOP
                -- u uniform in [0, 1) from the seed, the name and the draw number
                v_u := ('x' || substr(md5(p_seed::text || '/' || v_key || '/' || i::text), 1, 13))::bit(52)::bigint
                       / 4503599627370496.0;
                v_lo := (v_spec ->> 'min')::float8;
                v_hi := (v_spec ->> 'max')::float8;
                IF coalesce((v_spec ->> 'log')::bool, false) THEN
                    v_trial := v_trial || jsonb_build_object(v_key, exp(ln(v_lo) + v_u * (ln(v_hi) - ln(v_lo))));
                ELSE
                    v_trial := v_trial || jsonb_build_object(v_key, v_lo + v_u * (v_hi - v_lo));
                END IF;
            END LOOP;
            RETURN NEXT v_trial;
        END LOOP;
    END LOOP;
END $$;
COMMENT ON FUNCTION mlsys._search_trials(jsonb, int) IS 'The hyperparameter combinations of a search space, grid times random draws, in a canonical order (internal).';

CREATE FUNCTION mlsys._tune(
    p_model text, p_relation regclass, p_target text, p_search jsonb, p_features text[],
    p_algorithm text, p_folds int, p_seed int, p_deploy text,
    OUT o_model text, OUT o_version int, OUT o_algorithm text, OUT o_metrics jsonb,
    OUT o_deployed bool, OUT o_trials int)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_tuning bigint := nextval('mlsys.tuning_id_seq');
    v_metric text;
    v_lower bool;
    v_hp jsonb;
    v_mean float8;
    v_std float8;
    v_best_trial int;
    v_best_mean float8;
    v_best_hp jsonb;
    v_trial int := 0;
    v_algorithm text := coalesce(p_algorithm, 'linear');
    v_folds jsonb[];
    r record;
BEGIN
    IF p_model IS NULL OR p_folds IS NULL OR p_seed IS NULL OR p_deploy IS NULL THEN
        RAISE EXCEPTION 'model, folds, seed and deploy must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- each trial is cross-validated on the same folds, independently of the others
    FOR v_hp IN SELECT t FROM mlsys._search_trials(p_search, p_seed) t LOOP
        v_trial := v_trial + 1;
        SELECT array_agg(c.metrics ORDER BY c.fold) INTO v_folds
          FROM mlsys.cross_validate(p_relation, p_target, p_features, p_algorithm, v_hp, p_folds, p_seed) c;
        IF v_metric IS NULL THEN
            -- the task's primary metric: auc (binary), log_loss (multiclass), rmse (regression)
            SELECT pm.metric, pm.lower_is_better INTO v_metric, v_lower
              FROM mlsys._primary_metric(CASE WHEN v_folds[1] ? 'auc' THEN 'binary'
                                              WHEN v_folds[1] ? 'macro_f1' THEN 'multiclass'
                                              ELSE 'regression' END) pm;
            v_algorithm := CASE WHEN v_folds[1] ? 'log_loss' THEN 'logistic' ELSE v_algorithm END;
        END IF;
        SELECT avg((m ->> v_metric)::float8), stddev_pop((m ->> v_metric)::float8)
          INTO v_mean, v_std FROM unnest(v_folds) m;
        INSERT INTO mlsys.tuning_trials (tuning_id, model, trial, algorithm, hyperparams, metric, mean, std, folds)
        VALUES (v_tuning, p_model, v_trial, v_algorithm, v_hp, v_metric, v_mean, v_std, p_folds);
        -- strictly better only: on a tie the earlier trial in canonical order stays
        IF v_best_trial IS NULL OR (v_lower AND v_mean < v_best_mean) OR (NOT v_lower AND v_mean > v_best_mean) THEN
            v_best_trial := v_trial;
            v_best_mean := v_mean;
            v_best_hp := v_hp;
        END IF;
    END LOOP;
    SELECT * INTO r FROM mlsys.train(p_model, p_relation, p_target, p_features, p_algorithm,
                                     v_best_hp, 0.25, p_seed, p_deploy) t;
    UPDATE mlsys.tuning_trials t SET best = true, version = r.version
     WHERE t.tuning_id = v_tuning AND t.trial = v_best_trial;
    o_model := r.model;
    o_version := r.version;
    o_algorithm := r.algorithm;
    o_metrics := r.metrics;
    o_deployed := r.deployed;
    o_trials := v_trial;
END $$;
COMMENT ON FUNCTION mlsys._tune(text, regclass, text, jsonb, text[], text, int, int, text) IS 'Implementation of mlsys.tune (internal).';

CREATE FUNCTION mlsys.tune(
    model text, relation regclass, target text, search jsonb,
    features text[] DEFAULT NULL, algorithm text DEFAULT NULL, folds int DEFAULT 5,
    seed int DEFAULT 0, deploy text DEFAULT 'best_score')
RETURNS TABLE (model text, version int, algorithm text, metrics jsonb, deployed bool, trials int)
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT t.o_model, t.o_version, t.o_algorithm, t.o_metrics, t.o_deployed, t.o_trials
    FROM mlsys._tune($1, $2, $3, $4, $5, $6, $7, $8, $9) t
$$;
COMMENT ON FUNCTION mlsys.tune(text, regclass, text, jsonb, text[], text, int, int, text) IS
'Grid or random hyperparameter search by cross-validation: every trial is recorded in mlsys.tuning_trials, and the best is trained on the training split as a new version and deployed per the deploy policy.';

------------------------------------------------------------------------------
-- Deployment
------------------------------------------------------------------------------

CREATE FUNCTION mlsys.deploy(model text, version int) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_live int;
BEGIN
    IF deploy.version IS NULL THEN
        RAISE EXCEPTION 'version must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM mlsys._lock_model(deploy.model);
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

CREATE FUNCTION mlsys.rollback(model text) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_cur mlsys.deployments;
    v_prev mlsys.deployments;
BEGIN
    PERFORM mlsys._lock_model(rollback.model);
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

------------------------------------------------------------------------------
-- Scoring
------------------------------------------------------------------------------

CREATE FUNCTION mlsys.predict(model text, features record) RETURNS float8
    AS 'MODULE_PATHNAME', 'predict_record' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict(text, record) IS
'Scores a row with the live version; features are looked up by column name, other columns are ignored.';
CREATE FUNCTION mlsys.predict(model text, features float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'predict_array' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict(text, float8[]) IS
'Scores a feature vector already in model order (see mlsys.model_versions.features) with the live version.';
CREATE FUNCTION mlsys.predict(model text, features jsonb) RETURNS float8
    AS 'MODULE_PATHNAME', 'predict_jsonb' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict(text, jsonb) IS
'Scores a JSON object keyed by source column name (arrays for float8[] columns) with the live version.';
CREATE FUNCTION mlsys.predict(model text, version int, features record) RETURNS float8
    AS 'MODULE_PATHNAME', 'predict_record_version' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict(text, int, record) IS 'Scores a row with the given version.';
CREATE FUNCTION mlsys.predict(model text, version int, features float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'predict_array_version' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict(text, int, float8[]) IS 'Scores a feature vector with the given version.';
CREATE FUNCTION mlsys.predict(model text, version int, features jsonb) RETURNS float8
    AS 'MODULE_PATHNAME', 'predict_jsonb_version' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict(text, int, jsonb) IS 'Scores a JSON object with the given version.';

CREATE FUNCTION mlsys.predict_proba(model text, features record) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'predict_proba_record' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict_proba(text, record) IS 'Class probabilities of a row, in mlsys.classes order, by the live version of a classifier.';
CREATE FUNCTION mlsys.predict_proba(model text, features float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'predict_proba_array' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict_proba(text, float8[]) IS 'Class probabilities of a feature vector in model order, by the live version of a classifier.';
CREATE FUNCTION mlsys.predict_proba(model text, features jsonb) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'predict_proba_jsonb' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict_proba(text, jsonb) IS 'Class probabilities of a JSON object keyed by column name, by the live version of a classifier.';
CREATE FUNCTION mlsys.predict_proba(model text, version int, features record) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'predict_proba_record_version' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict_proba(text, int, record) IS 'Class probabilities of a row by a given version of a classifier.';
CREATE FUNCTION mlsys.predict_label(model text, features record) RETURNS text
    AS 'MODULE_PATHNAME', 'predict_label_record' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict_label(text, record) IS 'Predicted class label of a row (positive when its probability reaches the threshold) by the live version of a classifier.';
CREATE FUNCTION mlsys.predict_label(model text, features float8[]) RETURNS text
    AS 'MODULE_PATHNAME', 'predict_label_array' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict_label(text, float8[]) IS 'Predicted class label of a feature vector in model order by the live version of a classifier.';
CREATE FUNCTION mlsys.predict_label(model text, features jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'predict_label_jsonb' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict_label(text, jsonb) IS 'Predicted class label of a JSON object keyed by column name by the live version of a classifier.';
CREATE FUNCTION mlsys.predict_label(model text, version int, features record) RETURNS text
    AS 'MODULE_PATHNAME', 'predict_label_record_version' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.predict_label(text, int, record) IS 'Predicted class label of a row by a given version of a classifier.';
CREATE FUNCTION mlsys.classes(model text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'model_classes' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.classes(text) IS 'The class labels of the live version of a classifier, in the order of mlsys.predict_proba: false then true, ascending integers, byte order for text.';

CREATE FUNCTION mlsys.live_version(model text) RETURNS int
    AS 'MODULE_PATHNAME', 'live_version' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.live_version(text) IS 'The version mlsys.predict uses for a model (error with a hint when none is deployed).';

CREATE FUNCTION mlsys.warm(models text[] DEFAULT NULL) RETURNS int
    AS 'MODULE_PATHNAME', 'warm_models' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION mlsys.warm(text[]) IS
'Loads the live versions of the given models (NULL: every deployed model) into this connection''s model cache and returns how many; for a connection pool''s connect query.';

CREATE FUNCTION mlsys.cached_models()
RETURNS TABLE (model text, requested int, version int, bytes bigint, pins int)
    AS 'MODULE_PATHNAME', 'cached_models' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION mlsys.cached_models() IS
'The models this connection has cached (requested 0 = the live version), their memory and how many running statements use them.';

CREATE FUNCTION mlsys.features(model text, version int DEFAULT NULL)
RETURNS TABLE (ordinal int, feature text, coefficient float8)
AS 'MODULE_PATHNAME', 'model_features' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.features(text, int) IS
'The expanded features of a version (NULL: the live one) in model order with their coefficients; ordinal 0 is the intercept.';

CREATE FUNCTION mlsys.predict_batch(model text, relation regclass, id_column text) RETURNS bigint
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
    RETURN v_count;
END $$;
COMMENT ON FUNCTION mlsys.predict_batch(text, regclass, text) IS
'Scores every row of a relation with the live version into mlsys.predictions under a new run id; returns the row count.';

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
        "psi_threshold": 0.2, "js_threshold": 0.1, "features": {},
        "tolerance": 0.1, "auc_drop": 0.05,
        "min_improvement": 0.01, "metric": null, "min_rows": 1
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
            WHEN v_key = 'window' THEN
                IF jsonb_typeof(v_value) <> 'string' OR (v_value #>> '{}')::interval <= interval '0' THEN
                    RAISE EXCEPTION 'setting "window" must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
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
'Sets monitoring and retraining settings of a model (merged into the current ones; a null value restores the default) and returns them.';
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

------------------------------------------------------------------------------
-- Two-sample drift statistics (src/drift_*.c): exact, parallel-safe
-- aggregates over (value, is_current); rows with is_current = false are the
-- reference sample, true the current one, a NULL value or flag neither.
------------------------------------------------------------------------------

CREATE TYPE mlsys.ks_result AS (statistic float8, p_value float8);
COMMENT ON TYPE mlsys.ks_result IS 'Result of mlsys.ks_test: the two-sample Kolmogorov-Smirnov statistic D and its asymptotic p-value.';
CREATE TYPE mlsys.chi2_result AS (statistic float8, p_value float8, dof int);
COMMENT ON TYPE mlsys.chi2_result IS 'Result of mlsys.chi2_test: Pearson''s chi-square statistic, its p-value and degrees of freedom.';

-- numeric samples: ks_test, wasserstein, psi
CREATE FUNCTION mlsys._ks_accum(bytea, float8, bool) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ks_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._ks_accum(bytea, float8, bool) IS 'Transition function of mlsys.ks_test.';
CREATE FUNCTION mlsys._ks_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ks_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._ks_combine(bytea, bytea) IS 'Combine function of mlsys.ks_test.';
CREATE FUNCTION mlsys._ks_final(bytea) RETURNS mlsys.ks_result
    AS 'MODULE_PATHNAME', 'ks_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._ks_final(bytea) IS 'Final function of mlsys.ks_test.';
CREATE AGGREGATE mlsys.ks_test(value float8, is_current bool) (
    SFUNC = mlsys._ks_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._ks_combine, FINALFUNC = mlsys._ks_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.ks_test(float8, bool) IS
'Two-sided two-sample Kolmogorov-Smirnov test of the reference (is_current = false) against the current sample (true): statistic as scipy.stats.ks_2samp, p-value from Kolmogorov''s limiting distribution Q(sqrt(n*m/(n+m))*D) (scipy.stats.kstwobign.sf). NULL values skipped, NaN an error, infinities allowed; NULL when a sample is empty. Keeps 8 bytes per row.';

CREATE FUNCTION mlsys._wasserstein_accum(bytea, float8, bool) RETURNS bytea
    AS 'MODULE_PATHNAME', 'wasserstein_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._wasserstein_accum(bytea, float8, bool) IS 'Transition function of mlsys.wasserstein.';
CREATE FUNCTION mlsys._wasserstein_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'wasserstein_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._wasserstein_combine(bytea, bytea) IS 'Combine function of mlsys.wasserstein.';
CREATE FUNCTION mlsys._wasserstein_final(bytea) RETURNS float8
    AS 'MODULE_PATHNAME', 'wasserstein_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._wasserstein_final(bytea) IS 'Final function of mlsys.wasserstein.';
CREATE AGGREGATE mlsys.wasserstein(value float8, is_current bool) (
    SFUNC = mlsys._wasserstein_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._wasserstein_combine, FINALFUNC = mlsys._wasserstein_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.wasserstein(float8, bool) IS
'First Wasserstein (earth mover''s) distance between the reference (is_current = false) and current (true) samples, as scipy.stats.wasserstein_distance. NULL values skipped, NaN and infinities errors; NULL when a sample is empty. Keeps 8 bytes per row.';

CREATE FUNCTION mlsys._psi_accum(bytea, float8, bool) RETURNS bytea
    AS 'MODULE_PATHNAME', 'psi_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._psi_accum(bytea, float8, bool) IS 'Transition function of mlsys.psi with 10 bins.';
CREATE FUNCTION mlsys._psi_accum(bytea, float8, bool, int) RETURNS bytea
    AS 'MODULE_PATHNAME', 'psi_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._psi_accum(bytea, float8, bool, int) IS 'Transition function of mlsys.psi.';
CREATE FUNCTION mlsys._psi_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'psi_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._psi_combine(bytea, bytea) IS 'Combine function of mlsys.psi.';
CREATE FUNCTION mlsys._psi_final(bytea) RETURNS float8
    AS 'MODULE_PATHNAME', 'psi_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._psi_final(bytea) IS 'Final function of mlsys.psi.';
CREATE AGGREGATE mlsys.psi(value float8, is_current bool) (
    SFUNC = mlsys._psi_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._psi_combine, FINALFUNC = mlsys._psi_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.psi(float8, bool) IS
'Population stability index of the current (is_current = true) against the reference sample over 10 equal-frequency bins of the reference; see mlsys.psi(float8, bool, int).';
CREATE AGGREGATE mlsys.psi(value float8, is_current bool, bins int) (
    SFUNC = mlsys._psi_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._psi_combine, FINALFUNC = mlsys._psi_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.psi(float8, bool, int) IS
'Population stability index sum((cur% - ref%) * ln(cur% / ref%)) over bins cut at the reference quantiles k/bins (percentile_cont), equal edges merged, a value equal to an edge in the bin above it, an empty bin''s share 0.0001. bins between 2 and 1000. NULL values skipped, NaN and infinities errors; NULL when a sample is empty. Keeps 8 bytes per row.';

-- categorical samples: js_distance, chi2_test, linf_distance share a transition and combine function
CREATE FUNCTION mlsys._category_accum(bytea, text, bool) RETURNS bytea
    AS 'MODULE_PATHNAME', 'category_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._category_accum(bytea, text, bool) IS 'Transition function of mlsys.js_distance, mlsys.chi2_test and mlsys.linf_distance.';
CREATE FUNCTION mlsys._category_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'category_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._category_combine(bytea, bytea) IS 'Combine function of mlsys.js_distance, mlsys.chi2_test and mlsys.linf_distance.';
CREATE FUNCTION mlsys._js_distance_final(bytea) RETURNS float8
    AS 'MODULE_PATHNAME', 'js_distance_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._js_distance_final(bytea) IS 'Final function of mlsys.js_distance.';
CREATE FUNCTION mlsys._chi2_test_final(bytea) RETURNS mlsys.chi2_result
    AS 'MODULE_PATHNAME', 'chi2_test_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._chi2_test_final(bytea) IS 'Final function of mlsys.chi2_test.';
CREATE FUNCTION mlsys._linf_distance_final(bytea) RETURNS float8
    AS 'MODULE_PATHNAME', 'linf_distance_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._linf_distance_final(bytea) IS 'Final function of mlsys.linf_distance.';

CREATE AGGREGATE mlsys.js_distance(category text, is_current bool) (
    SFUNC = mlsys._category_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._category_combine, FINALFUNC = mlsys._js_distance_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.js_distance(text, bool) IS
'Jensen-Shannon distance (base 2, between 0 and 1) between the category frequencies of the reference (is_current = false) and current (true) samples, as scipy.spatial.distance.jensenshannon(p, q, base=2). NULL categories skipped; NULL when a sample is empty.';
CREATE AGGREGATE mlsys.chi2_test(category text, is_current bool) (
    SFUNC = mlsys._category_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._category_combine, FINALFUNC = mlsys._chi2_test_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.chi2_test(text, bool) IS
'Pearson''s chi-square test of homogeneity on the 2 x k table of category counts (reference and current sample), without Yates'' correction, as scipy.stats.chi2_contingency(correction=False). NULL categories skipped; NULL when a sample is empty.';
CREATE AGGREGATE mlsys.linf_distance(category text, is_current bool) (
    SFUNC = mlsys._category_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._category_combine, FINALFUNC = mlsys._linf_distance_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys.linf_distance(text, bool) IS
'L-infinity distance max |p - q| between the category frequencies of the reference (is_current = false) and current (true) samples. NULL categories skipped; NULL when a sample is empty.';
-- Column profiles of drift baselines as aggregates: PARALLEL SAFE with a
-- combine function and a bytea state, so training's passes gather them.
CREATE FUNCTION mlsys._profile_num_accum(bytea, float8, text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'profile_num_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._profile_num_accum(bytea, float8, text) IS 'Transition function of mlsys._profile_num_agg.';
CREATE FUNCTION mlsys._profile_num_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'profile_num_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._profile_num_combine(bytea, bytea) IS 'Combine function of mlsys._profile_num_agg.';
CREATE FUNCTION mlsys._profile_num_final(bytea) RETURNS text
    AS 'MODULE_PATHNAME', 'profile_num_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._profile_num_final(bytea) IS 'Final function of mlsys._profile_num_agg.';
CREATE AGGREGATE mlsys._profile_num_agg(float8, text) (
    SFUNC = mlsys._profile_num_accum, STYPE = bytea, FINALFUNC = mlsys._profile_num_final,
    COMBINEFUNC = mlsys._profile_num_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys._profile_num_agg(float8, text) IS
'The drift-baseline profile of a numeric column (value, column name): count, nulls, moments, grid and PSI bins, as JSON text (internal).';

CREATE FUNCTION mlsys._profile_cat_accum(bytea, text, text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'profile_cat_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._profile_cat_accum(bytea, text, text) IS 'Transition function of mlsys._profile_cat_agg.';
CREATE FUNCTION mlsys._profile_cat_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'profile_cat_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._profile_cat_combine(bytea, bytea) IS 'Combine function of mlsys._profile_cat_agg.';
CREATE FUNCTION mlsys._profile_cat_final(bytea) RETURNS text
    AS 'MODULE_PATHNAME', 'profile_cat_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._profile_cat_final(bytea) IS 'Final function of mlsys._profile_cat_agg.';
CREATE AGGREGATE mlsys._profile_cat_agg(text, text) (
    SFUNC = mlsys._profile_cat_accum, STYPE = bytea, FINALFUNC = mlsys._profile_cat_final,
    COMBINEFUNC = mlsys._profile_cat_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys._profile_cat_agg(text, text) IS
'The drift-baseline profile of a categorical column (value as text, column name): count, nulls, distinct and top categories, as JSON text (internal).';

-- The same state with each category's count among labelled rows: training
-- reads every categorical column's vocabulary and baseline profile from one
-- pass of these (the state is the result, read in C).
CREATE FUNCTION mlsys._category_accum(bytea, text, text, bool) RETURNS bytea
    AS 'MODULE_PATHNAME', 'vocabulary_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._category_accum(bytea, text, text, bool) IS 'Transition function of mlsys._category_agg.';
CREATE AGGREGATE mlsys._category_agg(text, text, bool) (
    SFUNC = mlsys._category_accum, STYPE = bytea,
    COMBINEFUNC = mlsys._profile_cat_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE mlsys._category_agg(text, text, bool) IS
'The categories of a column (value as text, column name, whether the row is labelled) with their counts over all rows and over labelled rows, as a bytea state: training''s vocabulary and categorical baseline in one pass (internal).';
------------------------------------------------------------------------------
-- Monitoring: baselines, the drift report, outcomes and live performance,
-- alerts with NOTIFY, drift history, dashboard views, retention
------------------------------------------------------------------------------

CREATE TABLE mlsys.baselines (
    model       text NOT NULL,
    version     int NOT NULL,
    profile     jsonb NOT NULL,
    captured_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, version),
    FOREIGN KEY (model, version) REFERENCES mlsys.model_versions ON DELETE CASCADE
);
COMMENT ON TABLE mlsys.baselines IS
'Drift baseline of each version: per feature column, the prediction and the target, counts, null rate, moments, a fixed-size equal-width histogram (grid), PSI edges and proportions, top categories.';
SELECT pg_catalog.pg_extension_config_dump('mlsys.baselines', '');

CREATE FUNCTION mlsys._predict_proba(model text, version int, features float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'predict_proba_array_version' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._predict_proba(text, int, float8[]) IS 'Class probabilities of a feature vector by the given version of a classifier (internal; baseline capture).';

CREATE FUNCTION mlsys._capture_baseline(model text, version int) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'capture_baseline' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys._capture_baseline(text, int) IS 'Profiles a version''s training relation in one pass (internal; see mlsys.capture_baseline).';

CREATE FUNCTION mlsys.capture_baseline(model text, version int DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_version int := capture_baseline.version;
    v_profile jsonb;
BEGIN
    IF capture_baseline.model IS NULL THEN
        RAISE EXCEPTION 'model must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF v_version IS NULL THEN
        v_version := mlsys.live_version(capture_baseline.model);
    END IF;
    v_profile := mlsys._capture_baseline(capture_baseline.model, v_version);
    INSERT INTO mlsys.baselines AS b (model, version, profile)
    VALUES (capture_baseline.model, v_version, v_profile)
    ON CONFLICT ON CONSTRAINT baselines_pkey DO UPDATE SET profile = EXCLUDED.profile, captured_at = now();
    RETURN v_profile;
END $$;
COMMENT ON FUNCTION mlsys.capture_baseline(text, int) IS
'(Re)captures the drift baseline of a version (NULL: the live one) from its training relation as it is now; mlsys.train calls it for every new version.';

CREATE FUNCTION mlsys._drift(model text, relation regclass, version int, time_column text, since timestamptz)
RETURNS TABLE (feature text, kind text, rows bigint, null_rate float8, psi float8, ks float8,
               wasserstein float8, js float8, linf float8, metric text, value float8,
               threshold float8, drifted bool)
AS 'MODULE_PATHNAME', 'drift_report' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys._drift(text, regclass, int, text, timestamptz) IS
'mlsys.drift over the rows whose time_column is at least since (internal; used by mlsys.check).';

CREATE FUNCTION mlsys.drift(model text, relation regclass, version int DEFAULT NULL)
RETURNS TABLE (feature text, kind text, rows bigint, null_rate float8, psi float8, ks float8,
               wasserstein float8, js float8, linf float8, metric text, value float8,
               threshold float8, drifted bool)
AS 'MODULE_PATHNAME', 'drift_report' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys.drift(text, regclass, int) IS
'Compares a relation with a version''s baseline (NULL: the live version) in one pass: one row per profiled feature and one for the prediction; metric, value and threshold decide drifted (defaults: psi >= 0.2 numeric, js >= 0.1 categorical; see mlsys.configure).';

------------------------------------------------------------------------------
-- Outcomes and live performance
------------------------------------------------------------------------------

CREATE INDEX predictions_model_entity_idx ON mlsys.predictions (model, entity_id);
CREATE INDEX predictions_time_idx ON mlsys.predictions (predicted_at);
-- mlsys.prediction_stats groups by the UTC day: a dashboard's "WHERE model = ... AND
-- day >= ..." reads only those days through this index
CREATE INDEX predictions_model_day_idx
    ON mlsys.predictions (model, date_trunc('day', predicted_at AT TIME ZONE 'UTC'));

CREATE FUNCTION mlsys.record_outcomes(model text, relation regclass, id_column text, label_column text)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_count bigint;
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
        'UPDATE mlsys.predictions p SET label = (s.%I)::pg_catalog.text, labeled_at = pg_catalog.now() '
        'FROM %s AS s WHERE p.model = $1 AND p.entity_id = (s.%I)::pg_catalog.text AND s.%I IS NOT NULL '
        'AND p.label IS DISTINCT FROM (s.%I)::pg_catalog.text',
        record_outcomes.label_column, record_outcomes.relation, record_outcomes.id_column,
        record_outcomes.label_column, record_outcomes.label_column)
    USING record_outcomes.model;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;
COMMENT ON FUNCTION mlsys.record_outcomes(text, regclass, text, text) IS
'Fills in label (as text) and labeled_at of the model''s logged predictions whose entity_id appears in the relation; returns the number of predictions updated.';

-- is an outcome (as text) the positive class of a binary model?
CREATE FUNCTION mlsys._is_positive(label text, positive text, target_type text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN label IS NULL THEN NULL
                WHEN target_type = 'boolean' THEN label::bool = positive::bool
                WHEN target_type IN ('smallint', 'integer', 'bigint', 'numeric')
                     AND label ~ '^\s*[-+]?[0-9]+(\.[0-9]*)?\s*$' THEN label::numeric = positive::numeric
                ELSE label = positive END
$$;
COMMENT ON FUNCTION mlsys._is_positive(text, text, text) IS 'Whether an outcome is the positive class of a binary model, comparing booleans and numbers by value (internal).';

-- the worst acceptable live value of a metric, given its holdout value
CREATE FUNCTION mlsys._degradation_limit(model text, metric text, baseline float8) RETURNS float8
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN metric IN ('rmse', 'log_loss') THEN baseline * (1 + (mlsys._setting(model, 'tolerance') #>> '{}')::float8)
        WHEN metric = 'auc' THEN baseline - (mlsys._setting(model, 'auc_drop') #>> '{}')::float8
        ELSE baseline * (1 - (mlsys._setting(model, 'tolerance') #>> '{}')::float8) END
$$;
COMMENT ON FUNCTION mlsys._degradation_limit(text, text, float8) IS
'Degradation rule: the limit is baseline*(1 + tolerance) for rmse and log_loss (lower is better), baseline - auc_drop for auc, baseline*(1 - tolerance) for accuracy (internal).';

CREATE FUNCTION mlsys._degraded(model text, metric text, value float8, baseline float8) RETURNS bool
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN metric IN ('rmse', 'log_loss') THEN value > mlsys._degradation_limit(model, metric, baseline)
                ELSE value < mlsys._degradation_limit(model, metric, baseline) END
$$;
COMMENT ON FUNCTION mlsys._degraded(text, text, float8, float8) IS 'Whether a live metric value is worse than the limit of mlsys._degradation_limit (internal).';

CREATE FUNCTION mlsys.performance(model text, bucket interval DEFAULT '1 day', since timestamptz DEFAULT NULL)
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
'Live primary metric per time bucket and version from labeled predictions (rmse for regression, auc for binary, accuracy for multiclass), against the holdout value recorded at training; degraded per mlsys.configure''s tolerance and auc_drop.';

------------------------------------------------------------------------------
-- Alerts and history
------------------------------------------------------------------------------

CREATE SEQUENCE mlsys.check_id_seq;
SELECT pg_catalog.pg_extension_config_dump('mlsys.check_id_seq', '');

CREATE TABLE mlsys.alerts (
    id          bigserial PRIMARY KEY,
    check_id    bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    model       text NOT NULL,
    version     int,
    kind        text NOT NULL CHECK (kind IN ('data_drift', 'prediction_drift', 'concept_drift')),
    feature     text,
    metric      text NOT NULL,
    value       float8,
    threshold   float8,
    detail      jsonb NOT NULL DEFAULT '{}',
    resolved_at timestamptz
);
CREATE INDEX alerts_model_time_idx ON mlsys.alerts (model, created_at);
CREATE INDEX alerts_open_idx ON mlsys.alerts (model) WHERE resolved_at IS NULL;
COMMENT ON TABLE mlsys.alerts IS 'One row per finding of mlsys.check; an alert is open until resolved_at is set.';
SELECT pg_catalog.pg_extension_config_dump('mlsys.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.alerts_id_seq', '');

CREATE TABLE mlsys.drift_history (
    id         bigserial PRIMARY KEY,
    check_id   bigint NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT now(),
    model      text NOT NULL,
    version    int,
    feature    text NOT NULL,
    metric     text NOT NULL,
    value      float8,
    threshold  float8,
    drifted    bool,
    rows       bigint
);
CREATE INDEX drift_history_model_time_idx ON mlsys.drift_history (model, checked_at);
CREATE INDEX drift_history_time_idx ON mlsys.drift_history (checked_at);
COMMENT ON TABLE mlsys.drift_history IS
'Every figure mlsys.check computed, alert or not: per check, feature and metric; threshold and drifted are set on the deciding metric (feature <performance> holds the live metric).';
SELECT pg_catalog.pg_extension_config_dump('mlsys.drift_history', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.drift_history_id_seq', '');

CREATE FUNCTION mlsys.check(model text) RETURNS SETOF mlsys.alerts
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_model text := $1;     -- "check" is a reserved word: the parameter cannot be qualified
    v_check bigint := nextval('mlsys.check_id_seq');
    v_version int;
    v_relation text := mlsys._setting(v_model, 'relation') #>> '{}';
    v_time_column text := mlsys._setting(v_model, 'time_column') #>> '{}';
    v_window interval := (mlsys._setting(v_model, 'window') #>> '{}')::interval;
    v_since timestamptz;
    d record;
    p record;
    a mlsys.alerts;
BEGIN
    PERFORM mlsys._lock_model(v_model);
    v_version := mlsys.live_version(v_model);
    IF v_window IS NOT NULL THEN
        v_since := now() - v_window;
    END IF;
    IF v_relation IS NOT NULL THEN
        IF v_time_column IS NULL AND v_window IS NOT NULL THEN
            RAISE EXCEPTION 'setting "window" of model "%" needs "time_column"', v_model
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR d IN SELECT * FROM mlsys._drift(v_model, v_relation::regclass, v_version,
                                             v_time_column, CASE WHEN v_time_column IS NOT NULL THEN v_since END) LOOP
            INSERT INTO mlsys.drift_history (check_id, model, version, feature, metric, value, threshold, drifted, rows)
            SELECT v_check, v_model, v_version, d.feature, x.metric, x.value,
                   CASE WHEN x.metric = d.metric THEN d.threshold END,
                   CASE WHEN x.metric = d.metric THEN d.drifted END, d.rows
              FROM (VALUES ('null_rate', d.null_rate), ('psi', d.psi), ('ks', d.ks),
                           ('wasserstein', d.wasserstein), ('js', d.js), ('linf', d.linf)) x(metric, value)
             WHERE x.value IS NOT NULL;
            IF d.drifted THEN
                INSERT INTO mlsys.alerts (check_id, model, version, kind, feature, metric, value, threshold, detail)
                VALUES (v_check, v_model, v_version,
                        CASE WHEN d.kind = 'prediction' THEN 'prediction_drift' ELSE 'data_drift' END,
                        d.feature, d.metric, d.value, d.threshold,
                        jsonb_build_object('relation', v_relation, 'rows', d.rows, 'null_rate', d.null_rate,
                                           'psi', d.psi, 'ks', d.ks, 'wasserstein', d.wasserstein,
                                           'js', d.js, 'linf', d.linf, 'since', v_since))
                RETURNING * INTO a;
                PERFORM pg_notify('mlsys_alerts', jsonb_build_object('id', a.id, 'model', a.model,
                                  'kind', a.kind, 'feature', left(a.feature, 200))::text);
                RETURN NEXT a;
            END IF;
        END LOOP;
    ELSE
        RAISE NOTICE 'model "%" has no "relation" setting: only its performance is checked', v_model
            USING HINT = 'Set one with mlsys.configure(model, ''{"relation": "..."}'').';
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
            INSERT INTO mlsys.alerts (check_id, model, version, kind, feature, metric, value, threshold, detail)
            VALUES (v_check, v_model, v_version, 'concept_drift', NULL, p.metric, p.value,
                    mlsys._degradation_limit(v_model, p.metric, p.baseline),
                    jsonb_build_object('bucket_start', p.bucket_start, 'predictions', p.predictions,
                                       'labeled', p.labeled, 'baseline', p.baseline,
                                       'tolerance', mlsys._setting(v_model, 'tolerance'),
                                       'auc_drop', mlsys._setting(v_model, 'auc_drop')))
            RETURNING * INTO a;
            PERFORM pg_notify('mlsys_alerts', jsonb_build_object('id', a.id, 'model', a.model,
                              'kind', a.kind, 'feature', a.feature)::text);
            RETURN NEXT a;
        END IF;
    END IF;
END $$;
COMMENT ON FUNCTION mlsys.check(text) IS
'Runs the drift report on the configured relation and window and the performance check for the live version, stores every figure in mlsys.drift_history, inserts one mlsys.alerts row per finding, sends NOTIFY mlsys_alerts {id, model, kind, feature} per alert and returns the alerts.';

------------------------------------------------------------------------------
-- Dashboard views and retention
------------------------------------------------------------------------------

CREATE VIEW mlsys.model_overview WITH (security_invoker = true) AS
SELECT m.model, m.task,
       d.version AS deployed_version,
       v.algorithm,
       v.created_at AS trained_at,
       v.train_rows,
       v.metrics AS holdout_metrics,
       (SELECT max(h.checked_at) FROM mlsys.drift_history h WHERE h.model = m.model) AS last_check_at,
       (SELECT count(*) FROM mlsys.alerts a WHERE a.model = m.model AND a.resolved_at IS NULL) AS open_alerts,
       lh.metric AS live_metric,
       lh.value AS live_value
  FROM mlsys.models m
  LEFT JOIN LATERAL (SELECT dd.version FROM mlsys.deployments dd WHERE dd.model = m.model
                      ORDER BY dd.id DESC LIMIT 1) d ON true
  LEFT JOIN mlsys.model_versions v ON v.model = m.model AND v.version = d.version
  -- the live figure of the deployed version only: a newer deployment shows NULL until checked
  LEFT JOIN LATERAL (SELECT h.metric, h.value FROM mlsys.drift_history h
                      WHERE h.model = m.model AND h.feature = '<performance>' AND h.version = d.version
                      ORDER BY h.checked_at DESC, h.id DESC LIMIT 1) lh ON true;
COMMENT ON VIEW mlsys.model_overview IS
'One row per model: deployed version, algorithm, trained at, training rows, holdout metrics, last check time, open alerts, latest live metric of the deployed version (from mlsys.check).';

CREATE VIEW mlsys.prediction_stats WITH (security_invoker = true) AS
SELECT p.model, p.version, date_trunc('day', p.predicted_at AT TIME ZONE 'UTC') AS day,
       count(*) AS predictions,
       avg(coalesce(p.probability, p.prediction)) AS mean_prediction,
       avg(CASE WHEN p.predicted_label IS NULL THEN NULL
                WHEN mlsys._is_positive(p.predicted_label, v.hyperparams ->> 'positive_class', v.target_type)
                THEN 1.0 ELSE 0.0 END) FILTER (WHERE m.task = 'binary') AS positive_rate,
       count(p.label) AS labeled,
       CASE m.task WHEN 'regression' THEN 'rmse' WHEN 'multiclass' THEN 'accuracy' WHEN 'binary' THEN 'accuracy' END AS live_metric,
       -- the cast sits inside the argument: the aggregate is computed over every row
       -- whatever the CASE branch, and a classifier's labels are not numbers
       CASE m.task WHEN 'regression' THEN mlsys.rmse(p.prediction, CASE WHEN m.task = 'regression' THEN p.label::float8 END)
                   ELSE mlsys.accuracy(p.predicted_label, p.label) END AS live_value
  FROM mlsys.predictions p
  JOIN mlsys.models m ON m.model = p.model
  JOIN mlsys.model_versions v ON v.model = p.model AND v.version = p.version
 GROUP BY p.model, p.version, date_trunc('day', p.predicted_at AT TIME ZONE 'UTC'), m.task;
COMMENT ON VIEW mlsys.prediction_stats IS
'Per model, version and UTC day (a timestamp without time zone): predictions, mean prediction (probability of the positive class for binary models), positive rate, labeled count and live metric (rmse for regression, accuracy of the labeled rows for classifiers).';

CREATE FUNCTION mlsys.prune(older_than interval)
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
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION mlsys.prune(interval) IS
'Deletes predictions and drift history older than the interval, and resolved alerts created before it; returns the counts.';
------------------------------------------------------------------------------
-- Lifecycle (src/sql/50_lifecycle.sql): retraining with a champion/challenger
-- decision, the training-run log, cleanup (drop_model, prune_versions),
-- reproducibility checks and pg_cron schedules.
--
-- Everything here works through SQL-level calls to mlsys.train, mlsys.predict
-- and the metric aggregates, so it keeps working when training learns new
-- feature kinds. pg_cron is optional: it is detected at call time and only
-- ever referenced through dynamic SQL.
------------------------------------------------------------------------------

CREATE TABLE mlsys.training_runs (
    id          bigserial PRIMARY KEY,
    model       text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('manual', 'tune', 'retrain', 'scheduled', 'import')),
    started_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at timestamptz,
    status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'skipped', 'failed')),
    rows        bigint,
    version     int,
    error       text,
    sqlstate    text,
    run_by      name NOT NULL DEFAULT current_user
);
CREATE INDEX training_runs_model_idx ON mlsys.training_runs (model, id DESC);
COMMENT ON TABLE mlsys.training_runs IS 'One row per training run (manual, tune, retrain, scheduled): start, end, status, rows, the version it produced and the error when it failed.';

CREATE TABLE mlsys.retrain_decisions (
    id                 bigserial PRIMARY KEY,
    model              text NOT NULL,
    run_id             bigint REFERENCES mlsys.training_runs ON DELETE SET NULL,
    decided_at         timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    champion_version   int,
    challenger_version int,
    metric             text,
    lower_is_better    bool,
    champion_score     float8,
    challenger_score   float8,
    min_improvement    float8,
    holdout_rows       bigint,
    deployed           bool NOT NULL,
    decision           text NOT NULL CHECK (decision IN ('deployed', 'kept', 'skipped')),
    reason             text NOT NULL,
    decided_by         name NOT NULL DEFAULT current_user
);
CREATE INDEX retrain_decisions_model_idx ON mlsys.retrain_decisions (model, id DESC);
COMMENT ON TABLE mlsys.retrain_decisions IS 'Every mlsys.retrain outcome: champion and challenger scored on the same fresh holdout, and why the challenger was or was not deployed.';

SELECT pg_catalog.pg_extension_config_dump('mlsys.training_runs', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.training_runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.retrain_decisions', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.retrain_decisions_id_seq', '');

------------------------------------------------------------------------------
-- Training-run log
------------------------------------------------------------------------------

-- A run opened by mlsys.retrain or a scheduled job announces itself in the
-- transaction-local setting mlsys.run_id, so that the version mlsys.train
-- inserts is attributed to it; any other inserted version is a manual (or
-- tuned) training that succeeded, unless its created_at is not now() (a
-- restore). Failed manual trainings roll back with
-- their transaction and leave no row.
CREATE FUNCTION mlsys._log_training_run() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run text := pg_catalog.current_setting('mlsys.run_id', true);
    v_kind text := 'manual';
BEGIN
    IF v_run = 'import' THEN
        v_kind := 'import';            -- mlsys.import_model (src/sql/60_export.sql)
    ELSIF v_run IS NOT NULL AND v_run <> '' THEN
        UPDATE mlsys.training_runs r
           SET version = NEW.version, rows = NEW.train_rows + NEW.test_rows
         WHERE r.id = v_run::bigint AND r.model = NEW.model;
        IF FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    -- a row that was not created now is not a training: pg_restore (or a
    -- copy) loading the registry, whose training_runs come with it
    IF NEW.created_at IS DISTINCT FROM pg_catalog.now() THEN
        RETURN NULL;
    END IF;
    -- mlsys.tune records its trials in this transaction before training the best one
    IF EXISTS (SELECT 1 FROM mlsys.tuning_trials t
                WHERE t.model = NEW.model AND t.xmin OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()::pg_catalog.xid) THEN
        v_kind := 'tune';
    END IF;
    INSERT INTO mlsys.training_runs (model, kind, started_at, finished_at, status, rows, version)
    VALUES (NEW.model, v_kind,
            pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => NEW.training_seconds),
            pg_catalog.clock_timestamp(), 'succeeded', NEW.train_rows + NEW.test_rows, NEW.version);
    RETURN NULL;
END $$;
COMMENT ON FUNCTION mlsys._log_training_run() IS 'Trigger: logs every inserted model version in mlsys.training_runs (internal).';
CREATE TRIGGER log_training_run AFTER INSERT ON mlsys.model_versions
    FOR EACH ROW EXECUTE FUNCTION mlsys._log_training_run();

CREATE FUNCTION mlsys._run_start(p_model text, p_kind text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO mlsys.training_runs (model, kind) VALUES (p_model, p_kind) RETURNING id INTO v_id;
    PERFORM pg_catalog.set_config('mlsys.run_id', v_id::text, true);
    RETURN v_id;
END $$;
COMMENT ON FUNCTION mlsys._run_start(text, text) IS 'Opens a training run and makes it the current one of the transaction (internal).';

CREATE FUNCTION mlsys._run_finish(p_run bigint, p_status text, p_error text DEFAULT NULL, p_sqlstate text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE mlsys.training_runs r
       SET status = p_status, finished_at = pg_catalog.clock_timestamp(), error = p_error, sqlstate = p_sqlstate
     WHERE r.id = p_run;
    PERFORM pg_catalog.set_config('mlsys.run_id', '', true);
END $$;
COMMENT ON FUNCTION mlsys._run_finish(bigint, text, text, text) IS 'Closes a training run with its status (internal).';

------------------------------------------------------------------------------
-- Retraining: champion against challenger on the same fresh holdout
------------------------------------------------------------------------------

-- The type a classifier's labels are compared in: the target column's base
-- type (classify.c casts the class literals to it), as SQL text.
CREATE FUNCTION mlsys._target_base_type(p_relation regclass, p_target text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_typid oid;
BEGIN
    SELECT att.atttypid INTO v_typid FROM pg_catalog.pg_attribute att
     WHERE att.attrelid = p_relation AND att.attname = p_target AND att.attnum > 0 AND NOT att.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', p_target, mlsys._relation_name(p_relation) USING ERRCODE = 'undefined_column';
    END IF;
    WHILE (SELECT t.typtype FROM pg_catalog.pg_type t WHERE t.oid = v_typid) = 'd' LOOP
        SELECT t.typbasetype INTO v_typid FROM pg_catalog.pg_type t WHERE t.oid = v_typid;
    END LOOP;
    RETURN pg_catalog.format_type(v_typid, NULL);
END $$;
COMMENT ON FUNCTION mlsys._target_base_type(regclass, text) IS 'The base type of a target column as SQL text, the type classifier labels are compared in (internal).';

-- A CASE over the classes (in mlsys.classes order) of a classifier: when the
-- value p_value equals class k (compared in p_type, as classify.c does), the
-- result is format(p_result, k + p_offset); NULL for any other value.
CREATE FUNCTION mlsys._class_case(p_value text, p_classes text[], p_type text, p_result text, p_offset int DEFAULT 0)
RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT '(CASE (' || p_value || ')'
           || pg_catalog.string_agg(pg_catalog.format(' WHEN %L::%s THEN ', c.label, p_type)
                                    || pg_catalog.format(p_result, c.k - 1 + p_offset), '' ORDER BY c.k)
           || ' END)'
      FROM pg_catalog.unnest(p_classes) WITH ORDINALITY c(label, k)
$$;
COMMENT ON FUNCTION mlsys._class_case(text, text[], text, text, int) IS 'SQL CASE mapping a label to an expression of its class index (internal).';

-- THE holdout step. A SQL boolean expression, over the row alias p_alias of
-- the version's relation, that is true exactly for the rows mlsys.train holds
-- out for that version's spec (target, feature columns, seed, test_size): the
-- same content hash (mlsys._in_holdout) of the same feature vector and target
-- encoding as the C training code builds (features.c, classify.c). Rows with
-- a null target never count. With test_size 0 every row counts, as in
-- mlsys.train's own evaluation. mlsys._retrain checks the count against the
-- challenger's test_rows, so a drift between this and the C side is caught.
-- It follows features.c's feature vector (one-hot categoricals, float8[]
-- columns, imputed scalars) and classify.c's target encodings (binary: 1 for
-- the positive class; multiclass: the class index). A classifier's holdout is
-- stratified: its cuts on the content hash, one per class, are stored in the
-- version's metrics.split (strata.c). When the split or the feature vector
-- changes, this is the one function to adapt. (Recommenders:
-- mlsys._recommender_holdout_query.)
CREATE FUNCTION mlsys._holdout_predicate(p_model text, p_version int, p_alias text DEFAULT 'r') RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v mlsys.model_versions;
    v_rel regclass;
    v_x text := '';
    v_y text;
    v_target_type text;
    v_positive text;
    a text := pg_catalog.quote_ident(p_alias);
BEGIN
    SELECT * INTO v FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = p_version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of model "%" does not exist', p_version, p_model USING ERRCODE = 'undefined_object';
    END IF;
    v_rel := v.relation::regclass;
    -- the feature vector as features.c builds it: one call of the encoder
    -- (categorical columns one-hot against the version's vocabulary, float8[]
    -- columns length-checked, scalars with the version's imputed values)
    v_x := pg_catalog.format('mlsys._encode(%L::pg_catalog.text[], %L::pg_catalog.int4[], %L::pg_catalog.jsonb',
                             v.feature_columns, v.feature_lengths, v.preprocessing)
           || (SELECT pg_catalog.string_agg(pg_catalog.format(', %s.%I', a, u.col), '' ORDER BY u.ord)
                 FROM pg_catalog.unnest(v.feature_columns) WITH ORDINALITY u(col, ord))
           || ')';
    -- the target as training hashes it
    IF v.classes IS NULL THEN
        v_y := pg_catalog.format('(%s.%I)::pg_catalog.float8', a, v.target);
    ELSIF pg_catalog.cardinality(v.classes) = 2 THEN
        SELECT pg_catalog.format_type(att.atttypid, att.atttypmod) INTO v_target_type FROM pg_catalog.pg_attribute att
         WHERE att.attrelid = v_rel AND att.attname = v.target AND att.attnum > 0 AND NOT att.attisdropped;
        v_positive := COALESCE(v.hyperparams ->> 'positive_class', v.classes[2]);
        v_y := pg_catalog.format('(CASE WHEN (%s.%I) = %L::%s THEN 1 WHEN (%s.%I) IS NOT NULL THEN 0 END)::pg_catalog.float8',
                                 a, v.target, v_positive, v_target_type, a, v.target);
    ELSE
        -- multiclass (classify.c): the class index 0 .. K - 1 in mlsys.classes order
        v_y := mlsys._class_case(pg_catalog.format('%s.%I', a, v.target), v.classes,
                                 mlsys._target_base_type(v_rel, v.target), '%s') || '::pg_catalog.float8';
    END IF;
    -- classifiers: the stratified holdout of the version's cuts (strata.c), one per class
    IF v.classes IS NOT NULL AND v.metrics -> 'split' -> 'cuts' IS NOT NULL THEN
        RETURN pg_catalog.format('(%s.%I IS NOT NULL AND (%s OR mlsys._in_holdout(%s, %s, %s, %L::pg_catalog.float8[])))',
                                 a, v.target, CASE WHEN v.test_size = 0 THEN 'true' ELSE 'false' END,
                                 v_y, v_x, v.seed,
                                 -- the stored digits, not a float8 printed under extra_float_digits
                                 (SELECT '{' OPERATOR(pg_catalog.||) pg_catalog.string_agg(c.value, ',' ORDER BY c.ord) OPERATOR(pg_catalog.||) '}'
                                    FROM pg_catalog.jsonb_array_elements_text(v.metrics -> 'split' -> 'cuts') WITH ORDINALITY c(value, ord)));
    END IF;
    RETURN pg_catalog.format('(%s.%I IS NOT NULL AND (%s OR mlsys._in_holdout(%s, %s, %s, %s)))',
                             a, v.target, CASE WHEN v.test_size = 0 THEN 'true' ELSE 'false' END,
                             v_y, v_x, v.seed, v.test_size);
END $$;
COMMENT ON FUNCTION mlsys._holdout_predicate(text, int, text) IS
'SQL predicate over a row alias of a version''s relation: true for the rows mlsys.train holds out for that version''s spec (internal; the one place that knows the split).';

-- the metric a retrain compares on (the "metric" setting or the task's
-- primary metric) and its direction
CREATE FUNCTION mlsys._retrain_metric(p_model text, p_task text, OUT metric text, OUT lower_is_better bool)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    metric := mlsys._setting(p_model, 'metric') #>> '{}';
    IF metric IS NULL THEN
        SELECT pm.metric INTO metric FROM mlsys._primary_metric(p_task) pm;
    END IF;
    IF NOT ((p_task = 'regression' AND metric IN ('rmse', 'mae', 'r2'))
            OR (p_task = 'binary' AND metric IN ('auc', 'log_loss', 'accuracy'))
            OR (p_task = 'multiclass' AND metric IN ('log_loss', 'accuracy', 'macro_f1'))
            OR (p_task = 'recommender_explicit' AND metric IN ('rmse', 'mae', 'ndcg_at_10', 'precision_at_10', 'recall_at_10', 'map_at_10'))
            OR (p_task = 'recommender_implicit' AND metric IN ('ndcg_at_10', 'precision_at_10', 'recall_at_10', 'map_at_10'))) THEN
        RAISE EXCEPTION 'retraining cannot compare % models on metric "%"', p_task, metric
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Regression models compare on rmse, mae or r2, binary classifiers on auc, log_loss or accuracy, '
                         'multiclass ones on log_loss, accuracy or macro_f1, recommenders on rmse or mae (explicit) and '
                         'ndcg_at_10, precision_at_10, recall_at_10 or map_at_10 (mlsys.configure(model, ''{"metric": ...}'')).';
    END IF;
    lower_is_better := metric IN ('rmse', 'mae', 'log_loss');
END $$;
COMMENT ON FUNCTION mlsys._retrain_metric(text, text) IS 'The metric mlsys.retrain compares champion and challenger on, and whether lower is better (internal).';

-- one pass over the holdout rows of p_holdout_of: the metric of two versions
-- and the number of rows. Multiclass: log_loss is the mean of -ln P(true
-- class) with the probability floored at 1e-15, as multiclass.c evaluates (a
-- label the version does not know counts as probability 0); accuracy and
-- macro_f1 (classification_report's "macro avg" f1-score) compare labels.
CREATE FUNCTION mlsys._score_pair(p_model text, p_holdout_of int, p_champion int, p_challenger int, p_metric text,
    OUT champion_score float8, OUT challenger_score float8, OUT n bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v mlsys.model_versions;
    v_versions int[] := ARRAY[p_champion, p_challenger];
    v_agg text[] := '{}';
    v_actual text;
    v_positive text;
    v_type text;
    v_classes text[];
    v_index int;
    i int;
BEGIN
    SELECT * INTO v FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = p_holdout_of;
    IF v.classes IS NOT NULL AND pg_catalog.cardinality(v.classes) = 2 THEN
        SELECT pg_catalog.format_type(att.atttypid, att.atttypmod) INTO v_type FROM pg_catalog.pg_attribute att
         WHERE att.attrelid = v.relation::regclass AND att.attname = v.target AND att.attnum > 0 AND NOT att.attisdropped;
        v_positive := COALESCE(v.hyperparams ->> 'positive_class', v.classes[2]);
    ELSIF v.classes IS NOT NULL THEN
        v_type := mlsys._target_base_type(v.relation::regclass, v.target);
    END IF;
    FOR i IN 1 .. 2 LOOP
        IF v.classes IS NULL THEN
            -- regression: mlsys.rmse / mae / r2 (prediction, actual)
            v_agg := v_agg || pg_catalog.format('mlsys.%I(mlsys.predict($1, %s, r.*), (r.%I)::pg_catalog.float8)',
                                                p_metric, v_versions[i], v.target);
        ELSIF p_metric = 'accuracy' THEN
            v_agg := v_agg || pg_catalog.format('mlsys.accuracy(mlsys.predict_label($1, %s, r.*), (r.%I)::pg_catalog.text)',
                                                v_versions[i], v.target);
        ELSIF p_metric = 'macro_f1' THEN
            v_agg := v_agg || pg_catalog.format(
                '(mlsys.classification_report(mlsys.predict_label($1, %s, r.*), (r.%I)::pg_catalog.text) '
                'OPERATOR(pg_catalog.->) ''macro avg'' OPERATOR(pg_catalog.->>) ''f1-score'')::pg_catalog.float8',
                v_versions[i], v.target);
        ELSIF pg_catalog.cardinality(v.classes) > 2 THEN
            -- multiclass log_loss: P(true class) from the version's own classes
            SELECT mv.classes INTO v_classes FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = v_versions[i];
            v_agg := v_agg || pg_catalog.format(
                '-pg_catalog.avg(pg_catalog.ln(GREATEST(COALESCE(%s, 0), 1e-15::pg_catalog.float8)))',
                mlsys._class_case(pg_catalog.format('r.%I', v.target), v_classes, v_type,
                                  '(mlsys.predict_proba($1, ' || v_versions[i] || ', r.*))[%s]', 1));
        ELSE
            -- auc(score, label) and log_loss(probability, label): the positive class
            SELECT pg_catalog.array_position(mv.classes, v_positive) INTO v_index
              FROM mlsys.model_versions mv WHERE mv.model = p_model AND mv.version = v_versions[i];
            IF v_index IS NULL THEN
                RAISE EXCEPTION 'version % of model "%" has no class "%"', v_versions[i], p_model, v_positive
                    USING ERRCODE = 'data_exception';
            END IF;
            v_actual := pg_catalog.format('(r.%I) = %L::%s', v.target, v_positive, v_type);
            v_agg := v_agg || pg_catalog.format('mlsys.%I((mlsys.predict_proba($1, %s, r.*))[%s], %s)',
                                                p_metric, v_versions[i], v_index, v_actual);
        END IF;
    END LOOP;
    EXECUTE pg_catalog.format('SELECT %s, %s, pg_catalog.count(*) FROM %s AS r WHERE %s',
                              v_agg[1], v_agg[2], v.relation::regclass, mlsys._holdout_predicate(p_model, p_holdout_of, 'r'))
       INTO champion_score, challenger_score, n
       USING p_model;
END $$;
COMMENT ON FUNCTION mlsys._score_pair(text, int, int, int, text) IS
'Scores two versions of a model on the holdout rows of one of them with a metric aggregate, in one pass (internal).';

-- The work of mlsys.retrain inside an open training run.
--
-- The two task-specific steps are (1) training the challenger from the live
-- version's spec (mlsys.train, or mlsys.train_recommender for recommenders,
-- with deploy 'never') and (2) scoring champion and challenger on the
-- challenger's holdout (mlsys._score_pair with _holdout_predicate saying which
-- rows are held out; recommenders: mlsys._score_recommender_pair with
-- _recommender_holdout_query), with _retrain_metric naming the metrics each
-- task can compare on. The decision, its record and the deployment are
-- shared.
CREATE FUNCTION mlsys._retrain(p_model text, p_run bigint)
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
                                       NULLIF(v.target, ''), v.hyperparams, v.test_size, v.seed, 'never') tr;
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
    RETURN QUERY SELECT p_model, t.version, t.algorithm, t.metrics, v_deploy,
        v.metrics || pg_catalog.jsonb_build_object('fresh_' || v_metric, s.champion_score), v_decision;
END $$;
COMMENT ON FUNCTION mlsys._retrain(text, bigint) IS 'The work of mlsys.retrain within an open training run (internal).';

-- An error propagates to the caller and rolls back everything, its run row
-- included; scheduled retrains (mlsys._run_job) keep a 'failed' row instead.
CREATE FUNCTION mlsys._retrain_now(p_model text)
RETURNS TABLE (o_model text, o_version int, o_algorithm text, o_metrics jsonb, o_deployed bool,
               o_champion_metrics jsonb, o_decision text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run bigint;
    r record;
BEGIN
    PERFORM mlsys._lock_model(p_model);
    v_run := mlsys._run_start(p_model, 'retrain');
    SELECT * INTO r FROM mlsys._retrain(p_model, v_run);
    PERFORM mlsys._run_finish(v_run, CASE WHEN r.o_decision = 'skipped' THEN 'skipped' ELSE 'succeeded' END);
    RETURN QUERY SELECT r.o_model, r.o_version, r.o_algorithm, r.o_metrics, r.o_deployed,
                        r.o_champion_metrics, r.o_decision;
END $$;
COMMENT ON FUNCTION mlsys._retrain_now(text) IS 'The work of mlsys.retrain: one retrain run (internal).';

CREATE FUNCTION mlsys.retrain(model text)
RETURNS TABLE (model text, version int, algorithm text, metrics jsonb, deployed bool,
               champion_metrics jsonb, decision text)
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM mlsys._retrain_now($1)
$$;
COMMENT ON FUNCTION mlsys.retrain(text) IS
'Retrains a model with its live version''s spec on the relation''s current rows, scores champion and challenger on the same fresh holdout and deploys the challenger only when it beats the champion by more than min_improvement (relative); every decision goes to mlsys.retrain_decisions.';

------------------------------------------------------------------------------
-- Cleanup
------------------------------------------------------------------------------

CREATE FUNCTION mlsys.drop_model(model text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM mlsys._lock_model(drop_model.model);
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
        PERFORM mlsys.unschedule(drop_model.model);
    END IF;
    DELETE FROM mlsys.retrain_decisions d WHERE d.model = drop_model.model;
    DELETE FROM mlsys.training_runs r WHERE r.model = drop_model.model;
    DELETE FROM mlsys.predictions p WHERE p.model = drop_model.model;
    DELETE FROM mlsys.prediction_runs p WHERE p.model = drop_model.model;
    DELETE FROM mlsys.tuning_trials t WHERE t.model = drop_model.model;
    DELETE FROM mlsys.deployments d WHERE d.model = drop_model.model;
    DELETE FROM mlsys.models m WHERE m.model = drop_model.model;   -- cascades to its versions
END $$;
COMMENT ON FUNCTION mlsys.drop_model(text) IS
'Removes a model with its versions, deployments, training runs, retrain decisions, tuning trials, predictions and pg_cron schedules.';

CREATE FUNCTION mlsys.prune_versions(model text, keep int) RETURNS int
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
'Deletes the versions of a model other than the newest `keep`, the live one and any version a deployment refers to (those are kept with a NOTICE); returns how many were deleted.';

------------------------------------------------------------------------------
-- Reproducibility
------------------------------------------------------------------------------

-- Retrains the version's spec inside a subtransaction that is always rolled
-- back (no version, run or version number is left behind) and compares. The
-- parameters match when every coefficient of mlsys.features agrees within
-- 1e-9 relative (|a - b| <= 1e-9 * max(1, |a|)); bit-identical blobs match
-- trivially. Parallel aggregation may sum in another order, hence not
-- bit-identity. Recommenders (mlsys.train_recommender with the stored spec)
-- match only bit-identically: the fit sorts its input, draws its initial
-- factors from the seed and the item ids and runs on the serial OpenBLAS in
-- one process, so the same data and seed give the same blob on the same
-- build; max_abs_diff is then 0, and NULL when the blobs differ.
CREATE FUNCTION mlsys.reproduce(model text, version int)
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
    SELECT * INTO v FROM mlsys.model_versions mv WHERE mv.model = reproduce.model AND mv.version = reproduce.version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of model "%" does not exist', reproduce.version, reproduce.model
            USING ERRCODE = 'undefined_object';
    END IF;
    BEGIN
        IF v.algorithm IN ('als_explicit', 'als_implicit') THEN
            SELECT t.version INTO v_new
              FROM mlsys.train_recommender(reproduce.model, v.relation::regclass, v.feature_columns[1], v.feature_columns[2],
                                           NULLIF(v.target, ''), v.hyperparams, v.test_size, v.seed, 'never') t;
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

------------------------------------------------------------------------------
-- Scheduling with pg_cron (optional, detected at call time)
------------------------------------------------------------------------------

CREATE FUNCTION mlsys._require_pg_cron() RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', pg_catalog.current_database()
            USING ERRCODE = 'feature_not_supported',
                  HINT = pg_catalog.format('Add pg_cron to shared_preload_libraries, set cron.use_background_workers = on (or cron.host), '
                         'and run CREATE EXTENSION pg_cron in the database named by cron.database_name (%s), where mlsys must be installed too.',
                         COALESCE(pg_catalog.current_setting('cron.database_name', true), 'not set: pg_cron is not loaded'));
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._require_pg_cron() IS 'Raises an error with a hint unless pg_cron is installed in this database (internal).';

CREATE FUNCTION mlsys._job_name(p_model text, p_action text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'mlsys:' || p_model || ':' || p_action
$$;
COMMENT ON FUNCTION mlsys._job_name(text, text) IS 'The pg_cron job name of a model''s scheduled action (internal).';

CREATE FUNCTION mlsys._check_alerts(p_model text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_n bigint;
BEGIN
    IF pg_catalog.to_regprocedure('mlsys.check(text)') IS NULL THEN
        RAISE EXCEPTION 'function mlsys.check(text) does not exist'
            USING ERRCODE = 'undefined_function',
                  HINT = 'The check and retrain_if_drifted actions need the monitoring functions of mlsys.';
    END IF;
    EXECUTE 'SELECT pg_catalog.count(*) FROM mlsys.check($1)' INTO v_n USING p_model;
    RETURN v_n;
END $$;
COMMENT ON FUNCTION mlsys._check_alerts(text) IS 'Runs the monitoring check of a model and returns how many alerts it raised (internal).';

-- What a scheduled job runs. A retrain that fails is caught, recorded as a
-- 'failed' run with its message and SQLSTATE, and reported as a WARNING: the
-- job itself succeeds, so that the failed run row is committed and stays
-- visible in mlsys.training_runs (and in mlsys.schedules()).
CREATE FUNCTION mlsys._run_job(p_model text, p_action text) RETURNS text
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

CREATE FUNCTION mlsys.schedule(model text, schedule text, action text DEFAULT 'retrain') RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_job bigint;
BEGIN
    IF schedule.model IS NULL OR schedule.schedule IS NULL OR schedule.action IS NULL THEN
        RAISE EXCEPTION 'model, schedule and action must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF schedule.action NOT IN ('retrain', 'check', 'retrain_if_drifted') THEN
        RAISE EXCEPTION 'unrecognized action "%"', schedule.action
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Actions are retrain, check and retrain_if_drifted.';
    END IF;
    PERFORM 1 FROM mlsys.models m WHERE m.model = schedule.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', schedule.model USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM mlsys._require_pg_cron();
    IF schedule.action <> 'retrain' AND pg_catalog.to_regprocedure('mlsys.check(text)') IS NULL THEN
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
'Schedules a model action (retrain, check or retrain_if_drifted) with pg_cron under the job name mlsys:<model>:<action>; returns the job id.';

CREATE FUNCTION mlsys.unschedule(model text, action text DEFAULT NULL) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_job bigint;
    v_count int := 0;
BEGIN
    IF unschedule.model IS NULL THEN
        RAISE EXCEPTION 'model must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF unschedule.action IS NOT NULL AND unschedule.action NOT IN ('retrain', 'check', 'retrain_if_drifted') THEN
        RAISE EXCEPTION 'unrecognized action "%"', unschedule.action
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Actions are retrain, check and retrain_if_drifted.';
    END IF;
    PERFORM mlsys._require_pg_cron();
    FOR v_job IN EXECUTE 'SELECT j.jobid FROM cron.job j WHERE j.jobname OPERATOR(pg_catalog.=) ANY ($1)'
        USING (SELECT pg_catalog.array_agg(mlsys._job_name(unschedule.model, a))
                 FROM pg_catalog.unnest(CASE WHEN unschedule.action IS NULL THEN ARRAY['retrain', 'check', 'retrain_if_drifted']
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

CREATE FUNCTION mlsys.schedules()
RETURNS TABLE (jobid bigint, model text, action text, schedule text, active bool, command text,
               last_status text, last_start timestamptz, last_end timestamptz, last_message text,
               runs bigint, last_training_status text, last_training_error text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM mlsys._require_pg_cron();
    RETURN QUERY EXECUTE $q$
        SELECT j.jobid, m[1], m[2], j.schedule, j.active, j.command,
               d.status, d.start_time, d.end_time, d.return_message,
               (SELECT pg_catalog.count(*) FROM cron.job_run_details x WHERE x.jobid OPERATOR(pg_catalog.=) j.jobid),
               t.status, t.error
          FROM cron.job j
         CROSS JOIN LATERAL pg_catalog.regexp_match(j.jobname, '^mlsys:(.*):(retrain|check|retrain_if_drifted)$') m
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
'Registers a document from mlsys.export_model as a new version of a model (created when needed; an existing model must have the same task) and deploys it when the model has no live version; returns the version. A malformed or tampered document is rejected with a class-22 error and registers nothing.';
------------------------------------------------------------------------------
-- Security model (src/sql/90_security.sql): roles, privileges and the few
-- SECURITY DEFINER functions through which the registry is written. It runs
-- last, so that "ALL ... IN SCHEMA mlsys" covers every object of the script.
--
-- Three NOLOGIN group roles (created when missing; roles are cluster-wide, so
-- DROP EXTENSION leaves them), each a member of the one before:
--   mlsys_reader   score (mlsys.predict*, recommenders, predict_batch into
--                  mlsys.predictions, feedback labels) and read the registry
--                  and the monitoring data;
--   mlsys_trainer  train, tune, cross-validate, retrain, reproduce: registers
--                  versions, and deploys them through the training's deploy
--                  policy (best_score, most_recent) or a retrain's decision;
--   mlsys_admin    deploy, rollback, configure, schedule, prune and drop; full
--                  rights on the registry tables.
-- PUBLIC gets nothing: no schema usage, no table, no function.
--
-- Nothing that reads user data is SECURITY DEFINER: training, scoring and
-- batch scoring read their relation with the caller's rights, column grants
-- and row-level security. Trainers cannot write mlsys.models,
-- mlsys.model_versions or mlsys.deployments directly; they go through
-- mlsys._register_version, mlsys._insert_deployment and mlsys._lock_model,
-- which run as the extension's owner, pin search_path, touch only registry
-- rows, and let a trainer deploy (or complete) only a version its own
-- transaction registered.
------------------------------------------------------------------------------

-- the outer-level role (SET ROLE or session user), unchanged inside SECURITY DEFINER
CREATE FUNCTION mlsys._outer_user() RETURNS name
    AS 'MODULE_PATHNAME', 'outer_user' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION mlsys._outer_user() IS 'The role acting outside any SECURITY DEFINER function: the SET ROLE role or the session user (internal).';
CREATE FUNCTION mlsys._xid_is_current(xid) RETURNS bool
    AS 'MODULE_PATHNAME', 'xid_is_current' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION mlsys._xid_is_current(xid) IS 'Whether a transaction id (a row''s xmin) is the current transaction or one of its subtransactions (internal).';

-- Called by mlsys._insert_deployment (SECURITY DEFINER). A deployment is
-- allowed to a role that may insert into mlsys.deployments itself (admins),
-- or of a version the current transaction registered (a trainer's deploy
-- policy, a retrain's decision).
CREATE FUNCTION mlsys._authorize_deployment(p_model text, p_version int) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.has_table_privilege(mlsys._outer_user(), 'mlsys.deployments', 'INSERT') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM mlsys.model_versions v
                    WHERE v.model OPERATOR(pg_catalog.=) p_model AND v.version OPERATOR(pg_catalog.=) p_version
                      AND mlsys._xid_is_current(v.xmin)) THEN
        RAISE EXCEPTION 'permission denied to deploy version % of model "%"', p_version, p_model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Trainers deploy only the versions their own transaction trains, through the deploy policy.',
                  HINT = 'Ask a member of mlsys_admin to run mlsys.deploy.';
    END IF;
END $$;
COMMENT ON FUNCTION mlsys._authorize_deployment(text, int) IS 'Raises insufficient_privilege unless the acting role may deploy this version (internal).';

-- created_by / deployed_by name the acting role, also when the row is written
-- by a SECURITY DEFINER function (where current_user is the owner). A value
-- given explicitly (pg_restore, a copy) is kept.
CREATE FUNCTION mlsys._stamp_creator() RETURNS trigger
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
    RETURN NEW;
END $$;
COMMENT ON FUNCTION mlsys._stamp_creator() IS 'Trigger: records the acting role in created_by / deployed_by (internal).';
CREATE TRIGGER stamp_creator BEFORE INSERT ON mlsys.models
    FOR EACH ROW EXECUTE FUNCTION mlsys._stamp_creator();
CREATE TRIGGER stamp_creator BEFORE INSERT ON mlsys.model_versions
    FOR EACH ROW EXECUTE FUNCTION mlsys._stamp_creator();
CREATE TRIGGER stamp_creator BEFORE INSERT ON mlsys.deployments
    FOR EACH ROW EXECUTE FUNCTION mlsys._stamp_creator();

-- Training stores a version's preprocessing with an UPDATE right after
-- registering it (src/train.c). Trainers hold UPDATE on that one column, and
-- only for a version their transaction registered.
CREATE FUNCTION mlsys._guard_version_update() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_catalog.has_table_privilege(CURRENT_USER, 'mlsys.model_versions', 'UPDATE')
       AND NOT EXISTS (SELECT 1 FROM mlsys.model_versions v
                        WHERE v.model OPERATOR(pg_catalog.=) OLD.model AND v.version OPERATOR(pg_catalog.=) OLD.version
                          AND mlsys._xid_is_current(v.xmin)) THEN
        RAISE EXCEPTION 'permission denied to update version % of model "%"', OLD.version, OLD.model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A registered version is immutable except to mlsys_admin.';
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION mlsys._guard_version_update() IS 'Trigger: lets a trainer complete only a version its own transaction registered (internal).';
CREATE TRIGGER guard_version_update BEFORE UPDATE ON mlsys.model_versions
    FOR EACH ROW EXECUTE FUNCTION mlsys._guard_version_update();

-- the group roles
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'mlsys_reader') THEN
        CREATE ROLE mlsys_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'mlsys_trainer') THEN
        CREATE ROLE mlsys_trainer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'mlsys_admin') THEN
        CREATE ROLE mlsys_admin NOLOGIN;
    END IF;
    -- (quietly, when the roles already nest: mlsys installed in another database)
    IF NOT pg_catalog.pg_has_role('mlsys_trainer', 'mlsys_reader', 'MEMBER') THEN
        GRANT mlsys_reader TO mlsys_trainer;
    END IF;
    IF NOT pg_catalog.pg_has_role('mlsys_admin', 'mlsys_trainer', 'MEMBER') THEN
        GRANT mlsys_trainer TO mlsys_admin;
    END IF;
END $$;
COMMENT ON ROLE mlsys_reader IS 'mlsys: score models and read the registry and monitoring data.';
COMMENT ON ROLE mlsys_trainer IS 'mlsys: train, tune and retrain models (member of mlsys_reader).';
COMMENT ON ROLE mlsys_admin IS 'mlsys: deploy, roll back, configure, schedule and drop models (member of mlsys_trainer).';

-- registry written only through the functions below
ALTER FUNCTION mlsys._register_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, text, text[], text) SECURITY DEFINER;
ALTER FUNCTION mlsys._insert_deployment(text, int, text) SECURITY DEFINER;
ALTER FUNCTION mlsys._lock_model(text) SECURITY DEFINER;

-- tables and sequences: nothing for PUBLIC
REVOKE ALL ON ALL TABLES IN SCHEMA mlsys FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA mlsys FROM PUBLIC;
GRANT USAGE ON SCHEMA mlsys TO mlsys_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA mlsys TO mlsys_reader;
GRANT INSERT ON mlsys.prediction_runs, mlsys.predictions TO mlsys_reader;
GRANT UPDATE (rows, finished_at) ON mlsys.prediction_runs TO mlsys_reader;
GRANT UPDATE (label, labeled_at) ON mlsys.predictions TO mlsys_reader;
GRANT USAGE ON SEQUENCE mlsys.prediction_runs_run_id_seq, mlsys.predictions_id_seq TO mlsys_reader;
GRANT INSERT, UPDATE ON mlsys.training_runs, mlsys.tuning_trials TO mlsys_trainer;
GRANT INSERT ON mlsys.retrain_decisions TO mlsys_trainer;
GRANT UPDATE (preprocessing) ON mlsys.model_versions TO mlsys_trainer;
GRANT USAGE ON SEQUENCE mlsys.training_runs_id_seq, mlsys.tuning_trials_id_seq, mlsys.tuning_id_seq,
    mlsys.retrain_decisions_id_seq TO mlsys_trainer;
GRANT ALL ON ALL TABLES IN SCHEMA mlsys TO mlsys_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA mlsys TO mlsys_admin;

-- functions: nothing for PUBLIC; readers get everything but the functions
-- of trainers and admins (so a function added later defaults to readers, and
-- the table grants above still decide what it may write)
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA mlsys FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mlsys TO mlsys_reader;
REVOKE EXECUTE ON FUNCTION
    mlsys.train(text, regclass, text, text[], text, jsonb, float8, int, text),
    mlsys.train_recommender(text, regclass, text, text, text, jsonb, float8, int, text),
    mlsys.cross_validate(regclass, text, text[], text, jsonb, int, int),
    mlsys.tune(text, regclass, text, jsonb, text[], text, int, int, text),
    mlsys._tune(text, regclass, text, jsonb, text[], text, int, int, text),
    mlsys.retrain(text), mlsys._retrain_now(text), mlsys._retrain(text, bigint),
    mlsys.reproduce(text, int),
    mlsys._register_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, text, text[], text),
    mlsys._insert_deployment(text, int, text), mlsys._lock_model(text),
    mlsys._run_start(text, text), mlsys._run_finish(bigint, text, text, text),
    mlsys.deploy(text, int), mlsys.rollback(text),
    mlsys.configure(text, jsonb), mlsys._configure(text, jsonb, regclass),
    mlsys.drop_model(text), mlsys.prune_versions(text, int),
    mlsys.schedule(text, text, text), mlsys.unschedule(text, text), mlsys._run_job(text, text)
FROM mlsys_reader;
GRANT EXECUTE ON FUNCTION
    mlsys.train(text, regclass, text, text[], text, jsonb, float8, int, text),
    mlsys.train_recommender(text, regclass, text, text, text, jsonb, float8, int, text),
    mlsys.cross_validate(regclass, text, text[], text, jsonb, int, int),
    mlsys.tune(text, regclass, text, jsonb, text[], text, int, int, text),
    mlsys._tune(text, regclass, text, jsonb, text[], text, int, int, text),
    mlsys.retrain(text), mlsys._retrain_now(text), mlsys._retrain(text, bigint),
    mlsys.reproduce(text, int),
    mlsys._register_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, text, text[], text),
    mlsys._insert_deployment(text, int, text), mlsys._lock_model(text),
    mlsys._run_start(text, text), mlsys._run_finish(bigint, text, text, text)
TO mlsys_trainer;
GRANT EXECUTE ON FUNCTION
    mlsys.deploy(text, int), mlsys.rollback(text),
    mlsys.configure(text, jsonb), mlsys._configure(text, jsonb, regclass),
    mlsys.drop_model(text), mlsys.prune_versions(text, int),
    mlsys.schedule(text, text, text), mlsys.unschedule(text, text), mlsys._run_job(text, text)
TO mlsys_admin;

-- C functions that query the registry and the user's relation through SPI run
-- with search_path pinned, like the SQL and PL/pgSQL functions: their
-- relation arguments are regclass (resolved by the caller) and stored
-- schema-qualified. Scoring pins it in C around the registry reads (cache.c).
ALTER FUNCTION mlsys.train(text, regclass, text, text[], text, jsonb, float8, int, text)
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION mlsys.train_recommender(text, regclass, text, text, text, jsonb, float8, int, text)
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION mlsys.cross_validate(regclass, text, text[], text, jsonb, int, int)
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION mlsys.evaluate_recommender(text, regclass, int, text, text, text)
    SET search_path = pg_catalog, pg_temp;

-- Monitoring, export/import and the model cache (the same three roles):
-- training captures the drift baseline and mlsys.check writes alerts and
-- history, so both belong to trainers (scheduled checks run as the admin who
-- scheduled them); import registers a version through a SECURITY DEFINER
-- function like training; pruning deletes, so it is the admin's.
GRANT INSERT, UPDATE ON mlsys.baselines, mlsys.alerts, mlsys.drift_history TO mlsys_trainer;
GRANT USAGE ON SEQUENCE mlsys.check_id_seq, mlsys.alerts_id_seq, mlsys.drift_history_id_seq TO mlsys_trainer;
ALTER FUNCTION mlsys._import_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, jsonb, text[], text, text, text) SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION
    mlsys.capture_baseline(text, int), mlsys._capture_baseline(text, int),
    mlsys.check(text),
    mlsys.import_model(text, jsonb),
    mlsys._import_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, jsonb, text[], text, text, text),
    mlsys.prune(interval)
FROM mlsys_reader;
GRANT EXECUTE ON FUNCTION
    mlsys.capture_baseline(text, int), mlsys._capture_baseline(text, int),
    mlsys.check(text),
    mlsys.import_model(text, jsonb),
    mlsys._import_version(text, text, text, jsonb, text, text, text[], int[], text[], float8, int, jsonb, bigint, bigint, float8, text, bytea, jsonb, jsonb, text[], text, text, text)
TO mlsys_trainer;
GRANT EXECUTE ON FUNCTION mlsys.prune(interval) TO mlsys_admin;
