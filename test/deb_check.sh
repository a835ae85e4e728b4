#!/usr/bin/env bash
# The Debian package's test (as root): builds postgresql-N-mlsys with
# test/deb.sh (`make deb`), installs it with dpkg -i, and on a clean throwaway
# cluster of each version built (initdb in a temporary folder, nothing preloaded:
# pg_cron is optional) checks that CREATE EXTENSION mlsys works, \dx shows the
# package's version, a model trains and predicts, and the training mapped the
# serial OpenBLAS through the packaged mlsys_blas module.
#
# The package is left installed: it owns the same files as `make install`
# (/usr/lib/postgresql/N/lib/mlsys*.so, /usr/share/postgresql/N/extension/mlsys*),
# so `dpkg -r` would delete an installation that `make install` had made. A
# later `make install` simply overwrites the package's files (dpkg --verify
# then reports them changed); `dpkg -r postgresql-N-mlsys` removes it by hand.
#
# Prints "deb_check: N passed, N failed" last; exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"   # as_pg, log
if [ "$(id -u)" != 0 ]; then
    echo "test/deb_check.sh installs a package: run it as root" >&2
    exit 1
fi
t0=$(date +%s)

bash "$here/test/deb.sh"

version=$(cd "$here" && dpkg-parsechangelog -SVersion)
ext_version=${version%-*}
shopt -s nullglob
debs=("$here"/build/deb/postgresql-*-mlsys_"$version"_*.deb)
shopt -u nullglob
[ ${#debs[@]} -gt 0 ] || { echo "test/deb.sh built no package" >&2; exit 1; }

passed=0 failed=0
check() {   # check DESCRIPTION COMMAND...: runs COMMAND, counts and reports it
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok - $what"
    else
        failed=$((failed + 1))
        echo "not ok - $what"
    fi
}

work=$(mktemp -d /tmp/mlsys-deb.XXXXXX)
pgbin=""
cleanup() {
    [ -n "$pgbin" ] && as_pg "$pgbin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
chown postgres: "$work"
port=${MLSYS_DEB_TEST_PORT:-54331}

for deb in "${debs[@]}"; do
    pkg=$(dpkg-deb -f "$deb" Package)
    pgv=${pkg#postgresql-}
    pgv=${pgv%-mlsys}
    pgbin=/usr/lib/postgresql/$pgv/bin
    log "PostgreSQL $pgv: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

    check "$pkg ships the library, the BLAS module and the scripts" bash -c '
        files=$(dpkg-deb -c "$1" | awk "{print \$6}")
        for f in lib/mlsys.so lib/mlsys_blas.so extension/mlsys.control \
                 extension/mlsys--$2.sql; do
            grep -q "^\./usr/.*/$3/$f\$" <<<"$files" || { echo "missing: $f" >&2; exit 1; }
        done' _ "$deb" "$ext_version" "$pgv"

    # dpkg -i stops on missing dependencies (a build machine needs no server):
    # apt then installs them and configures the package
    install_deb() {
        { dpkg -i "$deb" ||
            DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq --no-install-recommends
        } >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; return 1; }
        dpkg-query -W -f='${Status} ${Version}\n' "$pkg" | grep -qx "install ok installed $version"
    }
    check "dpkg -i $pkg" install_deb
    check "dpkg --verify $pkg" dpkg --verify "$pkg"

    # a clean cluster: nothing preloaded, socket only
    rm -rf "$work/data"
    as_pg "$pgbin/initdb" -D "$work/data" -U postgres --auth=trust --no-sync >/dev/null
    cat >>"$work/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$work/data'
fsync = off
CONF
    as_pg "$pgbin/pg_ctl" -D "$work/data" -l "$work/data/server.log" -w -t 60 start >/dev/null
    psql_t() {
        as_pg "$pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$work/data" -p "$port" -U postgres -d postgres "$@"
    }

    check "CREATE EXTENSION mlsys" psql_t -c 'CREATE EXTENSION mlsys'
    dx_shows_version() { psql_t -c '\dx mlsys' | grep -q "^mlsys|$ext_version|mlsys|"; }
    check "\\dx shows mlsys $ext_version" dx_shows_version
    # price = 3 area + 10 rooms + id % 7 exactly, so the regression predicts
    # about 333 for area 100, rooms 3; the classifier (Newton steps on BLAS
    # and LAPACK) must have mapped the serial OpenBLAS through the packaged
    # mlsys_blas module in this very backend, and never the pthread build
    train_predict() {
        local out
        out=$(psql_t <<'SQL'
CREATE TABLE houses AS
SELECT i AS id, (50 + i % 200)::float8 AS area, 1 + i % 5 AS rooms,
       (3 * (50 + i % 200) + 10 * (1 + i % 5) + i % 7)::float8 AS price
FROM generate_series(1, 2000) i;
SELECT algorithm FROM mlsys.train('house_price', 'houses', 'price', ARRAY['area', 'rooms']);
SELECT round(mlsys.predict('house_price', '{"area": 100, "rooms": 3}'::jsonb)::numeric, 1);
CREATE TABLE customers AS
SELECT i AS id, (i % 100)::float8 AS logins, (i * 7919) % 100 < i % 100 AS churned
FROM generate_series(1, 2000) i;
SELECT algorithm FROM mlsys.train('churn', 'customers', 'churned', ARRAY['logins']);
SELECT mlsys.predict_label('churn', '{"logins": 90}'::jsonb)::text || ' '
    || mlsys.predict_label('churn', '{"logins": 10}'::jsonb)::text;
SELECT string_agg(DISTINCT substring(l FROM '/\S*(?:mlsys_blas|openblas)\S*'), ' ')
FROM regexp_split_to_table(pg_read_file('/proc/self/maps'), E'\n') l;
SQL
        ) || return 1
        echo "$out" | sed 's/^/    /'
        awk -v lib="/usr/lib/postgresql/$pgv/lib/mlsys_blas.so" '
            NR == 1 { ok = $1 == "linear" }
            NR == 2 { ok = ok && $1 > 330 && $1 < 336 }
            NR == 3 { ok = ok && $1 == "logistic" }
            NR == 4 { ok = ok && $0 == "true false" }
            NR == 5 { ok = ok && index($0, lib) && $0 ~ /openblas-serial\// && $0 !~ /pthread/ }
            END { exit !(ok && NR == 5) }' <<<"$out"
    }
    check "train and predict on the packaged mlsys (serial OpenBLAS)" train_predict

    as_pg "$pgbin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null
done

log "the package test took $(($(date +%s) - t0)) s"
echo "deb_check: $passed passed, $failed failed"
[ "$failed" = 0 ]
