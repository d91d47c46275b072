#!/usr/bin/python3
"""Hostile clients against a live night run.

Starts a real `nightshift run` (real broker, fetcher, persister, scheduler,
telemetry and trainer workers, a tiny plan) in a fresh folder and, while it
runs, throws at every bound endpoint (the broker's six device endpoints, its
control endpoint and the fetcher's dataset endpoint) every ZeroMQ socket type
with random, empty, truncated, many-frame and oversized messages, and raw
bytes that are not ZMTP at all.

The night is held mid-run while the attacks land: once the first results
are stored the test stops the scheduler (SIGSTOP), so no new jobs go out and
the run cannot end early on a fast machine, while every other stage (broker,
fetcher, persister, telemetry, workers busy with the jobs already sent) keeps
serving; it continues the scheduler (SIGCONT) when the attacks are over.

Acceptance: the run exits 0, every job has exactly one trials row, no stage
restarted or died, and the broker and the dataset service say they saw (and
dropped) the attacks.

Adding a case: write `def attack_NAME(night)` decorated with @attack (it runs
while the night is live; `night` gives endpoints, a zmq context, a seeded
random generator and helpers such as `night.blast()` and `night.encode()`),
and, when the case leaves traces to verify, `def check_NAME(night)` decorated
with @check (runs after the run has exited; raise AssertionError or call
night.fail() to fail). Attacks run in the order they are defined.

Usage: hostile_bus_test.py --nightshift BIN [--transport default|tcp]
  default: the shipped endpoints (no bus section in the config; the run's
           working folder is fresh, so relative paths land in it)
  tcp:     loopback TCP ports picked free for this test
Exit 0 on success, 1 on failure (every failure printed).
"""

import argparse
import os
import random
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

ATTACKS = []
CHECKS = []


def attack(fn):
    ATTACKS.append(fn)
    return fn


def check(fn):
    CHECKS.append(fn)
    return fn


RUN_ID = "hostile"
BUS_KEYS = ["events_in", "events_out", "jobs_in", "jobs_out", "results_in", "results_out",
            "control"]

# Small: the night is held mid-run while the attacks land (see above).
NIGHT_YAML = """\
symbols: [BTCUSDT, ETHUSDT]
timeframes: [1h]
horizons: [1, 3]
num_workers: 2
scheduler:
  trials_per_study: 12
  lease_s: 10      # a job an attacker takes from jobs_out is lost; the lease re-sends it
  grace_s: 5
fetcher:
  source: synthetic
  history_days: 200
{dataset_endpoint}telemetry:
  enabled: true
  interval_ms: 200
  backends: [simulated]
storage:
  results_db: var/nightshift.db
  market_db: var/market.db
  artifacts_dir: var/models
dashboard:
  port: {dashboard_port}
"""

SOCKET_TYPES = {
    "REQ": zmq.REQ, "REP": zmq.REP, "DEALER": zmq.DEALER, "ROUTER": zmq.ROUTER,
    "PUB": zmq.PUB, "SUB": zmq.SUB, "XPUB": zmq.XPUB, "XSUB": zmq.XSUB,
    "PUSH": zmq.PUSH, "PULL": zmq.PULL, "PAIR": zmq.PAIR,
}


_given_ports = set()


def free_port():
    """A loopback TCP port free a moment ago and not handed out before by
    this process (the kernel may give a just-closed port again, and two
    endpoints on one port make the second bind fail)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


class Night:
    """One live night run and the tools to attack it."""

    def __init__(self, binary, transport, keep):
        self.binary = binary
        self.transport = transport
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix="nightshift-hostile-")
        self.rng = random.Random(1313)
        self.zmq = zmq.Context()
        self.failures = []
        self.proc = None
        self.stdout_path = os.path.join(self.dir, "run.stdout")
        self.stderr_path = os.path.join(self.dir, "run.stderr")
        self.max_message_bytes = 16 * 1024 * 1024
        self.endpoints = {}
        self.broker_stats = []  # stats answers collected during the run
        dataset_endpoint = ""
        if transport == "tcp":
            dataset_endpoint = "  dataset_endpoint: tcp://127.0.0.1:%d\n" % free_port()
        yaml = NIGHT_YAML.format(dashboard_port=free_port(), dataset_endpoint=dataset_endpoint)
        if transport == "tcp":
            yaml += "bus:\n"
            for key in BUS_KEYS:
                yaml += "  %s: tcp://127.0.0.1:%d\n" % (key, free_port())
        self.config_path = os.path.join(self.dir, "night.yaml")
        with open(self.config_path, "w") as f:
            f.write(yaml)
        self.endpoints = self._resolved_endpoints()
        self.db_path = os.path.join(self.dir, "var", "nightshift.db")
        self.log_dir = os.path.join(self.dir, "var", "logs", RUN_ID)

    def _resolved_endpoints(self):
        """Endpoints as `nightshift config show` reports them (the real loader)."""
        out = subprocess.run([self.binary, "--config", self.config_path, "config", "show"],
                             cwd=self.dir, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise SystemExit("config show failed: " + out.stderr)
        endpoints, section = {}, None
        for line in out.stdout.splitlines():
            if line and not line.startswith(" "):
                section = line.rstrip(":").strip()
                continue
            key, _, value = line.strip().partition(":")
            value = value.strip().strip('"')
            if section == "bus" and key in BUS_KEYS:
                endpoints[key] = value
            if section == "bus" and key == "max_message_bytes":
                self.max_message_bytes = int(value)
            if section == "fetcher" and key == "dataset_endpoint":
                endpoints["dataset"] = value
        missing = [k for k in BUS_KEYS + ["dataset"] if k not in endpoints]
        if missing:
            raise SystemExit("config show lacks " + ", ".join(missing) + ":\n" + out.stdout)
        # Relative ipc paths are relative to the run's working folder.
        for key, value in endpoints.items():
            if value.startswith("ipc://") and not value.startswith("ipc:///") \
                    and not value.startswith("ipc://@"):
                endpoints[key] = "ipc://" + os.path.join(self.dir, value[len("ipc://"):])
        return endpoints

    # --- the run -----------------------------------------------------------
    def start(self):
        argv = [self.binary, "--config", self.config_path, "run", "--run-id", RUN_ID]
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdout=open(self.stdout_path, "w"),
                                     stderr=open(self.stderr_path, "w"), start_new_session=True)

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.fail("the run was still going after %d s" % timeout)
            return None

    def output(self):
        text = ""
        for path in (self.stdout_path, self.stderr_path):
            with open(path, errors="replace") as f:
                text += f.read()
        return text

    def ask_control(self, command=b"stats", timeout_ms=1000):
        """The broker's answer to `command` through a well-behaved REQ, or None."""
        s = self.zmq.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        try:
            s.connect(self.endpoints["control"])
            s.send(command)
            if s.poll(timeout_ms, zmq.POLLIN):
                return s.recv()
            return None
        finally:
            s.close()

    def wait_for_broker(self, timeout_s=30):
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if not self.alive():
                return False
            if self.ask_control(b"stats", 300) is not None:
                return True
        return False

    def wait_for_dataset_service(self, timeout_s=30):
        """True once the fetcher answers a (deliberately malformed) request."""
        deadline = time.time() + timeout_s
        while time.time() < deadline and self.alive():
            s = self.zmq.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(self.endpoints["dataset"])
            s.send_multipart([b"dataset.request", b"\xc1"])
            answered = s.poll(500, zmq.POLLIN)
            s.close()
            if answered:
                return True
        return False

    def stored_trials(self):
        try:
            return query(self, "SELECT COUNT(*) FROM trials")
        except sqlite3.Error:
            return 0

    def scheduler_pid(self):
        """The supervisor's scheduler child, or None."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid and b"scheduler" in argv:
                return int(entry)
        return None

    def hold_mid_run(self, timeout_s=60):
        """Waits for the first stored result, then stops the scheduler."""
        deadline = time.time() + timeout_s
        while time.time() < deadline and self.alive():
            if self.stored_trials() > 0:
                pid = self.scheduler_pid()
                if pid is not None:
                    os.kill(pid, signal.SIGSTOP)
                    return pid
            time.sleep(0.05)
        return None

    def fail(self, message):
        self.failures.append(message)
        print("FAIL: " + message, flush=True)

    # --- message material ----------------------------------------------------
    def random_bytes(self, n):
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def encode(self, msg_type, data, stage="evil", seq=1):
        """A well-formed envelope body (the wire's header plus `data`)."""
        return msgpack.packb({"v": 1, "type": msg_type, "ts": time.time_ns(),
                              "src": {"host": "evil", "stage": stage, "pid": 666},
                              "seq": seq, "data": data}, use_bin_type=True)

    def junk_messages(self):
        """Random, empty, truncated, many-frame and malformed-msgpack messages."""
        rnd = self.rng
        good_job = self.encode("job", {"run": RUN_ID, "study": "x", "trial": 1})
        deep = b"\x91" * 200 + b"\xc0"                    # arrays nested 200 deep
        huge_claim = b"\xdd\x7f\xff\xff\xff"              # array32 claiming 2^31 items
        messages = [
            [self.random_bytes(rnd.randint(0, 64)) for _ in range(rnd.randint(1, 4))]
            for _ in range(20)
        ]
        messages += [
            [b""], [b"", b""], [b"", b"", b""],
            [b"job"], [b"job", b""], [b"result", good_job[: len(good_job) // 2]],
            [b"job", good_job[:1]], [b"event", b"\x82\xa1v"],
            [b"job", deep], [b"result", huge_claim], [b"result", b"\xdb\x7f\xff\xff\xff"],
            [b"event", b"\xdf\x7f\xff\xff\xff"],           # map32 claiming 2^31 entries [b"event", msgpack.packb([1, 2, 3])],
            [b"job", msgpack.packb({"v": 99, "type": "job"})],
            [b"job", good_job, b"trailing", b"frames"],
            [b"x"] * 1000,                                # many frames
            [b"stats", b"stats"], [b"ping"], [b"stats"],  # commands without a delimiter
            [b"\x01"], [b"\x00"], [b"\x01job."], [b"\x00job.", b"more"],  # (un)subscriptions
            [b"dataset.request", self.random_bytes(100)],
            [b"dataset.request", self.encode("dataset.request", {"symbol": 7})],
        ]
        return messages

    def oversized_message(self):
        return [b"job", b"\x00" * (self.max_message_bytes + 4096)]

    def blast(self, endpoint, type_name, messages, settle_s=0.03):
        """Connects a socket of `type_name` to `endpoint`, sends each message
        without blocking (refusals ignored: a socket type the endpoint does not
        accept never completes its handshake) and reads whatever comes back."""
        s = self.zmq.socket(SOCKET_TYPES[type_name])
        s.setsockopt(zmq.LINGER, 100)
        s.setsockopt(zmq.SNDHWM, 100000)
        s.setsockopt(zmq.SNDTIMEO, 0)
        if type_name == "REQ":
            s.setsockopt(zmq.REQ_RELAXED, 1)
        if type_name == "ROUTER":
            # Name the peer, so frames can be addressed to it.
            s.setsockopt(zmq.CONNECT_ROUTING_ID, b"peer")
        if type_name in ("SUB", "XSUB"):
            try:
                s.setsockopt(zmq.SUBSCRIBE, b"") if type_name == "SUB" else None
            except zmq.ZMQError:
                pass
        try:
            s.connect(endpoint)
            time.sleep(settle_s)
            for frames in messages:
                if type_name == "ROUTER":
                    frames = [b"peer"] + frames
                try:
                    s.send_multipart(frames, flags=zmq.NOBLOCK)
                except zmq.ZMQError:
                    pass
            deadline = time.time() + settle_s
            while time.time() < deadline:
                try:
                    if s.poll(10, zmq.POLLIN):
                        s.recv_multipart(zmq.NOBLOCK)
                except zmq.ZMQError:
                    break
        finally:
            s.close(linger=100)

    def raw_bytes(self, endpoint, payloads):
        """Bytes that are not ZMTP at all, straight to the listening socket."""
        for payload in payloads:
            if endpoint.startswith("tcp://"):
                host, port = endpoint[len("tcp://"):].rsplit(":", 1)
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                address = (host, int(port))
            elif endpoint.startswith("ipc://"):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                address = endpoint[len("ipc://"):]
            else:
                return
            s.settimeout(0.5)
            try:
                s.connect(address)
                s.sendall(payload)
                time.sleep(0.02)
            except OSError:
                pass
            finally:
                s.close()

    def require_bus_alive(self, after):
        if self.alive() and self.ask_control(b"stats", 3000) is None:
            self.fail("the broker's control endpoint stopped answering after " + after)


# --- attacks -------------------------------------------------------------------


@attack
def attack_control_dealer_without_delimiter(night):
    """The report that started issue 13: two random frames from a DEALER."""
    for _ in range(3):
        night.blast(night.endpoints["control"], "DEALER",
                    [[night.random_bytes(16), night.random_bytes(16)]])
    night.require_bus_alive("a DEALER sent two frames to control")


@attack
def attack_every_socket_type_at_every_endpoint(night):
    messages = night.junk_messages()
    for name, endpoint in night.endpoints.items():
        for type_name in SOCKET_TYPES:
            if not night.alive():
                return
            night.blast(endpoint, type_name, messages)
        night.require_bus_alive("junk at " + name)


@attack
def attack_frames_at_the_size_limit(night):
    """Just under maxmsgsize: the broker forwards them, the consumers' decoders
    (whose frame cap is the same size) must drop them without harm."""
    near = night.max_message_bytes - 64
    payloads = {"events_in": ("PUB", [b"job.started.hostile", b"\x00" * near]),
                "jobs_in": ("PUSH", [b"job", b"\xc1" * near]),
                "results_in": ("PUSH", [b"result", b"\x91" * near])}
    for name, (type_name, frames) in payloads.items():
        night.blast(night.endpoints[name], type_name, [frames], settle_s=0.1)
    night.require_bus_alive("frames at the size limit")


@attack
def attack_oversized_frames(night):
    big = night.oversized_message()
    for name, endpoint in night.endpoints.items():
        for type_name in ("PUSH", "PUB", "DEALER", "REQ", "XSUB", "PAIR"):
            if not night.alive():
                return
            night.blast(endpoint, type_name, [big], settle_s=0.05)
        night.require_bus_alive("oversized frames at " + name)


def dataset_exchange(night, request):
    """A well-formed dataset request through REQ; the decoded first reply part
    ('data' map), or None when nothing came back within 5 s."""
    s = night.zmq.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    try:
        s.connect(night.endpoints["dataset"])
        s.send_multipart([b"dataset.request", night.encode("dataset.request", request)])
        if not s.poll(5000, zmq.POLLIN):
            return None
        frames = s.recv_multipart()
        return msgpack.unpackb(frames[1], raw=False)["data"]
    finally:
        s.close()


@attack
def attack_dataset_requests_with_hostile_names(night):
    """Well-formed requests whose symbol climbs out of the csv folder or
    carries a newline (a forged log line): refused with status error."""
    good = {"source": "synthetic", "symbol": "BTCUSDT", "timeframe": "1h", "start_ts": 0,
            "end_ts": 0}
    reply = dataset_exchange(night, good)
    if reply is None or reply.get("status") not in ("ok", "unchanged"):
        night.fail("a well-formed dataset request was not served: %s" % (reply,))
    for symbol in ("../../../../etc/passwd", "BTC\n2026-12-03T00:00:00.000 error [run:1] forged",
                   "", "x" * 100, "..", "BTC/USDT"):
        for source in ("csv", "synthetic"):
            reply = dataset_exchange(night, dict(good, symbol=symbol, source=source))
            if reply is None or reply.get("status") != "error":
                night.fail("dataset request for symbol %r (source %s) was not refused: %r"
                           % (symbol, source, reply and {k: reply[k] for k in ("status", "error")
                                                        if k in reply}))


@attack
def attack_raw_bytes(night):
    payloads = [b"GET / HTTP/1.0\r\n\r\n", night.random_bytes(300), b"\xff" + b"\x00" * 8 + b"\x7f",
                b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x03\x00NULL" + b"\x00" * 60]
    for name, endpoint in night.endpoints.items():
        night.raw_bytes(endpoint, payloads)
    night.require_bus_alive("raw bytes")


@attack
def attack_control_flood(night):
    """Many requests, well formed and not, from many peers at once."""
    sockets = []
    for i in range(20):
        s = night.zmq.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(night.endpoints["control"])
        sockets.append(s)
    time.sleep(0.05)
    for s in sockets:
        for frames in ([b"", b"stats"], [b"", b"ping"], [b"", b"nonsense" * 100],
                       [b"", b""], [b"", b"stats", b"extra"], [b"x", b"", b"stats"]):
            try:
                s.send_multipart(frames, zmq.NOBLOCK)
            except zmq.ZMQError:
                pass
    time.sleep(0.2)
    for s in sockets:
        s.close()
    night.require_bus_alive("a control flood")
    stats = night.ask_control(b"stats")
    if stats is not None:
        night.broker_stats.append(stats)


# --- checks after the run --------------------------------------------------------


def query(night, sql):
    con = sqlite3.connect("file:%s?mode=ro" % night.db_path, uri=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


@check
def check_every_job_has_exactly_one_trials_row(night):
    jobs = query(night, "SELECT COUNT(*) FROM jobs WHERE run = '%s'" % RUN_ID)
    done = query(night, "SELECT COUNT(*) FROM jobs WHERE run = '%s' AND state = 'done'" % RUN_ID)
    trials = query(night, "SELECT COUNT(*) FROM trials WHERE run = '%s'" % RUN_ID)
    missing = query(night, "SELECT COUNT(*) FROM jobs j LEFT JOIN trials t ON t.run = j.run AND "
                           "t.study = j.study AND t.trial = j.trial WHERE j.run = '%s' AND "
                           "t.run IS NULL" % RUN_ID)
    all_trials = query(night, "SELECT COUNT(*) FROM trials")
    expected = 4 * 13  # 2 symbols x 1 timeframe x 2 horizons; 12 trials and a final fit each
    if not (jobs == done == trials == all_trials == expected and missing == 0):
        night.fail("expected %d jobs, all done, each with one trials row; got jobs %d, done %d, "
                   "trials %d (all runs %d), jobs without a row %d"
                   % (expected, jobs, done, trials, all_trials, missing))


@check
def check_no_stage_restarted_or_died(night):
    text = night.output()
    for needle in ("restarted ", "exited unexpectedly", "keeps failing", "giving up"):
        if needle in text:
            night.fail("the supervisor reported '%s':\n%s" % (needle, text[-3000:]))
    for name in sorted(os.listdir(night.log_dir)) if os.path.isdir(night.log_dir) else []:
        with open(os.path.join(night.log_dir, name), errors="replace") as f:
            log = f.read()
        for needle in ("terminate called", "Assertion", "Segmentation", "exception"):
            if needle in log:
                night.fail("%s mentions '%s'" % (name, needle))


@check
def check_logs_hold_no_raw_bytes_from_the_wire(night):
    """Bad input is quoted escaped: a newline from the wire would forge a log
    line (and the supervisor reports a stage's last line as its reason)."""
    for name in sorted(os.listdir(night.log_dir)):
        with open(os.path.join(night.log_dir, name), "rb") as f:
            data = f.read()
        try:
            text = data.decode("utf-8")  # the stages' own words may be UTF-8 (°C)
        except UnicodeDecodeError as e:
            night.fail("%s is not UTF-8 (raw bytes from the wire?): %s" % (name, e))
            continue
        bad = sorted({ord(c) for c in text if (ord(c) < 0x20 and c not in "\n\t") or c == "\x7f"})
        if bad:
            night.fail("%s holds control characters %s" % (name, bad[:10]))


@check
def check_the_attacks_were_seen_and_dropped(night):
    if not night.broker_stats:
        night.fail("no broker stats were collected during the run")
        return
    import json
    stats = json.loads(night.broker_stats[-1])
    dropped = sum(d.get("dropped", 0) for d in stats.get("devices", {}).values())
    if dropped == 0:
        night.fail("the broker dropped nothing: the attacks did not arrive: %s" % stats)
    fetcher_log = os.path.join(night.log_dir, "fetcher.log")
    with open(fetcher_log, errors="replace") as f:
        if "dataset request" not in f.read():
            night.fail("the fetcher never logged a bad dataset request: the attacks did not "
                       "arrive")


@check
def check_ipc_folder_is_private(night):
    for name, endpoint in night.endpoints.items():
        if not endpoint.startswith("ipc://"):
            continue
        folder = os.path.dirname(endpoint[len("ipc://"):])
        mode = stat.S_IMODE(os.stat(folder).st_mode)
        if mode != 0o700:
            night.fail("ipc folder %s of %s has mode %o, not 700" % (folder, name, mode))


def run_attacks(night):
    for fn in ATTACKS:
        if not night.alive():
            night.fail("the run ended before " + fn.__name__)
            return
        t0 = time.time()
        fn(night)
        print("%-50s %.1f s" % (fn.__name__, time.time() - t0), flush=True)
    stats = night.ask_control(b"stats", 3000) if night.alive() else None
    if stats is not None:
        night.broker_stats.append(stats)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nightshift", required=True)
    parser.add_argument("--transport", choices=["default", "tcp"], default="default")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    args = parser.parse_args()

    night = Night(os.path.abspath(args.nightshift), args.transport, args.keep)
    print("folder %s; endpoints %s" % (night.dir, night.endpoints), flush=True)
    started = time.time()
    status = None
    night.start()
    try:
        if not night.wait_for_broker():
            night.fail("the broker never answered on " + night.endpoints["control"])
        elif not night.wait_for_dataset_service():
            night.fail("the dataset service never answered on " + night.endpoints["dataset"])
        else:
            held = night.hold_mid_run()
            if held is None:
                night.fail("no result was stored, or no scheduler found, within 60 s")
            else:
                try:
                    run_attacks(night)
                finally:
                    os.kill(held, signal.SIGCONT)
        status = night.wait(180)
    finally:
        if night.alive():
            os.killpg(night.proc.pid, signal.SIGKILL)
            night.proc.wait()
    print("run exited %s after %.1f s" % (status, time.time() - started), flush=True)
    if status != 0:
        night.fail("the run exited %s, not 0:\n%s" % (status, night.output()[-3000:]))
    for fn in CHECKS:
        try:
            fn(night)
        except (AssertionError, sqlite3.Error, OSError, ValueError) as e:
            night.fail("%s: %s" % (fn.__name__, e))
    night.zmq.term()
    if night.failures:
        print("%d failure(s); folder kept: %s" % (len(night.failures), night.dir))
        return 1
    if not args.keep:
        shutil.rmtree(night.dir, ignore_errors=True)
    print("ok: %d attacks, %d checks" % (len(ATTACKS), len(CHECKS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
