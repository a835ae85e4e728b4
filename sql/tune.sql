-- mlsys.tune: grid and random search by cross-validation
SET extra_float_digits = 0;
SELECT setseed(0.21);
CREATE TABLE tun AS
SELECT i AS id, a, b, 1 + 2 * a - 3 * b + 4 * (random() - 0.5) AS y
FROM (SELECT i, random() * 10 AS a, random() * 5 AS b FROM generate_series(1, 2000) i) s;

-- a grid of three penalties: the huge one is clearly worse
SELECT model, version, algorithm, deployed, trials, (metrics->>'rmse')::float8 < 1.3 AS good_rmse
FROM mlsys.tune('tun', 'tun', 'y', '{"alpha": [0.001, 100, 100000]}', ARRAY['a', 'b'], 'ridge');
SELECT trial, hyperparams, metric, mean IS NOT NULL AND std >= 0 AS scored, folds, best, version
FROM mlsys.tuning_trials WHERE model = 'tun' ORDER BY trial;
-- the chosen trial has the lowest cross-validated rmse, and the version was trained with it
SELECT t.hyperparams = v.hyperparams AS trained_with_best,
       t.mean = (SELECT min(mean) FROM mlsys.tuning_trials WHERE tuning_id = t.tuning_id) AS lowest_mean
FROM mlsys.tuning_trials t JOIN mlsys.model_versions v ON v.model = t.model AND v.version = t.version
WHERE t.model = 'tun' AND t.best;
-- a trial's mean is the mean over the folds of mlsys.cross_validate with its parameters
SELECT abs(t.mean - (SELECT avg((c.metrics->>'rmse')::float8)
                     FROM mlsys.cross_validate('tun', 'y', ARRAY['a', 'b'], 'ridge', t.hyperparams, 5, 0) c)) < 1e-12
       AS mean_is_cv_mean
FROM mlsys.tuning_trials t WHERE t.model = 'tun' AND t.trial = 2;

-- the order of the grid does not change the choice
SELECT version, deployed FROM mlsys.tune('tun_reversed', 'tun', 'y', '{"alpha": [100000, 100, 0.001]}',
                                         ARRAY['a', 'b'], 'ridge', deploy => 'never');
SELECT a.hyperparams = b.hyperparams AS same_choice
FROM mlsys.tuning_trials a, mlsys.tuning_trials b
WHERE a.model = 'tun' AND a.best AND b.model = 'tun_reversed' AND b.best;
SELECT mlsys.live_version('tun_reversed');

-- random search on a log scale: deterministic for a seed, within the range
SELECT trials FROM mlsys.tune('tun_random', 'tun', 'y', '{"alpha": {"min": 0.01, "max": 1000, "log": true, "trials": 4}}',
                              ARRAY['a', 'b'], 'ridge', folds => 3, seed => 5);
SELECT count(*) AS trials, bool_and((hyperparams->>'alpha')::float8 BETWEEN 0.01 AND 1000) AS in_range,
       count(DISTINCT hyperparams) AS distinct_draws
FROM mlsys.tuning_trials WHERE model = 'tun_random';
SELECT array_agg(t ORDER BY ordinality) = (SELECT array_agg(hyperparams ORDER BY trial) FROM mlsys.tuning_trials WHERE model = 'tun_random')
       AS reproducible
FROM mlsys._search_trials('{"alpha": {"min": 0.01, "max": 1000, "log": true, "trials": 4}}', 5) WITH ORDINALITY t;
-- grids cross random draws
SELECT count(*) AS combinations
FROM mlsys._search_trials('{"alpha": {"min": 1, "max": 2, "trials": 3}, "beta": [1, 2]}', 0);

-- bad input
\set VERBOSITY sqlstate
-- invalid input: empty search space
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', '{}', ARRAY['a'], 'ridge');
-- invalid input: empty list of values
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', '{"alpha": []}', ARRAY['a'], 'ridge');
-- invalid input: unknown hyperparameter (rejected, not ignored)
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', '{"alpah": [1, 2]}', ARRAY['a'], 'ridge');
-- invalid input: negative alpha
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', '{"alpha": [1, -2]}', ARRAY['a'], 'ridge');
-- invalid input: a hyperparameter for an algorithm that takes none
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', '{"alpha": [1]}', ARRAY['a']);
-- invalid input: random range without trials
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', '{"alpha": {"min": 1, "max": 2}}', ARRAY['a'], 'ridge');
-- invalid input: log range through zero
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', '{"alpha": {"min": 0, "max": 2, "log": true, "trials": 2}}', ARRAY['a'], 'ridge');
-- invalid input: zero trials
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', '{"alpha": {"min": 1, "max": 2, "trials": 0}}', ARRAY['a'], 'ridge');
-- invalid input: one fold
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', '{"alpha": [1]}', ARRAY['a'], 'ridge', folds => 1);
-- invalid input: null search
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', NULL, ARRAY['a'], 'ridge');
\set VERBOSITY default
SELECT * FROM mlsys.tune('tun_bad', 'tun', 'y', '{"alpah": [1, 2]}', ARRAY['a'], 'ridge');
-- nothing was left behind by the failures
SELECT count(*) AS leftovers FROM mlsys.tuning_trials WHERE model = 'tun_bad';
SELECT count(*) AS leftovers FROM mlsys.models WHERE model = 'tun_bad';
