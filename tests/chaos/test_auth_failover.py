"""Authentication end to end through a failover: a pikad master and two replicas with
`requirepass` and `masterauth` (one password), three pika-sentinels that reach them with
`sentinel auth-pass` and protect themselves with their own `requirepass` (another password).

* Anonymous clients get NOAUTH from every server and every sentinel.
* AUTH <pw> and AUTH default <pw> (the ACL form) both work; the replies to the wrong forms
  (a wrong password, an unknown user, a wrong arity) are byte for byte redis-server's.
* The replicas link with masterauth; kill -9 of the master: the sentinels fail over, the
  other replica is re-pointed to the new master and links up with masterauth; redis-py's
  Sentinel client (sentinel_kwargs password + server password) finds the new master and
  writes to it; the old master, restarted with its config, rejoins as a replica; every
  write acknowledged after the failover is on all three, which end with one DEBUG DIGEST.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from helpers.raw import RawConnection
from helpers.servers import (
    PikaSentinelProcess,
    ServerProcess,
    redis_server_binary,
    start_sentinel,
    wait_until,
)
from interop.support import MASTER, master_addr, wait_all_agree, wait_discovered

pytestmark = [pytest.mark.slow, pytest.mark.pikad_only]

PW = "pikadb-server-pw"
SENTINEL_PW = "pikadb-sentinel-pw"


def addr_of(server: ServerProcess) -> tuple[str, int]:
    return (server.host, server.port)


def client(server: ServerProcess, password: str | None = PW) -> redis.Redis:
    return server.client(password=password, socket_timeout=10, decode_responses=True)


def repl_info(server: ServerProcess) -> dict[str, str]:
    c = redis.Redis(port=server.port, password=PW, socket_timeout=5, decode_responses=True)
    try:
        return {k: str(v) for k, v in c.info("replication").items()}
    finally:
        c.close()


def follows(replica: ServerProcess, master: ServerProcess) -> bool:
    info = repl_info(replica)
    return (
        info.get("role") == "slave"
        and info.get("master_port") == str(master.port)
        and info.get("master_link_status") == "up"
    )


def missing_on(server: ServerProcess, writes: list[int]) -> list[int]:
    c = client(server)
    out = []
    for start in range(0, len(writes), 1000):
        chunk = writes[start : start + 1000]
        values = c.mget([f"w:{i}" for i in chunk])
        out += [i for i, v in zip(chunk, values, strict=True) if v != str(i)]
    return out


def replies(port: int, commands: list[list[str]]) -> list[bytes]:
    """Each command on a connection of its own: no AUTH state carries over."""
    out = []
    for command in commands:
        with RawConnection(port, timeout=10) as r:
            out.append(r.execute(*command))
    return out


def redis_version() -> str:
    out = subprocess.run([redis_server_binary(), "--version"], capture_output=True, text=True)
    return out.stdout.split()[2].removeprefix("v=") if out.returncode == 0 else "?"


def auth_probes(password: str) -> list[list[str]]:
    return [
        ["PING"],
        ["AUTH", "wrong"],
        ["AUTH", "default", "wrong"],
        ["AUTH", "nobody", password],
        ["AUTH", "a", "b", "c"],
        ["AUTH"],
        ["HELLO", "3"],
        ["HELLO", "3", "AUTH", "default", "wrong"],
        ["AUTH", password],
        ["AUTH", "default", password],
    ]


@dataclass
class Writer:
    """SET w:<i> through redis-py's Sentinel client until stopped, the same i again after an
    error; remembers when each write was acknowledged."""

    sentinel: Sentinel
    acked: list[tuple[int, float]] = field(default_factory=list)
    errors: int = 0
    auth_errors: list[str] = field(default_factory=list)
    stop_flag: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> Writer:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        master = self.sentinel.master_for(MASTER, socket_timeout=5, socket_connect_timeout=2)
        i = 0
        deadline = time.monotonic() + 120
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            try:
                master.set(f"w:{i}", i)
            except redis.AuthenticationError as e:  # a ConnectionError too: test it first
                self.auth_errors.append(str(e))
                time.sleep(0.05)
                continue
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                self.errors += 1
                time.sleep(0.02)
                continue
            self.acked.append((i, time.monotonic()))
            i += 1
            time.sleep(0.002)
        master.close()

    def stop(self) -> None:
        self.stop_flag.set()
        assert self.thread is not None
        self.thread.join(10)

    def first_ack_after(self, t: float) -> float | None:
        return next((at for _, at in self.acked if at > t), None)


def start_sentinels(tmp: Path, master: ServerProcess, n: int = 3) -> list[PikaSentinelProcess]:
    lines = [
        f"sentinel down-after-milliseconds {MASTER} 1000",
        f"sentinel failover-timeout {MASTER} 6000",
        f"sentinel auth-pass {MASTER} {PW}",
        f"requirepass {SENTINEL_PW}",
    ]
    out: list[PikaSentinelProcess] = []
    try:
        for i in range(n):
            out.append(
                start_sentinel(tmp / f"sentinel{i}", [f"{MASTER} 127.0.0.1 {master.port} 2"], lines)
            )
    except BaseException:
        for s in out:
            s.stop()
        raise
    return out


def test_auth_through_failover(pikad_factory, redis_factory, tmp_path, figures):
    config = {"requirepass": PW, "masterauth": PW, "enable_debug_command": "local"}
    t = time.monotonic()
    master = pikad_factory(**config)
    r1 = pikad_factory(replicaof=f"{master.host} {master.port}", **config)
    r2 = pikad_factory(replicaof=f"{master.host} {master.port}", **config)
    for r in (r1, r2):
        wait_until(lambda r=r: follows(r, master), 20, what=f"replica {r.port} to link up")
    figures.append(f"replicas linked with masterauth {time.monotonic() - t:.1f} s after start")
    t = time.monotonic()
    sentinels = start_sentinels(tmp_path, master)
    try:
        clients = [s.client(password=SENTINEL_PW, decode_responses=True) for s in sentinels]
        # Each sentinel reaches the others with its requirepass, the servers with auth-pass.
        wait_discovered(clients, 3)
        figures.append(
            f"each sentinel knows the other 2 and both replicas {time.monotonic() - t:.1f} s "
            f"after the sentinels were started"
        )
        probes = _check_auth_replies(master, sentinels, redis_factory(requirepass=PW))
        figures.append(
            f"{probes} AUTH/HELLO probes: pikad's and the 3 sentinels' replies byte for byte "
            f"redis-server's ({redis_version()})"
        )
        _failover(master, r1, r2, sentinels, clients, figures)
    finally:
        for s in sentinels:
            s.stop()


def _check_auth_replies(
    master: ServerProcess, sentinels: list[PikaSentinelProcess], oracle: ServerProcess
) -> int:
    anonymous = [(master.port, ["GET", "k"])] + [(s.port, ["SENTINEL", "MYID"]) for s in sentinels]
    for port, command in anonymous:
        # No retries: redis-py retries an AuthenticationError (a ConnectionError) with backoff.
        anon = redis.Redis(port=port, socket_timeout=10, retry=Retry(NoBackoff(), 0))
        try:
            # redis-py opens with HELLO 3: "NOAUTH HELLO must be called with the client
            # already authenticated ..." (the raw probes below see the bare NOAUTH).
            with pytest.raises(redis.AuthenticationError):
                anon.execute_command(*command)
        finally:
            anon.close()
    expected = replies(oracle.port, auth_probes(PW))
    assert replies(master.port, auth_probes(PW)) == expected
    for s in sentinels:
        assert replies(s.port, auth_probes(SENTINEL_PW)) == expected
    assert expected[1] == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert expected[-2:] == [b"+OK\r\n", b"+OK\r\n"]
    return len(expected)


def _failover(
    master: ServerProcess,
    r1: ServerProcess,
    r2: ServerProcess,
    procs: list[PikaSentinelProcess],
    clients: list[redis.Redis],
    figures: list[str],
) -> None:
    for c in clients:
        # Redis's rule: a returning old master is converted by an INFO that finds it still a
        # master 4 publish periods after the first did. 4 x 500 ms is well below the INFO
        # period of a replica (10 s): the second INFO converts it, whatever the timing.
        c.execute_command("SENTINEL", "DEBUG", "publish-period", "500")

    sentinel = Sentinel(
        [addr_of(s) for s in procs],
        sentinel_kwargs={"password": SENTINEL_PW, "socket_timeout": 5},
        password=PW,
        socket_timeout=5,
    )
    assert sentinel.discover_master(MASTER) == addr_of(master)
    writer = Writer(sentinel).start()
    try:
        wait_until(lambda: len(writer.acked) > 200, 15, what="writes before the kill")
        master.kill()
        killed = time.monotonic()
        wait_until(
            lambda: master_addr(clients[0]) in (addr_of(r1), addr_of(r2)), 30, what="failover"
        )
        new_addr = master_addr(clients[0])
        assert new_addr is not None
        wait_all_agree(clients, new_addr)
        agreed = time.monotonic() - killed
        new, other = (r1, r2) if new_addr == addr_of(r1) else (r2, r1)
        wait_until(lambda: follows(other, new), 20, what="the other replica to follow")
        repointed = time.monotonic() - killed
        wait_until(lambda: writer.first_ack_after(killed) is not None, 20, what="writes resume")
        resumed = writer.first_ack_after(killed)
        assert resumed is not None
        assert sentinel.discover_master(MASTER) == new_addr
        writes = sentinel.master_for(MASTER, socket_timeout=5)
        assert writes.set("after-failover", "1")
        assert writes.get("after-failover") == b"1"
        writes.close()

        restarted = time.monotonic()
        master.start()  # same config: requirepass, masterauth, no replicaof
        wait_until(lambda: follows(master, new), 30, what="the old master to rejoin")
        rejoined = time.monotonic() - restarted
        with pytest.raises(redis.ReadOnlyError):
            client(master).set("old-master", "1")
        wait_until(
            lambda: (
                sorted(sentinel.discover_slaves(MASTER))
                == sorted([addr_of(master), addr_of(other)])
            ),
            20,
            what="the sentinels to list the old master as a replica",
        )
    finally:
        writer.stop()

    after = [i for i, at in writer.acked if at > killed]
    # Replication is asynchronous: writes acknowledged just before the kill may be lost.
    lost_before = len(missing_on(new, [i for i, at in writer.acked if at <= killed]))
    new_client = client(new)
    final = int(new_client.info("replication")["master_repl_offset"])
    wait_until(
        lambda: all(int(repl_info(r)["slave_repl_offset"]) == final for r in (other, master)),
        30,
        what="both replicas to catch up",
    )
    missing = {
        name: missing_on(s, after)
        for name, s in (("new master", new), ("other replica", other), ("old master", master))
    }
    digests = {s.port: client(s).execute_command("DEBUG", "DIGEST") for s in (new, other, master)}
    figures.append(
        f"kill -9 of the master -> sentinels agree on {new_addr[1]} in {agreed:.1f} s, other "
        f"replica linked to it in {repointed:.1f} s, first Sentinel-client write after "
        f"{resumed - killed:.1f} s; old master rejoined as a replica "
        f"{rejoined:.1f} s after restart"
    )
    figures.append(
        f"{len(writer.acked)} writes acknowledged ({len(after)} after the kill), "
        f"{writer.errors} retried, {len(writer.auth_errors)} auth errors; lost: "
        f"{lost_before} acknowledged before the kill, "
        f"{sum(len(v) for v in missing.values())} after it; digests "
        f"{'equal' if len(set(digests.values())) == 1 else 'differ'}"
    )
    assert not writer.auth_errors, writer.auth_errors[:3]
    assert after and not any(missing.values()), missing
    assert len(set(digests.values())) == 1, digests
    for s in (new, other, master):
        assert "AUTH failed" not in s.log_text()
