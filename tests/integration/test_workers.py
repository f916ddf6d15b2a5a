"""pikad with several worker processes (`workers 2`): one port, shards split between the
workers, commands forwarded to the worker owning their keys.

What a Redis client sees must not change, except where keys of one atomic command belong
to different workers: such a command answers -CROSSSLOT (as Redis Cluster does), and hash
tags put keys together. These are the documented CROSSSLOT cases; the differential suite
run with PIKADB_TEST_WORKERS=2 skips a case at its first CROSSSLOT reply and points here.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import redis

from helpers.servers import wait_until
from pikadb.keycodec import key_slot

pytestmark = pytest.mark.pikad_only

WORKERS = 2
CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"


def worker_of(key: str, shards: int = WORKERS) -> int:
    return (key_slot(key.encode()) % shards) % WORKERS


def keys_on(worker: int, n: int, prefix: str = "k") -> list[str]:
    out = []
    i = 0
    while len(out) < n:
        k = f"{prefix}{i}"
        if worker_of(k) == worker:
            out.append(k)
        i += 1
    return out


def worker_pids(coordinator_pid: int) -> list[int]:
    with open(f"/proc/{coordinator_pid}/task/{coordinator_pid}/children") as f:
        return [int(p) for p in f.read().split()]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from helpers.servers import start_pikad

    srv = start_pikad(tmp_path_factory.mktemp("workers"), workers=WORKERS)
    yield srv
    srv.stop()


@pytest.fixture
def r(server):
    client = redis.Redis(port=server.port, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


def test_two_workers_share_the_port(server):
    pids = worker_pids(server.pid)
    assert len(pids) == WORKERS
    # Connections land on both workers (SO_REUSEPORT): each serves its own clients.
    seen = set()
    clients = [redis.Redis(port=server.port) for _ in range(40)]
    try:
        for c in clients:
            c.ping()
        for line in clients[0].client_list():
            seen.add(int(line["id"]) % WORKERS)
        assert len(clients[0].client_list()) >= 40
    finally:
        for c in clients:
            c.close()
    assert seen == {0, 1}


def test_single_key_commands_reach_the_owner(r):
    a, b = keys_on(0, 1)[0], keys_on(1, 1)[0]
    for k in (a, b):
        assert r.set(k, "v")
        assert r.get(k) == b"v"
        assert r.incr(k + ":n") == 1
        assert r.lpush(k + ":l", 1, 2, 3) == 3
        assert r.lrange(k + ":l", 0, -1) == [b"3", b"2", b"1"]
        assert r.hset(k + ":h", mapping={"f": 1}) == 1
        assert r.zadd(k + ":z", {"m": 1.5}) == 1
        assert r.type(k + ":z") == b"zset"
    assert r.dbsize() == 10


def test_pipeline_over_workers_keeps_reply_order(r):
    """Pipelined commands for other workers' keys run there while the pipeline goes on
    (local ones too); every reply keeps its place, and commands that must not overtake
    (DBSIZE over every worker, MGET split, MULTI) wait for the ones in flight."""
    a, b = keys_on(0, 60, "pa"), keys_on(1, 60, "pb")
    p = r.pipeline(transaction=False)
    want: list[object] = []
    for i in range(60):
        p.set(a[i], i).set(b[i], i).get(a[i]).incr(b[i]).get(b[i])
        want += [True, True, str(i).encode(), i + 1, str(i + 1).encode()]
        if i % 20 == 19:
            p.dbsize().mget(a[i], b[i])
            want += [2 * (i + 1), [str(i).encode(), str(i + 1).encode()]]
    assert p.execute() == want
    t = r.pipeline(transaction=True)  # a transaction after a pipeline, on one worker
    t.incr(b[0]).get(b[0])
    assert t.execute() == [2, b"2"]


def test_split_commands_combine_their_replies(r):
    a0, a1 = keys_on(0, 2, "a")
    b0, b1 = keys_on(1, 2, "b")
    assert r.mset({a0: 1, b0: 2, a1: 3, b1: 4})
    assert r.mget(b1, a0, "missing", b0, a1) == [b"4", b"1", None, b"2", b"3"]
    assert r.exists(a0, b0, a0, "missing") == 3
    assert r.touch(a0, b1) == 2
    assert r.delete(a0, b0, "missing") == 2
    assert r.unlink(a1, b1) == 2
    assert r.dbsize() == 0


def test_keyspace_commands_see_every_worker(r):
    names = [f"key:{i}" for i in range(200)]
    assert {worker_of(k) for k in names} == {0, 1}
    r.mset({k: "v" for k in names})
    assert r.dbsize() == 200
    assert sorted(r.keys("*")) == sorted(k.encode() for k in names)
    assert sorted(r.keys("key:1*")) == sorted(k.encode() for k in names if k.startswith("key:1"))
    # A full SCAN returns every key exactly once, whatever the page size.
    for count in (1, 7, 1000):
        got = []
        cursor = 0
        while True:
            cursor, page = r.scan(cursor, count=count)
            got.extend(page)
            if cursor == 0:
                break
        assert sorted(got) == sorted(k.encode() for k in names), count
    assert r.randomkey() in {k.encode() for k in names}
    info = r.info("keyspace")
    assert info["db0"]["keys"] == 200
    r.select(1)
    r.set("x", 1)
    r.select(0)
    assert r.info("keyspace")["db1"]["keys"] == 1
    assert r.flushall()
    assert r.dbsize() == 0
    assert r.randomkey() is None


def test_crossslot_for_atomic_commands_across_workers(r):
    a, b = keys_on(0, 1)[0], keys_on(1, 1)[0]
    r.set(a, "hello")
    r.set(b, "world")
    for args in (
        ("RENAME", a, b),
        ("RENAMENX", a, b),
        ("COPY", a, b),
        ("MSETNX", a, 1, b, 2),
        ("LCS", a, b),
        ("SMOVE", a, b, "m"),
        ("SINTERSTORE", a, b),
        ("BLMOVE", a, b, "LEFT", "LEFT", 0),
        ("BLPOP", a, b, 0),
    ):
        with pytest.raises(redis.ResponseError, match="^" + CROSSSLOT.split(" ", 1)[1]):
            r.execute_command(*args)
    # Nothing happened to either key.
    assert r.mget(a, b) == [b"hello", b"world"]
    # Hash tags keep keys on one worker: the same commands run.
    t1, t2 = "{user1}:a", "{user1}:b"
    r.set(t1, "x")
    assert r.rename(t1, t2)
    assert r.copy(t2, t1)
    assert r.msetnx({"{user1}:c": 1, "{user1}:d": 2})


def test_crossslot_for_transactions_that_change_the_connection(server):
    """A transaction runs on one worker: PUBLISH inside MULTI (subscribers are on every
    worker) and a transaction changing the connection (SELECT, SUBSCRIBE, CLIENT SETNAME)
    next to a key of another worker answer -CROSSSLOT and doom it; with keys of the
    connection's own worker the same transaction runs."""
    from helpers.raw import RawConnection

    for _ in range(100):  # a connection on worker 0 (client ids are worker-strided)
        conn = RawConnection(server.port)
        if int(conn.call("CLIENT", "ID")) % WORKERS == 0:  # type: ignore[arg-type]
            break
        conn.close()
    mine, other = keys_on(0, 1, "tx")[0], keys_on(1, 1, "tx")[0]
    try:
        for first in (["PUBLISH", "ch", "m"], ["SELECT", "0"], ["CLIENT", "SETNAME", "n"]):
            assert conn.execute("MULTI") == b"+OK\r\n"
            replies = [conn.execute(*first), conn.execute("GET", other), conn.execute("EXEC")]
            if first[0] == "PUBLISH":
                assert replies[0] == f"-{CROSSSLOT}\r\n".encode()
            else:
                assert replies[0] == b"+QUEUED\r\n"
                assert replies[1] == f"-{CROSSSLOT}\r\n".encode()
            assert replies[2].startswith(b"-EXECABORT")
        assert conn.execute("MULTI") == b"+OK\r\n"
        for cmd in (["SELECT", "0"], ["SET", mine, "1"], ["GET", mine]):
            assert conn.execute(*cmd) == b"+QUEUED\r\n"
        assert conn.execute("EXEC") == b"*3\r\n+OK\r\n+OK\r\n$1\r\n1\r\n"
    finally:
        conn.close()


def test_transactions_live_on_the_owner_of_their_keys(r):
    a, a2 = keys_on(0, 2)
    b = keys_on(1, 1)[0]
    remote = b if worker_of(b) == 1 else a
    with r.pipeline(transaction=True) as p:
        p.set(remote, 1).incr(remote).get(remote)
        assert p.execute() == [True, 2, b"2"]
    # Keys of two workers in one transaction: the command is refused and EXEC aborts.
    with pytest.raises(redis.ResponseError, match="hash to the same slot"), r.pipeline() as p:
        p.set(a, 1).set(b, 1)
        p.execute()
    raw = r.connection_pool.get_connection()
    try:
        for cmd in (("MULTI",), ("SET", a, 1), ("SET", b, 1)):
            raw.send_command(*cmd)
        assert raw.read_response() == b"OK"
        assert raw.read_response() == b"QUEUED"
        with pytest.raises(redis.ResponseError, match="same slot"):
            raw.read_response()
        raw.send_command("EXEC")
        with pytest.raises(redis.ResponseError, match=r"^Transaction discarded"):
            raw.read_response()
    finally:
        r.connection_pool.release(raw)
    # WATCH on a key another connection changes: the transaction does not run.
    other = redis.Redis(port=r.connection_pool.connection_kwargs["port"])
    try:
        for key in (a, b):
            with r.pipeline() as p:
                p.watch(key)
                other.set(key, "changed")
                p.multi()
                p.set(key, "mine")
                with pytest.raises(redis.WatchError):
                    p.execute()
            assert r.get(key) == b"changed"
        # WATCH keys of one worker and write keys of another: refused, nothing runs.
        with r.pipeline() as p:
            p.watch(a)
            p.multi()
            p.set(b, "x")
            with pytest.raises(redis.ResponseError, match="same slot"):
                p.execute()
        assert r.get(b) == b"changed"
        assert r.execute_command("UNWATCH") is True
    finally:
        other.close()
    with r.pipeline() as p:
        p.set(a, 5).set(a2, 6).mget(a, a2)
        assert p.execute() == [True, True, [b"5", b"6"]]


def test_blocking_commands_wait_on_the_owner(server, r):
    for worker in (0, 1):
        key = keys_on(worker, 1, "q")[0]
        got: list[object] = []
        blocked = redis.Redis(port=server.port, socket_timeout=10)

        def pop(c=blocked, key=key, got=got) -> None:
            got.append(c.blpop([key], timeout=5))

        t = threading.Thread(target=pop)
        t.start()
        time.sleep(0.3)
        r.rpush(key, "job")
        t.join(10)
        blocked.close()
        assert got == [(key.encode(), b"job")]
    assert r.blpop([keys_on(1, 1, "empty")[0]], timeout=0.2) is None


def test_pubsub_across_workers(server, r):
    subs = [redis.Redis(port=server.port, socket_timeout=10) for _ in range(8)]
    pubsubs = []
    try:
        for s in subs:
            ps = s.pubsub()
            ps.subscribe("news")
            ps.get_message(timeout=5)
            pubsubs.append(ps)
        assert r.publish("news", "hi") == 8
        for ps in pubsubs:
            msg = ps.get_message(timeout=5)
            assert msg["data"] == b"hi"
        assert r.pubsub_numsub("news") == [(b"news", 8)]
        assert b"news" in r.pubsub_channels()
    finally:
        for ps in pubsubs:
            ps.close()
        for s in subs:
            s.close()


def test_config_set_reaches_every_worker(server, r):
    old = r.config_get("maxclients")["maxclients"]
    try:
        assert r.config_set("maxclients", 777)
        for _ in range(20):  # fresh connections land on either worker
            c = redis.Redis(port=server.port)
            assert c.config_get("maxclients")["maxclients"] == "777"
            c.close()
    finally:
        r.config_set("maxclients", old)


def test_client_kill_finds_a_client_on_another_worker(server, r):
    victims = [redis.Redis(port=server.port, socket_timeout=5) for _ in range(10)]
    try:
        for i, v in enumerate(victims):
            v.client_setname(f"victim{i}")
        listed = {c["name"]: c for c in r.client_list() if c["name"].startswith("victim")}
        assert len(listed) == 10
        assert r.client_kill_filter(_id=listed["victim7"]["id"]) == 1
        assert r.execute_command("CLIENT", "KILL", listed["victim3"]["addr"]) == b"OK"
        with pytest.raises(redis.ResponseError, match="No such client"):
            r.execute_command("CLIENT", "KILL", "127.0.0.1:1")
        names = {c["name"] for c in r.client_list()}
        assert "victim7" not in names and "victim3" not in names and "victim1" in names
    finally:
        for v in victims:
            v.close()


@pytest.mark.slow
def test_kill_9_of_a_worker_under_load_loses_no_acknowledged_write(tmp_path):
    """Writers on 8 connections; a worker killed -9 three times; the coordinator restarts
    it and every acknowledged SET is there afterwards with its value."""
    from helpers.servers import start_pikad

    srv = start_pikad(tmp_path, workers=WORKERS)
    acked: list[dict[str, str]] = [{} for _ in range(8)]
    errors = [0] * 8
    stop = threading.Event()

    def writer(n: int) -> None:
        c = redis.Redis(port=srv.port, socket_timeout=5)
        i = 0
        deadline = time.monotonic() + 60
        while not stop.is_set() and i < 200_000 and time.monotonic() < deadline:
            key, value = f"w{n}:{i}", f"{n}-{i}"
            i += 1
            try:
                c.set(key, value)
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                errors[n] += 1
                continue
            acked[n][key] = value

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    try:
        for t in threads:
            t.start()
        restarts = []
        for _ in range(3):
            time.sleep(1.5)
            before = worker_pids(srv.pid)
            victim = before[int(time.monotonic()) % len(before)]
            killed_at = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            wait_until(
                lambda b=before, v=victim: (
                    len(worker_pids(srv.pid)) == WORKERS and v not in worker_pids(srv.pid)
                ),
                timeout=15,
            )
            probe = redis.Redis(port=srv.port, socket_timeout=5)
            wait_until(lambda p=probe: _all_workers_answer(p), timeout=15)
            probe.close()
            restarts.append(time.monotonic() - killed_at)
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    c = redis.Redis(port=srv.port, socket_timeout=10)
    total = sum(len(a) for a in acked)
    lost = 0
    for a in acked:
        keys = list(a)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            for k, v in zip(chunk, c.mget(chunk), strict=True):
                if v is None or v.decode() != a[k]:
                    lost += 1
    c.close()
    srv.stop()
    print(
        f"\nworkers {WORKERS}: 3 kill -9 of a worker under 8 writers: {total} writes acknowledged, "
        f"{sum(errors)} refused/failed, {lost} lost; back to all workers answering in "
        + ", ".join(f"{s:.2f}" for s in restarts)
        + " s"
    )
    assert total > 1000
    assert lost == 0


def _all_workers_answer(c: redis.Redis) -> bool:
    try:
        c.mget(keys_on(0, 1)[0], keys_on(1, 1)[0])
        return True
    except redis.RedisError:
        return False


@pytest.mark.parametrize(("master_workers", "replica_workers"), [(2, 1), (1, 2), (2, 2)])
def test_replication_between_different_worker_counts(
    pikad_factory, master_workers, replica_workers
):
    """Each replica worker syncs the shards it owns: the master's worker that accepts the
    connection hands it to the owner, or asks for one connection per owner (-PIKASPLIT)."""
    from integration.test_replication import (
        assert_same_data,
        digest_of,
        wait_caught_up,
        write_load,
    )

    config = {"shards": 4, "enable_debug_command": "yes"}
    master = pikad_factory(workers=master_workers, **config)
    replica = pikad_factory(
        workers=replica_workers, replicaof=f"{master.host} {master.port}", **config
    )
    wait_until(lambda: replica.client().info("replication")["master_link_status"] == "up", 20)
    write_load(master, 3000, seed=11)
    wait_caught_up(master, replica)
    assert "Cannot hand" not in master.log_text()  # handed over, never refused
    time.sleep(0.5)  # the short expiries pass: nothing expires between the two digests
    assert digest_of(replica) == digest_of(master)
    # One link per owning worker on each side, shown as one replica and one master.
    links = replica.client().execute_command("CLIENT", "LIST", "TYPE", "master").decode()
    assert links.count("flags=M") == max(master_workers, replica_workers)
    role = master.client().execute_command("ROLE")
    assert role[0] == b"master" and len(role[2]) == 1
    assert int(role[2][0][2]) == role[1]  # the replica acknowledged everything
    assert replica.client().execute_command("ROLE")[3] == b"connected"
    # A restarted replica continues incrementally on every link.
    replica.restart(kill=True)
    write_load(master, 500, seed=12, swap_and_flush=False)
    wait_caught_up(master, replica)
    assert assert_same_data(master, replica) > 0
    assert "full sync done" not in replica.log_text()


def test_a_transaction_of_server_wide_commands_runs_on_every_worker(pikad_factory):
    """Sentinel promotes a replica with MULTI, SLAVEOF NO ONE, CONFIG REWRITE, CLIENT KILL
    TYPE normal, EXEC: the transaction runs on the connection's worker, its server-wide
    commands then on every other worker, and EXEC answers after all of them (they answered
    -CROSSSLOT, and no pikad with workers could be failed over). FLUSHALL in a transaction
    empties every worker."""
    from helpers.raw import RawConnection

    master = pikad_factory(workers=WORKERS, shards=4)
    replica = pikad_factory(workers=WORKERS, shards=4, replicaof=f"{master.host} {master.port}")
    wait_until(lambda: replica.client().info("replication")["master_link_status"] == "up", 20)
    bystanders = [RawConnection(replica.port) for _ in range(6)]  # on both workers
    conn = RawConnection(replica.port)
    for cmd in (["MULTI"], ["SLAVEOF", "NO", "ONE"], ["CONFIG", "REWRITE"]):
        conn.execute(*cmd)
    assert conn.execute("CLIENT", "KILL", "TYPE", "normal") == b"+QUEUED\r\n"
    reply = conn.execute("EXEC")
    assert reply.startswith(b"*3\r\n+OK\r\n-ERR The server is running without a config file\r\n:")
    # Every worker is a master at EXEC's reply, and the other clients were disconnected.
    assert replica.client().execute_command("ROLE")[0] == b"master"
    assert replica.client().info("replication")["role"] == "master"
    for b in bystanders:
        with pytest.raises(ConnectionError):  # helpers.raw.ConnectionClosed, or a reset
            b.execute("PING")
    r = replica.client()
    r.mset({k: 1 for k in keys_on(0, 3, "fa") + keys_on(1, 3, "fa")})
    assert r.dbsize() == 6
    conn = RawConnection(replica.port)
    mine = keys_on(int(conn.call("CLIENT", "ID")) % WORKERS, 1, "fb")[0]  # type: ignore[arg-type]
    for cmd in (["MULTI"], ["SET", mine, "1"], ["FLUSHALL"]):
        conn.execute(*cmd)
    assert conn.execute("EXEC") == b"*2\r\n+OK\r\n+OK\r\n"
    assert r.dbsize() == 0
