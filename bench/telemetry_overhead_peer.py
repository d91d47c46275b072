#!/usr/bin/python3
"""Peer for bench/telemetry_overhead: the psutil sampler users ran before.

The same host metrics nightshift's telemetry stage samples (CPU %, memory,
load, the configured disks, RSS and CPU % of every process whose name
starts with "nightshift", found again every 5 s as nightshift does), read
the psutil way, encoded as the same msgpack message (header + telemetry.host
payload) and published the same way: a ZeroMQ PUB (pyzmq) connected to the
broker's events_in, with the bus's socket options, on the same topic.

Usage:
  telemetry_overhead_peer.py publish ENDPOINT INTERVAL_MS OPTIONS_JSON
      sample and publish every INTERVAL_MS until SIGTERM (absolute deadlines,
      like the stage; a sample that falls behind by a whole interval skips ahead)
  telemetry_overhead_peer.py tight SAMPLES
      SAMPLES samples in a tight loop, no publish; prints CPU us per sample
Needs Debian's python3-psutil, python3-zmq, python3-msgpack (/usr/bin/python3).
"""
import json
import os
import signal
import socket
import sys
import time

import msgpack
import psutil
import zmq

SCHEMA_MAJOR = 1
RESCAN_S = 5.0  # nightshift's OwnProcesses rescans /proc every 5 s
PROCESS_NAME = "nightshift"


class Sampler:
    def __init__(self, disks):
        self.host = socket.gethostname()
        self.disks = disks
        self.processes = []
        self.scanned_at = None
        psutil.cpu_percent(interval=None)  # the first call only sets the baseline

    def own_processes(self, now):
        if self.scanned_at is None or now - self.scanned_at >= RESCAN_S:
            self.scanned_at = now
            known = {p.pid: p for p in self.processes}
            found = []
            for p in psutil.process_iter(["name"]):
                if (p.info["name"] or "").startswith(PROCESS_NAME):
                    found.append(known.get(p.pid, p))
            self.processes = sorted(found, key=lambda p: p.pid)
        out = []
        for p in self.processes:
            try:
                with p.oneshot():
                    out.append({"pid": p.pid, "name": p.name(), "rss_bytes": p.memory_info().rss,
                                "cpu_pct": p.cpu_percent(interval=None)})
            except psutil.Error:
                pass
        return out

    def sample(self, now):
        memory = psutil.virtual_memory()
        load1, load5, load15 = psutil.getloadavg()
        disks = []
        for path in self.disks:
            usage = psutil.disk_usage(path)
            disks.append({"path": path, "used_bytes": usage.used, "total_bytes": usage.total})
        return {"host": self.host, "cpu_pct": psutil.cpu_percent(interval=None),
                "mem_total_bytes": memory.total, "mem_used_bytes": memory.used,
                "mem_available_bytes": memory.available, "load1": load1, "load5": load5,
                "load15": load15, "disks": disks, "processes": self.own_processes(now)}


def topic_segment(raw):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in raw)


def publish(endpoint, interval_ms, options):
    sampler = Sampler(options["disks"])
    context = zmq.Context(1)
    pub = context.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, options["linger_ms"])
    pub.setsockopt(zmq.MAXMSGSIZE, options["max_message_bytes"])
    pub.setsockopt(zmq.SNDHWM, options["send_hwm"])
    pub.setsockopt(zmq.RCVHWM, options["recv_hwm"])
    pub.setsockopt(zmq.HEARTBEAT_IVL, options["heartbeat_ivl_ms"])
    pub.setsockopt(zmq.HEARTBEAT_TIMEOUT, options["heartbeat_timeout_ms"])
    pub.setsockopt(zmq.HEARTBEAT_TTL, options["heartbeat_ttl_ms"])
    pub.setsockopt(zmq.RECONNECT_IVL, 100)
    pub.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
    pub.setsockopt(zmq.IMMEDIATE, 1)
    pub.connect(endpoint)
    topic = ("telemetry.host." + topic_segment(sampler.host)).encode()
    source = {"host": sampler.host, "stage": "telemetry", "pid": os.getpid()}
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    interval = interval_ms / 1000.0
    seq = 0
    next_at = time.monotonic()
    while running[0]:
        seq += 1
        body = msgpack.packb({"v": SCHEMA_MAJOR, "type": "telemetry.host", "ts": time.time_ns(),
                              "src": source, "seq": seq, "data": sampler.sample(time.monotonic())})
        pub.send_multipart([topic, body])
        next_at = max(next_at + interval, time.monotonic() - interval)
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    pub.close()
    context.term()


def tight(samples):
    # The clock the stage's own tight loop gives its sampler: 10 Hz steps, so
    # the process list is found again every 50 samples on both sides.
    sampler = Sampler(["/"])
    start = time.process_time()
    for i in range(samples):
        sampler.sample(i * 0.1)
    print(json.dumps({"us_per_sample": (time.process_time() - start) / samples * 1e6}))


def main():
    if sys.argv[1] == "publish":
        publish(sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]))
    else:
        tight(int(sys.argv[2]))


if __name__ == "__main__":
    main()
