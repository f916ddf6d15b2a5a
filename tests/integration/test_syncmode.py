"""What a master's writes wait for, between real processes: WAIT, min-replicas-to-write
(-NOREPLICAS) and sync mode (replication-mode sync: a write's reply waits for
min-replicas-to-ack replicas; on timeout it fails or degrades to async).

WAIT and -NOREPLICAS run the same scenario against a redis-server group and compare replies.
A replica is made unresponsive with SIGSTOP (its socket stays open, nothing is acked).
Every server is a child process on 127.0.0.1 with its own directory, stopped by PID by the
factories; every wait and load loop is bounded.
"""

from __future__ import annotations

import threading
import time

import redis
from tests.helpers.servers import (
    ServerProcess,
    replication_info,
    sigcont,
    sigstop,
    start_replicated_group,
    wait_until,
)
from tests.integration.test_replication import wait_caught_up


def _reply(call) -> object:
    try:
        return call()
    except redis.ResponseError as e:
        return f"error: {e}"


def wait_scenario(group: list[ServerProcess]) -> list[object]:
    master, r1, _r2 = group
    m = master.client()
    out: list[object] = []
    m.set("a", 1)
    out.append(m.execute_command("WAIT", 2, 5000))
    out.append(m.execute_command("WAIT", 0, 0))  # enough already: answers at once
    out.append(m.execute_command("WAIT", 5, 100))  # only 2 exist: the timeout answers
    sigstop(r1)
    try:
        m.set("b", 2)
        start = time.monotonic()
        out.append(m.execute_command("WAIT", 2, 400))
        out.append(("waited the timeout", time.monotonic() - start >= 0.35))
        out.append(m.execute_command("WAIT", 1, 0))  # 0: no timeout; one replica has it
    finally:
        sigcont(r1)
    out.append(m.execute_command("WAIT", 2, 5000))
    out.append(_reply(lambda: r1.client().execute_command("WAIT", 1, 10)))
    for args in (("WAIT", 1), ("WAIT", "x", 10), ("WAIT", 1, "x"), ("WAIT", 1, -1)):
        out.append(_reply(lambda a=args: m.execute_command(*a)))
    return out


def test_wait_like_redis(pikad_factory, redis_factory):
    pikad = wait_scenario(start_replicated_group(pikad_factory, replicas=2))
    oracle = wait_scenario(start_replicated_group(redis_factory, replicas=2))
    assert pikad == oracle


def norepl_scenario(group: list[ServerProcess]) -> list[object]:
    master, replica = group
    m = master.client()
    wait_until(  # the replica acked within the last second (INFO's lag=)
        lambda: m.info("replication")["slave0"]["lag"] == 0, 10, what="a fresh ack"
    )
    m.config_set("min-replicas-to-write", 1)
    m.config_set("min-replicas-max-lag", 2)
    # Redis counts a replica only once it is online and acked: the first SET may race it.
    out: list[object] = [wait_until(lambda: m.set("a", 1), 10, what="a first accepted write")]
    sigstop(replica)
    try:
        # Replicas ack every second: after max-lag seconds of silence the replica is not good.
        # With workers each counts the acks of its own link: wait until both refuse.
        wait_until(
            lambda: all(isinstance(_reply(lambda k=k: m.set(k, 1)), str) for k in ("b", "c")),
            8,
            what="writes refused",
        )
        out.append(_reply(lambda: m.set("c", 1)))
        out.append(_reply(lambda: m.get("a")))  # reads still work
        out.append(_reply(lambda: m.incr("n")))
        pipe = m.pipeline(transaction=True)
        pipe.set("d", 1)
        out.append(_reply(lambda: pipe.execute(raise_on_error=False)))
    finally:
        sigcont(replica)
    wait_until(lambda: m.set("e", 1), 8, what="writes accepted again")
    m.config_set("min-replicas-to-write", 0)
    return out


def test_min_replicas_to_write_like_redis(pikad_factory, redis_factory):
    pikad = norepl_scenario(start_replicated_group(pikad_factory, replicas=1))
    oracle = norepl_scenario(start_replicated_group(redis_factory, replicas=1))
    assert repr(pikad) == repr(oracle)


def _sync_group(pikad_factory, action: str) -> tuple[ServerProcess, ServerProcess]:
    master, replica = start_replicated_group(
        pikad_factory,
        replicas=1,
        replication_mode="sync",
        min_replicas_to_ack=1,
        replication_timeout_ms=500,
        sync_timeout_action=action,
    )
    return master, replica


def test_sync_mode_fail_on_timeout(pikad_factory):
    master, replica = _sync_group(pikad_factory, "fail")
    m = master.client()
    assert m.set("a", 1) is True
    info = replication_info(master)
    assert info["replication_mode"] == "sync" and info["replication_mode_effective"] == "sync"
    sigstop(replica)
    try:
        start = time.monotonic()
        reply = _reply(lambda: m.set("b", 2))
        waited = time.monotonic() - start
        assert reply == "error: NOREPLICAS sync replication timed out: 0 of 1 replicas acknowledged"
        assert 0.45 <= waited < 5
        # The write itself stays applied, as with WAIT: it was only not confirmed.
        assert m.get("b") == b"2"
        assert m.get("a") == b"1"  # reads are not held
        info = replication_info(master)
        assert info["sync_timeouts"] == "1" and info["replication_mode_effective"] == "sync"
    finally:
        sigcont(replica)
    wait_caught_up(master, replica)
    start = time.monotonic()
    assert m.set("c", 3) is True
    assert time.monotonic() - start < 0.45
    assert replica.client().get("c") == b"3"  # acknowledged means replicated


def test_sync_mode_degrades_and_recovers(pikad_factory):
    master, replica = _sync_group(pikad_factory, "degrade")
    m = master.client()
    sigstop(replica)
    try:
        start = time.monotonic()
        assert m.set("a", 1) is True  # held until the timeout, then released
        assert time.monotonic() - start >= 0.45
        info = replication_info(master)
        assert info["replication_mode_effective"] == "async"
        start = time.monotonic()
        for i in range(20):  # degraded: async, nothing waits
            m.set(f"k{i}", i)
        assert time.monotonic() - start < 0.45
    finally:
        sigcont(replica)
    wait_until(
        lambda: replication_info(master)["replication_mode_effective"] == "sync",
        10,
        what="sync mode to come back",
    )
    log = master.log_text()
    assert "degrading to async replication" in log and "sync replication restored" in log
    assert m.set("b", 2) is True
    assert replica.client().get("b") == b"2"


def test_sync_mode_pipelined_replies_stay_in_order(pikad_factory):
    master, replica = _sync_group(pikad_factory, "fail")
    m = master.client()
    pipe = m.pipeline(transaction=False)
    for _ in range(200):
        pipe.incr("n")
        pipe.get("n")
    replies = pipe.execute()
    assert replies == [v for i in range(1, 201) for v in (i, str(i).encode())]
    assert replica.client().get("n") == b"200"


def test_sync_mode_no_acknowledged_write_lost_on_kill(pikad_factory):
    """10,000 acknowledged writes from 4 clients, the master killed with -9 while they run,
    the replica promoted: every acknowledged write is on it."""
    master, replica = start_replicated_group(
        pikad_factory,
        replicas=1,
        replication_mode="sync",
        min_replicas_to_ack=1,
        replication_timeout_ms=10_000,
    )
    acked: list[list[int]] = [[] for _ in range(4)]
    stop = threading.Event()
    total = 10_000

    def writer(w: int) -> None:
        c = master.client(socket_timeout=15)
        for i in range(w, 2 * total, 4):  # bounded: twice what the test needs
            if stop.is_set():
                return
            try:
                c.set(f"w{i}", i)
            except (redis.RedisError, OSError, ValueError, AttributeError):
                # The master died under it (redis-py may see its socket closed, or its
                # reader already dropped: AttributeError on the None buffer).
                return
            acked[w].append(i)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: sum(map(len, acked)) >= total, 120, what="10,000 acknowledged writes")
        master.kill()
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    r = replica.client()
    assert r.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    keys = [f"w{i}" for w in range(4) for i in acked[w]]
    assert len(keys) >= total
    lost = []
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        for k, v in zip(chunk, r.mget(chunk), strict=True):
            if v is None or v != k[1:].encode():
                lost.append(k)
    assert lost == []
