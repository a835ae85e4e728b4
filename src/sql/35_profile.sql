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
