-- The mlsys demo (`make demo`, and test/t/006_demo.pl in `make test`): the
-- shop's case study told end to end in nine steps, in the database named
-- by cron.database_name (pg_cron can only live there, and step 8 schedules
-- with it). The data are generated deterministically (setseed); the story's
-- outcomes are not staged: each one is checked with pg_temp.demo_assert, which
-- raises an error (and stops psql, ON_ERROR_STOP) when it does not hold.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset footer off
\pset null '∅'
SET client_min_messages = warning;
SELECT extract(epoch FROM clock_timestamp()) AS demo_t0 \gset
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS mlsys;
-- the story's facts are checked, not assumed: a failed check stops the demo
CREATE FUNCTION pg_temp.demo_assert(ok bool, fact text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'demo check failed: %', fact;
    END IF;
    RETURN 'checked: ' || fact;
END $$;
-- the sizes (the story's outcomes are asserted at any size of this order)
\set n_items 1000
\set n_users 10000
\set n_customers 100000
\set n_trial 15000
\set n_regular 5000
\timing on
\set ECHO queries

\echo
\echo '================================================================================'
\echo '1. An online shop in PostgreSQL'
\echo '   1,000 items in four departments (the latent tastes), 10,000 users who each'
\echo '   favour one department, 250,000 clicks; and 100,000 customers with the numeric,'
\echo '   boolean and categorical facts a churn model needs (login_frequency = logins'
\echo '   in the last 14 days). Generated, deterministic (setseed).'
\echo '================================================================================'
SELECT setseed(0.42);
CREATE TABLE items AS
SELECT i AS item_id,
       (ARRAY['books', 'games', 'garden', 'kitchen'])[1 + (i - 1) % 4] AS department,
       (ARRAY['books', 'games', 'garden', 'kitchen'])[1 + (i - 1) % 4] || ' #' || (i - 1) / 4 + 1 AS name
FROM generate_series(1, :n_items) i;
CREATE TABLE users AS
SELECT u AS user_id, 1 + floor(random() * 4)::int AS taste     -- favourite department, 1..4
FROM generate_series(1, :n_users) u;
-- 25 clicks per user: 80% in the favourite department, popular items more often
CREATE TABLE clicks AS
SELECT user_id, dept + 4 * floor(:n_items / 4 * random() ^ 2)::int AS item_id
FROM (SELECT u.user_id, CASE WHEN random() < 0.8 THEN u.taste ELSE 1 + floor(random() * 4)::int END AS dept
      FROM users u, generate_series(1, 25) n) s;
CREATE TABLE customers AS
SELECT id AS customer_id,
       now() - (30 + random() * 700) * interval '1 day' AS signed_up_at,
       CASE WHEN r1 < 0.5 THEN 'basic' WHEN r1 < 0.85 THEN 'plus' ELSE 'premium' END AS plan,
       (ARRAY['north', 'south', 'east', 'west'])[1 + floor(random() * 4)::int] AS region,
       random() < 0.4 AS newsletter,
       1 + floor(random() * 24)::int AS tenure_months,
       greatest(0, round(20 * engagement + 3 * (random() - 0.5)))::int AS login_frequency,
       floor(random() * (1 + 3 * engagement))::int AS orders_14d,
       floor(random() * random() * 6)::int AS support_tickets,
       NULL::bool AS churned
FROM (SELECT id, random() AS r1, random() AS engagement FROM generate_series(1, :n_customers) id) s;
-- who churned: few logins, support tickets, the basic plan; newsletter readers stay
UPDATE customers SET churned = random() < 1 / (1 + exp(-(
    1.5 - 0.3 * login_frequency + 0.45 * support_tickets - 0.02 * tenure_months - 0.1 * orders_14d
    + CASE plan WHEN 'basic' THEN 0.5 WHEN 'premium' THEN -0.7 ELSE 0 END - 0.3 * newsletter::int)));
ANALYZE items, users, clicks, customers;
SELECT (SELECT count(*) FROM items) AS items, (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM clicks) AS clicks, (SELECT count(*) FROM customers) AS customers,
       (SELECT round(avg(churned::int), 3) FROM customers) AS churn_rate,
       (SELECT round(avg(login_frequency), 1) FROM customers) AS mean_logins_14d;

\echo
\echo '================================================================================'
\echo '2. Recommendations: implicit-feedback ALS trained inside the database'
\echo '   mlsys.recommend serves a user from the model cache; recommend_for_items folds'
\echo '   an anonymous basket into a user vector on the fly. The favourite department'
\echo '   of each user (the hidden taste) should dominate their list.'
\echo '================================================================================'
SELECT model, version, algorithm, deployed,
       round((metrics->>'precision_at_10')::numeric, 3) AS precision_at_10,
       round((metrics->>'ndcg_at_10')::numeric, 3) AS ndcg_at_10,
       metrics->>'evaluated_users' AS evaluated_users
FROM mlsys.train_recommender('shop', 'clicks', hyperparams => '{"factors": 16}');
SELECT user_id, (ARRAY['books', 'games', 'garden', 'kitchen'])[taste] AS favourite
FROM users WHERE user_id IN (1, 2);
SELECT r.item_id, i.name, round(r.score::numeric, 3) AS score FROM mlsys.recommend(1) r JOIN items i USING (item_id);
SELECT r.item_id, i.name, round(r.score::numeric, 3) AS score FROM mlsys.recommend(2, 5) r JOIN items i USING (item_id);
-- an anonymous visitor put two garden items and a kitchen item in the basket
SELECT r.item_id, i.name, round(r.score::numeric, 3) AS score
FROM mlsys.recommend_for_items(ARRAY[3, 7, 4]::bigint[], 5) r JOIN items i USING (item_id);
SELECT pg_temp.demo_assert(count(*) = 10, 'recommend(1) returns 10 items') FROM mlsys.recommend(1);
SELECT pg_temp.demo_assert(avg((i.department = (ARRAY['books', 'games', 'garden', 'kitchen'])[u.taste])::int) > 0.7,
                           'over 70% of the top 10 of users 1..200 are in their favourite department')
FROM users u, mlsys.recommend(u.user_id) r JOIN items i USING (item_id) WHERE u.user_id <= 200;

\echo
\echo '================================================================================'
\echo '3. A churn classifier: logistic regression on numeric, boolean and categorical'
\echo '   columns (plan and region are one-hot encoded inside the model), a content-'
\echo '   hashed 25% holdout, metrics and a baseline profile stored with the version.'
\echo '================================================================================'
SELECT model, version, algorithm, deployed,
       round((metrics->>'auc')::numeric, 4) AS auc, round((metrics->>'accuracy')::numeric, 4) AS accuracy,
       round((metrics->>'log_loss')::numeric, 4) AS log_loss
FROM mlsys.train('churn', 'customers', 'churned',
                 ARRAY['login_frequency', 'tenure_months', 'orders_14d', 'support_tickets',
                       'newsletter', 'plan', 'region']);
SELECT ordinal, feature, round(coefficient::numeric, 4) AS coefficient FROM mlsys.features('churn');

\echo
\echo '================================================================================'
\echo '4. Batch scoring: every customer into mlsys.predictions (one run id per call)'
\echo '================================================================================'
SELECT mlsys.predict_batch('churn', 'customers', 'customer_id') AS scored;
SELECT entity_id AS customer_id, predicted_label, round(probability::numeric, 3) AS churn_probability
FROM mlsys.predictions WHERE model = 'churn' ORDER BY probability DESC, id LIMIT 5;

\echo
\echo '================================================================================'
\echo '5. The marketing campaign: a 14-day free trial'
\echo '   15,000 trial users sign up and log in 40+ times in their first 14 days (data'
\echo '   drift on login_frequency), next to 5,000 ordinary sign-ups. Whether a trial user'
\echo '   stays depends on buying during the trial, not on logging in (concept drift).'
\echo '   They are scored at sign-up; 14 days later the outcomes arrive as feedback.'
\echo '================================================================================'
INSERT INTO customers
SELECT id, now() - random() * interval '14 days', 'trial',
       (ARRAY['north', 'south', 'east', 'west'])[1 + floor(random() * 4)::int],
       random() < 0.4, 0, 40 + floor(random() * 41)::int, floor(random() * 5)::int,
       floor(random() * random() * 3)::int, NULL
FROM generate_series(:n_customers + 1, :n_customers + :n_trial) id;
INSERT INTO customers
SELECT id, now() - random() * interval '14 days',
       CASE WHEN r1 < 0.5 THEN 'basic' WHEN r1 < 0.85 THEN 'plus' ELSE 'premium' END,
       (ARRAY['north', 'south', 'east', 'west'])[1 + floor(random() * 4)::int],
       random() < 0.4, 0, greatest(0, round(20 * engagement + 3 * (random() - 0.5)))::int,
       floor(random() * (1 + 3 * engagement))::int, floor(random() * random() * 6)::int, NULL
FROM (SELECT id, random() AS r1, random() AS engagement FROM generate_series(:n_customers + :n_trial + 1, :n_customers + :n_trial + :n_regular) id) s;
ANALYZE customers;
CREATE VIEW new_signups AS
SELECT * FROM customers WHERE signed_up_at >= now() - interval '14 days';
SELECT plan = 'trial' AS trial, count(*), round(avg(login_frequency), 1) AS mean_logins_14d
FROM new_signups GROUP BY 1 ORDER BY 1;
SELECT mlsys.predict_batch('churn', 'new_signups', 'customer_id') AS scored;
-- the champion thinks the busy trial users are safe
SELECT plan = 'trial' AS trial, round(avg(p.probability)::numeric, 3) AS mean_predicted_churn
FROM mlsys.predictions p JOIN customers c ON c.customer_id = p.entity_id::bigint
WHERE p.model = 'churn' AND p.run_id = (SELECT max(run_id) FROM mlsys.prediction_runs WHERE model = 'churn')
GROUP BY 1 ORDER BY 1;
-- ... 14 days later: who actually left. Trial users who bought stay; those who
-- only browsed (many logins, no order) leave; ordinary sign-ups behave as before.
CREATE TABLE churn_outcomes AS
SELECT customer_id, random() < 1 / (1 + exp(-CASE WHEN plan = 'trial'
           THEN 1.6 - 1.3 * orders_14d + 0.03 * (login_frequency - 40)
           ELSE 1.5 - 0.3 * login_frequency + 0.45 * support_tickets - 0.1 * orders_14d
                + CASE plan WHEN 'basic' THEN 0.5 WHEN 'premium' THEN -0.7 ELSE 0 END - 0.3 * newsletter::int END)) AS churned
FROM customers WHERE churned IS NULL ORDER BY customer_id;
SELECT mlsys.record_outcomes('churn', 'churn_outcomes', 'customer_id', 'churned') AS labeled_predictions;
UPDATE customers c SET churned = o.churned FROM churn_outcomes o WHERE o.customer_id = c.customer_id;
SELECT c.plan = 'trial' AS trial, round(avg(o.churned::int), 3) AS actual_churn
FROM churn_outcomes o JOIN customers c USING (customer_id) GROUP BY 1 ORDER BY 1;

\echo
\echo '================================================================================'
\echo '6. Monitoring: mlsys.check compares the last 14 days of sign-ups with the'
\echo '   training baseline (PSI, KS, JS) and the labelled predictions with the holdout'
\echo '   AUC. Each condition found opens one row of mlsys.alerts (later checks update'
\echo '   it) and a NOTIFY mlsys_alerts, which this session LISTENs to (psql prints'
\echo '   "Asynchronous notification").'
\echo '================================================================================'
SELECT mlsys.configure('churn', '{"relation": "customers", "time_column": "signed_up_at", "window": "14 days"}');
SELECT feature, kind, rows, round(psi::numeric, 3) AS psi, round(ks::numeric, 3) AS ks,
       round(js::numeric, 3) AS js, metric, drifted
FROM mlsys.drift('churn', 'new_signups');
SELECT bucket_start::date, version, predictions, labeled, metric,
       round(value::numeric, 4) AS live_value, round(baseline::numeric, 4) AS holdout_value, degraded
FROM mlsys.performance('churn', '14 days', now() - interval '14 days');
LISTEN mlsys_alerts;
SELECT id, kind, feature, metric, round(value::numeric, 4) AS value, round(threshold::numeric, 4) AS threshold
FROM mlsys.check('churn');
SELECT pg_temp.demo_assert(EXISTS (SELECT FROM mlsys.alerts WHERE model = 'churn' AND kind = 'data_drift'
                                   AND feature = 'login_frequency' AND metric = 'psi' AND value >= threshold),
                           'the check raised a data_drift alert on login_frequency (PSI over its threshold)');
SELECT pg_temp.demo_assert(EXISTS (SELECT FROM mlsys.alerts WHERE model = 'churn' AND kind = 'concept_drift'
                                   AND metric = 'auc' AND value < threshold),
                           'the check raised a concept_drift alert: the live AUC fell below the limit');
UNLISTEN mlsys_alerts;

\echo
\echo '================================================================================'
\echo '7. Retrain: a challenger with the same spec on the current customers table.'
\echo '   Champion and challenger are scored on the same fresh holdout; the challenger'
\echo '   is deployed only if it is better by more than 1%. The dashboard views follow.'
\echo '================================================================================'
SELECT version, decision, deployed, round((metrics->>'auc')::numeric, 4) AS challenger_auc,
       round((champion_metrics->>'fresh_auc')::numeric, 4) AS champion_fresh_auc
FROM mlsys.retrain('churn');
SELECT champion_version, challenger_version, metric, holdout_rows, decision, reason
FROM mlsys.retrain_decisions WHERE model = 'churn' ORDER BY id;
SELECT pg_temp.demo_assert(decision = 'deployed' AND challenger_score > champion_score * 1.01,
                           'the challenger beat the champion on the fresh holdout and was deployed')
FROM mlsys.retrain_decisions WHERE model = 'churn' ORDER BY id DESC LIMIT 1;
-- what the challenger learned about the trial
SELECT feature, round(coefficient::numeric, 4) AS coefficient FROM mlsys.features('churn')
WHERE feature ~ '^(login_frequency|orders_14d|plan)';
-- the new champion re-scores the campaign cohort: the browsing trial users are at risk now
SELECT mlsys.predict_batch('churn', 'new_signups', 'customer_id') AS rescored;
SELECT plan = 'trial' AS trial, p.version, round(avg(p.probability)::numeric, 3) AS mean_predicted_churn,
       round(avg(c.churned::int), 3) AS actual_churn
FROM mlsys.predictions p JOIN customers c ON c.customer_id = p.entity_id::bigint
WHERE p.model = 'churn' AND p.run_id = (SELECT max(run_id) FROM mlsys.prediction_runs WHERE model = 'churn')
GROUP BY 1, 2 ORDER BY 1;
SELECT pg_temp.demo_assert(avg(p.probability) > 0.3, 'the new champion sees the trial users'' churn risk')
FROM mlsys.predictions p JOIN customers c ON c.customer_id = p.entity_id::bigint
WHERE p.model = 'churn' AND c.plan = 'trial' AND p.run_id = (SELECT max(run_id) FROM mlsys.prediction_runs WHERE model = 'churn');
-- the deployment resolved the alerts of the version it replaced
SELECT kind, feature, resolution FROM mlsys.alerts WHERE model = 'churn' ORDER BY id;
SELECT pg_temp.demo_assert(NOT EXISTS (SELECT FROM mlsys.alerts WHERE model = 'churn' AND resolved_at IS NULL),
                           'the new champion''s deployment resolved the old version''s alerts');
\x on
SELECT model, task, deployed_version, algorithm, train_rows, holdout_metrics->>'auc' AS holdout_auc,
       last_check_at, open_alerts, live_metric, live_value FROM mlsys.model_overview ORDER BY model;
\x off
SELECT model, version, day::date, predictions, round(mean_prediction::numeric, 3) AS mean_prediction,
       round(positive_rate, 3) AS positive_rate, labeled, live_metric, round(live_value::numeric, 3) AS live_value
FROM mlsys.prediction_stats ORDER BY model, version, day;

\echo
\echo '================================================================================'
\echo '8. Close the loop: every night at 03:00, pg_cron runs the check and retrains'
\echo '   only when it raised an alert (retrain_if_drifted).'
\echo '================================================================================'
SELECT mlsys.schedule('churn', '0 3 * * *', 'retrain_if_drifted') AS jobid;
SELECT jobid, model, action, schedule, active, command FROM mlsys.schedules();
SELECT pg_temp.demo_assert(EXISTS (SELECT FROM cron.job WHERE jobname = 'mlsys:churn:retrain_if_drifted'
                                   AND schedule = '0 3 * * *' AND active),
                           'pg_cron holds the nightly job');

\echo
\echo '================================================================================'
\echo '9. Live traffic, logged. The shop app asks mlsys.recommend for each visitor and'
\echo '   the sign-up form scores each new customer with mlsys.predict_proba. A sample'
\echo '   of those calls goes through shared memory to background writers (mlsys is in'
\echo '   shared_preload_libraries): impressions for the recommender, predictions with'
\echo '   their features for the churn model. Clicks on what was shown close the loop:'
\echo '   click-through is the recommender''s live metric, and the clicks are new data.'
\echo '================================================================================'
SELECT mlsys.configure('shop', '{"log_sample": 1}') AS shop_logging;
SELECT mlsys.configure('churn', '{"log_sample": 0.5, "log_entity": "customer_id"}') AS churn_logging;
-- 1,000 visits (one request each in real life), and the sign-up form for the new customers
SELECT count(*) AS items_shown FROM users u, mlsys.recommend(u.user_id) r WHERE u.user_id <= 1000;
SELECT count(mlsys.predict_proba('churn', c)) AS scored_live FROM new_signups c;
-- the writers store what was sampled within a second or two
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN (SELECT pending FROM mlsys.logging_stats) = 0
              AND (SELECT count(*) FROM mlsys.impressions WHERE model = 'shop') >= 1000;
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT logged, dropped, pending FROM mlsys.logging_stats;
SELECT source, count(*) AS rows, count(entity_id) AS with_entity FROM mlsys.predictions
WHERE model = 'churn' GROUP BY source ORDER BY source;
-- live sign-ups against the training baseline, straight from the logged features
SELECT feature, rows, metric, round(value::numeric, 3) AS value, threshold, drifted
FROM mlsys.drift('churn') ORDER BY drifted DESC, feature;
-- each visitor clicks some of the items shown from their favourite department
CREATE TABLE shop_clicks_live AS
SELECT i.user_id, x.item_id, i.shown_at + interval '2 minutes' AS clicked_at
FROM mlsys.impressions i CROSS JOIN LATERAL unnest(i.item_ids) x(item_id)
JOIN items it ON it.item_id = x.item_id JOIN users u ON u.user_id = i.user_id
WHERE i.model = 'shop' AND it.department = (ARRAY['books', 'games', 'garden', 'kitchen'])[u.taste]
  AND random() < 0.3;
SELECT mlsys.record_interactions('shop', 'shop_clicks_live', time_column => 'clicked_at') AS clicked_items;
SELECT version, predictions AS impressions, labeled AS clicks, metric, round(value::numeric, 3) AS click_through
FROM mlsys.performance('shop');
SELECT pg_temp.demo_assert(count(*) = 1000 AND bool_and(cardinality(item_ids) = 10),
                           'every recommendation call was logged as an impression of 10 items')
FROM mlsys.impressions WHERE model = 'shop';
SELECT pg_temp.demo_assert(value > 0.1, 'visitors clicked over 10% of the items shown')
FROM mlsys.performance('shop') WHERE metric = 'ctr';
-- the clicks are training data: the recommender retrains on the history plus them
INSERT INTO clicks (user_id, item_id) SELECT user_id, item_id FROM shop_clicks_live;
SELECT version, decision, deployed FROM mlsys.retrain('shop');
SELECT mlsys.configure('shop', '{"log_sample": 0}') AS shop_logging,
       mlsys.configure('churn', '{"log_sample": 0}') AS churn_logging;

\set ECHO none
\timing off
\echo
SELECT round((extract(epoch FROM clock_timestamp()) - :demo_t0)::numeric, 1) AS demo_seconds \gset
\echo 'The demo SQL ran in' :demo_seconds 's.'
