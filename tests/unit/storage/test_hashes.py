"""Hash operations in storage: field records, exact counts, encodings, random picks, cursors."""

from __future__ import annotations

import pytest

from pikadb.errors import CommandError, WrongTypeError
from pikadb.keycodec import T_HASH, data_prefix, meta_key
from pikadb.storage.hashes import CONVERTED, HashLimits


def _records(db, key: bytes) -> list[bytes]:
    """Element suffixes actually stored for the key's live version (raw RocksDB view)."""
    meta = db.lookup(key, 0)
    prefix = data_prefix(db.pdb, key, meta.version)
    it = db.shard_for(key).scan_prefix(prefix)
    out = []
    while it.valid():
        out.append(it.key()[len(prefix) :])
        it.next()
    return out


def test_hset_hget_and_counts(engine, db, now):
    assert db.hset(b"h", [(b"a", b"1"), (b"b", b"2")], now) == 2
    assert db.hset(b"h", [(b"a", b"x"), (b"c", b"3"), (b"c", b"4")], now) == 1
    assert db.hget(b"h", b"a", now) == b"x"
    assert db.hget(b"h", b"c", now) == b"4"  # a repeated field takes its last value
    assert db.hget(b"h", b"zz", now) is None
    assert db.hget(b"missing", b"a", now) is None
    assert db.hlen(b"h", now) == 3
    assert db.lookup(b"h", now).count == 3
    assert _records(db, b"h") == [b"a", b"b", b"c"]
    assert db.hmget(b"h", [b"a", b"zz", b"b"], now) == [b"x", None, b"2"]
    assert db.hmget(b"missing", [b"a", b"b"], now) == [None, None]
    assert engine.dbsize(0) == 1


def test_empty_field_and_value(db, now):
    assert db.hset(b"h", [(b"", b"")], now) == 1
    assert db.hget(b"h", b"", now) == b""
    assert db.hexists(b"h", b"", now)
    assert db.hstrlen(b"h", b"", now) == 0
    assert db.hgetall(b"h", now) == [(b"", b"")]


def test_hdel_deletes_the_key_with_its_last_field(engine, db, now):
    db.hset(b"h", [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")], now)
    assert db.hdel(b"h", [b"a", b"a", b"zz"], now) == 1
    assert db.hlen(b"h", now) == 2
    assert _records(db, b"h") == [b"b", b"c"]
    assert db.hdel(b"h", [b"b", b"c"], now) == 2
    assert db.lookup(b"h", now) is None
    assert engine.dbsize(0) == 0
    assert db.hdel(b"h", [b"a"], now) == 0
    # Nothing of the old version remains for a recreated hash.
    db.hset(b"h", [(b"z", b"1")], now)
    assert db.hgetall(b"h", now) == [(b"z", b"1")]


def test_hsetnx(db, now):
    assert db.hsetnx(b"h", b"f", b"1", now) is True
    assert db.hsetnx(b"h", b"f", b"2", now) is False
    assert db.hget(b"h", b"f", now) == b"1"
    assert db.hlen(b"h", now) == 1


def test_whole_reads(db, now):
    db.hset(b"h", [(b"b", b"2"), (b"a", b"1"), (b"c", b"3")], now)
    assert db.hkeys(b"h", now) == [b"a", b"b", b"c"]
    assert db.hvals(b"h", now) == [b"1", b"2", b"3"]
    assert db.hgetall(b"h", now) == [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]
    assert db.hkeys(b"missing", now) == []
    assert db.hvals(b"missing", now) == []
    assert db.hgetall(b"missing", now) == []


def test_wrong_type(db, now):
    db.set(b"s", b"v", now)
    for op in (
        lambda: db.hget(b"s", b"f", now),
        lambda: db.hmget(b"s", [b"f"], now),
        lambda: db.hlen(b"s", now),
        lambda: db.hset(b"s", [(b"f", b"v")], now),
        lambda: db.hsetnx(b"s", b"f", b"v", now),
        lambda: db.hdel(b"s", [b"f"], now),
        lambda: db.hgetall(b"s", now),
        lambda: db.hrandfield(b"s", 1, now),
        lambda: db.hupdate(b"s", b"f", lambda v: b"1", now),
    ):
        with pytest.raises(WrongTypeError):
            op()
    assert db.get(b"s", now) == b"v"


def test_hupdate_creates_and_aborts(db, now):
    assert db.hupdate(b"h", b"n", lambda v: b"5" if v is None else v + b"!", now) == b"5"
    assert db.hupdate(b"h", b"n", lambda v: v + b"!", now) == b"5!"
    assert db.hlen(b"h", now) == 1

    def boom(v):
        raise CommandError("ERR nope")

    with pytest.raises(CommandError):
        db.hupdate(b"h", b"m", boom, now)
    assert db.hlen(b"h", now) == 1
    with pytest.raises(CommandError):
        db.hupdate(b"new", b"m", boom, now)
    assert db.lookup(b"new", now) is None  # an aborted update creates nothing


def test_ttl_is_kept_by_writes(db, now):
    db.hset(b"h", [(b"a", b"1"), (b"b", b"2")], now)
    db.expire(b"h", now + 10_000, now)
    db.hset(b"h", [(b"c", b"3")], now)
    db.hdel(b"h", [b"a"], now)
    db.hupdate(b"h", b"b", lambda v: b"9", now)
    assert db.expire_time(b"h", now) == now + 10_000
    # An expired hash is gone for every read and is recreated by a write.
    assert db.hget(b"h", b"c", now + 10_000) is None
    assert db.hset(b"h", [(b"x", b"1")], now + 10_001) == 1
    assert db.hgetall(b"h", now + 10_001) == [(b"x", b"1")]
    assert db.expire_time(b"h", now + 10_001) == -1


def test_encoding_conversions(db, now):
    enc = lambda k: db.object_encoding(k, now)  # noqa: E731
    limits = HashLimits(max_entries=3, max_value=4)
    db.hset(b"h", [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")], now, limits)
    assert enc(b"h") == "listpack"
    db.hset(b"h", [(b"d", b"4")], now, limits)
    assert enc(b"h") == "hashtable"
    db.hdel(b"h", [b"a", b"b"], now)
    assert enc(b"h") == "hashtable"  # Redis never converts back
    db.hset(b"v", [(b"a", b"12345")], now, limits)
    assert enc(b"v") == "hashtable"
    db.hset(b"w", [(b"a", b"1")], now, limits)
    assert db.hsetnx(b"w", b"a", b"12345", now, limits) is False
    assert enc(b"w") == "listpack"  # HSETNX looks at the value only when it writes it
    db.hupdate(b"w", b"longer", lambda v: b"1", now, limits)
    assert enc(b"w") == "hashtable"
    assert db.lookup(b"w", now).extra == CONVERTED
    # The conversion survives RENAME (the meta travels).
    db.rename(b"w", b"w2", now)
    assert enc(b"w2") == "hashtable"


@pytest.mark.parametrize("size", [5, 300])
def test_hrandfield_rules(db, now, size):
    pairs = [(b"f%04d" % i, b"v%d" % i) for i in range(size)]
    db.hset(b"h", pairs, now)
    universe = dict(pairs)
    one = db.hrandfield(b"h", None, now)
    assert len(one) == 1 and universe[one[0][0]] == one[0][1]
    for count in (1, 3, size - 1, size, size + 10):
        got = db.hrandfield(b"h", count, now)
        assert len(got) == min(count, size)
        assert len({f for f, _ in got}) == len(got)  # distinct
        assert all(universe[f] == v for f, v in got)
    got = db.hrandfield(b"h", -(size * 3), now)
    assert len(got) == size * 3  # may repeat
    assert all(universe[f] == v for f, v in got)
    assert db.hrandfield(b"h", 0, now) == []
    assert db.hrandfield(b"missing", 3, now) is None


def test_hscan_pages_listpack_whole_and_hashtable_by_cursor(db, now):
    db.hset(b"small", [(b"a", b"1"), (b"b", b"2")], now)
    meta = db.hash_meta(b"small", now)
    assert db.hscan(b"small", meta, 0, None, 1) == (0, [b"a", b"1", b"b", b"2"])
    assert db.hscan(b"small", meta, 12345, b"b*", 1) == (0, [b"b", b"2"])
    pairs = [(b"k%03d" % i, b"%d" % i) for i in range(600)]
    db.hset(b"big", pairs, now)
    meta = db.hash_meta(b"big", now)
    assert db.object_encoding(b"big", now) == "hashtable"
    cursor, seen, calls = 0, [], 0
    while True:
        cursor, page = db.hscan(b"big", meta, cursor, None, 50)
        seen += page
        calls += 1
        if cursor == 0:
            break
    assert calls == 12
    assert list(zip(seen[::2], seen[1::2], strict=True)) == pairs
    # A SCAN cursor is not an HSCAN position: the iteration just ends.
    scan_cursor, _ = db.scan(0, now, count=1)
    assert db.hscan(b"big", meta, scan_cursor, None, 10) == (0, [])
    assert db.hscan(b"big", meta, 987654321, None, 10) == (0, [])


def test_delete_purges_small_hash_records(db, now):
    db.hset(b"h", [(b"a", b"1"), (b"b", b"2")], now)
    version = db.lookup(b"h", now).version
    db.delete([b"h"], now)
    prefix = data_prefix(db.pdb, b"h", version)
    assert not db.shard_for(b"h").scan_prefix(prefix).valid()
    assert db.shard_for(b"h").get(meta_key(db.pdb, b"h")) is None


def test_meta_type(db, now):
    db.hset(b"h", [(b"a", b"1")], now)
    assert db.lookup(b"h", now).type == T_HASH
    assert db.type_name(b"h", now) == "hash"
