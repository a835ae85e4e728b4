#!/usr/bin/env bash
# Drift benchmark: mlsys.drift over MLSYS_BENCH_ROWS rows (default 1,000,000) x
# 16 float8 feature columns against a serial bare scan summing the same 16
# columns (target: <= 3x), and the baseline capture (one pass, at training)
# against the same scan. Times are medians of MLSYS_BENCH_RUNS runs (default 3)
# run alternately with the scan in one session, as in test/bench.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
rows=${MLSYS_BENCH_ROWS:-1000000}
runs=${MLSYS_BENCH_RUNS:-3}
bench_start bench-drift 54332

cols=$(for k in $(seq 1 16); do printf 'x%d, ' "$k"; done | sed 's/, $//')
sums=$(for k in $(seq 1 16); do printf 'sum(x%d), ' "$k"; done | sed 's/, $//')
gen=$(for k in $(seq 1 16); do printf 'random() * %d AS x%d, ' "$k" "$k"; done | sed 's/, $//')
ycoef=$(for k in $(seq 1 16); do printf ' + 0.1 * %d * x%d' "$k" "$k"; done)

psql_q -c "CREATE EXTENSION mlsys"
log "generating $rows rows x 16 feature columns"
psql_q >/dev/null <<SQL
SELECT setseed(0.2026);
CREATE TABLE ref AS SELECT i AS id, $gen FROM generate_series(1, $rows) i;
ALTER TABLE ref ADD COLUMN y float8;
UPDATE ref SET y = 1.5 $ycoef + random() - 0.5;
VACUUM FULL ref;
-- the current data: the first four columns shifted, the others resampled
CREATE TABLE cur AS SELECT id, x1 + 0.5 AS x1, x2 * 1.5 AS x2, x3 + 1 AS x3, x4 * 0.5 AS x4,
    $(for k in $(seq 5 16); do printf 'random() * %d AS x%d, ' "$k" "$k"; done | sed 's/, $//') FROM ref;
VACUUM ANALYZE ref;
VACUUM ANALYZE cur;
SQL
train_ms=$(psql_q -c '\timing on' -c "SELECT version FROM mlsys.train('bd', 'ref', 'y', ARRAY[$(for k in $(seq 1 16); do printf "'x%d', " "$k"; done | sed 's/, $//')])" | grep '^Time:' | awk '{print $2}')

SERIAL="SET max_parallel_workers_per_gather = 0;"
psql_q -c "SELECT $sums FROM cur" >/dev/null
psql_q -c "SELECT $sums FROM ref" >/dev/null
read -r scan drift drift_ratio <<<"$(pair_ms "$SERIAL" "SELECT $sums FROM cur" "SELECT count(*) FROM mlsys.drift('bd', 'cur')")"
read -r scan_ref capture capture_ratio <<<"$(pair_ms "$SERIAL" "SELECT $sums FROM ref" "SELECT mlsys.capture_baseline('bd', 1) IS NOT NULL")"
flagged=$(psql_q -At -c "SELECT string_agg(feature, ',' ORDER BY feature) FROM mlsys.drift('bd', 'cur') WHERE drifted")

# the dashboard queries over a large prediction log (issue 5: 10 million predictions)
pred_rows=${MLSYS_BENCH_PREDICTIONS:-10000000}
log "logging $pred_rows predictions over 30 days (half of them labelled)"
psql_q >/dev/null <<SQL
INSERT INTO mlsys.prediction_runs (run_id, model, version, relation, rows) VALUES (1, 'bd', 1, 'cur', $pred_rows);
INSERT INTO mlsys.predictions (run_id, model, version, entity_id, prediction, label, predicted_at, labeled_at)
SELECT 1, 'bd', 1, i::text, random() * 10,
       CASE WHEN i % 2 = 0 THEN (random() * 10)::text END,
       now() - (i % (30 * 86400)) * interval '1 second',
       CASE WHEN i % 2 = 0 THEN now() END
  FROM generate_series(1, $pred_rows) i;
VACUUM ANALYZE mlsys.predictions;
SQL
dash_ms() { psql_q -c "$SERIAL" -c '\timing on' -c "$1" -c "$1" -c "$1" | grep '^Time:' | awk '{print $2}' | sort -n | sed -n 2p; }
overview_ms=$(dash_ms "SELECT * FROM mlsys.model_overview WHERE model = 'bd'")
perf_ms=$(dash_ms "SELECT count(*) FROM mlsys.performance('bd', '1 day', now() - interval '7 days')")
stats_day_ms=$(dash_ms "SELECT * FROM mlsys.prediction_stats WHERE model = 'bd' AND day >= date_trunc('day', now() AT TIME ZONE 'UTC')")
stats_all_ms=$(dash_ms "SELECT count(*) FROM mlsys.prediction_stats WHERE model = 'bd'")
# the report: before any check (every day of its 14 from the predictions),
# the first check (which computes the rollup's 30 closed days), a second
# check (nothing to compute), then the report from the rollup and today
report_cold_ms=$(dash_ms "SELECT length(mlsys.report('bd'))")
check_ms() { psql_q -c '\timing on' -c "SELECT count(*) FROM mlsys.check('bd')" 2>/dev/null | grep '^Time:' | awk '{print $2}'; }
check_first_ms=$(check_ms)
check_again_ms=$(check_ms)
report_ms=$(dash_ms "SELECT length(mlsys.report('bd'))")
prune_ms=$(dash_ms "SELECT mlsys.prune('365 days')")
size=$(psql_q -At -c "SELECT pg_column_size(profile) FROM mlsys.baselines WHERE model = 'bd'")

echo
echo "mlsys drift benchmark: $rows rows x 16 float8 columns, median of $runs runs, $(nproc) cores, $(date -u +%Y-%m-%d)"
printf '%-52s %10s  %s\n' "measurement" "time" "ratio (target)"
printf '%-52s %7.1f ms  %s\n' "bare scan summing 16 columns, serial (baseline)" "$scan" "1.00"
printf '%-52s %7.1f ms  %.2f x scan (<= 3)\n' "mlsys.drift (16 features + prediction)" "$drift" "$drift_ratio"
printf '%-52s %7.1f ms  %.2f x scan\n' "mlsys.capture_baseline (16 features, prediction, target)" "$capture" "$capture_ratio"
printf '%-52s %7.1f ms\n' "mlsys.train incl. baseline capture" "$train_ms"
echo "features flagged as drifted: $flagged"
echo "stored baseline size: $size bytes"
printf '%-52s %s\n' "dashboards over $pred_rows logged predictions" "(median of 3)"
printf '%-52s %7.1f ms\n' "mlsys.model_overview for one model" "$overview_ms"
printf '%-52s %7.1f ms\n' "mlsys.performance, last 7 days by day" "$perf_ms"
printf '%-52s %7.1f ms\n' "mlsys.prediction_stats, today" "$stats_day_ms"
printf '%-52s %7.1f ms\n' "mlsys.prediction_stats, all 30 days" "$stats_all_ms"
printf '%-52s %7.1f ms\n' "mlsys.report, no rollup yet (14 days of predictions)" "$report_cold_ms"
printf '%-52s %7.1f ms\n' "mlsys.check, first (computes 30 rollup days)" "$check_first_ms"
printf '%-52s %7.1f ms\n' "mlsys.check, again (rollup up to date)" "$check_again_ms"
printf '%-52s %7.1f ms  (target < 2000)\n' "mlsys.report, rollup + today's predictions" "$report_ms"
printf '%-52s %7.1f ms\n' "mlsys.prune (nothing to prune)" "$prune_ms"
