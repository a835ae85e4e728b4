-- explain: mlsys.explain (per-feature contributions to one raw output) and
-- mlsys.feature_importance (per source column) for every family, and the
-- explanation sample kept at registration. Every check compares with values
-- computed here independently: the model's own prediction, its coefficients
-- and profile, or Shapley values found by enumerating feature subsets.
SET extra_float_digits = 0;
CREATE TABLE xpl AS
SELECT i AS id, (i % 10)::float8 AS a, ((i * 7) % 11)::float8 AS b, 'k' || (i % 3) AS cat,
       ARRAY[(i % 5)::float8, ((i * 3) % 4)::float8] AS v
FROM generate_series(1, 600) i;
ALTER TABLE xpl ADD COLUMN y float8, ADD COLUMN flag bool, ADD COLUMN cls text;
UPDATE xpl SET y = 1 + 2 * a - 0.5 * b + CASE cat WHEN 'k1' THEN 3 ELSE 0 END + v[1] - v[2] + (id % 7) * 0.3,
              flag = a - 0.3 * b + (id % 5) + 0.5 * v[1] > 5,
              cls = CASE WHEN a + (id % 4) < 5 THEN 'lo' WHEN b + (id % 3) < 6 THEN 'mid' ELSE 'hi' END;
SELECT version FROM mlsys.train('xpl_lin', 'xpl', 'y', ARRAY['a', 'b', 'cat', 'v']);
SELECT version FROM mlsys.train('xpl_bin', 'xpl', 'flag', ARRAY['a', 'b', 'cat']);
SELECT version FROM mlsys.train('xpl_neg', 'xpl', 'flag', ARRAY['a', 'b'], 'logistic', '{"positive_class": false}');
SELECT version FROM mlsys.train('xpl_multi', 'xpl', 'cls', ARRAY['a', 'b', 'v']);

-- an encoded row of xpl as the models see it (one-hot cat, then v's elements)
CREATE FUNCTION xpl_vector(r xpl) RETURNS float8[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[r.a, r.b, (r.cat = 'k0')::int, (r.cat = 'k1')::int, (r.cat = 'k2')::int, r.v[1], r.v[2]]::float8[]
$$;
-- a version's training mean of feature j (1-based), from its profile
CREATE FUNCTION xpl_mean(m text, j int) RETURNS float8 LANGUAGE sql STABLE AS $$
    SELECT (v.profile -> 'features' -> (j - 1) ->> 'mean')::float8
      FROM mlsys.model_versions v WHERE v.model = m AND v.version = mlsys.live_version(m)
$$;

------------------------------------------------------------------------------
-- linear
------------------------------------------------------------------------------
-- one row per expanded feature in model order, then <bias>; class is NULL
SELECT class, feature, round(contribution::numeric, 6) AS contribution
FROM mlsys.explain('xpl_lin', ARRAY[3, 4, 0, 1, 0, 2, 1]::float8[]);
-- the rows add up to the prediction, for a row, an array and a JSON object
SELECT count(*) AS rows_checked,
       max(abs((SELECT sum(e.contribution) FROM mlsys.explain('xpl_lin', r) e) - mlsys.predict('xpl_lin', r))) < 1e-9 AS row_sums,
       max(abs((SELECT sum(e.contribution) FROM mlsys.explain('xpl_lin', xpl_vector(r)) e) - mlsys.predict('xpl_lin', r))) < 1e-9 AS array_sums,
       max(abs((SELECT sum(e.contribution) FROM mlsys.explain('xpl_lin', to_jsonb(r)) e) - mlsys.predict('xpl_lin', r))) < 1e-9 AS jsonb_sums
FROM xpl r WHERE id % 37 = 0;
-- each term is coefficient × (value − training mean), from mlsys.features and the profile
SELECT max(abs(e.contribution - f.coefficient * (x.x[f.ordinal] - xpl_mean('xpl_lin', f.ordinal)))) < 1e-9 AS terms_match
FROM (SELECT ARRAY[7, 1, 1, 0, 0, 4, 3]::float8[] AS x) x,
     mlsys.explain('xpl_lin', x.x) WITH ORDINALITY e(class, feature, contribution, ordinal)
     JOIN mlsys.features('xpl_lin') f ON f.ordinal = e.ordinal AND f.feature = e.feature;
-- least squares with an intercept predicts the target mean at the feature means: the bias
SELECT abs(e.contribution - (v.profile -> 'target' ->> 'mean')::float8) < 1e-6 AS bias_is_target_mean
FROM mlsys.explain('xpl_lin', ARRAY[0, 0, 0, 0, 0, 0, 0]::float8[]) e, mlsys.model_versions v
WHERE e.feature = '<bias>' AND v.model = 'xpl_lin' AND v.version = 1;
-- the version overloads explain that version
SELECT version FROM mlsys.train('xpl_lin', 'xpl', 'y', ARRAY['a', 'b', 'cat', 'v'], test_size => 0.5, deploy => 'never');
SELECT bool_and(abs(s.total - mlsys.predict('xpl_lin', 2, r)) < 1e-9) AS v2_row,
       bool_and(abs(s.total - mlsys.predict('xpl_lin', r)) > 1e-9) AS differs_from_live
FROM xpl r, LATERAL (SELECT sum(e.contribution) AS total FROM mlsys.explain('xpl_lin', 2, r) e) s WHERE id <= 5;
SELECT abs(sum(contribution) - mlsys.predict('xpl_lin', 2, '{"a": 1, "b": 2, "cat": "k2", "v": [3, 4]}'::jsonb)) < 1e-9 AS v2_jsonb,
       abs((SELECT sum(contribution) FROM mlsys.explain('xpl_lin', 2, ARRAY[1, 2, 0, 0, 1, 3, 4]::float8[]))
           - mlsys.predict('xpl_lin', 2, ARRAY[1, 2, 0, 0, 1, 3, 4]::float8[])) < 1e-9 AS v2_array
FROM mlsys.explain('xpl_lin', 2, '{"a": 1, "b": 2, "cat": "k2", "v": [3, 4]}'::jsonb);

------------------------------------------------------------------------------
-- logistic: the log-odds of the positive class, each class's margin
------------------------------------------------------------------------------
SELECT DISTINCT class FROM mlsys.explain('xpl_bin', ARRAY[1, 2, 1, 0, 0]::float8[]);
SELECT count(*) AS rows_checked,
       max(abs(s.total - ln(p.p / (1 - p.p)))) < 1e-9 AS sums_are_log_odds
FROM xpl r,
     LATERAL (SELECT sum(e.contribution) AS total FROM mlsys.explain('xpl_bin', r) e) s,
     LATERAL (SELECT (mlsys.predict_proba('xpl_bin', r))[array_position(mlsys.classes('xpl_bin'), 'true')] AS p) p
WHERE id % 23 = 0;
-- positive_class false: the rows explain the log-odds of false
SELECT DISTINCT class FROM mlsys.explain('xpl_neg', ARRAY[1, 2]::float8[]);
SELECT max(abs(s.total - ln(p.p / (1 - p.p)))) < 1e-9 AS sums_are_log_odds_of_false
FROM xpl r,
     LATERAL (SELECT sum(e.contribution) AS total FROM mlsys.explain('xpl_neg', r) e) s,
     LATERAL (SELECT (mlsys.predict_proba('xpl_neg', r))[array_position(mlsys.classes('xpl_neg'), 'false')] AS p) p
WHERE id % 23 = 0;
-- at the training means every feature contributes 0 and the bias is the whole log-odds
SELECT max(abs(e.contribution)) FILTER (WHERE e.feature <> '<bias>') < 1e-12 AS zero_at_mean
FROM mlsys.explain('xpl_bin', ARRAY(SELECT xpl_mean('xpl_bin', j) FROM generate_series(1, 5) j)) e;
-- multinomial: rows grouped by class in class order, softmax of the sums = the probabilities
SELECT array_agg(DISTINCT class ORDER BY class) = (SELECT array_agg(c ORDER BY c) FROM unnest(mlsys.classes('xpl_multi')) c) AS every_class,
       count(*) AS explain_rows
FROM mlsys.explain('xpl_multi', ARRAY[1, 2, 3, 0]::float8[]);
SELECT array_agg(class ORDER BY ord) = mlsys.classes('xpl_multi') AS class_order
FROM (SELECT class, min(ordinal) AS ord
      FROM mlsys.explain('xpl_multi', ARRAY[1, 2, 3, 0]::float8[]) WITH ORDINALITY e(class, feature, contribution, ordinal)
      GROUP BY class) c;
SELECT count(DISTINCT r.id) AS rows_checked, max(abs(exp(m.margin) / m.total - m.p)) < 1e-9 AS softmax_of_margins
FROM xpl r,
     LATERAL (SELECT s.margin, sum(exp(s.margin)) OVER () AS total,
                     (mlsys.predict_proba('xpl_multi', r))[array_position(mlsys.classes('xpl_multi'), s.class)] AS p
              FROM (SELECT e.class, sum(e.contribution) AS margin FROM mlsys.explain('xpl_multi', r) e GROUP BY e.class) s) m
WHERE id % 29 = 0;

-- a version without a profile (imported so) measures from 0 (linear) or the
-- standardization's center (logistic): still adding up to the raw output
SELECT mlsys.import_model('xpl_lin_np', mlsys.export_model('xpl_lin', 1) - 'profile'),
       mlsys.import_model('xpl_bin_np', mlsys.export_model('xpl_bin') - 'profile');
SELECT abs(e.contribution - f.coefficient) < 1e-12 AS bias_is_intercept
FROM mlsys.explain('xpl_lin_np', ARRAY[3, 4, 0, 1, 0, 2, 1]::float8[]) e, mlsys.features('xpl_lin_np') f
WHERE e.feature = '<bias>' AND f.ordinal = 0;
SELECT max(abs(s.total - mlsys.predict('xpl_lin_np', r))) < 1e-9 AS linear_sums,
       max(abs(b.total - ln(p.p / (1 - p.p)))) < 1e-9 AS logistic_sums
FROM xpl r,
     LATERAL (SELECT sum(e.contribution) AS total FROM mlsys.explain('xpl_lin_np', r) e) s,
     LATERAL (SELECT sum(e.contribution) AS total FROM mlsys.explain('xpl_bin_np', r) e) b,
     LATERAL (SELECT (mlsys.predict_proba('xpl_bin_np', r))[array_position(mlsys.classes('xpl_bin_np'), 'true')] AS p) p
WHERE id % 41 = 0;

------------------------------------------------------------------------------
-- the explanation sample and mlsys.feature_importance
------------------------------------------------------------------------------
-- a bounded sample of whole encoded rows of the training relation
SELECT s.model, s.version, s.nrows, cardinality(s.features) = s.nrows * cardinality(v.features) AS whole_vectors
FROM mlsys.explain_samples s JOIN mlsys.model_versions v USING (model, version)
WHERE s.model LIKE 'xpl\_%' ORDER BY 1, 2;
SELECT count(*) AS sampled, bool_and(EXISTS (SELECT 1 FROM xpl r WHERE xpl_vector(r) = x.vec)) AS rows_of_ex
FROM (SELECT array_agg(f ORDER BY o) AS vec
      FROM mlsys.explain_samples s, unnest(s.features) WITH ORDINALITY u(f, o)
      WHERE s.model = 'xpl_lin' AND s.version = 1 GROUP BY (o - 1) / 7) x;
-- the same training draws the same sample
SELECT version FROM mlsys.train('xpl_lin', 'xpl', 'y', ARRAY['a', 'b', 'cat', 'v'], deploy => 'never');
SELECT (SELECT features FROM mlsys.explain_samples WHERE model = 'xpl_lin' AND version = 1)
     = (SELECT features FROM mlsys.explain_samples WHERE model = 'xpl_lin' AND version = 3) AS same_sample;
-- one row per source column, gain NULL for linear models
SELECT feature, gain, mean_abs_contribution > 0 AS positive FROM mlsys.feature_importance('xpl_lin');
-- mean |Σ coefficient × (value − mean)| over the sample, per column, computed here
WITH cols AS (SELECT c.name, sum(greatest(c.len, 1)) OVER (ORDER BY c.o) - greatest(c.len, 1) AS first, greatest(c.len, 1) AS width
              FROM mlsys.model_versions v,
                   unnest(v.feature_columns, v.feature_lengths) WITH ORDINALITY c(name, len, o)
              WHERE v.model = 'xpl_lin' AND v.version = 1),
     cells AS (SELECT (u.o - 1) / 7 AS r, (u.o - 1) % 7 + 1 AS j, u.f
               FROM mlsys.explain_samples s, unnest(s.features) WITH ORDINALITY u(f, o)
               WHERE s.model = 'xpl_lin' AND s.version = 1),
     per_row AS (SELECT cols.name, cells.r, abs(sum(f.coefficient * (cells.f - xpl_mean('xpl_lin', cells.j::int)))) AS a
                 FROM cells JOIN mlsys.features('xpl_lin', 1) f ON f.ordinal = cells.j
                 JOIN cols ON cells.j > cols.first AND cells.j <= cols.first + cols.width
                 GROUP BY cols.name, cells.r)
SELECT i.feature, abs(i.mean_abs_contribution - avg(p.a)) < 1e-9 AS matches
FROM mlsys.feature_importance('xpl_lin', 1) i JOIN per_row p ON p.name = i.feature
GROUP BY i.feature, i.mean_abs_contribution ORDER BY 1;
-- multiclass: each class's mean |column sum|, summed over the classes
WITH rows AS (SELECT (u.o - 1) / 4 AS r, array_agg(u.f ORDER BY u.o) AS x
              FROM mlsys.explain_samples s, unnest(s.features) WITH ORDINALITY u(f, o)
              WHERE s.model = 'xpl_multi' AND s.version = 1 GROUP BY 1),
     per AS (SELECT CASE WHEN e.feature LIKE 'v[%' THEN 'v' ELSE e.feature END AS col, e.class, rows.r,
                    abs(sum(e.contribution)) AS a
             FROM rows, mlsys.explain('xpl_multi', rows.x) e WHERE e.feature <> '<bias>' GROUP BY 1, 2, 3),
     expect AS (SELECT col, sum(m) AS m FROM (SELECT col, class, avg(a) AS m FROM per GROUP BY 1, 2) z GROUP BY 1)
SELECT i.feature, i.gain IS NULL AS no_gain, abs(i.mean_abs_contribution - x.m) < 1e-9 AS matches
FROM mlsys.feature_importance('xpl_multi') i JOIN expect x ON x.col = i.feature ORDER BY 1;

-- a large analyzed table is sampled through TABLESAMPLE: rows from all over it
CREATE TABLE xpl_big AS SELECT i AS id, i::float8 AS x, (2 * i + i % 7)::float8 AS y FROM generate_series(1, 30000) i;
ANALYZE xpl_big;
SELECT version FROM mlsys.train('xpl_big', 'xpl_big', 'y', ARRAY['x']);
SELECT s.nrows, count(DISTINCT f) AS distinct_rows, min(f) < 10000 AND max(f) > 20000 AS spread
FROM mlsys.explain_samples s, unnest(s.features) f WHERE s.model = 'xpl_big' GROUP BY s.nrows;

-- a trainer stores the sample through registration, never directly
CREATE ROLE regress_explain_trainer IN ROLE mlsys_trainer;
GRANT SELECT ON xpl TO regress_explain_trainer;
SET ROLE regress_explain_trainer;
SELECT version FROM mlsys.train('xpl_role', 'xpl', 'y', ARRAY['a', 'b']);
SELECT mlsys._store_explain_sample('xpl_lin', 1, 1, ARRAY[1, 2, 3, 4, 5, 6, 7]::float8[]);
INSERT INTO mlsys.explain_samples VALUES ('xpl_lin', 1, 1, ARRAY[1, 2, 3, 4, 5, 6, 7]::float8[]);
RESET ROLE;
SELECT nrows > 0 AS stored FROM mlsys.explain_samples WHERE model = 'xpl_role';
-- within the registering transaction, the sample must hold whole vectors
BEGIN;
SELECT version FROM mlsys.train('xpl_tx', 'xpl', 'y', ARRAY['a', 'b']);
SELECT mlsys._store_explain_sample('xpl_tx', 1, 2, ARRAY[1, 2, 3]::float8[]);
ROLLBACK;

-- errors
SELECT * FROM mlsys.explain('xpl_lin', ARRAY[1, 2]::float8[]);
SELECT * FROM mlsys.explain('xpl_lin', 9, ARRAY[1, 2, 0, 0, 1, 3, 4]::float8[]);
SELECT * FROM mlsys.explain('xpl_nope', ARRAY[1]::float8[]);
SELECT * FROM mlsys.explain('xpl_lin', ARRAY[1e308, -1e308, 0, 0, 1, 3, 4]::float8[]);
SELECT * FROM mlsys.feature_importance('xpl_lin', 0);
SELECT * FROM mlsys.feature_importance(NULL);

------------------------------------------------------------------------------
-- trees: exact TreeSHAP against brute-force Shapley values
------------------------------------------------------------------------------
-- E[tree | x_S] as the tree estimates it: a split on a feature of S follows
-- x (a missing value: its default side), any other split averages its
-- children weighted by their share of its cover (halves when it has none)
CREATE FUNCTION bf_tree(nodes jsonb, i int, x jsonb, s text[]) RETURNS float8
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n jsonb := nodes -> i;
    l int := (n ->> 'left')::int;
    r int := (n ->> 'right')::int;
    v float8;
BEGIN
    IF n ? 'leaf' THEN
        RETURN (n ->> 'leaf')::float8;
    END IF;
    IF (n ->> 'split') = ANY (s) THEN
        v := (x ->> (n ->> 'split'))::float8;
        IF v IS NULL OR v = 'NaN' THEN
            RETURN bf_tree(nodes, CASE WHEN n ->> 'missing' = 'left' THEN l ELSE r END, x, s);
        END IF;
        RETURN bf_tree(nodes, CASE WHEN v < (n ->> 'threshold')::float8 THEN l ELSE r END, x, s);
    END IF;
    IF (n ->> 'cover')::float8 = 0 THEN
        RETURN (bf_tree(nodes, l, x, s) + bf_tree(nodes, r, x, s)) / 2;
    END IF;
    RETURN ((nodes -> l ->> 'cover')::float8 * bf_tree(nodes, l, x, s)
          + (nodes -> r ->> 'cover')::float8 * bf_tree(nodes, r, x, s)) / (n ->> 'cover')::float8;
END $$;
-- v(S) for output g: its base margin plus its trees
CREATE FUNCTION bf_value(params jsonb, g int, x jsonb, s text[]) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT (params -> 'base_margin' ->> g)::float8 + coalesce(sum(bf_tree(t -> 'nodes', 0, x, s)), 0)
      FROM jsonb_array_elements(params -> 'trees') t
     WHERE coalesce((t ->> 'output')::int, 0) = g
$$;
-- Shapley values of every feature of names for output g by enumerating the
-- subsets: φ_i = Σ_S |S|! (p − |S| − 1)! / p! (v(S ∪ {i}) − v(S)); the bias is v(∅)
CREATE FUNCTION bf_shap(params jsonb, names text[], g int, x jsonb)
RETURNS TABLE (feature text, contribution float8)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    p int := cardinality(names);
    v float8[] := '{}';
    phi float8;
    k int;
BEGIN
    FOR mask IN 0 .. (1 << p) - 1 LOOP
        v := v || bf_value(params, g, x,
                           ARRAY(SELECT names[j] FROM generate_series(1, p) j WHERE mask & (1 << (j - 1)) <> 0));
    END LOOP;
    FOR i IN 1 .. p LOOP
        phi := 0;
        FOR mask IN 0 .. (1 << p) - 1 LOOP
            CONTINUE WHEN mask & (1 << (i - 1)) <> 0;
            k := length(replace(mask::bit(31)::text, '0', ''));
            phi := phi + (factorial(k) * factorial(p - k - 1) / factorial(p))::float8
                         * (v[(mask | (1 << (i - 1))) + 1] - v[mask + 1]);
        END LOOP;
        feature := names[i];
        contribution := phi;
        RETURN NEXT;
    END LOOP;
    feature := '<bias>';
    contribution := v[1];
    RETURN NEXT;
END $$;
-- the largest difference between mlsys.explain and the brute force for a
-- version's trees at x (a float8[] in model order), over every output
CREATE FUNCTION bf_check(m text, x float8[]) RETURNS float8 LANGUAGE sql AS $$
    WITH d AS (SELECT doc -> 'parameters' AS params,
                      ARRAY(SELECT jsonb_array_elements_text(doc -> 'spec' -> 'features')) AS names
               FROM mlsys.export_model(m) doc),
         outs AS (SELECT g, CASE WHEN jsonb_array_length(d.params -> 'base_margin') = 1
                                 THEN (SELECT e.class FROM mlsys.explain(m, x) e LIMIT 1)
                                 ELSE (mlsys.classes(m))[g + 1] END AS label
                  FROM d, generate_series(0, jsonb_array_length(d.params -> 'base_margin') - 1) g),
         xj AS (SELECT jsonb_object_agg(d.names[j], x[j]) AS xj FROM d, generate_series(1, cardinality(x)) j)
    SELECT max(abs(e.contribution - b.contribution))
      FROM d, xj, outs, LATERAL bf_shap(d.params, d.names, outs.g, xj.xj) b, mlsys.explain(m, x) e
     WHERE e.feature = b.feature AND e.class IS NOT DISTINCT FROM outs.label
$$;

-- trees imported as mlsys documents: depth ≤ 3, a feature split twice on one
-- path, both missing directions, a leaf without cover
CREATE TABLE xpl_doc AS
SELECT mlsys.export_model('xpl_lin', 1) AS lin, mlsys.export_model('xpl_bin') AS bin,
       mlsys.export_model('xpl_multi') AS multi;
-- the regression trees use a, b and v[1] of xpl_lin's seven features
CREATE TABLE xpl_trees AS SELECT jsonb_build_object('float32', false, 'threshold', 0.5, 'base_margin', jsonb_build_array(0.25), 'trees', jsonb_build_array(
  jsonb_build_object('output', 0, 'nodes', '[
    {"split": "a", "threshold": 4.5, "left": 1, "right": 2, "missing": "left", "cover": 100, "gain": 40},
    {"split": "b", "threshold": 3.5, "left": 3, "right": 4, "missing": "right", "cover": 45, "gain": 12},
    {"split": "a", "threshold": 7.5, "left": 5, "right": 6, "missing": "left", "cover": 55, "gain": 8},
    {"leaf": -2.5, "cover": 15},
    {"split": "v[1]", "threshold": 1.5, "left": 7, "right": 8, "missing": "left", "cover": 30, "gain": 3},
    {"leaf": 1.25, "cover": 25},
    {"leaf": 3.0, "cover": 30},
    {"leaf": -0.75, "cover": 12},
    {"leaf": 0.5, "cover": 18}]'::jsonb),
  jsonb_build_object('output', 0, 'nodes', '[
    {"split": "v[1]", "threshold": 2.5, "left": 1, "right": 2, "missing": "right", "cover": 100, "gain": 20},
    {"split": "b", "threshold": 6.5, "left": 3, "right": 4, "missing": "left", "cover": 60, "gain": 5},
    {"leaf": 0.8, "cover": 40},
    {"leaf": -0.4, "cover": 0},
    {"leaf": 0.1, "cover": 60}]'::jsonb),
  jsonb_build_object('output', 0, 'nodes', '[{"leaf": 0.125, "cover": 100}]'::jsonb))) AS params;
SELECT mlsys.import_model('xpl_tree_reg', d.lin || jsonb_build_object('algorithm', 'boosted_trees', 'parameters', t.params))
FROM xpl_doc d, xpl_trees t;
SELECT count(*) AS points, max(bf_check('xpl_tree_reg', x)) < 1e-9 AS shapley_exact
FROM (VALUES (ARRAY[3, 2, 1, 0, 0, 1, 0]::float8[]), (ARRAY[3, 5, 0, 1, 0, 2, 3]),
             (ARRAY[6, 9, 0, 0, 1, 4, 1]), (ARRAY[9, 0, 1, 0, 0, 0, 0]), (ARRAY[4.5, 3.5, 0, 0, 1, 2.5, 1])) p(x);
SELECT max(abs(s.total - mlsys.predict('xpl_tree_reg', r))) < 1e-9 AS sums_are_predictions
FROM xpl r, LATERAL (SELECT sum(e.contribution) AS total FROM mlsys.explain('xpl_tree_reg', r) e) s WHERE id % 17 = 0;
-- features not split on contribute nothing; the bias is the cover-weighted mean plus the base margin
SELECT feature, round(contribution::numeric, 6) AS contribution FROM mlsys.explain('xpl_tree_reg', ARRAY[3, 2, 1, 0, 0, 1, 0]::float8[]);
SELECT 0.25 + (15 * -2.5 + 12 * -0.75 + 18 * 0.5 + 25 * 1.25 + 30 * 3.0) / 100 + (40 * 0.8 + 0 * -0.4 + 60 * 0.1) / 100 + 0.125 AS expected_bias;
-- mlsys.features lists a trees version's features without coefficients
SELECT ordinal, feature, coefficient FROM mlsys.features('xpl_tree_reg');
-- split gain per source column, as the document states it; no sample for an imported version
SELECT feature, gain, mean_abs_contribution FROM mlsys.feature_importance('xpl_tree_reg');
-- binary trees over a and b: the log-odds of the positive class
SELECT mlsys.import_model('xpl_tree_bin', d.bin || jsonb_build_object('algorithm', 'boosted_trees', 'parameters',
  jsonb_build_object('float32', false, 'threshold', 0.5, 'base_margin', jsonb_build_array(-0.2), 'trees', jsonb_build_array(
    jsonb_build_object('output', 0, 'nodes', '[
      {"split": "a", "threshold": 5, "left": 1, "right": 2, "missing": "left", "cover": 50, "gain": 9},
      {"split": "b", "threshold": 4, "left": 3, "right": 4, "missing": "left", "cover": 20, "gain": 2},
      {"leaf": 1.5, "cover": 30},
      {"leaf": -1.0, "cover": 8},
      {"leaf": 0.3, "cover": 12}]'::jsonb),
    jsonb_build_object('output', 0, 'nodes', '[
      {"split": "b", "threshold": 6, "left": 1, "right": 2, "missing": "right", "cover": 50, "gain": 4},
      {"split": "b", "threshold": 2, "left": 3, "right": 4, "missing": "left", "cover": 28, "gain": 1},
      {"leaf": -0.6, "cover": 22},
      {"leaf": 0.2, "cover": 10},
      {"leaf": 0.4, "cover": 18}]'::jsonb)))))
FROM xpl_doc d;
SELECT max(bf_check('xpl_tree_bin', x)) < 1e-9 AS shapley_exact
FROM (VALUES (ARRAY[1, 1, 1, 0, 0]::float8[]), (ARRAY[7, 3, 0, 1, 0]), (ARRAY[2, 8, 0, 0, 1])) p(x);
SELECT max(abs(s.total - ln(p.p / (1 - p.p)))) < 1e-9 AS sums_are_log_odds
FROM xpl r,
     LATERAL (SELECT sum(e.contribution) AS total FROM mlsys.explain('xpl_tree_bin', r) e) s,
     LATERAL (SELECT (mlsys.predict_proba('xpl_tree_bin', r))[array_position(mlsys.classes('xpl_tree_bin'), 'true')] AS p) p
WHERE id % 17 = 0;
-- multiclass trees, one per class: each class's margin
SELECT mlsys.import_model('xpl_tree_multi', d.multi || jsonb_build_object('algorithm', 'boosted_trees', 'parameters',
  jsonb_build_object('float32', false, 'threshold', 0.5, 'base_margin', jsonb_build_array(0.1, 0, -0.1), 'trees', jsonb_build_array(
    jsonb_build_object('output', 0, 'nodes', '[
      {"split": "a", "threshold": 3, "left": 1, "right": 2, "missing": "left", "cover": 40, "gain": 6},
      {"leaf": 0.9, "cover": 12},
      {"split": "v[2]", "threshold": 1, "left": 3, "right": 4, "missing": "right", "cover": 28, "gain": 2},
      {"leaf": -0.2, "cover": 7},
      {"leaf": 0.1, "cover": 21}]'::jsonb),
    jsonb_build_object('output', 1, 'nodes', '[
      {"split": "b", "threshold": 5, "left": 1, "right": 2, "missing": "left", "cover": 40, "gain": 3},
      {"leaf": 0.4, "cover": 22},
      {"leaf": -0.3, "cover": 18}]'::jsonb),
    jsonb_build_object('output', 2, 'nodes', '[
      {"split": "a", "threshold": 6, "left": 1, "right": 2, "missing": "left", "cover": 40, "gain": 5},
      {"split": "v[1]", "threshold": 2, "left": 3, "right": 4, "missing": "left", "cover": 24, "gain": 1},
      {"leaf": 0.7, "cover": 16},
      {"leaf": -0.5, "cover": 10},
      {"leaf": -0.1, "cover": 14}]'::jsonb)))))
FROM xpl_doc d;
SELECT max(bf_check('xpl_tree_multi', x)) < 1e-9 AS shapley_exact
FROM (VALUES (ARRAY[1, 1, 0, 0]::float8[]), (ARRAY[7, 3, 3, 2]), (ARRAY[4, 8, 1, 0])) p(x);
SELECT max(abs(exp(m.margin) / m.total - m.p)) < 1e-9 AS softmax_of_margins
FROM xpl r,
     LATERAL (SELECT s.margin, sum(exp(s.margin)) OVER () AS total,
                     (mlsys.predict_proba('xpl_tree_multi', r))[array_position(mlsys.classes('xpl_tree_multi'), s.class)] AS p
              FROM (SELECT e.class, sum(e.contribution) AS margin FROM mlsys.explain('xpl_tree_multi', r) e GROUP BY e.class) s) m
WHERE id % 17 = 0;

-- a trained ensemble of depth 3
SELECT version FROM mlsys.train('xpl_gbt', 'xpl', 'y', ARRAY['a', 'b', 'v'], 'boosted_trees',
                                '{"n_trees": 5, "max_depth": 3}');
SELECT max(bf_check('xpl_gbt', x)) < 1e-9 AS shapley_exact
FROM (SELECT ARRAY[a, b, v[1], v[2]] AS x FROM xpl WHERE id % 97 = 0) p;
SELECT max(abs(s.total - mlsys.predict('xpl_gbt', r))) < 1e-9 AS sums_are_predictions
FROM xpl r, LATERAL (SELECT sum(e.contribution) AS total FROM mlsys.explain('xpl_gbt', r) e) s WHERE id % 17 = 0;
-- the trees split a feature again right below a split on it (what TreeSHAP unwinds)
SELECT count(DISTINCT t.o) AS trees, bool_or(n ->> 'split' = m ->> 'split') AS feature_repeated
FROM jsonb_array_elements(mlsys.export_model('xpl_gbt') -> 'parameters' -> 'trees') WITH ORDINALITY t(tree, o),
     jsonb_array_elements(t.tree -> 'nodes') n,
     jsonb_array_elements(t.tree -> 'nodes') WITH ORDINALITY c(m, j)
WHERE (n ->> 'left')::int = c.j - 1 OR (n ->> 'right')::int = c.j - 1;
-- gain per column = the split gains of the exported trees; a sample kept at training
SELECT i.feature, abs(i.gain - coalesce(g.gain, 0)) < 1e-9 AS gain_matches, i.mean_abs_contribution > 0 AS sampled
FROM mlsys.feature_importance('xpl_gbt') i
LEFT JOIN (SELECT CASE WHEN n ->> 'split' LIKE 'v[%' THEN 'v' ELSE n ->> 'split' END AS col, sum((n ->> 'gain')::float8) AS gain
           FROM jsonb_array_elements(mlsys.export_model('xpl_gbt') -> 'parameters' -> 'trees') t,
                jsonb_array_elements(t -> 'nodes') n
           WHERE n ? 'split' GROUP BY 1) g ON g.col = i.feature
ORDER BY 1;

-- mean |column sum| over the sample, computed here from mlsys.explain
WITH rows AS (SELECT (u.o - 1) / 4 AS r, array_agg(u.f ORDER BY u.o) AS x
              FROM mlsys.explain_samples s, unnest(s.features) WITH ORDINALITY u(f, o)
              WHERE s.model = 'xpl_gbt' GROUP BY 1),
     per AS (SELECT CASE WHEN e.feature LIKE 'v[%' THEN 'v' ELSE e.feature END AS col, rows.r, abs(sum(e.contribution)) AS a
             FROM rows, mlsys.explain('xpl_gbt', rows.x) e WHERE e.feature <> '<bias>' GROUP BY 1, 2)
SELECT i.feature, abs(i.mean_abs_contribution - avg(per.a)) < 1e-9 AS matches
FROM mlsys.feature_importance('xpl_gbt') i JOIN per ON per.col = i.feature
GROUP BY i.feature, i.mean_abs_contribution ORDER BY 1;
-- trained binary and multiclass ensembles
SELECT version FROM mlsys.train('xpl_gbt_bin', 'xpl', 'flag', ARRAY['a', 'b', 'v'], 'boosted_trees',
                                '{"n_trees": 4, "max_depth": 3}');
SELECT version FROM mlsys.train('xpl_gbt_multi', 'xpl', 'cls', ARRAY['a', 'b', 'v'], 'boosted_trees',
                                '{"n_trees": 3, "max_depth": 2}');
SELECT max(bf_check('xpl_gbt_bin', x)) < 1e-9 AS binary_exact, max(bf_check('xpl_gbt_multi', x)) < 1e-9 AS multiclass_exact
FROM (SELECT ARRAY[a, b, v[1], v[2]] AS x FROM xpl WHERE id % 149 = 0) p;
SELECT max(abs(s.total - ln(p.p / (1 - p.p)))) < 1e-9 AS sums_are_log_odds
FROM xpl r,
     LATERAL (SELECT sum(e.contribution) AS total FROM mlsys.explain('xpl_gbt_bin', r) e) s,
     LATERAL (SELECT (mlsys.predict_proba('xpl_gbt_bin', r))[array_position(mlsys.classes('xpl_gbt_bin'), 'true')] AS p) p
WHERE id % 17 = 0;
SELECT max(abs(exp(m.margin) / m.total - m.p)) < 1e-9 AS softmax_of_margins
FROM xpl r,
     LATERAL (SELECT s.margin, sum(exp(s.margin)) OVER () AS total,
                     (mlsys.predict_proba('xpl_gbt_multi', r))[array_position(mlsys.classes('xpl_gbt_multi'), s.class)] AS p
              FROM (SELECT e.class, sum(e.contribution) AS margin FROM mlsys.explain('xpl_gbt_multi', r) e GROUP BY e.class) s) m
WHERE id % 17 = 0;

-- an XGBoost model (float32): x = 0.1 is not below the threshold 0.1 in
-- float, as XGBoost decides, though it is in float8. By hand: tree 1 has
-- expected value (4 · −1.5 + 6 · 2.25) / 10 = 0.75 and reaches 2.25, so a
-- gets 1.5; tree 2 (b, then a on its left) has expected value 0.1625 and
-- v({a}) = −0.025, v({b}) = v({a, b}) = 0.5, so a gets −0.09375 and b
-- 0.43125; the bias is 0.5 + 0.75 + 0.1625
SELECT mlsys.import_model('xpl_xgb', '{"version": [2, 0, 0], "learner": {
  "objective": {"name": "reg:squarederror"},
  "learner_model_param": {"base_score": "5E-1", "num_feature": "2", "num_class": "0", "num_target": "1"},
  "feature_names": ["a", "b"], "feature_types": ["float", "float"],
  "gradient_booster": {"name": "gbtree", "model": {
    "gbtree_model_param": {"num_trees": "2"}, "tree_info": [0, 0],
    "trees": [
      {"tree_param": {"num_nodes": "3", "num_deleted": "0", "size_leaf_vector": "1"},
       "split_indices": [0, 0, 0], "left_children": [1, -1, -1], "right_children": [2, -1, -1],
       "split_conditions": [0.1, -1.5, 2.25], "sum_hessian": [10, 4, 6], "loss_changes": [3, 0, 0],
       "default_left": [1, 0, 0]},
      {"tree_param": {"num_nodes": "5", "num_deleted": "0", "size_leaf_vector": "1"},
       "split_indices": [1, 0, 0, 0, 0], "left_children": [1, 3, -1, -1, -1], "right_children": [2, 4, -1, -1, -1],
       "split_conditions": [0.3, 0.7, 0.5, -0.25, 0.125], "sum_hessian": [10, 7, 3, 2, 5],
       "loss_changes": [2, 1, 0, 0, 0], "default_left": [0, 1, 0, 0, 0]}]}}}}'::jsonb);
SELECT e.feature, abs(e.contribution - x.expected) < 1e-6 AS as_by_hand
FROM mlsys.explain('xpl_xgb', ARRAY[0.1, 0.3]::float8[]) e
JOIN (VALUES ('a', 1.40625), ('b', 0.43125), ('<bias>', 1.4125)) x(feature, expected) ON x.feature = e.feature;
SELECT sum(contribution) AS total, mlsys.predict('xpl_xgb', ARRAY[0.1, 0.3]::float8[]) AS prediction
FROM mlsys.explain('xpl_xgb', ARRAY[0.1, 0.3]::float8[]);

SELECT count(mlsys.drop_model(m.model)) AS dropped FROM mlsys.models m WHERE m.model LIKE 'xpl\_%';
SELECT count(*) AS samples_left FROM mlsys.explain_samples WHERE model LIKE 'xpl\_%';
DROP FUNCTION xpl_vector(xpl), xpl_mean(text, int), bf_check(text, float8[]), bf_shap(jsonb, text[], int, jsonb),
    bf_value(jsonb, int, jsonb, text[]), bf_tree(jsonb, int, jsonb, text[]);
DROP TABLE xpl, xpl_big, xpl_doc, xpl_trees;
DROP ROLE regress_explain_trainer;
