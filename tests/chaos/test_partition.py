"""A network partition with real processes: the master pikad runs in a network namespace the
test makes, its two replicas and three pika-sentinels on the host, listening on the host's
end of the veth so that the namespace reaches them too. A writer inside the namespace writes
numbered keys to the master and prints every acknowledged one; the link is cut.

On the isolated side the master must refuse writes (-NOREPLICAS) within min-replicas-max-lag
of losing its replicas' acks; on the host side the sentinels fail over to a replica, and a
writer there follows whatever master they report. Once the link is restored the old master
must come back as a replica of the new one and converge to its data set (DEBUG DIGEST).

Two modes. async: writes the old master acknowledged after the cut, before it started to
refuse, are lost (Redis documents this window); the test reports them and checks only that
every lost write was acknowledged around or after the cut. sync (replication-mode sync,
min-replicas-to-ack 1, sync-timeout-action fail): a write is acknowledged only once a replica
has it, so not one acknowledged write may be lost.

Figures: writes the old master acknowledged during the partition, acknowledged writes lost,
the time it took to refuse writes, the failover time, the rejoin time. Every process is
stopped by PID at the end, and the namespace deleted, whatever the outcome.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from chaos import netns
from helpers.ports import free_port
from helpers.servers import (
    ArgvServer,
    PikadServer,
    PikaSentinelProcess,
    ServerProcess,
    child_env,
    config_args,
    pikad_command,
    replication_info,
    start_sentinel,
    wait_until,
)
from interop.support import MASTER, master_addr, wait_all_agree, wait_discovered

pytestmark = [pytest.mark.slow, pytest.mark.pikad_only]

MAX_LAG = 3  # min-replicas-max-lag, seconds
# Replicas ack at least once a second and the writer writes every few ms, so the refusal
# should come MAX_LAG after the cut; the margin absorbs a loaded machine's scheduling.
REFUSAL_MARGIN = 1.5
DOWN_AFTER_MS = 2000
FAILOVER_TIMEOUT_MS = 5000
SYNC_TIMEOUT_MS = 500  # replication-timeout-ms in sync mode
# In async mode a write acknowledged just before the cut may still have been on its way to
# the replicas (milliseconds on a veth; a second leaves room for a loaded machine).
IN_FLIGHT = 1.0
WRITER_SECONDS = 50  # the writers' own bound, whatever the test does
WRITER_LIMIT = 20_000
NOREPLICAS_QUORUM = "Not enough good replicas"

Line = tuple[str, int, float, str]  # a writer's line: kind, id, time.monotonic(), detail

# One writer for both sides: argv prefix, target, stop file, seconds, limit. The target is
# "direct:<host>:<port>", or "sentinels:<host>:<port>,..." to write to whatever master the
# sentinels report, asked again after any error. Raw RESP, one write in flight, no client
# library retrying behind our back: a line "ok <id> <t>" means that very SET was answered
# +OK (t: time.monotonic(), the same clock as the test's). Every attempt takes a new id.
WRITER = r"""
import os, socket, sys, time

prefix, target, stop_file = sys.argv[1], sys.argv[2], sys.argv[3]
deadline = time.monotonic() + float(sys.argv[4])
limit = int(sys.argv[5])
kind, where = target.split(":", 1)


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def reply(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed")
    head, rest = line[:1], line[1:-2]
    if head == b"*":
        n = int(rest)
        return None if n < 0 else [reply(f) for _ in range(n)]
    if head == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    return line[:-2]


def ask(host, port, *args):
    with socket.create_connection((host, int(port)), timeout=2) as s:
        s.settimeout(5)
        f = s.makefile("rwb")
        f.write(encode(*args))
        f.flush()
        return reply(f)


def master():
    if kind == "direct":
        host, port = where.rsplit(":", 1)
        return host, int(port)
    for addr in where.split(","):
        host, port = addr.rsplit(":", 1)
        try:
            r = ask(host, port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
        except OSError:
            continue
        if isinstance(r, list) and len(r) == 2:
            return r[0].decode(), int(r[1])
    raise ConnectionError("no sentinel answered")


def note(what, i, detail=""):
    print(f"{what} {i} {time.monotonic():.4f} {detail}".rstrip(), flush=True)


f = sock = None
for i in range(limit):
    if time.monotonic() > deadline or os.path.exists(stop_file):
        break
    try:
        if f is None:
            sock = socket.create_connection(master(), timeout=2)
            sock.settimeout(10)
            f = sock.makefile("rwb")
        f.write(encode("SET", f"{prefix}{i}", str(i)))
        f.flush()
        r = reply(f)
    except (OSError, ConnectionError, ValueError) as e:
        note("down", i, type(e).__name__)
        if sock is not None:
            sock.close()
        f = sock = None
        time.sleep(0.2)
        continue
    if r == b"+OK":
        note("ok", i)
        time.sleep(0.005)
    else:
        note("err", i, r.decode("utf-8", "replace"))
        if kind == "sentinels":  # READONLY or the like: the master may have moved
            sock.close()
            f = sock = None
        time.sleep(0.05)
"""


@dataclass
class Writer:
    """A WRITER process (inside the namespace or on the host), its output in a file."""

    proc: subprocess.Popen
    out: Path
    err: Path
    stop_file: Path

    def lines(self) -> list[Line]:
        """Every complete line so far."""
        out: list[Line] = []
        for line in self.out.read_text().splitlines(keepends=True):
            if not line.endswith("\n"):
                break  # being written
            kind, i, t, *rest = line.split(" ", 3)
            out.append((kind, int(i), float(t), rest[0].strip() if rest else ""))
        return out

    def acked(self) -> dict[int, float]:
        return {i: t for kind, i, t, _ in self.lines() if kind == "ok"}

    def stop(self) -> None:
        self.stop_file.touch()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@dataclass
class Cluster:
    ns: netns.Namespace
    master: ServerProcess
    replicas: list[ServerProcess]
    sentinels: list[PikaSentinelProcess]
    base: Path
    writers: list[Writer] = field(default_factory=list)
    clients: list[redis.Redis] = field(default_factory=list)

    def sentinel_clients(self) -> list[redis.Redis]:
        if not self.clients:
            self.clients = [
                redis.Redis(port=s.port, decode_responses=True, socket_timeout=5)
                for s in self.sentinels
            ]
        return self.clients

    def start_writer(self, prefix: str, target: str, *, inside: bool) -> Writer:
        out = self.base / f"writer-{prefix}.out"
        err = self.base / f"writer-{prefix}.err"
        stop_file = self.base / f"writer-{prefix}.stop"
        argv = [sys.executable, "-c", WRITER, prefix, target, str(stop_file)]
        argv += [str(WRITER_SECONDS), str(WRITER_LIMIT)]
        with open(out, "wb") as f, open(err, "wb") as e:
            proc = subprocess.Popen(
                self.ns.command(*argv) if inside else argv,
                stdin=subprocess.DEVNULL,
                stdout=f,
                stderr=e,
                env=child_env(),
                start_new_session=True,
            )
        writer = Writer(proc, out, err, stop_file)
        self.writers.append(writer)
        return writer

    def servers(self) -> list[ServerProcess]:
        return [self.master, *self.replicas, *self.sentinels]

    def stop(self) -> None:
        for writer in self.writers:
            if writer.proc.poll() is None:
                writer.proc.kill()  # by PID
                writer.proc.wait(10)
        for c in self.clients:
            c.close()
        for server in self.servers():
            server.stop(timeout=10)

    def log_tails(self) -> str:
        out = []
        for server in self.servers():
            out.append(f"---- {server.kind} {server.host}:{server.port} ----")
            out.append(server.log_tail(60))
        for writer in self.writers:
            out.append(f"---- writer {writer.out.name} (last lines) ----")
            out.append("\n".join(writer.out.read_text().splitlines()[-15:]))
            out.append(writer.err.read_text())
        return "\n".join(out)


def server_config(mode: str, ip: str) -> dict[str, object]:
    """What every pikad gets: the same settings, so that whichever is promoted behaves as
    the first master did."""
    # No replica-announce-ip: each side reaches the other's own address over the veth, so
    # the address a master sees its replicas connect from is where they listen.
    config: dict[str, object] = {
        "bind": f"127.0.0.1 {ip}",
        # Clients, replicas and sentinels reach each other over the veth: not loopback.
        "protected-mode": "no",
        "enable-debug-command": "yes",
        "min-replicas-to-write": 1,
        "min-replicas-max-lag": MAX_LAG,
    }
    if mode == "sync":
        config |= {
            "replication-mode": "sync",
            "min-replicas-to-ack": 1,
            "replication-timeout-ms": SYNC_TIMEOUT_MS,
            "sync-timeout-action": "fail",
        }
    return config


@pytest.fixture
def ns() -> Iterator[netns.Namespace]:
    why = netns.available()
    if why:
        pytest.skip(why)
    with netns.namespace() as n:
        yield n


@pytest.fixture
def cluster(ns: netns.Namespace, tmp_path: Path) -> Iterator[Callable[[str], Cluster]]:
    """cluster(mode) -> a started Cluster, stopped at the end. The log tails are printed at
    teardown: pytest shows them when the test failed."""
    made: list[Cluster] = []

    def make(mode: str) -> Cluster:
        port = free_port()  # the namespace has its own ports: any number is free there
        base = tmp_path / "master"
        base.mkdir()
        config = server_config(mode, ns.ns_ip)
        argv = [*pikad_command(), "--port", str(port), "--dir", str(base / "data")]
        master = ArgvServer(base, ns.command(*argv, *config_args(config)), port=port)
        master.host = ns.ns_ip  # the test reaches it over the veth
        c = Cluster(ns, master, [], [], tmp_path)
        made.append(c)
        master.start()
        for n in range(2):
            replica = PikadServer(
                tmp_path / f"replica{n}",
                server_config(mode, ns.host_ip) | {"replicaof": f"{ns.ns_ip} {port}"},
            )
            c.replicas.append(replica)
            replica.start()
        for replica in c.replicas:
            wait_until(
                lambda r=replica: replication_info(r).get("master_link_status") == "up",
                30,
                what=f"replica {replica.port} to sync",
            )
        lines = [
            # After the harness's `bind 127.0.0.1`: the sentinels announce the address they
            # reach the master from (the host's end of the veth), so they must listen there.
            f"bind 127.0.0.1 {ns.host_ip}",
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}",
        ]
        for n in range(3):
            c.sentinels.append(
                start_sentinel(tmp_path / f"sentinel{n}", [f"{MASTER} {ns.ns_ip} {port} 2"], lines)
            )
        wait_discovered(c.sentinel_clients(), sentinels=3, replicas=2)
        return c

    try:
        yield make
    finally:
        for c in made:
            print(c.log_tails())
            c.stop()


def _first_line(writer: Writer, pred: Callable[[Line], bool], timeout: float, what: str) -> Line:
    def found() -> Line | None:
        return next((line for line in writer.lines() if pred(line)), None)

    return wait_until(found, timeout, interval=0.05, what=what)  # type: ignore[return-value]


def _digest(server: ServerProcess) -> str:
    c = redis.Redis(host=server.host, port=server.port, socket_timeout=10)
    try:
        return c.execute_command("DEBUG", "DIGEST").decode()
    finally:
        c.close()


def _missing(client: redis.Redis, prefix: str, ids: list[int]) -> list[int]:
    """The ids whose key does not hold its value on that server."""
    missing = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        values = client.mget([f"{prefix}{i}" for i in chunk])
        missing += [i for i, v in zip(chunk, values, strict=True) if v != str(i).encode()]
    return missing


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_partitioned_master_refuses_writes_fails_over_and_rejoins(
    cluster: Callable[[str], Cluster], figures: list[str], mode: str
) -> None:
    c: Cluster = cluster(mode)
    ns = c.ns
    old = (ns.ns_ip, c.master.port)
    inside = c.start_writer("p", f"direct:{ns.ns_ip}:{c.master.port}", inside=True)
    wait_until(lambda: len(inside.acked()) >= 100, 30, what="100 writes before the cut")

    # Taken before the link goes down: the few writes acknowledged while `ip link` runs
    # count as acknowledged during the partition.
    t_cut = time.monotonic()
    ns.cut()
    refused = _first_line(
        inside,
        lambda line: line[0] == "err" and NOREPLICAS_QUORUM in line[3] and line[2] >= t_cut,
        MAX_LAG + 10,
        what="the isolated master to refuse writes (-NOREPLICAS)",
    )
    to_refuse = refused[2] - t_cut
    sentinels = c.sentinel_clients()

    def moved() -> tuple[str, int] | None:
        addrs = {master_addr(s) for s in sentinels}
        return addrs.pop() if len(addrs) == 1 and old not in addrs else None

    new = wait_until(moved, 30, interval=0.05, what="the sentinels to fail over")
    failover = time.monotonic() - t_cut
    assert isinstance(new, tuple)
    new_master = next(r for r in c.replicas if r.port == new[1])
    hosts = ",".join(f"127.0.0.1:{s.port}" for s in c.sentinels)
    outside = c.start_writer("h", f"sentinels:{hosts}", inside=False)
    wait_until(lambda: len(outside.acked()) >= 50, 30, what="writes to the new master")

    t_heal = time.monotonic()
    ns.heal()

    def rejoined() -> bool:
        info = replication_info(c.master)
        return (
            info.get("role") == "slave"
            and (info.get("master_host"), int(info.get("master_port", 0))) == new
            and info.get("master_link_status") == "up"
        )

    wait_until(rejoined, 40, interval=0.1, what="the old master to replicate the new one")
    rejoin = time.monotonic() - t_heal
    inside.stop()
    outside.stop()
    wait_all_agree(sentinels, new, 10)
    wait_until(
        lambda: _digest(c.master) == _digest(new_master),
        30,
        interval=0.2,
        what="the old master's data to converge to the new master's (DEBUG DIGEST)",
    )

    acked = inside.acked()
    during = {i: t for i, t in acked.items() if t >= t_cut}
    assert all(t < refused[2] for t in during.values()), "a write acked after the refusal"
    new_client = redis.Redis(host=new_master.host, port=new_master.port, socket_timeout=10)
    try:
        lost = _missing(new_client, "p", sorted(acked))
        host_acked = sorted(outside.acked())
        assert _missing(new_client, "h", host_acked) == []
    finally:
        new_client.close()
    last = f", the last {max(during.values()) - t_cut:.2f}s after the cut" if during else ""
    figures.append(
        f"{mode}: the isolated master acknowledged {len(during)} writes during the partition "
        f"({len(acked)} in all){last}; acknowledged writes lost: {len(lost)}"
    )
    figures.append(
        f"{mode}: refused writes (-NOREPLICAS) {to_refuse:.2f}s after the cut "
        f"(min-replicas-max-lag {MAX_LAG}s); failover {failover:.2f}s after the cut; rejoined "
        f"as a replica {rejoin:.2f}s after the heal; {len(host_acked)} writes to the new master"
    )
    assert to_refuse <= MAX_LAG + REFUSAL_MARGIN
    if mode == "sync":
        assert lost == []
    else:
        # The loss is the window Redis documents, nothing more: only writes acknowledged
        # around or after the cut, before the master refused.
        assert all(acked[i] >= t_cut - IN_FLIGHT for i in lost), lost
