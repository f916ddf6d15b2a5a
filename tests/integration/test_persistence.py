"""Data on disk: what pikad acknowledged is there after a restart, a SIGTERM or a kill -9.

Each test runs its own pikad (pikad_factory) in a temporary dir. "Acknowledged" means the
reply reached the client: a kill -9 right after the last reply must lose none of those
writes, with sync-writes no (RocksDB's WAL reaches the OS, which survives the process) and
yes (fsync per write). A second pikad on a dir in use must refuse to start.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from helpers.ports import free_port
from helpers.raw import ConnectionClosed, RawConnection, ReplyTimeout, encode_commands
from helpers.servers import ArgvServer, pikad_command

pytestmark = pytest.mark.pikad_only

N_KEYS = 600


def _value(i: int) -> bytes:
    if i % 97 == 0:
        return random.Random(i).randbytes(100_000)  # some big ones
    if i % 13 == 0:
        return b"bin\x00\r\n\xff" + str(i).encode()
    return b"v:%d" % i


def _ttl_for(i: int) -> int | None:
    """Seconds of TTL for key i, or None for a persistent key."""
    if i % 5 == 0:
        return 3600
    if i % 7 == 0:
        return 86400
    return None


def _write_dataset(server) -> dict[tuple[int, bytes], tuple[bytes, int | None]]:
    expected = {}
    for db in (0, 3):
        p = server.client(db=db).pipeline(transaction=False)
        for i in range(N_KEYS):
            key = b"key:%d:%d" % (db, i)
            ttl = _ttl_for(i)
            if ttl is None:
                p.set(key, _value(i))
            elif i % 2:
                p.set(key, _value(i), ex=ttl)
            else:
                p.set(key, _value(i), pxat=int(time.time() * 1000) + ttl * 1000)
            expected[(db, key)] = (_value(i), ttl)
        assert all(p.execute())
    return expected


def _check_dataset(server, expected, written_at: float) -> None:
    for db in (0, 3):
        c = server.client(db=db)
        keys = [k for (d, k) in expected if d == db]
        assert c.dbsize() == len(keys), f"db {db}: DBSIZE {c.dbsize()} != {len(keys)}"
        values = c.mget(keys)
        for key, got in zip(keys, values, strict=True):
            want, _ = expected[(db, key)]
            assert got == want, f"db {db} {key!r}: {got[:50] if got else got!r} != {want[:50]!r}"
        p = c.pipeline(transaction=False)
        for key in keys:
            p.ttl(key)
        elapsed = time.time() - written_at
        for key, ttl in zip(keys, p.execute(), strict=True):
            _, want = expected[(db, key)]
            if want is None:
                assert ttl == -1, f"db {db} {key!r}: TTL {ttl}, expected none"
            else:
                assert want - elapsed - 2 <= ttl <= want, f"db {db} {key!r}: TTL {ttl}, set {want}"


def test_sigterm_restart_keeps_keys_and_ttls(pikad_factory):
    server = pikad_factory()
    expected = _write_dataset(server)
    written_at = time.time()
    _check_dataset(server, expected, written_at)
    code = server.stop()
    assert code == 0, f"SIGTERM exit status {code}\n{server.log_tail()}"
    server.start()
    _check_dataset(server, expected, written_at)
    server.restart()  # twice: reopening a reopened dir
    _check_dataset(server, expected, written_at)


def test_keys_that_expire_while_down_are_gone(pikad_factory):
    server = pikad_factory()
    c = server.client()
    c.set("short", "x", px=300)
    c.set("long", "y", ex=3600)
    server.stop()
    time.sleep(0.4)
    server.start()
    c = server.client()
    assert c.get("short") is None
    assert c.exists("short") == 0
    assert c.get("long") == b"y"


def test_keyspace_operations_survive_restart(pikad_factory):
    """FLUSHDB, SWAPDB, DEL, PERSIST and overwrites are on disk too, not just SETs."""
    server = pikad_factory()
    c = server.client()
    c.set("gone", "1")
    c.delete("gone")
    c.set("over", "old")
    c.set("over", "new")
    c.set("persisted", "p", ex=100)
    c.persist("persisted")
    c1 = server.client(db=1)
    c1.set("in1", "x")
    c2 = server.client(db=2)
    c2.set("in2", "x")
    c2.flushdb()
    c.swapdb(1, 5)
    server.restart()
    c = server.client()
    assert c.get("gone") is None
    assert c.get("over") == b"new"
    assert c.ttl("persisted") == -1
    assert server.client(db=1).dbsize() == 0
    assert server.client(db=2).dbsize() == 0
    assert server.client(db=5).get("in1") == b"x"


def _apply(model: dict[bytes, bytes], cmd: list[bytes]) -> bytes:
    """The reply Redis gives to cmd on a keyspace described by model (updated in place)."""
    name = cmd[0]
    if name == b"SET":
        model[cmd[1]] = cmd[2]
        return b"+OK\r\n"
    if name == b"INCR":
        n = int(model.get(cmd[1], b"0")) + 1
        model[cmd[1]] = str(n).encode()
        return b":%d\r\n" % n
    if name == b"APPEND":
        model[cmd[1]] = model.get(cmd[1], b"") + cmd[2]
        return b":%d\r\n" % len(model[cmd[1]])
    if name == b"DEL":
        return b":%d\r\n" % (model.pop(cmd[1], None) is not None)
    if name == b"MSET":
        for i in range(1, len(cmd), 2):
            model[cmd[i]] = cmd[i + 1]
        return b"+OK\r\n"
    raise AssertionError(cmd)


def _random_write(rng: random.Random, i: int) -> list[bytes]:
    key = b"k%d" % rng.randrange(300)
    op = rng.randrange(10)
    if op < 4:
        return [b"SET", key, b"val:%d:%d" % (i, rng.randrange(10**6))]
    if op < 6:
        return [b"INCR", b"counter:%d" % rng.randrange(20)]
    if op < 8:
        return [b"APPEND", b"log:%d" % rng.randrange(20), b"<%d>" % i]
    if op < 9:
        return [b"DEL", key]
    return [b"MSET", key, b"m%d" % i, b"k%d" % rng.randrange(300), b"n%d" % i]


def _check_model(server, model: dict[bytes, bytes]) -> None:
    c = server.client()
    keys = sorted(model)
    got = dict(zip(keys, c.mget(keys), strict=True)) if keys else {}
    missing = {k: (model[k], got[k]) for k in keys if got[k] != model[k]}
    assert not missing, (
        f"{len(missing)} acknowledged writes lost or wrong, e.g. {list(missing.items())[:5]}"
    )
    assert c.dbsize() == len(model), f"DBSIZE {c.dbsize()} != {len(model)} keys written"


DURABILITY = pytest.mark.parametrize(
    ("sync_writes", "group_commit"), [("no", "yes"), ("yes", "yes"), ("no", "no"), ("yes", "no")]
)


@DURABILITY
def test_kill9_right_after_acknowledged_writes(pikad_factory, sync_writes, group_commit):
    server = pikad_factory(sync_writes=sync_writes, group_commit=group_commit)
    rng = random.Random(1234)
    model: dict[bytes, bytes] = {}
    r = RawConnection(server.port, timeout=30)
    try:
        i = 0
        for _ in range(20):  # 20 pipelined batches of 50 writes
            batch = [_random_write(rng, i + j) for j in range(50)]
            i += 50
            r.send(encode_commands(batch))
            replies = r.read_replies(len(batch))
            for cmd, reply in zip(batch, replies, strict=True):
                want = _apply(model, cmd)
                assert reply == want, f"{cmd!r}: {reply!r} != {want!r}"
    finally:
        r.close()
    server.kill()  # immediately after the last acknowledged reply
    server.start()
    _check_model(server, model)


@DURABILITY
def test_kill9_during_writes_loses_nothing_acknowledged(pikad_factory, sync_writes, group_commit):
    """Four writers keep writing (so group commit batches several clients per turn); kill -9
    lands at an arbitrary point. Every write whose reply arrived is there afterwards; the
    one in flight per writer may or may not be."""
    server = pikad_factory(sync_writes=sync_writes, group_commit=group_commit)
    acked: dict[bytes, bytes] = {}
    in_flight: dict[int, tuple[bytes, bytes]] = {}
    stop = threading.Event()

    def writer(w: int) -> None:
        r = RawConnection(server.port, timeout=10)
        try:
            for i in range(20_000):
                if stop.is_set():
                    return
                key, value = b"w%d-%d" % (w, i % 500), b"value-%d" % i
                in_flight[w] = (key, value)
                try:
                    reply = r.execute(b"SET", key, value)
                except (ConnectionClosed, ReplyTimeout, OSError):
                    return
                assert reply == b"+OK\r\n"
                acked[key] = value
                in_flight.pop(w, None)
        finally:
            r.close()

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    server.kill()
    stop.set()
    for t in threads:
        t.join(15)
        assert not t.is_alive()
    assert acked, "no write was acknowledged before the kill"
    server.start()
    c = server.client()
    keys = sorted(acked)
    got = dict(zip(keys, c.mget(keys), strict=True))
    for key in keys:
        ok = [acked[key]] + [v for k, v in in_flight.values() if k == key]
        assert got[key] in ok, f"{key!r}: {got[key]!r}, acknowledged {acked[key]!r}"


def test_second_pikad_on_same_dir_refuses_to_start(pikad_factory, tmp_path):
    first = pikad_factory()
    first.client().set("mine", "1")
    port = free_port()
    second = ArgvServer(
        tmp_path / "second",
        [*pikad_command(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(first.dir)],
        port=port,
    )
    try:
        proc = second.spawn()
        try:
            code = proc.wait(timeout=20)
        except Exception:
            pytest.fail(
                f"second pikad on {first.dir} still running after 20 s\n{second.log_tail()}"
            )
        out = second.log_text()
        assert code != 0, f"second pikad exited {code}\n{out}"
        assert "lock" in out.lower() or str(first.dir) in out, (
            f"no word about the lock or dir:\n{out}"
        )
    finally:
        second.stop()
    assert first.client().get("mine") == b"1"  # the first one is unharmed


def test_existing_dir_keeps_its_shard_count(pikad_factory):
    """`shards` applies to a new dir; reopening with another value still finds every key."""
    server = pikad_factory(shards=3)
    c = server.client()
    c.mset({f"s{i}": str(i) for i in range(300)})
    server.restart(shards=1)
    c = server.client()
    assert c.dbsize() == 300
    assert c.mget([f"s{i}" for i in range(300)]) == [str(i).encode() for i in range(300)]
