-- export and import: a version as a jsonb document and back, bit for bit
-- (params blobs equal, predictions equal with = on float8), and tampered
-- documents rejected with a class-22 error that registers nothing
SELECT setseed(0.6);

-- a helper: the SQLSTATE, message and detail of an import, or 'imported'
CREATE FUNCTION try_import(p_model text, p_doc jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_detail text;
BEGIN
    PERFORM mlsys.import_model(p_model, p_doc);
    RETURN 'imported';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ' ' || SQLERRM || coalesce(' (' || nullif(v_detail, '') || ')', '');
END $$;
-- a helper: are two versions the same model, bit for bit, with the same spec?
CREATE FUNCTION same_version(m1 text, v1 int, m2 text, v2 int) RETURNS bool LANGUAGE sql AS $$
    SELECT a.params = b.params AND a.algorithm = b.algorithm AND a.hyperparams = b.hyperparams
       AND a.relation = b.relation AND a.target = b.target AND a.feature_columns = b.feature_columns
       AND a.feature_lengths = b.feature_lengths AND a.features = b.features
       AND a.test_size = b.test_size AND a.seed = b.seed AND a.metrics = b.metrics
       AND a.train_rows = b.train_rows AND a.test_rows = b.test_rows
       AND a.data_fingerprint = b.data_fingerprint AND a.profile IS NOT DISTINCT FROM b.profile
       AND a.preprocessing IS NOT DISTINCT FROM b.preprocessing
       AND a.classes IS NOT DISTINCT FROM b.classes AND a.target_type IS NOT DISTINCT FROM b.target_type
       AND a.extension_version = b.extension_version AND a.server_version = b.server_version
    FROM mlsys.model_versions a, mlsys.model_versions b
    WHERE a.model = m1 AND a.version = v1 AND b.model = m2 AND b.version = v2
$$;

-- regression data with awkward numbers (irrationals, tiny and huge scales)
CREATE TABLE ex AS
SELECT i AS id, sqrt(i)::float8 AS a, sin(i) * 1e-7 AS b, (i % 13) * 1e6 + cos(i) AS c,
       ARRAY[ln(i + 1), 1.0 / i]::float8[] AS v,
       CASE i % 3 WHEN 0 THEN 'red' WHEN 1 THEN 'green' END AS color
FROM generate_series(1, 300) i;
ALTER TABLE ex ADD COLUMN y float8;
UPDATE ex SET y = pi() + 2 * a - 3e7 * b + 1e-6 * c + v[1] - 5 * v[2]
                + CASE color WHEN 'red' THEN 1 WHEN 'green' THEN -1 ELSE 0 END + random();
UPDATE ex SET a = NULL WHERE id % 17 = 0;

------------------------------------------------------------------------------
-- linear: round trip
------------------------------------------------------------------------------
SELECT version FROM mlsys.train('ex_lin', 'ex', 'y', ARRAY['a', 'b', 'c', 'v', 'color']);
-- the document: format, algorithm, task, named parameters, spec, what describes it
WITH d AS (SELECT mlsys.export_model('ex_lin') AS d)
SELECT d->>'format' AS format, d->'format_version' AS format_version, d->>'algorithm' AS algorithm,
       d->>'task' AS task, d->'spec'->'features' AS features,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(d->'parameters'->'coefficients') k) AS coefficient_names,
       jsonb_typeof(d->'parameters'->'intercept') AS intercept_type,
       d->'preprocessing'->'categories' AS categories,
       d ?& ARRAY['metrics', 'profile', 'data_fingerprint', 'extension_version', 'server_version',
                  'train_rows', 'test_rows', 'classes', 'target_type'] AS describes,
       d->'source'->>'model' AS source_model, d->'source'->'version' AS source_version
FROM d;
-- the numbers are the float8s themselves: the JSON intercept read back as
-- float8 is the stored one, bit for bit
SELECT (mlsys.export_model('ex_lin')->'parameters'->>'intercept')::float8
       = (SELECT coefficient FROM mlsys.features('ex_lin') WHERE ordinal = 0) AS intercept_exact,
       (SELECT bool_and((mlsys.export_model('ex_lin')->'parameters'->'coefficients'->>f.feature)::float8 = f.coefficient)
        FROM mlsys.features('ex_lin') f WHERE f.ordinal > 0) AS coefficients_exact;
-- import into a new model: version 1, deployed (reason import) since it has no live version
SELECT mlsys.import_model('ex_lin_copy', mlsys.export_model('ex_lin')) AS version;
SELECT model, version, reason FROM mlsys.deployments WHERE model = 'ex_lin_copy';
SELECT task FROM mlsys.models WHERE model = 'ex_lin_copy';
SELECT same_version('ex_lin', 1, 'ex_lin_copy', 1) AS identical;
-- identical predictions on every row (NULLs imputed, unseen and NULL categories included)
SELECT count(*) AS rows, count(*) FILTER (WHERE mlsys.predict('ex_lin', e) = mlsys.predict('ex_lin_copy', e)) AS equal
FROM ex e;
SELECT mlsys.predict('ex_lin', '{"a": null, "b": 1e-7, "c": 5, "v": [1, 2], "color": "blue"}'::jsonb)
     = mlsys.predict('ex_lin_copy', '{"a": null, "b": 1e-7, "c": 5, "v": [1, 2], "color": "blue"}'::jsonb) AS equal_json;
-- exact whatever extra_float_digits says (float8out would print 15 digits)
SET extra_float_digits = 0;
SELECT mlsys.export_model('ex_lin') = (SELECT mlsys.export_model('ex_lin')) AS stable,
       mlsys.import_model('ex_lin_copy', mlsys.export_model('ex_lin')) AS version;
RESET extra_float_digits;
SELECT same_version('ex_lin', 1, 'ex_lin_copy', 2) AS identical;
-- a second import into a model with a live version registers but does not deploy
SELECT version FROM mlsys.deployments WHERE model = 'ex_lin_copy' ORDER BY id;
-- export → import → export gives the same document (but for its source)
SELECT mlsys.export_model('ex_lin') - 'source' = mlsys.export_model('ex_lin_copy', 2) - 'source' AS same_document;

-- extreme doubles survive import → export as the same numbers: the smallest
-- subnormal, the largest double, 0.1 + 0.2, and they score as those doubles
SELECT mlsys.import_model('ex_extreme', jsonb_set(jsonb_set(jsonb_set(mlsys.export_model('ex_lin'),
         '{parameters,intercept}', to_jsonb(0.1::float8 + 0.2::float8)),
         '{parameters,coefficients,b}', '5e-324'), '{parameters,coefficients,c}', '1.7976931348623157e308')) AS version;
SELECT p->'intercept' AS intercept, p->'coefficients'->'b' = '5e-324' AS b_same, p->'coefficients'->'c' = '1.7976931348623157e308' AS c_same,
       (SELECT coefficient FROM mlsys.features('ex_extreme') WHERE ordinal = 0) = 0.1::float8 + 0.2::float8 AS intercept_exact,
       (SELECT coefficient FROM mlsys.features('ex_extreme') WHERE feature = 'b') = '4.9406564584124654e-324'::float8 AS subnormal_exact
FROM (SELECT mlsys.export_model('ex_extreme')->'parameters' AS p) s;

------------------------------------------------------------------------------
-- ridge
------------------------------------------------------------------------------
SELECT version FROM mlsys.train('ex_ridge', 'ex', 'y', ARRAY['a', 'b', 'c', 'v'], 'ridge', '{"alpha": 0.37}');
SELECT mlsys.import_model('ex_ridge_copy', mlsys.export_model('ex_ridge')) AS version;
SELECT same_version('ex_ridge', 1, 'ex_ridge_copy', 1) AS identical,
       (SELECT hyperparams FROM mlsys.model_versions WHERE model = 'ex_ridge_copy') AS hyperparams;
SELECT count(*) FILTER (WHERE mlsys.predict('ex_ridge', e) = mlsys.predict('ex_ridge_copy', e)) = count(*) AS all_equal
FROM ex e;

------------------------------------------------------------------------------
-- export of a given version vs the live one
------------------------------------------------------------------------------
SELECT version, deployed FROM mlsys.train('ex_ridge', 'ex', 'y', ARRAY['a', 'b'], 'ridge', '{"alpha": 5}', deploy => 'never');
SELECT mlsys.export_model('ex_ridge') = mlsys.export_model('ex_ridge', 1) AS null_is_live,
       mlsys.export_model('ex_ridge', 2) <> mlsys.export_model('ex_ridge', 1) AS versions_differ,
       mlsys.export_model('ex_ridge', 2)->'spec'->'features' AS v2_features,
       mlsys.export_model('ex_ridge', 2)->'source'->'version' AS v2_source;
SELECT mlsys.deploy('ex_ridge', 2);
SELECT mlsys.export_model('ex_ridge')->'source'->'version' AS live_now;
-- importing the undeployed version into a model with a live version keeps the live one
SELECT mlsys.import_model('ex_ridge_copy', mlsys.export_model('ex_ridge', 2)) AS version,
       mlsys.live_version('ex_ridge_copy') AS live;
SELECT same_version('ex_ridge', 2, 'ex_ridge_copy', 2) AS identical;

------------------------------------------------------------------------------
-- binary logistic with categorical features and imputation
------------------------------------------------------------------------------
CREATE TABLE exc AS
SELECT id, a, b, c, v, color, id % 5 = 0 AS flag,
       random() < 1 / (1 + exp(-(0.3 + 0.5 * coalesce(a, 10) - 0.2 * c / 1e6
                                 + CASE color WHEN 'red' THEN 1.5 WHEN 'green' THEN -1 ELSE 0 END))) AS churned
FROM ex;
UPDATE exc SET c = 'NaN' WHERE id % 23 = 0;
SELECT version, algorithm FROM mlsys.train('ex_log', 'exc', 'churned', ARRAY['a', 'c', 'color', 'flag'],
                                           hyperparams => '{"impute": "median", "threshold": 0.4}');
WITH d AS (SELECT mlsys.export_model('ex_log') AS d)
SELECT d->>'task' AS task, d->'classes' AS classes, d->>'target_type' AS target_type,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(d->'parameters') k) AS parameter_keys,
       d->'parameters'->'threshold' AS threshold, d->'preprocessing'->>'impute' AS impute,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(d->'preprocessing'->'impute_values') k) AS imputed
FROM d;
SELECT mlsys.import_model('ex_log_copy', mlsys.export_model('ex_log')) AS version;
SELECT same_version('ex_log', 1, 'ex_log_copy', 1) AS identical;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE mlsys.predict_proba('ex_log', e) = mlsys.predict_proba('ex_log_copy', e)) AS equal_proba,
       count(*) FILTER (WHERE mlsys.predict_label('ex_log', e) = mlsys.predict_label('ex_log_copy', e)) AS equal_label,
       count(*) FILTER (WHERE mlsys.predict('ex_log', e) = mlsys.predict('ex_log_copy', e)) AS equal_predict
FROM exc e;
SELECT mlsys.classes('ex_log_copy');

------------------------------------------------------------------------------
-- multinomial logistic
------------------------------------------------------------------------------
CREATE TABLE exm AS
SELECT id, a, c, color,
       CASE WHEN coalesce(a, 8) + random() * 4 > 14 THEN 'high' WHEN color = 'red' AND random() < 0.7 THEN 'mid'
            ELSE 'low' END AS grade
FROM ex;
SELECT version, algorithm FROM mlsys.train('ex_multi', 'exm', 'grade', ARRAY['a', 'c', 'color']);
WITH d AS (SELECT mlsys.export_model('ex_multi') AS d)
SELECT d->>'task' AS task, d->'classes' AS classes,
       (SELECT array_agg(b->>'class' ORDER BY o) FROM jsonb_array_elements(d->'parameters'->'classes') WITH ORDINALITY e(b, o)) AS blocks,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(d->'parameters'->'classes'->0) k) AS block_keys
FROM d;
SELECT mlsys.import_model('ex_multi_copy', mlsys.export_model('ex_multi')) AS version;
SELECT same_version('ex_multi', 1, 'ex_multi_copy', 1) AS identical;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE mlsys.predict_proba('ex_multi', e) = mlsys.predict_proba('ex_multi_copy', e)) AS equal_proba,
       count(*) FILTER (WHERE mlsys.predict_label('ex_multi', e) = mlsys.predict_label('ex_multi_copy', e)) AS equal_label
FROM exm e;

------------------------------------------------------------------------------
-- ALS recommender (explicit)
------------------------------------------------------------------------------
CREATE TABLE exr AS
SELECT u * 7 AS user_id, 1000 + i * 3 AS item_id,
       3 + sin(u * 0.3) + cos(i * 0.7) + 0.8 * sin(u * 0.17) * cos(i * 0.23) + (random() - 0.5) * 0.2 AS rating
FROM generate_series(1, 60) u, generate_series(1, 40) i WHERE random() < 0.4;
SELECT version, algorithm FROM mlsys.train_recommender('ex_rec', 'exr', rating_column => 'rating',
                                                       hyperparams => '{"factors": 4, "iterations": 5}');
WITH d AS (SELECT mlsys.export_model('ex_rec') AS d)
SELECT d->>'task' AS task, d->'parameters'->'factors' AS factors,
       jsonb_array_length(d->'parameters'->'users'->'ids') = (SELECT count(DISTINCT user_id) FROM exr) AS all_users,
       jsonb_array_length(d->'parameters'->'items'->'factors'->0) AS factor_length,
       (SELECT sum(jsonb_array_length(s)) FROM jsonb_array_elements(d->'parameters'->'users'->'seen') s)
         = (SELECT train_rows FROM mlsys.model_versions WHERE model = 'ex_rec') AS seen_is_training,
       (SELECT sum(c::int) FROM jsonb_array_elements_text(d->'parameters'->'items'->'counts') c)
         = (SELECT train_rows FROM mlsys.model_versions WHERE model = 'ex_rec') AS counts_sum
FROM d;
SELECT mlsys.import_model('ex_rec_copy', mlsys.export_model('ex_rec')) AS version;
SELECT same_version('ex_rec', 1, 'ex_rec_copy', 1) AS identical;
-- the same recommendations with the same scores, for known and unknown users and baskets
SELECT count(*) AS users,
       count(*) FILTER (WHERE (SELECT array_agg(r ORDER BY r) FROM mlsys.recommend(u, 5, 'ex_rec') r)
                            = (SELECT array_agg(r ORDER BY r) FROM mlsys.recommend(u, 5, 'ex_rec_copy') r)) AS equal
FROM generate_series(0, 430, 7) u;
SELECT (SELECT array_agg(r ORDER BY r) FROM mlsys.recommend_for_items(ARRAY[1003, 1006, 1030]::bigint[], 5, 'ex_rec') r)
     = (SELECT array_agg(r ORDER BY r) FROM mlsys.recommend_for_items(ARRAY[1003, 1006, 1030]::bigint[], 5, 'ex_rec_copy') r) AS equal_basket,
       (SELECT count(*) FILTER (WHERE mlsys.predict_rating('ex_rec', user_id, item_id)
                                    = mlsys.predict_rating('ex_rec_copy', user_id, item_id)) = count(*) FROM exr) AS equal_ratings;

-- an implicit-feedback recommender too
SELECT version, algorithm FROM mlsys.train_recommender('ex_imp', 'exr', hyperparams => '{"factors": 3, "iterations": 3}');
SELECT mlsys.import_model('ex_imp_copy', mlsys.export_model('ex_imp')) AS version;
SELECT same_version('ex_imp', 1, 'ex_imp_copy', 1) AS identical,
       (SELECT array_agg(r ORDER BY r) FROM mlsys.recommend(7, 5, 'ex_imp') r)
     = (SELECT array_agg(r ORDER BY r) FROM mlsys.recommend(7, 5, 'ex_imp_copy') r) AS equal_recommendations;

------------------------------------------------------------------------------
-- tampered and malformed documents: each a class-22 error, nothing registered
------------------------------------------------------------------------------
CREATE TABLE docs AS
SELECT mlsys.export_model('ex_log') AS log, mlsys.export_model('ex_multi') AS multi,
       mlsys.export_model('ex_rec') AS rec, mlsys.export_model('ex_lin') AS lin;
SELECT (SELECT count(*) FROM mlsys.models) AS models_before, (SELECT count(*) FROM mlsys.model_versions) AS versions_before \gset
SELECT label, try_import('tampered', d) AS outcome
FROM docs, LATERAL (VALUES
    ('not an object', '[1, 2]'::jsonb),
    ('missing parameters', log - 'parameters'),
    ('missing metrics', log - 'metrics'),
    ('missing spec.features', log #- '{spec,features}'),
    ('missing intercept', log #- '{parameters,intercept}'),
    ('coefficient missing', log #- '{parameters,coefficients,a}'),
    ('coefficient renamed', jsonb_set(log #- '{parameters,coefficients,a}', '{parameters,coefficients,A}', '1')),
    ('extra coefficient', jsonb_set(log, '{parameters,coefficients,zzz}', '1')),
    ('feature_lengths too short', jsonb_set(log, '{spec,feature_lengths}', '[0, 0]')),
    ('feature_lengths disagree with categories', jsonb_set(log, '{spec,feature_lengths}', '[0, 0, 2, 3]')),
    ('feature_lengths disagree with features', jsonb_set(log, '{spec,feature_lengths}', '[0, 0, 2, 2]')),
    ('features renamed', jsonb_set(log, '{spec,features,0}', '"b"')),
    ('feature length beyond the limit', jsonb_set(log, '{spec,feature_lengths,0}', '5000')),
    ('intercept as a string', jsonb_set(log, '{parameters,intercept}', '"0.5"')),
    ('coefficient NaN string', jsonb_set(log, '{parameters,coefficients,a}', '"NaN"')),
    ('center Infinity string', jsonb_set(log, '{parameters,center,a}', '"Infinity"')),
    ('coefficient null', jsonb_set(log, '{parameters,coefficients,a}', 'null')),
    ('number beyond float8', jsonb_set(log, '{parameters,intercept}', '1e400')),
    ('scale zero', jsonb_set(log, '{parameters,scale,a}', '0')),
    ('threshold above 1', jsonb_set(log, '{parameters,threshold}', '1.5')),
    ('three classes for binary', jsonb_set(log, '{classes}', '["false", "true", "maybe"]')),
    ('classes not strings', jsonb_set(log, '{classes}', '[false, true]')),
    ('unknown format version', jsonb_set(log, '{format_version}', '2')),
    ('format version as string', jsonb_set(log, '{format_version}', '"1"')),
    ('another format', jsonb_set(log, '{format}', '"onnx"')),
    ('unknown algorithm', jsonb_set(log, '{algorithm}', '"xgboost"')),
    ('algorithm of another task', jsonb_set(log, '{algorithm}', '"linear"')),
    ('task of another algorithm', jsonb_set(lin, '{task}', '"binary"')),
    ('seed not an integer', jsonb_set(log, '{spec,seed}', '1.5')),
    ('test_size out of range', jsonb_set(log, '{spec,test_size}', '1')),
    ('negative train_rows', jsonb_set(log, '{train_rows}', '-1')),
    ('preprocessing categories not sorted', jsonb_set(log, '{preprocessing,categories,color}', '["red", "green", null]')),
    ('multinomial: a class block missing', multi #- '{parameters,classes,0}'),
    ('multinomial: class blocks out of order', jsonb_set(multi, '{parameters,classes,0,class}', '"mid"')),
    ('multinomial: classes list shorter', jsonb_set(multi, '{classes}', '["high", "low"]')),
    ('recommender: ids not increasing', jsonb_set(rec, '{parameters,users,ids,1}', '0')),
    ('recommender: id not an integer', jsonb_set(rec, '{parameters,items,ids,0}', '1000.5')),
    ('recommender: factor row too short', jsonb_set(rec, '{parameters,items,factors,0}', '[1, 2, 3]')),
    ('recommender: factor beyond float4', jsonb_set(rec, '{parameters,users,factors,0,0}', '1e39')),
    ('recommender: biases too short', rec #- '{parameters,items,biases,0}'),
    ('recommender: seen item unknown', jsonb_set(rec, '{parameters,users,seen,0,0}', '999999')),
    ('recommender: implicit flag', jsonb_set(rec, '{parameters,implicit}', 'true')),
    ('recommender: negative count', jsonb_set(rec, '{parameters,items,counts,0}', '-1'))
) t(label, d);
-- every rejection is class 22, and nothing was registered
SELECT count(*) AS rejected, count(*) FILTER (WHERE left(o, 2) = '22') AS class_22
FROM docs, LATERAL (VALUES
    (try_import('tampered', log - 'parameters')),
    (try_import('tampered', jsonb_set(log, '{parameters,coefficients,a}', '"NaN"'))),
    (try_import('tampered', jsonb_set(multi, '{classes}', '["high", "low"]'))),
    (try_import('tampered', jsonb_set(rec, '{format_version}', '99')))) t(o);
SELECT (SELECT count(*) FROM mlsys.models) - :models_before AS new_models,
       (SELECT count(*) FROM mlsys.model_versions) - :versions_before AS new_versions;
-- the same without a catching subtransaction: the statement fails, nothing stays
SELECT mlsys.import_model('tampered', jsonb_set(log, '{parameters,intercept}', '"x"')) FROM docs;
SELECT mlsys.import_model('tampered', jsonb_set(rec, '{parameters,users,factors,1}', '[]')) FROM docs;
SELECT count(*) AS tampered_models FROM mlsys.models WHERE model = 'tampered';

-- an untampered copy of the same documents still imports
SELECT try_import('tampered', log) AS outcome FROM docs;

------------------------------------------------------------------------------
-- other errors
------------------------------------------------------------------------------
-- import into a model of another task
SELECT mlsys.import_model('ex_lin', (SELECT log FROM docs));
SELECT mlsys.import_model('ex_rec', (SELECT lin FROM docs));
SELECT count(*) AS ex_lin_versions FROM mlsys.model_versions WHERE model = 'ex_lin';
-- null arguments
SELECT mlsys.import_model(NULL, (SELECT lin FROM docs));
SELECT mlsys.import_model('x', NULL);
SELECT mlsys.export_model(NULL);
-- export of what does not exist
SELECT mlsys.export_model('no_such_model');
SELECT mlsys.export_model('ex_lin', 42);
-- export of a model with no live version
SELECT version FROM mlsys.train('ex_never', 'ex', 'y', ARRAY['a'], deploy => 'never');
SELECT mlsys.export_model('ex_never');
SELECT mlsys.export_model('ex_never', 1)->'source'->'version' AS explicit_version_works;
-- imports are logged as training runs of kind import
SELECT kind, status FROM mlsys.training_runs WHERE kind = 'import' GROUP BY kind, status;
