#!/usr/bin/python3
"""CURVE + ZAP on the bus (issue 18), against a real broker and dataset service.

Starts `nightshift broker` and `nightshift fetcher` with security.curve on
loopback TCP ports in a fresh folder, with keys made by `nightshift keys
generate` (head, worker, telemetry roles; a stranger key never authorized),
and checks with python3-zmq CURVE clients that:

- a stranger cannot subscribe (a head publisher's events never reach it),
  cannot pull a job (the job stays for the real worker, who gets it), cannot
  push a result (the head's results consumer never sees it) and gets no
  answer from the dataset service;
- a telemetry-role key may publish events but cannot push results;
- the broker counts each refusal by endpoint (`broker --stats`), the fetcher
  logs its refusal;
- garbage bytes and a truncated CURVE handshake at every endpoint leave the
  broker answering (and counted as failed handshakes);
- startup refuses, each with one line: a secret key readable by others, a
  missing key, a non-loopback endpoint without CURVE (and only warns with
  security.insecure: true).

Usage: curve_security_test.py --nightshift BIN. Exit 0 on success.
"""

import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import zmq

FAILURES = []
BUS_KEYS = ["events_in", "events_out", "jobs_in", "jobs_out", "results_in", "results_out",
            "control"]
_used_ports = set()


def free_port():
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _used_ports:
            _used_ports.add(port)
            return port


def expect(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        FAILURES.append(what)


def read_key(path, field):
    for line in open(path):
        if line.startswith(field):
            return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError(f"{path}: no {field}")


class Setup:
    def __init__(self, nightshift, folder):
        self.bin = nightshift
        self.folder = folder
        self.endpoints = {k: f"tcp://127.0.0.1:{free_port()}" for k in BUS_KEYS}
        self.endpoints["dataset"] = f"tcp://127.0.0.1:{free_port()}"
        self.keys = os.path.join(folder, "keys")
        self.config = self.write_config("night.yaml")
        self.context = zmq.Context()

    def write_config(self, name, curve=True, extra_bus=None, secret=None, insecure=False):
        endpoints = dict(self.endpoints)
        endpoints.update(extra_bus or {})
        lines = ["symbols: [BTCUSDT]", "timeframes: [1h]", "horizons: [1]", "bus:"]
        lines += [f"  {k}: {v}" for k, v in endpoints.items() if k != "dataset"]
        lines += ["fetcher:", "  source: synthetic", f"  dataset_endpoint: {endpoints['dataset']}",
                  "storage:", f"  results_db: {self.folder}/night.db",
                  f"  market_db: {self.folder}/market.db",
                  "security:", f"  curve: {'true' if curve else 'false'}",
                  f"  insecure: {'true' if insecure else 'false'}",
                  f"  keys_dir: {self.keys}",
                  f"  secret_key_file: {secret or self.keys + '/head.key_secret'}",
                  f"  server_key_file: {self.keys}/head.key",
                  f"  authorized_keys_dir: {self.keys}/authorized"]
        path = os.path.join(self.folder, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def nightshift(self, *args, config=None, check=True):
        run = subprocess.run([self.bin, "-c", config or self.config, *args], capture_output=True,
                             text=True, timeout=60)
        if check and run.returncode != 0:
            raise AssertionError(f"nightshift {' '.join(args)}: {run.returncode}\n{run.stderr}")
        return run

    def client(self, kind, endpoint_key, key_name):
        s = self.context.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.curve_serverkey = read_key(f"{self.keys}/head.key", "public-key").encode()
        s.curve_publickey = read_key(f"{self.keys}/{key_name}.key_secret", "public-key").encode()
        s.curve_secretkey = read_key(f"{self.keys}/{key_name}.key_secret", "secret-key").encode()
        s.connect(self.endpoints[endpoint_key])
        return s

    def stats(self):
        return json.loads(self.nightshift("broker", "--stats").stdout)


def receive(sock, timeout_ms):
    if sock.poll(timeout_ms):
        return sock.recv_multipart()
    return None


def start(setup, stage):
    log = open(os.path.join(setup.folder, stage + ".log"), "w")
    return subprocess.Popen([setup.bin, "-c", setup.config, stage], stdout=log,
                            stderr=subprocess.STDOUT)


def wait_for_broker(setup):
    deadline = time.time() + 20
    while time.time() < deadline:
        run = setup.nightshift("broker", "--stats", check=False)
        if run.returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError("broker did not answer --stats")


def check_refusals(setup):
    ctx = setup.context
    # Events: a head publisher, a worker subscriber (admitted) and a stranger.
    pub = setup.client(zmq.PUB, "events_in", "head")
    good_sub = setup.client(zmq.SUB, "events_out", "worker")
    bad_sub = setup.client(zmq.SUB, "events_out", "stranger")
    for s in (good_sub, bad_sub):
        s.setsockopt(zmq.SUBSCRIBE, b"")
    time.sleep(1.0)
    got_good = got_bad = None
    for _ in range(20):
        pub.send_multipart([b"test.curve", b"\x80"])
        got_good = got_good or receive(good_sub, 100)
        got_bad = got_bad or receive(bad_sub, 1)
    got_bad = got_bad or receive(bad_sub, 300)
    expect(got_good is not None, "a worker key subscribes and hears the head's events")
    expect(got_bad is None, "a stranger key cannot subscribe")

    # Jobs: the stranger asks first; the job must wait for the worker.
    bad_pull = job_client(setup, "stranger")
    time.sleep(0.5)
    push = setup.client(zmq.PUSH, "jobs_in", "head")
    push.send_multipart([b"job", b"\x80"])
    expect(receive(bad_pull, 1500) is None, "a stranger key cannot pull a job")
    good_pull = job_client(setup, "worker")
    expect(receive(good_pull, 5000) is not None, "the job waits for the worker key, who pulls it")

    # Results: stranger and telemetry keys push; the head's consumer hears neither.
    consumer = setup.client(zmq.PULL, "results_out", "head")
    pushers = []
    for name in ("stranger", "telemetry"):
        s = setup.client(zmq.PUSH, "results_in", name)
        s.setsockopt(zmq.SNDTIMEO, 0)
        try:
            s.send_multipart([b"result", name.encode()])
        except zmq.Again:
            pass
        pushers.append(s)  # kept open: a closed socket would never finish its handshake
    got = receive(consumer, 1500)
    expect(got is None, f"stranger and telemetry keys cannot push results (got {got})")
    worker_push = setup.client(zmq.PUSH, "results_in", "worker")
    worker_push.send_multipart([b"result", b"worker"])
    expect(receive(consumer, 5000) == [b"result", b"worker"], "a worker key pushes a result")

    # Telemetry may publish.
    tele_pub = setup.client(zmq.PUB, "events_in", "telemetry")
    time.sleep(0.8)
    heard = None
    for _ in range(20):
        tele_pub.send_multipart([b"telemetry.host.x", b"\x80"])
        heard = heard or receive(good_sub, 100)
        if heard and heard[0] == b"telemetry.host.x":
            break
        heard = None
    expect(heard is not None, "a telemetry key publishes events")

    # Source addresses: a key limited to 10.9.9.9 is refused from loopback, one
    # limited to 127.0.0.0/8 is admitted.
    for name, fence in (("fenced", "10.9.9.9"), ("local", "127.0.0.0/8")):
        setup.nightshift("keys", "generate", name, "--role", "worker")
        with open(f"{setup.keys}/{name}.key", "a") as f:
            f.write(f'from = "{fence}"\n')
        setup.nightshift("keys", "authorize", f"{setup.keys}/{name}.key")
    good_pull.close()  # the next job must have only `local` to go to
    fenced = job_client(setup, "fenced")
    local = job_client(setup, "local")
    time.sleep(0.5)
    push.send_multipart([b"job", b"\x81"])
    expect(receive(local, 5000) is not None and receive(fenced, 500) is None,
           "a key's 'from' addresses: 127.0.0.0/8 admitted from loopback, 10.9.9.9 refused")

    # Dataset service: a stranger's request gets no answer.
    req = setup.client(zmq.REQ, "dataset", "stranger")
    req.send_multipart([b"dataset.request", b"\x80"])
    expect(receive(req, 2000) is None, "a stranger key gets no answer from the dataset service")

    stats = setup.stats()
    security = stats.get("security", {})
    by = security.get("refused_by_endpoint", {})
    print("broker security stats:", json.dumps(security))
    expect(security.get("curve") is True, "broker --stats says curve is on")
    expect(by.get("events_out", 0) >= 1, "the broker counts the refusal on events_out")
    expect(by.get("jobs_out", 0) >= 2, "the broker counts the refusals on jobs_out (stranger, fenced)")
    expect(by.get("results_in", 0) >= 2,
           "the broker counts both refusals on results_in (stranger, telemetry role)")
    expect(security.get("admitted", 0) >= 5, "the broker counts admitted keys")
    for s in (pub, good_sub, bad_sub, bad_pull, push, good_pull, consumer, worker_push, tele_pub,
              req, fenced, local, *pushers):
        s.close()


def job_client(setup, key):
    """A worker's end of jobs_out: a DEALER that announces one free slot
    (broker/job_credit.h: "NSJC", u64 received, u32 free)."""
    s = setup.client(zmq.DEALER, "jobs_out", key)
    s.send(struct.pack("<4sQI", b"NSJC", 0, 1))
    return s


def check_garbage(setup):
    before = setup.stats()
    for key in BUS_KEYS:
        host, port = setup.endpoints[key][len("tcp://"):].rsplit(":", 1)
        for payload in (os.urandom(200),
                        # a ZMTP 3.0 greeting asking for CURVE, then a cut-off HELLO
                        b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00CURVE" + b"\x00" * 15 +
                        b"\x00" * 32 + b"\x04\xc8\x05HELLO\x01\x00",
                        b"\xff\x00\x00"):
            with socket.create_connection((host, int(port)), timeout=2) as raw:
                try:
                    raw.sendall(payload)
                    raw.recv(64)
                except OSError:
                    pass
    time.sleep(0.5)
    after = setup.stats()
    expect(after["uptime_s"] > before["uptime_s"], "garbage handshakes: the broker still answers")
    failed = sum(d.get("handshakes_failed", 0) for d in after["devices"].values())
    print("handshakes_failed after garbage:", failed)


def check_startup_refusals(setup):
    # A secret key readable by others.
    loose = os.path.join(setup.keys, "loose.key_secret")
    shutil.copy(os.path.join(setup.keys, "head.key_secret"), loose)
    os.chmod(loose, 0o644)
    config = setup.write_config("loose.yaml", secret=loose)
    run = setup.nightshift("broker", config=config, check=False)
    lines = run.stderr.strip().splitlines()
    expect(run.returncode != 0 and len(lines) == 1 and "readable by group or others" in lines[0],
           f"a world-readable secret key refuses to start with one line: {lines}")
    config = setup.write_config("missing.yaml", secret=setup.keys + "/nobody.key_secret")
    run = setup.nightshift("worker", "--id", "1", config=config, check=False)
    lines = run.stderr.strip().splitlines()
    expect(run.returncode != 0 and len(lines) == 1 and "missing" in lines[0],
           f"a missing key refuses to start with one line: {lines}")
    wide = {"jobs_out": f"tcp://0.0.0.0:{free_port()}"}
    config = setup.write_config("open.yaml", curve=False, extra_bus=wide)
    run = setup.nightshift("broker", "--stats", config=config, check=False)
    lines = run.stderr.strip().splitlines()
    expect(run.returncode != 0 and len(lines) == 1 and "security.insecure" in lines[0],
           f"a non-loopback endpoint without CURVE refuses to start: {lines}")
    config = setup.write_config("insecure.yaml", curve=False, extra_bus=wide, insecure=True)
    run = setup.nightshift("config", "validate", config=config, check=False)
    run = setup.nightshift("broker", "--stats", config=config, check=False)
    expect("not authenticated" in run.stderr, "security.insecure: true warns at start")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nightshift", required=True)
    args = parser.parse_args()
    if not zmq.has("curve"):
        print("SKIP: python3-zmq's libzmq has no CURVE (issue 18: the security tests need it; "
              "Debian's libzmq5 has it, so CI runs them)")
        return 77
    folder = tempfile.mkdtemp(prefix="curve_security_")
    setup = Setup(os.path.abspath(args.nightshift), folder)
    for name, role in (("head", "head"), ("worker", "worker"), ("telemetry", "telemetry"),
                       ("stranger", "worker")):
        setup.nightshift("keys", "generate", name, "--role", role)
        if name != "stranger":
            setup.nightshift("keys", "authorize", f"{setup.keys}/{name}.key")
    listed = setup.nightshift("keys", "list").stdout
    expect("telemetry\ttelemetry" in listed and "stranger" not in listed,
           "keys list shows the authorized keys with roles")
    mode = os.stat(f"{setup.keys}/head.key_secret").st_mode & 0o777
    expect(mode == 0o600, f"keys generate writes the secret with mode 0600 ({oct(mode)})")
    procs = [start(setup, "broker"), start(setup, "fetcher")]
    try:
        wait_for_broker(setup)
        time.sleep(0.5)
        check_refusals(setup)
        check_garbage(setup)
        check_startup_refusals(setup)
        for p in procs:
            expect(p.poll() is None, f"{p.args[-1]} is still running")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)
    fetcher_log = open(os.path.join(folder, "fetcher.log")).read()
    expect("refused a connection to dataset" in fetcher_log, "the fetcher logs its refusal")
    expect("1 connections refused" in fetcher_log or "connections refused" in fetcher_log,
           "the fetcher reports refused connections at exit")
    setup.context.term()
    if FAILURES:
        print(open(os.path.join(folder, "broker.log")).read()[-3000:])
        print(f"{len(FAILURES)} failure(s); logs in {folder}")
        return 1
    shutil.rmtree(folder, ignore_errors=True)
    print("all CURVE checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
