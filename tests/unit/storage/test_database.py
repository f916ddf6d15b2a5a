"""Keyspace operations: counters, expiry visibility and reclaim, rename/copy/move."""

from __future__ import annotations

import pytest

from pikadb.errors import CommandError
from pikadb.keycodec import T_HASH, Meta, data_prefix, expire_key, meta_key


def counts(engine, db):
    """(keys, volatile) summed over shards, as INFO keyspace shows them."""
    k = v = 0
    for s in engine.shards:
        c = s.counts(db.pdb)
        k += c[0]
        v += c[1]
    return k, v


def index_entries(engine, db):
    out = []
    for s in engine.shards:
        it = s.scan_prefix(b"\x03" + db.pdb.to_bytes(2, "big"))
        while it.valid():
            out.append(it.key())
            it.next()
    return out


def make_hash(db, key, now, n=3, expire_at=0):
    """A collection written the way a type family would: meta + element records."""
    ws = db.writes(now)
    old = ws.lookup(db, key)
    version = ws.new_version(db, key)
    ws.put(db, key, Meta(T_HASH, expire_at, version=version, count=n), old)
    for i in range(n):
        ws.put_data(db, key, version, b"f%d" % i, b"v%d" % i)
    ws.commit()
    return version


def elements(db, key, version):
    prefix = data_prefix(db.pdb, key, version)
    it = db.shard_for(key).scan_prefix(prefix)
    out = {}
    while it.valid():
        out[it.key()[len(prefix) :]] = it.value()
        it.next()
    return out


def test_counters_follow_create_overwrite_delete(engine, db, now):
    db.set(b"a", b"1", now)
    db.set(b"b", b"1", now, expire_at=now + 1000)
    assert counts(engine, db) == (2, 1)
    db.set(b"a", b"2", now)  # overwrite: no change
    db.set(b"b", b"2", now, keepttl=True)
    assert counts(engine, db) == (2, 1)
    db.set(b"b", b"3", now)  # SET drops the TTL
    assert counts(engine, db) == (2, 0)
    db.expire(b"a", now + 5000, now)
    assert counts(engine, db) == (2, 1)
    db.persist(b"a", now)
    assert counts(engine, db) == (2, 0)
    assert db.delete([b"a", b"a", b"zz"], now) == 1
    assert counts(engine, db) == (1, 0)
    db.mset([(b"x", b"1"), (b"x", b"2"), (b"y", b"3")], now)  # repeated key in one batch
    assert counts(engine, db) == (3, 0)
    assert db.dbsize() == engine.dbsize(0) == 3


def test_expired_keys_are_invisible_before_reclaim(engine, db, now):
    db.set(b"k", b"v", now, expire_at=now + 10)
    db.set(b"h", b"v", now)
    assert db.get(b"k", now + 9) == b"v"
    later = now + 10
    engine.lazy_expire_on_read = False  # look without deleting
    assert db.get(b"k", later) is None
    assert db.lookup(b"k", later) is None
    assert db.exists([b"k"], later) == 0
    assert db.type_name(b"k", later) == "none"
    assert db.expire_time(b"k", later) == -2
    assert db.mget([b"k", b"h"], later) == [None, b"v"]
    assert db.keys(b"*", later) == [b"h"]
    assert db.scan(0, later)[1] == [b"h"]
    assert counts(engine, db) == (2, 1)  # still stored (Redis counts them too)
    engine.lazy_expire_on_read = True
    assert db.get(b"k", later) is None
    assert counts(engine, db) == (1, 0) and engine.lazy_expired == 1
    assert index_entries(engine, db) == []


def test_write_on_expired_key_recreates_it(engine, db, now):
    db.set(b"k", b"old", now, expire_at=now + 10)
    assert db.incr_by(b"k", 5, now + 20) == 5
    assert db.expire_time(b"k", now + 20) == -1
    assert counts(engine, db) == (1, 0)
    assert index_entries(engine, db) == []


def test_active_expire_cycle_deletes_due_keys_in_order(engine, db):
    import time

    now = time.time_ns() // 1_000_000
    for i in range(300):
        db.set(b"gone%d" % i, b"v", now, expire_at=now - 1000 + i)  # all due
    for i in range(10):
        db.set(b"stay%d" % i, b"v", now, expire_at=now + 100_000)
    db.set(b"forever", b"v", now)
    assert engine.active_expire_cycle(5.0) == 300
    assert counts(engine, db) == (11, 10)
    assert len(index_entries(engine, db)) == 10
    assert engine.active_expire_cycle(5.0) == 0


def test_active_expire_respects_budget_and_resumes(engine, db):
    import time

    now = time.time_ns() // 1_000_000
    for i in range(2000):
        db.set(b"k%d" % i, b"v", now, expire_at=now - 10)
    first = engine.active_expire_cycle(0.0)  # at least one chunk, then stops
    assert 0 < first < 2000
    total = first
    while total < 2000:
        n = engine.active_expire_cycle(1.0)
        assert n > 0
        total += n
    assert db.dbsize() == 0


def test_active_expire_drops_stale_index_records(engine, db, now):
    db.set(b"k", b"v", now)
    shard = db.shard_for(b"k")
    ws = db.writes(now)
    ws.batch(shard).put(expire_key(db.pdb, now - 5, b"k"), b"")  # stale: meta has no TTL
    # A counted volatile key keeps the cycle looking at this db.
    ws.commit()
    shard.counters[db.pdb][1] += 1
    assert engine.active_expire_cycle(1.0) == 0
    assert index_entries(engine, db) == []
    assert db.get(b"k", now) == b"v"


def test_active_expire_can_be_disabled(engine, db, now):
    db.set(b"k", b"v", now, expire_at=now - 1)
    engine.active_expire_enabled = False
    assert engine.active_expire_cycle(1.0) == 0
    engine.active_expire_enabled = True
    assert engine.active_expire_cycle(1.0) == 1


def test_expire_conditions(db, now):
    db.set(b"k", b"v", now)
    assert db.expire(b"k", now + 100, now, xx=True) == 0
    assert db.expire(b"k", now + 100, now, gt=True) == 0
    assert db.expire(b"k", now + 100, now, lt=True) == 1
    assert db.expire(b"k", now + 50, now, nx=True) == 0
    assert db.expire(b"k", now + 200, now, lt=True) == 0
    assert db.expire(b"k", now + 200, now, gt=True) == 1
    assert db.expire_time(b"k", now) == now + 200
    assert db.expire(b"missing", now + 1, now) == 0
    assert db.expire(b"k", now, now) == 1  # not in the future: deleted
    assert db.lookup(b"k", now) is None


def test_rename(engine, db, now):
    db.set(b"a", b"1", now, expire_at=now + 5000)
    db.set(b"b", b"2", now)
    assert db.rename(b"a", b"b", now, nx=True) is False
    assert db.rename(b"a", b"b", now) is True
    assert db.get(b"b", now) == b"1" and db.expire_time(b"b", now) == now + 5000
    assert db.lookup(b"a", now) is None
    assert counts(engine, db) == (1, 1)
    assert db.rename(b"b", b"b", now) is True
    assert db.rename(b"b", b"b", now, nx=True) is False
    with pytest.raises(CommandError, match="no such key"):
        db.rename(b"zz", b"b", now)
    assert len(index_entries(engine, db)) == 1


def test_rename_copy_move_collections_copy_elements(engine, db, now):
    v1 = make_hash(db, b"h", now, n=5, expire_at=now + 9000)
    assert db.type_name(b"h", now) == "hash"
    assert db.rename(b"h", b"h2", now)
    m = db.lookup(b"h2", now)
    assert m.type == T_HASH and m.count == 5 and m.expire_at == now + 9000
    assert m.version != v1
    assert elements(db, b"h2", m.version) == {b"f%d" % i: b"v%d" % i for i in range(5)}
    assert elements(db, b"h", v1) == {}  # small collections are purged in the same batch
    assert db.copy(b"h2", b"h3", now)
    m3 = db.lookup(b"h3", now)
    assert elements(db, b"h3", m3.version) == elements(db, b"h2", m.version)
    other = engine.db(1)
    assert db.move(b"h3", other, now)
    m4 = other.lookup(b"h3", now)
    assert len(elements(other, b"h3", m4.version)) == 5
    assert db.lookup(b"h3", now) is None
    assert counts(engine, db) == (1, 1) and counts(engine, other) == (1, 1)


def test_overwriting_a_collection_with_a_string(db, now):
    v = make_hash(db, b"h", now)
    db.set(b"h", b"str", now)
    assert db.type_name(b"h", now) == "string"
    assert elements(db, b"h", v) == {}


def test_big_collections_are_left_for_the_reclaimer(db, now):
    v = make_hash(db, b"h", now, n=200)
    assert db.delete([b"h"], now) == 1
    assert len(elements(db, b"h", v)) == 200  # garbage: one meta write deleted it
    v2 = make_hash(db, b"h", now, n=2)
    assert v2 != v and len(elements(db, b"h", v2)) == 2


def test_copy_and_move_conditions(engine, db, now):
    other = engine.db(2)
    db.set(b"k", b"v", now)
    other.set(b"k", b"there", now)
    assert db.copy(b"missing", b"x", now) is False
    assert db.copy(b"k", b"k", now, dest=other) is False
    assert db.copy(b"k", b"k", now, dest=other, replace=True) is True
    assert other.get(b"k", now) == b"v"
    assert db.move(b"k", other, now) is False
    other.delete([b"k"], now)
    assert db.move(b"k", other, now) is True
    assert db.move(b"k", other, now) is False


def test_versions_are_unique_even_if_the_clock_goes_back(engine, db, now, monkeypatch):
    import time as _time

    shard = engine.shards[0]
    ws = db.writes(now)
    seen = {shard.new_version(ws.batch(shard)) for _ in range(1000)}
    monkeypatch.setattr(_time, "time_ns", lambda: 0)
    seen |= {shard.new_version(ws.batch(shard)) for _ in range(1000)}
    assert len(seen) == 2000


def test_meta_key_in_every_shard_lookup(db, now):
    db.set(b"k", b"v", now)
    assert db.shard_for(b"k").get(meta_key(db.pdb, b"k")) == b"\x01v"


def test_randomkey(engine, db, now):
    assert db.randomkey(now) is None
    keys = {b"key:%d" % i for i in range(50)}
    for k in keys:
        db.set(k, b"v", now)
    seen = {db.randomkey(now) for _ in range(300)}
    assert seen <= keys and len(seen) > 10
    engine.lazy_expire_on_read = False
    for k in keys:
        db.expire(k, now + 10, now)
    assert db.randomkey(now + 20) is None


def test_object_encoding_and_idle(db, now):
    db.set(b"i", b"123", now)
    db.set(b"e", b"x" * 44, now)
    db.set(b"r", b"x" * 45, now)
    assert [db.object_encoding(k, now) for k in (b"i", b"e", b"r")] == ["int", "embstr", "raw"]
    db.update_string(b"i", now, lambda v: v + b"4")  # APPEND-like: Redis makes it raw
    assert db.object_encoding(b"i", now) == "raw"
    assert db.object_encoding(b"missing", now) is None
    make_hash(db, b"h", now)
    assert db.object_encoding(b"h", now) == "listpack"
    assert db.idle_ms(b"i", now + 5000) == 5000
    assert db.idle_ms(b"missing", now) is None


def test_string_hot_paths_keep_index_and_counters(engine, db, now):
    db.set(b"k", b"v", now, expire_at=now + 100)
    db.set(b"k", b"w", now, expire_at=now + 200)
    assert index_entries(engine, db) == [expire_key(db.pdb, now + 200, b"k")]
    assert (
        engine.shards[0].counts(db.pdb)[2] + sum(s.counts(db.pdb)[2] for s in engine.shards[1:])
        == now + 200
    )
    db.set(b"k", b"x", now, keepttl=True)
    assert db.expire_time(b"k", now) == now + 200
    db.set(b"k", b"y", now)
    assert index_entries(engine, db) == [] and counts(engine, db) == (1, 0)
    assert db.incr_by(b"n", 2, now) == 2 and db.incr_by(b"n", 2, now) == 4
    db.expire(b"n", now + 50, now)
    assert db.incr_by(b"n", 1, now) == 5 and db.expire_time(b"n", now) == now + 50
    assert counts(engine, db) == (2, 1) and len(index_entries(engine, db)) == 1
    keys, volatile, avg_ttl = engine.keyspace_info()[0]
    assert (keys, volatile) == (2, 1) and 0 < avg_ttl <= 50
