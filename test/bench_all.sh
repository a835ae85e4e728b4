#!/usr/bin/env bash
# `make bench`: every benchmark, one after the other (each starts its own
# private cluster), each printing its figures next to their baselines and
# targets. About 33 minutes on a 2-core machine.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
status=0
for b in bench.sh bench_categorical.sh bench_recommend.sh bench_recommend_scale.sh bench_als_fit.sh bench_drift.sh bench_drift_stats.sh bench_trees.sh bench_logging.sh; do
    echo
    echo "################ test/$b"
    bash "$here/test/$b" || status=$?
done
exit $status
