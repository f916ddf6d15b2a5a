"""Replication between real pikad processes: REPLICAOF, incremental sync over the binlog,
restart of a replica, promotion, re-pointing, INFO replication / ROLE against redis-server.

Every server is a child process on 127.0.0.1 with its own directory, stopped by PID by the
factories; every wait is bounded (wait_until).
"""

from __future__ import annotations

import random
import re
import time

import pytest
import redis
from tests.helpers.ports import free_port
from tests.helpers.servers import (
    ServerProcess,
    replication_info,
    sigcont,
    sigstop,
    start_replicated_group,
    wait_until,
)

DBS = (0, 1, 2)


# ---- helpers ----


def offset_of(server: ServerProcess) -> int:
    return int(replication_info(server)["master_repl_offset"])


def wait_caught_up(master: ServerProcess, *replicas: ServerProcess, timeout: float = 60) -> None:
    def done() -> bool:
        want = offset_of(master)
        return all(
            replication_info(r).get("master_link_status") == "up"
            and int(replication_info(r)["slave_repl_offset"]) == want
            for r in replicas
        )

    wait_until(done, timeout, interval=0.1, what="replicas to catch up with the master")


def write_load(master: ServerProcess, n: int, seed: int, *, swap_and_flush: bool = True) -> None:
    """n mixed writes through pipelines over dbs 0..2: strings with and without expiries,
    hashes, lists, sets, zsets, DEL; FLUSHDB and SWAPDB now and then."""
    rnd = random.Random(seed)
    clients = {db: master.client(db=db) for db in DBS}
    done = 0
    while done < n:
        db = rnd.choice(DBS)
        pipe = clients[db].pipeline(transaction=False)
        batch = min(500, n - done)
        for _ in range(batch):
            k = f"k{rnd.randrange(400)}"
            op = rnd.randrange(100)
            if op < 20:
                pipe.set(f"s:{k}", rnd.randbytes(rnd.randrange(1, 40)))
            elif op < 28:
                pipe.set(f"s:{k}", rnd.randrange(10**6), ex=rnd.randrange(100, 1000))
            elif op < 31:
                pipe.set(f"t:{k}", b"short", px=rnd.randrange(50, 400))
            elif op < 45:
                pipe.hset(f"h:{k}", f"f{rnd.randrange(30)}", rnd.randrange(1000))
            elif op < 48:
                pipe.hdel(f"h:{k}", f"f{rnd.randrange(30)}")
            elif op < 58:
                pipe.rpush(f"l:{k}", *(rnd.randbytes(5) for _ in range(rnd.randrange(1, 4))))
            elif op < 61:
                pipe.lpop(f"l:{k}")
            elif op < 71:
                pipe.sadd(f"set:{k}", *(rnd.randrange(50) for _ in range(rnd.randrange(1, 4))))
            elif op < 74:
                pipe.srem(f"set:{k}", rnd.randrange(50))
            elif op < 84:
                pipe.zadd(f"z:{k}", {f"m{rnd.randrange(40)}": rnd.random() * 100})
            elif op < 86:
                pipe.zrem(f"z:{k}", f"m{rnd.randrange(40)}")
            elif op < 88:
                pipe.incrbyfloat(f"f:{k}", rnd.random())
            elif op < 91:
                pipe.expire(f"h:{k}", rnd.randrange(200, 900))
            elif op < 93:
                pipe.persist(f"h:{k}")
            elif op < 99:
                pipe.delete(f"{rnd.choice('shlz')}:{k}")
            elif swap_and_flush and rnd.random() < 0.5:
                pipe.swapdb(rnd.choice(DBS), rnd.choice(DBS))
            elif swap_and_flush and rnd.random() < 0.1:
                pipe.flushdb()
            else:
                pipe.spop(f"set:{k}")
        pipe.execute(raise_on_error=False)
        done += batch


def _content(c: redis.Redis, key: bytes, kind: bytes) -> object:
    if kind == b"string":
        return c.get(key)
    if kind == b"hash":
        return c.hgetall(key)
    if kind == b"list":
        return c.lrange(key, 0, -1)
    if kind == b"set":
        return c.smembers(key)
    if kind == b"zset":
        return c.zrange(key, 0, -1, withscores=True)
    return None


def assert_same_data(master: ServerProcess, replica: ServerProcess) -> int:
    """Every key of the master, on the replica: TYPE, TTL (+-1 s), content; DBSIZE per db.
    -> keys compared."""
    compared = 0
    for db in DBS:
        m, r = master.client(db=db), replica.client(db=db)
        wait_until(
            lambda m=m, r=r: m.dbsize() == r.dbsize(), 10, what=f"the same DBSIZE in db {db}"
        )
        for key in m.scan_iter(count=1000):
            kind = m.type(key)
            if kind == b"none":  # expired meanwhile
                continue
            rkind = r.type(key)
            mttl, rttl = m.ttl(key), r.ttl(key)
            if (
                kind == b"string"
                and key.startswith(b"t:")
                and (rkind == b"none" or (rttl == -2 and mttl <= 1))
            ):
                continue  # a short expiry hit between the reads (the master's TTL was 0)
            assert rkind == kind, (db, key)
            assert abs(mttl - rttl) <= 1, (db, key, mttl, rttl)
            assert _content(m, key, kind) == _content(r, key, kind), (db, key)
            compared += 1
    return compared


def incremental_syncs(server: ServerProcess) -> int:
    return server.log_text().count("incremental sync")


def term_of(server: ServerProcess) -> int:
    shard0 = server.client(decode_responses=True).info("persistence")["binlog_shard0"]
    return int(shard0["term"])  # redis-py parses "segments=..,term=N" into a dict


# ---- the scenario of the slice ----


def test_converge_restart_promote_repoint(pikad_factory):
    master, r1, r2 = start_replicated_group(pikad_factory, replicas=2)
    write_load(master, 20_000, seed=1)
    wait_caught_up(master, r1, r2)
    assert master.client().dbsize() > 0
    n1 = assert_same_data(master, r1)
    n2 = assert_same_data(master, r2)
    assert n1 > 100 and n2 > 100

    # Replicas are read only for normal clients.
    with pytest.raises(redis.ReadOnlyError, match="You can't write against a read only"):
        r1.client().set("x", 1)
    assert r1.client().get(b"x") is None

    # kill -9 of a replica, writes meanwhile, restart: incremental resume, no full sync.
    syncs_before = incremental_syncs(master)
    r1.kill()
    write_load(master, 3000, seed=2)
    r1.start()
    wait_caught_up(master, r1, r2)
    restarted_log = r1.log_text().rsplit("---- start #", 1)[1]
    assert "incremental sync from" in restarted_log
    assert "full sync" not in restarted_log.replace("no full sync needed", "")
    assert incremental_syncs(master) > syncs_before
    assert_same_data(master, r1)

    # Promotion: writes accepted, role master, term bumped.
    term = term_of(r1)
    assert r1.client().execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    info = replication_info(r1)
    assert info["role"] == "master"
    assert info["master_replid2"] != "0" * 40
    assert term_of(r1) == term + 1
    c1 = r1.client()
    assert c1.set("after-promotion", "yes")
    assert c1.execute_command("ROLE")[0] == b"master"

    # The other replica re-pointed at the promoted one continues incrementally.
    master.stop()
    before = r2.log_text()
    assert r2.client().execute_command("REPLICAOF", r1.host, r1.port) == b"OK"
    write_load(r1, 2000, seed=3, swap_and_flush=False)
    wait_caught_up(r1, r2)
    after = r2.log_text()[len(before) :]
    assert "incremental sync from" in after
    assert "full sync" not in after.replace("no full sync needed", "")  # no checkpoint
    assert r2.client().get("after-promotion") == b"yes"
    assert_same_data(r1, r2)


def test_replica_does_not_expire_on_its_own(pikad_factory):
    master, replica = start_replicated_group(pikad_factory, replicas=1, enable_debug_command="yes")
    m, r = master.client(), replica.client()
    m.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    m.set("k", "v", px=150)
    wait_caught_up(master, replica)
    time.sleep(0.3)
    assert r.get("k") is None  # reads hide an expired key...
    assert r.dbsize() == 1  # ...which only the master's deletion removes
    assert m.get("k") is None  # the master deletes it on access and replicates the DEL
    wait_until(lambda: r.dbsize() == 0, 10, what="the replicated expiry")


def test_full_sync_needed_is_reported(pikad_factory):
    master = pikad_factory(shards=2)
    replica = pikad_factory(shards=3, replicaof=f"{master.host} {master.port}")
    wait_until(lambda: "requires a full sync" in replica.log_text(), 10, what="the FULLSYNC reply")
    info = replication_info(replica)
    assert info["master_link_status"] == "down"
    assert "shard" in replica.log_text()
    assert replica.client().execute_command("ROLE")[3] in (b"connect", b"connecting", b"sync")


def test_client_list_and_kill_types(pikad_factory):
    master, replica = start_replicated_group(pikad_factory, replicas=1)
    m, r = master.client(), replica.client()
    assert "flags=S" in m.execute_command("CLIENT", "LIST", "TYPE", "replica").decode()
    assert "flags=M" in r.execute_command("CLIENT", "LIST", "TYPE", "master").decode()
    assert m.info("clients")["connected_clients"] == 1  # replicas are not counted
    syncs = incremental_syncs(replica)
    # One connection to the master per worker of the replica (pikad --workers N).
    links = r.execute_command("CLIENT", "LIST", "TYPE", "master").decode().count("flags=M")
    assert r.execute_command("CLIENT", "KILL", "TYPE", "master") == links
    # Every link back (with workers, the link is up once all of them are).
    wait_until(
        lambda: (
            incremental_syncs(replica) >= syncs + links
            and replication_info(replica)["master_link_status"] == "up"
        ),
        10,
        what="the replica to reconnect",
    )
    syncs = incremental_syncs(replica)
    links = m.execute_command("CLIENT", "LIST", "TYPE", "replica").decode().count("flags=S")
    assert m.execute_command("CLIENT", "KILL", "TYPE", "slave") == links
    wait_until(lambda: incremental_syncs(replica) > syncs, 10, what="the replica to reconnect")
    m.set("after-kill", 1)
    wait_caught_up(master, replica)
    assert r.get("after-kill") == b"1"


def test_replicaof_replies_match_redis(pikad_factory, redis_factory):
    nowhere = free_port()
    cmds = [
        ["REPLICAOF", "NO", "ONE"],
        ["REPLICAOF", "127.0.0.1", "abc"],
        ["REPLICAOF", "127.0.0.1", "70000"],
        ["REPLICAOF", "127.0.0.1", "-1"],
        ["REPLICAOF", "no", "one", "x"],
        ["SLAVEOF", "127.0.0.1"],
        ["REPLCONF", "foo", "1"],
        ["REPLCONF", "listening-port"],
        ["REPLICAOF", "127.0.0.1", str(nowhere)],
        ["REPLICAOF", "127.0.0.1", str(nowhere)],
        ["SET", "k", "v"],
        ["SLAVEOF", "NO", "ONE"],
        ["SET", "k", "v"],
    ]
    replies = []
    for server in (pikad_factory(), redis_factory()):
        raw = server.raw()
        replies.append([raw.call(*cmd) for cmd in cmds])
    assert replies[0] == replies[1]
    raw = pikad_factory().raw()
    assert raw.execute("PSYNC", "?", "-1") == (
        b"-ERR pikadb masters replicate to pikadb replicas only (PIKASYNC)\r\n"
    )
    assert raw.execute("SYNC").startswith(b"-ERR pikadb masters replicate")


def test_replica_serve_stale_data_no(pikad_factory):
    replica = pikad_factory(replica_serve_stale_data="no")
    r = replica.client()
    r.execute_command("REPLICAOF", "127.0.0.1", free_port())
    with pytest.raises(
        redis.ResponseError, match="Link with MASTER is down and replica-serve-stale-data"
    ):
        r.get("k")
    assert r.execute_command("ROLE")[0] == b"slave"  # stale commands still answer
    assert r.execute_command("SLAVEOF", "NO", "ONE") is True  # redis-py maps +OK
    assert r.get("k") is None


# ---- INFO replication and ROLE: the same fields as redis-server ----


def _info(server: ServerProcess) -> list[tuple[str, str]]:
    """INFO replication as (field, value) pairs in order, unparsed (redis-py would turn
    slave0's value into a dict)."""
    raw = server.raw().execute("INFO", "replication")
    text = raw.split(b"\r\n", 1)[1].decode()
    return [tuple(line.split(":", 1)) for line in text.splitlines() if ":" in line]


def _fields(server: ServerProcess) -> list[str]:
    return [k for k, _v in _info(server)]


def _role_shape(value: object) -> object:
    if isinstance(value, list):
        return [_role_shape(v) for v in value]
    return type(value).__name__


def test_info_replication_and_role_like_redis(pikad_factory, redis_factory):
    rm, rr = start_replicated_group(redis_factory, replicas=1, repl_diskless_sync_delay=0)
    pm, pr = start_replicated_group(pikad_factory, replicas=1)
    for m in (rm, pm):
        m.client().set("k", "v")
    wait_until(lambda: "state=online" in dict(_info(rm)).get("slave0", ""), 20, what="online")
    wait_caught_up(pm, pr)
    assert _fields(pm) == _fields(rm)
    assert _fields(pr) == _fields(rr)
    pinfo, rinfo = dict(_info(pm)), dict(_info(rm))
    pslave, rslave = pinfo["slave0"], rinfo["slave0"]
    assert [f.split("=")[0] for f in pslave.split(",")] == [
        f.split("=")[0] for f in rslave.split(",")
    ]
    assert f"port={pr.port}" in pslave and "state=online" in pslave
    assert re.fullmatch(r"[0-9a-f]{40}", pinfo["master_replid"])
    assert replication_info(pr)["master_replid"] == pinfo["master_replid"]
    for m, r in ((rm, rr), (pm, pr)):
        assert m.client().execute_command("ROLE")[2][0][1] == str(r.port).encode()
    assert _role_shape(pm.client().execute_command("ROLE")) == _role_shape(
        rm.client().execute_command("ROLE")
    )
    prole, rrole = pr.client().execute_command("ROLE"), rr.client().execute_command("ROLE")
    assert _role_shape(prole) == _role_shape(rrole)
    assert prole[:4] == [b"slave", b"127.0.0.1", pm.port, b"connected"]
    assert prole[4] == pm.client().execute_command("ROLE")[1]
    # Link down: master_link_down_since_seconds appears in the same place.
    rm.stop()
    pm.stop()
    wait_until(lambda: replication_info(rr)["master_link_status"] == "down", 10, what="down")
    wait_until(lambda: replication_info(pr)["master_link_status"] == "down", 10, what="down")
    assert _fields(pr) == _fields(rr)
    # Promoted: replid2 and second_repl_offset as Redis sets them.
    for r in (rr, pr):
        assert r.client().execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    assert _fields(pr) == _fields(rr)
    pinfo = replication_info(pr)
    assert int(pinfo["second_repl_offset"]) == int(pinfo["master_repl_offset"]) + 1


def test_pings_keep_the_link_and_silence_times_it_out(pikad_factory):
    master = pikad_factory(repl_ping_replica_period=1)
    replica = pikad_factory(repl_timeout=2, replicaof=f"{master.host} {master.port}")
    wait_until(lambda: replication_info(replica)["master_link_status"] == "up", 10, what="up")
    time.sleep(2.5)  # no writes: only the master's PINGs arrive
    info = replication_info(replica)
    assert info["master_link_status"] == "up"
    assert int(info["master_last_io_seconds_ago"]) <= 1
    sigstop(master)
    try:
        wait_until(
            lambda: replication_info(replica)["master_link_status"] == "down", 8, what="timeout"
        )
        assert "MASTER timeout" in replica.log_text()
    finally:
        sigcont(master)
    wait_until(lambda: replication_info(replica)["master_link_status"] == "up", 10, what="up")


def test_masterauth_and_announced_address(pikad_factory):
    master = pikad_factory(requirepass="s3cret")
    announced = free_port()
    replica = pikad_factory(
        masterauth="s3cret",
        replica_announce_ip="127.0.0.9",
        replica_announce_port=announced,
        replicaof=f"{master.host} {master.port}",
    )
    wait_until(lambda: replication_info(replica)["master_link_status"] == "up", 10, what="up")
    m = master.client(password="s3cret")
    m.set("k", "v")
    wait_until(lambda: replica.client().get("k") == b"v", 10, what="the write")
    role = m.execute_command("ROLE")
    assert role[2][0][:2] == [b"127.0.0.9", str(announced).encode()]
    # A wrong password: the link stays down and the log says why.
    replica.client().config_set("masterauth", "wrong")
    replica.client().execute_command("CLIENT", "KILL", "TYPE", "master")
    wait_until(lambda: "AUTH failed" in replica.log_text(), 10, what="the AUTH failure")
    assert replication_info(replica)["master_link_status"] == "down"


def test_catch_up_beyond_the_push_buffer(pikad_factory):
    """~20 MB of records behind: the master stops reading the binlog at its high-water mark
    and resumes when the replica drains the socket (no new write is needed to finish)."""
    master, replica = start_replicated_group(pikad_factory, replicas=1)
    replica.kill()
    m = master.client()
    value = b"v" * (64 << 10)
    for start in range(0, 320, 40):
        pipe = m.pipeline(transaction=False)
        for i in range(start, start + 40):
            pipe.set(f"big:{i}", value + b"%d" % i)
        pipe.execute()
    replica.start()
    wait_caught_up(master, replica, timeout=60)
    r = replica.client()
    assert r.dbsize() == 320
    assert r.get("big:319") == value + b"319"


def test_purged_position_needs_full_sync(pikad_factory):
    """A replica away while the master purged the records it needs gets a full sync
    (tests/integration/test_fullsync.py goes further); the master does not purge what a
    connected replica still needs."""
    master, replica = start_replicated_group(
        pikad_factory, replicas=1, binlog_segment_size=4096, binlog_keep_segments=1
    )
    m = master.client()
    for i in range(200):
        m.set(f"a:{i}", b"x" * 100)
    wait_caught_up(master, replica)  # connected: its segments were kept until acked
    assert replica.client().dbsize() == 200
    replica.kill()
    for i in range(200):
        m.set(f"b:{i}", b"x" * 100)
    wait_until(
        lambda: int(m.info("persistence")["binlog_shard0"]["first_id"]) > 50,
        10,
        what="the cron to purge old segments",
    )
    replica.start()
    wait_caught_up(master, replica)
    assert "full sync done" in replica.log_text()
    assert "does not hold the records after id" in master.log_text()
    assert replica.client().dbsize() == 400


def digest_of(server: ServerProcess) -> str:
    return server.client(socket_timeout=60).execute_command("DEBUG", "DIGEST").decode()


def test_100k_mixed_writes_same_digest(pikad_factory):
    """A master and 2 replicas, 100,000 mixed writes with expiries over 3 dbs: both replicas
    reach the master's DEBUG DIGEST (Redis's data set signature, expiries included)."""
    master, r1, r2 = start_replicated_group(pikad_factory, replicas=2, enable_debug_command="local")
    write_load(master, 100_000, seed=100)
    wait_caught_up(master, r1, r2, timeout=120)
    time.sleep(0.5)  # the last short expiries (px <= 400 ms) pass: no key expires meanwhile
    want = digest_of(master)
    assert want != "0" * 40
    assert digest_of(r1) == want
    assert digest_of(r2) == want
    assert master.client().dbsize() > 100
