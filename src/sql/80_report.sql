------------------------------------------------------------------------------
-- The model report (src/sql/80_report.sql): mlsys.report(model, version)
-- returns one self-contained HTML5 page about a model version's life, drawn
-- from what the registry and monitoring already store: header, versions and
-- deployments, holdout quality, drift now, drift over time, live
-- performance, alerts and prediction volume. This file also owns what the
-- page needs and nothing else kept: the holdout samples training keeps, and
-- the per-day prediction rollup checks keep.
--
-- Everything that reaches the page goes through mlsys._html (text) or
-- mlsys._fmt (numbers); charts are inline SVG with no namespace attribute
-- (HTML5 parses inline SVG without it), so the page names no address at all.
-- Each section reads its tables with the caller's rights: a section the
-- caller may not read, or whose data does not exist yet, becomes a one-line
-- note. Its reads are bounded (docs/monitoring.md lists them): the registry
-- rows of one model, the latest check's history rows, 30 days of drift
-- history, alerts and volume counters, and the live metric per day from the
-- rollup, with only today (and days without a fresh row) from the
-- predictions.
------------------------------------------------------------------------------

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
