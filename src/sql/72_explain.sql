------------------------------------------------------------------------------
-- Explanations: mlsys.explain (each feature's contribution to one prediction)
-- and mlsys.feature_importance (per source column, over a sample of training
-- rows kept at registration in mlsys.explain_samples)
------------------------------------------------------------------------------

CREATE TABLE mlsys.explain_samples (
    model    text NOT NULL,
    version  int NOT NULL,
    nrows    int NOT NULL CHECK (nrows > 0),
    features float8[] NOT NULL,
    PRIMARY KEY (model, version),
    FOREIGN KEY (model, version) REFERENCES mlsys.model_versions ON DELETE CASCADE
);
COMMENT ON TABLE mlsys.explain_samples IS
'A bounded sample of each trained version''s training rows as encoded feature vectors (nrows vectors in model order, one after the other), which mlsys.feature_importance explains; none for imported versions and recommenders.';
SELECT pg_catalog.pg_extension_config_dump('mlsys.explain_samples', '');

-- Training stores the sample right after registering the version
-- (src/train/explain_sample.c). Trainers cannot write the table; this runs as
-- the extension's owner and writes only a version the current transaction
-- registered, with as many values as it has features.
CREATE FUNCTION mlsys._store_explain_sample(p_model text, p_version int, p_nrows int, p_features float8[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_nfeat int;
BEGIN
    SELECT pg_catalog.cardinality(v.features) INTO v_nfeat
      FROM mlsys.model_versions v
     WHERE v.model OPERATOR(pg_catalog.=) p_model AND v.version OPERATOR(pg_catalog.=) p_version
       AND mlsys._xid_is_current(v.xmin);
    IF v_nfeat IS NULL THEN
        RAISE EXCEPTION 'permission denied to store an explanation sample for version % of model "%"', p_version, p_model
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only the transaction that registered a version stores its sample.';
    END IF;
    IF p_nrows IS NULL OR p_nrows < 1 OR p_features IS NULL
       OR pg_catalog.array_ndims(p_features) IS DISTINCT FROM 1
       OR pg_catalog.cardinality(p_features) IS DISTINCT FROM p_nrows OPERATOR(pg_catalog.*) v_nfeat THEN
        RAISE EXCEPTION 'an explanation sample must hold nrows feature vectors of % values', v_nfeat
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO mlsys.explain_samples AS s (model, version, nrows, features)
    VALUES (p_model, p_version, p_nrows, p_features)
    ON CONFLICT ON CONSTRAINT explain_samples_pkey
    DO UPDATE SET nrows = EXCLUDED.nrows, features = EXCLUDED.features;
END $$;
COMMENT ON FUNCTION mlsys._store_explain_sample(text, int, int, float8[]) IS
'Stores the explanation sample of a version the current transaction registered (internal; called by mlsys.train).';

CREATE FUNCTION mlsys.explain(model text, features record)
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_record' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, record) IS
'Each feature''s contribution to the live version''s raw output for a row (features by column name), plus a <bias> row; they add up to the prediction (regression), the positive class''s log-odds (binary) or each class''s margin (multiclass). Trees: exact TreeSHAP; linear models: coefficient times the distance from the training mean.';
CREATE FUNCTION mlsys.explain(model text, features float8[])
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_array' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, float8[]) IS
'mlsys.explain for a feature vector in model order, by the live version.';
CREATE FUNCTION mlsys.explain(model text, features jsonb)
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_jsonb' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, jsonb) IS
'mlsys.explain for a JSON object keyed by source column name, by the live version.';
CREATE FUNCTION mlsys.explain(model text, version int, features record)
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_record_version' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, int, record) IS 'mlsys.explain for a row, by the given version.';
CREATE FUNCTION mlsys.explain(model text, version int, features float8[])
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_array_version' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, int, float8[]) IS 'mlsys.explain for a feature vector, by the given version.';
CREATE FUNCTION mlsys.explain(model text, version int, features jsonb)
RETURNS TABLE (class text, feature text, contribution float8)
    AS 'MODULE_PATHNAME', 'explain_jsonb_version' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION mlsys.explain(text, int, jsonb) IS 'mlsys.explain for a JSON object, by the given version.';

CREATE FUNCTION mlsys.feature_importance(model text, version int DEFAULT NULL)
RETURNS TABLE (feature text, gain float8, mean_abs_contribution float8)
    AS 'MODULE_PATHNAME', 'feature_importance' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION mlsys.feature_importance(text, int) IS
'Per source column of a version (NULL: the live one), in model order: the total split gain of its features (trees; NULL otherwise) and the mean over the version''s training sample of the absolute sum of its features'' contributions, summed over classes for multiclass (NULL without a sample: imported versions).';
