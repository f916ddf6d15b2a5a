"""Sentinels over pikad: a pikad master with two pikad replicas (replication over the binlog,
tests/integration/test_replication.py) watched by pika-sentinels or by Debian's
redis-sentinel, which must not tell pikad from redis-server.

* pika-sentinels discover the master's address, the replicas and each other from pikad's
  INFO replication and hellos.
* The premise of pika-sentinel's fence (sentinel/failover.py): once CLIENT PAUSE WRITE is
  answered, the master_repl_offset that INFO replication reports on the same connection is
  final: it covers every write the master acknowledges until the pause ends.
* A manual failover under pika-sentinels never promotes a replica whose offset belongs to
  another history (one waiting for a full sync): it prefers one that follows the master.
* Three redis-sentinels fail over a kill -9 of the pikad master: they promote a replica
  (MULTI / SLAVEOF NO ONE / CONFIG REWRITE / CLIENT KILL ... / EXEC), re-point the other one
  (which continues incrementally: the promoted replica keeps the old master's history) and
  convert the restarted old master into a replica (a full sync: it took a write of its own
  before the conversion); every server ends with the same data (DEBUG DIGEST).

The pika-sentinel failover tests run over pikad too: tests/interop/test_sentinel_failover.py,
[pikad] parameter of its group fixture.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis

from helpers.servers import ServerProcess, replication_info, start_replicated_group, wait_until
from integration.test_replication import wait_caught_up, write_load
from interop.support import (
    MASTER,
    PIKAD_GROUP_CONFIG,
    assert_failovers,
    master_addr,
    wait_all_agree,
    wait_discovered,
)


def addr_of(server: ServerProcess) -> tuple[str, int]:
    return (server.host, server.port)


def digest(server: ServerProcess) -> str:
    c = redis.Redis(host=server.host, port=server.port, socket_timeout=10, decode_responses=True)
    try:
        return c.execute_command("DEBUG", "DIGEST")
    finally:
        c.close()


def same_digest(*servers: ServerProcess) -> str:
    """Until every server reports the same DEBUG DIGEST (write_load's keys with TTLs of
    50-400 ms drop out of a digest as they expire, at slightly different moments on each
    server). -> that digest."""

    def agreed() -> str | None:
        found = {digest(s) for s in servers}
        return found.pop() if len(found) == 1 else None

    return wait_until(agreed, 10, what=f"the same digest on {[s.port for s in servers]}")


def follows(replica: ServerProcess, master: ServerProcess) -> bool:
    info = replication_info(replica)
    return (
        info.get("role") == "slave"
        and info.get("master_port") == str(master.port)
        and info.get("master_link_status") == "up"
    )


def test_sentinels_discover_a_pikad_group(pikad_factory, sentinels):
    master, r1, r2 = start_replicated_group(pikad_factory, replicas=2)
    clients = [sentinels.client(s) for s in sentinels(master, 3)]
    wait_discovered(clients, 3)
    for c in clients:
        assert master_addr(c) == (master.host, master.port)
        replicas = c.sentinel_slaves(MASTER)  # redis-py parses each into a dict
        assert sorted(int(r["port"]) for r in replicas) == sorted([r1.port, r2.port])
        for r in replicas:
            assert r["master-link-status"] == "ok"
            assert r["is_slave"] and not r["is_sdown"]
            assert int(r["master-port"]) == master.port


@pytest.mark.pikad_only
def test_offset_after_client_pause_write_is_final(pikad_factory):
    """pika-sentinel fences a reachable old master with CLIENT PAUSE WRITE and INFO
    replication, then promotes a replica once its slave_repl_offset reaches that
    master_repl_offset. Writers keep the master busy, so that some of their writes are
    executed in the event-loop turn of the pause, their replies held for the turn's group
    commit: the offset must count them (it counted only durable records, and about half of
    the fences came out short of writes acknowledged with them)."""
    master = pikad_factory(shards=2)
    stop = threading.Event()

    def write(n: int) -> None:
        c = redis.Redis(host=master.host, port=master.port, socket_timeout=10)
        i = 0
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                c.set(f"w{n}:{i}", "x" * 50)
            except redis.RedisError:
                time.sleep(0.01)
            i += 1
        c.close()

    writers = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(6)]
    for t in writers:
        t.start()
    admin = master.client(decode_responses=True)
    short = []
    try:
        for _ in range(20):
            time.sleep(0.03)
            raw = master.raw()
            raw.send_commands([["CLIENT", "PAUSE", "5000", "WRITE"], ["INFO", "replication"]])
            paused, info = raw.read_replies(2)
            assert paused == b"+OK\r\n"
            fenced = int(info.split(b"master_repl_offset:")[1].split(b"\r\n")[0])
            time.sleep(0.05)  # the held replies of the pause's turn have gone out
            now = int(admin.info("replication")["master_repl_offset"])
            if now != fenced:
                short.append((fenced, now))
            admin.execute_command("CLIENT", "UNPAUSE")
            raw.close()
    finally:
        stop.set()
        for t in writers:
            t.join(10)
    assert short == [], f"writes past the fence offset (fence offset, final offset): {short}"


@pytest.mark.slow
@pytest.mark.pikad_only
def test_redis_sentinels_fail_over_a_pikad_master(pikad_factory, sentinels):
    master, r1, r2 = start_replicated_group(pikad_factory, replicas=2, **PIKAD_GROUP_CONFIG)
    procs = sentinels(master, 3, kind="redis")
    clients = [sentinels.client(s) for s in procs]
    wait_discovered(clients, 3)
    for c in clients:
        # Redis 7.0's SENTINEL DEBUG: the returning old master is INFOed every second and
        # converted 2 s (4 publish periods) after it reports role:master, not 10 + 8 s.
        c.execute_command("SENTINEL", "DEBUG", "info-period", "1000", "publish-period", "500")

    write_load(master, 5000, seed=21)
    wait_caught_up(master, r1, r2)
    # write_load's 50-400 ms expiries pass first: a key still live in this digest would be
    # deleted by the new master's active expiry after the kill (a replica never expires a
    # key itself), and the data after the failover would differ from it.
    time.sleep(0.5)
    before = same_digest(master, r1, r2)
    log_at_kill = {r.port: len(r.log_text()) for r in (r1, r2)}

    master.kill()
    wait_until(
        lambda: master_addr(clients[0]) in (addr_of(r1), addr_of(r2)), 25, what="a new master"
    )
    new_addr = master_addr(clients[0])
    wait_all_agree(clients, new_addr)
    new_master, other = (r1, r2) if new_addr == addr_of(r1) else (r2, r1)
    assert new_master.client().execute_command("ROLE")[0] == b"master"
    assert replication_info(new_master)["role"] == "master"
    wait_until(lambda: follows(other, new_master), 20, what="the other replica re-pointed")
    assert same_digest(new_master, other) == before

    # Writes on the new master reach the re-pointed replica, which kept its data and went on
    # from its position: the promoted replica holds the old master's history.
    write_load(new_master, 3000, seed=22, swap_and_flush=False)
    wait_caught_up(new_master, other)
    assert same_digest(new_master, other) != before
    since_kill = other.log_text()[log_at_kill[other.port] :]
    assert f"incremental sync from {new_master.host}:{new_master.port}" in since_kill
    assert "full sync from" not in since_kill and "full sync done" not in since_kill

    # The old master comes back (same port and dir) as a master and takes a write before
    # the sentinels notice it (they convert it 4 publish periods after it reports
    # role:master): its history diverged from the new master's. Made a replica of the new
    # master, it gets a full sync (a checkpoint), loses that write as a Redis master would,
    # and catches up with what was written meanwhile.
    log_at_restart = len(master.log_text())
    master.start()
    assert master.client().set("written-on-the-returning-old-master", 1)
    wait_until(lambda: follows(master, new_master), 30, what="the old master converted")
    write_load(new_master, 500, seed=23, swap_and_flush=False)
    wait_caught_up(new_master, other, master)
    same_digest(new_master, other, master)
    assert master.client().get("written-on-the-returning-old-master") is None
    since_restart = master.log_text()[log_at_restart:]
    assert f"full sync from {new_master.host}:{new_master.port}" in since_restart
    assert "full sync done" in since_restart
    for c in clients:
        replicas = {(r["ip"], int(r["port"])) for r in c.sentinel_slaves(MASTER)}
        assert replicas == {addr_of(master), addr_of(other)}
    assert master_addr(clients[0]) == new_addr
    assert_failovers(procs, 1)


@pytest.mark.slow
@pytest.mark.pikad_only
def test_manual_failover_never_promotes_a_replica_of_another_history(pikad_factory, sentinels):
    """A replica waiting for a full sync reports the offset of its own, diverged history (r2
    was promoted and written to, then pointed back: pikad's offsets are binlog positions, a
    Redis replica reports its old offset too). It may well be the highest: pika-sentinel
    must not take it for a replica that has every write of the master (it was promoted, and
    the master's writes since r2 left were lost). It prefers r1, which follows the master."""
    master, r1, r2 = start_replicated_group(pikad_factory, replicas=2, **PIKAD_GROUP_CONFIG)
    master.client().config_set("full-sync-max-bytes-per-sec", 2000)  # r2's sync takes long
    procs = sentinels(master, 3)
    clients = [sentinels.client(s) for s in procs]
    wait_discovered(clients, 3)
    write_load(master, 2000, seed=31)
    wait_caught_up(master, r1, r2)

    r2c = r2.client()
    assert r2c.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    write_load(r2, 3000, seed=32, swap_and_flush=False)
    assert r2c.execute_command("REPLICAOF", master.host, master.port) == b"OK"
    assert master.client().set("written-after-r2-left", 1)
    wait_caught_up(master, r1)

    def r2_seen_ahead() -> bool:
        master_offset = int(replication_info(master)["master_repl_offset"])
        for s in clients[0].sentinel_slaves(MASTER):
            if int(s["port"]) == r2.port:
                return (
                    s["master-link-status"] == "err"
                    and int(s["master-port"]) == master.port
                    and int(s["slave-repl-offset"]) > master_offset
                )
        return False

    wait_until(r2_seen_ahead, 15, what="the sentinel to see r2 syncing, with a higher offset")
    assert replication_info(r2)["master_sync_in_progress"] == "1"
    expected = same_digest(master, r1)
    assert clients[0].sentinel_failover(MASTER) is True
    wait_until(
        lambda: "failover_in_progress" not in clients[0].sentinel_master(MASTER)["flags"],
        15,
        what="the failover to end or abort",
    )
    new_addr = master_addr(clients[0])
    assert new_addr != addr_of(r2), "a replica of another history was promoted"
    # r1, which follows the master, was preferred to r2 and passed the fence.
    assert new_addr == addr_of(r1)
    wait_all_agree(clients, new_addr)
    assert r1.client().get("written-after-r2-left") == b"1"
    assert digest(r1) == expected
    assert_failovers(procs, 1)
