#!/usr/bin/python3
"""Wall time of the same small night (`nightshift run`, real stages, synthetic
data, loopback TCP) under different settings, for two benches:

  night_wall.py curve BIN      CURVE off vs on (2 workers): jobs/s and the
                               on/off ratio (bench/curve_cost's night half;
                               target >= 0.8)
  night_wall.py scale BIN      1, 2, ... up to the core count of worker
                               processes: speed-up and parallel efficiency
                               (bench/scale_out; target >= 0.8 at the top)

Options: --trials N (per study, 4 studies), --history-days D (job length).
Each night runs in a fresh folder; the mean job length (trials.wall_s) is
printed so the figures can be judged.
"""

import argparse
import os
import re
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


def night(binary, workers, curve, trials, history_days):
    folder = tempfile.mkdtemp(prefix="night_wall_")
    keys = os.path.join(folder, "keys")
    names = ["events_in", "events_out", "jobs_in", "jobs_out", "results_in", "results_out",
             "control", "dataset"]
    ports = dict(zip(names, free_ports(len(names))))
    bus = "\n".join(f"  {k}: tcp://127.0.0.1:{p}" for k, p in ports.items() if k != "dataset")
    config = os.path.join(folder, "night.yaml")
    with open(config, "w") as f:
        f.write(f"""symbols: [BTCUSDT, ETHUSDT]
timeframes: [1h]
horizons: [1, 3]
bus:
{bus}
fetcher:
  source: synthetic
  history_days: {history_days}
  dataset_endpoint: tcp://127.0.0.1:{ports['dataset']}
scheduler:
  trials_per_study: {trials}
telemetry:
  enabled: false
storage:
  results_db: {folder}/nightshift.db
  market_db: {folder}/market.db
  artifacts_dir: {folder}/models
security:
  curve: {'true' if curve else 'false'}
  keys_dir: {keys}
  secret_key_file: {keys}/head.key_secret
  server_key_file: {keys}/head.key
  authorized_keys_dir: {keys}/authorized
""")
    if curve:
        subprocess.run([binary, "-c", config, "keys", "generate", "head", "--role", "head"],
                       check=True, capture_output=True)
    start = time.time()
    run = subprocess.run([binary, "-c", config, "run", "--workers", str(workers),
                          "--no-telemetry", "--run-id", "bench"], capture_output=True, text=True)
    wall = time.time() - start
    if run.returncode != 0:
        print(run.stdout[-2000:], run.stderr[-2000:])
        raise SystemExit(f"night failed ({run.returncode}); files in {folder}")
    with sqlite3.connect(f"{folder}/nightshift.db") as c:
        jobs, job_s = c.execute("SELECT count(*), avg(wall_s) FROM trials").fetchone()
    shutil.rmtree(folder, ignore_errors=True)
    return wall, jobs, job_s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["curve", "scale"])
    parser.add_argument("binary")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--history-days", type=int, default=400)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    if args.mode == "curve":
        off = night(binary, 2, False, args.trials, args.history_days)
        on = night(binary, 2, True, args.trials, args.history_days)
        for name, (wall, jobs, job_s) in (("CURVE off", off), ("CURVE on", on)):
            print(f"night {name:9}: {jobs} jobs in {wall:6.1f} s = {jobs / wall:6.2f} jobs/s "
                  f"(mean job {job_s:.3f} s, 2 workers)")
        ratio = (on[1] / on[0]) / (off[1] / off[0])
        print(f"night jobs/s ratio on/off: {ratio:.3f} (target >= 0.8) "
              f"{'PASS' if ratio >= 0.8 else 'FAIL'}")
        return 0 if ratio >= 0.8 else 1
    cores = os.cpu_count() or 1
    counts = [1]
    while counts[-1] * 2 <= cores:
        counts.append(counts[-1] * 2)
    if counts[-1] != cores:
        counts.append(cores)
    base = None
    efficiency = 0
    for n in counts:
        wall, jobs, job_s = night(binary, n, False, args.trials, args.history_days)
        base = base or wall
        speedup = base / wall
        efficiency = speedup / n
        print(f"{n} worker(s): {jobs} jobs in {wall:6.1f} s, mean job {job_s:.3f} s; "
              f"speed-up {speedup:.2f}, efficiency {efficiency:.2f}")
    print(f"parallel efficiency at {counts[-1]} workers ({cores} cores): {efficiency:.2f} "
          f"(target >= 0.8) {'PASS' if efficiency >= 0.8 else 'FAIL'}")
    return 0 if efficiency >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
