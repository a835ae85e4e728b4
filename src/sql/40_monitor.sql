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

CREATE FUNCTION mlsys.drift(model text, relation regclass DEFAULT NULL, version int DEFAULT NULL)
RETURNS TABLE (feature text, kind text, rows bigint, null_rate float8, psi float8, ks float8,
               wasserstein float8, js float8, linf float8, metric text, value float8,
               threshold float8, drifted bool)
AS 'MODULE_PATHNAME', 'drift_report' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION mlsys.drift(text, regclass, int) IS
'Compares a relation (NULL: the model''s logged online traffic over its window, default 1 day) with a version''s baseline (NULL: the live version) in one pass: one row per profiled feature and one for the prediction; metric, value and threshold decide drifted (defaults: psi >= 0.2 numeric, js >= 0.1 categorical; see mlsys.configure).';

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
'Degradation rule: the limit is baseline*(1 + tolerance) for rmse and log_loss (lower is better), baseline - auc_drop for auc, baseline*(1 - tolerance) for accuracy and ctr (internal).';

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
    resolved_at timestamptz,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    severity    text NOT NULL DEFAULT 'warning' CHECK (severity IN ('warning', 'critical')),
    resolution  text
);
CREATE INDEX alerts_model_time_idx ON mlsys.alerts (model, created_at);
CREATE INDEX alerts_open_idx ON mlsys.alerts (model) WHERE resolved_at IS NULL;
-- one open alert per condition: a check that finds it again updates it
CREATE UNIQUE INDEX alerts_one_open_idx ON mlsys.alerts (model, version, kind, feature) NULLS NOT DISTINCT
    WHERE resolved_at IS NULL;
COMMENT ON TABLE mlsys.alerts IS 'One row per condition found by mlsys.check (model, version, kind, feature): open until a check no longer finds it, mlsys.resolve_alert, or a deployment of another version resolves it.';
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

-- Alert events. Listeners of mlsys_alerts hear when an alert opens, escalates
-- (its severity rises from warning to critical) or resolves; a check that
-- finds an open condition again only updates its row.
CREATE FUNCTION mlsys._notify_alert(p_alert mlsys.alerts, p_event text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.pg_notify('mlsys_alerts',
        pg_catalog.jsonb_build_object('id', (p_alert).id, 'model', (p_alert).model, 'kind', (p_alert).kind,
                                      'feature', pg_catalog.left((p_alert).feature, 200), 'event', p_event)::text)
$$;
COMMENT ON FUNCTION mlsys._notify_alert(mlsys.alerts, text) IS
'Sends NOTIFY mlsys_alerts {id, model, kind, feature, event} for an alert event: opened, escalated or resolved (internal).';

-- The condition (model, version, kind, feature) is found: open its alert, or
-- update the open one (last_seen_at, the latest figures) and escalate it when
-- it became critical. Severity only rises while an alert is open.
CREATE FUNCTION mlsys._raise_alert(p_check bigint, p_model text, p_version int, p_kind text, p_feature text,
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

-- Resolve the open alerts of a model that match: one version and kind (and
-- feature) when a check no longer finds the condition, or every version but
-- the deployed one (p_kind NULL, p_except_version set) when a deployment
-- supersedes them.
CREATE FUNCTION mlsys._resolve_alerts(p_model text, p_version int, p_kind text, p_feature text,
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

CREATE FUNCTION mlsys.resolve_alert(id bigint) RETURNS bool
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

CREATE FUNCTION mlsys.check(model text) RETURNS SETOF mlsys.alerts
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
            INSERT INTO mlsys.drift_history (check_id, model, version, feature, metric, value, threshold, drifted, rows)
            SELECT v_check, v_model, v_version, d.feature, x.metric, x.value,
                   CASE WHEN x.metric = d.metric THEN d.threshold END,
                   CASE WHEN x.metric = d.metric THEN d.drifted END, d.rows
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
END $$;
COMMENT ON FUNCTION mlsys.check(text) IS
'Runs the drift report on the configured relation and window (not for recommenders) and the performance check for the live version (click-through for recommenders), stores every figure in mlsys.drift_history, opens or updates one mlsys.alerts row per condition found and resolves those it evaluated and no longer finds (NOTIFY mlsys_alerts {id, model, kind, feature, event} when an alert opens, escalates or resolves), and returns the alerts it found.';

------------------------------------------------------------------------------
-- Dashboard views and retention
------------------------------------------------------------------------------

-- What the logged records stand for: every record carries the calls of its
-- backend since the previous one (a fraction log_sample of calls is
-- logged) and the sampled calls dropped in between; the writers add them
-- up per model, version and hour.
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

CREATE VIEW mlsys.prediction_stats WITH (security_invoker = true) AS
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

------------------------------------------------------------------------------
-- Online logging (the ring and its workers need shared_preload_libraries)
------------------------------------------------------------------------------

CREATE FUNCTION mlsys._logging_available() RETURNS bool
    AS 'MODULE_PATHNAME', 'logging_available' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._logging_available() IS
'Whether online logging can run in this server: mlsys is in shared_preload_libraries (internal).';

CREATE FUNCTION mlsys._logging_stats() RETURNS TABLE (logged bigint, dropped bigint, pending bigint)
    AS 'MODULE_PATHNAME', 'logging_stats' LANGUAGE C VOLATILE PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION mlsys._logging_stats() IS 'The online logging counters of the server since it started (internal; see mlsys.logging_stats).';

CREATE VIEW mlsys.logging_stats AS
SELECT s.logged, s.dropped, s.pending FROM mlsys._logging_stats() s;
COMMENT ON VIEW mlsys.logging_stats IS
'Online logging since the server started, all databases: records stored by the writers (logged), dropped (ring full, hot standby, database gone, writer failure) and waiting (pending). Every sampled call is in exactly one.';

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
    -- impressions go with the predictions; the result keeps its 0.1 columns, so they are not counted
    DELETE FROM mlsys.impressions i WHERE i.shown_at < v_cut;
    DELETE FROM mlsys.online_traffic o WHERE o.hour < v_cut;
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION mlsys.prune(interval) IS
'Deletes predictions, impressions, online traffic counts and drift history older than the interval, and resolved alerts created before it; returns the counts of predictions, history and alerts.';
