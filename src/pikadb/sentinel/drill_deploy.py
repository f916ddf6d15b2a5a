"""The deployment a failover drill runs against: one it starts (master + replicas + sentinels
on 127.0.0.1) or one it attaches to (sentinel addresses + master name), and what the drill asks
of it: who is the master, do all sentinels agree, is every replica linked.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import redis

from pikadb.sentinel.drill_procs import (
    LOOPBACK,
    Addr,
    DrillError,
    ExternalProc,
    Proc,
    SentinelProc,
    ServerProc,
    fmt_addr,
    free_port,
    pid_running,
    wait_for,
)

P = TypeVar("P", bound=Proc)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class FaultTarget(Protocol):
    """A master process the drill can signal and start again."""

    addr: Addr

    def send(self, sig: int) -> None: ...
    def kill(self) -> None: ...
    def restart_as_master(self, timeout: float = 30.0) -> None: ...


@dataclass
class Settings:
    """How to build a deployment (ignored when attaching, except master_name)."""

    servers: str = "pikad"  # "pikad" or "redis"
    sentinels: str = "pika"  # "pika" or "redis"
    replicas: int = 2
    sentinel_count: int = 3
    quorum: int = 2
    down_after_ms: int = 2000
    failover_timeout_ms: int = 6000
    sync: bool = False
    master_name: str = "mymaster"
    keep_dir: bool = False


# ---- talking to servers and sentinels ----


def client(addr: Addr, timeout: float = 2.0) -> redis.Redis:
    return redis.Redis(
        host=addr[0],
        port=addr[1],
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
    )


def info(addr: Addr, section: str) -> dict[str, Any]:
    c = client(addr)
    try:
        return dict(c.info(section))
    finally:
        c.close()


def replica_linked_to(addr: Addr, master: Addr) -> bool:
    """Is addr a replica of master with its link up?"""
    rep = info(addr, "replication")
    return (
        rep.get("role") == "slave"
        and int(rep.get("master_port", -1)) == master[1]
        and str(rep.get("master_host")) in _same_host(master[0])
        and rep.get("master_link_status") == "up"
    )


def _same_host(host: str) -> set[str]:
    return set(LOCAL_HOSTS) if host in LOCAL_HOSTS else {host}


class SentinelView:
    """redis-py clients to each sentinel, for the drill's own questions."""

    def __init__(self, addrs: list[Addr], master_name: str) -> None:
        self.addrs = addrs
        self.name = master_name
        self.clients = [client(a, 1.0) for a in addrs]

    def close(self) -> None:
        for c in self.clients:
            with contextlib.suppress(Exception):
                c.close()

    def master_of(self, c: redis.Redis) -> Addr | None:
        reply = c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
        if not reply:
            return None
        return str(reply[0]), int(reply[1])

    def agreed_master(self) -> Addr | None:
        """The master address every sentinel reports, or None while they differ."""
        addrs = {self.master_of(c) for c in self.clients}
        if len(addrs) != 1:
            return None
        return addrs.pop()

    def settled(self, master: Addr, replicas: list[Addr]) -> bool:
        """Every sentinel: master up and not failing over, knows the other sentinels, and
        sees each replica as a healthy replica."""
        for c in self.clients:
            state = c.execute_command("SENTINEL", "MASTER", self.name)
            state = _pairs(state)
            if state.get("flags") != "master":
                return False
            if int(state.get("num-other-sentinels", -1)) != len(self.clients) - 1:
                return False
            seen = {
                (r["ip"], int(r["port"]))
                for r in map(_pairs, c.execute_command("SENTINEL", "REPLICAS", self.name))
                if r.get("flags") == "slave"
            }
            if not all(_known(r, seen) for r in replicas):
                return False
        return True

    def setting(self, field_name: str) -> int:
        state = _pairs(self.clients[0].execute_command("SENTINEL", "MASTER", self.name))
        return int(state[field_name])


def _pairs(reply: Any) -> dict[str, str]:
    if isinstance(reply, dict):
        return {str(k): str(v) for k, v in reply.items()}
    items = list(reply)
    return {str(items[i]): str(items[i + 1]) for i in range(0, len(items) - 1, 2)}


def _known(addr: Addr, seen: set[Addr]) -> bool:
    return any(port == addr[1] and host in _same_host(addr[0]) for host, port in seen)


# ---- deployments ----


@dataclass
class Deployment:
    """What the drill needs: sentinels, the servers' addresses, and fault targets."""

    settings: Settings
    sentinel_addrs: list[Addr] = field(default_factory=list)
    server_addrs: list[Addr] = field(default_factory=list)
    down_after_ms: int = 0
    failover_timeout_ms: int = 0

    def target(self, addr: Addr) -> FaultTarget:
        raise NotImplementedError

    def all_pids(self) -> list[int]:
        """PIDs of every process the drill started (to check none is left)."""
        return []

    def describe(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Stop what was started, by PID; remove temporary files."""

    def wait_healthy(self, view: SentinelView, timeout: float) -> Addr:
        """Until every sentinel agrees on one master, every other server replicates it with
        its link up, and the sentinels see all of it healthy. Returns the master."""

        def healthy() -> Addr | None:
            master = view.agreed_master()
            if master is None or master not in self.server_addrs:
                return None
            if info(master, "replication").get("role") != "master":
                return None
            others = [a for a in self.server_addrs if a != master]
            if not all(replica_linked_to(a, master) for a in others):
                return None
            return master if view.settled(master, others) else None

        return wait_for(healthy, timeout, "a healthy deployment", interval=0.1)


class LocalDeployment(Deployment):
    """Master + replicas + sentinels started by the drill in a temporary directory."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.down_after_ms = settings.down_after_ms
        self.failover_timeout_ms = settings.failover_timeout_ms
        self.tmp = Path(tempfile.mkdtemp(prefix="pikadb-drill-"))
        self.servers: list[ServerProc] = []
        self.sentinels: list[SentinelProc] = []
        self.discarded: list[Proc] = []  # failed starts (their PIDs count as started)

    @property
    def procs(self) -> list[Proc]:
        return [*self.discarded, *self.servers, *self.sentinels]

    def start(self) -> None:
        s = self.settings
        for i in range(1 + s.replicas):
            replicaof = self.servers[0].addr if i else None
            self.servers.append(self._launch(partial(self._server, i, replicaof)))
        self.server_addrs = [srv.addr for srv in self.servers]
        lines = [
            f"sentinel monitor {s.master_name} {LOOPBACK} {self.servers[0].port} {s.quorum}",
            f"sentinel down-after-milliseconds {s.master_name} {s.down_after_ms}",
            f"sentinel failover-timeout {s.master_name} {s.failover_timeout_ms}",
        ]
        for i in range(s.sentinel_count):
            self.sentinels.append(self._launch(partial(self._sentinel, i, lines)))
        self.sentinel_addrs = [p.addr for p in self.sentinels]

    def _server(self, i: int, replicaof: Addr | None, port: int) -> ServerProc:
        extra = (
            {"replication-mode": "sync", "min-replicas-to-ack": "1"} if self.settings.sync else {}
        )
        proc = ServerProc(self.tmp / f"server{i}", port, self.settings.servers, extra)
        proc.replicaof = replicaof
        return proc

    def _sentinel(self, i: int, lines: list[str], port: int) -> SentinelProc:
        return SentinelProc(self.tmp / f"sentinel{i}", port, self.settings.sentinels, lines)

    def _launch(self, make: Callable[[int], P]) -> P:
        """Start a new process on a free port, on another one if that port was taken between
        choosing and binding it (up to 3 tries)."""
        for attempt in range(3):
            proc = make(free_port())
            try:
                proc.start()
                return proc
            except BaseException:
                self.discarded.append(proc)
                proc.kill()
                if attempt == 2 or "in use" not in proc.log_tail().lower():
                    raise
        raise AssertionError("unreachable")

    def target(self, addr: Addr) -> FaultTarget:
        for server in self.servers:
            if server.addr == addr:
                return server
        raise DrillError(f"{fmt_addr(addr)} is not a server of this deployment")

    def all_pids(self) -> list[int]:
        return [pid for p in self.procs for pid in p.pids]

    def describe(self) -> str:
        s = self.settings
        sentinel = "pika-sentinel" if s.sentinels == "pika" else "redis-sentinel"
        server = "pikad" if s.servers == "pikad" else "redis-server"
        mode = ", sync mode (min-replicas-to-ack 1)" if s.sync else ""
        return (
            f"{server} master + {s.replicas} replicas{mode}, {s.sentinel_count} {sentinel} "
            f"(quorum {s.quorum}), down-after {self.down_after_ms} ms, "
            f"failover-timeout {self.failover_timeout_ms} ms"
        )

    def log_tails(self) -> str:
        return "\n".join(p.log_tail(15) for p in self.procs)

    def close(self) -> None:
        for proc in reversed(self.procs):  # sentinels first: no failover while servers stop
            with contextlib.suppress(Exception):
                proc.stop()
        if not self.settings.keep_dir:
            shutil.rmtree(self.tmp, ignore_errors=True)


class AttachedDeployment(Deployment):
    """An existing deployment, known through its sentinels. The drill signals the master's
    process (found by INFO server process_id, on this machine only) and nothing else."""

    def __init__(self, settings: Settings, sentinel_addrs: list[Addr]) -> None:
        super().__init__(settings)
        self.sentinel_addrs = sentinel_addrs
        self.targets: dict[Addr, ExternalProc] = {}

    def start(self, view: SentinelView) -> None:
        master = wait_for(view.agreed_master, 10, "the sentinels to agree on a master")
        c = view.clients[0]
        replicas = [
            (r["ip"], int(r["port"]))
            for r in map(_pairs, c.execute_command("SENTINEL", "REPLICAS", view.name))
            if "s_down" not in r.get("flags", "")
        ]
        self.server_addrs = [master, *replicas]
        self.down_after_ms = view.setting("down-after-milliseconds")
        self.failover_timeout_ms = view.setting("failover-timeout")

    def target(self, addr: Addr) -> FaultTarget:
        if addr[0] not in LOCAL_HOSTS:
            raise DrillError(f"the master {fmt_addr(addr)} is not on this machine")
        server = info(addr, "server")
        pid = int(server.get("process_id", 0))
        if pid <= 0 or not pid_running(pid):
            raise DrillError(f"no local process found for {fmt_addr(addr)} (process_id {pid})")
        proc = ExternalProc(addr, pid, server)
        self.targets[addr] = proc
        return proc

    def restarted_pids(self) -> list[int]:
        return [pid for t in self.targets.values() for pid in t.restarted]

    def describe(self) -> str:
        return (
            f"master {self.settings.master_name!r}, {len(self.server_addrs)} servers, "
            f"{len(self.sentinel_addrs)} sentinels, down-after {self.down_after_ms} ms, "
            f"failover-timeout {self.failover_timeout_ms} ms"
        )

    def close(self) -> None:
        # A master left stopped by an interrupted `stop` drill is resumed.
        for t in self.targets.values():
            t.send(signal.SIGCONT)


def cooldown_until(last_agreed: float, failover_timeout_ms: int) -> float:
    """When the sentinels accept to fail the same master over again: Redis Sentinel (and
    pika-sentinel) do not start a failover within 2 x failover-timeout of the previous one
    (whose start, by the leader or a voter, is before the agreement, plus up to 1 s of
    random desync)."""
    return last_agreed + 2 * failover_timeout_ms / 1000 + 1.0


def sleep_until(t: float) -> None:
    while True:
        left = t - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))
