------------------------------------------------------------------------------
-- Boosted trees (src/sql/70_trees.sql): the two training passes of
-- algorithm "boosted_trees" (src/models/trees/gbt_pass.c), as parallel-safe
-- aggregates with a bytea state and a combine function, and the parameter
-- comparison mlsys.reproduce uses for families without coefficients.
------------------------------------------------------------------------------

CREATE FUNCTION mlsys._gbt_sample_step(bytea, float8, float8[], int8, float8, int4) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gbt_sample_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._gbt_sample_step(bytea, float8, float8[], int8, float8, int4) IS 'Transition function of mlsys._gbt_sample_agg (internal).';
CREATE FUNCTION mlsys._gbt_sample_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gbt_sample_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._gbt_sample_combine(bytea, bytea) IS 'Combine function of mlsys._gbt_sample_agg (internal).';
CREATE AGGREGATE mlsys._gbt_sample_agg(float8, float8[], int8, float8, int4) (
    SFUNC = mlsys._gbt_sample_step, STYPE = bytea,
    COMBINEFUNC = mlsys._gbt_sample_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._gbt_sample_agg(float8, float8[], int8, float8, int4) IS
'First pass of boosted trees: a sample of the training rows (by a draw from their content hash) that the cut points are chosen from, and the count of labelled rows (internal).';

CREATE FUNCTION mlsys._gbt_rows_step(bytea, float8, float8[], int8, float8, float8[], int4[], int8) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gbt_rows_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._gbt_rows_step(bytea, float8, float8[], int8, float8, float8[], int4[], int8) IS 'Transition function of mlsys._gbt_rows_agg (internal).';
CREATE FUNCTION mlsys._gbt_rows_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gbt_rows_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._gbt_rows_combine(bytea, bytea) IS 'Combine function of mlsys._gbt_rows_agg (internal).';
CREATE AGGREGATE mlsys._gbt_rows_agg(float8, float8[], int8, float8, float8[], int4[], int8) (
    SFUNC = mlsys._gbt_rows_step, STYPE = bytea,
    COMBINEFUNC = mlsys._gbt_rows_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlsys._gbt_rows_agg(float8, float8[], int8, float8, float8[], int4[], int8) IS
'Second pass of boosted trees: every labelled row binned on the cut points (one byte per feature) with its content hash and target, and the profile''s moments (internal).';

CREATE FUNCTION mlsys._params_diff(bytea, bytea) RETURNS float8
    AS 'MODULE_PATHNAME', 'params_diff' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlsys._params_diff(bytea, bytea) IS
'The largest difference between two model blobs'' parameters, through their family (Infinity when their shapes differ; NULL when the family has no comparison) (internal; mlsys.reproduce).';
