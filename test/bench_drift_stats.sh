#!/usr/bin/env bash
# Benchmark of the two-sample drift aggregates (src/drift_*.c): each one
# over MLSYS_BENCH_ROWS rows (default 1,000,000) against a serial bare scan of
# the same column, both serial (max_parallel_workers_per_gather = 0), on a
# private throwaway cluster. Baseline and aggregate run alternately in one
# session MLSYS_BENCH_RUNS times (default 7); the ratio is the median of the
# per-pair ratios, so drift in the machine's speed affects both sides alike.
#   bash test/bench_drift_stats.sh      (MLSYS_PGBIN / MLSYS_BENCH_PORT as for test/bench.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
rows=${MLSYS_BENCH_ROWS:-1000000}
runs=${MLSYS_BENCH_RUNS:-7}
bench_start bench-drift-stats 54333

psql_q -c "CREATE EXTENSION mlsys"
log "generating $rows rows (half reference, half current, the current sample shifted)"
psql_q -v rows="$rows" >/dev/null <<'SQL'
SELECT setseed(0.5);
CREATE TABLE dbench AS
SELECT CASE WHEN c THEN random() * 110 ELSE random() * 100 END AS v, c,
       'category_' || (CASE WHEN c THEN random() * 55 ELSE random() * 50 END)::int AS cat
FROM (SELECT random() < 0.5 AS c FROM generate_series(1, :rows)) s;
VACUUM (FREEZE, ANALYZE) dbench;
SQL

SERIAL="SET max_parallel_workers_per_gather = 0;"


# warm the cache
psql_q -c "SELECT count(*) FROM dbench" >/dev/null

NUM_SCAN="SELECT sum(v) FROM dbench"
CAT_SCAN="SELECT count(cat) FROM dbench"
results=()
# measure NAME BASE QUERY TARGET
measure() {
    local name=$1 base=$2 query=$3 target=$4 b q r verdict
    read -r b q r <<<"$(pair_ms "$SERIAL" "$base" "$query")"
    verdict=$(awk -v r="$r" -v t="$target" 'BEGIN {print (r <= t) ? "met" : "NOT met"}')
    results+=("$(printf '%-34s %9.1f ms %9.1f ms %8.2f x   <= %.1f x  %s' "$name" "$q" "$b" "$r" "$target" "$verdict")")
}
measure "mlsys.psi(v, c)" "$NUM_SCAN" "SELECT mlsys.psi(v, c) FROM dbench" 1.5
measure "mlsys.psi(v, c, 20)" "$NUM_SCAN" "SELECT mlsys.psi(v, c, 20) FROM dbench" 1.5
measure "mlsys.js_distance(cat, c)" "$CAT_SCAN" "SELECT mlsys.js_distance(cat, c) FROM dbench" 1.5
measure "mlsys.chi2_test(cat, c)" "$CAT_SCAN" "SELECT mlsys.chi2_test(cat, c) FROM dbench" 1.5
measure "mlsys.linf_distance(cat, c)" "$CAT_SCAN" "SELECT mlsys.linf_distance(cat, c) FROM dbench" 1.5
measure "mlsys.ks_test(v, c)" "$NUM_SCAN" "SELECT mlsys.ks_test(v, c) FROM dbench" 3.0
measure "mlsys.wasserstein(v, c)" "$NUM_SCAN" "SELECT mlsys.wasserstein(v, c) FROM dbench" 3.0

echo
echo "mlsys drift statistics: $rows rows, serial, median of $runs paired runs, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "(baseline: $NUM_SCAN for float8 aggregates, $CAT_SCAN for text ones)"
printf '%-34s %12s %12s %10s   %-8s\n' "aggregate" "time" "baseline" "ratio" "target"
printf '%s\n' "${results[@]}"
