#!/usr/bin/env bash
# Build and run the libFuzzer harness for the model blob parsers (src/models/blob.c, src/models/als/als_blob.c).
#   FUZZ_SECONDS=60 bash test/fuzz/run.sh      (or: make fuzz FUZZ_SECONDS=60)
# 1. builds test/fuzz/fuzz_model with clang -fsanitize=fuzzer,address,undefined
#    against the server headers (pg_config --includedir-server; PG_CONFIG or
#    MLSYS_PGBIN choose the installation);
# 2. replays every input in test/fuzz/regressions/ (inputs that once crashed
#    the parsers: each must now pass);
# 3. fuzzes for FUZZ_SECONDS (default 60) from the seed corpus of real blobs
#    in test/fuzz/seeds/ (working corpus in a temporary directory). A crash
#    leaves its input in test/fuzz/regressions/crash-*: fix the parser, keep
#    the file, commit both.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -n "${MLSYS_PGBIN:-}" ]; then PG_CONFIG=${PG_CONFIG:-$MLSYS_PGBIN/pg_config}; fi
PG_CONFIG=${PG_CONFIG:-pg_config}
CLANG=${CLANG:-$(command -v clang-14 || command -v clang || echo /usr/lib/llvm-14/bin/clang)}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
inc=$("$PG_CONFIG" --includedir-server)
bin="$here/fuzz_model"

echo "==> building $bin with $CLANG"
"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Wall -Wno-unused-parameter -Wno-missing-noreturn \
    -I"$root/src" -I"$here" -isystem "$inc" \
    "$here/fuzz_model.c" "$here/stubs.c" -lm -o "$bin"

regressions=("$here"/regressions/*)
if [ -e "${regressions[0]}" ]; then
    echo "==> replaying ${#regressions[@]} regression input(s)"
    "$bin" -runs=1 "${regressions[@]}"
fi

work=$(mktemp -d /tmp/mlsys-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "==> fuzzing for ${FUZZ_SECONDS}s from $(ls "$here/seeds" | wc -l) seed blob(s)"
"$bin" -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$here/regressions/" -print_final_stats=1 "$work" "$here/seeds"
