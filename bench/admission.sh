#!/bin/sh
# Learned cache admission (docs/admission.md) against the online policies
# and Belady's ceiling, caching 1 MiB slices, at 1 %, 5 % and 10 % of the
# unique bytes, on one or more generated datasets:
#
#   sh bench/admission.sh [SCALE [SEEDS]]      default scale 1, seeds "1 2"
#
# Per seed: skipctl gen; the skip model (models/default.model for seed 1
# when this build serves it, else one trained on the data with skipctl
# train's defaults); one admission model per cache size (skipctl
# admit-train: the training window's last quarter, never the held-out
# sessions); skipctl simulate --cache-objects slices on the held-out
# sessions.  Printed per size: hits of lru, every online policy, learned,
# belady; the share of the lru -> belady gap learned closes; bytes written
# by learned against tinylfu's.  Targets (issue 18): above every online
# policy, >= 60 % of the gap, writes <= tinylfu's.
#
# Environment: SKIP_BUILD (default ./build), ADMIT_ARGS (extra
# skipctl admit-train options, e.g. "--label belady").
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${1:-1}
SEEDS=${2:-1 2}
BUILD=${SKIP_BUILD:-$ROOT/build}
SKIPCTL=$BUILD/skipctl
ADMIT_ARGS=${ADMIT_ARGS:-}
ONLINE=lru,min-uses-2,tinylfu,skip+tinylfu,skip+min-uses-2,skip-nocache
WORK=$(mktemp -d /tmp/skip-admission-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

for SEED in $SEEDS; do
    D=$WORK/data-$SEED
    "$SKIPCTL" gen --out "$D" --scale "$SCALE" --seed "$SEED" --quiet
    MODEL=$ROOT/models/default.model
    if [ "$SEED" != 1 ] || ! "$SKIPCTL" simulate --data "$D" --model "$MODEL" \
            --limit 1 --policies lru --quiet > /dev/null 2>&1; then
        "$SKIPCTL" train --data "$D" --name default \
            --model-dir "$WORK/models-$SEED" --quiet > /dev/null
        MODEL=$WORK/models-$SEED/default.model
    fi
    T0=$(date +%s)
    AM=""
    for S in 1 5 10; do
        # shellcheck disable=SC2086
        "$SKIPCTL" admit-train --data "$D" --model "$MODEL" --cache-size "$S%" \
            --out "$WORK/admit-$SEED-$S.model" --quiet $ADMIT_ARGS \
            > "$WORK/admit-$SEED-$S.report"
        AM=${AM:+$AM,}$WORK/admit-$SEED-$S.model
    done
    T1=$(date +%s)
    "$SKIPCTL" simulate --data "$D" --model "$MODEL" --cache-objects slices \
        --cache-size 1%,5%,10% --policies "$ONLINE,belady" \
        --admit-model "$AM" --json --quiet > "$WORK/sim-$SEED.json"
    T2=$(date +%s)
    echo "seed $SEED, scale $SCALE: skipctl admit-train x 3 in $((T1 - T0)) s," \
         "skipctl simulate in $((T2 - T1)) s (skip model $MODEL)"
    python3 - "$WORK/sim-$SEED.json" "$WORK" "$SEED" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
online = ['lru', 'min-uses-2', 'tinylfu', 'skip+tinylfu', 'skip+min-uses-2',
          'skip-nocache']
print('  %d listens, %d slice requests, %d slices' %
      (j['requests'], j['cache_requests'], j['cache_object_count']))
print('  %-5s %7s %7s %-18s %8s %7s %8s %11s %13s' %
      ('size', 'lru', 'tinylfu', 'best online', 'learned', 'belady',
       'closed', 'vs online', 'writes/tinylfu'))
for k, z in enumerate(j['sizes']):
    P = {p['policy']: p for p in z['policies']}
    h = lambda n: 100.0 * P[n]['hits'] / P[n]['requests']
    best = max(online, key=h)
    closed = (h('learned') - h('lru')) / (h('belady') - h('lru'))
    tr = json.load(open('%s/admit-%s-%s.report' % (sys.argv[2], sys.argv[3],
                                                  ['1', '5', '10'][k])))
    print('  %-5s %7.2f %7.2f %-18s %8.2f %7.2f %7.1f%% %+10.2f %13.3f' %
          (z['cache_size'], h('lru'), h('tinylfu'),
           '%.2f (%s)' % (h(best), best), h('learned'), h('belady'),
           100 * closed, h('learned') - h(best),
           P['learned']['written_bytes'] / P['tinylfu']['written_bytes']))
    t = lambda n: 100.0 * tr[n]['hit_ratio']
    print('        training window: learned %.2f, lru %.2f, belady %.2f; '
          'its labels as the admission %.2f (closes %.1f%%)' %
          (t('learned'), t('lru'), t('belady'), t('labels_as_admission'),
           100 * (t('labels_as_admission') - t('lru'))
           / (t('belady') - t('lru'))))
PY
done
