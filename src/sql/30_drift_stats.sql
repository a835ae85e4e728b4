
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
