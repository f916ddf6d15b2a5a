"""Sorted sets in storage: the score encoding, element records, encodings, ranges, pops,
stores and set algebra, on a temp RocksDB (1 and 3 shards)."""

from __future__ import annotations

import math
import random
import struct

import pytest

from pikadb.errors import CommandError, WrongTypeError
from pikadb.keycodec import T_ZSET, data_prefix, meta_key
from pikadb.storage.encoding import prefix_successor
from pikadb.storage.zsets import (
    AGGR_MAX,
    AGGR_MIN,
    AGGR_SUM,
    NEG_INF,
    POS_INF,
    SKIPLIST,
    LexRange,
    ScoreRange,
    decode_score,
    encode_score,
    sorted_pairs,
    zdiff,
    zinter,
    zunion,
)

ALL = ScoreRange(-math.inf, math.inf)


def records(db, key):
    """Every DATA record of the key's current version."""
    meta = db.lookup(key, 0, touch=False)
    if meta is None:
        return []
    p = data_prefix(db.pdb, key, meta.version)
    it = db.shard_for(key).iterator(p, prefix_successor(p))
    out = []
    while it.valid():
        out.append((it.key()[len(p) :], it.value()))
        it.next()
    return out


def add(db, key, now, *pairs, **kw):
    return db.zadd(key, [(float(s), m) for s, m in pairs], now, **kw)


# ---- score encoding ----


def test_score_encoding_orders_like_doubles():
    rng = random.Random(1)
    values = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, 5e-324, -5e-324, 1e308, -1e308]
    values += [rng.uniform(-1e6, 1e6) for _ in range(500)]
    values += [struct.unpack(">d", rng.randbytes(8))[0] for _ in range(500)]
    values = [v for v in values if v == v]
    for v in values:
        assert decode_score(encode_score(v)) == v
    by_bytes = sorted(values, key=encode_score)
    assert by_bytes == sorted(values)
    assert encode_score(-0.0) == encode_score(0.0)


# ---- writes and reads ----


def test_zadd_records_and_meta(db, now):
    assert add(db, b"z", now, (1, b"a"), (2, b"b"), (1, b"a")) == (2, 0, 3, 1.0)
    meta = db.lookup(b"z", now)
    assert meta.type == T_ZSET and meta.count == 2 and meta.extra == b""
    recs = records(db, b"z")
    assert (b"m" + b"a", struct.pack(">d", 1.0)) in recs
    assert (b"s" + encode_score(2.0) + b"b", b"") in recs
    assert len(recs) == 4
    # an update moves the index record
    assert add(db, b"z", now, (5, b"a")) == (0, 1, 1, 5.0)
    assert db.zrange_rank(b"z", 0, -1, now) == [(b"b", 2.0), (b"a", 5.0)]
    assert len(records(db, b"z")) == 4
    assert db.zscore(b"z", b"a", now) == 5.0
    assert db.zmscore(b"z", [b"a", b"x"], now) == [5.0, None]
    assert db.zcard(b"z", now) == 2
    assert db.zcard(b"nokey", now) == 0


def test_zadd_flags(db, now):
    assert add(db, b"z", now, (1, b"a"), xx=True) == (0, 0, 0, None)
    assert db.lookup(b"z", now) is None
    add(db, b"z", now, (1, b"a"))
    assert add(db, b"z", now, (2, b"a"), (3, b"b"), nx=True) == (1, 0, 1, 3.0)
    assert add(db, b"z", now, (0, b"a"), gt=True) == (0, 0, 0, None)
    assert add(db, b"z", now, (9, b"a"), gt=True) == (0, 1, 1, 9.0)
    assert add(db, b"z", now, (2, b"a"), incr=True) == (0, 1, 1, 11.0)
    assert add(db, b"z", now, (1, b"a"), incr=True, lt=True) == (0, 0, 0, None)
    db.zadd(b"i", [(math.inf, b"x")], now)
    with pytest.raises(CommandError, match="NaN"):
        db.zadd(b"i", [(-math.inf, b"x")], now, incr=True)
    assert db.zscore(b"i", b"x", now) == math.inf


def test_wrongtype(db, now):
    db.set(b"s", b"v", now)
    for op in (
        lambda: add(db, b"s", now, (1, b"a")),
        lambda: db.zscore(b"s", b"a", now),
        lambda: db.zrange_rank(b"s", 0, -1, now),
        lambda: db.zrem(b"s", [b"a"], now),
        lambda: db.zpop([b"s"], now, False, 1),
        lambda: db.zsources([b"nokey", b"s"], now),
    ):
        with pytest.raises(WrongTypeError):
            op()


def test_negative_zero_follows_encoding(db, now):
    add(db, b"lp", now, (-0.0, b"a"))
    assert math.copysign(1, db.zscore(b"lp", b"a", now)) == 1  # listpack: 0
    add(db, b"sl", now, (1, b"x" * 65))
    add(db, b"sl", now, (-0.0, b"a"))
    assert math.copysign(1, db.zscore(b"sl", b"a", now)) == -1  # skiplist keeps -0.0
    pairs = db.zrange_rank(b"sl", 0, 0, now)
    assert math.copysign(1, pairs[0][1]) == -1  # the index record carries the sign
    assert db.zcount(b"sl", ScoreRange(0.0, 0.0), now) == 1
    assert db.zcount(b"sl", ScoreRange(0.0, 1.0, minex=True), now) == 1


def test_encoding_is_sticky(db, now):
    limits = (3, 5)
    add(db, b"z", now, (1, b"a"), (2, b"b"), (3, b"c"), limits=limits)
    assert db.object_encoding(b"z", now) == "listpack"
    add(db, b"z", now, (4, b"d"), limits=limits)
    assert db.lookup(b"z", now).extra == SKIPLIST
    assert db.object_encoding(b"z", now) == "skiplist"
    db.zrem(b"z", [b"a", b"b", b"c"], now)
    assert db.object_encoding(b"z", now) == "skiplist"
    add(db, b"v", now, (1, b"abcdef"), limits=limits)  # a member over the value limit
    assert db.object_encoding(b"v", now) == "skiplist"
    add(db, b"w", now, (1, b"abc"), limits=limits)
    add(db, b"w", now, (2, b"abcdef"), xx=True, limits=limits)  # not added: no conversion
    assert db.object_encoding(b"w", now) == "listpack"


def test_ranges(db, now):
    add(db, b"z", now, *[(i // 2, b"m%02d" % i) for i in range(20)])
    assert db.zrange_rank(b"z", 0, 2, now) == [(b"m00", 0.0), (b"m01", 0.0), (b"m02", 1.0)]
    assert db.zrange_rank(b"z", -2, -1, now) == [(b"m18", 9.0), (b"m19", 9.0)]
    assert db.zrange_rank(b"z", 15, 16, now, reverse=True) == [(b"m04", 2.0), (b"m03", 1.0)]
    assert db.zrange_rank(b"z", 5, 2, now) == []
    assert db.zrange_rank(b"nokey", 0, -1, now) is None
    r = ScoreRange(2.0, 4.0, minex=True)
    got = db.zrange_score(b"z", r, now)
    assert [m for m, _ in got] == [b"m06", b"m07", b"m08", b"m09"]
    assert db.zrange_score(b"z", r, now, reverse=True, offset=1, limit=2) == [
        (b"m08", 4.0),
        (b"m07", 3.0),
    ]
    assert db.zrange_score(b"z", r, now, offset=-1) == []
    assert db.zrange_score(b"z", ScoreRange(5.0, 1.0), now) == []
    assert db.zcount(b"z", r, now) == 4
    assert db.zcount(b"z", ALL, now) == 20
    assert db.zrank(b"z", b"m00", now, False) == 0
    assert db.zrank(b"z", b"m19", now, False) == 19
    assert db.zrank(b"z", b"m03", now, True) == 16
    assert db.zrank(b"z", b"zz", now, False) is None


def test_lex_ranges(db, now):
    add(db, b"l", now, *[(0, m) for m in (b"", b"a", b"aa", b"b", b"c")])
    lex = db.zrange_lex
    assert [m for m, _ in lex(b"l", LexRange(NEG_INF, POS_INF), now)] == [
        b"",
        b"a",
        b"aa",
        b"b",
        b"c",
    ]
    assert [m for m, _ in lex(b"l", LexRange(b"a", b"b", True, False), now)] == [b"aa", b"b"]
    assert [m for m, _ in lex(b"l", LexRange(b"a", b"b"), now, reverse=True)] == [
        b"b",
        b"aa",
        b"a",
    ]
    assert lex(b"l", LexRange(POS_INF, NEG_INF), now) == []
    assert lex(b"l", LexRange(b"b", b"a"), now) == []
    assert db.zlexcount(b"l", LexRange(b"", POS_INF), now) == 5
    assert db.zlexcount(b"l", LexRange(b"", POS_INF, True), now) == 4


def test_removals_delete_empty_keys(db, now):
    add(db, b"z", now, (1, b"a"), (2, b"b"), (3, b"c"))
    assert db.zrem(b"z", [b"a", b"a", b"x"], now) == 1
    assert len(records(db, b"z")) == 4
    assert db.zremrange_score(b"z", ScoreRange(2.0, 2.0), now) == 1
    assert db.zremrange_lex(b"z", LexRange(NEG_INF, POS_INF), now) == 1
    assert db.lookup(b"z", now) is None
    add(db, b"z", now, (1, b"a"), (2, b"b"))
    assert db.zremrange_rank(b"z", 0, -1, now) == 2
    assert db.lookup(b"z", now) is None
    # no element record of a small zset survives its deletion
    p = data_prefix(db.pdb, b"z", 0)[:-8]
    for shard in db.engine.shards:
        it = shard.iterator(p, prefix_successor(p))
        assert not it.valid()


def test_zpop(db, now):
    add(db, b"z", now, (1, b"a"), (2, b"b"), (3, b"c"))
    assert db.zpop([b"nokey", b"z"], now, False, 2) == (b"z", [(b"a", 1.0), (b"b", 2.0)])
    assert db.zpop([b"z"], now, True, 0) == (b"z", [])
    assert db.zpop([b"z"], now, True, 5) == (b"z", [(b"c", 3.0)])
    assert db.zpop([b"z"], now, True, 1) is None
    assert db.lookup(b"z", now) is None


def test_zstore(db, now):
    db.set(b"d", b"string", now, expire_at=now + 10_000)
    assert db.zstore(b"d", [(b"a", 1.0), (b"b", -0.0)], now) == 2
    meta = db.lookup(b"d", now)
    assert meta.type == T_ZSET and meta.expire_at == 0 and meta.extra == b""
    assert math.copysign(1, db.zscore(b"d", b"b", now)) == 1  # listpack: no -0
    pairs = [(b"m%d" % i, -0.0) for i in range(5)]
    db.zstore(b"d", pairs, now, incremental=True, limits=(3, 64))
    assert db.object_encoding(b"d", now) == "skiplist"
    signs = [math.copysign(1, db.zscore(b"d", m, now)) for m, _ in pairs]
    assert signs == [1, 1, 1, -1, -1]  # normalized until the conversion
    assert db.zstore(b"d", [], now) == 0
    assert db.lookup(b"d", now) is None


def test_set_algebra(db, now):
    add(db, b"a", now, (1, b"x"), (2, b"y"), (math.inf, b"z"))
    add(db, b"b", now, (10, b"y"), (-math.inf, b"z"), (5, b"w"))
    srcs = db.zsources([b"a", b"b", b"nokey"], now)
    assert srcs[2].count == 0
    u = zunion(srcs, AGGR_SUM)
    assert u == {b"x": 1.0, b"y": 12.0, b"z": 0.0, b"w": 5.0}  # inf + -inf -> 0
    assert zunion(srcs, AGGR_MIN)[b"z"] == -math.inf
    assert zunion(srcs, AGGR_MAX)[b"y"] == 10.0
    inter, _ = zinter(srcs[:2], AGGR_SUM)
    assert inter == {b"y": 12.0, b"z": 0.0}
    assert zinter(srcs, AGGR_SUM)[0] == {}
    assert zinter(srcs[:2], AGGR_SUM, limit=1, cardinality_only=True) == ({}, 1)
    assert zdiff(srcs[:2]) == {b"x": 1.0}
    assert sorted_pairs({b"b": 1.0, b"a": 1.0, b"c": -0.0}) == [
        (b"c", -0.0),
        (b"a", 1.0),
        (b"b", 1.0),
    ]
    srcs = db.zsources([b"a", b"b"], now)
    srcs[0].weight, srcs[1].weight = 2.0, 0.0
    u = zunion(srcs, AGGR_SUM)
    assert u[b"z"] == math.inf  # 2 * inf, plus -inf * 0 (NaN, counted as 0)
    assert u[b"w"] == 0.0


def test_zscan(db, now):
    add(db, b"small", now, (2, b"b"), (1, b"a"))
    assert db.zscan(b"small", 0, now) == (0, [(b"a", 1.0), (b"b", 2.0)])
    add(db, b"big", now, *[(i, b"m%03d" % i) for i in range(200)])
    seen = []
    cursor = 0
    while True:
        cursor, page = db.zscan(b"big", cursor, now, count=17)
        seen += page
        if cursor == 0:
            break
    assert sorted(seen) == sorted((b"m%03d" % i, float(i)) for i in range(200))
    assert db.zscan(b"nokey", 0, now) is None


def test_zrandmember(db, now):
    add(db, b"z", now, *[(i, b"m%d" % i) for i in range(10)])
    members = {b"m%d" % i for i in range(10)}
    assert db.zrandmember(b"z", now, None)[0][0] in members
    picks = db.zrandmember(b"z", now, 5)
    assert len({m for m, _ in picks}) == 5
    assert len(db.zrandmember(b"z", now, -30)) == 30
    whole = db.zrandmember(b"z", now, 50)
    assert [m for m, _ in whole] == [b"m%d" % i for i in range(9, -1, -1)]
    assert db.zrandmember(b"nokey", now, 3) is None


def test_expired_zset_is_gone(db, now):
    add(db, b"z", now, (1, b"a"))
    db.expire(b"z", now + 5, now)
    later = now + 10
    assert db.zcard(b"z", later) == 0
    assert add(db, b"z", later, (2, b"b")) == (1, 0, 1, 2.0)
    assert db.zrange_rank(b"z", 0, -1, later) == [(b"b", 2.0)]
    assert db.lookup(b"z", later).expire_at == 0
    assert db.shard_for(b"z").get(meta_key(db.pdb, b"z")) is not None
