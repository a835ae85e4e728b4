-- bad input to mlsys.train and the scoring functions: each raises an error
-- with a specific SQLSTATE and leaves nothing behind
CREATE TABLE e AS
SELECT i AS id, i::float8 AS a, (i * i % 17)::float8 AS b, 'txt' || i AS t, ARRAY[i, i % 5]::float8[] AS v,
       (2 * i + (i * i % 17))::float8 AS y, i % 2 = 0 AS flag, jsonb_build_object('i', i) AS j
FROM generate_series(1, 100) i;
CREATE TABLE e_empty (a float8, y float8);
SELECT version FROM mlsys.train('ok', 'e', 'y', ARRAY['a', 'b']);
SELECT version FROM mlsys.train('ok_strict', 'e', 'y', ARRAY['a', 'b'], hyperparams => '{"impute": "error"}');

\set VERBOSITY sqlstate
-- invalid input: null model name
SELECT * FROM mlsys.train(NULL, 'e', 'y');
-- invalid input: empty model name
SELECT * FROM mlsys.train('', 'e', 'y');
-- invalid input: model name too long
SELECT * FROM mlsys.train(repeat('m', 64), 'e', 'y');
-- invalid input: relation does not exist
SELECT * FROM mlsys.train('m', 'no_such_table', 'y');
-- invalid input: not a table (a sequence)
CREATE SEQUENCE e_seq;
SELECT * FROM mlsys.train('m', 'e_seq', 'y');
-- invalid input: target column does not exist
SELECT * FROM mlsys.train('m', 'e', 'nope');
-- invalid input: regression on a text target
SELECT * FROM mlsys.train('m', 'e', 't', ARRAY['a'], 'linear');
-- invalid input: feature column does not exist
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a', 'nope']);
-- invalid input: feature column of a type that cannot be a feature
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a', 'j']);
-- invalid input: features NULL picks up a jsonb column
SELECT * FROM mlsys.train('m', 'e', 'y');
-- invalid input: the target listed as a feature
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a', 'y']);
-- invalid input: a feature listed twice
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a', 'a']);
-- invalid input: empty feature list
SELECT * FROM mlsys.train('m', 'e', 'y', '{}');
-- invalid input: system column
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['ctid']);
-- invalid input: unknown algorithm
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], 'xgboost');
-- invalid input: unknown hyperparameter
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], 'ridge', '{"alpah": 1}');
-- invalid input: hyperparameter for linear
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], 'linear', '{"alpha": 1}');
-- invalid input: negative alpha
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], 'ridge', '{"alpha": -1}');
-- invalid input: alpha not a number
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], 'ridge', '{"alpha": "big"}');
-- invalid input: hyperparams not an object
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], 'ridge', '[1]');
-- invalid input: test_size 1
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], test_size => 1);
-- invalid input: negative test_size
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], test_size => -0.1);
-- invalid input: NaN test_size
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], test_size => 'NaN');
-- invalid input: null seed
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], seed => NULL);
-- invalid input: unknown deploy policy
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], deploy => 'sometimes');
-- invalid input: empty relation
SELECT * FROM mlsys.train('m', 'e_empty', 'y');
-- invalid input: only null targets
INSERT INTO e_empty VALUES (1, NULL), (2, NULL);
SELECT * FROM mlsys.train('m', 'e_empty', 'y');
-- invalid input: NaN in a feature (a missing value) when imputation is off
CREATE TABLE e_nan AS SELECT * FROM e;
UPDATE e_nan SET a = 'NaN' WHERE id = 50;
SELECT * FROM mlsys.train('m', 'e_nan', 'y', ARRAY['a', 'b'], hyperparams => '{"impute": "error"}');
-- invalid input: infinity in the target
UPDATE e_nan SET a = 50, y = '-Infinity' WHERE id = 50;
SELECT * FROM mlsys.train('m', 'e_nan', 'y', ARRAY['a', 'b']);
-- invalid input: null in a feature column when imputation is off
UPDATE e_nan SET y = 1, b = NULL WHERE id = 50;
SELECT * FROM mlsys.train('m', 'e_nan', 'y', ARRAY['a', 'b'], hyperparams => '{"impute": "error"}');
-- invalid input: an unknown imputation method
SELECT * FROM mlsys.train('m', 'e_nan', 'y', ARRAY['a', 'b'], hyperparams => '{"impute": "mode"}');
-- invalid input: "scale" for least squares
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a', 'b'], hyperparams => '{"scale": "standard"}');
-- invalid input: null float8[] feature
UPDATE e_nan SET b = 1, v = NULL WHERE id = 50;
SELECT * FROM mlsys.train('m', 'e_nan', 'y', ARRAY['v']);
SELECT * FROM mlsys.train('m', 'e_nan', 'y', ARRAY['a', 'v']);
-- invalid input: float8[] feature of varying length
UPDATE e_nan SET v = ARRAY[1, 2, 3] WHERE id = 50;
SELECT * FROM mlsys.train('m', 'e_nan', 'y', ARRAY['a', 'v']);
-- invalid input: singular design matrix
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a', 'b', 'id']);
-- invalid input: holdout empty
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], test_size => 0.0001);
-- invalid input: model of another task name reused is fine for regression; a
-- model name is unique, so the same name keeps its task
-- invalid input: unknown model
SELECT mlsys.predict('nope', ARRAY[1]::float8[]);
-- invalid input: unknown version
SELECT mlsys.predict('ok', 99, ARRAY[1, 2]::float8[]);
-- invalid input: version 0
SELECT mlsys.predict('ok', 0, ARRAY[1, 2]::float8[]);
-- invalid input: model with no live version
SELECT version FROM mlsys.train('undeployed', 'e', 'y', ARRAY['a'], deploy => 'never');
SELECT mlsys.predict('undeployed', ARRAY[1]::float8[]);
-- invalid input: null model name
SELECT mlsys.predict(NULL, ARRAY[1, 2]::float8[]);
-- invalid input: null vector
SELECT mlsys.predict('ok', NULL::float8[]);
-- invalid input: null jsonb
SELECT mlsys.predict('ok', NULL::jsonb);
-- invalid input: bare NULL is ambiguous between the overloads
SELECT mlsys.predict('ok', NULL);
-- invalid input: untyped literal is ambiguous too
SELECT mlsys.predict('ok', '{1,2}');
-- invalid input: wrong-length vector
SELECT mlsys.predict('ok', ARRAY[1, 2, 3]::float8[]);
-- invalid input: NaN in a vector
SELECT mlsys.predict('ok', ARRAY[1, 'NaN']::float8[]);
-- invalid input: null element
SELECT mlsys.predict('ok', ARRAY[1, NULL]::float8[]);
-- invalid input: jsonb missing a feature (of a model that does not impute)
SELECT mlsys.predict('ok_strict', '{"a": 1}'::jsonb);
-- invalid input: jsonb not an object
SELECT mlsys.predict('ok', '[1, 2]'::jsonb);
-- invalid input: jsonb string value
SELECT mlsys.predict('ok', '{"a": 1, "b": "two"}'::jsonb);
-- invalid input: jsonb null value (of a model that does not impute)
SELECT mlsys.predict('ok_strict', '{"a": 1, "b": null}'::jsonb);
-- invalid input: anonymous ROW(...)
SELECT mlsys.predict('ok', ROW(1, 2));
-- invalid input: row without a feature column
SELECT mlsys.predict('ok', s) FROM (SELECT 1::float8 AS a) s;
-- invalid input: row with a text feature column
SELECT mlsys.predict('ok', s) FROM (SELECT 1::float8 AS a, 'x'::text AS b) s;
-- invalid input: row with a null feature (of a model that does not impute)
SELECT mlsys.predict('ok_strict', s) FROM (SELECT 1::float8 AS a, NULL::float8 AS b) s;
-- invalid input: row with an infinite feature
SELECT mlsys.predict('ok', s) FROM (SELECT 1::float8 AS a, 'Infinity'::float8 AS b) s;
-- invalid input: features of an unknown model, version or an undeployed model
SELECT * FROM mlsys.features('nope');
SELECT * FROM mlsys.features('ok', 42);
SELECT * FROM mlsys.features('undeployed');
SELECT * FROM mlsys.features('ok', 0);
-- invalid input: deploy an unknown version
SELECT mlsys.deploy('ok', 42);
-- invalid input: deploy an unknown model
SELECT mlsys.deploy('nope', 1);
-- invalid input: rollback of a model never deployed
SELECT mlsys.rollback('undeployed');
-- invalid input: batch scoring with an unknown id column
SELECT mlsys.predict_batch('ok', 'e', 'nope');
-- invalid input: batch scoring of an undeployed model
SELECT mlsys.predict_batch('undeployed', 'e', 'id');
-- invalid input: batch scoring of a relation missing a feature
SELECT mlsys.predict_batch('ok', 'e_empty', 'a');
-- invalid input: internal evaluation aggregate with null coefficients
SELECT mlsys._regression_holdout(1, '{1}', 0, 0, NULL);
-- invalid input: a user aggregate over the transition function with a forged state
CREATE AGGREGATE forged(float8, float8[]) (SFUNC = mlsys._linreg_accum, STYPE = bytea,
                                           INITCOND = '\x0102030405060708');
SELECT forged(1, ARRAY[1, 2]::float8[]);
-- invalid input: the final function called on a forged state
SELECT mlsys._linreg_final(decode(repeat('00', 200), 'hex'));
-- invalid input: a real state whose block is forged full (it must not be written past)
DO $$
DECLARE st bytea := (SELECT mlsys._linreg_split_agg(1, ARRAY[1, 2]::float8[], 0, 0, NULL));
BEGIN
    st := set_byte(set_byte(st, 12, get_byte(st, 8)), 13, get_byte(st, 9));
    EXECUTE format('CREATE AGGREGATE forged_full(float8, float8[]) (SFUNC = mlsys._linreg_accum, '
                   'STYPE = bytea, INITCOND = %L)', st::text);
    CREATE TEMP TABLE forged_state AS SELECT st;
END $$;
SELECT forged_full(1, ARRAY[1, 2]::float8[]);
SELECT mlsys._linreg_final(st) FROM forged_state;
SELECT mlsys._linreg_combine(st, st) FROM forged_state;
-- invalid input: the evaluation pass's transition function with a forged state
CREATE AGGREGATE forged_eval(float8, float8[], int8, float8, float8[], bool, text) (
    SFUNC = mlsys._regression_eval_accum, STYPE = bytea, INITCOND = '\x0102030405060708');
SELECT forged_eval(1, ARRAY[1, 2]::float8[], 0, 0, ARRAY[0, 1, 1]::float8[], true, 'y');
\set VERBOSITY default
-- a user aggregate over the evaluation transition without INITCOND starts from zero
CREATE AGGREGATE holdout_noinit(float8, float8[], int8, float8, float8[]) (
    SFUNC = mlsys._regression_holdout_accum, STYPE = float8[],
    FINALFUNC = mlsys._regression_metrics_final);
SELECT holdout_noinit(y, ARRAY[a], 0, 0, ARRAY[0, 2]::float8[]) FROM e WHERE id <= 3;
-- an array slice keeps a null bitmap without nulls: accepted
SELECT round(mlsys.predict('ok', ('{1,2,NULL}'::float8[])[1:2])::numeric, 6) =
       round(mlsys.predict('ok', ARRAY[1, 2]::float8[])::numeric, 6) AS slice_ok;
SELECT mlsys.linreg_agg(y, (ARRAY[a, b, NULL])[1:2]) = mlsys.linreg_agg(y, ARRAY[a, b]) AS slice_agg_ok FROM e;

-- the messages of a few of them
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a', 'j']);
CREATE TABLE e_null AS SELECT * FROM e;
UPDATE e_null SET b = NULL WHERE id = 7;
SELECT * FROM mlsys.train('m', 'e_null', 'y', ARRAY['a', 'b'], hyperparams => '{"impute": "error"}');
SELECT mlsys.predict('ok_strict', '{"a": 1, "b": null}'::jsonb);
SELECT * FROM mlsys.train('m', 'e_nan', 'y', ARRAY['a', 'v']);
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a', 'b', 'id']);
SELECT * FROM mlsys.train('m', 'e', 'y', ARRAY['a'], 'ridge', '{"alpah": 1}');
SELECT mlsys.predict('undeployed', ARRAY[1]::float8[]);
SELECT mlsys.predict('ok', NULL);
SELECT mlsys.predict('ok', ROW(1, 2));

-- nothing was left behind by the failures
SELECT model FROM mlsys.models WHERE model IN ('m', 'ok', 'undeployed') ORDER BY model;
SELECT count(*) AS predictions FROM mlsys.predictions WHERE model IN ('m', 'ok', 'undeployed');
SELECT count(*) AS runs FROM mlsys.prediction_runs WHERE model IN ('m', 'ok', 'undeployed');
