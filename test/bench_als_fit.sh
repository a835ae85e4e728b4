#!/usr/bin/env bash
# ALS fit time: the exact Cholesky solver against conjugate gradient (the
# implicit default, 3 steps per row) on generated clicks at a shop's scale,
# test/gen_clicks.sql (50,000 users × 20 clicks over 100,000 items with Zipf
# popularity; MLSYS_BENCH_USERS, _ITEMS and _CLICKS change it):
#   fit_seconds of each (the ALS sweeps alone, from the version's metrics),
#   the whole mlsys.train_recommender wall time of each (which also reads,
#   splits and scores the holdout), and precision@10 of both, from one
#   training each with the default 80/20 split;
#   the ratio of fit_seconds: the median over that pair and MLSYS_BENCH_RUNS
#   (default 2) more pairs trained alternately without a holdout, so that
#   drift in the machine's speed (other work on it) affects both sides alike;
#   then, when MovieLens 100k is there (MLSYS_ML100K, default
#   ../shared/datasets/ml-100k, streamed, never copied), precision@10 of both
#   solvers with the default implicit hyperparameters under the per-user
#   75/25 split of test/bench_recommend.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"

users=${MLSYS_BENCH_USERS:-50000}
items=${MLSYS_BENCH_ITEMS:-100000}
clicks=${MLSYS_BENCH_CLICKS:-20}
runs=${MLSYS_BENCH_RUNS:-2}
data=${MLSYS_ML100K:-$here/../shared/datasets/ml-100k}
bench_start bench-als-fit 54337

# the median of numbers, one a line
median() { sort -g | awk '{a[NR] = $1} END {print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# numbers with two decimals, on one line
two() { printf '%.2f ' "$@" | sed 's/ $//'; }
# ms of the last statement of a psql run with \timing on
last_ms() { grep '^Time:' | tail -1 | awk '{print $2}'; }
# metric MODEL KEY [VERSION]: a number from a version's metrics
metric() { psql_q -At -c "SELECT metrics ->> '$2' FROM mlsys.model_versions WHERE model = '$1' AND version = ${3:-1}"; }
# train MODEL RELATION HYPERPARAMS TEST_SIZE: ms of the whole training
train() {
    psql_q -c '\timing on' -c "SELECT version FROM mlsys.train_recommender('$1', '$2', hyperparams => '$3',
        test_size => $4, deploy => 'never')" | last_ms
}

psql_q -c "CREATE EXTENSION mlsys"
log "generating clicks: $users users × $clicks clicks over $items items (test/gen_clicks.sql)"
psql_q -v users="$users" -v items="$items" -v clicks="$clicks" -f - <"$here/test/gen_clicks.sql"
n=$(psql_q -At -c "SELECT count(*) FROM clicks")

log "training: cholesky"
chol_ms=$(train fit_chol clicks '{"solver": "cholesky"}' 0.2)
log "training: cg (the default)"
cg_ms=$(train fit_cg clicks '{}' 0.2)
chol_fit=$(metric fit_chol fit_seconds)
cg_fit=$(metric fit_cg fit_seconds)
chol_p10=$(metric fit_chol precision_at_10)
cg_p10=$(metric fit_cg precision_at_10)
cg_steps=$(psql_q -At -c "SELECT hyperparams ->> 'cg_steps' FROM mlsys.model_versions WHERE model = 'fit_cg'")
chol_fits=("$chol_fit") cg_fits=("$cg_fit")
ratios=("$(awk -v a="$chol_fit" -v b="$cg_fit" 'BEGIN {print a / b}')")
for ((i = 2; i <= runs + 1; i++)); do
    log "fit time, pair $i of $((runs + 1)) (no holdout)"
    train fit_chol clicks '{"solver": "cholesky"}' 0 >/dev/null
    train fit_cg clicks '{}' 0 >/dev/null
    chol_fits+=("$(metric fit_chol fit_seconds "$i")")
    cg_fits+=("$(metric fit_cg fit_seconds "$i")")
    ratios+=("$(awk -v a="${chol_fits[-1]}" -v b="${cg_fits[-1]}" 'BEGIN {print a / b}')")
done

ml=0
if [ -f "$data/u.data" ]; then
    log "MovieLens 100k from $data: both solvers, per-user 75/25 split"
    psql_q -c "CREATE TABLE u_data (user_id int, item_id int, rating int, ts bigint)"
    psql_q -c "\\copy u_data FROM STDIN (DELIMITER E'\\t')" <"$data/u.data"
    train ml_chol u_data '{"solver": "cholesky"}' 0.25 >/dev/null
    train ml_cg u_data '{}' 0.25 >/dev/null
    ml_chol_p10=$(metric ml_chol precision_at_10)
    ml_cg_p10=$(metric ml_cg precision_at_10)
    ml_chol_fit=$(metric ml_chol fit_seconds)
    ml_cg_fit=$(metric ml_cg fit_seconds)
    ml=1
else
    echo "MovieLens 100k not found in $data (set MLSYS_ML100K): skipping the quality check"
fi

echo
echo "mlsys ALS fit benchmark: $n clicks ($users users, $items items), $(nproc) cores, $(date -u +%Y-%m-%d)"
printf '%-56s %-22s %s\n' "measurement" "value" "target / anchor"
printf '%-56s %-22s %s\n' "fit_seconds, cholesky (the 80/20 run)" "$(printf '%.2f s' "$chol_fit")" "runs: $(two "${chol_fits[@]}")"
printf '%-56s %-22s %s\n' "fit_seconds, cg, $cg_steps steps (the 80/20 run)" "$(printf '%.2f s' "$cg_fit")" "runs: $(two "${cg_fits[@]}")"
printf '%-56s %-22s %s\n' "fit_seconds ratio cholesky / cg, median of $((runs + 1)) pairs" \
    "$(printf '%s\n' "${ratios[@]}" | median | awk '{printf "%.2f x", $1}')" ">= 5 x (pairs: $(two "${ratios[@]}"))"
printf '%-56s %-22s %s\n' "train_recommender wall time, cholesky" "$(awk -v t="$chol_ms" 'BEGIN {printf "%.2f s", t / 1000}')" ""
printf '%-56s %-22s %s\n' "train_recommender wall time, cg" "$(awk -v t="$cg_ms" 'BEGIN {printf "%.2f s", t / 1000}')" ""
printf '%-56s %-22s %s\n' "precision@10, cholesky" "$(printf '%.4f' "$chol_p10")" ""
printf '%-56s %-22s %s\n' "precision@10, cg" "$(printf '%.4f' "$cg_p10")" "about cholesky's"
if [ $ml = 1 ]; then
    printf '%-56s %-22s %s\n' "MovieLens 100k precision@10 (75/25), cholesky" "$(printf '%.4f' "$ml_chol_p10")" ">= 0.40"
    printf '%-56s %-22s %s\n' "MovieLens 100k precision@10 (75/25), cg" "$(printf '%.4f' "$ml_cg_p10")" ">= 0.40"
    printf '%-56s %-22s %s\n' "MovieLens 100k fit_seconds, cholesky / cg" \
        "$(printf '%.2f / %.2f s' "$ml_chol_fit" "$ml_cg_fit")" ""
fi
