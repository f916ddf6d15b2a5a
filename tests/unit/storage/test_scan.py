"""SCAN across shards: every key present throughout is returned exactly once."""

from __future__ import annotations

import pytest

from pikadb.keycodec import T_HASH, T_STRING
from pikadb.storage.scan import CursorTable


def full_scan(db, now, **kw):
    cursor, out, calls = 0, [], 0
    while True:
        cursor, keys = db.scan(cursor, now, **kw)
        out += keys
        calls += 1
        if cursor == 0:
            return out, calls


@pytest.mark.parametrize("count", [1, 7, 1000])
def test_full_scan_returns_each_key_once(db, now, count):
    keys = [b"k%d" % i for i in range(100)] + [b""]
    db.mset([(k, b"v") for k in keys], now)
    out, calls = full_scan(db, now, count=count)
    assert sorted(out) == sorted(keys)
    assert len(out) == len(set(out))
    if count == 1:
        assert calls >= 100


def test_scan_while_keys_are_added_and_deleted(engine, db, now):
    stable = [b"stable:%03d" % i for i in range(200)]
    db.mset([(k, b"v") for k in stable], now)
    cursor, seen, step = 0, [], 0
    while True:
        cursor, keys = db.scan(cursor, now, count=5)
        seen += keys
        step += 1
        # Churn between calls: new keys everywhere in the order, and deletes of others.
        db.mset([(b"new:%d:%d" % (step, j), b"v") for j in range(3)], now)
        db.mset([(b"aaa%d" % step, b"v"), (b"zzz%d" % step, b"v")], now)
        db.delete([b"new:%d:0" % (step - 1)], now)
        if cursor == 0:
            break
    got_stable = [k for k in seen if k.startswith(b"stable:")]
    assert sorted(got_stable) == stable  # each stable key exactly once
    assert len(seen) == len(set(seen))  # no key twice, churn included


def test_scan_match_type_and_expired(engine, db, now):
    db.mset([(b"user:%d" % i, b"v") for i in range(20)] + [(b"other", b"v")], now)
    ws = db.writes(now)
    from pikadb.keycodec import Meta

    ws.put(db, b"user:h", Meta(T_HASH, version=1, count=0), ws.lookup(db, b"user:h"))
    ws.commit()
    db.set(b"user:exp", b"v", now, expire_at=now + 5)
    out, _ = full_scan(db, now + 10, match=b"user:*", count=3)
    assert sorted(out) == sorted([b"user:%d" % i for i in range(20)] + [b"user:h"])
    out, _ = full_scan(db, now + 10, type_code=T_HASH)
    assert out == [b"user:h"]
    out, _ = full_scan(db, now + 10, type_code=T_STRING, match=b"other")
    assert out == [b"other"]
    assert full_scan(db, now + 10, type_code=-1)[0] == []
    assert db.lookup(b"user:exp", now + 10) is None  # SCAN deleted it


def test_unknown_cursor_ends_the_iteration(db, now):
    db.set(b"k", b"v", now)
    assert db.scan(123456789, now) == (0, [])


def test_cursor_table_is_bounded():
    t = CursorTable(capacity=3)
    cs = [t.store((0, b"k%d" % i)) for i in range(5)]
    assert len(set(cs)) == 5 and 0 not in cs
    assert t.resolve(cs[0]) is None and t.resolve(cs[4]) == (0, b"k4")
    assert t.resolve(0) == (0, None)


def test_keys_with_pattern_and_prefix_seek(db, now):
    db.mset([(k, b"v") for k in (b"foo", b"foobar", b"fo", b"bar", b"f*o", b"")], now)
    assert sorted(db.keys(b"fo*", now)) == [b"fo", b"foo", b"foobar"]
    assert sorted(db.keys(b"f\\*o", now)) == [b"f*o"]
    assert sorted(db.keys(b"*", now)) == sorted([b"foo", b"foobar", b"fo", b"bar", b"f*o", b""])
    assert db.keys(b"", now) == [b""]
    assert db.keys(b"nomatch*", now) == []
