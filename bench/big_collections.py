"""Big collections on pikad: point/range latency inside them, O(1) DEL, background reclaim.

    python -m bench.big_collections [-n 1000000]

Starts a pikad on a free loopback port in a temporary directory (stopped by PID at the end),
fills a hash of n fields and a sorted set of n members, measures HGET, ZSCORE and
ZRANGEBYSCORE ... LIMIT 0 10 latency (random probes, one round trip each), then DELs both,
timing the DEL replies, and reports the data directory's disk usage before the DEL, right
after it, and once the background reclaim and its compaction are done. It measures; the
integration test tests/integration/test_big_collections.py asserts the behaviour.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import redis

from bench.compare import free_port, wait_ping

FILL_BATCH = 1000  # elements per HSET/ZADD command while filling


@dataclass
class Report:
    n: int
    fill_s: dict[str, float] = field(default_factory=dict)
    latency_us: dict[str, tuple[float, float]] = field(default_factory=dict)  # p50, p99
    del_ms: dict[str, float] = field(default_factory=dict)
    disk: dict[str, int] = field(default_factory=dict)
    reclaim_s: float = 0.0

    def lines(self) -> list[str]:
        out = [f"n = {self.n:,} elements per collection"]
        for k, v in self.fill_s.items():
            out.append(f"  fill {k:<6} {v:8.1f} s   ({self.n / v:,.0f} elements/s)")
        for k, (p50, p99) in self.latency_us.items():
            out.append(f"  {k:<34} p50 {p50:8.1f} us   p99 {p99:8.1f} us")
        for k, v in self.del_ms.items():
            out.append(f"  DEL {k:<6} {v:8.2f} ms")
        for k, v in self.disk.items():
            out.append(f"  disk {k:<28} {v / 1e6:10.1f} MB")
        out.append(f"  reclaim + compaction finished {self.reclaim_s:.1f} s after the DELs")
        return out


def dir_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, len(samples) * 99 // 100)]


def _timed(fn, probes: int) -> tuple[float, float]:
    out = []
    for _ in range(probes):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e6)
    return _percentiles(out)


def fill(r: redis.Redis, n: int) -> dict[str, float]:
    times = {}
    t = time.perf_counter()
    pipe = r.pipeline(transaction=False)
    for start in range(0, n, FILL_BATCH):
        mapping = {b"f%09d" % i: b"v%d" % i for i in range(start, min(n, start + FILL_BATCH))}
        pipe.hset("bighash", mapping=mapping)
        if len(pipe) >= 50:
            pipe.execute()
    pipe.execute()
    times["hash"] = time.perf_counter() - t
    t = time.perf_counter()
    for start in range(0, n, FILL_BATCH):
        mapping = {b"m%09d" % i: i for i in range(start, min(n, start + FILL_BATCH))}
        pipe.zadd("bigzset", mapping)
        if len(pipe) >= 50:
            pipe.execute()
    pipe.execute()
    times["zset"] = time.perf_counter() - t
    return times


def wait_reclaimed(r: redis.Redis, timeout: float) -> float:
    """Seconds until INFO persistence says reclaim_in_progress:0."""
    t = time.perf_counter()
    deadline = t + timeout
    while time.perf_counter() < deadline:
        if r.info("persistence").get("reclaim_in_progress") == 0:
            return time.perf_counter() - t
        time.sleep(0.1)
    raise TimeoutError(f"reclaim still in progress after {timeout}s")


def measure(port: int, data_dir: str, n: int, probes: int = 2000) -> Report:
    r = redis.Redis(port=port)
    rep = Report(n)
    rep.fill_s = fill(r, n)
    assert r.hlen("bighash") == n and r.zcard("bigzset") == n
    rnd = random.Random(7)
    rep.latency_us["HGET bighash <random field>"] = _timed(
        lambda: r.hget("bighash", b"f%09d" % rnd.randrange(n)), probes
    )
    rep.latency_us["ZSCORE bigzset <random member>"] = _timed(
        lambda: r.zscore("bigzset", b"m%09d" % rnd.randrange(n)), probes
    )

    def zrange_limit() -> None:
        lo = rnd.randrange(n)
        r.zrangebyscore("bigzset", lo, "+inf", start=0, num=10)

    rep.latency_us["ZRANGEBYSCORE lo +inf LIMIT 0 10"] = _timed(zrange_limit, probes)
    time.sleep(1.0)  # let memtables settle so the sizes compare like with like
    # RocksDB's files only: the binlog keeps its segments until binlog retention, not reclaim.
    data_dir = os.path.join(data_dir, "shards")
    rep.disk["before DEL"] = dir_size(data_dir)
    for key, name in (("bighash", "hash"), ("bigzset", "zset")):
        t = time.perf_counter()
        assert r.delete(key) == 1
        rep.del_ms[name] = (time.perf_counter() - t) * 1000
    rep.disk["right after DEL"] = dir_size(data_dir)
    rep.reclaim_s = wait_reclaimed(r, timeout=300)
    rep.disk["after reclaim + compaction"] = dir_size(data_dir)
    r.close()
    return rep


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="pikadb-big-")
    data = os.path.join(tmp, "data")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pikadb",
            "--port",
            str(port),
            "--dir",
            data,
            "--logfile",
            os.path.join(tmp, "pikad.log"),
        ]
    )
    try:
        wait_ping(port, proc)
        print("\n".join(measure(port, data, args.n).lines()))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
