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

-- drop_model and prune_versions need manage on the model; they run as the
-- extension's owner (see 90_security.sql) and check the acting role first
CREATE FUNCTION mlsys.drop_model(model text) RETURNS void
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

------------------------------------------------------------------------------
-- Reproducibility
------------------------------------------------------------------------------

-- Retrains the version's spec inside a subtransaction that is always rolled
-- back (no version, run or version number is left behind) and compares. The
-- parameters match when every coefficient of mlsys.features agrees within
-- 1e-9 relative (|a - b| <= 1e-9 * max(1, |a|)); bit-identical blobs match
-- trivially. Parallel aggregation may sum in another order, hence not
-- bit-identity. Boosted trees are compared by their family (the largest
-- difference of a threshold, leaf or base margin; any other difference in
-- shape does not match). Recommenders (mlsys.train_recommender with the stored spec)
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

------------------------------------------------------------------------------
-- Scheduling with pg_cron (optional, detected at call time)
------------------------------------------------------------------------------

-- cron.database_name, or NULL when pg_cron is not loaded or the role may
-- not read it (pg_cron makes it a superuser-only setting): trainers schedule
CREATE FUNCTION mlsys._cron_database_name() RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN pg_catalog.current_setting('cron.database_name', true);
EXCEPTION WHEN insufficient_privilege THEN
    RETURN NULL;
END $$;
COMMENT ON FUNCTION mlsys._cron_database_name() IS 'pg_cron''s database (cron.database_name), or NULL when pg_cron is not loaded or the setting is not readable by the role (internal).';

CREATE FUNCTION mlsys._require_pg_cron() RETURNS void
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
COMMENT ON FUNCTION mlsys._require_pg_cron() IS 'Raises an error with a hint unless pg_cron is installed in this database (internal).';

-- pg_cron keeps its jobs in one database (cron.database_name) and reads or
-- writes them nowhere else. From another database the scheduling functions
-- raise 55000 with the statement to run there (p_there), which pg_cron's
-- cron.schedule_in_database makes possible without stored passwords.
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

CREATE FUNCTION mlsys.schedule(model text, schedule text, action text DEFAULT 'retrain') RETURNS bigint
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

CREATE FUNCTION mlsys.unschedule(model text, action text DEFAULT NULL) RETURNS int
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

CREATE FUNCTION mlsys.schedules()
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
