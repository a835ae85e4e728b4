#!/usr/bin/env bash
# The README's first command (`make demo`): set-up, a private cluster, the demo.
# The demo (test/demo.sql) runs in the database `postgres`, the one named by
# cron.database_name, so that its last step really schedules with pg_cron.
# The cluster is left running afterwards so you can look around. A failing
# step stops the demo (psql ON_ERROR_STOP) with a non-zero exit status.
set -euo pipefail
start=$(date +%s.%N)
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
install_packages
build_and_install "$here"

dir=${MLSYS_DEMO_DIR:-/var/tmp/mlsys-demo}
port=${MLSYS_DEMO_PORT:-54320}
stop_cluster "$dir/data"
rm -rf "$dir"
mkdir -p "$dir/data"
cp "$here/test/demo.sql" "$dir/"
[ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
log "starting a private cluster in $dir/data on port $port"
start_cluster "$dir/data" "$port"

log "running the demo (test/demo.sql) in database postgres"
demo_start=$(date +%s.%N)
status=0
as_pg $PGBIN/psql -X -P pager=off -v ON_ERROR_STOP=1 -h "$dir/data" -p "$port" -U postgres -d postgres \
    -f "$dir/demo.sql" || status=$?
end=$(date +%s.%N)
if [ $status -ne 0 ]; then
    echo "FAILED: the demo stopped with psql exit status $status (the cluster is still running in $dir/data)" >&2
    exit $status
fi
# the model's life on one page: mlsys.report's HTML next to the data directory
report="$dir/churn-report.html"
as_pg $PGBIN/psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$dir/data" -p "$port" -U postgres -d postgres \
    -c "SELECT mlsys.report('churn')" -o "$report"
log "the churn model's report: $report (open it in a browser)"
printf '\nDemo finished: %.1f s for the demo SQL, %.1f s in all (set-up, build, cluster start, demo).\n' \
    "$(awk "BEGIN{print $end - $demo_start}")" \
    "$(awk "BEGIN{print $end - $start}")"

cat <<TXT

The demo cluster is still running. Connect with:
    psql -h $dir/data -p $port -U postgres postgres
(tables items, users, clicks, customers, churn_outcomes; try SELECT * FROM mlsys.model_overview;)
Stop it with:
    runuser -u postgres -- $PGBIN/pg_ctl -D $dir/data stop
TXT
