# Shared shell helpers for setup.sh, run_tests.sh, demo.sh and bench.sh.
# Sourced, not run. Everything that runs the server runs as the `postgres` OS
# user (initdb refuses root); when the caller is not root it runs as itself.

MLSYS_PACKAGES="postgresql-15 postgresql-server-dev-15 libopenblas-serial-dev liblapacke-dev postgresql-15-cron libipc-run-perl make gcc rsync"
# MLSYS_PGBIN points the scripts at another (relocated) PostgreSQL 15
# installation, so several checkouts can be built and tested side by side
PGBIN=${MLSYS_PGBIN:-/usr/lib/postgresql/15/bin}
if [ -n "${MLSYS_PGBIN:-}" ]; then export PG_CONFIG="$MLSYS_PGBIN/pg_config"; fi

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
shared_preload_libraries = 'pg_cron'
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
    as_pg $PGBIN/pg_ctl -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
}

stop_cluster() {
    as_pg $PGBIN/pg_ctl -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}
