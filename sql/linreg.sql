-- linreg_agg: coefficients against closed-form results on generated data
SET extra_float_digits = 0;
SELECT setseed(0.42);
CREATE TABLE lr AS
SELECT i, x1, x2, x3,
       3.5 + 2.0 * x1 - 1.25 * x2 + 0.5 * x3 AS y_exact,
       3.5 + 2.0 * x1 - 1.25 * x2 + 0.5 * x3 + (random() - 0.5) AS y_noisy
FROM (SELECT i, random() * 10 AS x1, random() * 100 - 50 AS x2, random() AS x3
      FROM generate_series(1, 5000) i) s;

-- noise-free data: the true coefficients, intercept first, to 1e-9
SELECT bool_and(abs(c - t) < 1e-9) AS exact_recovery
FROM unnest((SELECT mlsys.linreg_agg(y_exact, ARRAY[x1, x2, x3]) FROM lr),
            ARRAY[3.5, 2.0, -1.25, 0.5]::float8[]) AS u(c, t);

-- one feature: equals PostgreSQL's own regr_intercept / regr_slope
SELECT abs(c[1] - regr_i) < 1e-9 AND abs(c[2] - regr_s) < 1e-9 AS matches_regr
FROM (SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1]) AS c,
             regr_intercept(y_noisy, x1) AS regr_i, regr_slope(y_noisy, x1) AS regr_s
      FROM lr) s;

-- ridge, one feature, closed form: w = Sxy / (Sxx + alpha), b = mean(y) - w * mean(x)
SELECT abs(c[2] - sxy / (sxx + 250)) < 1e-9 AND abs(c[1] - (my - c[2] * mx)) < 1e-9 AS ridge_closed_form
FROM (SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1], 250) AS c,
             regr_sxy(y_noisy, x1) AS sxy, regr_sxx(y_noisy, x1) AS sxx,
             avg(y_noisy) AS my, avg(x1) AS mx
      FROM lr) s;

-- several features with noise: the normal equations hold, i.e. the residual is
-- orthogonal to every centred feature (OLS) or equals alpha * w (ridge)
CREATE TABLE lr_fit AS
SELECT (SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1, x2, x3]) FROM lr) AS ols,
       (SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1, x2, x3], 1000) FROM lr) AS ridge;
WITH r AS (
  SELECT lr.*, y_noisy - (f.ols[1] + f.ols[2] * x1 + f.ols[3] * x2 + f.ols[4] * x3) AS e_ols,
         y_noisy - (f.ridge[1] + f.ridge[2] * x1 + f.ridge[3] * x2 + f.ridge[4] * x3) AS e_ridge,
         f.ridge
  FROM lr, lr_fit f),
m AS (SELECT avg(x1) m1, avg(x2) m2, avg(x3) m3 FROM lr)
SELECT abs(sum(e_ols)) < 1e-7 AS ols_residual_mean_zero,
       abs(sum((x1 - m1) * e_ols)) < 1e-6 AND abs(sum((x2 - m2) * e_ols)) < 1e-6
         AND abs(sum((x3 - m3) * e_ols)) < 1e-6 AS ols_orthogonal,
       abs(sum(e_ridge)) < 1e-7 AS ridge_intercept_unpenalized,
       abs(sum((x1 - m1) * e_ridge) - 1000 * min(ridge[2])) < 1e-6
         AND abs(sum((x2 - m2) * e_ridge) - 1000 * min(ridge[3])) < 1e-6
         AND abs(sum((x3 - m3) * e_ridge) - 1000 * min(ridge[4])) < 1e-6 AS ridge_stationary
FROM r, m;

-- ridge shrinks: a larger penalty gives a smaller coefficient norm
SELECT (SELECT sum(v * v) FROM unnest(ridge[2:4]) v) < (SELECT sum(v * v) FROM unnest(ols[2:4]) v)
       AS ridge_shrinks
FROM lr_fit;

-- large feature means do not hurt accuracy (the state is centred)
SELECT bool_and(abs(c - t) < 1e-6 * greatest(1, abs(t))) AS shifted_recovery
FROM unnest((SELECT mlsys.linreg_agg(y_exact, ARRAY[x1 + 1e8, x2 - 1e8, x3]) FROM lr),
            ARRAY[3.5 - 2.0e8 - 1.25e8, 2.0, -1.25, 0.5]::float8[]) AS u(c, t);

-- rows with a null y or x are skipped, like regr_slope
SELECT mlsys.linreg_agg(y, x) IS NOT DISTINCT FROM mlsys.linreg_agg(y, x) FILTER (WHERE y IS NOT NULL AND x IS NOT NULL)
       AS nulls_skipped
FROM (SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE y_noisy END AS y,
             CASE WHEN i % 11 = 0 THEN NULL ELSE ARRAY[x1, x2] END AS x
      FROM lr) s;

-- no rows: NULL, as for other aggregates
SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1]) IS NULL AS empty_is_null FROM lr WHERE false;

-- a constant feature gets coefficient 0 (minimum-norm solution)
SELECT c[3] = 0 AS constant_feature_zero,
       abs(c[2] - 2.0) < 1e-9 AND abs(c[4] + 1.25) < 1e-9 AND abs(c[1] - 3.5) < 1e-9 AS others_fitted
FROM (SELECT mlsys.linreg_agg(y_exact, ARRAY[x1, 7.0, x2, x3]) AS c FROM lr) s;

-- as a window aggregate the final function may run many times on one state
SELECT count(DISTINCT c) = 1 AS window_final_is_stable
FROM (SELECT mlsys.linreg_agg(y_exact, ARRAY[x1, x2, x3]) OVER () AS c FROM lr LIMIT 50) s;
SELECT bool_and(abs(c[2] - 2.0) < 1e-9) AS running_window_ok
FROM (SELECT mlsys.linreg_agg(y_exact, ARRAY[x1, x2, x3]) OVER (ORDER BY i / 100) AS c FROM lr) s;

-- bad input: each raises an error with its own SQLSTATE
\set VERBOSITY sqlstate
-- invalid input: NaN feature
SELECT mlsys.linreg_agg(1, ARRAY[1, 'NaN']::float8[]);
-- invalid input: infinite target
SELECT mlsys.linreg_agg('Infinity', ARRAY[1, 2]::float8[]);
-- invalid input: infinity in the first row
SELECT mlsys.linreg_agg(y, x) FROM (VALUES (1.0::float8, ARRAY[1, 'Infinity']::float8[]), (2.0, ARRAY[2, 3]::float8[])) v(y, x);
-- invalid input: finite values whose squares overflow
SELECT mlsys.linreg_agg(y, ARRAY[x, 1]) FROM (SELECT 1e300 * i AS x, i::float8 AS y FROM generate_series(1, 2000) i) s;
-- invalid input: null element
SELECT mlsys.linreg_agg(1, ARRAY[1, NULL]::float8[]);
-- invalid input: vectors of different lengths
SELECT mlsys.linreg_agg(y, x) FROM (VALUES (1.0, ARRAY[1.0, 2.0]), (2.0, ARRAY[1.0])) v(y, x);
-- invalid input: empty vector
SELECT mlsys.linreg_agg(1, '{}'::float8[]);
-- invalid input: two-dimensional array
SELECT mlsys.linreg_agg(1, '{{1,2},{3,4}}'::float8[]);
-- invalid input: negative alpha
SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1], -1) FROM lr;
-- invalid input: alpha changes between rows
SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1], i::float8) FROM lr;
-- invalid input: singular design (x2 = 2 * x1)
SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1, 2 * x1]) FROM lr;
-- invalid input: fewer rows than features
SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1, x2, x3]) FROM lr WHERE i <= 3;
-- invalid input: too many features
SELECT mlsys.linreg_agg(1, array_fill(1.0::float8, ARRAY[5000]));
-- invalid input: corrupted state passed to the final function
SELECT mlsys._linreg_final('\x00010203'::bytea);
\set VERBOSITY default
-- the same errors with their messages
SELECT mlsys.linreg_agg(1, ARRAY[1, 'NaN']::float8[]);
SELECT mlsys.linreg_agg(y, x) FROM (VALUES (1.0::float8, ARRAY[1, 'Infinity']::float8[]), (2.0, ARRAY[2, 3]::float8[])) v(y, x);
SELECT mlsys.linreg_agg(y, ARRAY[x, 1]) FROM (SELECT 1e300 * i AS x, i::float8 AS y FROM generate_series(1, 2000) i) s;
SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1, 2 * x1]) FROM lr;
SELECT mlsys.linreg_agg(y_noisy, ARRAY[x1, x2, x3]) FROM lr WHERE i <= 3;
SELECT mlsys.linreg_agg(y, x) FROM (VALUES (1.0, ARRAY[1.0, 2.0]), (2.0, ARRAY[1.0])) v(y, x);
