-- feedback on recommendations: impressions (logged lists, inserted here by
-- hand with explicit shown_at), the interactions that followed them
-- (mlsys.record_interactions), click-through as a recommender's live metric
-- (mlsys.performance) and concept-drift alerts on it (mlsys.check)
SET timezone = 'UTC';
CREATE TABLE fb_clicks AS
SELECT u AS user_id, (u * 7 + k * 3) % 40 AS item_id FROM generate_series(1, 60) u, generate_series(1, 8) k;
SELECT version, deployed FROM mlsys.train_recommender('fb_rec', 'fb_clicks', hyperparams => '{"factors": 4, "iterations": 5}');
SELECT version, deployed FROM mlsys.train_recommender('fb_ctr', 'fb_clicks', hyperparams => '{"factors": 4, "iterations": 5}');
SELECT version, deployed FROM mlsys.train_recommender('fb_ctr', 'fb_clicks', hyperparams => '{"factors": 3, "iterations": 5}',
                                                      deploy => 'most_recent');
SELECT version, deployed FROM mlsys.train_recommender('fb_chk', 'fb_clicks', hyperparams => '{"factors": 4, "iterations": 5}');
CREATE TABLE fb_lin_data AS SELECT i AS id, i::float8 AS x, 2 * i + 1::float8 AS y FROM generate_series(1, 50) i;
SELECT version FROM mlsys.train('fb_lin', 'fb_lin_data', 'y', ARRAY['x']);

-- the table the logging fills, its defaults and indexes
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS default
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 'mlsys.impressions'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) FROM pg_index
 WHERE indrelid = 'mlsys.impressions'::regclass ORDER BY 1::text;
SELECT mlsys._setting('fb_rec', 'interaction_window') AS default_interaction_window;

------------------------------------------------------------------------------
-- record_interactions with a time column
------------------------------------------------------------------------------
INSERT INTO mlsys.impressions (model, version, user_id, item_ids, scores, shown_at) VALUES
    ('fb_rec', 1, 1, ARRAY[10, 11, 12, 13], ARRAY[0.9, 0.8, 0.7, 0.6], '2025-03-01 12:00+00'),  -- A
    ('fb_rec', 1, 1, ARRAY[12, 14], ARRAY[0.9, 0.8], '2025-03-05 12:00+00'),                   -- B
    ('fb_rec', 1, 2, ARRAY[10, 11], ARRAY[0.9, 0.8], '2025-03-01 12:00+00'),                   -- C
    ('fb_rec', 1, 4, ARRAY[30, 31], ARRAY[0.9, 0.8], '2025-03-01 00:00+00'),                   -- G
    ('fb_ctr', 2, 1, ARRAY[10, 11, 12, 13], ARRAY[0.9, 0.8, 0.7, 0.6], '2025-03-01 12:00+00'); -- another model
CREATE TABLE fb_events (user_id int, item_id bigint, ts timestamptz);
INSERT INTO fb_events VALUES
    (1, 12, '2025-03-01 12:00+00'),     -- at A's shown_at: counts (the window includes its start)
    (1, 13, '2025-03-08 11:59:59+00'),  -- a second before A's window ends: counts
    (1, 11, '2025-03-08 12:00+00'),     -- when A's window ends: does not count
    (1, 14, '2025-03-05 11:59:59+00'),  -- before B was shown: does not count
    (1, 12, '2025-03-06 00:00+00'),     -- in B's window (and A's, where 12 is counted once)
    (2, 11, '2025-03-02 00:00+00'),     -- C, twice: counts once
    (2, 11, '2025-03-02 00:00+00'),
    (2, 99, '2025-03-02 00:00+00'),     -- an item C did not show
    (2, 10, NULL),                      -- no time: skipped
    (NULL, 10, '2025-03-02 00:00+00'),  -- no user: skipped
    (3, 10, '2025-03-02 00:00+00');     -- a user never shown anything
-- A gets 12 and 13, B 12, C 11: 4 items
SELECT mlsys.record_interactions('fb_rec', 'fb_events', time_column => 'ts');
SELECT user_id, item_ids, shown_at, clicked FROM mlsys.impressions WHERE model = 'fb_rec' ORDER BY id;
-- idempotent: the same rows again mark nothing
SELECT mlsys.record_interactions('fb_rec', 'fb_events', time_column => 'ts');
-- another model's impressions are not touched
SELECT clicked FROM mlsys.impressions WHERE model = 'fb_ctr';
-- clicked stays a set in rank order, whatever order the interactions come in
CREATE TABLE fb_events2 (uid bigint, iid smallint, ts timestamptz);
INSERT INTO fb_events2 VALUES (2, 10, '2025-03-03 00:00+00'), (2, 11, '2025-03-03 00:00+00'), (1, 10, '2025-03-02 00:00+00');
SELECT mlsys.record_interactions('fb_rec', 'fb_events2', 'uid', 'iid', 'ts');
SELECT user_id, item_ids, clicked FROM mlsys.impressions WHERE model = 'fb_rec' AND user_id IN (1, 2) ORDER BY id;
-- timestamp (read in the session's time zone) and date columns: a date is
-- its midnight, so G's window [2025-03-01 00:00, 2025-03-08 00:00) takes the
-- first date and the last second, not the date that ends it
CREATE TABLE fb_events3 (user_id int, item_id int, d date, ts timestamp);
INSERT INTO fb_events3 VALUES (4, 30, '2025-03-01', NULL), (4, 31, '2025-03-08', '2025-03-07 23:59:59');
SELECT mlsys.record_interactions('fb_rec', 'fb_events3', time_column => 'd') AS by_date,
       mlsys.record_interactions('fb_rec', 'fb_events3', time_column => 'ts') AS by_timestamp;
SELECT clicked FROM mlsys.impressions WHERE model = 'fb_rec' AND user_id = 4;

------------------------------------------------------------------------------
-- record_interactions without a time column: the rows happen now, so they
-- count for the impressions shown within the last interaction window
------------------------------------------------------------------------------
INSERT INTO mlsys.impressions (model, version, user_id, item_ids, scores, shown_at) VALUES
    ('fb_rec', 1, 5, ARRAY[20, 21], ARRAY[0.9, 0.8], now() - interval '1 hour'),   -- D: in the window
    ('fb_rec', 1, 5, ARRAY[20], ARRAY[0.9], now() - interval '8 days'),             -- E: too old for 7 days
    ('fb_rec', 1, 5, ARRAY[21], ARRAY[0.9], now() + interval '1 hour');             -- F: not shown yet
CREATE TABLE fb_now AS SELECT 5 AS user_id, i AS item_id FROM unnest(ARRAY[20, 21]) i;
SELECT mlsys.record_interactions('fb_rec', 'fb_now');
SELECT item_ids, clicked FROM mlsys.impressions WHERE model = 'fb_rec' AND user_id = 5 ORDER BY shown_at;
-- a wider interaction window reaches E; null restores the default
SELECT mlsys.configure('fb_rec', '{"interaction_window": "10 days"}');
SELECT mlsys.record_interactions('fb_rec', 'fb_now');
SELECT mlsys.configure('fb_rec', '{"interaction_window": null}');
SELECT item_ids, clicked FROM mlsys.impressions WHERE model = 'fb_rec' AND user_id = 5 ORDER BY shown_at;

------------------------------------------------------------------------------
-- bad input
------------------------------------------------------------------------------
\set SHOW_CONTEXT never
-- invalid input: null model
SELECT mlsys.record_interactions(NULL, 'fb_events');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: null relation
SELECT mlsys.record_interactions('fb_rec', NULL);
\echo :LAST_ERROR_SQLSTATE
-- invalid input: null user column
SELECT mlsys.record_interactions('fb_rec', 'fb_events', NULL);
\echo :LAST_ERROR_SQLSTATE
-- invalid input: null item column
SELECT mlsys.record_interactions('fb_rec', 'fb_events', item_column => NULL);
\echo :LAST_ERROR_SQLSTATE
-- invalid input: no such model
SELECT mlsys.record_interactions('fb_nope', 'fb_events');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: not a recommender
SELECT mlsys.record_interactions('fb_lin', 'fb_events');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: missing user, item and time columns
SELECT mlsys.record_interactions('fb_rec', 'fb_events', 'uid');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.record_interactions('fb_rec', 'fb_events', item_column => 'Item_Id');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.record_interactions('fb_rec', 'fb_events', time_column => 'at');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: a time column that is not a timestamp or a date
SELECT mlsys.record_interactions('fb_rec', 'fb_events', time_column => 'item_id');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: an id column that is not an integer
SELECT mlsys.record_interactions('fb_rec', 'fb_events', item_column => 'ts');
\echo :LAST_ERROR_SQLSTATE
-- invalid input: interaction_window not a positive interval
SELECT mlsys.configure('fb_rec', '{"interaction_window": "-1 day"}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlsys.configure('fb_rec', '{"interaction_window": 7}');
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors

------------------------------------------------------------------------------
-- click-through as the live metric: per bucket of shown_at and version,
-- items clicked / items shown, against the version's own click-through over
-- its first window (the "window" setting, default 1 day)
------------------------------------------------------------------------------
DELETE FROM mlsys.impressions WHERE model = 'fb_ctr';
INSERT INTO mlsys.impressions (model, version, user_id, item_ids, scores, shown_at, clicked) VALUES
    -- version 1, its first day: 6 of 20 items clicked (baseline 0.3)
    ('fb_ctr', 1, 1, ARRAY[1, 2, 3, 4, 5], ARRAY[5, 4, 3, 2, 1], '2025-01-01 00:00+00', ARRAY[1, 2]),
    ('fb_ctr', 1, 2, ARRAY[1, 2, 3, 4, 5], ARRAY[5, 4, 3, 2, 1], '2025-01-01 06:00+00', ARRAY[3]),
    ('fb_ctr', 1, 3, ARRAY[1, 2, 3, 4, 5], ARRAY[5, 4, 3, 2, 1], '2025-01-01 12:00+00', NULL),
    ('fb_ctr', 1, 4, ARRAY[1, 2, 3, 4, 5], ARRAY[5, 4, 3, 2, 1], '2025-01-01 23:59:59+00', ARRAY[1, 4, 5]),
    -- version 1, the second day: 2 of 10 (degraded: below 0.3 * (1 - 0.1))
    ('fb_ctr', 1, 5, ARRAY[1, 2, 3, 4, 5], ARRAY[5, 4, 3, 2, 1], '2025-01-02 00:00+00', ARRAY[2]),
    ('fb_ctr', 1, 6, ARRAY[1, 2, 3, 4, 5], ARRAY[5, 4, 3, 2, 1], '2025-01-02 08:00+00', ARRAY[5]),
    -- version 1, the third day: 3 of 10
    ('fb_ctr', 1, 7, ARRAY[1, 2, 3, 4, 5], ARRAY[5, 4, 3, 2, 1], '2025-01-03 01:00+00', ARRAY[1, 2, 3]),
    ('fb_ctr', 1, 8, ARRAY[1, 2, 3, 4, 5], ARRAY[5, 4, 3, 2, 1], '2025-01-03 02:00+00', '{}'),
    -- version 2 from noon of the second day: its first day (to noon of the
    -- third) 6 of 12 (baseline 0.5), then 1 of 4
    ('fb_ctr', 2, 1, ARRAY[7, 8, 9, 10], ARRAY[4, 3, 2, 1], '2025-01-02 12:00+00', ARRAY[7, 8]),
    ('fb_ctr', 2, 2, ARRAY[7, 8, 9, 10], ARRAY[4, 3, 2, 1], '2025-01-02 18:00+00', ARRAY[9, 10]),
    ('fb_ctr', 2, 3, ARRAY[7, 8, 9, 10], ARRAY[4, 3, 2, 1], '2025-01-03 11:59:59+00', ARRAY[7, 10]),
    ('fb_ctr', 2, 4, ARRAY[7, 8, 9, 10], ARRAY[4, 3, 2, 1], '2025-01-03 12:00+00', ARRAY[8]);
SELECT bucket_start, version, predictions, labeled, metric, round(value::numeric, 5) AS value,
       round(baseline::numeric, 5) AS baseline, degraded
  FROM mlsys.performance('fb_ctr');
-- buckets of 12 hours since the third day: the baseline is still the first window's
SELECT bucket_start, version, predictions, labeled, round(value::numeric, 5) AS value,
       round(baseline::numeric, 5) AS baseline, degraded
  FROM mlsys.performance('fb_ctr', '12 hours', '2025-01-03 00:00+00');
-- the baseline window follows the "window" setting, degradation the tolerance
SELECT mlsys.configure('fb_ctr', '{"window": "2 days", "tolerance": 0.5}');
SELECT bucket_start, version, round(value::numeric, 5) AS value, round(baseline::numeric, 5) AS baseline, degraded
  FROM mlsys.performance('fb_ctr');
SELECT mlsys.configure('fb_ctr', '{"window": null, "tolerance": null}');
-- the same figures by hand
SELECT version, sum(cardinality(clicked))::float8 / sum(cardinality(item_ids)) AS ctr
  FROM mlsys.impressions WHERE model = 'fb_ctr' GROUP BY version ORDER BY version;
SELECT round(value::numeric, 5) AS value FROM mlsys.performance('fb_ctr', '36500 days');
-- a recommender without impressions has no rows
SELECT count(*) AS rows FROM mlsys.performance('fb_chk');

------------------------------------------------------------------------------
-- check: a concept_drift alert when click-through degrades, resolved when
-- it recovers
------------------------------------------------------------------------------
-- nothing to check yet, and no notice: recommenders need no relation
SELECT count(*) AS alerts FROM mlsys.check('fb_chk');
-- the first day: 20 of 40 items clicked (baseline 0.5)
INSERT INTO mlsys.impressions (model, version, user_id, item_ids, scores, shown_at, clicked)
SELECT 'fb_chk', 1, u, ARRAY[1, 2, 3, 4], ARRAY[4, 3, 2, 1], now() - interval '10 days' + u * interval '1 minute', ARRAY[1, 2]
  FROM generate_series(1, 10) u;
-- the last hour: 4 of 40
INSERT INTO mlsys.impressions (model, version, user_id, item_ids, scores, shown_at, clicked)
SELECT 'fb_chk', 1, u, ARRAY[1, 2, 3, 4], ARRAY[4, 3, 2, 1], now() - interval '1 hour', CASE WHEN u <= 4 THEN ARRAY[1] END
  FROM generate_series(1, 10) u;
SELECT kind, feature, metric, value, threshold, severity, detail ->> 'baseline' AS baseline,
       detail ->> 'predictions' AS impressions, detail ->> 'labeled' AS clicked
  FROM mlsys.check('fb_chk');
-- found again: the same alert, updated
SELECT kind, metric, value FROM mlsys.check('fb_chk');
SELECT count(*) AS alerts, count(*) FILTER (WHERE resolved_at IS NULL) AS open,
       count(*) FILTER (WHERE last_seen_at > created_at) AS updated
  FROM mlsys.alerts WHERE model = 'fb_chk';
-- more clicks arrive: 20 more items marked, click-through 0.6, the alert clears
CREATE TABLE fb_chk_clicks AS SELECT u AS user_id, i AS item_id FROM generate_series(1, 10) u, unnest(ARRAY[2, 3]) i;
SELECT mlsys.record_interactions('fb_chk', 'fb_chk_clicks');
SELECT count(*) AS alerts FROM mlsys.check('fb_chk');
SELECT kind, metric, resolved_at IS NOT NULL AS resolved, resolution FROM mlsys.alerts WHERE model = 'fb_chk';
-- every check stored its figure; the overview shows the latest
SELECT metric, value, threshold, drifted, rows FROM mlsys.drift_history
 WHERE model = 'fb_chk' AND feature = '<performance>' ORDER BY id;
SELECT live_metric, live_value, open_alerts FROM mlsys.model_overview WHERE model = 'fb_chk';
-- a relation setting is not used for a recommender: the check says so
SELECT mlsys.configure('fb_chk', '{"relation": "fb_clicks"}') ->> 'relation' AS relation;
SELECT count(*) AS alerts FROM mlsys.check('fb_chk');
-- a recommender with no deployed version cannot be checked
SELECT version, deployed FROM mlsys.train_recommender('fb_undeployed', 'fb_clicks', hyperparams => '{"factors": 2, "iterations": 2}',
                                                      deploy => 'never');
\set SHOW_CONTEXT never
SELECT count(*) FROM mlsys.check('fb_undeployed');
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors

------------------------------------------------------------------------------
-- privileges: readers record interactions (the clicked column only)
------------------------------------------------------------------------------
CREATE ROLE regress_fb_reader LOGIN IN ROLE mlsys_reader;
CREATE TABLE fb_more_clicks AS SELECT 1 AS user_id, 4 AS item_id;
GRANT SELECT ON fb_more_clicks TO regress_fb_reader;
SET ROLE regress_fb_reader;
SELECT mlsys.record_interactions('fb_chk', 'fb_more_clicks');
\set SHOW_CONTEXT never
-- invalid: other columns, inserts and deletes are not the reader's
UPDATE mlsys.impressions SET scores = '{}' WHERE model = 'fb_chk';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO mlsys.impressions (model, version, user_id, item_ids, scores) VALUES ('fb_chk', 1, 1, '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM mlsys.impressions WHERE model = 'fb_chk';
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
RESET ROLE;
DROP TABLE fb_more_clicks;
DROP ROLE regress_fb_reader;

------------------------------------------------------------------------------
-- retention: prune and drop_model delete impressions
------------------------------------------------------------------------------
SELECT model, count(*) AS impressions FROM mlsys.impressions GROUP BY model ORDER BY model;
SELECT count(*) AS pruned_call FROM mlsys.prune('9 days');
SELECT model, count(*) AS impressions FROM mlsys.impressions GROUP BY model ORDER BY model;
SELECT mlsys.drop_model('fb_chk');
SELECT count(*) AS left_of_dropped FROM mlsys.impressions WHERE model = 'fb_chk';

SELECT count(mlsys.drop_model(m.model)) AS dropped FROM mlsys.models m WHERE m.model LIKE 'fb\_%';
SELECT count(*) AS impressions_left FROM mlsys.impressions;
-- drop_model keeps alerts and drift history: later tests count them
DELETE FROM mlsys.alerts WHERE model LIKE 'fb\_%';
DELETE FROM mlsys.drift_history WHERE model LIKE 'fb\_%';
DROP TABLE fb_clicks, fb_lin_data, fb_events, fb_events2, fb_events3, fb_now, fb_chk_clicks;
