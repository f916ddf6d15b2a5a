"""pika-sentinel against real redis-server instances: discovery, automatic and manual
failover, redis-py's Sentinel client, mixed groups with Debian's redis-sentinel, restarts.

Every test builds its own group (1 master + 2 replicas) and sentinels on free ports, with
down-after-milliseconds 1000 and failover-timeout 6000 so that a failover takes seconds; each
wait is bounded (wait_until) and each test stays well under a minute.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest
import redis
from redis.sentinel import Sentinel

from helpers.servers import replication_info, sigcont, sigstop, wait_until
from interop.support import (
    MASTER,
    assert_failovers,
    events_of,
    master_addr,
    wait_all_agree,
    wait_discovered,
)

pytestmark = pytest.mark.slow


def addr_of(server) -> tuple[str, int]:
    return (server.host, server.port)


@dataclass
class Writer:
    """Writes SET w:<i> <i> through redis-py's Sentinel master client until stopped, retrying
    the same i after an error; remembers which writes were acknowledged and when."""

    sentinel: Sentinel
    acked: list[int] = field(default_factory=list)
    ack_times: list[float] = field(default_factory=list)
    errors: int = 0
    stop_flag: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> Writer:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        master = self.sentinel.master_for(MASTER, socket_timeout=5, socket_connect_timeout=2)
        i = 0
        deadline = time.monotonic() + 55
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            try:
                master.set(f"w:{i}", i)
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                self.errors += 1
                time.sleep(0.02)
                continue
            self.acked.append(i)
            self.ack_times.append(time.monotonic())
            i += 1
            time.sleep(0.002)
        master.close()

    def stop(self) -> None:
        self.stop_flag.set()
        assert self.thread is not None
        self.thread.join(10)

    def acks_after(self, t: float) -> int:
        return sum(1 for x in self.ack_times if x > t)

    def longest_gap(self) -> float:
        gaps = [b - a for a, b in zip(self.ack_times, self.ack_times[1:], strict=False)]
        return max(gaps, default=0.0)


def missing_on(server, keys: list[int]) -> list[int]:
    c = redis.Redis(host=server.host, port=server.port, socket_timeout=10)
    try:
        missing = []
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            values = c.mget([f"w:{i}" for i in chunk])
            missing += [i for i, v in zip(chunk, values, strict=True) if v is None]
        return missing
    finally:
        c.close()


def test_redis_py_discovers_and_survives_kill9(group, sentinels):
    master, r1, r2 = group
    procs = sentinels(master, 3)
    clients = [sentinels.client(s) for s in procs]
    wait_discovered(clients, 3)
    for c in clients:  # the old master converts back within 2 s of its return (4 hellos)
        c.execute_command("SENTINEL", "DEBUG", "publish-period", "500")

    sentinel = Sentinel([addr_of(s) for s in procs], socket_timeout=5)
    assert sentinel.discover_master(MASTER) == addr_of(master)
    assert sorted(sentinel.discover_slaves(MASTER)) == sorted([addr_of(r1), addr_of(r2)])

    writer = Writer(sentinel).start()
    wait_until(lambda: len(writer.acked) > 200, 10, what="writes before the kill")
    master.kill()
    killed_at = time.monotonic()
    wait_until(
        lambda: master_addr(clients[0]) in (addr_of(r1), addr_of(r2)), 20, what="a new master"
    )
    new_addr = master_addr(clients[0])
    wait_all_agree(clients, new_addr)
    new_master, other = (r1, r2) if new_addr == addr_of(r1) else (r2, r1)
    wait_until(lambda: writer.acks_after(time.monotonic() - 0.5) > 50, 20, what="writes resume")
    writer.stop()
    after = [i for i, t in zip(writer.acked, writer.ack_times, strict=True) if t > killed_at]
    assert after, "no write was acknowledged after the failover"
    assert missing_on(new_master, after) == []
    assert sentinel.discover_master(MASTER) == new_addr
    wait_until(
        lambda: (
            replication_info(other).get("master_port") == str(new_master.port)
            and replication_info(other).get("master_link_status") == "up"
        ),
        15,
        what="the other replica to follow the new master",
    )

    # The old master comes back as a master: the sentinels turn it into a replica.
    master.start()
    wait_until(
        lambda: (
            replication_info(master).get("role") == "slave"
            and replication_info(master).get("master_port") == str(new_master.port)
        ),
        20,
        what="the returning old master to be converted into a replica",
    )
    assert sorted(sentinel.discover_slaves(MASTER)) == sorted([addr_of(master), addr_of(other)])
    assert_failovers(procs, 1)


def test_mixed_group_two_pika_one_redis_sentinel(group, sentinels):
    master, r1, r2 = group
    pika = sentinels(master, 2)
    real = sentinels(master, 1, kind="redis")
    clients = [sentinels.client(s) for s in pika + real]
    wait_discovered(clients, 3)
    # Every sentinel knows the other two by run id (hello interop both ways).
    ids = {c.execute_command("SENTINEL", "MYID") for c in clients}
    assert len(ids) == 3
    for c in clients:
        known = {s["runid"] for s in c.sentinel_sentinels(MASTER)}
        assert known == ids - {c.execute_command("SENTINEL", "MYID")}

    master.kill()
    wait_until(
        lambda: master_addr(clients[2]) in (addr_of(r1), addr_of(r2)),
        25,
        what="redis-sentinel to see a new master",
    )
    new_addr = master_addr(clients[2])
    wait_all_agree(clients, new_addr)
    epochs = {int(c.sentinel_master(MASTER)["config-epoch"]) for c in clients}
    assert len(epochs) == 1 and epochs.pop() >= 1
    new_master, other = (r1, r2) if new_addr == addr_of(r1) else (r2, r1)
    assert replication_info(new_master)["role"] == "master"
    wait_until(
        lambda: replication_info(other).get("master_port") == str(new_master.port),
        15,
        what="the other replica to be re-pointed",
    )
    assert_failovers(pika + real, 1)


def test_restart_after_failover_keeps_topology(group, sentinels):
    master, r1, r2 = group
    procs = sentinels(master, 3)
    clients = [sentinels.client(s) for s in procs]
    wait_discovered(clients, 3)
    assert clients[0].sentinel_failover(MASTER) is True
    wait_until(lambda: master_addr(clients[0]) in (addr_of(r1), addr_of(r2)), 20, what="failover")
    new_addr = master_addr(clients[0])
    wait_all_agree(clients, new_addr)
    text = procs[1].conf_text()
    assert f"sentinel monitor {MASTER} {new_addr[0]} {new_addr[1]} 2" in text
    assert "sentinel current-epoch 1" in text
    assert f"sentinel config-epoch {MASTER} 1" in text
    assert_failovers(procs, 1)

    # Restart one sentinel while the other two are stopped: it can only know the new master
    # from its own rewritten config file.
    procs[0].stop()
    procs[2].stop()
    procs[1].restart()
    c = sentinels.client(procs[1])
    assert master_addr(c) == new_addr
    info = c.sentinel_master(MASTER)
    assert int(info["config-epoch"]) == 1
    assert int(info["num-other-sentinels"]) == 2  # known-sentinel lines
    replicas = {(s["ip"], int(s["port"])) for s in c.sentinel_slaves(MASTER)}
    assert replicas == {addr_of(s) for s in (master, r1, r2)} - {new_addr}


def test_priority_zero_replica_is_never_promoted(group, sentinels):
    master, r1, r2 = group
    redis.Redis(port=r1.port).config_set("replica-priority", 0)
    procs = sentinels(master, 3)
    clients = [sentinels.client(s) for s in procs]
    wait_discovered(clients, 3)
    # The sentinels learn priorities from INFO; with 0 on r1, only r2 may win.
    wait_until(
        lambda: (
            {s["name"]: s["slave-priority"] for s in clients[0].sentinel_slaves(MASTER)}.get(
                f"{r1.host}:{r1.port}"
            )
            == 0
        ),
        15,
        what="r1's priority 0 seen",
    )
    assert clients[0].sentinel_failover(MASTER) is True
    wait_all_agree(clients, addr_of(r2))

    # Second failover, from r2: candidates are r1 (priority 0) and the old master. A replica
    # the sentinel has not had an INFO from yet (the old master, added at the switch) is no
    # candidate: wait until it reports its link to r2 up.
    wait_until(
        lambda: (
            len(clients[0].sentinel_slaves(MASTER)) == 2
            and all(
                s["flags"] == "slave" and s["master-link-status"] == "ok"
                for s in clients[0].sentinel_slaves(MASTER)
            )
        ),
        20,
        what="replicas of r2 to be healthy",
    )
    assert clients[0].sentinel_failover(MASTER) is True
    wait_all_agree(clients, addr_of(master))

    # No candidate at all: every replica has priority 0.
    redis.Redis(port=r2.port).config_set("replica-priority", 0)
    wait_until(
        lambda: all(s["slave-priority"] == 0 for s in clients[0].sentinel_slaves(MASTER)),
        20,
        what="priority 0 everywhere",
    )
    with pytest.raises(redis.ResponseError, match="NOGOODSLAVE No suitable replica to promote"):
        clients[0].sentinel_failover(MASTER)
    assert_failovers(procs, 2)


def test_quorum_not_reached_means_no_failover(group, sentinels):
    master, _, _ = group
    # One sentinel notices a 1 s outage; the two others only after 60 s.
    eager = sentinels(master, 1, down_after=1000)
    patient = sentinels(master, 2, down_after=60000)
    clients = [sentinels.client(s) for s in eager + patient]
    wait_discovered(clients, 3)
    events = events_of(clients[0])
    sigstop(master)
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            msg = events.get_message(timeout=0.2)
            if msg and msg["type"] == "pmessage":
                seen.append(msg["channel"])
    finally:
        sigcont(master)
    assert "+sdown" in seen
    assert "+odown" not in seen and "+try-failover" not in seen
    info = clients[0].sentinel_master(MASTER)
    assert "o_down" not in info["flags"]
    assert all(master_addr(c) == addr_of(master) for c in clients)
    wait_until(
        lambda: "s_down" not in clients[0].sentinel_master(MASTER)["flags"],
        10,
        what="-sdown after the master resumes",
    )
    events.close()


def test_manual_failover_under_writes_loses_nothing(group, sentinels):
    master, r1, r2 = group
    procs = sentinels(master, 3)
    clients = [sentinels.client(s) for s in procs]
    wait_discovered(clients, 3)
    sentinel = Sentinel([addr_of(s) for s in procs], socket_timeout=5)
    writer = Writer(sentinel).start()
    wait_until(lambda: len(writer.acked) > 500, 15, what="writes before the failover")
    started = time.monotonic()
    assert clients[0].sentinel_failover(MASTER) is True
    wait_until(lambda: master_addr(clients[0]) in (addr_of(r1), addr_of(r2)), 20, what="failover")
    new_addr = master_addr(clients[0])
    wait_all_agree(clients, new_addr)
    wait_until(lambda: writer.acks_after(time.monotonic() - 0.5) > 100, 20, what="writes resume")
    writer.stop()
    new_master = r1 if new_addr == addr_of(r1) else r2
    missing = missing_on(new_master, writer.acked)
    outage = writer.longest_gap()
    print(
        f"\nmanual failover: {len(writer.acked)} acknowledged writes, {len(missing)} lost, "
        f"{writer.errors} retried errors, longest write outage {outage:.3f}s, "
        f"failover call to all-agree {time.monotonic() - started:.2f}s"
    )
    assert missing == []
    # The old master was demoted at once and refuses writes.
    info = replication_info(master)
    assert info["role"] == "slave" and info["master_port"] == str(new_master.port)
    with pytest.raises(redis.ReadOnlyError):
        redis.Redis(port=master.port).set("after", "1")
    assert_failovers(procs, 1)
