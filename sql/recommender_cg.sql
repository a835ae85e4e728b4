-- recommender solvers: conjugate gradient (the implicit default) against the
-- exact Cholesky solve; the hyperparameters solver and cg_steps; fit_seconds
-- tiny generated data, no random(): 60 users in 5 groups of taste with
-- strengths 1..3, and explicit ratings with a smooth structure
CREATE TABLE cg_clicks AS
SELECT u AS user_id, (u % 5) * 8 + j AS item_id, 1 + (u * j) % 3 AS strength
FROM generate_series(1, 60) u, generate_series(1, 12) j WHERE (u * 7 + j * 3) % 5 < 3;
CREATE TABLE cg_ratings AS
SELECT u AS user_id, i AS item_id,
       3 + sin(u * 0.3) + cos(i * 0.7) + 0.8 * sin(u * 0.17) * cos(i * 0.23) + 0.1 * sin(u * i) AS rating
FROM generate_series(1, 50) u, generate_series(1, 30) i WHERE (u * 11 + i * 5) % 7 < 3;
SELECT (SELECT count(*) FROM cg_clicks) AS clicks, (SELECT count(*) FROM cg_ratings) AS ratings;

-- helpers: the scores (b_u + b_i + p_u·q_i) of every user and item of version 1
-- of a model, from its document; the largest difference of two models'
-- factors, and of their scores; the SQLSTATE, message, detail and hint of a
-- training
CREATE FUNCTION cg_scores(m text) RETURNS TABLE (u bigint, i bigint, score float8) LANGUAGE sql AS $$
    WITH d AS MATERIALIZED (SELECT mlsys.export_model(m, 1) -> 'parameters' AS p)
    SELECT uf.n, itf.n,
           (d.p -> 'users' -> 'biases' ->> (uf.n::int - 1))::float8 + (d.p -> 'items' -> 'biases' ->> (itf.n::int - 1))::float8
           + (SELECT sum(a::float8 * b::float8)
              FROM jsonb_array_elements_text(uf.f) WITH ORDINALITY x(a, k)
              JOIN jsonb_array_elements_text(itf.f) WITH ORDINALITY y(b, l) ON k = l)
    FROM d, jsonb_array_elements(d.p -> 'users' -> 'factors') WITH ORDINALITY uf(f, n),
         jsonb_array_elements(d.p -> 'items' -> 'factors') WITH ORDINALITY itf(f, n)
$$;
CREATE FUNCTION cg_score_diff(m1 text, m2 text) RETURNS float8 LANGUAGE sql AS $$
    WITH a AS MATERIALIZED (SELECT * FROM cg_scores(m1)), b AS MATERIALIZED (SELECT * FROM cg_scores(m2))
    SELECT max(abs(a.score - b.score)) FROM a JOIN b USING (u, i)
$$;
CREATE FUNCTION cg_factor_diff(m1 text, m2 text) RETURNS float8 LANGUAGE sql AS $$
    WITH d AS MATERIALIZED (SELECT mlsys.export_model(m1, 1) -> 'parameters' AS a, mlsys.export_model(m2, 1) -> 'parameters' AS b)
    SELECT max(abs(x.v::float8 - y.v::float8))
    FROM d, (VALUES ('users'), ('items')) s(side),
         LATERAL jsonb_array_elements(d.a -> s.side -> 'factors') WITH ORDINALITY ra(r, i)
         JOIN LATERAL jsonb_array_elements(d.b -> s.side -> 'factors') WITH ORDINALITY rb(r, j) ON i = j,
         LATERAL jsonb_array_elements_text(ra.r) WITH ORDINALITY x(v, k)
         JOIN LATERAL jsonb_array_elements_text(rb.r) WITH ORDINALITY y(v, l) ON k = l
$$;
CREATE FUNCTION cg_try(relation regclass, hp jsonb, rating text DEFAULT NULL, model text DEFAULT 'cg_bad')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_detail text;
    v_hint text;
BEGIN
    PERFORM mlsys.train_recommender(model, relation, rating_column => rating, hyperparams => hp, deploy => 'never');
    RETURN 'trained';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ' ' || SQLERRM || coalesce(' (' || nullif(v_detail, '') || ')', '')
           || coalesce(' [' || nullif(v_hint, '') || ']', '');
END $$;

------------------------------------------------------------------------------
-- defaults per feedback type, and what is stored
------------------------------------------------------------------------------
SELECT version, algorithm FROM mlsys.train_recommender('cg_imp', 'cg_clicks', hyperparams => '{"factors": 4}');
SELECT version, algorithm FROM mlsys.train_recommender('cg_exp', 'cg_ratings', rating_column => 'rating',
                                                       hyperparams => '{"factors": 4}');
SELECT version, algorithm FROM mlsys.train_recommender('cg_imp_chol', 'cg_clicks',
                                                       hyperparams => '{"factors": 4, "solver": "cholesky"}');
SELECT version, algorithm FROM mlsys.train_recommender('cg_exp_cg', 'cg_ratings', rating_column => 'rating',
                                                       hyperparams => '{"factors": 4, "solver": "cg", "cg_steps": 7}');
-- implicit: cg with 3 steps; explicit: cholesky (no cg_steps)
SELECT model, hyperparams ->> 'solver' AS solver, hyperparams -> 'cg_steps' AS cg_steps, hyperparams
FROM mlsys.model_versions WHERE model LIKE 'cg_%' ORDER BY model;
-- every version records the wall time of its ALS sweeps, a number >= 0
SELECT model, jsonb_typeof(metrics -> 'fit_seconds') AS type, (metrics ->> 'fit_seconds')::float8 >= 0 AS non_negative
FROM mlsys.model_versions WHERE model LIKE 'cg_%' ORDER BY model;

------------------------------------------------------------------------------
-- convergence: as steps grow, CG's fit approaches Cholesky's. With 8
-- factors a CG solve is exact after 8 steps (up to rounding), so 10 and 50
-- steps follow Cholesky's path: the same factors (stored as float4). With
-- fewer steps ALS reaches an equally good fit whose factors may differ by a
-- rotation (p_u·q_i is unchanged when both sides turn alike), so the scores
-- are what is compared.
------------------------------------------------------------------------------
SELECT count(*) AS trained FROM (
    SELECT mlsys.train_recommender(name, 'cg_clicks', rating_column => 'strength', test_size => 0, deploy => 'never',
             hyperparams => jsonb_build_object('implicit', true, 'factors', 8, 'regularization', 1, 'alpha', 2,
                                               'iterations', 40) || hp)
    FROM (VALUES ('cg_i_chol', '{"solver": "cholesky"}'::jsonb), ('cg_i_1', '{"cg_steps": 1}'),
                 ('cg_i_3', '{"solver": "cg"}'), ('cg_i_10', '{"cg_steps": 10}'), ('cg_i_50', '{"cg_steps": 50}')) v(name, hp)) t;
CREATE TABLE cg_conv AS
SELECT s AS steps, cg_score_diff('cg_i_chol', 'cg_i_' || s) AS score_diff, cg_factor_diff('cg_i_chol', 'cg_i_' || s) AS factor_diff
FROM unnest(ARRAY[1, 3, 10, 50]) s;
SELECT (SELECT max(abs(score)) FROM cg_scores('cg_i_chol')) > 0.5 AS scores_not_tiny,
       (SELECT score_diff FROM cg_conv WHERE steps = 1) > (SELECT score_diff FROM cg_conv WHERE steps = 3) AS shrinks_1_3,
       (SELECT score_diff FROM cg_conv WHERE steps = 3) > (SELECT score_diff FROM cg_conv WHERE steps = 10) AS shrinks_3_10,
       (SELECT score_diff FROM cg_conv WHERE steps = 1) < 0.01 AS close_at_1,
       (SELECT score_diff FROM cg_conv WHERE steps = 3) < 0.001 AS closer_at_3,
       (SELECT max(score_diff) FROM cg_conv WHERE steps >= 10) < 1e-6 AS same_scores_at_10_50,
       (SELECT max(factor_diff) FROM cg_conv WHERE steps >= 10) < 1e-6 AS same_factors_at_10_50;
-- explicit (biased) models may use cg too: 6 factors and the bias, so 7 steps are exact
SELECT count(*) AS trained FROM (
    SELECT mlsys.train_recommender(name, 'cg_ratings', rating_column => 'rating', test_size => 0, deploy => 'never',
             hyperparams => jsonb_build_object('factors', 6, 'regularization', 0.05, 'iterations', 40) || hp)
    FROM (VALUES ('cg_e_chol', '{}'::jsonb), ('cg_e_1', '{"solver": "cg", "cg_steps": 1}'), ('cg_e_3', '{"solver": "cg"}'),
                 ('cg_e_10', '{"solver": "cg", "cg_steps": 10}'), ('cg_e_50', '{"solver": "cg", "cg_steps": 50}')) v(name, hp)) t;
CREATE TABLE cg_econv AS
SELECT s AS steps, cg_score_diff('cg_e_chol', 'cg_e_' || s) AS score_diff FROM unnest(ARRAY[1, 3, 10, 50]) s;
SELECT (SELECT score_diff FROM cg_econv WHERE steps = 1) > (SELECT score_diff FROM cg_econv WHERE steps = 3) AS shrinks_1_3,
       (SELECT score_diff FROM cg_econv WHERE steps = 3) > (SELECT score_diff FROM cg_econv WHERE steps = 10) AS shrinks_3_10,
       (SELECT max(score_diff) FROM cg_econv WHERE steps >= 10) < 1e-6 AS same_scores_at_10_50,
       (SELECT params FROM mlsys.model_versions WHERE model = 'cg_e_1')
       <> (SELECT params FROM mlsys.model_versions WHERE model = 'cg_e_chol') AS cg_did_run;

------------------------------------------------------------------------------
-- reproduce: a cg version is rebuilt bit for bit (implicit and explicit)
------------------------------------------------------------------------------
SELECT * FROM mlsys.reproduce('cg_imp', 1);
SELECT * FROM mlsys.reproduce('cg_exp_cg', 1);
SELECT * FROM mlsys.reproduce('cg_i_1', 1);
-- a version stored before the solver was recorded was fitted by Cholesky:
-- reproduce (and retrain) fit it that way again, not with today's cg default
UPDATE mlsys.model_versions SET hyperparams = hyperparams - 'solver' WHERE model = 'cg_i_chol' AND version = 1;
SELECT hyperparams ? 'solver' AS solver_recorded FROM mlsys.model_versions WHERE model = 'cg_i_chol';
SELECT data_unchanged, params_match FROM mlsys.reproduce('cg_i_chol', 1);

------------------------------------------------------------------------------
-- bad input: each an error that registers nothing (22023; 22003 when the
-- arithmetic overflows, as the Cholesky solver's)
------------------------------------------------------------------------------
SELECT label, cg_try(rel, hp, rating) AS outcome
FROM (VALUES
    ('unknown solver',            'cg_clicks'::regclass, '{"solver": "lu"}'::jsonb, NULL),
    ('solver is case-sensitive',  'cg_clicks', '{"solver": "CG"}', NULL),
    ('solver a number',           'cg_clicks', '{"solver": 1}', NULL),
    ('solver null',               'cg_clicks', '{"solver": null}', NULL),
    ('cg_steps 0',                'cg_clicks', '{"cg_steps": 0}', NULL),
    ('cg_steps 101',              'cg_clicks', '{"cg_steps": 101}', NULL),
    ('cg_steps 2.5',              'cg_clicks', '{"cg_steps": 2.5}', NULL),
    ('cg_steps a string',         'cg_clicks', '{"cg_steps": "3"}', NULL),
    ('cg_steps with cholesky',    'cg_clicks', '{"solver": "cholesky", "cg_steps": 3}', NULL),
    ('cg_steps, explicit default','cg_ratings', '{"cg_steps": 3}', 'rating'),
    ('unknown hyperparameter',    'cg_clicks', '{"cg_step": 3}', NULL),
    ('overflow, cg',              'cg_clicks', '{"implicit": true, "alpha": 1e300}', 'strength'),
    ('overflow, cholesky',        'cg_clicks', '{"implicit": true, "alpha": 1e300, "solver": "cholesky"}', 'strength')
) v(label, rel, hp, rating);
SELECT count(*) AS registered FROM mlsys.models WHERE model = 'cg_bad';
-- the limits are accepted
SELECT cg_try('cg_clicks', '{"factors": 2, "iterations": 2, "cg_steps": 1}', model => 'cg_ok1') AS one_step,
       cg_try('cg_clicks', '{"factors": 2, "iterations": 2, "cg_steps": 100}', model => 'cg_ok2') AS hundred_steps,
       cg_try('cg_ratings', '{"factors": 2, "iterations": 2, "solver": "cholesky"}', 'rating', 'cg_ok3') AS explicit_cholesky;
