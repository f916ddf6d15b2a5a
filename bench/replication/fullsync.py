"""1. Full-sync throughput: an empty replica of a master holding `size` bytes of random values.

The clock starts at REPLICAOF on the (already running, empty) replica and stops at the first
poll (every POLL s) that sees its link up, no sync in progress and the master's DBSIZE.
Bytes are the data set as transferred: pikad, the checkpoint bytes the master announces
("sending N checkpoint file(s), X bytes" in its log; the replica's master_sync_total_bytes
is the same figure); redis-server, the RDB stream the replica received
(INFO stats total_net_repl_input_bytes of a fresh replica).

pikad: the master keeps one small binlog segment (binlog-segment-size 8mb,
binlog-keep-segments 1), so an empty replica cannot replay the binlog from id 1 and gets a
checkpoint; every run checks that the master's log says so. One run with
full-sync-max-bytes-per-sec 0 (no cap), one with the default (200 MiB/s = 209.7 MB/s).
redis-server: its defaults (7.0: diskless sync, repl-diskless-sync-delay 5), then the same
with the delay at 0 (the 5 s wait for more replicas is not transfer time).
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass

from bench.replication.loader import Loaded, load
from bench.replication.procs import BenchTimeout, Server, Servers, wait_until

POLL = 0.02
PIKAD_MASTER = {"binlog-segment-size": "8mb", "binlog-keep-segments": "1"}
PIKAD_DEFAULT_CAP = 209715200
_SENDING = re.compile(r"Full sync to replica \S+: sending \d+ checkpoint file\(s\), (\d+) bytes")


@dataclass
class SyncRun:
    kind: str
    setting: str
    seconds: float | None  # None: timed out
    bytes: int
    note: str = ""

    @property
    def mb_per_s(self) -> float | None:
        if not self.seconds:
            return None
        return self.bytes / 1e6 / self.seconds


@dataclass
class FullSyncReport:
    size: int
    loads: dict[str, Loaded]
    runs: list[SyncRun]


def _complete(replica: Server, keys: int, seen: dict[str, str]) -> bool:
    info = replica.info("replication")
    if "master_sync_total_bytes" in info:
        seen["total"] = info["master_sync_total_bytes"]
    if info.get("master_link_status") != "up" or info.get("master_sync_in_progress") != "0":
        return False
    return replica.dbsize() == keys


def _same_sample(master: Server, replica: Server, keys: int) -> bool:
    m, r = master.client(), replica.client()
    try:
        names = [b"fs:%d" % i for i in random.Random(3).sample(range(keys), min(keys, 20))]
        return m.mget(names) == r.mget(names)
    finally:
        m.close()
        r.close()


def _sync_once(
    servers: Servers, master: Server, keys: int, setting: str, timeout: float
) -> tuple[Server, SyncRun]:
    """Start an empty replica, REPLICAOF, time until complete."""
    replica = servers.start(master.kind, "replica")
    seen: dict[str, str] = {}
    c = replica.client()
    t0 = time.perf_counter()
    c.execute_command("REPLICAOF", "127.0.0.1", master.port)
    c.close()
    try:
        wait_until(lambda: _complete(replica, keys, seen), timeout, "the full sync", POLL)
    except BenchTimeout as e:
        return replica, SyncRun(master.kind, setting, None, 0, f"{e}; {replica.log_tail(3)}")
    seconds = time.perf_counter() - t0
    if not _same_sample(master, replica, keys):
        raise RuntimeError(f"{master.kind} replica ({setting}): values differ from the master")
    if master.kind == "pikad":
        sent = _SENDING.findall(master.log_text())
        if not sent:
            raise RuntimeError("pikad master did not do a full sync (incremental instead?)")
        nbytes = int(sent[-1])
    else:
        nbytes = int(replica.info("stats")["total_net_repl_input_bytes"])
    return replica, SyncRun(master.kind, setting, seconds, nbytes)


def _wait_purged(master: Server) -> None:
    def purged() -> bool:
        c = master.client()
        try:
            info = c.info("persistence")
        finally:
            c.close()
        shards = [v for k, v in info.items() if k.startswith("binlog_shard")]
        return bool(shards) and all(int(s["first_id"]) > 1 for s in shards)  # type: ignore[index]

    wait_until(purged, 30, "the pikad master to purge its first binlog segment", 0.2)


def measure(servers: Servers, size: int, timeout: float) -> FullSyncReport:
    report = FullSyncReport(size, {}, [])
    # pikad
    master = servers.start("pikad", "master", PIKAD_MASTER)
    report.loads["pikad"] = loaded = load(master.port, size, timeout)
    _wait_purged(master)
    m = master.client()
    for cap, setting in ((0, "cap 0 (none)"), (PIKAD_DEFAULT_CAP, "cap 200 MiB/s (default)")):
        m.config_set("full-sync-max-bytes-per-sec", cap)
        replica, run = _sync_once(servers, master, loaded.keys, setting, timeout)
        report.runs.append(run)
        servers.stop(replica)
    m.close()
    servers.stop(master)
    # redis-server
    master = servers.start("redis", "master")
    report.loads["redis"] = loaded = load(master.port, size, timeout)
    m = master.client()
    conf = m.config_get("repl-diskless-sync*")
    mode = "diskless" if str(conf.get("repl-diskless-sync")) == "yes" else "disk-based"
    delay = int(conf.get("repl-diskless-sync-delay", 0))
    for d, setting in ((delay, f"defaults: {mode}, delay {delay} s"), (0, f"{mode}, delay 0")):
        m.config_set("repl-diskless-sync-delay", d)
        replica, run = _sync_once(servers, master, loaded.keys, setting, timeout)
        report.runs.append(run)
        servers.stop(replica)
    m.close()
    servers.stop(master)
    return report
