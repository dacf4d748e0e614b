#!/bin/sh
# How much the "full >= seed + 3 pp" target of bench/train.sh depends on the
# dataset: full (the default model), seed features with logistic
# regression, and the original's model (seed features, LinearSVC balanced,
# C = 1) on the time split, for datasets generated with several seeds, and
# the Bayes limit of each.
#
#   sh bench/train-seeds.sh [SCALE [SEEDS]]     default scale 1, seeds "1 2 3"
#
# About 2 minutes per seed at scale 1.
set -eu
SCALE=${1:-1}
SEEDS=${2:-1 2 3}
BUILD=${SKIP_BUILD:-build}
SKIPCTL=$BUILD/skipctl
WORK=$(mktemp -d /tmp/skip-train-seeds.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

for s in $SEEDS; do
    "$SKIPCTL" gen --out "$WORK/data" --scale "$SCALE" --seed "$s" --quiet
    "$SKIPCTL" train --data "$WORK/data" --no-save --json --quiet \
        > "$WORK/$s.full.json"
    "$SKIPCTL" train --data "$WORK/data" --no-save --json --quiet \
        --features seed > "$WORK/$s.seed_lr.json"
    "$SKIPCTL" train --data "$WORK/data" --no-save --json --quiet \
        --features seed --solver svm --balanced --c 1 > "$WORK/$s.seed_svm.json"
    rm -rf "$WORK/data"
done

/usr/bin/python3 - "$WORK" $SEEDS <<'PY'
import json, sys
w, seeds = sys.argv[1], sys.argv[2:]
print(f"{'seed':>4} {'full':>7} {'seed_lr':>8} {'seed_svm':>9} {'Bayes':>7} "
      f"{'full-svm':>9} {'full-lr':>8} {'Bayes-lr':>9} {'Bayes-full':>11}")
d = []
for s in seeds:
    r = {n: json.load(open(f"{w}/{s}.{n}.json")) for n in
         ("full", "seed_lr", "seed_svm")}
    f, l, v = (r[n]["model"]["accuracy"] for n in ("full", "seed_lr", "seed_svm"))
    b = r["full"]["bayes_limit"]
    d.append((f - v, f - l, b - l, b - f))
    print(f"{s:>4} {f:7.4f} {l:8.4f} {v:9.4f} {b:7.4f} {100 * (f - v):+8.2f}pp "
          f"{100 * (f - l):+7.2f}pp {100 * (b - l):+8.2f}pp {100 * (b - f):+10.2f}pp")
m = [sum(x[i] for x in d) / len(d) for i in range(4)]
print(f"mean {'':34s} {100 * m[0]:+8.2f}pp {100 * m[1]:+7.2f}pp "
      f"{100 * m[2]:+8.2f}pp {100 * m[3]:+10.2f}pp")
PY
