#!/usr/bin/env bash
# test/chroot.sh -- `make test` inside a fresh Debian trixie (PostgreSQL 17) or
# sid (PostgreSQL 18) system, made with debootstrap from Debian's archive.
#
# Owns:
#  - the cached base systems, /var/cache/mlsys/chroot/SUITE.tar.zst: a
#    `debootstrap --variant=minbase` result plus the apt, dpkg and
#    postgresql-common set-up of configure_base below; rebuilt when older than
#    7 days or when it cannot be unpacked;
#  - the throwaway root of each run: a fresh copy of that base under /var/tmp,
#    removed at exit;
#  - that root's mounts (/proc, /dev, /dev/pts, /dev/shm), always unmounted at
#    exit, on failure and on interrupt too, before anything is removed.
# What runs inside is the repo's own `make test` (test/run_tests.sh), which
# installs its Debian packages itself; it is told the PostgreSQL major by
# MLSYS_PG_VERSION.
#
# Usage: bash test/chroot.sh SUITE [PG_MAJOR] [--shell-cmd CMD]
#   SUITE            trixie or sid (needs root)
#   PG_MAJOR         the PostgreSQL major to test; else $MLSYS_PG_VERSION, else
#                    the suite's default (what its `postgresql` package depends on)
#   --shell-cmd CMD  run `bash -c CMD` in /build/mlsys instead of `make test`
#                    (or set MLSYS_CHROOT_CMD); MLSYS_PG_VERSION is set for it
# Environment: MLSYS_DEBIAN_MIRROR (http://deb.debian.org/debian),
#   MLSYS_DEBIAN_SECURITY_MIRROR (http://deb.debian.org/debian-security),
#   MLSYS_CHROOT_CACHE (/var/cache/mlsys/chroot), MLSYS_CHROOT_MAX_AGE_DAYS (7),
#   MLSYS_CHROOT_TMP (/var/tmp). MLSYS_TEST_PORT is passed on into the chroot;
#   MLSYS_DEB_CHECK=0 is set there (the native run checks the Debian package).
# Exit status: the command's (make test's); 2 on a usage error; 1 when the
# chroot could not be set up, or its mounts could not be removed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
mirror=${MLSYS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${MLSYS_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
cache_dir=${MLSYS_CHROOT_CACHE:-/var/cache/mlsys/chroot}
max_age_days=${MLSYS_CHROOT_MAX_AGE_DAYS:-7}
tmp_parent=${MLSYS_CHROOT_TMP:-/var/tmp}
# the base system's packages besides minbase: what `make test` runs before
# test/lib.sh has installed its own (make runs it; perl runs
# test/check_layers.pl and, with its prove, the TAP tests)
base_packages=make,perl
chroot_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

usage() { sed -n '/^# Usage:/,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "chroot.sh: $*" >&2; exit 1; }

# ---- arguments ---------------------------------------------------------------
suite="" pg=${MLSYS_PG_VERSION:-} cmd=${MLSYS_CHROOT_CMD:-}
while [ $# -gt 0 ]; do
    case $1 in
        --shell-cmd) [ $# -ge 2 ] || usage; cmd=$2; shift 2 ;;
        --shell-cmd=*) cmd=${1#*=}; shift ;;
        -h | --help) usage ;;
        -*) usage ;;
        *)
            if [ -z "$suite" ]; then suite=$1
            elif [[ $1 =~ ^[0-9]+$ ]]; then pg=$1
            else usage
            fi
            shift ;;
    esac
done
[[ $suite =~ ^[a-z][a-z0-9-]*$ ]] || usage
[ -z "$pg" ] || [[ $pg =~ ^[0-9]+$ ]] || die "MLSYS_PG_VERSION must be a major version number, not '$pg'"
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mount)"
cache=$cache_dir/$suite.tar.zst

# ---- phases and their durations ------------------------------------------------
phase_names=() phase_secs=() phase_name="" phase_start=0
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
phase_end() {
    [ -n "$phase_name" ] || return 0
    local took=$((SECONDS - phase_start))
    phase_names+=("$phase_name") phase_secs+=("$took")
    printf '==== chroot %s: %s took %s\n' "$suite" "$phase_name" "$(fmt_secs "$took")"
    phase_name=""
}
phase() {
    phase_end
    phase_name=$1 phase_start=$SECONDS
    printf '\n==== chroot %s: %s\n' "$suite" "$1"
}
summary() {
    [ ${#phase_names[@]} -gt 0 ] || return 0
    local i
    printf '\n==== chroot %s (PostgreSQL %s): durations\n' "$suite" "${pg:-?}"
    for i in "${!phase_names[@]}"; do
        printf '  %-40s %7s\n' "${phase_names[$i]}" "$(fmt_secs "${phase_secs[$i]}")"
    done
    printf '  %-40s %7s\n' total "$(fmt_secs "$SECONDS")"
}

# ---- a root directory's processes, mounts and removal ---------------------------
# the ids of the processes whose root is the directory $1 (all started by us)
procs_in() {
    local p
    for p in /proc/[0-9]*; do
        if [ "$(readlink "$p/root" 2>/dev/null)" = "$1" ]; then printf '%s ' "${p#/proc/}"; fi
    done
    return 0
}
# the mount points at or below the directory $1, deepest first
mounts_under() {
    findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1' | sort -r
}
# unmount everything below $1, lazily when busy; fails when something is left
unmount_all() {
    local m
    for m in $(mounts_under "$1"); do
        umount "$m" 2>/dev/null || umount -l "$m" || true
    done
    m=$(mounts_under "$1")
    [ -z "$m" ] || { echo "chroot.sh: still mounted: $m" >&2; return 1; }
}
# stop what still runs in $1, unmount its file systems, then remove it; never
# removes through a mount (--one-file-system, and only after findmnt shows none)
release_root() {
    local dir=$1 pids i
    [ -d "$dir" ] || return 0
    pids=$(procs_in "$dir")
    if [ -n "$pids" ]; then
        echo "stopping processes still running in $dir: $pids"
        kill -TERM $pids 2>/dev/null || true
        for i in $(seq 50); do
            [ -n "$(procs_in "$dir")" ] || break
            sleep 0.1
        done
        pids=$(procs_in "$dir")
        if [ -n "$pids" ]; then kill -KILL $pids 2>/dev/null || true; sleep 0.5; fi
    fi
    if ! unmount_all "$dir"; then
        echo "chroot.sh: NOT removing $dir, which still has mounts" >&2
        return 1
    fi
    rm -rf --one-file-system "$dir"
}

# what an earlier run that was killed outright (no clean-up) left: build and
# root directories of this suite that no live run holds the lock of. Called
# with the suite's lock held, so no run is setting up meanwhile.
sweep_stale() {
    local d
    for d in "$cache_dir/.build-$suite".* "$tmp_parent/mlsys-chroot-$suite".*; do
        [ -d "$d" ] || continue
        flock -n "$d" true || continue    # a run in progress holds its root's lock
        echo "removing what a killed run left behind: $d"
        release_root "$d" || true
    done
}

root="" building="" tmp_tar=""
on_exit() {
    local status=$? ok=1
    set +e
    trap - EXIT INT TERM HUP
    trap '' PIPE    # output to a reader that went away must not stop the clean-up
    if [ -n "$root$building" ]; then phase "clean up"; fi
    [ -z "$tmp_tar" ] || rm -f "$tmp_tar"
    [ -z "$building" ] || release_root "$building" || ok=0
    [ -z "$root" ] || release_root "$root" || ok=0
    phase_end
    summary
    if [ $ok = 0 ] && [ $status = 0 ]; then status=1; fi
    exit $status
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# ---- the base system ---------------------------------------------------------------
# apt, dpkg and postgresql-common set-up of a new base system in $1
configure_base() {
    local r=$1
    case $suite in
        sid | unstable)
            echo "deb $mirror $suite main" >"$r/etc/apt/sources.list"
            # sid's Release files may outlive their Valid-Until on a mirror
            echo 'Acquire::Check-Valid-Until "false";' >"$r/etc/apt/apt.conf.d/90mlsys-sid" ;;
        *)
            printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
                "$mirror" "$suite" "$mirror" "$suite" "$security_mirror" "$suite" \
                >"$r/etc/apt/sources.list" ;;
    esac
    cat >"$r/etc/apt/apt.conf.d/90mlsys" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::Retries "3";
EOF
    # no documentation, manual pages or translations: fewer files to unpack
    cat >"$r/etc/dpkg/dpkg.cfg.d/90mlsys-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
EOF
    # postgresql-common starts nothing and creates no cluster: the tests make their own
    printf '#!/bin/sh\n# mlsys test chroot: start no services\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
    chmod 755 "$r/usr/sbin/policy-rc.d"
    mkdir -p "$r/etc/postgresql-common"
    echo 'create_main_cluster = false' >"$r/etc/postgresql-common/createcluster.conf"
    # no downloaded packages or package lists in the cache: each run fetches fresh lists
    find "$r/var/cache/apt" "$r/var/lib/apt/lists" -type f -delete
    rm -f "$r/etc/resolv.conf"
}

# debootstrap a new base system and replace the cached one with it
build_base() {
    local log=$cache_dir/$suite.debootstrap.log script=()
    # a suite newer than the host's debootstrap is made like sid
    [ -e "/usr/share/debootstrap/scripts/$suite" ] || script=(/usr/share/debootstrap/scripts/sid)
    building=$(mktemp -d "$cache_dir/.build-$suite.XXXXXX")
    echo "debootstrap --variant=minbase --include=$base_packages $suite from $mirror (log: $log)"
    if ! debootstrap --variant=minbase --include="$base_packages" --components=main \
        "$suite" "$building" "$mirror" "${script[@]}" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        if [ -f "$building/debootstrap/debootstrap.log" ]; then
            tail -n 30 "$building/debootstrap/debootstrap.log" >&2
        fi
        die "debootstrap of $suite failed"
    fi
    unmount_all "$building"
    configure_base "$building"
    chmod 755 "$building"    # the archive's "." becomes the chroot's /
    tmp_tar=$cache.tmp.$$
    tar --zstd --numeric-owner --xattrs --xattrs-include='*' -C "$building" -cpf "$tmp_tar" .
    mv -f "$tmp_tar" "$cache"
    tmp_tar=""
    release_root "$building"
    building=""
    echo "cached $cache ($(du -h "$cache" | cut -f1))"
}

# a fresh copy of the cached base in a new temporary directory $root, locked
# (fd 8) for as long as this run lives so that sweep_stale leaves it alone
unpack() {
    root=$(mktemp -d "$tmp_parent/mlsys-chroot-$suite.XXXXXX")
    exec 8<"$root"
    flock -n 8
    tar --zstd --numeric-owner --xattrs --xattrs-include='*' -C "$root" -xpf "$cache" &&
        chmod 755 "$root"    # the chroot's /: every user of it must get in
}

# run "$@" in the chroot with a clean environment and no standard input
in_chroot() {
    chroot "$root" /usr/bin/env -i PATH="$chroot_path" HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@" </dev/null 8<&- 9>&-
}

# ---- the phases --------------------------------------------------------------
phase "host: debootstrap and zstd"
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v zstd >/dev/null || need+=(zstd)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing on the host: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
fi
echo "debootstrap $(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo '?')"

phase "base system"
mkdir -p "$cache_dir"
exec 9>"$cache_dir/$suite.lock"    # one builder of a suite's base at a time
flock 9
sweep_stale
if [ ! -s "$cache" ]; then
    echo "no $cache yet"
    build_base
elif [ -n "$(find "$cache" -mmin +$((max_age_days * 24 * 60)))" ]; then
    echo "the cached base system is older than $max_age_days days"
    build_base
else
    echo "using $cache of $(date -u -r "$cache" '+%F %R UTC') ($(du -h "$cache" | cut -f1))"
fi

phase "unpack a fresh root"
if ! unpack; then
    echo "cannot unpack $cache: building it anew"
    release_root "$root"
    root=""
    build_base
    unpack
fi
exec 9>&-
echo "root: $root ($(du -sh "$root" | cut -f1))"

phase "mount /proc, /dev, /dev/pts, /dev/shm"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
# private at once, so that what is mounted below it never reaches the host's /dev
mount --make-private "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount --make-private "$root/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"    # POSIX shared memory
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
findmnt -rn -o TARGET,FSTYPE | awk -v d="$root" 'index($1, d "/") == 1'

phase "apt-get update"
in_chroot apt-get update -qq
if [ -z "$pg" ]; then
    pg=$(in_chroot apt-cache depends postgresql | sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n 1)
    [ -n "$pg" ] || die "cannot tell the default PostgreSQL of $suite"
fi
in_chroot apt-cache show "postgresql-$pg" >/dev/null 2>&1 || die "$suite has no postgresql-$pg"
echo "PostgreSQL $pg ($(in_chroot apt-cache policy "postgresql-$pg" | sed -n 's/^ *Candidate: //p'))"

phase "copy the work tree to /build/mlsys"
mkdir -p "$root/build/mlsys"
tar -C "$here" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
    --exclude=results --exclude=tmp_check --anchored --exclude=./build -cf - . |
    tar -C "$root/build/mlsys" --no-same-owner -xf -
echo "$(du -sh "$root/build/mlsys" | cut -f1) copied"

# the Debian package is built and checked by the native run only
run_env=(PATH="$chroot_path" HOME=/root LANG=C.UTF-8 MLSYS_PG_VERSION="$pg" CI=true
    DEBIAN_FRONTEND=noninteractive MLSYS_DEB_CHECK=0)
[ -z "${MLSYS_TEST_PORT:-}" ] || run_env+=(MLSYS_TEST_PORT="$MLSYS_TEST_PORT")
label=${cmd:+--shell-cmd}
label=${label:-make test}
phase "$label (PostgreSQL $pg)"
# in the background, so that a signal to this script runs its clean-up at once
# (which stops what still runs inside) instead of after the command
status=0
chroot "$root" /usr/bin/env -i "${run_env[@]}" bash -c "cd /build/mlsys || exit 1
${cmd:-make test}" </dev/null 8<&- &
wait $! || status=$?
printf '==== chroot %s: %s exited %d\n' "$suite" "$label" "$status"
exit $status
