"""The drill's client: one thread writing SET <prefix><n> <n> with n = 1, 2, 3... (a new key
for every attempt) through redis-py's Sentinel client (Sentinel.master_for: the master is
asked of the sentinels at every new connection), without redis-py's own retries, so that
every failure is seen and timed. It remembers which writes were acknowledged, when, and by
which server (the address its connection went to), and when attempts failed.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from pikadb.sentinel.drill_procs import Addr

WRITE_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError)


@dataclass
class Failure:
    start: float
    end: float
    error: str


@dataclass
class Writer:
    """Writes until stop() or max_seconds; times are time.monotonic()."""

    sentinels: list[Addr]
    master_name: str
    prefix: str
    rate: float = 200.0  # attempts per second at most; 0: as fast as it goes
    timeout: float = 1.0  # socket timeout of a write (a hung master shows as a timeout)
    max_seconds: float = 3600.0
    retry_delay: float = 0.02
    acked: list[int] = field(default_factory=list)
    ack_times: list[float] = field(default_factory=list)
    ack_addrs: list[Addr] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    attempts: int = 0
    crash: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def key(self, n: int) -> str:
        return f"{self.prefix}{n}"

    def start(self) -> Writer:
        self._thread = threading.Thread(target=self._run, name="drill-writer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout * 3 + 5)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        sentinel = Sentinel(self.sentinels, socket_timeout=0.5, socket_connect_timeout=0.5)
        master = sentinel.master_for(
            self.master_name,
            socket_timeout=self.timeout,
            socket_connect_timeout=min(self.timeout, 0.5),
            retry=Retry(NoBackoff(), 0),
        )
        try:
            self._loop(master.connection_pool)
        except BaseException as e:  # reported by the drill, which stops
            self.crash = e
        finally:
            master.close()
            for s in sentinel.sentinels:
                s.close()

    def _loop(self, pool: redis.ConnectionPool) -> None:
        deadline = time.monotonic() + self.max_seconds
        period = 1.0 / self.rate if self.rate > 0 else 0.0
        next_at = time.monotonic()
        n = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            n += 1
            self.attempts = n
            if not self._write(pool, n):
                time.sleep(self.retry_delay)
            if period:
                # No catching up after an outage: the plot shows the rate the client got.
                next_at = max(next_at + period, time.monotonic() - period)
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

    def _write(self, pool: redis.ConnectionPool, n: int) -> bool:
        start = time.monotonic()
        try:
            conn = pool.get_connection()
            try:
                conn.send_command("SET", self.key(n), n)
                reply = conn.read_response()
                addr = (str(conn.host), int(conn.port))
            except BaseException:
                conn.disconnect()
                raise
            finally:
                pool.release(conn)
        except WRITE_ERRORS as e:
            self.failures.append(Failure(start, time.monotonic(), type(e).__name__))
            return False
        end = time.monotonic()
        if reply not in (b"OK", "OK"):
            self.failures.append(Failure(start, end, f"reply {reply!r}"))
            return False
        self.acked.append(n)
        self.ack_addrs.append(addr)
        self.ack_times.append(end)
        return True

    # ---- what the drill asks afterwards ----

    def first_ack_on(self, addr: Addr, after: float) -> float | None:
        """Time of the first write acknowledged by addr after `after`."""
        times = self.ack_times[: len(self.ack_addrs)]
        i = bisect.bisect_right(times, after)
        for j in range(i, len(times)):
            if self.ack_addrs[j] == addr:
                return times[j]
        return None

    def acks_by_after(self, addr: Addr, after: float) -> int:
        """Writes acknowledged by addr after `after` (by an old master: a split brain)."""
        times = self.ack_times[: len(self.ack_addrs)]
        i = bisect.bisect_right(times, after)
        return sum(1 for j in range(i, len(times)) if self.ack_addrs[j] == addr)

    def first_failure(self, after: float, before: float) -> Failure | None:
        """The first attempt that ended after `after` without an ack, started before
        `before` (a write in flight at the fault counts: it blocked or failed)."""
        for f in list(self.failures):
            if f.end > after and f.start < before:
                return f
        return None

    def acked_before(self, t: float) -> list[int]:
        times = self.ack_times[: len(self.acked)]
        return self.acked[: bisect.bisect_right(times, t)]

    def acks_since(self, t: float) -> int:
        times = self.ack_times[:]
        return len(times) - bisect.bisect_right(times, t)


def missing_on(addr: Addr, writer: Writer, keys: list[int], chunk: int = 1000) -> list[int]:
    """The acknowledged writes that addr does not hold (MGET in chunks)."""
    c = redis.Redis(host=addr[0], port=addr[1], socket_timeout=30, decode_responses=True)
    missing: list[int] = []
    try:
        for i in range(0, len(keys), chunk):
            part = keys[i : i + chunk]
            values = c.mget([writer.key(n) for n in part])
            missing += [n for n, v in zip(part, values, strict=True) if v != str(n)]
    finally:
        c.close()
    return missing


def delete_keys(addr: Addr, writer: Writer, chunk: int = 1000) -> None:
    """Remove every key the writer tried (attached deployments are not the drill's)."""
    c = redis.Redis(host=addr[0], port=addr[1], socket_timeout=30)
    try:
        for i in range(1, writer.attempts + 1, chunk):
            c.delete(*[writer.key(n) for n in range(i, min(i + chunk, writer.attempts + 1))])
    finally:
        c.close()
