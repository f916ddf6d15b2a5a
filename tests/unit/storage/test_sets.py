"""Set operations in storage: member records, exact counts, encodings, algebra, random picks."""

from __future__ import annotations

import pytest

from pikadb.errors import WrongTypeError
from pikadb.keycodec import T_SET, data_prefix
from pikadb.storage.sets import DIFF, INTER, UNION, SetLimits


def _members(db, key: bytes, now: int) -> list[bytes]:
    return sorted(db.smembers(key, now))


def test_sadd_srem_counts(engine, db, now):
    assert db.sadd(b"s", [b"a", b"b", b"a"], now) == 2
    assert db.sadd(b"s", [b"b", b"c"], now) == 1
    assert db.scard(b"s", now) == 3
    assert db.lookup(b"s", now).count == 3
    assert db.sismember(b"s", b"a", now)
    assert not db.sismember(b"s", b"z", now)
    assert not db.sismember(b"missing", b"a", now)
    assert db.smismember(b"s", [b"a", b"z", b"c"], now) == [1, 0, 1]
    assert db.smismember(b"missing", [b"a", b"b"], now) == [0, 0]
    assert db.srem(b"s", [b"a", b"a", b"z"], now) == 1
    assert db.scard(b"s", now) == 2
    assert db.srem(b"s", [b"b", b"c"], now) == 2
    assert db.lookup(b"s", now) is None
    assert engine.dbsize(0) == 0
    assert db.srem(b"s", [b"a"], now) == 0


def test_wrong_type(db, now):
    db.set(b"str", b"v", now)
    db.sadd(b"s", [b"1"], now)
    for op in (
        lambda: db.sadd(b"str", [b"a"], now),
        lambda: db.srem(b"str", [b"a"], now),
        lambda: db.scard(b"str", now),
        lambda: db.smembers(b"str", now),
        lambda: db.spop(b"str", None, now),
        lambda: db.srandmember(b"str", 2, now),
        lambda: db.smove(b"s", b"str", b"1", now),
        lambda: db.smove(b"str", b"s", b"1", now),
        # every key is checked, even after a missing one
        lambda: db.set_algebra(INTER, [b"missing", b"str"], now),
        lambda: db.set_algebra(UNION, [b"s", b"str"], now),
        lambda: db.set_algebra(DIFF, [b"missing", b"str"], now),
        lambda: db.sintercard([b"missing", b"str"], 0, now),
        lambda: db.set_algebra_store(INTER, b"d", [b"missing", b"str"], now),
    ):
        with pytest.raises(WrongTypeError):
            op()
    assert db.smove(b"missing", b"str", b"1", now) is False  # no source: no type check


def test_encodings(db, now):
    enc = lambda k: db.object_encoding(k, now)  # noqa: E731
    db.sadd(b"i", [b"3", b"-1", b"10"], now)
    assert enc(b"i") == "intset"
    assert db.smembers(b"i", now) == [b"-1", b"3", b"10"]  # numeric, as Redis's intset
    db.sadd(b"i", [b"x"], now)
    assert enc(b"i") == "hashtable"
    db.srem(b"i", [b"x"], now)
    assert enc(b"i") == "hashtable"  # never converted back
    for m in (b"01", b"-0", b"9223372036854775808", b" 1"):
        db.sadd(b"n" + m, [m], now)
        assert enc(b"n" + m) == "hashtable"
    limits = SetLimits(max_intset=3)
    db.sadd(b"c", [b"1", b"2", b"3"], now, limits)
    assert enc(b"c") == "intset"
    db.sadd(b"c", [b"4"], now, limits)
    assert enc(b"c") == "hashtable"


def test_algebra(db, now):
    db.sadd(b"a", [b"1", b"2", b"3", b"x"], now)
    db.sadd(b"b", [b"2", b"3", b"4"], now)
    db.sadd(b"c", [b"3", b"x"], now)
    assert sorted(db.set_algebra(INTER, [b"a", b"b"], now)) == [b"2", b"3"]
    assert sorted(db.set_algebra(INTER, [b"a", b"b", b"c"], now)) == [b"3"]
    assert db.set_algebra(INTER, [b"a", b"missing"], now) == []
    assert sorted(db.set_algebra(INTER, [b"a", b"a"], now)) == [b"1", b"2", b"3", b"x"]
    assert sorted(db.set_algebra(UNION, [b"a", b"b", b"missing"], now)) == [
        b"1",
        b"2",
        b"3",
        b"4",
        b"x",
    ]
    assert sorted(db.set_algebra(DIFF, [b"a", b"b"], now)) == [b"1", b"x"]
    assert db.set_algebra(DIFF, [b"a", b"a"], now) == []
    assert db.set_algebra(DIFF, [b"missing", b"a"], now) == []
    assert sorted(db.set_algebra(DIFF, [b"a", b"missing", b"c"], now)) == [b"1", b"2"]
    assert db.sintercard([b"a", b"b"], 0, now) == 2
    assert db.sintercard([b"a", b"b"], 1, now) == 1
    assert db.sintercard([b"a", b"b"], 5, now) == 2


def test_algebra_on_big_sets_uses_both_strategies(db, now):
    db.sadd(b"big", [b"%d" % i for i in range(2000)], now)
    db.sadd(b"odd", [b"%d" % i for i in range(1, 2000, 2)], now)
    db.sadd(b"few", [b"5", b"6", b"nope"], now)
    assert sorted(db.set_algebra(INTER, [b"big", b"few"], now)) == [b"5", b"6"]
    assert db.sintercard([b"big", b"odd"], 0, now) == 1000
    assert db.sintercard([b"big", b"odd"], 300, now) == 300
    diff = db.set_algebra(DIFF, [b"big", b"odd", b"few"], now)
    assert sorted(diff, key=int) == [b"%d" % i for i in range(0, 2000, 2) if i != 6]
    diff = db.set_algebra(DIFF, [b"few", b"big"], now)
    assert diff == [b"nope"]


def test_store(engine, db, now):
    enc = lambda k: db.object_encoding(k, now)  # noqa: E731
    db.sadd(b"a", [b"1", b"2", b"x"], now)
    db.sadd(b"b", [b"1", b"2"], now)
    db.set(b"dst", b"string", now, expire_at=now + 10_000)
    assert db.set_algebra_store(INTER, b"dst", [b"a", b"b"], now) == 2
    assert _members(db, b"dst", now) == [b"1", b"2"]
    assert enc(b"dst") == "intset"  # built afresh: a's 'x' did not make it
    assert db.expire_time(b"dst", now) == -1  # the destination's TTL goes
    assert db.set_algebra_store(UNION, b"dst", [b"a", b"dst"], now) == 3
    assert enc(b"dst") == "hashtable"
    assert db.set_algebra_store(DIFF, b"dst", [b"b", b"a"], now) == 0
    assert db.lookup(b"dst", now) is None  # an empty result deletes the destination
    assert db.set_algebra_store(DIFF, b"a", [b"a", b"b"], now) == 1  # in place
    assert _members(db, b"a", now) == [b"x"]
    assert engine.dbsize(0) == 2


def test_smove(db, now):
    enc = lambda k: db.object_encoding(k, now)  # noqa: E731
    db.sadd(b"src", [b"1", b"a"], now)
    assert db.smove(b"src", b"dst", b"zz", now) is False
    assert db.smove(b"src", b"dst", b"1", now) is True
    assert _members(db, b"src", now) == [b"a"]
    assert _members(db, b"dst", now) == [b"1"]
    assert enc(b"dst") == "intset"
    assert db.smove(b"src", b"src", b"a", now) is True
    assert db.smove(b"src", b"src", b"zz", now) is False
    db.sadd(b"dst", [b"a"], now)
    assert db.smove(b"src", b"dst", b"a", now) is True  # already there: just removed
    assert db.lookup(b"src", now) is None
    assert db.scard(b"dst", now) == 2
    assert enc(b"dst") == "hashtable"


@pytest.mark.parametrize("size", [6, 400])
def test_spop_and_srandmember_rules(db, now, size):
    universe = {b"m%03d" % i for i in range(size)}
    db.sadd(b"s", sorted(universe), now)
    for count in (1, 3, size - 1, size, size + 5):
        got = db.srandmember(b"s", count, now)
        assert len(got) == min(count, size) and len(set(got)) == len(got)
        assert set(got) <= universe
    got = db.srandmember(b"s", -(size * 2), now)
    assert len(got) == size * 2 and set(got) <= universe
    assert db.srandmember(b"missing", 3, now) is None
    popped = db.spop(b"s", None, now)
    assert len(popped) == 1 and popped[0] in universe
    left = universe - set(popped)
    popped = db.spop(b"s", 2, now)
    assert len(set(popped)) == 2 and set(popped) <= left
    left -= set(popped)
    assert set(db.smembers(b"s", now)) == left
    assert db.scard(b"s", now) == len(left)
    # Few survivors: Redis's other strategy (survivors moved to a new set).
    popped = db.spop(b"s", len(left) - 1, now)
    assert len(set(popped)) == len(left) - 1 and set(popped) <= left
    assert db.scard(b"s", now) == 1
    last = db.smembers(b"s", now)
    assert db.spop(b"s", 10, now) == last
    assert db.lookup(b"s", now) is None


def test_spop_few_survivors_decides_encoding_afresh(db, now):
    db.sadd(b"s", [b"1", b"2", b"3", b"4", b"5", b"6", b"a"], now)
    db.spop(b"s", 6, now)
    (survivor,) = db.smembers(b"s", now)
    expected = "hashtable" if survivor == b"a" else "intset"
    assert db.object_encoding(b"s", now) == expected
    # Many survivors: Redis pops in place and the encoding stays.
    db.sadd(b"t", [b"1", b"2", b"3", b"4", b"5", b"6", b"a"], now)
    db.srem(b"t", [b"a"], now)
    db.spop(b"t", 1, now)
    assert db.object_encoding(b"t", now) == "hashtable"


def test_sscan(db, now):
    db.sadd(b"small", [b"10", b"9", b"-3"], now)
    meta = db.set_meta(b"small", now)
    assert db.sscan(b"small", meta, 0, None, 1) == (0, [b"-3", b"9", b"10"])
    assert db.sscan(b"small", meta, 0, b"1*", 1) == (0, [b"10"])
    db.sadd(b"big", [b"m%03d" % i for i in range(100)], now)
    meta = db.set_meta(b"big", now)
    cursor, seen = 0, []
    while True:
        cursor, page = db.sscan(b"big", meta, cursor, b"m0*", 7)
        seen += page
        if cursor == 0:
            break
    assert seen == [b"m%03d" % i for i in range(100)]


def test_big_set_deleted_and_recreated(db, now):
    db.sadd(b"s", [b"m%d" % i for i in range(500)], now)
    old_version = db.lookup(b"s", now).version
    db.delete([b"s"], now)
    db.sadd(b"s", [b"new"], now)
    assert db.smembers(b"s", now) == [b"new"]
    assert db.scard(b"s", now) == 1
    assert db.lookup(b"s", now).version != old_version
    # The old elements are garbage for the reclaimer, still on disk under the old version.
    assert db.shard_for(b"s").scan_prefix(data_prefix(db.pdb, b"s", old_version)).valid()
    assert db.lookup(b"s", now).type == T_SET


@pytest.mark.parametrize(
    "members",
    [
        [b"%d" % i for i in range(3000)],
        [b"user:%06d:x" % (i * 7919 % 1_000_003) for i in range(3000)],
    ],
    ids=["numbers", "sparse-keys"],
)
def test_random_picks_spread_over_big_sets(db, now, members):
    """Probes of a big set reach most of it (an exactly uniform pick would reach ~98% of
    the members in 4x as many picks; probing is rougher, not much)."""
    db.sadd(b"s", members, now)
    hits = set()
    for _ in range(120):
        hits.update(db.srandmember(b"s", -100, now))
    assert len(hits) > 0.6 * len(members)
