#!/bin/sh
# skipctl train at --scale 1 (issue 4 targets): end-to-end time and peak
# memory (/usr/bin/time -v), accuracy of the full and seed feature sets on
# the honest time split against the naive and majority baselines and the
# Bayes limit, and the original's leaky random split for reference.
#
#   sh bench/train.sh [SCALE [SEED]]        default scale 1, seed 1
#
# Targets: under 60 s and 3 GB; full within 2 pp of the Bayes limit and
# >= 3 pp above seed; both above naive and majority.
set -eu
SCALE=${1:-1}
SEED=${2:-1}
BUILD=${SKIP_BUILD:-build}
SKIPCTL=$BUILD/skipctl
WORK=$(mktemp -d /tmp/skip-train-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

"$SKIPCTL" gen --out "$WORK/data" --scale "$SCALE" --seed "$SEED" --quiet

/usr/bin/time -v "$SKIPCTL" train --data "$WORK/data" --name full \
    --model-dir "$WORK/models" --json --quiet \
    > "$WORK/full.json" 2> "$WORK/time.txt"
run() {   # name, options...
    n=$1; shift
    "$SKIPCTL" train --data "$WORK/data" --no-save --json --quiet "$@" \
        > "$WORK/$n.json" 2>/dev/null
}
run seed_lr --features seed
run seed_svm --features seed --solver svm --balanced --c 1
run seed_svm_insample --features seed --solver svm --balanced --c 1 \
    --history-folds 0
run full_random --split random
run seed_svm_random --features seed --solver svm --balanced --c 1 \
    --split random

/usr/bin/python3 - "$WORK" "$SCALE" <<'PY'
import json, re, sys
w, scale = sys.argv[1], sys.argv[2]
t = open(f"{w}/time.txt").read()
secs = t.split("Elapsed (wall clock) time (h:mm:ss or m:ss): ")[1].split()[0]
parts = [float(x) for x in secs.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
r = {n: json.load(open(f"{w}/{n}.json")) for n in
     ("full", "seed_lr", "seed_svm", "seed_svm_insample", "full_random",
      "seed_svm_random")}
f = r["full"]
print(f"skipctl train --scale {scale}: {f['data']['labelled_plays']} labelled "
      f"plays, {f['data']['train_rows']} train / {f['data']['test_rows']} test")
print(f"  end to end {secs:.1f} s, peak RSS {rss / 1024:.0f} MB "
      f"(targets < 60 s, < 3072 MB)")
print(f"{'model':40s} {'accuracy':>9s} {'balanced':>9s} {'AUC':>7s}")
def row(name, m):
    auc = m.get("roc_auc")
    print(f"{name:40s} {m['accuracy']:9.4f} {m['balanced_accuracy']:9.4f} "
          f"{auc if auc is not None else float('nan'):7.4f}")
row("full, lr (default), time split", f["model"])
row("seed, lr, time split", r["seed_lr"]["model"])
row("seed, svm balanced, time split", r["seed_svm"]["model"])
row("seed, svm balanced, in-sample history", r["seed_svm_insample"]["model"])
row("naive (genre match -> play)", f["naive"])
row("majority", f["majority"])
print(f"{'Bayes limit (truth.jsonl)':40s} {f['bayes_limit']:9.4f}")
row("full, lr, RANDOM split (leaky)", r["full_random"]["model"])
row("seed, svm balanced, RANDOM split (leaky)", r["seed_svm_random"]["model"])
a = f["model"]["accuracy"]
print(f"full - Bayes limit: {100 * (a - f['bayes_limit']):+.2f} pp (target >= -2)")
for n in ("seed_lr", "seed_svm"):
    print(f"full - {n}: {100 * (a - r[n]['model']['accuracy']):+.2f} pp (target >= 3)")

# What request-time features can reach at best: the generator's fatigue term
# 0.03 * min(position, 20) is not observable when a track is requested.  The
# best decision without it uses logit(p) minus that term plus its mean; its
# accuracy under the true p (over all labelled plays) is the ceiling for any
# model of (user record, track record, hour), however good its history.
import math
from collections import defaultdict
sess = defaultdict(list)
for line in open(f"{w}/data/truth.jsonl"):
    d = json.loads(line)
    sess[d["session_id"]].append((d["timestamp"], d["p_skip"]))
effects = [0.03 * min(i, 20) for v in sess.values() for i in range(len(v))]
mean_e = sum(effects) / len(effects)
n = bayes = ceil = 0
for v in sess.values():
    v.sort()
    for i, (_, p) in enumerate(v):
        z = math.log(p / (1 - p)) - 0.03 * min(i, 20) + mean_e
        bayes += max(p, 1 - p)
        ceil += p if z >= 0 else 1 - p
        n += 1
print(f"all labelled plays: Bayes limit {bayes / n:.4f}, best without the "
      f"unobservable position term {ceil / n:.4f} "
      f"(= seed_lr {100 * (ceil / n - r['seed_lr']['model']['accuracy']):+.2f} pp)")
PY
