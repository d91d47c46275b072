#!/usr/bin/python3
"""bench/hpo_vs_optuna: nightshift's search against Optuna, both in one run.

  hpo_vs_optuna.py trivial BIN WORKER [--trials 1000] [--studies 4] [--workers 2]
      (a) TPE over a trivial objective, every trial persisted. nightshift:
      `nightshift run --workers 0` (broker, scheduler with the TPE sampler,
      persister, fetcher, all real processes over loopback TCP) with
      WORKER (tests/integration/night/night_test_worker --objective
      quadratic: answers each trial at once with the quadratic below).
      Optuna (Debian python3-optuna): TPESampler with the same start-up
      trials, gamma share and candidates, SQLite storage, the same
      objective, studies and trials, n_jobs=1 (with SQLite storage and a
      Python objective, threads only add lock contention). Both timers
      start before the study is created and stop when the last trial is
      stored; nightshift's includes starting its stages and the final fit
      of each study. Prints trials/s for both and the ratio (target >= 20).

  hpo_vs_optuna.py real BIN DUMP [--seeds 5] [--trials 50] [--workers 2]
      (b) the same budget with the real trainer: TPE, --trials per study,
      2 symbols x 2 horizons of synthetic 1h bars (a weak planted signal: strength
      0.15 and 0.08) x each model family
      (logreg_enet, and xgb when the binary has it). nightshift: `nightshift
      run --workers N` end to end. Optuna: for each study, the rows
      nightshift trained on (written by DUMP = build/bench/hpo_study_data
      from the stored night: features, labels, purged folds, holdout), a
      TPESampler study with SQLite storage maximising the out-of-fold AUC of
      scikit-learn's LogisticRegression (elasticnet, saga, the same C and
      l1_ratio objective) or the Python xgboost package over the same
      folds, each fold standardised on its training rows; then the best
      params fitted on every row before the holdout and scored on the
      holdout, as nightshift's final fit does. Studies run in N processes
      sharing the SQLite file (Optuna's way to use N cores). Prints the wall
      time ratio per seed, and the mean holdout AUC of the final fits over
      the studies per seed, both sides, with mean and spread over the seeds.

The trivial objective, on logreg_enet's space (C log-uniform in [0.001, 100],
l1_ratio uniform in [0, 1]), maximised:
    auc = 0.5 + 0.3 * exp(-((log10 C - 0.5)^2 + (l1_ratio - 0.3)^2 / 0.25))
"""

import argparse
import json
import math
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time


def free_ports(n):
    ports, socks = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def objective_value(c, l1_ratio):
    x = math.log10(c) - 0.5
    y = l1_ratio - 0.3
    return 0.5 + 0.3 * math.exp(-(x * x + y * y / 0.25))


SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"]


def nightshift_trivial(binary, worker, trials, studies, workers, seed):
    folder = tempfile.mkdtemp(prefix="hpo_ns_")
    names = ["events_in", "events_out", "jobs_in", "jobs_out", "results_in", "results_out",
             "control", "dataset"]
    ports = dict(zip(names, free_ports(len(names))))
    bus = "\n".join(f"  {k}: tcp://127.0.0.1:{p}" for k, p in ports.items() if k != "dataset")
    config = os.path.join(folder, "night.yaml")
    symbols = ", ".join(SYMBOLS[:studies])
    with open(config, "w") as f:
        f.write(f"""symbols: [{symbols}]
timeframes: [1d]
horizons: [1]
models: [logreg_enet]
bus:
{bus}
fetcher:
  source: synthetic
  history_days: 400
  dataset_endpoint: tcp://127.0.0.1:{ports['dataset']}
scheduler:
  trials_per_study: {trials // studies}
  sampler: tpe
  tpe:
    n_startup_trials: 10
    gamma: 0.1
    n_candidates: 24
    seed: {seed}
telemetry:
  enabled: false
storage:
  results_db: {folder}/nightshift.db
  market_db: {folder}/market.db
  artifacts_dir: {folder}/models
""")
    start = time.perf_counter()
    run = subprocess.Popen([binary, "-c", config, "run", "--workers", "0", "--no-telemetry",
                            "--run-id", "hpo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    procs = [subprocess.Popen([worker, "--config", config, "--id", str(i + 1), "--sleep-ms", "0",
                               "--objective", "quadratic"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for i in range(workers)]
    try:
        out, err = run.communicate(timeout=900)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
    wall = time.perf_counter() - start
    if run.returncode != 0:
        print(out[-2000:], err[-2000:])
        raise SystemExit(f"nightshift run failed ({run.returncode}); files in {folder}")
    with sqlite3.connect(f"{folder}/nightshift.db") as c:
        stored, best = c.execute(
            "SELECT count(*), max(json_extract(metrics, '$.auc')) FROM trials "
            "WHERE run = 'hpo' AND kind = 'trial'").fetchone()
    shutil.rmtree(folder, ignore_errors=True)
    return wall, stored, best


def optuna_trivial(trials, studies, seed):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder = tempfile.mkdtemp(prefix="hpo_optuna_")
    storage = f"sqlite:///{folder}/optuna.db"

    def objective(trial):
        c = trial.suggest_float("C", 0.001, 100.0, log=True)
        l1 = trial.suggest_float("l1_ratio", 0.0, 1.0)
        return objective_value(c, l1)

    start = time.perf_counter()
    best = 0.0
    for s in range(studies):
        sampler = optuna.samplers.TPESampler(n_startup_trials=10, n_ei_candidates=24,
                                             seed=seed + s)
        study = optuna.create_study(storage=storage, study_name=f"study{s}",
                                    direction="maximize", sampler=sampler)
        study.optimize(objective, n_trials=trials // studies)
        best = max(best, study.best_value)
    wall = time.perf_counter() - start
    with sqlite3.connect(f"{folder}/optuna.db") as c:
        stored = c.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    shutil.rmtree(folder, ignore_errors=True)
    return wall, stored, best


def trivial(args):
    ns_wall, ns_trials, ns_best = nightshift_trivial(args.binary, args.worker, args.trials,
                                                     args.studies, args.workers, args.seed)
    op_wall, op_trials, op_best = optuna_trivial(args.trials, args.studies, args.seed)
    ns_rate = ns_trials / ns_wall
    op_rate = op_trials / op_wall
    print(f"(a) trivial objective, TPE, {args.studies} studies x {args.trials // args.studies} "
          f"trials, each persisted")
    print(f"  nightshift: {ns_trials} trials in {ns_wall:7.2f} s = {ns_rate:8.1f} trials/s "
          f"({args.workers} workers, whole `run`); best {ns_best:.4f}")
    print(f"  optuna    : {op_trials} trials in {op_wall:7.2f} s = {op_rate:8.1f} trials/s "
          f"(SQLite storage, n_jobs=1); best {op_best:.4f}")
    ratio = ns_rate / op_rate
    ok = ratio >= 20 and ns_trials == op_trials == args.trials
    print(f"  trials/s ratio nightshift/optuna: {ratio:.1f} (target >= 20) "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def night_config(folder, ports, symbols, horizons, models, trials, seed, history_days):
    bus = "\n".join(f"  {k}: tcp://127.0.0.1:{p}" for k, p in ports.items() if k != "dataset")
    return f"""symbols: [{", ".join(symbols)}]
timeframes: [1h]
horizons: [{", ".join(str(h) for h in horizons)}]
models: [{", ".join(models)}]
bus:
{bus}
fetcher:
  source: synthetic
  history_days: {history_days}
  dataset_endpoint: tcp://127.0.0.1:{ports['dataset']}
  synthetic_signals:
    BTCUSDT: {{strength: 0.15}}
    ETHUSDT: {{strength: 0.08}}
scheduler:
  trials_per_study: {trials}
  sampler: tpe
  tpe:
    n_startup_trials: 10
    gamma: 0.1
    n_candidates: 24
    seed: {seed}
telemetry:
  enabled: false
storage:
  results_db: {folder}/nightshift.db
  market_db: {folder}/market.db
  artifacts_dir: {folder}/models
"""


def nightshift_real(binary, dump, models, trials, seed, workers, history_days, folder):
    names = ["events_in", "events_out", "jobs_in", "jobs_out", "results_in", "results_out",
             "control", "dataset"]
    ports = dict(zip(names, free_ports(len(names))))
    config = os.path.join(folder, "night.yaml")
    with open(config, "w") as f:
        f.write(night_config(folder, ports, ["BTCUSDT", "ETHUSDT"], [1, 4], models, trials, seed,
                             history_days))
    start = time.perf_counter()
    run = subprocess.run([binary, "-c", config, "run", "--workers", str(workers),
                          "--no-telemetry", "--run-id", "hpo"], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        print(run.stdout[-2000:], run.stderr[-2000:])
        raise SystemExit(f"nightshift run failed ({run.returncode}); files in {folder}")
    holdout = {}
    with sqlite3.connect(f"{folder}/nightshift.db") as c:
        for study, auc in c.execute("SELECT study, json_extract(metrics, '$.auc') FROM trials "
                                    "WHERE run = 'hpo' AND kind = 'final'"):
            holdout[study] = auc
        trials_done = c.execute("SELECT count(*) FROM trials WHERE run = 'hpo' AND kind = 'trial'"
                                ).fetchone()[0]
    data = os.path.join(folder, "studies")
    subprocess.run([dump, config, "hpo", data], check=True)
    return wall, trials_done, holdout, data


def load_study(data, study):
    import numpy as np
    with open(os.path.join(data, study + ".json")) as f:
        meta = json.load(f)
    x = np.fromfile(os.path.join(data, study + ".f64"), dtype=np.float64)
    x = x.reshape(meta["rows"], meta["cols"])
    y = np.full(meta["rows"], np.nan)
    y[:len(meta["labels"])] = meta["labels"]
    return meta, x, y


def rows_of(ranges):
    import numpy as np
    return np.concatenate([np.arange(a, b) for a, b in ranges])


def fit_score(model, params, x, y, train, test, horizon):
    """Fits on the training rows (time order), returns test probabilities."""
    if model == "logreg_enet":
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
        scaler = StandardScaler().fit(x[train])  # per fold, as nightshift's Standardizer
        clf = LogisticRegression(penalty="elasticnet", solver="saga", C=params["C"],
                                 l1_ratio=params["l1_ratio"], max_iter=1000, tol=1e-4)
        clf.fit(scaler.transform(x[train]), y[train])
        return clf.predict_proba(scaler.transform(x[test]))[:, 1]
    if model == "xgb":
        return xgb_fit_score(params, x, y, train, test, horizon)
    raise SystemExit(f"model {model}: no Optuna peer")


def xgb_fit_score(params, x, y, train, test, horizon):
    """The Python xgboost package the way nightshift's xgb model trains
    (stages/trainer/xgb_model.h): raw features, the last fifth of the
    training rows as the early-stopping tail, rows whose label reaches the
    tail purged, 20 rounds of patience on the tail's log loss, hist, one
    thread, seed 0; the model cut at the best round."""
    import xgboost as xgb
    n = len(train)
    tail = n // 5
    first = n - tail
    fit = 0
    while fit < first and train[fit] + horizon < train[first]:
        fit += 1
    dtrain = xgb.DMatrix(x[train[:fit]].astype("float32"), label=y[train[:fit]])
    dval = xgb.DMatrix(x[train[first:]].astype("float32"), label=y[train[first:]])
    booster = xgb.train(
        {"objective": "binary:logistic", "tree_method": "hist", "nthread": 1, "seed": 0,
         "verbosity": 0, "eval_metric": "logloss", "eta": params["eta"],
         "max_depth": int(params["max_depth"]), "min_child_weight": params["min_child_weight"],
         "subsample": params["subsample"], "colsample_bytree": params["colsample_bytree"],
         "lambda": params["lambda"], "alpha": params["alpha"]},
        dtrain, num_boost_round=int(params["n_rounds"]), evals=[(dval, "val")],
        early_stopping_rounds=20, verbose_eval=False)
    dtest = xgb.DMatrix(x[test].astype("float32"))
    return booster.predict(dtest, iteration_range=(0, booster.best_iteration + 1))


SPACES = None


def search_space(model):
    """The model's space from the shipped config (search.<model>), as nightshift reads it."""
    global SPACES
    if SPACES is None:
        import yaml
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(root, "config", "nightshift.yaml")) as f:
            SPACES = yaml.safe_load(f)["search"]
    return SPACES[model]


def suggest(trial, model):
    params = {}
    for name, space in sorted(search_space(model).items()):
        log = bool(space.get("log", False))
        if space["type"] == "int":
            params[name] = trial.suggest_int(name, int(space["low"]), int(space["high"]), log=log)
        elif space["type"] == "float":
            params[name] = trial.suggest_float(name, float(space["low"]), float(space["high"]),
                                               log=log)
        else:
            params[name] = trial.suggest_categorical(name, space["values"])
    return params


def optuna_study(args):
    import warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import optuna
    from sklearn.metrics import roc_auc_score
    data, study_name, storage, trials, seed = args
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    meta, x, y = load_study(data, study_name)
    folds = [(rows_of(f["train"]), np.arange(*f["test"])) for f in meta["folds"]]
    model = meta["model"]

    def objective(trial):
        params = suggest(trial, model)
        labels, probs = [], []
        for train, test in folds:
            probs.append(fit_score(model, params, x, y, train, test, meta["horizon"]))
            labels.append(y[test])
        return roc_auc_score(np.concatenate(labels), np.concatenate(probs))

    sampler = optuna.samplers.TPESampler(n_startup_trials=10, n_ei_candidates=24, seed=seed)
    study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize",
                                sampler=sampler)
    study.optimize(objective, n_trials=trials)
    train = np.arange(*meta["final_train"])
    holdout = np.arange(*meta["holdout"])
    probs = fit_score(model, study.best_params, x, y, train, holdout, meta["horizon"])
    return study_name, roc_auc_score(y[holdout], probs)


def optuna_real(data, studies, trials, seed, workers, folder):
    from concurrent.futures import ProcessPoolExecutor
    storage = f"sqlite:///{folder}/optuna.db"
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    optuna.storages.RDBStorage(storage)  # the schema, once, before the processes share it
    with ProcessPoolExecutor(max_workers=workers) as pool:
        holdout = dict(pool.map(optuna_study,
                                [(data, s, storage, trials, seed) for s in studies]))
    wall = time.perf_counter() - start
    return wall, holdout


def has_model(binary, model):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(f"models: [{model}]\n")
        f.flush()
        probe = subprocess.run([binary, "config", "validate", f.name], capture_output=True)
    return probe.returncode == 0


def real(args):
    import statistics
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"  # one thread per process on both sides
    models = ["logreg_enet"] + (["xgb"] if has_model(args.binary, "xgb") else [])
    print(f"(b) real trainer, TPE, {args.trials} trials per study, 2 symbols x 2 horizons x "
          f"{'/'.join(models)} ({4 * len(models)} studies), {args.workers} workers/processes")
    ratios, ns_means, op_means = [], [], []
    for seed in range(1, args.seeds + 1):
        folder = tempfile.mkdtemp(prefix="hpo_real_")
        ns_wall, ns_trials, ns_holdout, data = nightshift_real(
            args.binary, args.dump, models, args.trials, seed, args.workers, args.history_days,
            folder)
        op_wall, op_holdout = optuna_real(data, sorted(ns_holdout), args.trials, seed,
                                          args.workers, folder)
        ns_mean = statistics.mean(ns_holdout.values())
        op_mean = statistics.mean(op_holdout.values())
        ratios.append(op_wall / ns_wall)
        ns_means.append(ns_mean)
        op_means.append(op_mean)
        print(f"  seed {seed}: nightshift {ns_trials} trials + finals in {ns_wall:6.1f} s, "
              f"optuna {op_wall:6.1f} s: {op_wall / ns_wall:5.2f}x; mean holdout AUC "
              f"nightshift {ns_mean:.4f}, optuna {op_mean:.4f}")
        for study in sorted(ns_holdout):
            print(f"      {study:28} holdout AUC nightshift {ns_holdout[study]:.4f} "
                  f"optuna {op_holdout[study]:.4f}")
        shutil.rmtree(folder, ignore_errors=True)

    def spread(values):
        return statistics.stdev(values) if len(values) > 1 else 0.0
    print(f"  wall time ratio optuna/nightshift: mean {statistics.mean(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    ns_m, op_m = statistics.mean(ns_means), statistics.mean(op_means)
    allowed = max(spread(ns_means), spread(op_means))
    ok = ns_m >= op_m - allowed
    print(f"  mean holdout AUC over seeds: nightshift {ns_m:.4f} +- {spread(ns_means):.4f}, "
          f"optuna {op_m:.4f} +- {spread(op_means):.4f}: nightshift "
          f"{'not worse than' if ok else 'WORSE than'} optuna beyond the spread "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("trivial")
    a.add_argument("binary")
    a.add_argument("worker")
    a.add_argument("--trials", type=int, default=1000)
    a.add_argument("--studies", type=int, default=4)
    a.add_argument("--workers", type=int, default=2)
    a.add_argument("--seed", type=int, default=1)
    b = sub.add_parser("real")
    b.add_argument("binary")
    b.add_argument("dump")
    b.add_argument("--trials", type=int, default=50)
    b.add_argument("--seeds", type=int, default=5)
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--history-days", type=int, default=180)
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)
    if args.mode == "trivial":
        args.worker = os.path.abspath(args.worker)
        return trivial(args)
    args.dump = os.path.abspath(args.dump)
    return real(args)


if __name__ == "__main__":
    sys.exit(main())
