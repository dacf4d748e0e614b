#!/usr/bin/python3
"""Parity of skipctl's SVM with scikit-learn's LinearSVC on the same rows.

Reads the CSV written by `skipctl train --export-csv` (split,label,features
...), standardises with StandardScaler fitted on the training rows and fits
LinearSVC(class_weight='balanced', C) -- the original project's model -- then
prints the test accuracy as JSON.  The rows, and their history features, are
exactly the ones skipctl trained and tested on.

LinearSVC(dual=False) minimises the same objective as liblinear -s 2 (primal
L2-regularised squared hinge, intercept as a regularised feature of value 1,
the intercept_scaling=1 default); --dual uses scikit-learn's default dual
solver instead (slow at 10^6 rows, the original's setting).
"""
import argparse
import json
import sys
import time

import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.metrics import accuracy_score, balanced_accuracy_score


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--dual", action="store_true")
    a = ap.parse_args()

    t0 = time.time()
    with open(a.csv) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(a.csv, delimiter=",", skiprows=1,
                      converters={0: lambda s: 1.0 if s in (b"test", "test") else 0.0},
                      dtype=np.float64)
    test = data[:, 0] == 1.0
    y = data[:, 1].astype(int)
    X = data[:, 2:]
    t_load = time.time() - t0

    scaler = StandardScaler().fit(X[~test])
    Xs = scaler.transform(X)
    t1 = time.time()
    clf = LinearSVC(C=a.C, class_weight="balanced", dual=a.dual,
                    max_iter=1000 if a.dual else 10000, tol=1e-4)
    clf.fit(Xs[~test], y[~test])
    t_fit = time.time() - t1
    pred = clf.predict(Xs[test])
    out = {
        "features": len(header) - 2,
        "train_rows": int((~test).sum()),
        "test_rows": int(test.sum()),
        "accuracy": accuracy_score(y[test], pred),
        "balanced_accuracy": balanced_accuracy_score(y[test], pred),
        "dual": a.dual,
        "load_seconds": round(t_load, 1),
        "fit_seconds": round(t_fit, 1),
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
