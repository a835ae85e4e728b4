#!/usr/bin/env bash
# The README's test command (`make test`): set-up, then pg_regress and the TAP
# tests against a private cluster, run as the postgres OS user in a copy of the
# tree that it can write (the checkout itself may not be writable by postgres).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
MLSYS_PACKAGES="$MLSYS_PACKAGES $MLSYS_TEST_PACKAGES"
install_packages
build_and_install "$here"
log "checking the layers of src/"
perl "$here/test/check_layers.pl" "$here/src"

work=$(mktemp -d /tmp/mlsys-test.XXXXXX)
trap 'stop_cluster "$work/data"; rm -rf "$work"' EXIT
rsync -a --exclude .git --exclude /build --exclude '*.o' --exclude '*.so' --exclude '*.bc' "$here/" "$work/src/"
mkdir -p "$work/data"
[ "$(id -u)" = 0 ] && chown -R postgres: "$work"
port=${MLSYS_TEST_PORT:-54329}
log "starting a private cluster on port $port"
start_cluster "$work/data" "$port"

log "running pg_regress and TAP tests"
status=0
as_pg env PGHOST="$work/data" PGPORT="$port" PGUSER=postgres \
    make -C "$work/src" -s installcheck || status=$?
if [ $status -ne 0 ]; then
    [ -f "$work/src/regression.diffs" ] && cat "$work/src/regression.diffs"
    for f in "$work"/src/tmp_check/log/regress_log_*; do
        [ -f "$f" ] && { echo "---- $f"; tail -n 60 "$f"; }
    done
    echo "FAILED: make test" >&2
    exit $status
fi

# the Debian package: built with Debian's tooling, installed with dpkg, then
# CREATE EXTENSION on a clean server (MLSYS_DEB_CHECK=0 skips it, as the
# other distributions' runs do: the native run covers it)
if [ "${MLSYS_DEB_CHECK:-1}" != 0 ]; then
    log "building, installing and checking the Debian package"
    bash "$here/test/deb_check.sh" || status=$?
    [ $status -ne 0 ] && echo "FAILED: the Debian package" >&2
fi
exit $status
