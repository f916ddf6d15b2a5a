"""3. The cost of pikad's sync mode: redis-benchmark SET on a pikad master with one replica,
replication-mode async, then sync with min-replicas-to-ack 1 (CONFIG SET on the running
master, alternating per pipeline depth), and, for context, a redis-server master with one
replica (async: Redis has no sync mode). Between runs the replica catches up first, so no
run starts with the previous run's backlog. A sync run reports its sync_timeouts (replies
that gave up waiting) and whether the master degraded to async.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.compare import Result, run_benchmark
from bench.replication.procs import Server, Servers, caught_up, pair, wait_until

CLIENTS = 50


@dataclass
class SyncModeRow:
    kind: str
    mode: str  # "async" | "sync"
    pipeline: int
    result: Result
    note: str = ""


def _settle(master: Server, replica: Server) -> None:
    wait_until(lambda: caught_up(master, replica), 120, f"{master.kind} replica to catch up")


def _sync_note(master: Server, before: int) -> tuple[str, int]:
    info = master.info("replication")
    timeouts = int(info.get("sync_timeouts", "0"))
    notes = []
    if timeouts > before:
        notes.append(f"{timeouts - before} sync timeouts")
    if info.get("replication_mode_effective", "sync") != "sync":
        notes.append("degraded to async")
    return ", ".join(notes), timeouts


def measure(servers: Servers, n: int, pipelines: list[int]) -> list[SyncModeRow]:
    rows: list[SyncModeRow] = []
    master, replica = pair(servers, "pikad")
    c = master.client()
    c.config_set("min-replicas-to-ack", 1)
    timeouts = 0
    for p in pipelines:
        for mode in ("async", "sync"):
            c.config_set("replication-mode", mode)
            _settle(master, replica)
            result = run_benchmark(master.port, "set", n, CLIENTS, p)
            note = ""
            if mode == "sync":
                note, timeouts = _sync_note(master, timeouts)
            rows.append(SyncModeRow("pikad", mode, p, result, note))
    c.config_set("replication-mode", "async")
    c.close()
    servers.stop(replica)
    servers.stop(master)
    master, replica = pair(servers, "redis")
    for p in pipelines:
        _settle(master, replica)
        rows.append(
            SyncModeRow("redis", "async", p, run_benchmark(master.port, "set", n, CLIENTS, p))
        )
    servers.stop(replica)
    servers.stop(master)
    return rows
