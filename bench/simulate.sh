#!/bin/sh
# skipctl simulate at --scale 1 (docs/simulate.md): the held-out sessions
# replayed through every cache policy at 1 %, 5 % and 10 % of the unique
# bytes requested, the prefetch economics and threshold curve in 1 MiB
# slices (then once more in whole tracks), with wall time and peak memory
# (/usr/bin/time -v) of the first run.
#
#   sh bench/simulate.sh [SCALE [SEED]]        default scale 1, seed 1
#
# The model is models/default.model (SKIP_MODEL overrides); when this build
# cannot serve it (e.g. a feature added since it was trained), a model is
# trained on the generated data first, with skipctl train's defaults.
# Target: all policies at three sizes in well under a minute.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${1:-1}
SEED=${2:-1}
BUILD=${SKIP_BUILD:-$ROOT/build}
SKIPCTL=$BUILD/skipctl
MODEL=${SKIP_MODEL:-$ROOT/models/default.model}
SIZES=1%,5%,10%
WORK=$(mktemp -d /tmp/skip-simulate-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

"$SKIPCTL" gen --out "$WORK/data" --scale "$SCALE" --seed "$SEED" --quiet

if ! "$SKIPCTL" simulate --data "$WORK/data" --model "$MODEL" --limit 1 \
        --policies lru --quiet > /dev/null 2> "$WORK/check.txt"; then
    echo "bench/simulate.sh: $MODEL not usable ($(cat "$WORK/check.txt"));" \
         "training one" >&2
    "$SKIPCTL" train --data "$WORK/data" --name default \
        --model-dir "$WORK/models" --quiet > /dev/null
    MODEL=$WORK/models/default.model
fi

echo "skipctl simulate --data DATA --model $MODEL --cache-size $SIZES"
echo "(DATA = skipctl gen --scale $SCALE --seed $SEED)"
echo
/usr/bin/time -v "$SKIPCTL" simulate --data "$WORK/data" --model "$MODEL" \
    --cache-size "$SIZES" --quiet > "$WORK/table.txt" 2> "$WORK/time.txt" || {
    cat "$WORK/time.txt" >&2
    exit 1
}
cat "$WORK/table.txt"
echo
# The same prefetch economics without slices, for comparison.
echo "skipctl simulate --data DATA --model $MODEL --policies lru" \
     "--cache-size 1% --slice 0"
"$SKIPCTL" simulate --data "$WORK/data" --model "$MODEL" --policies lru \
    --cache-size 1% --slice 0 --quiet | sed -n '/^prefetch,/,$p'
echo
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' \
       "$WORK/time.txt")
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
echo "end to end (read, label, score, 10 policies x 3 sizes, prefetch):" \
     "wall $wall, peak RSS $((rss / 1024)) MB (target: well under a minute)"
