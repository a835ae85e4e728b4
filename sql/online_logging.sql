-- Online logging: sampled scoring calls reach mlsys.predictions through the
-- shared ring and the writer workers (the test cluster preloads mlsys)
CREATE TABLE ol_rows AS
SELECT g AS customer_id, (g % 7)::float8 AS a, (g % 13)::float8 / 3 AS b,
       CASE WHEN g % 3 = 0 THEN 'red' ELSE 'blue' END AS color, (g % 7) > 3 AS y
  FROM generate_series(1, 2000) g;
SELECT version FROM mlsys.train('ol', 'ol_rows', 'y', ARRAY['a', 'b', 'color'], deploy => 'most_recent');
SELECT version FROM mlsys.train('olr', 'ol_rows', 'b', ARRAY['a'], deploy => 'most_recent');

-- what the ring has been given since the server started: every sampled call
-- is logged, dropped or pending, counted as the call appends
CREATE FUNCTION ol_sampled() RETURNS bigint LANGUAGE sql AS
$$ SELECT logged + dropped + pending FROM mlsys.logging_stats $$;
-- wait (at most 30 s) until the writers stored n online rows of a model
CREATE FUNCTION ol_wait(p_model text, p_rows bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    FOR i IN 1..300 LOOP
        SELECT count(*) INTO n FROM mlsys.predictions WHERE model = p_model AND source = 'online';
        EXIT WHEN n >= p_rows;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN n;
END $$;

-- off by default: nothing is sampled
SELECT ol_sampled() AS before \gset
SELECT count(mlsys.predict('ol', t)) FROM ol_rows t;
SELECT ol_sampled() - :before AS sampled_when_off;

-- bad settings
\set SHOW_CONTEXT never
SELECT mlsys.configure('ol', '{"log_sample": 1.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('ol', '{"log_sample": -0.1}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('ol', '{"log_sample": "all"}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('ol', '{"log_entity": ""}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('ol', '{"log_entity": 3}');
\echo :LAST_ERROR_SQLSTATE

-- every call, with the customer as the entity: the next statement logs
SELECT mlsys.configure('ol', '{"log_sample": 1, "log_entity": "customer_id"}');
SELECT ol_sampled() AS before \gset
SELECT count(mlsys.predict_proba('ol', t)) FROM ol_rows t WHERE customer_id <= 50;
SELECT ol_sampled() - :before AS sampled;
SELECT ol_wait('ol', 50);
-- filled as a batch run fills them, whichever function scored
SELECT count(*) AS rows, count(DISTINCT entity_id) AS entities, bool_and(run_id IS NULL) AS no_run,
       bool_and(scored_by = current_user) AS scored_by_me, bool_and(version = 1) AS version_1,
       bool_and(probability BETWEEN 0 AND 1) AS probabilities, bool_and(predicted_label IN ('true', 'false')) AS labels,
       bool_and(prediction = predicted_label::bool::int) AS numeric_labels
  FROM mlsys.predictions WHERE model = 'ol' AND source = 'online';
SELECT entity_id, features FROM mlsys.predictions
 WHERE model = 'ol' AND source = 'online' AND entity_id IN ('3', '4') ORDER BY entity_id;
SELECT mlsys.predict_batch('ol', 'ol_rows', 'customer_id') AS batch_rows;
SELECT count(*) AS same_as_batch
  FROM mlsys.predictions o JOIN mlsys.predictions b ON b.entity_id = o.entity_id AND b.model = o.model
 WHERE o.model = 'ol' AND o.source = 'online' AND b.source = 'batch'
   AND b.predicted_label = o.predicted_label AND abs(b.probability - o.probability) < 1e-12
   AND b.prediction = o.prediction;

-- a jsonb input: its keys as they came (an unseen category, a missing key)
SELECT mlsys.predict_label('ol', '{"a": 1, "b": 2.5, "color": "green", "customer_id": 9001}'::jsonb);
SELECT mlsys.predict_label('ol', '{"a": 1, "b": 2.5, "customer_id": "c-9002"}'::jsonb);
SELECT ol_wait('ol', 52);
SELECT entity_id, features FROM mlsys.predictions
 WHERE model = 'ol' AND source = 'online' AND entity_id IN ('9001', 'c-9002') ORDER BY entity_id;

-- an array input has no entity; its numeric columns are logged
SELECT mlsys.configure('olr', '{"log_sample": 1, "log_entity": "customer_id"}');
-- (a call that names a version is not online traffic: predict_batch's are not logged)
SELECT mlsys.predict('olr', ARRAY[2.0]::float8[]) = mlsys.predict('olr', 1, ARRAY[2.0]::float8[]) AS same;
SELECT ol_wait('olr', 1);
SELECT entity_id, features, version FROM mlsys.predictions WHERE model = 'olr' AND source = 'online';

-- a log_entity the scored rows lack: one warning, then no entity
SELECT mlsys.configure('olr', '{"log_entity": "no_such_column"}');
SELECT count(mlsys.predict('olr', t)) FROM ol_rows t WHERE customer_id <= 3;
SELECT count(mlsys.predict('olr', t)) FROM ol_rows t WHERE customer_id <= 3;
SELECT ol_wait('olr', 7);
SELECT count(*) FILTER (WHERE entity_id IS NULL) AS without_entity FROM mlsys.predictions WHERE model = 'olr';

-- a logged call is an observation of serving: a rollback keeps it
BEGIN;
SELECT count(mlsys.predict('olr', t)) FROM ol_rows t WHERE customer_id <= 10;
ROLLBACK;
SELECT ol_wait('olr', 17);

-- parallel workers log too
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ol_rows t WHERE mlsys.predict('olr', t) > -1e9;
SELECT ol_sampled() AS before \gset
SELECT count(*) FROM ol_rows t WHERE mlsys.predict('olr', t) > -1e9;
SELECT ol_sampled() - :before AS sampled;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT ol_wait('olr', 2017);

-- a fraction: about half the calls (1000 calls; 6 standard deviations)
SELECT mlsys.configure('olr', '{"log_sample": 0.5}');
SELECT ol_sampled() AS before \gset
SELECT count(mlsys.predict('olr', t)) FROM ol_rows t WHERE customer_id <= 1000;
SELECT ol_sampled() - :before BETWEEN 400 AND 600 AS about_half;
-- and off again, from the next statement on
SELECT mlsys.configure('olr', '{"log_sample": 0}');
SELECT ol_sampled() AS before \gset
SELECT count(mlsys.predict('olr', t)) FROM ol_rows t;
SELECT ol_sampled() - :before AS sampled_when_off;

-- drift without a relation reads the logged traffic of the window
SELECT feature, kind, rows, drifted FROM mlsys.drift('ol') ORDER BY feature;
-- traffic that moved: a shifted
CREATE TABLE ol_shifted AS SELECT customer_id + 5000 AS customer_id, a + 10 AS a, b, color, y FROM ol_rows;
SELECT count(mlsys.predict('ol', t)) FROM ol_shifted t WHERE customer_id <= 7000;
SELECT ol_wait('ol', 2052);
SELECT feature, rows, drifted FROM mlsys.drift('ol') WHERE feature = 'a';
-- check uses it: the model logs and has no relation
SELECT kind, feature, detail ->> 'relation' AS relation, (detail ->> 'rows')::int AS rows
  FROM mlsys.check('ol') ORDER BY kind, feature;

-- outcomes label online rows as batch ones; performance counts both
CREATE TABLE ol_outcomes AS SELECT customer_id, y FROM ol_rows;
SELECT mlsys.record_outcomes('ol', 'ol_outcomes', 'customer_id', 'y') AS labeled;
SELECT source, count(*) AS rows, count(label) AS labeled FROM mlsys.predictions WHERE model = 'ol' GROUP BY source ORDER BY source;
SELECT sum(predictions) AS predictions, sum(labeled) AS labeled FROM mlsys.performance('ol');
SELECT version, predictions, online, batch FROM mlsys.prediction_stats WHERE model = 'ol';
SELECT log_sample, online_predictions_1d, batch_predictions_1d, online_calls_1d, online_dropped_1d
  FROM mlsys.model_overview WHERE model = 'ol';
-- what the logged rows stand for: every call of 'ol' was sampled (log_sample 1)
SELECT sum(calls) AS calls, sum(logged) AS logged, sum(dropped) AS dropped FROM mlsys.online_traffic WHERE model = 'ol';
-- 'olr' logged half its calls for a while: its rows stand for more calls than they are
SELECT sum(calls) > sum(logged) AS more_calls_than_rows, sum(logged) = (SELECT count(*) FROM mlsys.predictions
                                                                      WHERE model = 'olr' AND source = 'online') AS rows_counted
  FROM mlsys.online_traffic WHERE model = 'olr';
SELECT online_calls, online_dropped FROM mlsys.prediction_stats WHERE model = 'ol';

-- row-level security applies to online rows: a policy on scored_by
CREATE ROLE ol_team_a IN ROLE mlsys_reader;
CREATE ROLE ol_team_b IN ROLE mlsys_reader;
GRANT SELECT ON ol_rows TO ol_team_a, ol_team_b;
SET ROLE ol_team_a;
SELECT count(mlsys.predict('ol', t)) FROM ol_rows t WHERE customer_id <= 4;
RESET ROLE;
SELECT ol_wait('ol', 2056);
BEGIN;
CREATE POLICY ol_own_rows ON mlsys.predictions AS RESTRICTIVE USING (scored_by = current_user);
SET ROLE ol_team_a;
SELECT count(*) AS team_a_sees FROM mlsys.predictions;
SET ROLE ol_team_b;
SELECT count(*) AS team_b_sees FROM mlsys.predictions;
RESET ROLE;
ROLLBACK;
DROP OWNED BY ol_team_a, ol_team_b;
DROP ROLE ol_team_a;
DROP ROLE ol_team_b;

-- recommendations are logged as impressions: the items shown, in rank order
CREATE TABLE ol_clicks AS SELECT u AS user_id, i AS item_id, 1.0::float8 AS rating
  FROM generate_series(1, 40) u, generate_series(1, 30) i WHERE (u * 7 + i * 3) % 5 < 2;
SELECT version FROM mlsys.train_recommender('olrec', 'ol_clicks', deploy => 'most_recent');
SELECT mlsys.configure('olrec', '{"log_sample": 1}');
CREATE TEMP TABLE ol_shown AS SELECT 3 AS user_id, array_agg(item_id) AS items, array_agg(score) AS scores
  FROM mlsys.recommend(3, 5, 'olrec');
SELECT count(*) AS basket_items FROM mlsys.recommend_for_items(ARRAY[1, 2]::bigint[], 4, 'olrec');
DO $$ BEGIN FOR i IN 1..300 LOOP EXIT WHEN (SELECT count(*) FROM mlsys.impressions WHERE model = 'olrec') >= 2;
                                    PERFORM pg_sleep(0.1); END LOOP; END $$;
SELECT i.user_id, cardinality(i.item_ids) AS shown, i.item_ids = s.items AS same_items,
       i.scores = s.scores::float8[] AS same_scores, i.version, i.scored_by = current_user AS scored_by_me
  FROM mlsys.impressions i LEFT JOIN ol_shown s USING (user_id)
 WHERE i.model = 'olrec' ORDER BY i.user_id NULLS LAST;
-- the loop closes: the user follows the second item shown
CREATE TEMP TABLE ol_follow AS SELECT 3::bigint AS user_id, items[2] AS item_id FROM ol_shown;
SELECT mlsys.record_interactions('olrec', 'ol_follow') AS marked;
SELECT metric, value FROM mlsys.performance('olrec') WHERE version = 1;

SELECT mlsys.drop_model('ol');
SELECT mlsys.drop_model('olr');
SELECT mlsys.drop_model('olrec');
SELECT count(*) AS left_over FROM mlsys.predictions WHERE model IN ('ol', 'olr', 'olrec');
SELECT count(*) AS left_over FROM mlsys.impressions WHERE model = 'olrec';
SELECT count(*) AS left_over FROM mlsys.online_traffic WHERE model IN ('ol', 'olr', 'olrec');
