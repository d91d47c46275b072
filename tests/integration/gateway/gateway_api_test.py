#!/usr/bin/python3
"""The gateway's HTTP API over real HTTP, fed by real stages.

1. A short supervised `nightshift run` (simulated GPUs) must start the
   gateway, print its URL and serve /api/status while it runs; the run is
   stored for the history endpoints.
2. Then broker, telemetry (2 simulated GPUs heating to 85 °C), persister and
   gateway run as separate stages on the same database: every documented
   endpoint answers with its documented fields; bad parameters give 400,
   unknown ids and paths 404, other methods 405; GPU health follows the
   alert rules; /metrics passes `promtool check metrics`.
3. Hostile clients (garbage, huge headers, slowloris, traversal) leave it
   serving; history survives a gateway restart (SIGKILL, start again).
4. Token rules: a non-loopback bind without a token is refused with one
   line; with a token, 401 without it, 200 with Bearer or ?token=.

Usage: gateway_api_test.py --nightshift BIN [--promtool PATH]
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway_fixture as g  # noqa: E402

GPU_FIELDS = {"id", "host", "name", "backend", "simulated", "temperature", "utilization",
              "memory_used", "memory_total", "memory_percent", "power", "sm_clock_mhz",
              "mem_clock_mhz", "fan_rpm", "fan_percent", "health"}
STATUS_FIELDS = {"run", "status", "total", "completed", "running", "failed", "skipped", "pending",
                 "progress_pct", "eta_s", "eta", "speed_jobs_per_s", "cpu_pct", "ram_pct",
                 "disk_pct", "recent_jobs", "symbols", "recent_failures", "active_alerts"}


def check_night_run(night, f):
    seen = {}

    def watch(n):
        def status_ok():
            s, body, _ = g.http_get(n.url + "/api/status")
            if s == 200 and body.get("run") == "r1" and body.get("total", 0) > 0:
                seen["status"] = body
                return True
            return False
        g.wait_until(status_ok, 60, step=0.2)
    code, out = night.run_night("r1", watch=watch)
    f.check(code == 0, "night run exits 0 (got %s): %s" % (code, out[-800:]))
    f.check("dashboard: http://127.0.0.1:%d/" % night.port in out, "run prints the dashboard URL")
    f.check("status" in seen, "the gateway started by `run` served /api/status of run r1 while it ran")
    if "status" in seen:
        f.check(STATUS_FIELDS <= set(seen["status"]), "/api/status fields: %s" % sorted(seen["status"]))


def check_endpoints(night, f):
    url = night.url
    g.wait_until(lambda: g.http_get(url + "/gpu/stats")[1]["gpus"] and len(g.http_get(url + "/gpu/stats")[1]["gpus"]) == 2, 15)
    # The simulated GPUs reach 85 °C after 10 samples (1 s): critical by the rules.
    g.wait_until(lambda: all(x["temperature"] == 85 for x in g.http_get(url + "/gpu/stats")[1]["gpus"]), 15)
    s, stats, _ = g.http_get(url + "/gpu/stats")
    f.check(s == 200 and len(stats["gpus"]) == 2, "/gpu/stats has 2 GPUs")
    for gpu in stats["gpus"]:
        f.check(GPU_FIELDS <= set(gpu), "/gpu/stats GPU fields: %s" % sorted(gpu))
        f.check(gpu["health"]["status"] == "critical", "85 °C is critical health: %s" % gpu["health"])
    s, info, _ = g.http_get(url + "/gpu/info")
    f.check(s == 200 and info["gpu_count"] == 2 and info["thresholds"]["temperature_critical_c"] == 80,
            "/gpu/info: count and thresholds")
    s, health, _ = g.http_get(url + "/health")
    f.check(s == 200 and health["status"] == "healthy" and health["database"] == "open",
            "/health: %s" % health)
    s, status, _ = g.http_get(url + "/api/v1/analytics/gpu/status")
    f.check(s == 200 and status["status"] == "critical" and status["gpu_count"] == 2,
            "analytics gpu/status overall critical")
    f.check(all("device_id" in x and "health" in x for x in status["gpus"]), "analytics gpus have device_id, health")
    s, one, _ = g.http_get(url + "/api/v1/analytics/gpu/metrics?device_id=1")
    f.check(s == 200 and one["device_id"] == 1 and one["metrics"]["index"] == 1,
            "analytics gpu/metrics?device_id=1")
    for bad in ["", "?device_id=", "?device_id=x", "?device_id=-1", "?device_id=1e3"]:
        s, body, _ = g.http_get(url + "/api/v1/analytics/gpu/metrics" + bad)
        f.check(s == 400 and "error" in body, "gpu/metrics%s is 400 with error (got %s)" % (bad, s))
    s, body, _ = g.http_get(url + "/api/v1/analytics/gpu/metrics?device_id=7")
    f.check(s == 404 and "error" in body, "unknown device_id is 404")
    s, hist, _ = g.http_get(url + "/gpu/history?minutes=10")
    f.check(s == 200 and hist["minutes"] == 10 and len(hist["samples"]) > 5 and "timestamp" in hist["samples"][0],
            "/gpu/history?minutes=10 has samples (%s)" % (len(hist["samples"]) if s == 200 else s))
    for bad in ["?minutes=0", "?minutes=abc", "?minutes=100000", "?minutes=%zz"]:
        s, body, _ = g.http_get(url + "/gpu/history" + bad)
        f.check(s == 400 and "error" in body, "/gpu/history%s is 400 (got %s)" % (bad, s))
    s, st, _ = g.http_get(url + "/api/status")
    f.check(s == 200 and STATUS_FIELDS <= set(st), "/api/status fields")
    f.check(st["run"] == "r1" and st["total"] > 0, "/api/status without a live run shows the latest stored run: %s" % st.get("run"))

    s, runs, _ = g.http_get(url + "/api/runs")
    f.check(s == 200 and [r["run"] for r in runs["runs"]] == ["r1"], "/api/runs lists r1")
    run = runs["runs"][0] if s == 200 and runs["runs"] else {}
    f.check(run.get("status") == "completed" and run.get("done_jobs") == run.get("total_jobs"),
            "r1 completed with every job done: %s" % run)
    s, r1, _ = g.http_get(url + "/api/runs/r1")
    f.check(s == 200 and {"jobs_by_state", "results", "promoted", "recent_failures"} <= set(r1), "/api/runs/r1 fields")
    s, studies, _ = g.http_get(url + "/api/runs/r1/studies")
    f.check(s == 200 and len(studies["studies"]) == 2, "/api/runs/r1/studies has 2 studies")
    study = studies["studies"][0]["study"] if s == 200 and studies["studies"] else "x"
    f.check({"study", "cv_auc", "holdout_auc", "promoted", "verdict"} <= set(studies["studies"][0]), "study fields")
    s, trials, _ = g.http_get(url + "/api/runs/r1/trials?study=" + study)
    f.check(s == 200 and len(trials["trials"]) >= 2 and "metrics" in trials["trials"][0],
            "/api/runs/r1/trials?study= has the trials")
    s, body, _ = g.http_get(url + "/api/runs/r1/trials")
    f.check(s == 400 and "error" in body, "trials without study is 400")
    s, body, _ = g.http_get(url + "/api/runs/r1/trials?study=NOPE.1h.h1.x")
    f.check(s == 404, "unknown study is 404")
    for path in ["/api/runs/nope", "/api/runs/nope/studies", "/api/runs/r1/other", "/nope", "/api/nope",
                 "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/static/../../etc/passwd"]:
        s, body, _ = g.http_get(url + path)
        f.check(s == 404, "%s is 404 (got %s)" % (path, s))
    s, alerts, _ = g.http_get(url + "/api/alerts?active=1")
    levels = sorted({a["level"] for a in alerts["alerts"]}) if s == 200 else []
    f.check(s == 200 and "critical" in levels, "active alerts include the critical GPU temperature: %s" % levels)
    s, body, _ = g.http_get(url + "/api/alerts?active=yes")
    f.check(s == 400, "active=yes is 400")
    s, workers, _ = g.http_get(url + "/api/workers")
    f.check(s == 200 and "workers" in workers, "/api/workers")
    for method in ["POST", "PUT", "DELETE", "PATCH"]:
        s, body, _ = g.http_get(url + "/api/status", method=method)
        f.check(s == 405 and "error" in body, "%s is 405 (got %s)" % (method, s))
    s, page, headers = g.http_get(url + "/")
    f.check(s == 200 and "gpu-cards" in page and headers.get("Content-Type", "").startswith("text/html"), "/ serves the dashboard")
    s, chart, _ = g.http_get(url + "/chart.min.js")
    f.check(s == 200 and "Chart.js" in chart[:200], "/chart.min.js is Debian's Chart.js")


def check_metrics(night, f, promtool):
    s, text, _ = g.http_get(night.url + "/metrics")
    f.check(s == 200, "/metrics answers")
    for name in ["nightshift_gpu_temperature_celsius{", "nightshift_gpu_utilization_ratio{",
                 "nightshift_gpu_memory_used_bytes{", "nightshift_gpu_power_watts{",
                 "nightshift_host_cpu_utilization_ratio{", "nightshift_host_memory_used_bytes{",
                 "nightshift_alerts_active{", "nightshift_broker_messages_total{"]:
        f.check(name in text, "/metrics has %s" % name)
    check = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
    f.check(check.returncode == 0, "promtool check metrics: %s %s" % (check.stdout.decode(), check.stderr.decode()))


def check_hostile(night, f):
    port = night.port
    gw = night.stages["gateway"]
    answer = g.raw_request(port, os.urandom(4096) + b"\r\n\r\n", shutdown=True)
    f.check(answer == b"" or answer.startswith(b"HTTP/1.1 400"), "garbage bytes: 400 or closed (%r)" % answer[:40])
    huge = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"
    answer = g.raw_request(port, huge)
    f.check(answer.startswith(b"HTTP/1.1 431") or answer == b"", "huge header: 431 (%r)" % answer[:40])
    many = b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(5000)) + b"\r\n"
    answer = g.raw_request(port, many)
    f.check(answer.startswith(b"HTTP/1.1 431") or answer == b"", "5000 headers: 431 (%r)" % answer[:40])
    body = b"POST /api/status HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 100000
    answer = g.raw_request(port, body)
    f.check(answer.startswith(b"HTTP/1.1 413") or answer == b"", "10 MB body: 413 (%r)" % answer[:40])
    for target in [b"/../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/..%2f..%2fetc%2fpasswd",
                   b"//etc/passwd", b"/index.html/../../../etc/passwd", b"/%00", b"*"]:
        answer = g.raw_request(port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        f.check((answer.startswith(b"HTTP/1.1 404") or answer.startswith(b"HTTP/1.1 400")) and b"root:" not in answer,
                "traversal %r: 404/400 (%r)" % (target, answer[:30]))
    # Slowloris: 20 connections trickle a header byte a second; the server
    # cuts them at its request timeout and serves others meanwhile.
    slow = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    start = time.time()
    served = g.http_get(night.url + "/health")[0] == 200
    f.check(served, "served /health while 20 slowloris clients hold connections")
    closed = 0
    while time.time() - start < 16 and slow:
        for s in list(slow):
            try:
                s.settimeout(0.05)
                s.sendall(b"X")
                if s.recv(100) == b"":
                    closed += 1
                    s.close()
                    slow.remove(s)
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                closed += 1
                slow.remove(s)
        time.sleep(0.5)
    f.check(not slow, "slowloris connections cut within the request timeout (%d left)" % len(slow))
    for s in slow:
        s.close()
    # A request and then a half-read: the server must not hang on us.
    f.check(gw.proc.poll() is None, "gateway still running after the hostile clients")
    f.check(g.http_get(night.url + "/gpu/stats")[0] == 200, "gateway still serves after the hostile clients")


def check_restart(night, f):
    night.stages["gateway"].stop(signal.SIGKILL)
    night.start("gateway", log_name="gateway")
    night.wait_for_gateway()
    s, runs, _ = g.http_get(night.url + "/api/runs")
    f.check(s == 200 and [r["run"] for r in runs["runs"]] == ["r1"], "history after a gateway restart")
    s, hist, _ = g.http_get(night.url + "/gpu/history?minutes=10")
    f.check(s == 200 and hist["source"] == "database" and len(hist["samples"]) > 5,
            "GPU history after a restart comes from the database")


def check_tokens(night, f):
    # dashboard.bind has no environment override: a config for it.
    open_cfg = os.path.join(night.dir, "open.yaml")
    with open(night.config) as src, open(open_cfg, "w") as dst:
        dst.write(src.read().replace("dashboard:\n", "dashboard:\n  bind: 0.0.0.0\n"))
    refused = subprocess.run([night.binary, "--config", open_cfg, "gateway"], cwd=night.dir,
                             capture_output=True, timeout=20, env=night.env)
    lines = [l for l in (refused.stdout + refused.stderr).decode().splitlines() if l.strip()]
    f.check(refused.returncode != 0 and len(lines) == 1 and "dashboard.token" in lines[0],
            "non-loopback bind without a token: refused in one line (%s, %s)" % (refused.returncode, lines))
    port = g.free_port()
    env = dict(night.env, NIGHTSHIFT_DASHBOARD_TOKEN="s3cret-token")
    with open(os.path.join(night.dir, "gateway-token.log"), "ab") as out:
        proc = subprocess.Popen([night.binary, "--config", open_cfg, "gateway", "--port", str(port)],
                                cwd=night.dir, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        base = "http://127.0.0.1:%d" % port
        g.wait_until(lambda: g.http_get(base + "/health")[0] == 401, 15)
        s, body, headers = g.http_get(base + "/gpu/stats")
        f.check(s == 401 and "error" in body and headers.get("WWW-Authenticate") == "Bearer", "no token: 401")
        f.check(g.http_get(base + "/gpu/stats", {"Authorization": "Bearer wrong"})[0] == 401, "wrong token: 401")
        f.check(g.http_get(base + "/gpu/stats", {"Authorization": "Bearer s3cret-token"})[0] == 200, "Bearer token: 200")
        f.check(g.http_get(base + "/gpu/stats?token=s3cret-token")[0] == 200, "?token=: 200")
        f.check(g.http_get(base + "/metrics?token=s3cret-token")[0] == 200, "/metrics with ?token=: 200")
    finally:
        proc.terminate()
        proc.wait(10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nightshift", required=True)
    parser.add_argument("--promtool", default="/usr/bin/promtool")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    f = g.Failures()
    night = g.Night(args.nightshift)
    try:
        t0 = time.time()
        check_night_run(night, f)
        print("night run: %.1f s" % (time.time() - t0), flush=True)
        night.start_live()
        check_endpoints(night, f)
        check_metrics(night, f, args.promtool)
        check_hostile(night, f)
        check_restart(night, f)
        check_tokens(night, f)
        print("total: %.1f s" % (time.time() - t0), flush=True)
    finally:
        night.cleanup(args.keep or bool(f.items))
        if f.items:
            print("kept", night.dir)
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
