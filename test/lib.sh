# Shared shell helpers for setup.sh, run_tests.sh, demo.sh and bench.sh.
# Sourced, not run. Everything that runs the server runs as the `postgres` OS
# user (initdb refuses root); when the caller is not root it runs as itself.

# The PostgreSQL major version: MLSYS_PG_VERSION, else the one the
# distribution ships (Debian 12: 15, Debian 13: 17, testing and sid: 18).
if [ -z "${MLSYS_PG_VERSION:-}" ]; then
    case "$( (. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}") )" in
        bookworm) MLSYS_PG_VERSION=15 ;;
        trixie) MLSYS_PG_VERSION=17 ;;
        *) MLSYS_PG_VERSION=18 ;;
    esac
fi
case "$MLSYS_PG_VERSION" in
    15 | 17 | 18) ;;
    *) echo "mlsys supports PostgreSQL 15, 17 and 18, not MLSYS_PG_VERSION=$MLSYS_PG_VERSION" >&2; exit 1 ;;
esac
export MLSYS_PG_VERSION
V=$MLSYS_PG_VERSION
MLSYS_PACKAGES="postgresql-$V postgresql-server-dev-$V libopenblas-serial-dev liblapacke-dev postgresql-$V-cron libipc-run-perl make gcc rsync binutils"
# the test suite also renders mlsys.report in a browser (test/run_tests.sh adds it)
MLSYS_TEST_PACKAGES="chromium"
# MLSYS_PGBIN points the scripts at another (relocated) installation of that
# version, so several checkouts can be built and tested side by side
PGBIN=${MLSYS_PGBIN:-/usr/lib/postgresql/$V/bin}
export PG_CONFIG="$PGBIN/pg_config"

log() { printf '\n==> %s\n' "$*"; }

# run a command as the postgres OS user (or as ourselves when not root)
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# install the Debian packages that are missing (needs root)
install_packages() {
    local missing=""
    for p in $MLSYS_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "missing Debian packages:$missing (run as root to install them)" >&2
            return 1
        fi
        log "installing Debian packages:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
}

# build and install the extension from the source tree $1
build_and_install() {
    log "building and installing mlsys"
    make -C "$1" -s all
    make -C "$1" -s install
}

# start_cluster DATADIR PORT: a private throwaway cluster, socket in DATADIR
start_cluster() {
    local dir=$1 port=$2
    if [ ! -s "$dir/PG_VERSION" ]; then
        as_pg $PGBIN/initdb -D "$dir" -U postgres --auth=trust --no-sync >/dev/null
        cat >>"$dir/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_cron,mlsys'
cron.database_name = 'postgres'
cron.use_background_workers = on
fsync = off
synchronous_commit = off
max_worker_processes = 16
max_parallel_workers = 8
max_parallel_workers_per_gather = 2
shared_buffers = 512MB
maintenance_work_mem = 256MB
work_mem = 64MB
CONF
    fi
    # a data directory made before online logging: preload mlsys too (the last line wins)
    if ! grep -q "^shared_preload_libraries = 'pg_cron,mlsys'" "$dir/postgresql.conf"; then
        echo "shared_preload_libraries = 'pg_cron,mlsys'" >>"$dir/postgresql.conf"
    fi
    as_pg $PGBIN/pg_ctl -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
}

stop_cluster() {
    as_pg $PGBIN/pg_ctl -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------
# Benchmarks (test/bench*.sh)
# ---------------------------------------------------------------------------

# bench_start NAME DEFAULT_PORT: set-up, then a private cluster in a new
# temporary directory $work (stopped and removed at exit), the PG* variables
# exported for it. MLSYS_BENCH_PORT overrides the port.
bench_start() {
    install_packages
    build_and_install "$here"
    work=$(mktemp -d "/tmp/mlsys-$1.XXXXXX")
    trap 'stop_cluster "$work/data"; rm -rf "$work"' EXIT
    mkdir -p "$work/data"
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$work"; fi
    port=${MLSYS_BENCH_PORT:-$2}
    start_cluster "$work/data" "$port"
    export PGHOST="$work/data" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
}

# psql on the benchmark cluster, quiet, stopping at the first error
psql_q() { as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# pair_ms SETUP BASE QUERY: run BASE and QUERY alternately in one session,
# $runs times each; prints "median_base median_query median_of_per_pair_ratios",
# so that drift in the machine's speed affects both sides alike
pair_ms() {
    local setup=$1 base=$2 query=$3 i args=()
    for ((i = 0; i < runs; i++)); do
        args+=(-c "$base" -c "$query")
    done
    psql_q -c "$setup" -c '\timing on' "${args[@]}" | grep '^Time:' | awk '{print $2}' | paste - - |
        awk '{b[NR] = $1; q[NR] = $2; r[NR] = $2 / $1}
             function median(a, n,   i, j, t) {
                 for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
                 return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
             END {printf "%s %s %s\n", median(b, NR), median(q, NR), median(r, NR)}'
}
