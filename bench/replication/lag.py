"""2. Replication lag under load: redis-benchmark SET load on the master while a probe
writes `lagprobe:<n>` = the current time (ns) to the master every PROBE_EVERY s and polls
the replica (MGET of the oldest pending probes, every POLL_SLEEP s) until it is there.

A probe's lag is from the master's +OK to the first replica reply that shows the key, so it
includes up to one poll interval and one replica round trip (about 1-2 ms of resolution),
and the time a busy replica takes to answer a read at all. The writer runs in its own
thread (a slow replica read does not delay the next probe; a slow master SET does: probes
are then written as fast as the master answers). Probing stops when redis-benchmark ends
or after max_seconds; probes still unseen then get DRAIN s more. Catch-up is the time from the end of the load until the replica's
slave_repl_offset equals the master's master_repl_offset.

Beside each run, the same redis-benchmark against a master of the same kind without a
replica (alone): what attaching a replica costs the master's SET throughput.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from bench.compare import Result, run_benchmark
from bench.replication.procs import BenchTimeout, Server, Servers, caught_up, pair, wait_until

PROBE_EVERY = 0.010
POLL_SLEEP = 0.001
POLL_AT_MOST = 100  # pending probes asked per MGET (the oldest; the stream is in order)
DRAIN = 30.0
CLIENTS = 50


@dataclass
class LagReport:
    kind: str
    pipeline: int
    bench: Result | None = None
    lags_ms: list[float] = field(default_factory=list)
    probes: int = 0
    unseen: int = 0
    probe_seconds: float = 0.0
    catchup_s: float | None = None
    alone: Result | None = None  # the same load on a master without a replica

    @property
    def with_replica_ratio(self) -> float | None:
        if self.bench is None or self.alone is None or not self.alone.rps:
            return None
        return self.bench.rps / self.alone.rps

    def pct(self, q: float) -> float:
        s = sorted(self.lags_ms)
        return s[min(len(s) - 1, int(len(s) * q))] if s else float("nan")


def _bench_thread(port: int, n: int, pipeline: int, out: list[Result | BaseException]) -> None:
    try:
        out.append(run_benchmark(port, "set", n, CLIENTS, pipeline))
    except BaseException as e:
        out.append(e)


class _Writer(threading.Thread):
    """Writes a probe key to the master every PROBE_EVERY s (or as fast as it answers)."""

    def __init__(self, master: Server, rep: LagReport) -> None:
        super().__init__(daemon=True)
        self.client = master.client()
        self.rep = rep
        self.pending: dict[bytes, float] = {}  # key -> when the master acknowledged it
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._write_probes()
        except BaseException as e:
            self.error = e
        finally:
            self.client.close()

    def _write_probes(self) -> None:
        next_write = time.perf_counter()
        while not self.stopped.is_set():
            key = b"lagprobe:%d" % self.rep.probes
            self.client.set(key, time.time_ns())
            now = time.perf_counter()
            with self.lock:
                self.pending[key] = now
            self.rep.probes += 1
            next_write = max(next_write + PROBE_EVERY, now)
            self.stopped.wait(max(0.0, next_write - time.perf_counter()))

    def oldest(self) -> list[bytes]:
        with self.lock:
            return list(self.pending)[:POLL_AT_MOST]

    def seen(self, key: bytes, when: float) -> float:
        with self.lock:
            return when - self.pending.pop(key)


def alone(servers: Servers, kind: str, n: int, pipeline: int) -> Result:
    """The lag run's redis-benchmark on a master of this kind without a replica."""
    master = servers.start(kind, "alone")
    try:
        return run_benchmark(master.port, "set", n, CLIENTS, pipeline)
    finally:
        servers.stop(master)


def probe(servers: Servers, kind: str, n: int, pipeline: int, max_seconds: float) -> LagReport:
    rep = LagReport(kind, pipeline)
    rep.alone = alone(servers, kind, n, pipeline)
    master, replica = pair(servers, kind)
    r = replica.client()
    writer = _Writer(master, rep)
    out: list[Result | BaseException] = []
    worker = threading.Thread(
        target=_bench_thread, args=(master.port, n, pipeline, out), daemon=True
    )

    def poll() -> None:
        keys = writer.oldest()
        if not keys:
            return
        values = r.mget(keys)
        now = time.perf_counter()
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                rep.lags_ms.append(writer.seen(key, now) * 1000)

    start = time.perf_counter()
    worker.start()
    writer.start()
    try:
        while worker.is_alive() and time.perf_counter() - start < max_seconds:
            poll()
            time.sleep(POLL_SLEEP)
    finally:
        writer.stopped.set()
        writer.join(timeout=60)
    rep.probe_seconds = time.perf_counter() - start
    worker.join(timeout=600)
    load_end = time.perf_counter()
    while writer.pending and time.perf_counter() - load_end < DRAIN:
        poll()
        time.sleep(POLL_SLEEP)
    rep.unseen = len(writer.pending)
    if writer.error is not None:
        raise RuntimeError(f"the lag probe failed on {kind}: {writer.error}") from writer.error
    if out and isinstance(out[0], BaseException):
        raise RuntimeError(f"redis-benchmark failed on {kind}: {out[0]}") from out[0]
    rep.bench = out[0] if out else None
    try:
        wait_until(lambda: caught_up(master, replica), DRAIN, f"{kind} replica to catch up")
        rep.catchup_s = time.perf_counter() - load_end
    except BenchTimeout:
        rep.catchup_s = None
    r.close()
    servers.stop(replica)
    servers.stop(master)
    return rep
