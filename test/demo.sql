-- The mlsys demo (make demo): train, register, deploy and score models
-- without leaving PostgreSQL. Later issues grow this into the whole story
-- (recommendations, churn, drift, retraining on a schedule).
\set ON_ERROR_STOP 1
\pset footer off
\timing on
\echo
\echo '== 1. An online shop keeps its orders in PostgreSQL: 200,000 generated baskets'
\echo '      (basket value depends on items, minutes on site, a coupon and the customer age)'
SELECT setseed(0.7);
CREATE TABLE orders AS
SELECT i AS order_id, items, minutes, coupon, age,
       round((12 + 8.5 * items + 0.9 * minutes - 6 * coupon::int + 0.05 * age
              + (random() - 0.5) * 10)::numeric, 2) AS basket_value
FROM (SELECT i, 1 + (random() * 9)::int AS items, (random() * 40)::real AS minutes,
             random() < 0.3 AS coupon, 18 + (random() * 60)::int AS age
      FROM generate_series(1, 200000) i) s;

\echo
\echo '== 2. Train a linear model on the table: content-hashed 25% holdout, metrics, registry'
SELECT * FROM mlsys.train('basket_value', 'orders', 'basket_value',
                          ARRAY['items', 'minutes', 'coupon', 'age']);

\echo
\echo '== 3. What the registry keeps about the version'
\x on
SELECT model, version, algorithm, relation, target, features, train_rows, test_rows,
       round(training_seconds::numeric, 3) AS training_seconds, data_fingerprint, metrics
FROM mlsys.model_versions WHERE model = 'basket_value';
\x off

\echo
\echo '== 4. Score in real time: a row, a JSON document from an application, a vector'
SELECT order_id, basket_value, round(mlsys.predict('basket_value', o)::numeric, 2) AS predicted
FROM orders o ORDER BY order_id LIMIT 5;
SELECT round(mlsys.predict('basket_value',
       '{"items": 3, "minutes": 12.5, "coupon": true, "age": 41}'::jsonb)::numeric, 2) AS predicted;
SELECT round(mlsys.predict('basket_value', ARRAY[3, 12.5, 1, 41]::float8[])::numeric, 2) AS predicted;

\echo
\echo '== 5. A ridge challenger: deployed only if its holdout RMSE is strictly better'
SELECT * FROM mlsys.train('basket_value', 'orders', 'basket_value',
                          ARRAY['items', 'minutes', 'coupon', 'age'], 'ridge', '{"alpha": 1e6}');
SELECT mlsys.live_version('basket_value') AS live_version;

\echo
\echo '== 6. Batch scoring into mlsys.predictions (one run id per call) for dashboards'
SELECT mlsys.predict_batch('basket_value', 'orders', 'order_id') AS scored;
SELECT run_id, model, version, rows, finished_at - started_at AS took FROM mlsys.prediction_runs;
SELECT entity_id, round(prediction::numeric, 2) AS prediction, predicted_at::date
FROM mlsys.predictions ORDER BY id LIMIT 3;

\echo
\echo '== 7. Deploy the challenger by hand, then roll back'
SELECT mlsys.deploy('basket_value', 2);
SELECT round(mlsys.predict('basket_value', ARRAY[3, 12.5, 1, 41]::float8[])::numeric, 2) AS with_v2;
SELECT mlsys.rollback('basket_value') AS live_again;
SELECT id, version, reason, deployed_by FROM mlsys.deployments ORDER BY id;

\echo
\echo '== 8. The training pass is an ordinary parallel aggregate you can call yourself'
SELECT mlsys.linreg_agg(basket_value::float8, ARRAY[items, minutes, coupon::int, age]::float8[])
       AS intercept_then_coefficients
FROM orders;

\echo
\echo '== 9. A churn classifier on the same machinery: logistic regression, standardized inside the model'
SELECT setseed(0.8);
CREATE TABLE customers AS
SELECT i AS customer_id, login_frequency, tenure_months, on_discount,
       random() < 1 / (1 + exp(-(1.0 - 0.35 * login_frequency + 0.02 * tenure_months + 0.8 * on_discount::int))) AS churned
FROM (SELECT i, (random() * 12)::int AS login_frequency, (random() * 48)::int AS tenure_months,
             random() < 0.3 AS on_discount
      FROM generate_series(1, 50000) i) s;
SELECT model, version, algorithm, metrics->>'auc' AS auc, metrics->>'accuracy' AS accuracy,
       metrics->>'iterations' AS newton_passes, deployed
FROM mlsys.train('churn', 'customers', 'churned', ARRAY['login_frequency', 'tenure_months', 'on_discount']);
SELECT * FROM mlsys.features('churn');
SELECT mlsys.classes('churn') AS classes,
       mlsys.predict_proba('churn', '{"login_frequency": 1, "tenure_months": 3, "on_discount": true}'::jsonb) AS at_risk,
       mlsys.predict_proba('churn', '{"login_frequency": 10, "tenure_months": 40, "on_discount": false}'::jsonb) AS loyal;
SELECT mlsys.classification_report(mlsys.predict_label('churn', c), c.churned::text) -> 'true' AS churners
FROM customers c;
