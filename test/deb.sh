#!/usr/bin/env bash
# `make deb`: builds postgresql-N-mlsys_<version>_<arch>.deb for each installed
# PostgreSQL major version of debian/pgversions, with Debian's own tooling
# (dpkg-buildpackage, dh --with pgxs, pg_buildext). As root it first installs
# the packaging tools and the build dependencies that are missing.
#
# dpkg-buildpackage writes its results next to the source tree and dh clean
# rewrites files in it, so the build runs on a copy of the sources at
# build/deb/src and the results land in build/deb/ (ignored by git): the
# checkout is left as it was. Prints the paths of the .deb files built.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/build/deb
src=$out/src

log() { printf '\n==> %s\n' "$*"; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# the packaging tools
missing=""
for p in debhelper postgresql-server-dev-all dpkg-dev fakeroot rsync; do
    installed "$p" || missing="$missing $p"
done
apt_updated=""
apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian packages:$* (run as root to install them)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if [ -n "$missing" ]; then
    log "installing Debian packages:$missing"
    apt_install $missing
fi

# the version comes from the extension: the changelog must agree with it
ext_version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$here/mlsys.control")
deb_version=$(cd "$here" && dpkg-parsechangelog -SVersion)
if [ "${deb_version%-*}" != "$ext_version" ]; then
    echo "debian/changelog is at $deb_version but mlsys.control's default_version is $ext_version:" \
        "add a changelog entry for $ext_version-1" >&2
    exit 1
fi

log "copying the sources to $src"
rm -rf "$src"
mkdir -p "$src"
rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.buildinfo "$out"/*.changes
if git -C "$here" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # what git tracks or would track: no build products, whatever the checkout holds
    git -C "$here" ls-files -z --cached --others --exclude-standard |
        rsync -a --from0 --files-from=- --ignore-missing-args "$here/" "$src/"
else
    rsync -a --exclude=/build --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
        --exclude='/mlsys--*.sql' --exclude=/results --exclude=/tmp_check "$here/" "$src/"
fi

cd "$src"
# the PostgreSQL versions to build: installed server headers (debian/rules
# sets the same), intersected with debian/pgversions
export PG_SUPPORTED_VERSIONS=installed PG_UPDATECONTROL=yes
pg_buildext updatecontrol
versions=$(pg_buildext supported-versions | xargs)
log "building the Debian packages for PostgreSQL $versions"

# the build dependencies (a PostgreSQL version's server headers are installed
# already, or it would not be built)
if ! dpkg-checkbuilddeps >/dev/null 2>&1; then
    log "installing the build dependencies"
    [ "$(id -u)" = 0 ] || { dpkg-checkbuilddeps; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
    apt-get build-dep -y -qq --no-install-recommends ./ >/dev/null
fi

DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -b -us -uc -j"$(nproc)" >"$out/build.log" 2>&1 || {
    tail -n 60 "$out/build.log" >&2
    echo "FAILED: dpkg-buildpackage (the whole log: $out/build.log)" >&2
    exit 1
}

log "built (log: $out/build.log)"
status=0
for v in $versions; do
    deb=$(ls "$out"/postgresql-"$v"-mlsys_"$deb_version"_*.deb 2>/dev/null || true)
    if [ -z "$deb" ]; then
        echo "no package for PostgreSQL $v in $out" >&2
        status=1
    else
        echo "$deb"
    fi
done
exit $status
