#!/usr/bin/python3
"""nightshift export against a real night run, read back in Python.

Runs a small night (the night tests' worker, live telemetry, an alert rule
that always fires) into a fresh results database, exports every kind in both
formats, and reads each file back with the csv and json modules: the header
and keys must be the columns docs/replay.md lists, every row must parse, the
JSON columns must be JSON, and the row counts must match the database.
"""
import argparse
import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

KINDS = ["trials", "models", "telemetry", "alerts", "events"]
JSON_COLUMNS = {"params", "metrics", "folds", "gates", "body", "data"}


def documented_columns(doc_path):
    """kind -> the column list docs/replay.md gives for it."""
    text = open(doc_path, encoding="utf-8").read()
    out = {}
    for kind in KINDS:
        m = re.search(r"^- " + kind + r": (.*)$", text, re.M)
        assert m, f"docs/replay.md lists no columns for {kind}"
        line = m.group(1).split(" — ")[0]
        out[kind] = re.findall(r"`([a-z_]+)`", line)
    return out


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nightshift", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--docs", required=True)
    args = parser.parse_args()
    documented = documented_columns(args.docs)

    work = tempfile.mkdtemp(prefix="ns-export-")
    bus = os.path.join(work, "bus")
    config = os.path.join(work, "config.yaml")
    with open(config, "w") as f:
        f.write(f"""
symbols: [BTCUSDT, ETHUSDT]
timeframes: [1h, 4h]
horizons: [1]
scheduler:
  lease_s: 3
  grace_s: 2
  trials_per_study: 2
telemetry:
  interval_ms: 50
  alerts:
    host_mem_pct: 0.5
storage:
  results_db: {work}/nightshift.db
  market_db: {work}/market.db
  artifacts_dir: {work}/models
  backups_dir: {work}/backups
bus:
  events_in: ipc://{bus}/ei
  events_out: ipc://{bus}/eo
  jobs_in: ipc://{bus}/ji
  jobs_out: ipc://{bus}/jo
  results_in: ipc://{bus}/ri
  results_out: ipc://{bus}/ro
  control: ipc://{bus}/c
fetcher:
  dataset_endpoint: ipc://{bus}/d
replay:
  control: ipc://{bus}/replay
""")
    ns = [args.nightshift, "--config", config]
    run = subprocess.run(ns + ["run", "--run-id", "exp", "--workers", "1",
                               "--worker-program", args.worker],
                         capture_output=True, text=True, timeout=120)
    check(run.returncode == 0, f"night run failed: {run.stderr[-2000:]}")

    db = sqlite3.connect(os.path.join(work, "nightshift.db"))
    stored = {
        "trials": db.execute("SELECT COUNT(*) FROM trials WHERE run='exp'").fetchone()[0],
        "models": db.execute("SELECT COUNT(*) FROM models WHERE run='exp'").fetchone()[0],
        "telemetry": db.execute("SELECT (SELECT COUNT(*) FROM telemetry_host) + "
                                "(SELECT COUNT(*) FROM telemetry_gpu)").fetchone()[0],
        "alerts": db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0],
        "events": db.execute("SELECT COUNT(*) FROM events").fetchone()[0],
    }
    for kind, n in stored.items():
        check(n > 0, f"the night stored no {kind}; the test cannot check their export")

    for kind in KINDS:
        columns = {}
        rows = {}
        for fmt in ["csv", "jsonl"]:
            out = os.path.join(work, f"{kind}.{fmt}")
            r = subprocess.run(ns + ["export", "exp", "--what", kind, "--format", fmt, "--out", out],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 0, f"export {kind} {fmt}: {r.stderr}")
            check(not os.path.exists(out + ".partial"), "a .partial file was left behind")
            if fmt == "csv":
                with open(out, newline="", encoding="utf-8") as f:
                    reader = csv.reader(f)
                    header = next(reader)
                    body = list(reader)
                for row in body:
                    check(len(row) == len(header), f"{kind} csv: a row of {len(row)} fields")
                    for name, value in zip(header, row):
                        if name in JSON_COLUMNS and value:
                            json.loads(value)  # the JSON columns are JSON text
                columns[fmt], rows[fmt] = header, body
            else:
                with open(out, encoding="utf-8") as f:
                    objects = [json.loads(line) for line in f]
                header = list(objects[0].keys()) if objects else []
                for o in objects:
                    check(list(o.keys()) == header, f"{kind} jsonl: keys differ between rows")
                    for name in JSON_COLUMNS & set(o):
                        check(o[name] is None or isinstance(o[name], (dict, list)),
                              f"{kind} jsonl: {name} is not nested JSON: {o[name]!r}")
                columns[fmt], rows[fmt] = header, objects
        doc = documented[kind]
        for fmt in ["csv", "jsonl"]:
            got = columns[fmt]
            if kind == "models":  # later migrations add columns after these
                check(got[:len(doc)] == doc, f"models {fmt} columns {got} do not start with {doc}")
            else:
                check(got == doc, f"{kind} {fmt} columns {got} are not the documented {doc}")
            check(len(rows[fmt]) == stored[kind],
                  f"{kind} {fmt}: {len(rows[fmt])} rows, the database holds {stored[kind]}")
        print(f"{kind}: {stored[kind]} rows, columns as documented")

    # Values survive: the trials' params read back equal to the stored JSON.
    with open(os.path.join(work, "trials.jsonl"), encoding="utf-8") as f:
        first = json.loads(f.readline())
    params = db.execute("SELECT params FROM trials WHERE run='exp' ORDER BY study, trial LIMIT 1").fetchone()[0]
    check(first["params"] == json.loads(params), "trials params differ from the stored JSON")

    # stdout, and an unknown run as one line and exit 1.
    r = subprocess.run(ns + ["export", "exp", "--what", "models", "--format", "csv"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and len(r.stdout.splitlines()) == stored["models"] + 1,
          f"export to stdout: {r.returncode} {r.stdout[:200]}")
    r = subprocess.run(ns + ["export", "nosuch", "--what", "trials"], capture_output=True, text=True,
                       timeout=60)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode == 1 and len(lines) == 1 and "nosuch" in lines[0],
          f"unknown run: exit {r.returncode}, stderr {r.stderr!r}")
    shutil.rmtree(work, ignore_errors=True)
    print("export_test: ok")


if __name__ == "__main__":
    main()
