#!/bin/sh
# Parity with the original model: skipctl train --features seed
# --solver svm --balanced against scikit-learn's
# LinearSVC(class_weight='balanced') on exactly the same rows and features
# (exported by skipctl with --export-csv), same time split.
#
#   sh bench/parity.sh [SCALE [SEED]]      default scale 0.25, seed 1
#
# Needs Debian's python3-sklearn (a benchmark dependency only).  Prints both
# accuracies and the difference in percentage points; the target is
# |difference| <= 0.5 pp.  Exit 1 when it is not met.
set -eu
SCALE=${1:-0.25}
SEED=${2:-1}
BUILD=${SKIP_BUILD:-build}
SKIPCTL=$BUILD/skipctl
WORK=$(mktemp -d /tmp/skip-parity.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

[ -x "$SKIPCTL" ] || { echo "parity: $SKIPCTL missing (make first)" >&2; exit 1; }
/usr/bin/python3 -c 'import sklearn' 2>/dev/null || {
    echo "parity: needs python3-sklearn (apt-get install python3-sklearn)" >&2
    exit 1
}

echo "parity: skipctl gen --scale $SCALE --seed $SEED" >&2
"$SKIPCTL" gen --out "$WORK/data" --scale "$SCALE" --seed "$SEED" --quiet

"$SKIPCTL" train --data "$WORK/data" --features seed --solver svm \
    --balanced --c 1 --no-save --json --quiet --max-rows 0 \
    --export-csv "$WORK/rows.csv" > "$WORK/skipctl.json"
# --max-rows 0: fit every training row, the rows scikit-learn gets
/usr/bin/python3 "$(dirname "$0")/parity.py" --C 1 "$WORK/rows.csv" \
    > "$WORK/sklearn.json"

/usr/bin/python3 - "$WORK/skipctl.json" "$WORK/sklearn.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); k = json.load(open(sys.argv[2]))
a, b = s["model"]["accuracy"], k["accuracy"]
d = 100 * (a - b)
print(f"rows: {s['data']['train_rows']} train / {s['data']['test_rows']} test, "
      f"{s['n_features']} features (seed), time split")
print(f"skipctl  (liblinear -s 2, balanced, C=1): accuracy {a:.4f}  "
      f"balanced {s['model']['balanced_accuracy']:.4f}")
print(f"sklearn  LinearSVC(class_weight='balanced', C=1): accuracy {b:.4f}  "
      f"balanced {k['balanced_accuracy']:.4f}  (fit {k['fit_seconds']} s)")
print(f"difference {d:+.3f} pp (target |d| <= 0.5)")
sys.exit(0 if abs(d) <= 0.5 else 1)
PY
