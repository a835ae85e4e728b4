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
    created_by   name NOT NULL DEFAULT current_user,
    owner        regrole NOT NULL
);
COMMENT ON TABLE mlsys.models IS 'One row per model name: its task and the last version number handed out.';
COMMENT ON COLUMN mlsys.models.settings IS 'Monitoring and retraining settings, set with mlsys.configure.';
COMMENT ON COLUMN mlsys.models.owner IS 'The role that owns the model: the one that created it (its first training or import), or the one mlsys.set_owner named.';

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
    run_id          bigint,
    model           text NOT NULL,
    version         int NOT NULL,
    entity_id       text,
    prediction      float8,
    predicted_label text,
    probability     float8,
    label           text,
    predicted_at    timestamptz NOT NULL DEFAULT now(),
    labeled_at      timestamptz,
    source          text NOT NULL DEFAULT 'batch' CHECK (source IN ('batch', 'online')),
    features        jsonb,
    scored_by       name DEFAULT CURRENT_USER
);
CREATE INDEX predictions_model_time_idx ON mlsys.predictions (model, predicted_at);
-- a batch run's rows; online rows (no run) stay out of it, which spares
-- the log writers one index insertion per row
CREATE INDEX predictions_run_idx ON mlsys.predictions (run_id) WHERE run_id IS NOT NULL;
COMMENT ON COLUMN mlsys.predictions.features IS 'Online rows: the source columns'' values as scored (NULLs kept, categories as they came), for drift over live traffic.';
COMMENT ON COLUMN mlsys.predictions.scored_by IS 'The role that scored: the caller of mlsys.predict_batch, or of the logged online call.';
COMMENT ON TABLE mlsys.predictions IS 'Scoring output: batch runs (source batch, with a run_id) and sampled online calls (source online, with the features as scored); label (the actual outcome) is filled in later as feedback.';

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
    -- the open alerts of the versions it replaces are about what no longer serves
    PERFORM mlsys._resolve_alerts(p_model, NULL, NULL, NULL,
                                  pg_catalog.format('superseded by version %s', p_version), p_version);
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

CREATE FUNCTION mlsys.rollback(model text) RETURNS int
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
    -- the rows carry the transaction's start time: a day of the prediction
    -- rollup that a check closed meanwhile is computed again
    UPDATE mlsys.prediction_rollup r SET stale = true
     WHERE r.model = predict_batch.model AND NOT r.stale
       AND r.day >= pg_catalog.date_bin('1 day'::pg_catalog.interval, pg_catalog.now(), '2000-01-01 00:00:00+00'::pg_catalog.timestamptz);
    RETURN v_count;
END $$;
COMMENT ON FUNCTION mlsys.predict_batch(text, regclass, text) IS
'Scores every row of a relation with the live version into mlsys.predictions under a new run id; returns the row count.';
