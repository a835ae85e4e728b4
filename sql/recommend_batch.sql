-- precomputed recommendations: mlsys.recommend_batch, serving them with
-- {"serve": "precomputed"}, fallbacks to live scoring, refreshes, bad input
-- clicks of 300 users over 3,000 items (more than two tiles of ranking), the
-- popular items drawn more often
CREATE TABLE rb_clicks AS
SELECT u AS user_id, (floor(exp((abs(hashtext(u || ':' || c)) % 100000) / 100000.0 * ln(3001))) - 1)::bigint AS item_id
FROM generate_series(1, 300) u, generate_series(1, 30) c;
SELECT count(DISTINCT item_id) > 1024 AS several_tiles FROM rb_clicks;
SELECT version, deployed FROM mlsys.train_recommender('rb', 'rb_clicks', test_size => 0.2,
    hyperparams => '{"factors": 8, "iterations": 4}', deploy => 'most_recent');

-- live top-k as an array, and the stored one
CREATE FUNCTION rb_live(p_user bigint, p_k int, p_excl bool DEFAULT true) RETURNS bigint[]
LANGUAGE sql AS $$ SELECT array_agg(item_id ORDER BY o) FROM mlsys.recommend(p_user, p_k, 'rb', p_excl) WITH ORDINALITY r(item_id, score, o) $$;
CREATE FUNCTION rb_live_scores(p_user bigint, p_k int) RETURNS float8[]
LANGUAGE sql AS $$ SELECT array_agg(score ORDER BY o) FROM mlsys.recommend(p_user, p_k, 'rb') WITH ORDINALITY r(item_id, score, o) $$;

-- every user the model knows, k = 100 by default
SELECT mlsys.recommend_batch('rb') AS users_written;
SELECT count(*) AS rows, min(k) AS k, bool_and(version = 1) AS version_1,
       bool_and(cardinality(item_ids) = 100 AND cardinality(scores) = 100) AS full_lists
FROM mlsys.recommendations WHERE model = 'rb';
SELECT settings -> 'recommend_batch' AS remembered FROM mlsys.models WHERE model = 'rb';
-- stored = live: best first, ties by smaller id, scores alike; sgemm and sgemv
-- round differently, so a swap of two scores within 1e-6 is allowed at the end
SELECT count(*) FILTER (WHERE r.item_ids[1:99] <> (rb_live(r.user_id, 100))[1:99]) AS differing_users,
       bool_and(abs(r.scores[100] - (rb_live_scores(r.user_id, 100))[100]) <= 1e-6 * abs(r.scores[100])) AS last_scores_agree,
       max((SELECT max(abs(s - l) / greatest(abs(l), 1e-30)) FROM unnest(r.scores, rb_live_scores(r.user_id, 100)) x(s, l))) < 1e-5 AS scores_agree
FROM mlsys.recommendations r WHERE r.model = 'rb';
-- sorted, ties by smaller id, no seen item
SELECT bool_and(ok) AS ordered FROM (
    SELECT bool_and(s < lag_s OR (s = lag_s AND i > lag_i)) AS ok
    FROM (SELECT r.user_id, x.i, x.s, lag(x.i) OVER w AS lag_i, lag(x.s) OVER w AS lag_s
          FROM mlsys.recommendations r, unnest(r.item_ids, r.scores) WITH ORDINALITY x(i, s, o)
          WHERE r.model = 'rb' WINDOW w AS (PARTITION BY r.user_id ORDER BY x.o)) y
    WHERE lag_i IS NOT NULL GROUP BY user_id) z;
-- exclusion is the same as recommend's: compare with exclude_seen => true (above)
-- and check that without exclusion some stored lists would differ
SELECT count(*) FILTER (WHERE r.item_ids[1:10] <> rb_live(r.user_id, 10, false)) > 0 AS exclusion_matters
FROM mlsys.recommendations r WHERE r.model = 'rb';

-- a relation of users: unknown users skipped, duplicates once, NULLs ignored
CREATE TABLE rb_users (uid int, name text);
INSERT INTO rb_users VALUES (1, 'a'), (2, 'b'), (2, 'b again'), (NULL, 'nobody'), (100000, 'unknown');
SELECT mlsys.recommend_batch('rb', 'rb_users', 'uid', 5) AS users_written;
SELECT user_id, k, cardinality(item_ids) AS n FROM mlsys.recommendations WHERE model = 'rb' AND k = 5 ORDER BY user_id;
SELECT settings -> 'recommend_batch' AS remembered FROM mlsys.models WHERE model = 'rb';
SELECT count(*) AS rows FROM mlsys.recommendations WHERE model = 'rb';

-- serving: live by default; precomputed answers from the row. A sentinel row
-- shows which path answered.
SELECT mlsys.recommend_batch('rb', k => 20);
UPDATE mlsys.recommendations SET item_ids[1] = -1 WHERE model = 'rb' AND user_id = 3;
SELECT (rb_live(3, 5))[1] AS live_first;
SELECT (mlsys.configure('rb', '{"serve": "precomputed"}')) ->> 'serve' AS serve;
SELECT (rb_live(3, 5))[1] AS precomputed_first, cardinality(rb_live(3, 5)) AS n;
SELECT (rb_live(3, 20))[1] AS k_equal_stored;
SELECT (rb_live(3, 21))[1] <> -1 AS k_above_stored_is_live;
SELECT (rb_live(3, 5, false))[1] <> -1 AS exclude_seen_false_is_live;
-- other users: precomputed equals live
SELECT count(*) FILTER (WHERE rb_live(u, 10) IS DISTINCT FROM
                               (SELECT item_ids[1:10] FROM mlsys.recommendations WHERE model = 'rb' AND user_id = u)) AS differing
FROM generate_series(4, 300) u;
-- a user missing from the table and an unknown user: live (the popular items)
DELETE FROM mlsys.recommendations WHERE model = 'rb' AND user_id = 4;
SELECT rb_live(4, 5) = (rb_live(4, 21))[1:5] AS missing_is_live,
       cardinality(rb_live(4, 5)) AS n;
SELECT cardinality(rb_live(100000, 5)) AS unknown_user_n;
-- a tampered row is never served: a NULL element or a second dimension means live
UPDATE mlsys.recommendations SET item_ids[2] = NULL WHERE model = 'rb' AND user_id = 5;
SELECT rb_live(5, 5) = (rb_live(5, 21))[1:5] AS null_element_is_live;
UPDATE mlsys.recommendations SET item_ids = ARRAY[item_ids[11:20], item_ids[1:10]],
                                 scores = ARRAY[scores[11:20], scores[1:10]] WHERE model = 'rb' AND user_id = 6;
SELECT rb_live(6, 5) = (rb_live(6, 21))[1:5] AS two_dimensions_is_live;
-- writes to mlsys.recommendations leave cached models alone
SELECT version FROM mlsys.cached_models() WHERE model = 'rb';

-- no stale version: a deployment of another version stops serving the rows
-- until they are refreshed; a rollback to their version serves them again
SELECT version FROM mlsys.train_recommender('rb', 'rb_clicks', test_size => 0.2, seed => 1,
    hyperparams => '{"factors": 8, "iterations": 4}', deploy => 'never');
SELECT mlsys.deploy('rb', 2) IS NOT NULL AS deployed_2;
SELECT (rb_live(3, 5))[1] <> -1 AS new_version_is_live;
SELECT mlsys.rollback('rb') IS NOT NULL AS rolled_back;
SELECT (rb_live(3, 5))[1] AS old_rows_again;
-- a training that deploys refreshes in its own transaction (with the
-- remembered arguments: every user, k 20)
SELECT version, deployed FROM mlsys.train_recommender('rb', 'rb_clicks', test_size => 0.2, seed => 2,
    hyperparams => '{"factors": 8, "iterations": 4}', deploy => 'most_recent');
SELECT count(*) AS rows, bool_and(version = 3) AS all_version_3, min(k) AS k
FROM mlsys.recommendations WHERE model = 'rb';
SELECT count(*) FILTER (WHERE rb_live(u, 10) IS DISTINCT FROM
                               (SELECT item_ids[1:10] FROM mlsys.recommendations WHERE model = 'rb' AND user_id = u)) AS differing
FROM generate_series(1, 300) u;
-- a retrain, whatever it decides, leaves precomputed = live
SELECT o_decision IN ('deployed', 'kept') AS decided FROM mlsys.retrain('rb') r(o_model, o_version, o_algorithm, o_metrics, o_deployed, o_champion_metrics, o_decision);
SELECT count(*) FILTER (WHERE rb_live(u, 10) IS DISTINCT FROM
                               (SELECT item_ids[1:10] FROM mlsys.recommendations r WHERE r.model = 'rb' AND r.user_id = u
                                   AND r.version = (SELECT d.version FROM mlsys.deployments d WHERE d.model = 'rb' ORDER BY d.id DESC LIMIT 1))) AS differing
FROM generate_series(1, 300) u;
-- versions take their rows with them
SELECT mlsys.deploy('rb', 3) IS NOT NULL AS deployed_3;
SELECT mlsys.prune_versions('rb', 1) >= 0 AS pruned;
SELECT count(*) FILTER (WHERE version <> 3) AS rows_of_pruned_versions FROM mlsys.recommendations WHERE model = 'rb';

-- bad input
\set VERBOSITY sqlstate
SELECT mlsys.recommend_batch('rb', 'rb_users', 'nope');
SELECT mlsys.recommend_batch('rb', 'rb_users', 'name');
SELECT mlsys.recommend_batch('rb', k => 0);
SELECT mlsys.recommend_batch('rb', k => 1001);
SELECT mlsys.recommend_batch('rb', k => NULL);
SELECT mlsys.recommend_batch('no_such_model');
SELECT mlsys.recommend_batch(NULL);
CREATE TABLE rb_lin AS SELECT g::float8 AS x, 2 * g::float8 AS y FROM generate_series(1, 20) g;
SELECT version FROM mlsys.train('rb_lin', 'rb_lin', 'y', ARRAY['x']);
SELECT mlsys.recommend_batch('rb_lin');
SELECT mlsys.configure('rb_lin', '{"serve": "precomputed"}');
SELECT mlsys.configure('rb', '{"serve": "cached"}');
SELECT mlsys.configure('rb', '{"serve": true}');
SELECT mlsys.configure('rb', '{"recommend_batch": {"k": 0}}');
SELECT version FROM mlsys.train_recommender('rb_undeployed', 'rb_clicks', hyperparams => '{"factors": 4, "iterations": 1}', deploy => 'never');
SELECT mlsys.recommend_batch('rb_undeployed');
\set VERBOSITY default
SELECT mlsys.recommend_batch('rb_undeployed');
-- back to live serving
SELECT (mlsys.configure('rb', '{"serve": null}')) ? 'serve' AS serve_set;
SELECT mlsys.drop_model('rb');
SELECT count(*) AS rows_left FROM mlsys.recommendations WHERE model = 'rb';
