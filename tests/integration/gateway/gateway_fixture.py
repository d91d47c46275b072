"""Test support for the gateway tests: a fresh folder with a config, real
nightshift processes (a short supervised night run, then broker, telemetry
with the simulated GPU backend, persister and gateway as separate stages on
the same database), HTTP and WebSocket helpers.

The night run stores a finished run for the history endpoints (and checks
that `run` starts the gateway and prints its URL); the standalone stages
feed the gateway live telemetry and alerts afterwards.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

_given_ports = set()


def free_port():
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


CONFIG_YAML = """\
symbols: [BTCUSDT, ETHUSDT]
timeframes: [1h]
horizons: [1]
num_workers: 1
scheduler:
  trials_per_study: {trials}
fetcher:
  source: synthetic
  history_days: 120
telemetry:
  enabled: true
  interval_ms: {interval_ms}
  backends: [simulated]
  simulated:
    gpus: 2
    temp_profile_c: [{temps}]
    step_samples: 5
storage:
  results_db: var/nightshift.db
  market_db: var/market.db
  artifacts_dir: var/models
dashboard:
  port: {port}
{extra}"""


class Failures:
    def __init__(self):
        self.items = []

    def check(self, condition, what):
        if not condition:
            self.items.append(what)
            print("FAIL:", what, flush=True)
        return condition

    def done(self):
        if self.items:
            print("%d failure(s)" % len(self.items))
            for item in self.items:
                print("  -", item)
            return 1
        print("ok")
        return 0


class Stage:
    def __init__(self, night, name, args, log_name=None):
        self.name = name
        self.log = os.path.join(night.dir, (log_name or name) + ".log")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([night.binary, "--config", night.config] + args,
                                         cwd=night.dir, stdout=out, stderr=subprocess.STDOUT,
                                         env=night.env)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def output(self):
        with open(self.log, errors="replace") as f:
            return f.read()


class Night:
    """A folder, a config and the processes started in it."""

    def __init__(self, binary, interval_ms=100, temps="60, 75, 85", extra="", trials=2):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="nightshift-gateway-")
        self.port = free_port()
        self.config = os.path.join(self.dir, "night.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG_YAML.format(interval_ms=interval_ms, temps=temps, port=self.port, trials=trials,
                                       extra=extra))
        self.env = dict(os.environ)
        self.env.pop("NIGHTSHIFT_DASHBOARD_TOKEN", None)
        self.env.pop("NIGHTSHIFT_DASHBOARD_PORT", None)
        self.stages = {}
        self.url = "http://127.0.0.1:%d" % self.port

    def run_night(self, run_id="r1", timeout=90, watch=None):
        """A whole supervised run; `watch(night)` is called while it runs.
        Returns (exit code, stdout)."""
        out_path = os.path.join(self.dir, "run.out")
        with open(out_path, "wb") as out:
            proc = subprocess.Popen([self.binary, "--config", self.config, "run", "--run-id", run_id,
                                     "--workers", "1"], cwd=self.dir, stdout=out,
                                    stderr=subprocess.STDOUT, env=self.env)
            if watch:
                watch(self)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)
                proc.wait(30)
        with open(out_path, errors="replace") as f:
            return proc.returncode, f.read()

    def start(self, name, args=None, log_name=None):
        stage = Stage(self, name, args if args is not None else [name], log_name)
        self.stages[log_name or name] = stage
        return stage

    def start_live(self):
        """Broker, telemetry, persister and gateway as separate stages."""
        self.start("broker")
        wait_until(lambda: subprocess.run([self.binary, "--config", self.config, "broker", "--stats"],
                                          cwd=self.dir, capture_output=True).returncode == 0, 15)
        self.start("persister")
        self.start("telemetry")
        self.start("gateway")
        self.wait_for_gateway()

    def wait_for_gateway(self, timeout=15):
        ok = wait_until(lambda: http_get(self.url + "/health")[0] == 200, timeout)
        if not ok:
            raise RuntimeError("gateway did not answer on %s: %s" % (
                self.url, self.stages["gateway"].output()[-2000:]))

    def stop_all(self):
        for name in ["gateway", "telemetry", "persister", "broker"]:
            if name in self.stages:
                self.stages[name].stop()
        for stage in self.stages.values():
            stage.stop()

    def cleanup(self, keep=False):
        self.stop_all()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(predicate, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(step)
    return False


def http_get(url, headers=None, method="GET", timeout=5):
    """(status, parsed JSON or text, headers); status 0 when nothing answered."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            status, got = response.status, response.headers
    except urllib.error.HTTPError as e:
        body, status, got = e.read(), e.code, e.headers
    except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
        return 0, None, {}
    kind = got.get("Content-Type", "")
    if kind.startswith("application/json"):
        return status, json.loads(body), got
    return status, body.decode("utf-8", "replace"), got


def raw_request(port, data, read_timeout=5, shutdown=False):
    """Sends raw bytes; returns what came back before the server closed or
    the timeout (bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        chunks = []
        try:
            s.sendall(data)
            if shutdown:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and hang up before it has read everything
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def child_pid(parent_pid, name):
    """The pid of `parent`'s child whose command line has `name` as a word."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != parent_pid:
                continue
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                args = f.read().split(b"\0")
            if name.encode() in args:
                return int(entry)
        except (OSError, ValueError, IndexError):
            continue
    return None
