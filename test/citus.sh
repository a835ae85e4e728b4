#!/usr/bin/env bash
# test/citus.sh -- build and install Citus from a source tree against the
# PostgreSQL that test/lib.sh selects, for test/t/013_citus.pl.
#
# Citus is not packaged in Debian, so the Citus test runs only where this
# helper (or an equivalent build) has installed it. The helper installs the
# Debian packages Citus's configure and build need (only when run as root, and
# only here: `make test` itself never installs them), then runs configure,
# make and make install in a throwaway copy of the tree.
#
# Usage: MLSYS_CITUS_SRC=/path/to/citus bash test/citus.sh
#   MLSYS_CITUS_SRC  a Citus source tree (a git checkout or release tarball):
#                    Citus 12.1 for PostgreSQL 14-16, 13.x for 15-17
#   MLSYS_PG_VERSION the PostgreSQL major (see test/lib.sh)
# Exit status: 0 when Citus is installed, 1 on a failure, 2 on a usage error.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"

src=${MLSYS_CITUS_SRC:-}
if [ -z "$src" ] || [ ! -f "$src/configure" ]; then
    echo "citus.sh: set MLSYS_CITUS_SRC to a Citus source tree (one with a configure script)" >&2
    exit 2
fi

# what Citus's configure and build need besides PostgreSQL's server headers:
# the libraries PostgreSQL itself was configured with (pg_config's LIBS),
# Citus's optional compression libraries and libcurl, and the build tools
MLSYS_PACKAGES="$MLSYS_PACKAGES autoconf flex bison git libcurl4-openssl-dev
    liblz4-dev libzstd-dev libkrb5-dev libselinux1-dev libxslt1-dev
    libxml2-dev libpam0g-dev libssl-dev libreadline-dev zlib1g-dev
    libicu-dev"
install_packages

build=$(mktemp -d /tmp/citus-build.XXXXXX)
trap 'rm -rf "$build"' EXIT
log "building Citus from $src in $build"
cp -a "$src/." "$build/"
cd "$build"
./configure PG_CONFIG="$PG_CONFIG" >configure.log 2>&1 || { tail -30 configure.log >&2; exit 1; }
make -s -j"$(nproc)" >make.log 2>&1 || { tail -40 make.log >&2; exit 1; }
make -s install >>make.log 2>&1 || { tail -20 make.log >&2; exit 1; }
log "installed Citus $(sed -n 's/^PACKAGE_VERSION=.\(.*\).$/\1/p' configure | head -1) into $("$PG_CONFIG" --pkglibdir)"
