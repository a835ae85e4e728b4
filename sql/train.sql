-- mlsys.train: linear and ridge models, holdout metrics, deploy policies,
-- physical-order invariance
SET extra_float_digits = 0;
SELECT setseed(0.17);
CREATE TABLE houses AS
SELECT i AS id, area, rooms, age, garden,
       50 + 3.0 * area + 10 * rooms - 0.8 * age + 25 * garden::int + (random() - 0.5) * 20 AS price
FROM (SELECT i, (random() * 150 + 30)::numeric(8,2) AS area, (random() * 5)::int + 1 AS rooms,
             (random() * 80)::real AS age, random() < 0.4 AS garden
      FROM generate_series(1, 4000) i) s;

-- numeric, int, real and boolean features; default algorithm is linear
SELECT model, version, algorithm, deployed,
       (metrics->>'rmse')::float8 BETWEEN 4 AND 8 AS rmse_near_noise,
       (metrics->>'r2')::float8 > 0.99 AS r2_high,
       (metrics->>'mae')::float8 < (metrics->>'rmse')::float8 AS mae_below_rmse,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metrics) k) AS metric_keys
FROM mlsys.train('houses', 'houses', 'price', ARRAY['area', 'rooms', 'age', 'garden']);

-- the registry row: spec, counts, fingerprint, profile
SELECT model, version, algorithm, hyperparams, relation, target, feature_columns, feature_lengths,
       features, test_size, seed, train_rows + test_rows AS rows,
       test_rows BETWEEN 900 AND 1100 AS holdout_about_25pct,
       length(data_fingerprint) AS fp_len, training_seconds >= 0 AS timed,
       jsonb_array_length(profile->'features') AS profiled_features,
       (profile->'target'->>'mean')::float8 > 0 AS target_profiled,
       extension_version, created_by = current_user AS by_me
FROM mlsys.model_versions WHERE model = 'houses';
SELECT model, version, reason, previous_id FROM mlsys.deployments WHERE model = 'houses';

-- coefficients close to the planted ones
SELECT abs(mlsys.predict('houses', '{"area": 100, "rooms": 3, "age": 10, "garden": true}'::jsonb)
           - (50 + 300 + 30 - 8 + 25)) < 3 AS near_truth;

-- the holdout split is the rows whose content hash falls below test_size:
-- a model trained on the same data in another physical order is the same
CREATE TABLE houses_shuffled AS SELECT * FROM houses ORDER BY md5(id::text);
SELECT version, deployed FROM mlsys.train('houses_shuffled', 'houses_shuffled', 'price',
                                           ARRAY['area', 'rooms', 'age', 'garden']);
SELECT a.train_rows = b.train_rows AND a.test_rows = b.test_rows AS same_split,
       a.data_fingerprint = b.data_fingerprint AS same_fingerprint,
       a.metrics = b.metrics OR abs((a.metrics->>'rmse')::float8 / (b.metrics->>'rmse')::float8 - 1) < 1e-9 AS same_metrics
FROM mlsys.model_versions a, mlsys.model_versions b
WHERE a.model = 'houses' AND b.model = 'houses_shuffled';
SELECT bool_and(abs(mlsys.predict('houses', h) / mlsys.predict('houses_shuffled', h) - 1) < 1e-9)
       AS same_coefficients
FROM houses h;

-- a different seed gives a different split of the same data
SELECT version, deployed FROM mlsys.train('houses_seed', 'houses', 'price',
                                           ARRAY['area', 'rooms', 'age', 'garden'], seed => 7);
SELECT a.data_fingerprint = b.data_fingerprint AS same_data,
       a.metrics <> b.metrics AS different_split
FROM mlsys.model_versions a, mlsys.model_versions b
WHERE a.model = 'houses' AND b.model = 'houses_seed';

-- a change to one row changes the fingerprint
UPDATE houses_shuffled SET price = price + 1 WHERE id = 1;
SELECT version FROM mlsys.train('houses_shuffled', 'houses_shuffled', 'price',
                                ARRAY['area', 'rooms', 'age', 'garden'], deploy => 'never');
SELECT count(DISTINCT data_fingerprint) AS fingerprints FROM mlsys.model_versions WHERE model = 'houses_shuffled';

-- deploy policies: best_score deploys only a strictly better holdout rmse
-- (a model without the rooms feature is worse)
SELECT version, deployed FROM mlsys.train('houses', 'houses', 'price', ARRAY['area', 'age', 'garden']);
SELECT mlsys.live_version('houses');
SELECT version, deployed FROM mlsys.train('houses', 'houses', 'price', ARRAY['area', 'age', 'garden'],
                                          deploy => 'most_recent');
SELECT mlsys.live_version('houses');
SELECT version, deployed FROM mlsys.train('houses', 'houses', 'price', ARRAY['area', 'rooms', 'age', 'garden'],
                                          deploy => 'never');
SELECT mlsys.live_version('houses');
SELECT version, deployed FROM mlsys.train('houses', 'houses', 'price', ARRAY['area', 'rooms', 'age', 'garden']);
SELECT mlsys.live_version('houses');
-- test_size 0: training metrics, and best_score acts as most_recent (with a NOTICE)
SELECT version, deployed FROM mlsys.train('houses', 'houses', 'price', ARRAY['area', 'age'], test_size => 0);
SELECT train_rows, test_rows FROM mlsys.model_versions WHERE model = 'houses' AND version = 6;
SELECT model, version, reason FROM mlsys.deployments WHERE model = 'houses' ORDER BY id;

-- ridge: hyperparameters are validated and stored normalized
SELECT version, algorithm, deployed FROM mlsys.train('houses_ridge', 'houses', 'price',
    ARRAY['area', 'rooms', 'age', 'garden'], 'ridge', '{"alpha": 10}');
SELECT version, algorithm FROM mlsys.train('houses_ridge', 'houses', 'price',
    ARRAY['area', 'rooms', 'age', 'garden'], 'ridge');
SELECT version, hyperparams FROM mlsys.model_versions WHERE model = 'houses_ridge' ORDER BY version;
-- ridge with alpha 0 is ordinary least squares
SELECT version FROM mlsys.train('houses_ridge0', 'houses', 'price',
    ARRAY['area', 'rooms', 'age', 'garden'], 'ridge', '{"alpha": 0}');
SELECT bool_and(abs(mlsys.predict('houses_ridge0', h) / mlsys.predict('houses', 4, h) - 1) < 1e-9) AS ridge0_is_ols
FROM houses h;

-- features NULL: every column but the target (here: id too)
SELECT version FROM mlsys.train('all_cols', 'houses', 'price');
SELECT features FROM mlsys.model_versions WHERE model = 'all_cols';

-- float8[] features expand to one feature per element, and mix with scalars
SELECT setseed(0.3);
CREATE TABLE vecs AS
SELECT i, ARRAY[a, b] AS v, c, 1 + 2 * a - 3 * b + 4 * c AS y
FROM (SELECT i, random() AS a, random() AS b, random() AS c FROM generate_series(1, 500) i) s;
SELECT version, (metrics->>'rmse')::float8 < 1e-9 AS exact
FROM mlsys.train('vecs', 'vecs', 'y', ARRAY['v', 'c']);
SELECT features, feature_columns, feature_lengths FROM mlsys.model_versions WHERE model = 'vecs';
SELECT round(mlsys.predict('vecs', ARRAY[0.5, 0.5, 0.5]::float8[])::numeric, 9) AS from_array,
       round(mlsys.predict('vecs', '{"v": [0.5, 0.5], "c": 0.5}'::jsonb)::numeric, 9) AS from_jsonb;
-- a view works as the training relation
CREATE VIEW vecs_view AS SELECT v, y FROM vecs WHERE i <= 400;
SELECT version FROM mlsys.train('vecs_view', 'vecs_view', 'y');
SELECT train_rows + test_rows AS rows, features FROM mlsys.model_versions WHERE model = 'vecs_view';
-- rows with a null target are skipped
UPDATE vecs SET y = NULL WHERE i <= 100;
SELECT version FROM mlsys.train('vecs_nulls', 'vecs', 'y', ARRAY['v', 'c']);
SELECT train_rows + test_rows AS rows FROM mlsys.model_versions WHERE model = 'vecs_nulls';

-- a cancelled training leaves nothing behind
CREATE TABLE big AS SELECT i::float8 AS x, i * 2.0::float8 + (i % 7) AS y FROM generate_series(1, 2000000) i;
SET statement_timeout = '100ms';
\set VERBOSITY terse
SELECT * FROM mlsys.train('cancelled', 'big', 'y');
\set VERBOSITY default
RESET statement_timeout;
SELECT count(*) AS leftover_models FROM mlsys.models WHERE model = 'cancelled';
DROP TABLE big;
