#!/usr/bin/python3
"""The gateway's WebSocket streams, fed by real stages.

- /ws/gpu-stats delivers the GPU samples at the telemetry rate (2 simulated
  GPUs every 50 ms: about 40 messages a second).
- /ws?topics=alert.,telemetry.host delivers frames of those prefixes only,
  as `nightshift subscribe --json` prints them.
- A client that never reads (on /ws, every topic, at a fast telemetry rate)
  is closed once it is ws_client_buffer_bytes behind, and the gateway's
  RSS grows by less than that cap plus slack while it lasts.
- Bad streams: unknown path 404, too many topics 400.

Usage: gateway_ws_test.py --nightshift BIN
"""

import argparse
import json
import os
import socket
import sys
import time
import base64

import websocket  # python3-websocket

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway_fixture as g  # noqa: E402

CAP = 256 * 1024


def check_gpu_stream(night, f):
    ws = websocket.create_connection(night.url.replace("http", "ws") + "/ws/gpu-stats", timeout=5)
    start = time.time()
    messages = []
    while time.time() - start < 3:
        messages.append(json.loads(ws.recv()))
    ws.close()
    rate = len(messages) / 3.0
    f.check(30 <= rate <= 50, "/ws/gpu-stats at the telemetry rate: %.1f messages/s (2 GPUs at 20 Hz = 40)" % rate)
    gpus = {m["gpus"][0]["id"] for m in messages if m.get("gpus")}
    f.check(gpus == {0, 1}, "both GPUs streamed: %s" % gpus)
    first = messages[0]["gpus"][0] if messages else {}
    f.check({"temperature", "utilization", "memory_used", "health"} <= set(first), "sample fields as /gpu/stats")


def check_topics(night, f):
    ws = websocket.create_connection(night.url.replace("http", "ws") + "/ws?topics=alert.,telemetry.host", timeout=5)
    topics = set()
    start = time.time()
    while time.time() - start < 2:
        frame = json.loads(ws.recv())
        topics.add(frame["topic"].split(".")[0] + "." + frame["topic"].split(".")[1])
        f.check({"topic", "type", "ts", "src", "seq", "data"} <= set(frame), "frame fields as subscribe --json") or ws.close()
    ws.close()
    f.check(topics and all(t.startswith("alert.") or t == "telemetry.host" for t in topics),
            "only the asked prefixes: %s" % topics)


def handshake(port, path):
    key = base64.b64encode(os.urandom(16)).decode()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    s.connect(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    return s, head


def check_bad_streams(night, f):
    s, head = handshake(night.port, "/ws/nope")
    f.check(head.startswith(b"HTTP/1.1 404"), "unknown stream is 404 (%r)" % head[:20])
    s.close()
    s, head = handshake(night.port, "/ws?topics=" + ",".join("t%d." % i for i in range(40)))
    f.check(head.startswith(b"HTTP/1.1 400"), "40 topic prefixes is 400 (%r)" % head[:20])
    s.close()


def check_never_reads(night, f):
    pid = night.stages["gateway"].proc.pid
    before = g.rss_bytes(pid)
    slow = []
    for _ in range(4):
        s, head = handshake(night.port, "/ws")
        f.check(head.startswith(b"HTTP/1.1 101"), "upgrade accepted")
        slow.append(s)
    peak = before
    dropped = False
    start = time.time()
    while time.time() - start < 20:
        peak = max(peak, g.rss_bytes(pid))
        s, text, _ = g.http_get(night.url + "/metrics")
        if s == 200 and "nightshift_gateway_websocket_dropped_total 4" in text:
            dropped = True
            break
        time.sleep(0.2)
    for _ in range(10):
        peak = max(peak, g.rss_bytes(pid))
        time.sleep(0.1)
    growth = peak - before
    print("never-reading clients: RSS %d -> peak %d KiB (+%d KiB, cap %d KiB each), dropped: %s" % (
        before // 1024, peak // 1024, growth // 1024, CAP // 1024, dropped), flush=True)
    f.check(dropped, "the 4 clients that never read were dropped (metrics counter)")
    # Four clients, each at most CAP queued; 2 MiB slack for allocator and buffers.
    f.check(growth < 4 * CAP + 2 * 1024 * 1024, "RSS growth %d KiB within 4 x cap + 2 MiB" % (growth // 1024))
    for s in slow:
        s.close()
    f.check(g.http_get(night.url + "/gpu/stats")[0] == 200, "gateway serves after dropping them")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nightshift", required=True)
    args = parser.parse_args()
    f = g.Failures()
    night = g.Night(args.nightshift, interval_ms=50,
                    extra="  ws_client_buffer_bytes: %d\n" % CAP)
    # The dashboard section is last in CONFIG_YAML: `extra` lands inside it.
    try:
        night.start_live()
        check_gpu_stream(night, f)
        check_topics(night, f)
        check_bad_streams(night, f)
        check_never_reads(night, f)
    finally:
        night.cleanup(bool(f.items))
        if f.items:
            print("kept", night.dir)
    return f.done()


if __name__ == "__main__":
    sys.exit(main())
