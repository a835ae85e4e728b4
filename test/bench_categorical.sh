#!/usr/bin/env bash
# Categorical training speed (part of `make bench`): 1M rows of 2 numeric and
# 8 text columns (2 to 5 categories each), trained serially, against a bare
# scan that reads the same columns, and against numeric-only training of the
# same table, each pair measured alternately in one session.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
rows=${MLSYS_BENCH_ROWS:-1000000}
runs=${MLSYS_BENCH_RUNS:-5}
bench_start bench-categorical 54334
psql_q -c "CREATE EXTENSION mlsys"
log "generating $rows rows x (2 numeric + 8 categorical)"
psql_q -v rows="$rows" <<'SQL' >/dev/null
SELECT setseed(0.42);
CREATE TABLE cat AS
SELECT g AS id, n1, n2,
       (ARRAY['a', 'b'])[1 + h1 % 2] AS c1,
       (ARRAY['x', 'y', 'z'])[1 + h2 % 3] AS c2,
       (ARRAY['p', 'q', 'r', 's'])[1 + h3 % 4] AS c3,
       (ARRAY['k1', 'k2', 'k3', 'k4', 'k5'])[1 + h4 % 5] AS c4,
       (ARRAY['yes', 'no'])[1 + h5 % 2] AS c5,
       (ARRAY['m', 'n', 'o'])[1 + h6 % 3] AS c6,
       (ARRAY['north', 'south', 'east', 'west'])[1 + h7 % 4] AS c7,
       (ARRAY['v1', 'v2', 'v3', 'v4', 'v5'])[1 + h8 % 5] AS c8,
       n1 * 2 + (h1 % 2) * 1.5 - (h4 % 5) * 0.3 + (h7 % 4) * 0.7 + random() AS y,
       (n1 + (h1 % 2) - (h4 % 5) * 0.4 + (h7 % 4) * 0.5 + random() * 2 > 1.5)::int AS label
FROM (SELECT g, random() * 3 AS n1, random() * 10 AS n2,
             (random() * 1000)::int h1, (random() * 1000)::int h2, (random() * 1000)::int h3,
             (random() * 1000)::int h4, (random() * 1000)::int h5, (random() * 1000)::int h6,
             (random() * 1000)::int h7, (random() * 1000)::int h8
        FROM generate_series(1, :rows) g) s;
VACUUM ANALYZE cat;
SQL
psql_q -c "SELECT count(*) FROM cat" >/dev/null

SERIAL="SET max_parallel_workers_per_gather = 0; SET mlsys.capture_baseline = off;"
PARALLEL="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; SET mlsys.capture_baseline = off;"
NOPAR="SET max_parallel_workers_per_gather = 0;"
TWO="SET max_parallel_workers_per_gather = 2;"
SCAN="SELECT count(*), sum(n1), sum(n2), count(c1), count(c2), count(c3), count(c4), count(c5), count(c6), count(c7), count(c8) FROM cat"
CATS="'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'"
LIN="SELECT * FROM mlsys.train('cat_linear', 'cat', 'y', ARRAY['n1', $CATS], deploy => 'never')"
LIN_NUM="SELECT * FROM mlsys.train('num_linear', 'cat', 'y', ARRAY['n1'], deploy => 'never')"
LOG="SELECT * FROM mlsys.train('cat_logistic', 'cat', 'label', ARRAY['n1', 'n2', $CATS], 'logistic', deploy => 'never')"
LOG_NUM="SELECT * FROM mlsys.train('num_logistic', 'cat', 'label', ARRAY['n1', 'n2'], 'logistic', deploy => 'never')"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
fmt2() { awk -v a="$1" 'BEGIN {printf "%.2f", a}'; }
report() { printf '%-48s %9.1f ms  %-28s %s\n' "$1" "$2" "$3" "$4"; }

read -r scan lin lin_ratio <<<"$(pair_ms "$SERIAL" "$SCAN" "$LIN")"
read -r _ log_ms log_ratio <<<"$(pair_ms "$SERIAL" "$SCAN" "$LOG")"
read -r lin_num _ lin_num_ratio <<<"$(pair_ms "$SERIAL" "$LIN_NUM" "$LIN")"
read -r log_num _ log_num_ratio <<<"$(pair_ms "$SERIAL" "$LOG_NUM" "$LOG")"
read -r _ lin_cap lin_cap_ratio <<<"$(pair_ms "$SERIAL" "$SCAN" "SET mlsys.capture_baseline = on; $LIN; SET mlsys.capture_baseline = off")"
read -r _ log_cap log_cap_ratio <<<"$(pair_ms "$SERIAL" "$SCAN" "SET mlsys.capture_baseline = on; $LOG; SET mlsys.capture_baseline = off")"
read -r _ scan_par scan_par_ratio <<<"$(pair_ms "$PARALLEL" "$NOPAR $SCAN" "$TWO $SCAN")"
read -r _ lin_par lin_par_ratio <<<"$(pair_ms "$PARALLEL" "$NOPAR $LIN" "$TWO $LIN")"
read -r _ log_par log_par_ratio <<<"$(pair_ms "$PARALLEL" "$NOPAR $LOG" "$TWO $LOG")"
need=$(awk -v r="$scan_par_ratio" 'BEGIN {printf "%.2f", 0.9 / r}')

echo
echo "categorical training, $rows rows, $(nproc) cores, PostgreSQL $(psql_q -At -c 'SHOW server_version')"
echo "(ratios are medians of per-pair ratios: baseline and query run alternately in one session)"
printf '%-48s %12s  %-28s %s\n' "measurement" "time" "ratio" "target"
report "bare scan of the same columns, serial" "$scan" "(baseline)" ""
report "bare scan, 2 workers" "$scan_par" "$(ratio 1 "$scan_par_ratio")x faster" "(reference)"
report "linear, 1 numeric + 8 categorical, serial" "$lin" "$(fmt2 "$lin_ratio") x scan" "<= 6 x scan"
report "linear, numeric column only, serial" "$lin_num" "categorical $(fmt2 "$lin_num_ratio") x this" "<= 2.5 x"
report "linear + baseline, serial" "$lin_cap" "$(fmt2 "$lin_cap_ratio") x scan" "(reference)"
report "linear, 2 workers" "$lin_par" "$(ratio 1 "$lin_par_ratio")x faster than serial" ">= 0.9 x the scan's = ${need}x"
report "logistic, 2 numeric + 8 categorical, serial" "$log_ms" "$(fmt2 "$log_ratio") x scan" "<= 15 x scan"
report "logistic, numeric columns only, serial" "$log_num" "categorical $(fmt2 "$log_num_ratio") x this" "<= 2.0 x"
report "logistic + baseline, serial" "$log_cap" "$(fmt2 "$log_cap_ratio") x scan" "(reference)"
report "logistic, 2 workers" "$log_par" "$(ratio 1 "$log_par_ratio")x faster than serial" ">= 0.9 x the scan's = ${need}x"
