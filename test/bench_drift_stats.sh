#!/usr/bin/env bash
# Benchmark of the two-sample drift aggregates (src/drift_stats.c): each one
# over MLSYS_BENCH_ROWS rows (default 1,000,000) against a serial bare scan of
# the same column, both serial (max_parallel_workers_per_gather = 0), on a
# private throwaway cluster. Baseline and aggregate run alternately in one
# session MLSYS_BENCH_RUNS times (default 7); the ratio is the median of the
# per-pair ratios, so drift in the machine's speed affects both sides alike.
#   bash test/bench_drift_stats.sh      (MLSYS_PGBIN / MLSYS_BENCH_PORT as for test/bench.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
install_packages
build_and_install "$here"

rows=${MLSYS_BENCH_ROWS:-1000000}
runs=${MLSYS_BENCH_RUNS:-7}
work=$(mktemp -d /tmp/mlsys-bench-drift.XXXXXX)
trap 'stop_cluster "$work/data"; rm -rf "$work"' EXIT
mkdir -p "$work/data"
[ "$(id -u)" = 0 ] && chown -R postgres: "$work"
port=${MLSYS_BENCH_PORT:-54421}
start_cluster "$work/data" "$port"
export PGHOST="$work/data" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres

psql_q() { as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" psql -X -q -v ON_ERROR_STOP=1 "$@"; }
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

# pair_ms BASE QUERY: BASE and QUERY alternately in one serial session, runs
# times each; prints "median_base median_query median_of_per_pair_ratios"
pair_ms() {
    local base=$1 query=$2 i args=()
    for ((i = 0; i < runs; i++)); do
        args+=(-c "$base" -c "$query")
    done
    psql_q -c "$SERIAL" -c '\timing on' "${args[@]}" | grep '^Time:' | awk '{print $2}' | paste - - |
        awk '{b[NR] = $1; q[NR] = $2; r[NR] = $2 / $1}
             function median(a, n,   i, j, t) {
                 for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
                 return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
             END {printf "%s %s %s\n", median(b, NR), median(q, NR), median(r, NR)}'
}

# warm the cache
psql_q -c "SELECT count(*) FROM dbench" >/dev/null

NUM_SCAN="SELECT sum(v) FROM dbench"
CAT_SCAN="SELECT count(cat) FROM dbench"
results=()
# measure NAME BASE QUERY TARGET
measure() {
    local name=$1 base=$2 query=$3 target=$4 b q r verdict
    read -r b q r <<<"$(pair_ms "$base" "$query")"
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
