#!/usr/bin/env bash
# Installs what mlsys needs on Debian 12 (as root), then builds and installs it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/test/lib.sh"
install_packages
build_and_install "$here"
