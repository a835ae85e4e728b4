-- Hostile input, table-driven: every public function of mlsys (pg_proc, names
-- not starting with "_") is called with NULLs, NaN, ±Infinity, empty and
-- one-row relations, zero-length and mismatched arrays, huge and negative
-- sizes, unknown names and wrong types. Each case runs in its own
-- subtransaction; the outcome is "ok: <result>" (a documented result) or the
-- SQLSTATE of its error, which must be specific (never XX000 internal_error).
-- test/t/008_hostile.pl runs this file and checks that no backend died.
SET client_min_messages = warning;
CREATE TABLE h_data AS
SELECT i AS id, i::float8 AS a, (i % 7)::float8 AS b, (2 * i + (i % 7))::float8 AS y,
       i % 3 = 0 AS flag, 'c' || (i % 3) AS cls, i % 10 AS usr, i % 13 AS item, (i % 5 + 1)::float8 AS rating,
       jsonb_build_object('i', i) AS j, ARRAY[i, i % 5]::float8[] AS v
FROM generate_series(1, 120) i;
CREATE TABLE h_empty AS SELECT * FROM h_data WHERE false;
CREATE TABLE h_one AS SELECT * FROM h_data WHERE id = 1;
CREATE TABLE h_const AS SELECT id, 1::float8 AS a, 1::float8 AS b, 5::float8 AS y, true AS flag, usr, item, rating FROM h_data;
CREATE TABLE h_nan AS SELECT id, CASE WHEN id = 3 THEN 'NaN' ELSE a END AS a, b,
       CASE WHEN id = 5 THEN 'Infinity' WHEN id = 6 THEN '-Infinity' ELSE y END AS y, flag, usr, item,
       CASE WHEN id = 7 THEN 'NaN'::float8 ELSE rating END AS rating FROM h_data;
CREATE TABLE h_nulls AS SELECT id, NULL::float8 AS a, NULL::float8 AS b, NULL::float8 AS y, NULL::bool AS flag,
       NULL::int AS usr, NULL::int AS item, NULL::float8 AS rating FROM h_data;
CREATE TABLE h_hugevals AS SELECT id, a * 1e300 AS a, b, y * 1e300 AS y, flag, usr, item, rating * 1e300 AS rating FROM h_data;
CREATE TABLE h_bigids AS SELECT id, (usr::bigint + 9223372036854775000) AS usr, (item::bigint - 9223372036854775000) AS item, rating FROM h_data;
SELECT version FROM mlsys.train('h_lin', 'h_data', 'y', ARRAY['a', 'b']);
SELECT version FROM mlsys.train('h_bin', 'h_data', 'flag', ARRAY['a', 'b']);
SELECT version FROM mlsys.train('h_multi', 'h_data', 'cls', ARRAY['a', 'b']);
SELECT version FROM mlsys.train('h_vec', 'h_data', 'y', ARRAY['v']);
SELECT version FROM mlsys.train_recommender('h_rec', 'h_data', 'usr', 'item', 'rating', '{"factors": 4}', test_size => 0);
SELECT version FROM mlsys.train('h_undeployed', 'h_data', 'y', ARRAY['a'], deploy => 'never');
-- impressions of the recommender (an empty list, a NULL item, shown at -infinity), then
-- interactions at now and at ±infinity
INSERT INTO mlsys.impressions (model, version, user_id, item_ids, scores, shown_at) VALUES
    ('h_rec', 1, 1, ARRAY[1, 2], ARRAY[0.5, 0.4], now()), ('h_rec', 1, 2, ARRAY[]::bigint[], '{}', now()),
    ('h_rec', 1, 3, ARRAY[NULL, 3]::bigint[], ARRAY[1, 2], '-infinity');
CREATE TABLE h_events AS
SELECT usr AS user_id, item AS item_id, CASE WHEN id <= 60 THEN 'infinity' ELSE '-infinity' END::timestamptz AS ts FROM h_data;

CREATE TABLE h_case (id serial PRIMARY KEY, fn text NOT NULL, label text NOT NULL, sql text NOT NULL);
INSERT INTO h_case (fn, label, sql) VALUES
-- mlsys.train
('train', 'null model',                 $$SELECT version FROM mlsys.train(NULL, 'h_data', 'y')$$),
('train', 'null relation',              $$SELECT version FROM mlsys.train('x', NULL, 'y')$$),
('train', 'null target',                $$SELECT version FROM mlsys.train('x', 'h_data', NULL)$$),
('train', 'unknown relation',           $$SELECT version FROM mlsys.train('x', 'h_nope', 'y')$$),
('train', 'wrong type: relation 42',    $$SELECT version FROM mlsys.train('x', 42, 'y')$$),
('train', 'empty relation',             $$SELECT version FROM mlsys.train('x', 'h_empty', 'y', ARRAY['a'])$$),
('train', 'one-row relation',           $$SELECT version FROM mlsys.train('x', 'h_one', 'y', ARRAY['a'])$$),
('train', 'one-row relation, test_size 0', $$SELECT version FROM mlsys.train('x', 'h_one', 'y', ARRAY['a'], test_size => 0)$$),
('train', 'all-null relation',          $$SELECT version FROM mlsys.train('x', 'h_nulls', 'y', ARRAY['a'])$$),
('train', 'constant features',          $$SELECT version FROM mlsys.train('x', 'h_const', 'y', ARRAY['a', 'b'])$$),
('train', 'NaN / ±Infinity in data',    $$SELECT version FROM mlsys.train('x', 'h_nan', 'y', ARRAY['a', 'b'])$$),
('train', '1e300 values (overflow)',    $$SELECT version FROM mlsys.train('x', 'h_hugevals', 'y', ARRAY['a', 'b'])$$),
('train', 'zero-length feature list',   $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY[]::text[])$$),
('train', 'null feature name',          $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a', NULL])$$),
('train', 'duplicate feature',          $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a', 'a'])$$),
('train', 'target as feature',          $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a', 'y'])$$),
('train', '2-D feature list',           $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY[['a'], ['b']])$$),
('train', 'jsonb target',               $$SELECT version FROM mlsys.train('x', 'h_data', 'j', ARRAY['a'])$$),
('train', 'unknown algorithm',          $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], 'boosting')$$),
('train', 'test_size NaN',              $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], test_size => 'NaN')$$),
('train', 'test_size -1',               $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], test_size => -1)$$),
('train', 'test_size 1',                $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], test_size => 1)$$),
('train', 'test_size Infinity',         $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], test_size => 'Infinity')$$),
('train', 'test_size null',             $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], test_size => NULL)$$),
('train', 'seed null',                  $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], seed => NULL)$$),
('train', 'deploy null',                $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], deploy => NULL)$$),
('train', 'hyperparams null',           $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], hyperparams => NULL)$$),
('train', 'hyperparams array',          $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], hyperparams => '[1]')$$),
('train', 'ridge alpha -1',             $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], 'ridge', '{"alpha": -1}')$$),
('train', 'ridge alpha text',           $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], 'ridge', '{"alpha": "NaN"}')$$),
('train', 'ridge alpha 1e308',          $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], 'ridge', '{"alpha": 1e308}')$$),
('train', 'ridge alpha 1e400',          $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], 'ridge', '{"alpha": 1e400}')$$),
('train', 'logistic on float target',   $$SELECT version FROM mlsys.train('x', 'h_data', 'y', ARRAY['a'], 'logistic')$$),
('train', 'logistic max_iter -5',       $$SELECT version FROM mlsys.train('x', 'h_data', 'flag', ARRAY['a'], 'logistic', '{"max_iter": -5}')$$),
('train', 'logistic max_iter 1e12',     $$SELECT version FROM mlsys.train('x', 'h_data', 'flag', ARRAY['a'], 'logistic', '{"max_iter": 1000000000000}')$$),
('train', 'model name 64 bytes',        $$SELECT version FROM mlsys.train(repeat('m', 64), 'h_data', 'y', ARRAY['a'])$$),
('train', 'regression onto a binary model name', $$SELECT version FROM mlsys.train('h_bin', 'h_data', 'y', ARRAY['a'])$$),
-- mlsys.cross_validate
('cross_validate', 'folds 0',           $$SELECT count(*) FROM mlsys.cross_validate('h_data', 'y', ARRAY['a'], folds => 0)$$),
('cross_validate', 'folds 1',           $$SELECT count(*) FROM mlsys.cross_validate('h_data', 'y', ARRAY['a'], folds => 1)$$),
('cross_validate', 'folds -3',          $$SELECT count(*) FROM mlsys.cross_validate('h_data', 'y', ARRAY['a'], folds => -3)$$),
('cross_validate', 'folds 2^31-1',      $$SELECT count(*) FROM mlsys.cross_validate('h_data', 'y', ARRAY['a'], folds => 2147483647)$$),
('cross_validate', 'folds null',        $$SELECT count(*) FROM mlsys.cross_validate('h_data', 'y', ARRAY['a'], folds => NULL)$$),
('cross_validate', 'empty relation',    $$SELECT count(*) FROM mlsys.cross_validate('h_empty', 'y', ARRAY['a'])$$),
('cross_validate', 'one-row relation',  $$SELECT count(*) FROM mlsys.cross_validate('h_one', 'y', ARRAY['a'], folds => 2)$$),
('cross_validate', 'NaN data',          $$SELECT count(*) FROM mlsys.cross_validate('h_nan', 'y', ARRAY['a', 'b'], folds => 2)$$),
('cross_validate', 'null relation',     $$SELECT count(*) FROM mlsys.cross_validate(NULL, 'y')$$),
('cross_validate', 'logistic, folds 2', $$SELECT count(*) FROM mlsys.cross_validate('h_data', 'flag', ARRAY['a'], 'logistic', folds => 2)$$),
-- mlsys.tune
('tune', 'search null',                 $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', NULL, ARRAY['a'])$$),
('tune', 'search {}',                   $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', '{}', ARRAY['a'])$$),
('tune', 'search []',                   $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', '[]', ARRAY['a'])$$),
('tune', 'empty value list',            $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', '{"alpha": []}', ARRAY['a'], 'ridge')$$),
('tune', 'trials 0',                    $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', '{"alpha": {"min": 1, "max": 2, "trials": 0}}', ARRAY['a'], 'ridge')$$),
('tune', 'trials 1e9',                  $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', '{"alpha": {"min": 1, "max": 2, "trials": 1000000000}}', ARRAY['a'], 'ridge')$$),
('tune', 'min > max',                   $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', '{"alpha": {"min": 3, "max": 2, "trials": 2}}', ARRAY['a'], 'ridge')$$),
('tune', 'log range through 0',         $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', '{"alpha": {"min": 0, "max": 2, "log": true, "trials": 2}}', ARRAY['a'], 'ridge')$$),
('tune', 'min 1e400',                   $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', '{"alpha": {"min": 1e400, "max": 1e401, "trials": 2}}', ARRAY['a'], 'ridge')$$),
('tune', 'folds 0',                     $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', '{"alpha": [1]}', ARRAY['a'], 'ridge', folds => 0)$$),
('tune', 'folds null',                  $$SELECT trials FROM mlsys.tune('x', 'h_data', 'y', '{"alpha": [1]}', ARRAY['a'], 'ridge', folds => NULL)$$),
-- mlsys.deploy / rollback
('deploy', 'null model',                $$SELECT mlsys.deploy(NULL, 1)$$),
('deploy', 'null version',              $$SELECT mlsys.deploy('h_lin', NULL)$$),
('deploy', 'version -1',                $$SELECT mlsys.deploy('h_lin', -1)$$),
('deploy', 'version 2^31-1',            $$SELECT mlsys.deploy('h_lin', 2147483647)$$),
('deploy', 'unknown model',             $$SELECT mlsys.deploy('h_nope', 1)$$),
('rollback', 'null model',              $$SELECT mlsys.rollback(NULL)$$),
('rollback', 'unknown model',           $$SELECT mlsys.rollback('h_nope')$$),
('rollback', 'never deployed',          $$SELECT mlsys.rollback('h_undeployed')$$),
('rollback', 'single deployment',       $$SELECT mlsys.rollback('h_lin')$$),
-- mlsys.predict and friends
('predict', 'null model (array)',       $$SELECT mlsys.predict(NULL, ARRAY[1, 2]::float8[])$$),
('predict', 'null features (array)',    $$SELECT mlsys.predict('h_lin', NULL::float8[])$$),
('predict', 'unknown model',            $$SELECT mlsys.predict('h_nope', ARRAY[1, 2]::float8[])$$),
('predict', 'undeployed model',         $$SELECT mlsys.predict('h_undeployed', ARRAY[1]::float8[])$$),
('predict', 'zero-length array',        $$SELECT mlsys.predict('h_lin', ARRAY[]::float8[])$$),
('predict', 'too short array',          $$SELECT mlsys.predict('h_lin', ARRAY[1]::float8[])$$),
('predict', 'too long array',           $$SELECT mlsys.predict('h_lin', ARRAY[1, 2, 3]::float8[])$$),
('predict', '2-D array',                $$SELECT mlsys.predict('h_lin', ARRAY[[1, 2]]::float8[])$$),
('predict', 'array with a null',        $$SELECT mlsys.predict('h_lin', ARRAY[1, NULL]::float8[])$$),
('predict', 'NaN feature',              $$SELECT mlsys.predict('h_lin', ARRAY['NaN', 1]::float8[])$$),
('predict', 'Infinity feature',         $$SELECT mlsys.predict('h_lin', ARRAY['Infinity', 1]::float8[])$$),
('predict', '±Infinity features',       $$SELECT mlsys.predict('h_lin', ARRAY['Infinity', '-Infinity']::float8[])$$),
('predict', '1e308 features',           $$SELECT mlsys.predict('h_lin', ARRAY[1e308, 1e308]::float8[])$$),
('predict', 'array lower bound 0',      $$SELECT round(mlsys.predict('h_lin', '[0:1]={1,2}'::float8[])::numeric, 6)$$),
('predict', 'version 0',                $$SELECT mlsys.predict('h_lin', 0, ARRAY[1, 2]::float8[])$$),
('predict', 'version -1',               $$SELECT mlsys.predict('h_lin', -1, ARRAY[1, 2]::float8[])$$),
('predict', 'version null',             $$SELECT mlsys.predict('h_lin', NULL::int, ARRAY[1, 2]::float8[])$$),
('predict', 'version 99',               $$SELECT mlsys.predict('h_lin', 99, ARRAY[1, 2]::float8[])$$),
('predict', 'jsonb {}',                 $$SELECT round(mlsys.predict('h_lin', '{}'::jsonb)::numeric, 6)$$),
('predict', 'jsonb []',                 $$SELECT mlsys.predict('h_lin', '[]'::jsonb)$$),
('predict', 'jsonb null',               $$SELECT mlsys.predict('h_lin', 'null'::jsonb)$$),
('predict', 'jsonb scalar',             $$SELECT mlsys.predict('h_lin', '3'::jsonb)$$),
('predict', 'jsonb string feature',     $$SELECT mlsys.predict('h_lin', '{"a": "x", "b": 1}'::jsonb)$$),
('predict', 'jsonb null feature',       $$SELECT round(mlsys.predict('h_lin', '{"a": null, "b": 1}'::jsonb)::numeric, 6)$$),
('predict', 'jsonb 1e400 feature',      $$SELECT mlsys.predict('h_lin', '{"a": 1e400, "b": 1}'::jsonb)$$),
('predict', 'jsonb missing feature',    $$SELECT round(mlsys.predict('h_lin', '{"a": 1}'::jsonb)::numeric, 6)$$),
('predict', 'jsonb extra keys',         $$SELECT round(mlsys.predict('h_lin', '{"a": 1, "b": 2, "zz": 3}'::jsonb)::numeric, 6)$$),
('predict', 'jsonb array feature too short', $$SELECT mlsys.predict('h_vec', '{"v": [1]}'::jsonb)$$),
('predict', 'jsonb array feature nested', $$SELECT mlsys.predict('h_vec', '{"v": [[1], [2]]}'::jsonb)$$),
('predict', 'record missing a column',  $$SELECT mlsys.predict('h_lin', ROW(1, 2))$$),
('predict', 'record of wrong types',    $$SELECT mlsys.predict('h_lin', t) FROM (SELECT 'x'::text AS a, 'y'::text AS b) t$$),
('predict', 'null record',              $$SELECT mlsys.predict('h_lin', NULL::record)$$),
('predict', 'record, array column too long', $$SELECT mlsys.predict('h_vec', t) FROM (SELECT ARRAY[1, 2, 3]::float8[] AS v) t$$),
('predict', 'record, array column with null', $$SELECT mlsys.predict('h_vec', t) FROM (SELECT ARRAY[1, NULL]::float8[] AS v) t$$),
('predict', 'recommender model',        $$SELECT mlsys.predict('h_rec', ARRAY[1, 2]::float8[])$$),
('predict_proba', 'regression model',   $$SELECT mlsys.predict_proba('h_lin', ARRAY[1, 2]::float8[])$$),
('predict_proba', 'NaN feature',        $$SELECT mlsys.predict_proba('h_bin', ARRAY['NaN', 1]::float8[])$$),
('predict_proba', '±Infinity features', $$SELECT mlsys.predict_proba('h_bin', ARRAY['Infinity', '-Infinity']::float8[])$$),
('predict_proba', 'multiclass, 1e308',  $$SELECT mlsys.predict_proba('h_multi', ARRAY[1e308, -1e308]::float8[])$$),
('predict_proba', 'wrong length',       $$SELECT mlsys.predict_proba('h_bin', ARRAY[1]::float8[])$$),
('predict_proba', 'version -1',         $$SELECT mlsys.predict_proba('h_bin', -1, t) FROM h_data t LIMIT 1$$),
('predict_proba', 'jsonb {}',           $$SELECT (SELECT array_agg(round(p::numeric, 6)) FROM unnest(mlsys.predict_proba('h_bin', '{}'::jsonb)) p)$$),
('predict_label', 'regression model',   $$SELECT mlsys.predict_label('h_lin', ARRAY[1, 2]::float8[])$$),
('predict_label', 'NaN feature',        $$SELECT mlsys.predict_label('h_bin', ARRAY['NaN', 1]::float8[])$$),
('predict_label', 'multiclass NaN',     $$SELECT mlsys.predict_label('h_multi', ARRAY['NaN', 1]::float8[])$$),
('predict_label', 'null features',      $$SELECT mlsys.predict_label('h_bin', NULL::jsonb)$$),
('predict_label', 'version 99',         $$SELECT mlsys.predict_label('h_bin', 99, t) FROM h_data t LIMIT 1$$),
('classes', 'regression model',         $$SELECT mlsys.classes('h_lin')$$),
('classes', 'null',                     $$SELECT mlsys.classes(NULL)$$),
('classes', 'unknown model',            $$SELECT mlsys.classes('h_nope')$$),
('live_version', 'null',                $$SELECT mlsys.live_version(NULL)$$),
('live_version', 'unknown model',       $$SELECT mlsys.live_version('h_nope')$$),
('live_version', 'undeployed model',    $$SELECT mlsys.live_version('h_undeployed')$$),
('features', 'unknown model',           $$SELECT count(*) FROM mlsys.features('h_nope')$$),
('features', 'version 0',               $$SELECT count(*) FROM mlsys.features('h_lin', 0)$$),
('features', 'null model',              $$SELECT count(*) FROM mlsys.features(NULL)$$),
('features', 'recommender',             $$SELECT count(*) FROM mlsys.features('h_rec')$$),
('predict_batch', 'null model',         $$SELECT mlsys.predict_batch(NULL, 'h_data', 'id')$$),
('predict_batch', 'null id column',     $$SELECT mlsys.predict_batch('h_lin', 'h_data', NULL)$$),
('predict_batch', 'unknown id column',  $$SELECT mlsys.predict_batch('h_lin', 'h_data', 'nope')$$),
('predict_batch', 'system column id',   $$SELECT mlsys.predict_batch('h_lin', 'h_data', 'ctid')$$),
('predict_batch', 'empty relation',     $$SELECT mlsys.predict_batch('h_lin', 'h_empty', 'id')$$),
('predict_batch', 'relation lacking features', $$SELECT mlsys.predict_batch('h_lin', 'h_case', 'id')$$),
('predict_batch', 'all-null features',  $$SELECT mlsys.predict_batch('h_lin', 'h_nulls', 'id')$$),
('predict_batch', 'recommender model',  $$SELECT mlsys.predict_batch('h_rec', 'h_data', 'id')$$),
-- mlsys.configure
('configure', 'null model',             $$SELECT mlsys.configure(NULL, '{}')$$),
('configure', 'null settings',          $$SELECT mlsys.configure('h_lin', NULL)$$),
('configure', 'settings array',         $$SELECT mlsys.configure('h_lin', '[]')$$),
('configure', 'unknown setting',        $$SELECT mlsys.configure('h_lin', '{"nope": 1}')$$),
('configure', 'negative threshold',     $$SELECT mlsys.configure('h_lin', '{"psi_threshold": -1}')$$),
('configure', 'threshold 1e400',        $$SELECT mlsys.configure('h_lin', '{"psi_threshold": 1e400}')$$),
('configure', 'threshold string',       $$SELECT mlsys.configure('h_lin', '{"psi_threshold": "NaN"}')$$),
('configure', 'min_rows 0',             $$SELECT mlsys.configure('h_lin', '{"min_rows": 0}')$$),
('configure', 'min_rows 1e20',          $$SELECT mlsys.configure('h_lin', '{"min_rows": 1e20}')$$),
('configure', 'window negative',        $$SELECT mlsys.configure('h_lin', '{"window": "-1 day"}')$$),
('configure', 'window garbage',         $$SELECT mlsys.configure('h_lin', '{"window": "soon"}')$$),
('configure', 'unknown relation',       $$SELECT mlsys.configure('h_lin', '{"relation": "h_nope"}')$$),
('configure', 'unknown model',          $$SELECT mlsys.configure('h_nope', '{}')$$),
-- lifecycle
('retrain', 'null model',               $$SELECT decision FROM mlsys.retrain(NULL)$$),
('retrain', 'unknown model',            $$SELECT decision FROM mlsys.retrain('h_nope')$$),
('retrain', 'undeployed model',         $$SELECT decision FROM mlsys.retrain('h_undeployed')$$),
('retrain', 'multiclass model (supported)',         $$SELECT decision FROM mlsys.retrain('h_multi')$$),
('retrain', 'recommender model (supported)',        $$SELECT decision FROM mlsys.retrain('h_rec')$$),
('reproduce', 'null version',           $$SELECT params_match FROM mlsys.reproduce('h_lin', NULL)$$),
('reproduce', 'unknown version',        $$SELECT params_match FROM mlsys.reproduce('h_lin', 99)$$),
('reproduce', 'recommender',            $$SELECT params_match FROM mlsys.reproduce('h_rec', 1)$$),
('prune_versions', 'keep -1',           $$SELECT mlsys.prune_versions('h_lin', -1)$$),
('prune_versions', 'keep null',         $$SELECT mlsys.prune_versions('h_lin', NULL)$$),
('prune_versions', 'keep 2^31-1',       $$SELECT mlsys.prune_versions('h_lin', 2147483647)$$),
('prune_versions', 'unknown model',     $$SELECT mlsys.prune_versions('h_nope', 1)$$),
('drop_model', 'null',                  $$SELECT mlsys.drop_model(NULL)$$),
('drop_model', 'unknown model',         $$SELECT mlsys.drop_model('h_nope')$$),
('schedule', 'null schedule',           $$SELECT mlsys.schedule('h_lin', NULL)$$),
('schedule', 'unknown action',          $$SELECT mlsys.schedule('h_lin', '* * * * *', 'explode')$$),
('schedule', 'without pg_cron',         $$SELECT mlsys.schedule('h_lin', '* * * * *')$$),
('unschedule', 'null model',            $$SELECT mlsys.unschedule(NULL)$$),
('unschedule', 'without pg_cron',       $$SELECT mlsys.unschedule('h_lin')$$),
('schedules', 'without pg_cron',        $$SELECT count(*) FROM mlsys.schedules()$$),
-- recommenders
('train_recommender', 'null model',     $$SELECT version FROM mlsys.train_recommender(NULL, 'h_data', 'usr', 'item')$$),
('train_recommender', 'null user column', $$SELECT version FROM mlsys.train_recommender('x', 'h_data', NULL, 'item')$$),
('train_recommender', 'same user and item column', $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'usr', test_size => 0)$$),
('train_recommender', 'float user column', $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'a', 'item')$$),
('train_recommender', 'text rating column', $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', 'cls')$$),
('train_recommender', 'empty relation', $$SELECT version FROM mlsys.train_recommender('x', 'h_empty', 'usr', 'item')$$),
('train_recommender', 'one-row relation', $$SELECT version FROM mlsys.train_recommender('x', 'h_one', 'usr', 'item', test_size => 0)$$),
('train_recommender', 'all-null relation', $$SELECT version FROM mlsys.train_recommender('x', 'h_nulls', 'usr', 'item', 'rating')$$),
('train_recommender', 'NaN rating',     $$SELECT version FROM mlsys.train_recommender('x', 'h_nan', 'usr', 'item', 'rating', test_size => 0)$$),
('train_recommender', '1e300 ratings',  $$SELECT version FROM mlsys.train_recommender('x', 'h_hugevals', 'usr', 'item', 'rating', test_size => 0)$$),
('train_recommender', 'ids near ±2^63', $$SELECT version FROM mlsys.train_recommender('x', 'h_bigids', 'usr', 'item', 'rating', test_size => 0)$$),
('train_recommender', 'factors 0',      $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', hyperparams => '{"factors": 0}')$$),
('train_recommender', 'factors -1',     $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', hyperparams => '{"factors": -1}')$$),
('train_recommender', 'factors 1e9',    $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', hyperparams => '{"factors": 1000000000}')$$),
('train_recommender', 'factors 2.5',    $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', hyperparams => '{"factors": 2.5}')$$),
('train_recommender', 'iterations -1',  $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', hyperparams => '{"iterations": -1}')$$),
('train_recommender', 'regularization NaN', $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', hyperparams => '{"regularization": "NaN"}')$$),
('train_recommender', 'regularization 1e400', $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', hyperparams => '{"regularization": 1e400}')$$),
('train_recommender', 'implicit "yes"', $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', hyperparams => '{"implicit": "yes"}')$$),
('train_recommender', 'test_size 1',    $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', test_size => 1)$$),
('train_recommender', 'test_size NaN',  $$SELECT version FROM mlsys.train_recommender('x', 'h_data', 'usr', 'item', test_size => 'NaN')$$),
('recommend', 'k 0',                    $$SELECT count(*) FROM mlsys.recommend(1, 0, 'h_rec')$$),
('recommend', 'k -1',                   $$SELECT count(*) FROM mlsys.recommend(1, -1, 'h_rec')$$),
('recommend', 'k 2^31-1',               $$SELECT count(*) FROM mlsys.recommend(1, 2147483647, 'h_rec')$$),
('recommend', 'k null',                 $$SELECT count(*) FROM mlsys.recommend(1, NULL, 'h_rec')$$),
('recommend', 'null user',              $$SELECT count(*) FROM mlsys.recommend(NULL, 3, 'h_rec')$$),
('recommend', 'unknown user -2^63',     $$SELECT count(*) FROM mlsys.recommend(-9223372036854775808, 3, 'h_rec')$$),
('recommend', 'unknown model',          $$SELECT count(*) FROM mlsys.recommend(1, 3, 'h_nope')$$),
('recommend', 'regression model',       $$SELECT count(*) FROM mlsys.recommend(1, 3, 'h_lin')$$),
('recommend', 'exclude_seen null',      $$SELECT count(*) FROM mlsys.recommend(1, 3, 'h_rec', NULL)$$),
('recommend_batch', 'null model',       $$SELECT mlsys.recommend_batch(NULL)$$),
('recommend_batch', 'k 0',              $$SELECT mlsys.recommend_batch('h_rec', k => 0)$$),
('recommend_batch', 'k 2^31-1',         $$SELECT mlsys.recommend_batch('h_rec', k => 2147483647)$$),
('recommend_batch', 'k above the catalogue', $$SELECT mlsys.recommend_batch('h_rec', 'h_data', 'usr', 1000) > 0$$),
('recommend_batch', 'null user column', $$SELECT mlsys.recommend_batch('h_rec', 'h_data', NULL)$$),
('recommend_batch', 'float user column', $$SELECT mlsys.recommend_batch('h_rec', 'h_data', 'a')$$),
('recommend_batch', 'empty relation',   $$SELECT mlsys.recommend_batch('h_rec', 'h_empty', 'usr')$$),
('recommend_batch', 'ids near ±2^63',   $$SELECT mlsys.recommend_batch('h_rec', 'h_bigids', 'usr')$$),
('recommend_batch', 'unknown model',    $$SELECT mlsys.recommend_batch('h_nope')$$),
('recommend_batch', 'regression model', $$SELECT mlsys.recommend_batch('h_lin')$$),
('recommend_batch', 'undeployed model', $$SELECT mlsys.recommend_batch('h_undeployed')$$),
('recommend_for_items', 'null items',   $$SELECT count(*) FROM mlsys.recommend_for_items(NULL, 3, 'h_rec')$$),
('recommend_for_items', 'zero-length items', $$SELECT count(*) FROM mlsys.recommend_for_items(ARRAY[]::bigint[], 3, 'h_rec')$$),
('recommend_for_items', 'items with a null', $$SELECT count(*) FROM mlsys.recommend_for_items(ARRAY[1, NULL]::bigint[], 3, 'h_rec')$$),
('recommend_for_items', 'unknown items only', $$SELECT count(*) FROM mlsys.recommend_for_items(ARRAY[-5, -6]::bigint[], 3, 'h_rec')$$),
('recommend_for_items', '2-D items',    $$SELECT count(*) FROM mlsys.recommend_for_items(ARRAY[[1, 2], [3, 4]]::bigint[], 3, 'h_rec')$$),
('recommend_for_items', '100000 items', $$SELECT count(*) FROM mlsys.recommend_for_items(ARRAY(SELECT generate_series(1, 100000)::bigint), 3, 'h_rec')$$),
('recommend_for_items', 'k -1',         $$SELECT count(*) FROM mlsys.recommend_for_items(ARRAY[1]::bigint[], -1, 'h_rec')$$),
('similar_items', 'unknown item',       $$SELECT count(*) FROM mlsys.similar_items(-1, 3, 'h_rec')$$),
('similar_items', 'k 0',                $$SELECT count(*) FROM mlsys.similar_items(1, 0, 'h_rec')$$),
('similar_items', 'k 2^31-1',           $$SELECT count(*) FROM mlsys.similar_items(1, 2147483647, 'h_rec')$$),
('similar_items', 'null item',          $$SELECT count(*) FROM mlsys.similar_items(NULL, 3, 'h_rec')$$),
('similar_items', 'regression model',   $$SELECT count(*) FROM mlsys.similar_items(1, 3, 'h_lin')$$),
('predict_rating', 'unknown user and item', $$SELECT mlsys.predict_rating('h_rec', -1, -1) IS NOT NULL$$),
('predict_rating', 'null user',         $$SELECT mlsys.predict_rating('h_rec', NULL, 1)$$),
('predict_rating', 'regression model',  $$SELECT mlsys.predict_rating('h_lin', 1, 1)$$),
('evaluate_recommender', 'k 0',         $$SELECT mlsys.evaluate_recommender('h_rec', 'h_data', 0, 'usr', 'item')$$),
('evaluate_recommender', 'k -1',        $$SELECT mlsys.evaluate_recommender('h_rec', 'h_data', -1, 'usr', 'item')$$),
('evaluate_recommender', 'empty relation', $$SELECT mlsys.evaluate_recommender('h_rec', 'h_empty', 3, 'usr', 'item') IS NOT NULL$$),
('evaluate_recommender', 'unknown column', $$SELECT mlsys.evaluate_recommender('h_rec', 'h_data', 3, 'nope', 'item')$$),
('evaluate_recommender', 'NaN ratings', $$SELECT mlsys.evaluate_recommender('h_rec', 'h_nan', 3, 'usr', 'item', 'rating') ? 'rmse'$$),
-- aggregates
('linreg_agg', 'empty set',             $$SELECT mlsys.linreg_agg(y, ARRAY[a]) FROM h_empty$$),
('linreg_agg', 'one row',               $$SELECT mlsys.linreg_agg(y, ARRAY[a]) FROM h_one$$),
('linreg_agg', 'mismatched lengths',    $$SELECT mlsys.linreg_agg(y, CASE WHEN id = 5 THEN ARRAY[a] ELSE ARRAY[a, b] END) FROM h_data$$),
('linreg_agg', 'zero-length arrays',    $$SELECT mlsys.linreg_agg(y, ARRAY[]::float8[]) FROM h_data$$),
('linreg_agg', 'NaN and Infinity',      $$SELECT mlsys.linreg_agg(y, ARRAY[a, b]) FROM h_nan$$),
('linreg_agg', 'collinear features',    $$SELECT array_length(mlsys.linreg_agg(y, ARRAY[a, a]), 1) FROM h_data$$),
('linreg_agg', 'alpha -1',              $$SELECT mlsys.linreg_agg(y, ARRAY[a], -1) FROM h_data$$),
('linreg_agg', 'alpha NaN',             $$SELECT mlsys.linreg_agg(y, ARRAY[a], 'NaN') FROM h_data$$),
('linreg_agg', 'alpha varies by row',   $$SELECT mlsys.linreg_agg(y, ARRAY[a], id::float8) FROM h_data$$),
('linreg_agg', '2-D array',             $$SELECT mlsys.linreg_agg(y, ARRAY[[a, b]]) FROM h_data$$),
('linreg_agg', 'array with nulls',      $$SELECT mlsys.linreg_agg(y, ARRAY[a, NULL]) FROM h_data$$),
('linreg_agg', '10000 features',        $$SELECT mlsys.linreg_agg(y, array_fill(a, ARRAY[10000])) FROM h_one$$),
('rmse', 'empty set',                   $$SELECT mlsys.rmse(a, y) FROM h_empty$$),
('rmse', 'NaN and Infinity',            $$SELECT mlsys.rmse(a, y) FROM h_nan$$),
('mae', 'all nulls',                    $$SELECT mlsys.mae(a, y) FROM h_nulls$$),
('r2', 'one row',                       $$SELECT mlsys.r2(a, y) FROM h_one$$),
('r2', 'constant actual',               $$SELECT mlsys.r2(a, y) FROM h_const$$),
('accuracy', 'empty set',               $$SELECT mlsys.accuracy(cls, cls) FROM h_empty$$),
('accuracy', 'nulls',                   $$SELECT mlsys.accuracy(NULL::text, cls) FROM h_data$$),
('log_loss', 'probability 2',           $$SELECT mlsys.log_loss(2, flag) FROM h_data$$),
('log_loss', 'probability NaN',         $$SELECT mlsys.log_loss('NaN', flag) FROM h_data$$),
('log_loss', 'probability -Infinity',   $$SELECT mlsys.log_loss('-Infinity', flag) FROM h_data$$),
('auc', 'one class only',               $$SELECT mlsys.auc(a, true) FROM h_data$$),
('auc', 'NaN scores',                   $$SELECT mlsys.auc('NaN', flag) FROM h_data$$),
('auc', 'empty set',                    $$SELECT mlsys.auc(a, flag) FROM h_empty$$),
('classification_report', 'empty set',  $$SELECT mlsys.classification_report(cls, cls) FROM h_empty$$),
('classification_report', 'nulls',      $$SELECT mlsys.classification_report(NULL, cls) FROM h_data$$),
('classification_report', '10000 classes', $$SELECT jsonb_typeof(mlsys.classification_report(g::text, (g % 7)::text)) FROM generate_series(1, 10000) g$$),
-- monitoring and drift statistics
('capture_baseline', 'null model',       $$SELECT mlsys.capture_baseline(NULL)::text$$),
('capture_baseline', 'unknown model',    $$SELECT mlsys.capture_baseline('h_nope')::text$$),
('capture_baseline', 'version 0',        $$SELECT mlsys.capture_baseline('h_lin', 0)::text$$),
('capture_baseline', 'recommender',      $$SELECT mlsys.capture_baseline('h_rec')::text$$),
('drift', 'null relation',               $$SELECT count(*) FROM mlsys.drift('h_lin', NULL)$$),
('drift', 'unknown model',               $$SELECT count(*) FROM mlsys.drift('h_nope', 'h_data')$$),
('drift', 'empty relation',              $$SELECT count(*) FROM mlsys.drift('h_lin', 'h_empty')$$),
('drift', 'relation without the features', $$SELECT count(*) FROM mlsys.drift('h_lin', 'h_bigids')$$),
('drift', 'NaN / Infinity in data',      $$SELECT count(*) FROM mlsys.drift('h_lin', 'h_nan')$$),
('drift', 'all-null relation',           $$SELECT count(*) FROM mlsys.drift('h_lin', 'h_nulls')$$),
('drift', 'version -1',                  $$SELECT count(*) FROM mlsys.drift('h_lin', 'h_data', -1)$$),
('check', 'null model',                  $$SELECT count(*) FROM mlsys.check(NULL)$$),
('check', 'unknown model',               $$SELECT count(*) FROM mlsys.check('h_nope')$$),
('check', 'no relation configured',      $$SELECT count(*) FROM mlsys.check('h_lin')$$),
('performance', 'null model',            $$SELECT count(*) FROM mlsys.performance(NULL)$$),
('performance', 'zero bucket',           $$SELECT count(*) FROM mlsys.performance('h_lin', '0 s')$$),
('performance', 'negative bucket',       $$SELECT count(*) FROM mlsys.performance('h_lin', '-1 day')$$),
('performance', 'infinite since',        $$SELECT count(*) FROM mlsys.performance('h_lin', '1 day', 'infinity')$$),
('record_outcomes', 'null relation',     $$SELECT mlsys.record_outcomes('h_lin', NULL, 'id', 'y')$$),
('record_outcomes', 'unknown id column', $$SELECT mlsys.record_outcomes('h_lin', 'h_data', 'nope', 'y')$$),
('record_outcomes', 'unknown model',     $$SELECT mlsys.record_outcomes('h_nope', 'h_data', 'id', 'y')$$),
('record_outcomes', 'empty relation',    $$SELECT mlsys.record_outcomes('h_lin', 'h_empty', 'id', 'y')$$),
('record_interactions', 'null model',     $$SELECT mlsys.record_interactions(NULL, 'h_data', 'usr', 'item')$$),
('record_interactions', 'null relation',  $$SELECT mlsys.record_interactions('h_rec', NULL, 'usr', 'item')$$),
('record_interactions', 'null item column', $$SELECT mlsys.record_interactions('h_rec', 'h_data', 'usr', NULL)$$),
('record_interactions', 'unknown model',  $$SELECT mlsys.record_interactions('h_nope', 'h_data', 'usr', 'item')$$),
('record_interactions', 'regression model', $$SELECT mlsys.record_interactions('h_lin', 'h_data', 'usr', 'item')$$),
('record_interactions', 'unknown user column', $$SELECT mlsys.record_interactions('h_rec', 'h_data')$$),
('record_interactions', 'injection in a column name', $$SELECT mlsys.record_interactions('h_rec', 'h_data', 'usr"; DROP TABLE h_data; --', 'item')$$),
('record_interactions', 'float user column', $$SELECT mlsys.record_interactions('h_rec', 'h_data', 'a', 'item')$$),
('record_interactions', 'jsonb item column', $$SELECT mlsys.record_interactions('h_rec', 'h_data', 'usr', 'j')$$),
('record_interactions', 'integer time column', $$SELECT mlsys.record_interactions('h_rec', 'h_data', 'usr', 'item', 'id')$$),
('record_interactions', 'no time column',  $$SELECT mlsys.record_interactions('h_rec', 'h_data', 'usr', 'item')$$),
('record_interactions', '±infinity times', $$SELECT mlsys.record_interactions('h_rec', 'h_events', time_column => 'ts')$$),
('record_interactions', 'empty relation',  $$SELECT mlsys.record_interactions('h_rec', 'h_empty', 'usr', 'item')$$),
('record_interactions', 'all-null relation', $$SELECT mlsys.record_interactions('h_rec', 'h_nulls', 'usr', 'item')$$),
('record_interactions', 'ids near ±2^63', $$SELECT mlsys.record_interactions('h_rec', 'h_bigids', 'usr', 'item')$$),
('performance', 'recommender',           $$SELECT count(*) FROM mlsys.performance('h_rec')$$),
('check', 'recommender',                 $$SELECT count(*) FROM mlsys.check('h_rec')$$),
('prune', 'null interval',               $$SELECT mlsys.prune(NULL)::text$$),
('prune', 'negative interval',           $$SELECT mlsys.prune('-1 day')::text$$),
('ks_test', 'NaN value',                 $$SELECT mlsys.ks_test(v, c)::text FROM (VALUES (1::float8, true), ('NaN', false)) s(v, c)$$),
('ks_test', 'empty input',               $$SELECT mlsys.ks_test(a, flag)::text FROM h_empty$$),
('ks_test', 'one sample only',           $$SELECT mlsys.ks_test(a, true)::text FROM h_data$$),
('ks_test', 'nulls only',                $$SELECT mlsys.ks_test(a, flag)::text FROM h_nulls$$),
('wasserstein', 'Infinity value',        $$SELECT mlsys.wasserstein(v, c)::text FROM (VALUES (1::float8, true), ('Infinity', false)) s(v, c)$$),
('wasserstein', 'empty input',           $$SELECT mlsys.wasserstein(a, flag)::text FROM h_empty$$),
('psi', 'bins 0',                        $$SELECT mlsys.psi(a, flag, 0)::text FROM h_data$$),
('psi', 'bins huge',                     $$SELECT mlsys.psi(a, flag, 1000000000)::text FROM h_data$$),
('psi', 'bins null',                     $$SELECT mlsys.psi(a, flag, NULL)::text FROM h_data$$),
('psi', 'NaN value',                     $$SELECT mlsys.psi(v, c)::text FROM (VALUES (1::float8, true), ('NaN', false)) s(v, c)$$),
('js_distance', 'empty input',           $$SELECT mlsys.js_distance(cls, flag)::text FROM h_empty$$),
('js_distance', 'one sample only',       $$SELECT mlsys.js_distance(cls, true)::text FROM h_data$$),
('chi2_test', 'single category',         $$SELECT mlsys.chi2_test('x', flag)::text FROM h_data$$),
('chi2_test', 'empty input',             $$SELECT mlsys.chi2_test(cls, flag)::text FROM h_empty$$),
('linf_distance', 'null flags',          $$SELECT mlsys.linf_distance(cls, NULL)::text FROM h_data$$),
-- export / import and the cache
('export_model', 'null model',           $$SELECT mlsys.export_model(NULL)::text$$),
('export_model', 'unknown model',        $$SELECT mlsys.export_model('h_nope')::text$$),
('export_model', 'undeployed, no version', $$SELECT mlsys.export_model('h_undeployed')::text$$),
('export_model', 'version 0',            $$SELECT mlsys.export_model('h_lin', 0)::text$$),
('import_model', 'null document',        $$SELECT mlsys.import_model('x', NULL)$$),
('import_model', 'empty object',         $$SELECT mlsys.import_model('x', '{}')$$),
('import_model', 'array document',       $$SELECT mlsys.import_model('x', '[1, 2]')$$),
('import_model', 'NaN coefficient',      $$SELECT mlsys.import_model('x', jsonb_set(mlsys.export_model('h_lin'), '{parameters,intercept}', '"NaN"'))$$),
('import_model', 'truncated coefficients', $$SELECT mlsys.import_model('x', jsonb_set(mlsys.export_model('h_lin'), '{parameters,coefficients}', '{}'))$$),
('import_model', 'huge number',          $$SELECT mlsys.import_model('x', jsonb_set(mlsys.export_model('h_lin'), '{parameters,intercept}', '1e400'))$$),
-- mlsys.explain and mlsys.feature_importance
('explain', 'null model',                $$SELECT count(*) FROM mlsys.explain(NULL, ARRAY[1, 2]::float8[])$$),
('explain', 'null features (array)',     $$SELECT count(*) FROM mlsys.explain('h_lin', NULL::float8[])$$),
('explain', 'null record',               $$SELECT count(*) FROM mlsys.explain('h_lin', NULL::record)$$),
('explain', 'null features (jsonb)',     $$SELECT count(*) FROM mlsys.explain('h_lin', NULL::jsonb)$$),
('explain', 'version null',              $$SELECT count(*) FROM mlsys.explain('h_lin', NULL::int, ARRAY[1, 2]::float8[])$$),
('explain', 'version -1',                $$SELECT count(*) FROM mlsys.explain('h_lin', -1, ARRAY[1, 2]::float8[])$$),
('explain', 'unknown model',             $$SELECT count(*) FROM mlsys.explain('h_nope', ARRAY[1, 2]::float8[])$$),
('explain', 'undeployed model',          $$SELECT count(*) FROM mlsys.explain('h_undeployed', ARRAY[1]::float8[])$$),
('explain', 'recommender model',         $$SELECT count(*) FROM mlsys.explain('h_rec', ARRAY[1, 2]::float8[])$$),
('explain', 'wrong length',              $$SELECT count(*) FROM mlsys.explain('h_lin', ARRAY[1]::float8[])$$),
('explain', 'NaN feature',               $$SELECT count(*) FROM mlsys.explain('h_lin', ARRAY['NaN', 1]::float8[])$$),
('explain', '1e308 features',            $$SELECT count(*) FROM mlsys.explain('h_lin', ARRAY[1e308, -1e308]::float8[])$$),
('explain', 'record missing a column',   $$SELECT count(*) FROM mlsys.explain('h_lin', ROW(1, 2))$$),
('explain', 'jsonb {}',                  $$SELECT count(*) FROM mlsys.explain('h_lin', '{}'::jsonb)$$),
('explain', 'multiclass, 1e308',         $$SELECT count(*) FROM mlsys.explain('h_multi', ARRAY[1e308, -1e308]::float8[])$$),
('explain', 'binary, a row',             $$SELECT count(*) FROM h_data t, mlsys.explain('h_bin', 1, t) WHERE t.id = 1$$),
('feature_importance', 'null model',     $$SELECT count(*) FROM mlsys.feature_importance(NULL)$$),
('feature_importance', 'unknown model',  $$SELECT count(*) FROM mlsys.feature_importance('h_nope')$$),
('feature_importance', 'version 0',      $$SELECT count(*) FROM mlsys.feature_importance('h_lin', 0)$$),
('feature_importance', 'version 99',     $$SELECT count(*) FROM mlsys.feature_importance('h_lin', 99)$$),
('feature_importance', 'undeployed model', $$SELECT count(*) FROM mlsys.feature_importance('h_undeployed')$$),
('feature_importance', 'recommender',    $$SELECT count(*) FROM mlsys.feature_importance('h_rec')$$),
('feature_importance', 'array column',   $$SELECT count(*) FROM mlsys.feature_importance('h_vec')$$),
('set_owner', 'null model',              $$SELECT mlsys.set_owner(NULL, 'postgres')$$),
('set_owner', 'unknown model',           $$SELECT mlsys.set_owner('h_nope', 'postgres')$$),
('set_owner', 'role with quotes',        $$SELECT mlsys.set_owner('h_lin', '"x''); DROP TABLE h_data; --"')$$),
('grant', 'null privilege',              $$SELECT mlsys.grant('h_lin', 'postgres', NULL)$$),
('grant', 'unknown privilege',           $$SELECT mlsys.grant('h_lin', 'postgres', 'train; DROP TABLE h_data')$$),
('grant', 'unknown model',               $$SELECT mlsys.grant('h_nope', 'postgres', 'train')$$),
('grant', 'role with quotes',            $$SELECT mlsys.grant('h_lin', '"x''); DROP TABLE h_data; --"', 'train')$$),
('revoke', 'null role',                  $$SELECT mlsys.revoke('h_lin', NULL, 'train')$$),
('revoke', 'unknown model',              $$SELECT mlsys.revoke('h_nope', 'postgres', 'deploy')$$),
('revoke', 'privilege never granted',    $$SELECT mlsys.revoke('h_lin', 'postgres', 'manage')$$),
('resolve_alert', 'null id',            $$SELECT mlsys.resolve_alert(NULL)$$),
('resolve_alert', 'unknown id -2^63',    $$SELECT mlsys.resolve_alert(-9223372036854775808)$$),
('warm', 'unknown model',                $$SELECT mlsys.warm(ARRAY['h_nope'])$$),
('warm', 'null element',                 $$SELECT mlsys.warm(ARRAY[NULL]::text[])$$),
('warm', 'empty array',                  $$SELECT mlsys.warm(ARRAY[]::text[])$$),
('cached_models', 'no arguments',        $$SELECT count(*) >= 0 FROM mlsys.cached_models()$$),
('citus_setup', 'without Citus',         $$SELECT mlsys.citus_setup() LIKE '% copied to mlsys_replica (no Citus: plain tables)'$$);

-- every public function has at least one case
SELECT DISTINCT p.proname AS untested_function
  FROM pg_proc p
 WHERE p.pronamespace = 'mlsys'::regnamespace AND p.proname !~ '^_'
   AND NOT EXISTS (SELECT 1 FROM h_case c WHERE c.fn = p.proname)
 ORDER BY 1;

CREATE TABLE h_result (id int PRIMARY KEY, outcome text NOT NULL, message text);
DO $$
DECLARE
    c record;
    v_result text;
    v_state text;
    v_msg text;
BEGIN
    FOR c IN SELECT * FROM h_case ORDER BY id LOOP
        -- a case that succeeds is rolled back too (SQLSTATE MLOK0), so that
        -- no case sees what another one trained
        BEGIN
            EXECUTE 'SELECT (' || c.sql || ')::text' INTO v_result;
            RAISE EXCEPTION USING ERRCODE = 'MLOK0';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
            IF v_state = 'MLOK0' THEN
                INSERT INTO h_result VALUES (c.id, 'ok: ' || COALESCE(left(v_result, 60), 'NULL'), NULL);
            ELSE
                INSERT INTO h_result VALUES (c.id, v_state, left(v_msg, 110));
            END IF;
        END;
    END LOOP;
END $$;

-- the outcomes: ok with the result, or the SQLSTATE and message of the error
SELECT c.fn, c.label, r.outcome, r.message
  FROM h_case c JOIN h_result r USING (id) ORDER BY c.id;
-- no internal errors
SELECT c.fn, c.label, r.message AS internal_error
  FROM h_case c JOIN h_result r USING (id) WHERE r.outcome IN ('XX000', 'XX001', 'XX002');
SELECT 'internal errors: ' || count(*) AS summary FROM h_result r WHERE r.outcome LIKE 'XX%';
-- the hostile cases left no model behind (they all train under the name x)
SELECT count(*) AS leftover FROM mlsys.models WHERE model = 'x';

SELECT count(mlsys.drop_model(m.model)) AS dropped FROM mlsys.models m WHERE m.model LIKE 'h\_%';
SELECT count(*) AS impressions_left FROM mlsys.impressions WHERE model LIKE 'h\_%';
DROP TABLE h_case, h_result, h_data, h_empty, h_one, h_const, h_nan, h_nulls, h_hugevals, h_bigids, h_events;
