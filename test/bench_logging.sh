#!/usr/bin/env bash
# Online logging's cost, measured side by side in one run (mlsys preloaded,
# as the test clusters have it):
#   prediction:  pgbench -c 2 -M prepared, SELECT mlsys.predict('m', t) FROM t
#                WHERE id = :id on a 50,000-row table with a primary key;
#                log_sample 0.1 against logging off (alternated pairs,
#                median ratio)                                      >= 0.9 x
#                and log_sample 1.0 against off (reported: the writer
#                competes with the two clients for two cores), with
#                logged + dropped + pending = the calls pgbench reports
#   recommend:   the same for SELECT * FROM mlsys.recommend(:uid, 10)
#                (impressions), 0.1 against off                     >= 0.9 x
#   latency:     one logged prediction until it is visible, median of 9,
#                on an idle machine                   <= 2 x mlsys.log_flush_interval
# MLSYS_BENCH_RUNS (5) pairs of MLSYS_BENCH_SECONDS (8) s each (this machine's speed drifts
# by about 10 % between minutes: the median of per-pair ratios).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
runs=${MLSYS_BENCH_RUNS:-5}
seconds=${MLSYS_BENCH_SECONDS:-8}
bench_start bench-logging 54338

psql_q -c "CREATE EXTENSION mlsys"
psql_q <<'SQL' >/dev/null
CREATE TABLE t AS
SELECT i AS id, (i % 23)::float8 AS logins, (i % 101)::float8 / 7 AS spend,
       CASE i % 3 WHEN 0 THEN 'monthly' WHEN 1 THEN 'yearly' ELSE 'two-year' END AS contract,
       (i % 23) > 11 AS churned
  FROM generate_series(1, 50000) i;
ALTER TABLE t ADD PRIMARY KEY (id);
SELECT version FROM mlsys.train('m', 't', 'churned', ARRAY['logins', 'spend', 'contract'], deploy => 'most_recent');
SELECT mlsys.configure('m', '{"log_entity": "id"}');
SQL
psql_q -v users=5000 -v items=2000 -v clicks=20 -f "$here/test/gen_clicks.sql" >/dev/null
psql_q -c "SELECT version FROM mlsys.train_recommender('shop', 'clicks', deploy => 'most_recent')" >/dev/null

cat >"$work/predict.sql" <<'SQL'
\set id random(1, 50000)
SELECT mlsys.predict('m', t) FROM t WHERE id = :id;
SQL
cat >"$work/recommend.sql" <<'SQL'
\set uid random(1, 5000)
SELECT * FROM mlsys.recommend(:uid, 10, 'shop');
SQL
[ "$(id -u)" = 0 ] && chown postgres: "$work"/*.sql
# pgbench SCRIPT: "tps calls"
run() {
    as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/pgbench" -n -M prepared -c 2 -j 2 -T "$seconds" -f "$1" postgres 2>/dev/null |
        awk '/actually processed/ {n = $NF} /^tps/ {printf "%.0f %d", $3, n; exit}'
}
sample() { psql_q -c "SELECT mlsys.configure('$1', '{\"log_sample\": $2}')" >/dev/null; }
sampled() { psql_q -At -c "SELECT logged + dropped + pending FROM mlsys.logging_stats"; }
settle() { psql_q -At -c "DO \$\$ BEGIN FOR i IN 1..600 LOOP EXIT WHEN (SELECT pending FROM mlsys.logging_stats) = 0; PERFORM pg_sleep(0.1); END LOOP; END \$\$" >/dev/null; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# pairs MODEL SCRIPT RATE: "median_off median_on median_ratio" over alternated pairs
pairs() {
    local i off on offs=() ons=() ratios=()
    for ((i = 0; i < runs; i++)); do
        sample "$1" 0
        off=$(run "$2" | cut -d' ' -f1)
        sample "$1" "$3"
        on=$(run "$2" | cut -d' ' -f1)
        settle
        offs+=("$off") ons+=("$on")
        ratios+=("$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.3f", a / b}')")
    done
    sample "$1" 0
    echo "$(printf '%s\n' "${offs[@]}" | median) $(printf '%s\n' "${ons[@]}" | median) $(printf '%s\n' "${ratios[@]}" | median)"
}

log "prediction: log_sample 0.1 against off"
read -r p_off p_on p_ratio <<<"$(pairs m "$work/predict.sql" 0.1)"
log "prediction: log_sample 1.0 against off"
read -r f_off f_on f_ratio <<<"$(runs=1 pairs m "$work/predict.sql" 1.0)"
# at 1.0 every call is a record: the counters against pgbench's count
sample m 1.0
before=$(sampled)
read -r _ calls <<<"$(run "$work/predict.sql")"
after=$(sampled)
settle
sample m 0
log "recommend: log_sample 0.1 against off"
read -r r_off r_on r_ratio <<<"$(pairs shop "$work/recommend.sql" 0.1)"

log "latency: one logged prediction until visible"
psql_q -c "DELETE FROM mlsys.predictions WHERE model = 'm'"
sample m 1.0
interval_ms=$(psql_q -At -c "SELECT setting FROM pg_settings WHERE name = 'mlsys.log_flush_interval'")
lat=()
for i in 1 2 3 4 5 6 7 8 9; do
    cat >"$work/latency.sql" <<SQL
SELECT mlsys.predict('m', t) FROM t WHERE id = $i \gset
DO \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM mlsys.predictions WHERE model = 'm' AND source = 'online' AND entity_id = '$i');
        PERFORM pg_sleep(0.01);
        EXIT WHEN clock_timestamp() - t0 > interval '30 s';
    END LOOP;
    RAISE NOTICE 'latency %', round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000);
END \$\$;
SQL
    [ "$(id -u)" = 0 ] && chown postgres: "$work/latency.sql"
    lat+=("$(psql_q -At -f "$work/latency.sql" 2>&1 | sed -n 's/.*latency \([0-9]*\).*/\1/p')")
    # the writer leaves when idle: the next call finds none running, as on a quiet server
    sleep 2.5
done
lat_ms=$(printf '%s\n' "${lat[@]}" | median)
sample m 0

echo
echo "mlsys online logging: 50,000-row table with a primary key, pgbench -c 2 -M prepared, ${seconds} s runs; $(nproc) cores, PostgreSQL $(psql_q -At -c 'SHOW server_version'), $(date -u +%Y-%m-%d)"
printf '%-52s %-26s %s\n' "measurement" "value" "baseline / target"
printf '%-52s %-26s %s\n' "prediction, log_sample 0.1: tps" "$p_on ($p_ratio x)" "off $p_off tps; >= 0.9 x"
printf '%-52s %-26s %s\n' "prediction, log_sample 1.0: tps" "$f_on ($f_ratio x)" "off $f_off tps; reported"
printf '%-52s %-26s %s\n' "log_sample 1.0: logged + dropped + pending" "$((after - before))" "pgbench's calls $calls; equal"
printf '%-52s %-26s %s\n' "recommend(:uid, 10), log_sample 0.1: tps" "$r_on ($r_ratio x)" "off $r_off tps; >= 0.9 x"
printf '%-52s %-26s %s\n' "flush latency, median of 9" "$lat_ms ms" "<= 2 x $interval_ms ms"
psql_q -At -c "SELECT 'logging_stats: logged ' || logged || ', dropped ' || dropped || ', pending ' || pending FROM mlsys.logging_stats"
