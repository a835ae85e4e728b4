-- preprocessing stored in the model: one-hot categoricals, imputation, scale
SET extra_float_digits = 0;
CREATE TYPE pp_tier AS ENUM ('gold', 'silver', 'bronze');
-- y = 1 + 2 x + effect(color) + 5 [flag], exactly; color has a NULL category
CREATE TABLE pp AS
SELECT i AS id, (i % 17)::float8 AS x,
       CASE i % 4 WHEN 0 THEN 'red' WHEN 1 THEN 'Blue' WHEN 2 THEN 'green' END AS color,
       i % 3 = 0 AS flag,
       (ARRAY['gold', 'silver', 'bronze'])[1 + i % 3]::pp_tier AS tier,
       ('{a,b}'::bpchar[])[1 + i % 2]::char(3) AS code
FROM generate_series(1, 400) i;
ALTER TABLE pp ADD COLUMN y float8;
UPDATE pp SET y = 1 + 2 * x + CASE color WHEN 'red' THEN 3 WHEN 'Blue' THEN -1 WHEN 'green' THEN 0.5 ELSE 10 END
                + CASE WHEN flag THEN 5 ELSE 0 END;
SELECT model, version, algorithm, (metrics->>'rmse')::float8 < 1e-9 AS exact_fit
FROM mlsys.train('pp_lin', 'pp', 'y', ARRAY['x', 'color', 'flag']);
-- categories in byte order (upper case first), the NULL category last
SELECT features, preprocessing FROM mlsys.model_versions WHERE model = 'pp_lin';
SELECT ordinal, feature FROM mlsys.features('pp_lin') ORDER BY ordinal;
-- every path scores the categories as training saw them
SELECT count(*) AS rows, count(*) FILTER (WHERE abs(mlsys.predict('pp_lin', p) - y) < 1e-9) AS exact_rows
FROM pp p;
SELECT round(mlsys.predict('pp_lin', '{"x": 2, "color": "red", "flag": true}'::jsonb)::numeric, 9) AS red_json,
       round(mlsys.predict('pp_lin', s)::numeric, 9) AS red_row
FROM (SELECT 2::int AS x, 'red'::varchar AS color, true AS flag) s;
-- a JSON null and an absent key are the NULL category
SELECT round(mlsys.predict('pp_lin', '{"x": 0, "color": null, "flag": false}'::jsonb)::numeric, 9) AS null_color,
       round(mlsys.predict('pp_lin', '{"x": 0, "flag": false}'::jsonb)::numeric, 9) AS absent_color;
-- an unseen category encodes as all zeros: the same as the mean of the
-- minimum-norm one-hot coefficients, i.e. intercept + 2x (+ flag effects)
SELECT round((mlsys.predict('pp_lin', '{"x": 0, "color": "purple", "flag": false}'::jsonb)
             - (SELECT coefficient FROM mlsys.features('pp_lin') WHERE ordinal = 0)
             - (SELECT coefficient FROM mlsys.features('pp_lin') WHERE feature = 'flag=false'))::numeric, 9) AS unseen_is_zeros;
-- enum and char(n) columns are categorical too (char(n) without trailing blanks)
SELECT model, version FROM mlsys.train('pp_enum', 'pp', 'y', ARRAY['x', 'tier', 'code']);
SELECT features FROM mlsys.model_versions WHERE model = 'pp_enum';
SELECT count(*) FILTER (WHERE abs(mlsys.predict('pp_enum', p) -
        mlsys.predict('pp_enum', jsonb_build_object('x', x, 'tier', tier, 'code', rtrim(code)))) < 1e-9) AS row_equals_json
FROM pp p;
-- batch scoring with categoricals
SELECT mlsys.predict_batch('pp_lin', 'pp', 'id') AS scored;
SELECT count(*) FILTER (WHERE abs(pr.prediction - p.y) < 1e-9) AS batch_exact
FROM mlsys.predictions pr JOIN pp p ON p.id::text = pr.entity_id WHERE pr.model = 'pp_lin';

-- missing values: NULL and NaN in a numeric column are imputed
CREATE TABLE pp_miss AS SELECT id, x, color, flag, y FROM pp;
UPDATE pp_miss SET x = NULL WHERE id % 10 = 0;
UPDATE pp_miss SET x = 'NaN' WHERE id % 10 = 5;
SELECT model, version FROM mlsys.train('pp_mean', 'pp_miss', 'y', ARRAY['x', 'color', 'flag']);
SELECT model, version FROM mlsys.train('pp_median', 'pp_miss', 'y', ARRAY['x', 'color', 'flag'], hyperparams => '{"impute": "median"}');
SELECT model, version FROM mlsys.train('pp_zero', 'pp_miss', 'y', ARRAY['x', 'color', 'flag'], hyperparams => '{"impute": "zero"}');
-- the imputed values: mean and median of the non-missing values, zero
SELECT abs((v.preprocessing->'impute_values'->>'x')::float8 - s.mean) < 1e-12 AS mean_ok,
       abs((m.preprocessing->'impute_values'->>'x')::float8 - s.median) < 1e-12 AS median_ok,
       (z.preprocessing->'impute_values'->>'x')::float8 = 0 AS zero_ok,
       v.hyperparams, m.hyperparams AS median_hyperparams
FROM mlsys.model_versions v, mlsys.model_versions m, mlsys.model_versions z,
     (SELECT avg(x) AS mean, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS median
      FROM pp_miss WHERE x IS NOT NULL AND x <> 'NaN') s
WHERE v.model = 'pp_mean' AND m.model = 'pp_median' AND z.model = 'pp_zero';
-- scoring a missing value uses the imputed one, on every path
SELECT round(mlsys.predict('pp_mean', s)::numeric, 9) = round(mlsys.predict('pp_mean',
           jsonb_build_object('x', (SELECT (preprocessing->'impute_values'->>'x')::float8 FROM mlsys.model_versions WHERE model = 'pp_mean'),
                              'color', 'red', 'flag', true))::numeric, 9) AS null_row_imputed,
       round(mlsys.predict('pp_mean', '{"x": null, "color": "red", "flag": true}'::jsonb)::numeric, 9) =
       round(mlsys.predict('pp_mean', s)::numeric, 9) AS null_json_imputed,
       round(mlsys.predict('pp_mean', '{"color": "red", "flag": true}'::jsonb)::numeric, 9) =
       round(mlsys.predict('pp_mean', s)::numeric, 9) AS absent_json_imputed
FROM (SELECT NULL::float8 AS x, 'red' AS color, true AS flag) s;
-- clean training data: the training split's mean is stored for scoring
SELECT (preprocessing->'impute_values'->>'x')::float8 BETWEEN 7 AND 9 AS mean_stored
FROM mlsys.model_versions WHERE model = 'pp_lin';
SELECT round(mlsys.predict('pp_lin', '{"x": null, "color": "red", "flag": true}'::jsonb)::numeric, 6) =
       round((1 + 2 * (SELECT (preprocessing->'impute_values'->>'x')::float8 FROM mlsys.model_versions WHERE model = 'pp_lin') + 3 + 5)::numeric, 6)
       AS clean_model_imputes;

-- logistic regression with categoricals; "scale": "none" is recorded
CREATE TABLE pp_churn AS
SELECT id, x, color, flag,
       (mlsys._impute(x, 0) * 0.3 + CASE color WHEN 'red' THEN 2 ELSE -1 END
        + (hashint4(id) % 1000) / 250.0 > 3) AS churned
FROM pp;
SELECT model, (metrics->>'converged')::bool AS converged, (metrics->>'auc')::float8 > 0.7 AS learned
FROM mlsys.train('pp_logit', 'pp_churn', 'churned', ARRAY['x', 'color', 'flag']);
SELECT model, (metrics->>'converged')::bool AS converged
FROM mlsys.train('pp_logit_raw', 'pp_churn', 'churned', ARRAY['x', 'color', 'flag'], hyperparams => '{"scale": "none"}');
SELECT hyperparams->>'scale' AS scale FROM mlsys.model_versions WHERE model = 'pp_logit_raw';
SELECT (SELECT coefficient FROM mlsys.features('pp_logit') WHERE feature = 'color=red') >
       (SELECT coefficient FROM mlsys.features('pp_logit') WHERE feature = 'color=green') AS red_churns_more;
SELECT mlsys.predict_label('pp_logit', '{"x": 16, "color": "red", "flag": true}'::jsonb) AS label_red,
       mlsys.predict_label('pp_logit', '{"x": 0, "color": "Blue", "flag": false}'::jsonb) AS label_blue;
-- cross-validation with categoricals and missing values
-- (the imputed rows, a fifth of them, cost about 2 · sd(x) each: rmse near 4.4)
SELECT count(*) AS folds, bool_and((metrics->>'rmse')::float8 BETWEEN 2 AND 6) AS imputed_fit
FROM mlsys.cross_validate('pp_miss', 'y', ARRAY['x', 'color', 'flag'], folds => 3);

-- bad input
\set SHOW_CONTEXT never
CREATE TABLE pp_wide AS SELECT i AS id, 'v' || i AS tag, i::float8 AS y FROM generate_series(1, 1100) i;
SELECT * FROM mlsys.train('pp_bad', 'pp_wide', 'y', ARRAY['tag']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys.train('pp_bad', 'pp', 'y', ARRAY['x'], hyperparams => '{"impute": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM mlsys.train('pp_bad', 'pp_churn', 'churned', ARRAY['x'], hyperparams => '{"scale": "minmax"}');
\echo :LAST_ERROR_SQLSTATE
-- an array element is never imputed
CREATE TABLE pp_arr AS SELECT id, ARRAY[x, x * 2] AS v, y FROM pp;
UPDATE pp_arr SET v = ARRAY[NULL, 1]::float8[] WHERE id = 3;
SELECT * FROM mlsys.train('pp_bad', 'pp_arr', 'y', ARRAY['v']);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS nothing_registered FROM mlsys.models WHERE model = 'pp_bad';
\set SHOW_CONTEXT errors
