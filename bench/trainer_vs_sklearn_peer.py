#!/usr/bin/python3
"""Peer for bench/trainer_vs_sklearn: the same purged CV in scikit-learn.

Reads the file the C++ bench wrote (features, labels, folds), then times, per
fold, exactly what nightshift does: StandardScaler fitted on the training
rows, LogisticRegression(lbfgs, C, tol) fit, predict_proba on the test rows;
then the out-of-fold AUC. Prints one JSON line: {"seconds", "cpu_seconds", "auc", "n_iter"}.
Run by the bench; needs Debian's python3-sklearn (/usr/bin/python3).
"""
import json
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler


def load(path):
    raw = np.fromfile(path, dtype=np.float64)
    n, p, c, tol, n_folds = int(raw[0]), int(raw[1]), raw[2], raw[3], int(raw[4])
    at = 5
    x = raw[at:at + n * p].reshape(n, p)
    at += n * p
    y = raw[at:at + n].astype(int)
    at += n
    folds = []
    for _ in range(n_folds):
        n_ranges = int(raw[at])
        at += 1
        train = [(int(raw[at + 2 * k]), int(raw[at + 2 * k + 1])) for k in range(n_ranges)]
        at += 2 * n_ranges
        folds.append((train, (int(raw[at]), int(raw[at + 1]))))
        at += 2
    return x, y, c, tol, folds


def main():
    x, y, c, tol, folds = load(sys.argv[1])
    start = time.perf_counter()
    cpu_start = time.process_time()
    labels, scores, iters = [], [], []
    for train, (t0, t1) in folds:
        rows = np.concatenate([np.arange(b, e) for b, e in train])
        scaler = StandardScaler().fit(x[rows])
        model = LogisticRegression(C=c, tol=tol, solver="lbfgs", max_iter=10000)
        model.fit(scaler.transform(x[rows]), y[rows])
        scores.append(model.predict_proba(scaler.transform(x[t0:t1]))[:, 1])
        labels.append(y[t0:t1])
        iters.append(int(model.n_iter_[0]))
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    auc = roc_auc_score(np.concatenate(labels), np.concatenate(scores))
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "auc": auc, "n_iter": iters}))


if __name__ == "__main__":
    main()
