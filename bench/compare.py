"""Side-by-side throughput of pikad and redis-server, measured by redis-benchmark in one run.

    python -m bench.compare [--tests set,get,incr,mset] [-n 200000] [-c 50] [--pipelines 1,16]

Starts a pikad and a redis-server on free loopback ports in temporary directories (both
children of this process, stopped by PID at the end), runs redis-benchmark against each
with the same arguments, alternating server per test so drift affects both alike, and
prints requests/s, p50/p99 latency and the pikad/redis ratio per test. It measures; it does
not judge. Figures go into the issue notes with the command that produced them.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not answer PING within {timeout}s")


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float


def run_benchmark(port: int, test: str, n: int, clients: int, pipeline: int) -> Result:
    out = subprocess.run(
        [
            "redis-benchmark",
            "-p",
            str(port),
            "-t",
            test,
            "-n",
            str(n),
            "-c",
            str(clients),
            "-P",
            str(pipeline),
            "--csv",
            "-r",
            "100000",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    if not rows:
        raise RuntimeError(f"redis-benchmark printed no result for {test}: {out!r}")
    # Some tests fill their key first (lrange_* runs an LPUSH row before its own): the
    # test's own figures are the last row.
    row = rows[-1]
    return Result(float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]))


def start_servers(tmp: str, pikad_args: list[str]) -> tuple[dict[str, int], list[subprocess.Popen]]:
    ports = {"pikad": free_port(), "redis": free_port()}
    procs = []
    pik_dir = os.path.join(tmp, "pikad")
    os.makedirs(pik_dir)
    procs.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pikadb",
                "--port",
                str(ports["pikad"]),
                "--dir",
                pik_dir,
                "--logfile",
                os.path.join(tmp, "pikad.log"),
                *pikad_args,
            ],
        )
    )
    red_dir = os.path.join(tmp, "redis")
    os.makedirs(red_dir)
    procs.append(
        subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(ports["redis"]),
                "--dir",
                red_dir,
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                os.path.join(tmp, "redis.log"),
            ],
        )
    )
    wait_ping(ports["pikad"], procs[0])
    wait_ping(ports["redis"], procs[1])
    return ports, procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tests", default="set,get,incr,mset")
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("-c", type=int, default=50)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument(
        "--pikad-arg",
        action="append",
        default=[],
        help="extra pikad directive, e.g. --pikad-arg=--sync-writes --pikad-arg=yes",
    )
    args = ap.parse_args(argv)
    if shutil.which("redis-benchmark") is None or shutil.which("redis-server") is None:
        print("redis-benchmark and redis-server are needed (Debian: redis-server redis-tools)")
        return 2
    tests = [t for t in args.tests.split(",") if t]
    pipelines = [int(p) for p in args.pipelines.split(",")]
    tmp = tempfile.mkdtemp(prefix="pikadb-bench-")
    ports, procs = start_servers(tmp, args.pikad_arg)
    rows = []
    try:
        for pipeline in pipelines:
            for test in tests:
                pik = run_benchmark(ports["pikad"], test, args.n, args.c, pipeline)
                red = run_benchmark(ports["redis"], test, args.n, args.c, pipeline)
                rows.append((test, pipeline, pik, red))
                print(
                    f"  {test:<10} -P {pipeline:<3} pikad {pik.rps:>11,.0f} rps   "
                    f"redis {red.rps:>11,.0f} rps   ratio {pik.rps / red.rps:.2f}",
                    flush=True,
                )
    finally:
        stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"redis-benchmark -n {args.n} -c {args.c} -r 100000 (same run, alternating servers)")
    print(
        f"{'test':<10} {'-P':>3} {'pikad rps':>12} {'redis rps':>12} {'ratio':>6} "
        f"{'pikad p50/p99 ms':>17} {'redis p50/p99 ms':>17}"
    )
    for test, pipeline, pik, red in rows:
        print(
            f"{test:<10} {pipeline:>3} {pik.rps:>12,.0f} {red.rps:>12,.0f} "
            f"{pik.rps / red.rps:>6.2f} {pik.p50_ms:>8.3f}/{pik.p99_ms:<8.3f} "
            f"{red.p50_ms:>8.3f}/{red.p99_ms:<8.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
