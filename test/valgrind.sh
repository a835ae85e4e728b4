#!/usr/bin/env bash
# `make valgrind`: run the regression tests against a server running under
# valgrind memcheck and fail on any report whose stack passes through mlsys.so,
# or on a backend terminated by a signal. Takes about 17 minutes; MLSYS_VALGRIND_TESTS
# (regression test names) runs some only.
# (AddressSanitizer is not an option here: a non-instrumented postgres with
# libasan preloaded deadlocks at start-up on Debian 12.)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
MLSYS_PACKAGES="$MLSYS_PACKAGES valgrind"
install_packages
build_and_install "$here"

work=$(mktemp -d /tmp/mlsys-valgrind.XXXXXX)
port=${MLSYS_VALGRIND_PORT:-54332}
cleanup() {
    as_pg $PGBIN/pg_ctl -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
rsync -a --exclude .git --exclude '*.o' --exclude '*.so' --exclude '*.bc' "$here/" "$work/src/"
mkdir -p "$work/data" "$work/vg"
[ "$(id -u)" = 0 ] && chown -R postgres: "$work"
as_pg $PGBIN/initdb -D "$work/data" -U postgres --auth=trust --no-sync >/dev/null
cat >>"$work/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$work/data'
fsync = off
shared_preload_libraries = 'pg_cron,mlsys'
cron.database_name = 'postgres'
cron.use_background_workers = on
CONF
as_pg bash -c "valgrind --quiet --trace-children=yes --error-limit=no --log-file='$work/vg/%p.log' \
    $PGBIN/postgres -D '$work/data' >'$work/data/server.log' 2>&1 &"
for _ in $(seq 1 120); do
    as_pg $PGBIN/pg_isready -q -h "$work/data" -p "$port" && break
    sleep 1
done
status=0
# MLSYS_VALGRIND_TESTS="a b" runs only those regression tests
as_pg env PGHOST="$work/data" PGPORT="$port" PGUSER=postgres \
    make -C "$work/src" -s installcheck TAP_TESTS= ${MLSYS_VALGRIND_TESTS:+REGRESS="$MLSYS_VALGRIND_TESTS"} || status=$?
if [ $status -ne 0 ] && [ -f "$work/src/regression.diffs" ]; then
    cat "$work/src/regression.diffs"
fi
if grep -q "terminated by signal" "$work/data/server.log"; then
    grep "terminated by signal" "$work/data/server.log" >&2
    status=1
fi
# a report counts when its stack passes through our module
reports=$(awk '/^==[0-9]+== [A-Z]/ {block = $0; next} /^==[0-9]+==    (at|by) / {block = block "\n" $0; next}
               /^==[0-9]+== *$/ {if (block ~ /mlsys\.so/) print block "\n"; block = ""}
               END {if (block ~ /mlsys\.so/) print block}' "$work"/vg/*.log)
if [ -n "$reports" ]; then
    echo "valgrind reports in mlsys.so:" >&2
    echo "$reports" >&2
    status=1
fi
[ $status -eq 0 ] && echo "valgrind: no memcheck reports in mlsys.so, no crashed backends" || echo "FAILED: make valgrind" >&2
exit $status
