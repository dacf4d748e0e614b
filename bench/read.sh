#!/bin/sh
# Benchmark: read and parse sessions.jsonl of the --scale 1 dataset with the
# streaming reader (`skipctl stats --only sessions`), with the hand-written
# fast path (default) and with cJSON for every line (--no-fast-path, the
# baseline).  Target: at least 100 MB/s.  The file is read once first so
# that both runs read from the page cache.
#
#   sh bench/read.sh           (BENCH_DIR=dir to reuse a generated dataset)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SKIP_BUILD:-$ROOT/build}
if [ -n "${BENCH_DIR:-}" ] && [ -f "$BENCH_DIR/sessions.jsonl" ]; then
    DIR=$BENCH_DIR
else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/skip-bench-read.XXXXXX")
    trap 'rm -rf "$DIR"' EXIT
    "$BUILD/skipctl" gen --out "$DIR" --seed 1 --scale "${BENCH_SCALE:-1}" --quiet
fi
cat "$DIR/sessions.jsonl" > /dev/null

for mode in fast cjson; do
    flag=""
    [ $mode = cjson ] && flag="--no-fast-path"
    "$BUILD/skipctl" stats --only sessions $flag "$DIR" 2>&1 >/dev/null |
        awk -v m="$mode" '/sessions.jsonl: .* MB\/s/ {
            gsub(/[()]/, "")
            printf "read sessions.jsonl (%s): %s MB in %s s = %s MB/s, target >= 100 MB/s: %s\n",
                m, $4, $7, $9, ($9 >= 100 ? "ok" : "MISSED")
        }'
done
