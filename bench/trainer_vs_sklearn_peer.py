#!/usr/bin/python3
"""Peer for bench/trainer_vs_sklearn: the same purged CV in scikit-learn.

Usage: trainer_vs_sklearn_peer.py INPUT warm|cold

Reads the file the C++ bench wrote (features, labels, folds), then times
exactly the work nightshift's cross_validate() does, the scikit-learn way:
per fold, the training rows gathered once, StandardScaler fitted on them,
LogisticRegression(solver="lbfgs", C, tol) fit, predict_proba on the
(standardised) test rows, the fold's metrics (ROC AUC, Brier, accuracy, log
loss); then the same four metrics out of fold. Default max_iter raised so
lbfgs always finishes.

"warm": one estimator with warm_start=True across the folds, so each fold's
lbfgs starts from the previous fold's coefficients, as nightshift's folds
do. "cold": a fresh estimator per fold (what cross_val_score does).

One thread, like nightshift: the bench sets OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS and MKL_NUM_THREADS to 1 before numpy is imported, and the
timed work also runs inside threadpoolctl's threadpool_limits(1). lbfgs
itself is single-threaded in scikit-learn 1.2.

Prints one JSON line: {"seconds", "cpu_seconds", "auc", "n_iter", "fit_cpu_seconds",
"metrics_cpu_seconds", "threads", "blas", "threadpools", "sklearn"}. Run by the
bench; needs Debian's python3-sklearn and python3-threadpoolctl (/usr/bin/python3).
"""
import json
import os
import sys
import time

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402 (after the thread counts, on purpose)
import sklearn  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402


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


def metrics(labels, scores):
    """What nightshift's all_metrics() computes."""
    return {
        "auc": roc_auc_score(labels, scores),
        "brier": brier_score_loss(labels, scores),
        "accuracy": accuracy_score(labels, scores > 0.5),
        "log_loss": log_loss(labels, scores),
    }


def os_threads():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def blas_library():
    """The BLAS shared object numpy has loaded (threadpoolctl misses Debian's reference BLAS)."""
    with open("/proc/self/maps") as maps:
        names = {line.split()[-1] for line in maps if "blas" in line.lower() or "mkl" in line.lower()}
    libs = sorted({n.rsplit("/", 1)[-1] for n in names if n.startswith("/")})
    return ", ".join(n for n in libs if n.startswith("lib")) or "unknown"


def threadpools():
    """What threadpoolctl finds loaded: library, threads, and OpenBLAS's kernel."""
    found = []
    for pool in threadpool_info():
        kernel = pool.get("architecture")
        found.append("%s %s threads %s%s" % (pool["internal_api"], pool["prefix"], pool["num_threads"],
                                             ", kernel " + kernel if kernel else ""))
    return "; ".join(found) or "no thread pool"


def cross_validate(x, y, c, tol, folds, warm):
    labels, scores, iters = [], [], []
    fit_cpu = metrics_cpu = 0.0
    model = LogisticRegression(C=c, tol=tol, solver="lbfgs", max_iter=10000, warm_start=True)
    for train, (t0, t1) in folds:
        rows = np.concatenate([np.arange(b, e) for b, e in train])
        x_train, y_train = x[rows], y[rows]
        fit_start = time.process_time()
        scaler = StandardScaler().fit(x_train)
        if not warm:
            model = LogisticRegression(C=c, tol=tol, solver="lbfgs", max_iter=10000)
        model.fit(scaler.transform(x_train), y_train)
        fit_cpu += time.process_time() - fit_start
        score = model.predict_proba(scaler.transform(x[t0:t1]))[:, 1]
        metrics_start = time.process_time()
        metrics(y[t0:t1], score)
        metrics_cpu += time.process_time() - metrics_start
        scores.append(score)
        labels.append(y[t0:t1])
        iters.append(int(model.n_iter_[0]))
    metrics_start = time.process_time()
    oof = metrics(np.concatenate(labels), np.concatenate(scores))
    metrics_cpu += time.process_time() - metrics_start
    return oof, iters, fit_cpu, metrics_cpu


def main():
    x, y, c, tol, folds = load(sys.argv[1])
    warm = sys.argv[2] == "warm"
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        cpu_start = time.process_time()
        oof, iters, fit_cpu, metrics_cpu = cross_validate(x, y, c, tol, folds, warm)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        pools = threadpools()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "auc": oof["auc"], "n_iter": iters,
                      "fit_cpu_seconds": fit_cpu, "metrics_cpu_seconds": metrics_cpu,
                      "threads": os_threads(), "blas": blas_library(), "threadpools": pools,
                      "sklearn": sklearn.__version__}))


if __name__ == "__main__":
    main()
