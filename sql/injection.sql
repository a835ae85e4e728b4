-- SQL injection: model names, relation and column names, hyperparameter keys,
-- algorithm and deploy names, settings, with quotes, semicolons and comment
-- markers. Every statement either works on the odd name as a plain name or
-- fails with a clean error; the canary table survives.
\set VERBOSITY terse
CREATE TABLE inj_canary (x int);
INSERT INTO inj_canary VALUES (1);
CREATE TABLE "inj ""odd""; table" AS
SELECT i AS "id'; DROP TABLE inj_canary; --", i % 9 AS "item */ x",
       i::float8 AS "a""b", (i % 5)::float8 AS "/*c", (3 * i + i % 5)::float8 AS "y'--",
       i % 2 = 0 AS "f'); DROP TABLE inj_canary; --"
FROM generate_series(1, 80) i;

-- names as plain names
SELECT version FROM mlsys.train(E'm\'; DROP TABLE inj_canary; --', '"inj ""odd""; table"', 'y''--', ARRAY['a"b', '/*c']);
SELECT version FROM mlsys.train(E'c\"); DROP TABLE inj_canary; /*', '"inj ""odd""; table"',
                                'f''); DROP TABLE inj_canary; --', ARRAY['a"b', '/*c']);
SELECT feature FROM mlsys.features(E'm\'; DROP TABLE inj_canary; --') ORDER BY ordinal;
SELECT relation, target, feature_columns FROM mlsys.model_versions WHERE model = E'm\'; DROP TABLE inj_canary; --';
SELECT round(mlsys.predict(E'm\'; DROP TABLE inj_canary; --', t)::numeric, 6) FROM "inj ""odd""; table" t
 WHERE "id'; DROP TABLE inj_canary; --" = 7;
SELECT round(mlsys.predict(E'm\'; DROP TABLE inj_canary; --', '{"a\"b": 7, "/*c": 2}'::jsonb)::numeric, 6);
SELECT mlsys.predict_label(E'c\"); DROP TABLE inj_canary; /*', t) FROM "inj ""odd""; table" t
 WHERE "id'; DROP TABLE inj_canary; --" = 7;
SELECT mlsys.predict_batch(E'm\'; DROP TABLE inj_canary; --', '"inj ""odd""; table"', 'id''; DROP TABLE inj_canary; --');
SELECT mlsys.predict_batch(E'c\"); DROP TABLE inj_canary; /*', '"inj ""odd""; table"', 'id''; DROP TABLE inj_canary; --');
SELECT count(*) FROM mlsys.cross_validate('"inj ""odd""; table"', 'y''--', ARRAY['a"b', '/*c'], folds => 2);
SELECT trials FROM mlsys.tune(E'm\'; DROP TABLE inj_canary; --', '"inj ""odd""; table"', 'y''--',
                              '{"alpha": [0.1, 1]}', ARRAY['a"b', '/*c'], 'ridge', folds => 2);
SELECT decision FROM mlsys.retrain(E'm\'; DROP TABLE inj_canary; --');
SELECT params_match FROM mlsys.reproduce(E'm\'; DROP TABLE inj_canary; --', 1);
SELECT mlsys.configure(E'm\'; DROP TABLE inj_canary; --',
    '{"relation": "\"inj \"\"odd\"\"; table\"", "time_column": "x\"; DROP TABLE inj_canary; --"}');
SELECT mlsys.deploy(E'm\'; DROP TABLE inj_canary; --', 1);
SELECT mlsys.rollback(E'm\'; DROP TABLE inj_canary; --');
SELECT version FROM mlsys.train_recommender(E'r\'); DROP TABLE inj_canary; --', '"inj ""odd""; table"',
    'id''; DROP TABLE inj_canary; --', 'item */ x', test_size => 0);
SELECT count(*) FROM mlsys.recommend(3, 2, E'r\'); DROP TABLE inj_canary; --');
SELECT count(*) FROM mlsys.evaluate_recommender(E'r\'); DROP TABLE inj_canary; --', '"inj ""odd""; table"', 2,
    'id''; DROP TABLE inj_canary; --', 'item */ x');

-- odd names that do not exist, or do not parse: clean errors
SELECT * FROM mlsys.train('m2', '"inj ""odd""; table"', 'y''--', ARRAY['a"b; DROP TABLE inj_canary']);
SELECT * FROM mlsys.train('m2', '"inj ""odd""; table"', 'y''); DROP TABLE inj_canary; --');
SELECT * FROM mlsys.train('m2', 'inj_canary; DROP TABLE inj_canary', 'x');
SELECT * FROM mlsys.train('m2', '"inj ""odd""; table"', 'y''--', ARRAY['a"b'], hyperparams => '{"x''; DROP TABLE inj_canary; --": 1}');
SELECT * FROM mlsys.train('m2', '"inj ""odd""; table"', 'y''--', ARRAY['a"b'], algorithm => E'linear\'; DROP TABLE inj_canary; --');
SELECT * FROM mlsys.train('m2', '"inj ""odd""; table"', 'y''--', ARRAY['a"b'], deploy => E'never\'; DROP TABLE inj_canary; --');
SELECT * FROM mlsys.tune('m2', '"inj ""odd""; table"', 'y''--', '{"alpha''; DROP TABLE inj_canary; --": [1]}', ARRAY['a"b'], 'ridge', folds => 2);
SELECT mlsys.configure(E'm\'; DROP TABLE inj_canary; --', '{"relation": "inj_canary; DROP TABLE inj_canary"}');
SELECT mlsys.configure(E'm\'; DROP TABLE inj_canary; --', '{"x\"; DROP TABLE inj_canary; --": 1}');
SELECT mlsys.configure(E'm\'; DROP TABLE inj_canary; --', '{"window": "1 day; DROP TABLE inj_canary"}');
SELECT mlsys.predict_batch(E'm\'; DROP TABLE inj_canary; --', '"inj ""odd""; table"', 'id"; DROP TABLE inj_canary; --');
SELECT mlsys.predict(E'nope\'; DROP TABLE inj_canary; --', ARRAY[1, 2]::float8[]);
SELECT mlsys.deploy(E'nope\'; DROP TABLE inj_canary; --', 1);
SELECT mlsys.schedule(E'm\'; DROP TABLE inj_canary; --', E'0 3 * * *\'; DROP TABLE inj_canary; --');
SELECT * FROM mlsys.train_recommender('r2', '"inj ""odd""; table"', 'id''; DROP TABLE inj_canary; --', 'item */ x; DROP TABLE inj_canary');

-- the canary survived, and nothing else was created or dropped
SELECT count(*) AS canary FROM inj_canary;
SELECT model FROM mlsys.models WHERE model ~ 'DROP' ORDER BY 1;
SELECT mlsys.drop_model(m.model) FROM mlsys.models m WHERE m.model ~ 'DROP';
DROP TABLE "inj ""odd""; table", inj_canary;
