#!/usr/bin/env bash
# The README's first command (`make demo`): set-up, a private cluster, the demo.
# The cluster is left running afterwards so you can look around.
set -euo pipefail
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
as_pg $PGBIN/psql -X -q -h "$dir/data" -p "$port" -U postgres -d postgres -c "CREATE DATABASE shop" -c "\c shop" -c "CREATE EXTENSION mlsys"
as_pg $PGBIN/psql -X -q -e -h "$dir/data" -p "$port" -U postgres -d shop -f "$dir/demo.sql"

cat <<TXT

The demo cluster is still running. Connect with:
    psql -h $dir/data -p $port -U postgres shop
Stop it with:
    runuser -u postgres -- $PGBIN/pg_ctl -D $dir/data stop
TXT
