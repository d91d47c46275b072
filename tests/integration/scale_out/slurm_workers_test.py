#!/usr/bin/python3
"""Workers as Slurm job steps (issue 18): deploy/slurm/nightshift-workers.sbatch
against a running head, on a single-node Slurm from Debian (munge, slurmctld
and slurmd on localhost, configured here in a temporary folder).

Needs root and the slurm-wlm/munge packages; otherwise prints why and exits
77 (ctest: skipped). Steps:

  1. munged, slurmctld, slurmd on private ports and paths; sinfo shows the node;
  2. scripts/start-head --workers 0 with CURVE on (loopback TCP), a worker key
     for the cluster authorized;
  3. sbatch the workers script (2 workers on the node) and see its job step
     in `squeue --steps`; once results are stored, scancel the job mid-run;
  4. sbatch it again: the new allocation's workers re-run the leased jobs and
     the night completes — one trials row per job, none skipped, rows from
     both allocations.

Usage: slurm_workers_test.py --nightshift BIN --source DIR
"""

import argparse
import os
import signal
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_out_config import head_config  # noqa: E402

SKIP = 77


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def can_run():
    if os.geteuid() != 0:
        return "needs root (slurmd and munged run as root here)"
    for tool in ("munged", "slurmctld", "slurmd", "sbatch", "scancel", "squeue", "sinfo"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install slurm-wlm munge)"
    return ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nightshift", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    why = can_run()
    if why:
        print(f"SKIP: slurm_workers_test {why} (issue 18: root-only by design; CI runs .ci/run as root, so it runs there)")
        return SKIP
    binary = os.path.abspath(args.nightshift)
    source = os.path.abspath(args.source)
    folder = tempfile.mkdtemp(prefix="nightshift-slurm-")
    os.chmod(folder, 0o755)
    failures = []
    procs = []

    def expect(ok, what):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            failures.append(what)

    def run(*cmd, env=None, check=True):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {r.returncode}: {r.stdout}{r.stderr}")
        return r

    ctl_port, d_port, *bus_ports = free_ports(10)
    munge = f"{folder}/munge"
    os.makedirs(munge, mode=0o700)
    for d in ("state", "spool", "log"):
        os.makedirs(f"{folder}/{d}")
    with open(f"{munge}/munge.key", "wb") as f:
        f.write(os.urandom(1024))
    os.chmod(f"{munge}/munge.key", 0o400)
    conf = f"{folder}/slurm.conf"
    with open(conf, "w") as f:
        f.write(f"""ClusterName=nstest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge}/munge.sock
CredType=cred/munge
SlurmctldPort={ctl_port}
SlurmdPort={d_port}
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/log/slurmctld.log
SlurmdLogFile={folder}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
KillWait=5
NodeName=localhost CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
    env = dict(os.environ, SLURM_CONF=conf, NIGHTSHIFT_BIN=binary)
    env.pop("NIGHTSHIFT_WORKERS", None)
    names = ["events_in", "events_out", "jobs_in", "jobs_out", "results_in", "results_out",
             "control", "dataset"]
    ports = dict(zip(names, bus_ports))
    config = f"{folder}/night.yaml"
    with open(config, "w") as f:
        f.write(head_config(folder, "127.0.0.1", ports, 40, 400))
    start = time.time()
    db = f"{folder}/head/nightshift.db"
    try:
        procs.append(subprocess.Popen(
            # -f: /tmp is group/world-writable (sticky), which munged refuses unless forced
            ["munged", "-F", "-f", f"--key-file={munge}/munge.key", f"--socket={munge}/munge.sock",
             f"--pid-file={munge}/munged.pid", f"--log-file={munge}/munged.log",
             f"--seed-file={munge}/seed"], stdout=open(f"{folder}/log/munged.out", "w"),
            stderr=subprocess.STDOUT))
        time.sleep(0.5)
        for daemon in ("slurmctld", "slurmd"):
            procs.append(subprocess.Popen([daemon, "-D", "-f", conf], env=env,
                                          stdout=open(f"{folder}/log/{daemon}.out", "w"),
                                          stderr=subprocess.STDOUT))
            time.sleep(1)
        deadline = time.time() + 20
        while "idle" not in run("sinfo", "-h", env=env, check=False).stdout:
            if time.time() > deadline:
                raise RuntimeError("the Slurm node did not come up idle")
            time.sleep(0.5)
        expect(True, "single-node Slurm is up (munge, slurmctld, slurmd)")

        run(binary, "-c", config, "keys", "generate", "head", "--role", "head")
        run(binary, "-c", config, "keys", "generate", "cluster", "--role", "worker")
        run(binary, "-c", config, "keys", "authorize", f"{folder}/keys/cluster.key")
        run(f"{source}/scripts/start-head", "--config", config, "--state", f"{folder}/head",
            "--run-id", "slurm", "--workers", "0", "--no-telemetry", env=env)

        def submit():
            out = run("sbatch", "--nodes=1", f"--output={folder}/log/workers-%j.out",
                      "--export=ALL,NIGHTSHIFT_HEAD=127.0.0.1,NIGHTSHIFT_WORKERS_PER_NODE=2,"
                      f"NIGHTSHIFT_CONFIG={config},NIGHTSHIFT_BIN={binary},"
                      f"NIGHTSHIFT_SECRET_KEY={folder}/keys/cluster.key_secret",
                      f"{source}/deploy/slurm/nightshift-workers.sbatch", env=env).stdout
            return re.search(r"(\d+)", out).group(1)

        def count(sql, *a):
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
                    return c.execute(sql, a).fetchone()[0]
            except sqlite3.Error:
                return 0

        first = submit()
        saw_step = False
        deadline = time.time() + 60
        while time.time() < deadline:
            steps = run("squeue", "--steps", "-h", env=env, check=False).stdout
            saw_step = saw_step or f"{first}.0" in steps
            if count("SELECT count(*) FROM trials WHERE worker LIKE ?", f"%/slurm{first}-%") >= 20:
                break
            time.sleep(0.3)
        expect(saw_step, f"the workers run as a Slurm job step ({first}.0 in squeue --steps)")
        before = count("SELECT count(*) FROM trials")
        # SIGKILL to the batch script and every step at once: the workers die
        # in the middle of their jobs, so their leases must expire and the
        # jobs be re-run by the next allocation (a plain scancel sends
        # SIGTERM first, and workers may finish what they hold, leaving
        # nothing to re-run and this path untested).
        run("scancel", "--signal=KILL", "--full", first, env=env)
        print(f"scancel --signal=KILL --full {first} after {before} results", flush=True)
        time.sleep(3)
        head_pid = open(f"{folder}/head/pids/head.pid").read().strip()
        expect(os.path.exists(f"/proc/{head_pid}"), "the head runs on after scancel")
        second = submit()
        deadline = time.time() + 120
        while time.time() < deadline and os.path.exists(f"/proc/{head_pid}"):
            time.sleep(0.5)
        expect(not os.path.exists(f"/proc/{head_pid}"), "the night ended within 120 s")
        planned = count("SELECT count(*) FROM jobs WHERE run = 'slurm'")
        stored = count("SELECT count(*) FROM trials WHERE run = 'slurm'")
        distinct = count("SELECT count(DISTINCT study || '/' || trial) FROM trials WHERE run = 'slurm'")
        undone = count("SELECT count(*) FROM jobs WHERE run = 'slurm' AND state != 'done'")
        first_rows = count("SELECT count(*) FROM trials WHERE worker LIKE ?", f"%/slurm{first}-%")
        second_rows = count("SELECT count(*) FROM trials WHERE worker LIKE ?", f"%/slurm{second}-%")
        # Jobs whose lease expired (the scheduler sent them again) and where
        # their one result came from: the second allocation.
        expired = count("SELECT count(*) FROM jobs WHERE run = 'slurm' AND attempts > 1")
        retried = count("SELECT count(*) FROM jobs j JOIN trials t USING (run, study, trial) "
                        "WHERE j.run = 'slurm' AND j.attempts > 1 AND t.worker LIKE ?",
                        f"%/slurm{second}-%")
        print(f"planned {planned}, stored {stored}, first allocation {first_rows}, second "
              f"{second_rows}, leases expired {expired}, of those re-run by the second {retried}",
              flush=True)
        expect(stored == planned and distinct == stored and planned > 0,
               "exactly one trials row per planned job")
        expect(undone == 0, "no job left undone or skipped")
        expect(first_rows > 0 and second_rows > 0, "rows from both allocations")
        expect(expired >= 1 and retried == expired,
               "the cancelled allocation's leased jobs were re-run by the new allocation")
        status = count("SELECT status = 'completed' FROM runs WHERE run = 'slurm'")
        expect(status == 1, "the run is completed")
    finally:
        subprocess.run(["scancel", "--signal=KILL", "--full", "--user=root"], env=env, capture_output=True)
        # Let slurmd reap its steps before it goes, then stop the daemons.
        quiet_by = time.time() + 10
        while time.time() < quiet_by:
            queue = subprocess.run(["squeue", "-h"], env=env, capture_output=True, text=True)
            if queue.returncode != 0 or not queue.stdout.strip():
                break
            time.sleep(0.3)
        subprocess.run([f"{source}/scripts/stop", "--state", f"{folder}/head"], capture_output=True)
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        kill_strays(folder)
    print(f"took {time.time() - start:.0f} s")
    if failures:
        print(f"{len(failures)} failure(s); files in {folder}")
        return 1
    shutil.rmtree(folder, ignore_errors=True)
    return 0


def kill_strays(folder):
    """Kills what this test's Slurm left behind (slurmstepd and the workers
    it ran hold files in the test's folder): nothing may outlive the test."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            held = any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith(folder) for fd in fds)
        except OSError:
            continue
        if held:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
