#!/bin/sh
# Benchmark: `skipctl gen --scale 1` (27,650 artists, 129,648 tracks, 5,000
# users, ~140,000 sessions, ~4.7 M events, ~1 GB with truth.jsonl).
# Target: under 15 s on the 2-core reference machine.
#
#   sh bench/gen.sh            (SKIP_BUILD=dir to use another build,
#                               BENCH_DIR=dir to keep the output)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SKIP_BUILD:-$ROOT/build}
OUT=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/skip-bench-gen.XXXXXX")}
SCALE=${BENCH_SCALE:-1}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$OUT"' EXIT

start=$(date +%s.%N)
"$BUILD/skipctl" gen --out "$OUT" --seed 1 --scale "$SCALE" --quiet
end=$(date +%s.%N)
bytes=$(cat "$OUT"/*.jsonl | wc -c)
events=$(wc -l < "$OUT/sessions.jsonl")
awk -v s="$start" -v e="$end" -v b="$bytes" -v n="$events" -v sc="$SCALE" 'BEGIN {
    t = e - s
    printf "gen --scale %s: %.2f s, %d events, %.0f MB written (%.0f MB/s), target < 15 s: %s\n",
        sc, t, n, b / 1e6, b / 1e6 / t, (t < 15 ? "ok" : "MISSED")
}'
