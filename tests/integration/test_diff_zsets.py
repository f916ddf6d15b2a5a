"""Sorted-set commands, pikad against redis-server.

ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZCOUNT ZLEXCOUNT ZRANGE ZRANGESTORE
ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREMRANGEBYRANK
ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP ZRANDMEMBER ZUNION ZINTER ZDIFF
ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD ZSCAN, OBJECT ENCODING of zsets, and
BZPOPMIN BZPOPMAX BZMPOP when they do not block (data present, errors, inside MULTI).

Replies are compared byte for byte (score formatting included, RESP2 and RESP3). Random
replies (ZRANDMEMBER) are judged by their rules; ZSCAN of a skiplist zset is compared as the
set of pairs a whole iteration returns.
"""

from __future__ import annotations

from helpers.raw import Error, parse
from integration.diff import pairwise, transform

LONG = "m" * 65  # over zset-max-listpack-value
WRONGTYPE_SETUP = [["SET", "str", "x"], ["LPUSH", "list", "a"]]


def _pairs(v: object) -> object:
    """A RESP2 flat member/score array (or RESP3 nested pairs) as a sorted list of pairs."""
    if isinstance(v, Error) or not isinstance(v, list):
        return v
    if v and isinstance(v[0], list):
        return sorted(tuple(p) for p in v)
    return sorted(zip(v[::2], v[1::2], strict=True))


unordered_pairs = transform(_pairs, "member/score pairs, any order")


def _scan_page(v: object) -> object:
    """A ZSCAN reply of a skiplist zset that finished in one page: cursor, pairs sorted."""
    if isinstance(v, Error) or not isinstance(v, list):
        return v
    return v[0], _pairs(v[1])


# ---- ZADD / ZINCRBY ----


def test_zadd_basics(diff):
    diff(
        [
            ["ZADD", "z", "1", "a"],
            ["ZADD", "z", "2", "b", "3", "c", "1", "a"],
            ["ZADD", "z", "5", "a", "5", "a"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZCARD", "z"],
            ["ZADD", "z", "CH", "5", "a", "6", "b", "7", "d"],
            ["ZADD", "z", "ch", "5", "a"],
            ["ZADD", "z", "1.5", "x", "-2.25e3", "y", "1e-5", "w", "+7", "v", ".5", "u"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZADD", "z", "0.1", "p", "1e17", "q", "123456789012345678", "r"],
            ["ZSCORE", "z", "p"],
            ["ZSCORE", "z", "q"],
            ["ZSCORE", "z", "r"],
            ["ZADD", "z", "0x10", "hex", "0X1p3", "hex2", "4e-320", "tiny"],
            ["ZMSCORE", "z", "hex", "hex2", "tiny", "nope"],
            ["ZADD", "z", "inf", "pinf", "-inf", "ninf", "+inf", "pinf2", "-Infinity", "n2"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZADD", "e", "1", ""],
            ["ZSCORE", "e", ""],
            ["TYPE", "z"],
        ]
    )


def test_zadd_errors(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z"],
            ["ZADD", "z", "1"],
            ["ZADD", "z", "1", "a", "2"],
            ["ZADD", "z", "NX"],
            ["ZADD", "z", "NX", "1"],
            ["ZADD", "z", "nan", "a"],
            ["ZADD", "z", "abc", "a"],
            ["ZADD", "z", "1", "a", "x", "b"],
            ["ZADD", "z", "", "a"],
            ["ZADD", "z", " 1", "a"],
            ["ZADD", "z", "1 ", "a"],
            ["ZADD", "z", "1e400", "a"],
            ["ZADD", "z", "-1e400", "a"],
            ["ZADD", "z", "1e-400", "a"],
            ["ZADD", "z", "1_0", "a"],
            ["ZADD", "z", "0x", "a"],
            ["ZADD", "z", "1\x00", "a"],
            ["ZADD", "z", "NX", "XX", "1", "a"],
            ["ZADD", "z", "GT", "LT", "1", "a"],
            ["ZADD", "z", "GT", "NX", "1", "a"],
            ["ZADD", "z", "LT", "NX", "1", "a"],
            ["ZADD", "z", "NX", "XX", "GT", "1", "a"],
            ["ZADD", "z", "INCR", "1", "a", "2", "b"],
            ["ZADD", "z", "NX", "XX", "INCR", "1", "a", "2", "b"],
            ["ZADD", "z", "INCR", "1", "a", "2"],
            ["ZADD", "z", "FOO", "1", "a"],
            ["ZADD", "str", "1", "a"],
            ["ZADD", "str", "x", "a"],
            ["ZADD", "list", "NX", "1", "a"],
            ["ZADD", "str", "XX", "1", "a"],
            ["EXISTS", "z"],
        ]
    )


def test_zadd_flags(diff):
    diff(
        [
            ["ZADD", "z", "XX", "1", "a"],
            ["EXISTS", "z"],
            ["ZADD", "z", "XX", "CH", "1", "a"],
            ["ZADD", "z", "NX", "1", "a", "2", "b"],
            ["ZADD", "z", "NX", "10", "a", "3", "c"],
            ["ZADD", "z", "XX", "10", "a", "4", "d"],
            ["ZADD", "z", "XX", "CH", "11", "a", "4", "d"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZADD", "z", "GT", "CH", "5", "a", "20", "b", "1", "new"],
            ["ZADD", "z", "LT", "CH", "5", "a", "30", "b", "0", "new2"],
            ["ZADD", "z", "GT", "XX", "CH", "100", "a", "1", "nope"],
            ["ZADD", "z", "LT", "XX", "CH", "-100", "b", "1", "nope"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZADD", "z", "GT", "5", "a"],
            ["ZADD", "z", "GT", "CH", "100", "a"],
            ["ZADD", "z", "LT", "CH", "100", "a"],
            ["ZADD", "z", "INCR", "5", "a"],
            ["ZADD", "z", "INCR", "NX", "5", "a"],
            ["ZADD", "z", "INCR", "NX", "5", "fresh"],
            ["ZADD", "z", "INCR", "XX", "5", "missing"],
            ["ZADD", "z", "INCR", "XX", "5", "a"],
            ["ZADD", "z", "INCR", "GT", "-1", "a"],
            ["ZADD", "z", "INCR", "GT", "1", "a"],
            ["ZADD", "z", "INCR", "LT", "1", "a"],
            ["ZADD", "z", "INCR", "LT", "-1", "a"],
            ["ZADD", "z", "INCR", "CH", "0", "a"],
            ["ZADD", "z2", "XX", "INCR", "1", "a"],
            ["EXISTS", "z2"],
            ["ZADD", "z", "1", "x", "1", "x", "2", "x"],
            ["ZADD", "z", "CH", "3", "y", "3", "y", "4", "y"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZCARD", "z"],
        ]
    )


def test_zincrby(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZINCRBY", "z", "1", "a"],
            ["ZINCRBY", "z", "2.5", "a"],
            ["ZINCRBY", "z", "-10", "a"],
            ["ZINCRBY", "z", "0.1", "b"],
            ["ZINCRBY", "z", "0.2", "b"],
            ["ZINCRBY", "z", "inf", "c"],
            ["ZINCRBY", "z", "-inf", "c"],
            ["ZSCORE", "z", "c"],
            ["ZINCRBY", "z", "inf", "c"],
            ["ZADD", "z", "INCR", "-inf", "c"],
            ["ZINCRBY", "z", "abc", "a"],
            ["ZINCRBY", "z", "nan", "a"],
            ["ZINCRBY", "z", "NX", "a"],
            ["ZINCRBY", "z", "1"],
            ["ZINCRBY", "str", "1", "a"],
            ["ZINCRBY", "str", "x", "a"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ]
    )
    diff([["ZINCRBY", "z", "1.5", "a"], ["ZADD", "z", "INCR", "2", "a"]], proto=3)


def test_negative_zero(diff):
    # A listpack stores -0 as 0; a skiplist keeps -0.0. INCR replies the computed score.
    diff(
        [
            ["ZADD", "z", "-0", "a", "0", "b"],
            ["ZSCORE", "z", "a"],
            ["ZADD", "z", "INCR", "-0", "n"],
            ["ZSCORE", "z", "n"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZADD", "s", "1", LONG],
            ["OBJECT", "ENCODING", "s"],
            ["ZADD", "s", "-0", "a", "0", "b", "-0", "c"],
            ["ZSCORE", "s", "a"],
            ["ZRANGE", "s", "0", "-1", "WITHSCORES"],
            ["ZRANGEBYSCORE", "s", "0", "0", "WITHSCORES"],
            ["ZRANGEBYSCORE", "s", "(0", "+inf", "WITHSCORES"],
            ["ZRANGEBYSCORE", "s", "-inf", "(-0", "WITHSCORES"],
            ["ZCOUNT", "s", "-0", "0"],
            ["ZINCRBY", "s", "0", "a"],
            ["ZSCORE", "s", "a"],
            ["ZINCRBY", "s", "-0", "b"],
            ["ZSCORE", "s", "b"],
            ["ZADD", "s", "0", "c"],
            ["ZSCORE", "s", "c"],
            (["ZSCAN", "s", "0", "COUNT", "100"], transform(_scan_page, "scan page, pairs sorted")),
            ["ZMSCORE", "s", "a", "b", "c"],
            ["ZUNION", "1", "s", "WITHSCORES"],
            ["ZUNION", "1", "s", "WEIGHTS", "-0", "WITHSCORES"],
            ["ZUNIONSTORE", "d", "1", "s"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZRANGESTORE", "d2", "s", "0", "1"],
            ["OBJECT", "ENCODING", "d2"],
            ["ZRANGE", "d2", "0", "-1", "WITHSCORES"],
            ["ZINTERSTORE", "d3", "1", "s", "WEIGHTS", "1"],
            ["ZRANGE", "d3", "0", "-1", "WITHSCORES"],
            ["ZPOPMIN", "s", "2"],
        ]
    )


# ---- point reads ----


def test_point_reads(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "2", "c", "3", "d"],
            ["ZCARD", "z"],
            ["ZCARD", "nokey"],
            ["ZCARD", "str"],
            ["ZSCORE", "z", "b"],
            ["ZSCORE", "z", "nope"],
            ["ZSCORE", "nokey", "a"],
            ["ZSCORE", "str", "a"],
            ["ZMSCORE", "z", "a", "nope", "d", "a"],
            ["ZMSCORE", "nokey", "a", "b"],
            ["ZMSCORE", "str", "a"],
            ["ZMSCORE", "z"],
            ["ZRANK", "z", "a"],
            ["ZRANK", "z", "c"],
            ["ZRANK", "z", "d"],
            ["ZRANK", "z", "nope"],
            ["ZRANK", "nokey", "a"],
            ["ZRANK", "str", "a"],
            ["ZREVRANK", "z", "a"],
            ["ZREVRANK", "z", "b"],
            ["ZREVRANK", "z", "d"],
            ["ZREVRANK", "z", "nope"],
            ["ZREVRANK", "list", "a"],
            ["ZRANK", "z"],
            ["ZRANK", "z", "a", "b"],
        ]
    )
    diff(
        [
            ["ZADD", "z", "1", "a", "2.5", "b"],
            ["ZSCORE", "z", "b"],
            ["ZSCORE", "z", "x"],
            ["ZMSCORE", "z", "a", "x"],
            ["ZMSCORE", "nokey", "a"],
            ["ZRANK", "z", "x"],
        ],
        proto=3,
    )


def test_rank_big(diff):
    members = [x for i in range(300) for x in (str(i % 17), f"m{i:03d}")]
    diff(
        [
            ["ZADD", "z", *members],
            ["ZRANK", "z", "m000"],
            ["ZRANK", "z", "m150"],
            ["ZRANK", "z", "m299"],
            ["ZREVRANK", "z", "m000"],
            ["ZREVRANK", "z", "m271"],
            ["ZRANGE", "z", "140", "145", "WITHSCORES"],
            ["ZRANGE", "z", "-3", "-1"],
            ["ZRANGE", "z", "250", "260"],
            ["ZRANGE", "z", "5", "10", "REV", "WITHSCORES"],
            ["ZRANGE", "z", "280", "400", "REV"],
            ["ZCOUNT", "z", "3", "(5"],
            ["ZRANGEBYSCORE", "z", "16", "+inf", "LIMIT", "3", "4"],
            ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "5", "3"],
            ["OBJECT", "ENCODING", "z"],
        ]
    )


# ---- counts and ranges ----


def test_zcount_zlexcount(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
            ["ZCOUNT", "z", "-inf", "+inf"],
            ["ZCOUNT", "z", "2", "4"],
            ["ZCOUNT", "z", "(2", "4"],
            ["ZCOUNT", "z", "2", "(4"],
            ["ZCOUNT", "z", "(2", "(4"],
            ["ZCOUNT", "z", "(2", "(2"],
            ["ZCOUNT", "z", "2", "2"],
            ["ZCOUNT", "z", "4", "2"],
            ["ZCOUNT", "z", "", ""],
            ["ZCOUNT", "z", " 2", "4"],
            ["ZCOUNT", "z", "2 ", "4"],
            ["ZCOUNT", "z", "(", "10"],
            ["ZCOUNT", "z", "1e400", "inf"],
            ["ZCOUNT", "z", "-1e400", "0x3"],
            ["ZCOUNT", "z", "2\x00junk", "4"],
            ["ZCOUNT", "z", "nan", "4"],
            ["ZCOUNT", "z", "a", "4"],
            ["ZCOUNT", "z", "((2", "4"],
            ["ZCOUNT", "z", "[2", "4"],
            ["ZCOUNT", "nokey", "a", "b"],
            ["ZCOUNT", "nokey", "0", "1"],
            ["ZCOUNT", "str", "0", "1"],
            ["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", ""],
            ["ZLEXCOUNT", "l", "-", "+"],
            ["ZLEXCOUNT", "l", "[b", "[d"],
            ["ZLEXCOUNT", "l", "(b", "[d"],
            ["ZLEXCOUNT", "l", "[b", "(d"],
            ["ZLEXCOUNT", "l", "(b", "(b"],
            ["ZLEXCOUNT", "l", "[b", "[b"],
            ["ZLEXCOUNT", "l", "[d", "[b"],
            ["ZLEXCOUNT", "l", "-", "-"],
            ["ZLEXCOUNT", "l", "+", "+"],
            ["ZLEXCOUNT", "l", "+", "-"],
            ["ZLEXCOUNT", "l", "-", "[c"],
            ["ZLEXCOUNT", "l", "(c", "+"],
            ["ZLEXCOUNT", "l", "[", "+"],
            ["ZLEXCOUNT", "l", "(", "+"],
            ["ZLEXCOUNT", "l", "[", "["],
            ["ZLEXCOUNT", "l", "[aa", "[cc"],
            ["ZLEXCOUNT", "l", "a", "c"],
            ["ZLEXCOUNT", "l", "", "+"],
            ["ZLEXCOUNT", "l", "+a", "+"],
            ["ZLEXCOUNT", "l", "-", "+\x00x"],
            ["ZLEXCOUNT", "nokey", "a", "b"],
            ["ZLEXCOUNT", "nokey", "-", "+"],
            ["ZLEXCOUNT", "str", "-", "+"],
        ]
    )


def test_zrange_rank(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
            ["ZRANGE", "z", "0", "-1"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZRANGE", "z", "1", "3"],
            ["ZRANGE", "z", "-2", "-1"],
            ["ZRANGE", "z", "-100", "100"],
            ["ZRANGE", "z", "3", "1"],
            ["ZRANGE", "z", "5", "10"],
            ["ZRANGE", "z", "-1", "-2"],
            ["ZRANGE", "z", "0", "-10"],
            ["ZRANGE", "z", "0", "-1", "REV"],
            ["ZRANGE", "z", "1", "2", "REV", "WITHSCORES"],
            ["ZRANGE", "z", "0", "-1", "withscores", "rev"],
            ["ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1"],
            ["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
            ["ZRANGE", "z", "0", "-1", "LIMIT", "0"],
            ["ZRANGE", "z", "0", "-1", "REV", "REV"],
            ["ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"],
            ["ZRANGE", "z", "a", "1"],
            ["ZRANGE", "z", "0", "1.5"],
            ["ZRANGE", "z", "0", "99999999999999999999"],
            ["ZRANGE", "nokey", "0", "-1"],
            ["ZRANGE", "nokey", "a", "b"],
            ["ZRANGE", "str", "0", "-1"],
            ["ZRANGE", "str", "0", "x"],
            ["ZREVRANGE", "z", "0", "-1"],
            ["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
            ["ZREVRANGE", "z", "-2", "-1", "withscores"],
            ["ZREVRANGE", "z", "0", "-1", "REV"],
            ["ZREVRANGE", "z", "0", "-1", "BYSCORE"],
            ["ZREVRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
            ["ZREVRANGE", "nokey", "0", "-1"],
            ["ZREVRANGE", "list", "0", "-1"],
        ]
    )
    diff(
        [
            ["ZADD", "z", "1", "a", "2", "b", "3.5", "c"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZRANGE", "z", "0", "-1"],
            ["ZREVRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZRANGE", "z", "0", "-1", "BYSCORE", "WITHSCORES"],
            ["ZRANGE", "nokey", "0", "-1", "WITHSCORES"],
            ["ZRANGE", "z", "5", "6", "WITHSCORES"],
        ],
        proto=3,
    )


def test_zrange_byscore(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "2", "bb", "3", "c", "4", "d", "5", "e"],
            ["ZRANGE", "z", "2", "4", "BYSCORE"],
            ["ZRANGE", "z", "(2", "4", "BYSCORE", "WITHSCORES"],
            ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "3"],
            ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"],
            ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "3"],
            ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "0"],
            ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "6", "10"],
            ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "100", "10"],
            ["ZRANGE", "z", "4", "2", "BYSCORE"],
            ["ZRANGE", "z", "4", "2", "BYSCORE", "REV"],
            ["ZRANGE", "z", "4", "(2", "BYSCORE", "REV", "WITHSCORES"],
            ["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2"],
            ["ZRANGE", "z", "2", "4", "BYSCORE", "LIMIT", "1"],
            ["ZRANGE", "z", "2", "4", "BYSCORE", "LIMIT", "a", "1"],
            ["ZRANGE", "z", "2", "4", "BYSCORE", "LIMIT", "1", "b"],
            ["ZRANGE", "z", "x", "4", "BYSCORE"],
            ["ZRANGE", "z", "2", "4", "BYSCORE", "BYSCORE"],
            ["ZRANGEBYSCORE", "z", "2", "4"],
            ["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES", "LIMIT", "2", "2"],
            ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "2", "2", "WITHSCORES"],
            ["ZRANGEBYSCORE", "z", "(1", "(5"],
            ["ZRANGEBYSCORE", "z", "1", "2", "REV"],
            ["ZRANGEBYSCORE", "z", "1", "2", "BYSCORE"],
            ["ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "0"],
            ["ZRANGEBYSCORE", "z", "a", "2"],
            ["ZRANGEBYSCORE", "nokey", "a", "2"],
            ["ZRANGEBYSCORE", "nokey", "0", "2"],
            ["ZRANGEBYSCORE", "str", "0", "2"],
            ["ZREVRANGEBYSCORE", "z", "4", "2"],
            ["ZREVRANGEBYSCORE", "z", "2", "4"],
            ["ZREVRANGEBYSCORE", "z", "(4", "(2", "WITHSCORES"],
            ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "3", "WITHSCORES"],
            ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "-2", "3"],
            ["ZREVRANGEBYSCORE", "list", "1", "0"],
        ]
    )
    diff(
        [
            ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            ["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"],
            ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES", "LIMIT", "0", "2"],
        ],
        proto=3,
    )


def test_zrange_bylex(diff):
    members = ["a", "aa", "ab", "b", "ba", "c", "", "\xff", "a\x00"]
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", *[x for m in members for x in ("0", m)]],
            ["ZRANGE", "z", "-", "+", "BYLEX"],
            ["ZRANGE", "z", "[a", "[b", "BYLEX"],
            ["ZRANGE", "z", "(a", "(b", "BYLEX"],
            ["ZRANGE", "z", "[a", "(ab", "BYLEX"],
            ["ZRANGE", "z", "+", "-", "BYLEX", "REV"],
            ["ZRANGE", "z", "[b", "[a", "BYLEX", "REV"],
            ["ZRANGE", "z", "(b", "-", "BYLEX", "REV", "LIMIT", "1", "2"],
            ["ZRANGE", "z", "-", "+", "BYLEX", "LIMIT", "2", "3"],
            ["ZRANGE", "z", "-", "+", "BYLEX", "LIMIT", "2", "-1"],
            ["ZRANGE", "z", "-", "+", "BYLEX", "LIMIT", "-1", "5"],
            ["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
            ["ZRANGE", "z", "a", "+", "BYLEX"],
            ["ZRANGE", "z", "[", "(", "BYLEX"],
            ["ZRANGE", "z", "[", "[", "BYLEX"],
            ["ZRANGE", "z", "-", "[", "BYLEX"],
            ["ZRANGEBYLEX", "z", "-", "+"],
            ["ZRANGEBYLEX", "z", "[a", "[aa"],
            ["ZRANGEBYLEX", "z", "[a", "(a\x01"],
            ["ZRANGEBYLEX", "z", "-", "+", "LIMIT", "1", "1"],
            ["ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"],
            ["ZRANGEBYLEX", "z", "-", "+", "REV"],
            ["ZRANGEBYLEX", "z", "a", "b"],
            ["ZRANGEBYLEX", "nokey", "a", "b"],
            ["ZRANGEBYLEX", "nokey", "-", "+"],
            ["ZRANGEBYLEX", "str", "-", "+"],
            ["ZREVRANGEBYLEX", "z", "+", "-"],
            ["ZREVRANGEBYLEX", "z", "-", "+"],
            ["ZREVRANGEBYLEX", "z", "[b", "(a", "LIMIT", "0", "2"],
            ["ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "3", "100"],
        ]
    )


def test_zrangestore(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
            ["ZRANGESTORE", "d", "z", "0", "2"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZRANGESTORE", "d", "z", "1", "3", "REV"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZRANGESTORE", "d", "z", "(1", "4", "BYSCORE", "LIMIT", "1", "2"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZRANGESTORE", "d", "z", "[e", "-", "BYLEX", "REV"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZRANGESTORE", "d", "z", "10", "20"],
            ["EXISTS", "d"],
            ["SET", "d", "string"],
            ["ZRANGESTORE", "d", "z", "0", "0"],
            ["TYPE", "d"],
            ["ZRANGESTORE", "d", "nokey", "0", "-1"],
            ["EXISTS", "d"],
            ["SET", "d", "string"],
            ["ZRANGESTORE", "d", "str", "0", "-1"],
            ["GET", "d"],
            ["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"],
            ["ZRANGESTORE", "d", "z", "0", "-1", "LIMIT", "0", "1"],
            ["ZRANGESTORE", "d", "z", "a", "b"],
            ["ZRANGESTORE", "d", "z", "0"],
            ["ZRANGESTORE", "z", "z", "1", "2"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["EXPIRE", "z", "100"],
            ["ZRANGESTORE", "z2", "z", "0", "-1"],
            ["TTL", "z2"],
            ["TTL", "z"],
        ]
    )


# ---- removal ----


def test_zrem(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            ["ZREM", "z", "a"],
            ["ZREM", "z", "a"],
            ["ZREM", "z", "x", "b", "b", "y"],
            ["ZRANGE", "z", "0", "-1"],
            ["ZREM", "z", "c", "d"],
            ["EXISTS", "z"],
            ["ZREM", "nokey", "a"],
            ["ZREM", "str", "a"],
            ["ZREM", "z"],
            ["ZADD", "z", "1", "a"],
            ["EXPIRE", "z", "100"],
            ["ZADD", "z", "2", "b"],
            ["ZREM", "z", "a"],
            ["TTL", "z"],
        ]
    )


def test_zremrange(diff):
    fill = ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]
    lex = ["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"]
    diff(
        [
            *WRONGTYPE_SETUP,
            fill,
            ["ZREMRANGEBYRANK", "z", "1", "2"],
            ["ZRANGE", "z", "0", "-1"],
            ["ZREMRANGEBYRANK", "z", "-1", "-1"],
            ["ZREMRANGEBYRANK", "z", "5", "10"],
            ["ZREMRANGEBYRANK", "z", "2", "1"],
            ["ZREMRANGEBYRANK", "z", "0", "-1"],
            ["EXISTS", "z"],
            fill,
            ["ZREMRANGEBYRANK", "z", "-100", "100"],
            ["EXISTS", "z"],
            ["ZREMRANGEBYRANK", "z", "a", "1"],
            ["ZREMRANGEBYRANK", "nokey", "0", "1"],
            ["ZREMRANGEBYRANK", "str", "0", "1"],
            fill,
            ["ZREMRANGEBYSCORE", "z", "(1", "3"],
            ["ZRANGE", "z", "0", "-1"],
            ["ZREMRANGEBYSCORE", "z", "10", "20"],
            ["ZREMRANGEBYSCORE", "z", "5", "1"],
            ["ZREMRANGEBYSCORE", "z", "-inf", "+inf"],
            ["EXISTS", "z"],
            ["ZREMRANGEBYSCORE", "z", "a", "1"],
            ["ZREMRANGEBYSCORE", "nokey", "a", "1"],
            ["ZREMRANGEBYSCORE", "nokey", "0", "1"],
            ["ZREMRANGEBYSCORE", "str", "0", "1"],
            lex,
            ["ZREMRANGEBYLEX", "l", "[b", "(d"],
            ["ZRANGE", "l", "0", "-1"],
            ["ZREMRANGEBYLEX", "l", "(e", "+"],
            ["ZREMRANGEBYLEX", "l", "-", "+"],
            ["EXISTS", "l"],
            ["ZREMRANGEBYLEX", "l", "a", "b"],
            ["ZREMRANGEBYLEX", "nokey", "a", "b"],
            ["ZREMRANGEBYLEX", "nokey", "-", "+"],
            ["ZREMRANGEBYLEX", "str", "-", "+"],
        ]
    )


def test_zremrange_big(diff):
    members = [x for i in range(400) for x in (str(i), f"m{i:03d}")]
    diff(
        [
            ["ZADD", "z", *members],
            ["ZREMRANGEBYRANK", "z", "10", "19"],
            ["ZREMRANGEBYSCORE", "z", "100", "(150"],
            ["ZCARD", "z"],
            ["ZRANGE", "z", "5", "15"],
            ["OBJECT", "ENCODING", "z"],
            ["ZREMRANGEBYRANK", "z", "0", "-1"],
            ["EXISTS", "z"],
            ["ZADD", "z", *members],
            ["DEL", "z"],
            ["ZADD", "z", "1", "x"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["OBJECT", "ENCODING", "z"],
        ]
    )


# ---- pops ----


def test_zpop(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
            ["ZPOPMIN", "z"],
            ["ZPOPMAX", "z"],
            ["ZPOPMIN", "z", "2"],
            ["ZPOPMAX", "z", "0"],
            ["ZPOPMAX", "z", "10"],
            ["EXISTS", "z"],
            ["ZPOPMIN", "z"],
            ["ZPOPMIN", "z", "3"],
            ["ZPOPMIN", "z", "-1"],
            ["ZPOPMIN", "z", "abc"],
            ["ZPOPMIN", "z", "1", "2"],
            ["ZPOPMIN", "str"],
            ["ZPOPMAX", "list", "0"],
            ["ZPOPMIN", "nokey", "0"],
            ["ZADD", "z", "1", "a"],
            ["ZPOPMIN", "z", "-1"],
        ]
    )
    diff(
        [
            ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
            ["ZPOPMIN", "z"],
            ["ZPOPMIN", "z", "1"],
            ["ZPOPMAX", "z", "5"],
            ["ZPOPMIN", "z"],
            ["ZPOPMIN", "z", "2"],
            ["ZPOPMIN", "z", "0"],
        ],
        proto=3,
    )


def test_zmpop(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            ["ZADD", "y", "10", "x"],
            ["ZMPOP", "1", "z", "MIN"],
            ["ZMPOP", "2", "nokey", "z", "max", "COUNT", "5"],
            ["ZMPOP", "2", "z", "y", "MIN"],
            ["ZMPOP", "2", "nokey", "nokey2", "MIN"],
            ["ZMPOP", "2", "str", "y", "MIN"],
            ["ZMPOP", "2", "nokey", "list", "MIN"],
            ["ZMPOP", "2", "y", "str", "MIN", "COUNT", "10"],
            ["EXISTS", "y"],
            ["ZMPOP", "0", "z", "MIN"],
            ["ZMPOP", "-1", "z", "MIN"],
            ["ZMPOP", "abc", "z", "MIN"],
            ["ZMPOP", "1", "z", "MIN", "COUNT", "0"],
            ["ZMPOP", "1", "z", "MIN", "COUNT", "-1"],
            ["ZMPOP", "1", "z", "MIN", "COUNT", "abc"],
            ["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"],
            ["ZMPOP", "1", "z", "MIN", "COUNT"],
            ["ZMPOP", "1", "z", "MIN", "FOO"],
            ["ZMPOP", "2", "z", "MIN"],
            ["ZMPOP", "1", "z", "LEFT"],
            ["ZMPOP", "5", "z", "MIN"],
            ["ZMPOP", "1"],
            ["ZMPOP", "1", "z"],
        ]
    )
    diff(
        [
            ["ZADD", "z", "1", "a", "2.5", "b", "3", "c"],
            ["ZMPOP", "1", "z", "MAX"],
            ["ZMPOP", "1", "z", "MIN", "COUNT", "10"],
            ["ZMPOP", "1", "z", "MIN"],
        ],
        proto=3,
    )


# ---- blocking pops that find data (the blocking side is in test_blocking.py) ----


def answered(results: list) -> None:
    """Every command got a reply: a command that blocked on both servers would otherwise
    pass as two equal timeouts."""
    for i, pair in enumerate(results):
        assert all(o.status == "reply" for o in pair), f"command {i}: {pair}"


def test_bzpop_immediate(diff):
    r = diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5.5", "e", "-inf", "f"],
            ["ZADD", "y", "10", "x"],
            ["BZPOPMIN", "z", "0"],
            ["BZPOPMAX", "z", "0"],
            ["BZPOPMIN", "nokey", "z", "0"],
            ["BZPOPMAX", "nokey", "y", "z", "1.5"],
            ["BZPOPMIN", "z", "z", "0"],
            ["BZMPOP", "0", "1", "z", "MIN"],
            ["BZMPOP", "0", "2", "nokey", "z", "max", "COUNT", "1"],
            ["BZMPOP", "0.5", "2", "z", "y", "min", "count", "10"],
            ["EXISTS", "z"],
            ["ZADD", "y", "10", "x", "11", "w"],
            ["BZMPOP", "0", "1", "y", "MAX", "COUNT", "9223372036854775807"],
            ["EXISTS", "y"],
            ["BZPOPMIN", "nokey", "y", "0.01"],
            ["ZADD", "big", *[x for i in range(200) for x in (str(i), f"m{i}")]],
            ["BZPOPMAX", "big", "0"],
            ["BZMPOP", "0", "1", "big", "MIN", "COUNT", "3"],
            ["ZCARD", "big"],
            ["OBJECT", "ENCODING", "big"],
        ]
    )
    answered(r)
    r = diff(
        [
            ["ZADD", "z", "1", "a", "2.5", "b", "3", "c", "inf", "d", "-0.0", "e"],
            ["BZPOPMIN", "z", "0"],
            ["BZPOPMAX", "z", "0"],
            ["BZMPOP", "0", "1", "z", "MAX", "COUNT", "2"],
            ["BZMPOP", "0", "1", "z", "MIN"],
            ["BZPOPMIN", "nokey", "0.01"],
            ["BZMPOP", "0.01", "1", "nokey", "MIN"],
        ],
        proto=3,
    )
    answered(r)


def test_bzpop_errors(diff):
    r = diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b"],
            ["BZPOPMIN", "str", "0"],
            ["BZPOPMIN", "nokey", "list", "0"],
            ["BZPOPMAX", "list", "z", "0"],
            ["BZPOPMIN", "z", "str", "0"],  # the first zset is popped, str is not looked at
            # The timeout is parsed first, before any key is looked up.
            ["BZPOPMIN", "z", "abc"],
            ["BZPOPMIN", "str", "abc"],
            ["BZPOPMAX", "z", "-1"],
            ["BZPOPMAX", "z", "1e20"],
            ["BZPOPMAX", "z", "inf"],
            ["BZPOPMAX", "z", "nan"],
            ["BZPOPMIN", "z", ""],
            ["BZPOPMIN", "z"],
            ["BZPOPMAX"],
            # BZMPOP checks numkeys, MIN|MAX and COUNT before the timeout, then the keys.
            ["BZMPOP", "abc", "1", "z", "MIN"],
            ["BZMPOP", "-1", "1", "z", "MIN"],
            ["BZMPOP", "abc", "0", "z", "MIN"],
            ["BZMPOP", "abc", "1", "z", "LEFT"],
            ["BZMPOP", "abc", "1", "z", "MIN", "COUNT", "0"],
            ["BZMPOP", "abc", "1", "str", "MIN"],
            ["BZMPOP", "0", "1", "str", "MIN"],
            ["BZMPOP", "0", "2", "nokey", "list", "MAX"],
            ["BZMPOP", "0", "0", "z", "MIN"],
            ["BZMPOP", "0", "-1", "z", "MIN"],
            ["BZMPOP", "0", "abc", "z", "MIN"],
            ["BZMPOP", "0", "9223372036854775807", "z", "MIN"],
            ["BZMPOP", "0", "1", "z", "MIN", "COUNT", "-1"],
            ["BZMPOP", "0", "1", "z", "MIN", "COUNT", "abc"],
            ["BZMPOP", "0", "1", "z", "MIN", "COUNT", "9223372036854775808"],
            ["BZMPOP", "0", "1", "z", "MIN", "COUNT"],
            ["BZMPOP", "0", "1", "z", "MIN", "COUNT", "1", "COUNT", "2"],
            ["BZMPOP", "0", "1", "z", "MIN", "FOO"],
            ["BZMPOP", "0", "5", "z", "MIN"],
            ["BZMPOP", "0", "1", "z"],
            ["BZMPOP", "0", "1"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ]
    )
    answered(r)


def test_bzpop_inside_multi(diff):
    # Inside MULTI/EXEC nothing blocks: no data answers like a timeout, at once.
    r = diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            ["MULTI"],
            ["BZPOPMIN", "nokey", "0"],
            ["BZMPOP", "0", "1", "nokey", "MIN"],
            ["BZPOPMAX", "nokey", "z", "0"],
            ["BZMPOP", "0", "2", "nokey", "z", "MIN", "COUNT", "5"],
            ["BZPOPMIN", "z", "0"],
            ["BZPOPMIN", "str", "0"],
            ["BZMPOP", "abc", "1", "z", "MIN"],
            ["EXEC"],
            ["MULTI"],
            ["BZPOPMIN", "z", "abc"],
            ["BZMPOP", "0", "0", "z", "MIN"],
            ["BZPOPMIN", "z"],
            ["EXEC"],
        ]
    )
    answered(r)
    r = diff(
        [
            ["MULTI"],
            ["BZPOPMIN", "z", "0"],
            ["BZMPOP", "0", "1", "z", "MIN"],
            ["ZADD", "z", "1", "a"],
            ["BZPOPMAX", "z", "0"],
            ["EXEC"],
        ],
        proto=3,
    )
    answered(r)


# ---- ZRANDMEMBER ----


def _randmember_check(members: set, scores: dict, count: int | None, withscores: bool):
    """Judge a ZRANDMEMBER reply by the rules, not the content."""

    def check(a: object, b: object) -> object:
        for v in (a, b):
            if isinstance(v, Error):
                return a == b or "error replies differ"
        if count is None:
            return (a in members and b in members) or f"{a!r}/{b!r} not members"
        pairs_a = _pairs(a) if withscores else a
        pairs_b = _pairs(b) if withscores else b
        n = abs(count) if count < 0 else min(count, len(members))
        for got in (pairs_a, pairs_b):
            if len(got) != n:
                return f"length {len(got)} != {n}"
            for item in got:
                m = item[0] if withscores else item
                if m not in members:
                    return f"{m!r} not a member"
                if withscores and float(scores[m]) != float(item[1]):
                    return f"score of {m!r}: {item[1]!r}"
            if count > 0:
                ms = [i[0] for i in got] if withscores else got
                if len(set(ms)) != len(ms):
                    return "repeated members with a positive count"
        return type(a) is type(b) or "reply types differ"

    return pairwise(check, f"zrandmember rules (count={count})")


def test_zrandmember(diff):
    members = {b"a", b"b", b"c", b"d", b"e"}
    scores = {b"a": b"1", b"b": b"2", b"c": b"3", b"d": b"4", b"e": b"5"}
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
            (["ZRANDMEMBER", "z"], _randmember_check(members, scores, None, False)),
            (["ZRANDMEMBER", "z", "3"], _randmember_check(members, scores, 3, False)),
            (["ZRANDMEMBER", "z", "1"], _randmember_check(members, scores, 1, False)),
            (["ZRANDMEMBER", "z", "-8"], _randmember_check(members, scores, -8, False)),
            (["ZRANDMEMBER", "z", "-1"], _randmember_check(members, scores, -1, False)),
            (["ZRANDMEMBER", "z", "2", "WITHSCORES"], _randmember_check(members, scores, 2, True)),
            (
                ["ZRANDMEMBER", "z", "-7", "withscores"],
                _randmember_check(members, scores, -7, True),
            ),
            # Asking for at least the whole zset returns it, highest score first.
            ["ZRANDMEMBER", "z", "5"],
            ["ZRANDMEMBER", "z", "100", "WITHSCORES"],
            ["ZRANDMEMBER", "z", "0"],
            ["ZRANDMEMBER", "z", "0", "WITHSCORES"],
            ["ZRANDMEMBER", "nokey"],
            ["ZRANDMEMBER", "nokey", "5"],
            ["ZRANDMEMBER", "nokey", "-5", "WITHSCORES"],
            ["ZRANDMEMBER", "str"],
            ["ZRANDMEMBER", "str", "1"],
            ["ZRANDMEMBER", "z", "abc"],
            ["ZRANDMEMBER", "z", "1", "foo"],
            ["ZRANDMEMBER", "z", "1", "WITHSCORES", "x"],
            ["ZRANDMEMBER", "z", "-9223372036854775808"],
            ["ZRANDMEMBER", "nokey", "abc"],
        ]
    )
    diff(
        [
            ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
            (["ZRANDMEMBER", "z", "2", "WITHSCORES"], _randmember_check(members, scores, 2, True)),
            ["ZRANDMEMBER", "z", "10", "WITHSCORES"],
            ["ZRANDMEMBER", "nokey"],
        ],
        proto=3,
    )


def test_zrandmember_big(diff):
    names = {f"m{i}".encode() for i in range(300)}
    scores = {f"m{i}".encode(): str(i).encode() for i in range(300)}
    members = [x for i in range(300) for x in (str(i), f"m{i}")]
    diff(
        [
            ["ZADD", "z", *members],
            (["ZRANDMEMBER", "z", "5"], _randmember_check(names, scores, 5, False)),
            (["ZRANDMEMBER", "z", "150"], _randmember_check(names, scores, 150, False)),
            (
                ["ZRANDMEMBER", "z", "-20", "WITHSCORES"],
                _randmember_check(names, scores, -20, True),
            ),
            (["ZRANDMEMBER", "z"], _randmember_check(names, scores, None, False)),
        ]
    )


# ---- set algebra ----


def test_zunion_zinter_zdiff(diff):
    setup = [
        *WRONGTYPE_SETUP,
        ["ZADD", "a", "1", "x", "2", "y", "3", "z"],
        ["ZADD", "b", "10", "y", "20", "z", "30", "w"],
        ["ZADD", "c", "100", "z", "-5", "v"],
        ["SADD", "s", "x", "z", "q"],
    ]
    diff(
        [
            *setup,
            ["ZUNION", "2", "a", "b"],
            ["ZUNION", "2", "a", "b", "WITHSCORES"],
            ["ZUNION", "3", "a", "b", "c", "WEIGHTS", "1", "2", "0.5", "WITHSCORES"],
            ["ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"],
            ["ZUNION", "2", "a", "b", "AGGREGATE", "max", "WITHSCORES"],
            ["ZUNION", "2", "a", "b", "aggregate", "sum", "weights", "2", "-1", "withscores"],
            ["ZUNION", "3", "a", "nokey", "s", "WITHSCORES"],
            ["ZUNION", "1", "nokey"],
            ["ZUNION", "2", "a", "a", "WITHSCORES"],
            ["ZINTER", "2", "a", "b"],
            ["ZINTER", "2", "a", "b", "WITHSCORES"],
            ["ZINTER", "3", "a", "b", "c", "WITHSCORES"],
            ["ZINTER", "2", "a", "b", "WEIGHTS", "2", "3", "AGGREGATE", "MAX", "WITHSCORES"],
            ["ZINTER", "2", "a", "s", "WITHSCORES"],
            ["ZINTER", "2", "a", "nokey", "WITHSCORES"],
            ["ZINTER", "2", "a", "a", "AGGREGATE", "MIN", "WITHSCORES"],
            ["ZDIFF", "2", "a", "b"],
            ["ZDIFF", "2", "a", "b", "WITHSCORES"],
            ["ZDIFF", "3", "b", "a", "c", "WITHSCORES"],
            ["ZDIFF", "2", "a", "s", "WITHSCORES"],
            ["ZDIFF", "2", "s", "a", "WITHSCORES"],
            ["ZDIFF", "1", "nokey", "WITHSCORES"],
            ["ZDIFF", "2", "a", "a"],
            ["ZDIFF", "2", "a", "nokey", "WITHSCORES"],
        ]
    )
    diff(
        [
            *setup,
            ["ZUNION", "0", "a"],
            ["ZUNION", "-1", "a"],
            ["ZUNION", "x", "a"],
            ["ZUNION", "3", "a", "b"],
            ["ZUNION", "2", "a", "str"],
            ["ZUNION", "2", "nokey", "list", "WEIGHTS", "x"],
            ["ZUNION", "1", "a", "WEIGHTS"],
            ["ZUNION", "1", "a", "WEIGHTS", "x"],
            ["ZUNION", "1", "a", "WEIGHTS", "nan"],
            ["ZUNION", "2", "a", "b", "WEIGHTS", "1"],
            ["ZUNION", "1", "a", "WEIGHTS", "1", "2"],
            ["ZUNION", "1", "a", "AGGREGATE"],
            ["ZUNION", "1", "a", "AGGREGATE", "avg"],
            ["ZUNION", "1", "a", "FOO"],
            ["ZUNION", "1", "a", "WITHSCORES", "WITHSCORES"],
            ["ZINTER", "0", "a"],
            ["ZINTER", "2", "a"],
            ["ZINTER", "2", "str", "nokey"],
            ["ZDIFF", "0", "a"],
            ["ZDIFF", "1", "a", "WEIGHTS", "1"],
            ["ZDIFF", "1", "a", "AGGREGATE", "SUM"],
            ["ZDIFF", "2", "nokey", "str"],
            ["ZUNION", "1"],
        ]
    )
    diff(
        [
            ["ZADD", "a", "1", "x", "2", "y"],
            ["ZADD", "b", "3", "y"],
            ["ZUNION", "2", "a", "b", "WITHSCORES"],
            ["ZINTER", "2", "a", "b", "WITHSCORES"],
            ["ZDIFF", "2", "a", "b", "WITHSCORES"],
            ["ZUNION", "2", "a", "b"],
        ],
        proto=3,
    )


def test_set_algebra_infinities(diff):
    diff(
        [
            ["ZADD", "a", "inf", "x", "-inf", "y", "1", "z"],
            ["ZADD", "b", "-inf", "x", "inf", "y", "0", "z"],
            ["ZUNION", "2", "a", "b", "WITHSCORES"],
            ["ZINTER", "2", "a", "b", "WITHSCORES"],
            ["ZUNION", "2", "a", "b", "WEIGHTS", "0", "0", "WITHSCORES"],
            ["ZINTER", "2", "a", "b", "WEIGHTS", "0", "1", "WITHSCORES"],
            ["ZINTER", "2", "a", "b", "WEIGHTS", "1", "0", "AGGREGATE", "MIN", "WITHSCORES"],
            ["ZINTER", "2", "a", "b", "WEIGHTS", "1", "0", "AGGREGATE", "MAX", "WITHSCORES"],
            ["ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"],
            ["ZUNION", "2", "a", "b", "WEIGHTS", "inf", "-inf", "WITHSCORES"],
            ["ZUNIONSTORE", "d", "2", "a", "b"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZADD", "c", "0.1", "x", "0.2", "y"],
            ["ZADD", "e", "0.2", "x", "0.1", "y"],
            ["ZUNION", "2", "c", "e", "WITHSCORES"],
            ["ZUNION", "2", "c", "e", "WEIGHTS", "3", "0.7", "WITHSCORES"],
        ]
    )


def test_store_variants(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "a", "1", "x", "2", "y", "3", "z"],
            ["ZADD", "b", "10", "y", "20", "z", "30", "w"],
            ["SADD", "s", "x", "q"],
            ["ZUNIONSTORE", "d", "2", "a", "b"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "2", "1", "AGGREGATE", "MAX"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZINTERSTORE", "d", "2", "a", "b"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZINTERSTORE", "d", "2", "a", "s"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZDIFFSTORE", "d", "2", "a", "b"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZDIFFSTORE", "d", "2", "s", "a"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZINTERSTORE", "d", "2", "a", "nokey"],
            ["EXISTS", "d"],
            ["SET", "d", "x"],
            ["EXPIRE", "d", "100"],
            ["ZUNIONSTORE", "d", "1", "a"],
            ["TYPE", "d"],
            ["TTL", "d"],
            ["ZUNIONSTORE", "a", "2", "a", "b"],
            ["ZRANGE", "a", "0", "-1", "WITHSCORES"],
            ["ZDIFFSTORE", "a", "2", "a", "a"],
            ["EXISTS", "a"],
            ["ZUNIONSTORE", "d", "1", "str"],
            ["ZUNIONSTORE", "d", "0", "b"],
            ["ZINTERSTORE", "d", "0", "b"],
            ["ZDIFFSTORE", "d", "0", "b"],
            ["ZUNIONSTORE", "d", "1", "b", "WITHSCORES"],
            ["ZDIFFSTORE", "d", "1", "b", "WEIGHTS", "1"],
            ["ZUNIONSTORE", "d", "2", "b"],
            ["ZUNIONSTORE", "d", "x", "b"],
            ["TYPE", "d"],
        ]
    )


def test_zintercard(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "a", "1", "x", "2", "y", "3", "z"],
            ["ZADD", "b", "10", "y", "20", "z", "30", "w"],
            ["SADD", "s", "y", "z", "q"],
            ["ZINTERCARD", "2", "a", "b"],
            ["ZINTERCARD", "3", "a", "b", "s"],
            ["ZINTERCARD", "1", "a"],
            ["ZINTERCARD", "2", "a", "b", "LIMIT", "1"],
            ["ZINTERCARD", "2", "a", "b", "LIMIT", "0"],
            ["ZINTERCARD", "2", "a", "b", "LIMIT", "10"],
            ["ZINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "5"],
            ["ZINTERCARD", "2", "a", "nokey"],
            ["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"],
            ["ZINTERCARD", "2", "a", "b", "LIMIT", "x"],
            ["ZINTERCARD", "2", "a", "b", "LIMIT"],
            ["ZINTERCARD", "2", "a", "b", "WEIGHTS", "1", "1"],
            ["ZINTERCARD", "2", "a", "b", "WITHSCORES"],
            ["ZINTERCARD", "2", "a", "b", "AGGREGATE", "SUM"],
            ["ZINTERCARD", "2", "a", "str"],
            ["ZINTERCARD", "0", "a"],
            ["ZINTERCARD", "3", "a", "b"],
            ["ZINTERCARD", "x", "a"],
        ]
    )


# ---- ZSCAN ----


def _scan_all_pairs(conn, key: str, *options: str) -> list:
    """Iterate ZSCAN to the end on one raw connection: sorted (member, score) pairs."""
    cursor = b"0"
    pairs = []
    for _ in range(100_000):
        conn.send(["ZSCAN", key, cursor, *options])
        reply = parse(conn.read_reply())
        assert isinstance(reply, list), reply
        cursor, page = reply
        pairs += list(zip(page[::2], page[1::2], strict=True))
        if cursor == b"0":
            return sorted(pairs)
    raise AssertionError("ZSCAN did not finish")


def test_zscan_listpack(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            ["ZADD", "z", "3", "c", "1", "a", "2.5", "b", "0.1", "d", "1e20", "e", "-inf", "f"],
            ["ZSCAN", "z", "0"],
            ["ZSCAN", "z", "0", "COUNT", "1"],
            ["ZSCAN", "z", "0", "MATCH", "[ab]*"],
            ["ZSCAN", "z", "0", "MATCH", "*", "COUNT", "2"],
            ["ZSCAN", "z", "123"],
            ["ZSCAN", "z", "abc"],
            ["ZSCAN", "z", "-1"],
            ["ZSCAN", "z", "0", "COUNT", "0"],
            ["ZSCAN", "z", "0", "COUNT", "x"],
            ["ZSCAN", "z", "0", "MATCH"],
            ["ZSCAN", "z", "0", "TYPE", "zset"],
            ["ZSCAN", "nokey", "0"],
            ["ZSCAN", "nokey", "0", "COUNT", "0"],
            ["ZSCAN", "nokey", "x"],
            ["ZSCAN", "str", "0"],
            ["ZSCAN", "z"],
        ]
    )
    diff([["ZADD", "z", "1.5", "a"], ["ZSCAN", "z", "0"]], proto=3)


def test_zscan_skiplist(diff):
    members = [x for i in range(200) for x in (str(i * 0.5), f"m{i}")]
    diff([["ZADD", "z", *members], ["OBJECT", "ENCODING", "z"]])
    left, right = diff.conns()
    for opts in ((), ("COUNT", "7"), ("MATCH", "m1*"), ("MATCH", "*9", "COUNT", "50")):
        assert _scan_all_pairs(left, "z", *opts) == _scan_all_pairs(right, "z", *opts)


# ---- encodings ----


def test_object_encoding(diff):
    members = [x for i in range(128) for x in (str(i), f"m{i}")]
    diff(
        [
            ["ZADD", "z", *members],
            ["OBJECT", "ENCODING", "z"],
            ["ZADD", "z", "XX", "1", "m1"],
            ["OBJECT", "ENCODING", "z"],
            ["ZADD", "z", "1", "one-more"],
            ["OBJECT", "ENCODING", "z"],
            ["ZREM", "z", "one-more", "m1", "m2"],
            ["OBJECT", "ENCODING", "z"],
            ["ZADD", "v", "1", "short"],
            ["OBJECT", "ENCODING", "v"],
            ["ZADD", "v", "1", "m" * 64],
            ["OBJECT", "ENCODING", "v"],
            ["ZADD", "v", "NX", "1", LONG],
            ["OBJECT", "ENCODING", "v"],
            ["ZREM", "v", LONG],
            ["OBJECT", "ENCODING", "v"],
            ["ZADD", "w", "XX", "1", LONG],
            ["ZADD", "w", "1", LONG],
            ["OBJECT", "ENCODING", "w"],
            ["ZUNIONSTORE", "u", "1", "z"],
            ["OBJECT", "ENCODING", "u"],
            ["ZREMRANGEBYRANK", "z", "0", "100"],
            ["ZUNIONSTORE", "u", "1", "z"],
            ["OBJECT", "ENCODING", "u"],
            ["ZUNIONSTORE", "u", "2", "v", "w"],
            ["OBJECT", "ENCODING", "u"],
            ["ZDIFFSTORE", "u", "2", "v", "w"],
            ["OBJECT", "ENCODING", "u"],
            ["RENAME", "w", "w2"],
            ["OBJECT", "ENCODING", "w2"],
            ["COPY", "w2", "w3"],
            ["OBJECT", "ENCODING", "w3"],
        ]
    )
    members = [x for i in range(200) for x in (str(i), f"m{i}")]
    diff(
        [
            ["ZADD", "big", *members],
            ["ZRANGESTORE", "r", "big", "0", "127"],
            ["OBJECT", "ENCODING", "r"],
            ["ZRANGESTORE", "r", "big", "0", "128"],
            ["OBJECT", "ENCODING", "r"],
            ["ZADD", "lv", "1", "a", "2", LONG, "3", "c"],
            ["OBJECT", "ENCODING", "lv"],
            ["ZRANGESTORE", "r", "lv", "0", "0"],
            ["OBJECT", "ENCODING", "r"],
            ["ZRANGESTORE", "r", "lv", "0", "-1"],
            ["OBJECT", "ENCODING", "r"],
        ]
    )


def test_encoding_config(diff):
    diff(
        [
            ["CONFIG", "SET", "zset-max-listpack-entries", "2"],
            ["ZADD", "z", "1", "a", "2", "b"],
            ["OBJECT", "ENCODING", "z"],
            ["ZADD", "z", "3", "c"],
            ["OBJECT", "ENCODING", "z"],
            ["CONFIG", "SET", "zset-max-listpack-entries", "0"],
            ["ZADD", "y", "1", "a"],
            ["OBJECT", "ENCODING", "y"],
            ["CONFIG", "SET", "zset-max-listpack-entries", "128"],
            ["CONFIG", "SET", "zset-max-listpack-value", "3"],
            ["ZADD", "x", "1", "abc"],
            ["OBJECT", "ENCODING", "x"],
            ["ZADD", "x", "1", "abcd"],
            ["OBJECT", "ENCODING", "x"],
            ["CONFIG", "SET", "zset-max-listpack-value", "64"],
        ]
    )


# ---- keyspace interplay ----


def test_ttl_and_keyspace(diff):
    diff(
        [
            ["ZADD", "z", "1", "a", "2", "b"],
            ["EXPIRE", "z", "100"],
            ["ZADD", "z", "3", "c"],
            ["ZINCRBY", "z", "1", "a"],
            ["ZREM", "z", "b"],
            ["ZPOPMIN", "z"],
            ["TTL", "z"],
            ["TYPE", "z"],
            ["RENAME", "z", "z2"],
            ["ZRANGE", "z2", "0", "-1", "WITHSCORES"],
            ["TTL", "z2"],
            ["PEXPIRE", "z2", "1"],
            ["DEBUG", "SLEEP", "0.01"],
            ["ZCARD", "z2"],
            ["ZADD", "z2", "1", "fresh"],
            ["ZRANGE", "z2", "0", "-1"],
            ["TTL", "z2"],
            ["DEL", "z2"],
            ["ZRANGE", "z2", "0", "-1"],
            ["ZADD", "z", "1", "a"],
            ["SET", "z", "v"],
            ["TYPE", "z"],
            ["ZADD", "z", "1", "a"],
            ["DBSIZE"],
        ]
    )


def test_multi_exec(diff):
    diff(
        [
            ["MULTI"],
            ["ZADD", "z", "1", "a", "2", "b"],
            ["ZINCRBY", "z", "5", "a"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZPOPMIN", "z"],
            ["EXEC"],
        ]
    )


def _core(v: object) -> object:
    """name, arity, first/last key, step, and the flags as a set (their order is free)."""
    return [None if e is None else [e[0], e[1], sorted(e[2]), e[3], e[4], e[5]] for e in v]


def test_command_info(diff):
    names = (
        "zadd zincrby zrem zcard zscore zmscore zrank zrevrank zcount zlexcount zrange"
        " zrangestore zrevrange zrangebyscore zrevrangebyscore zrangebylex zrevrangebylex"
        " zremrangebyrank zremrangebyscore zremrangebylex zpopmin zpopmax zmpop zrandmember"
        " zunion zinter zdiff zunionstore zinterstore zdiffstore zintercard zscan"
        " bzpopmin bzpopmax bzmpop"
    )
    diff([(["COMMAND", "INFO", *names.split()], transform(_core, "core and flag set"))])
    diff(
        [
            ["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
            ["COMMAND", "GETKEYS", "ZINTER", "2", "a", "b"],
            ["COMMAND", "GETKEYS", "ZMPOP", "2", "a", "b", "MIN"],
            ["COMMAND", "GETKEYS", "ZRANGESTORE", "d", "s", "0", "1"],
            ["COMMAND", "GETKEYS", "ZADD", "k", "1", "a"],
            ["COMMAND", "GETKEYS", "BZPOPMIN", "a", "b", "c", "0"],
            ["COMMAND", "GETKEYS", "BZPOPMAX", "a", "0"],
            ["COMMAND", "GETKEYS", "BZMPOP", "0", "2", "a", "b", "MIN", "COUNT", "3"],
            ["COMMAND", "GETKEYS", "BZMPOP", "0", "1", "a", "MAX"],
        ]
    )
