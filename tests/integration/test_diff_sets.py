"""Set commands, pikad against redis-server.

SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SRANDMEMBER SPOP SMOVE SINTER SINTERCARD
SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN, with their errors and the order in
which errors win (every key type-checked, missing ones or not), *STORE destinations of any
type, TTLs, RESP3 set replies ('~') and OBJECT ENCODING (intset / hashtable, conversions,
destinations and SPOP survivors built afresh).

An intset's order is numeric in both servers, so SMEMBERS / SSCAN of an intset are compared
byte for byte; a hashtable's order is Redis's own, so those replies are compared sorted.
Random replies (SRANDMEMBER, SPOP) are judged by the rules a client may count on: how
many, distinct or not, members of the set; after an SPOP the set is checked to have lost
exactly what was popped.
"""

from __future__ import annotations

import pytest

from helpers.raw import RespSet
from integration.diff import Error, pairwise, transform, unordered

LLONG_MAX = str((1 << 63) - 1)
LLONG_MIN = str(-(1 << 63))


# ---- normalizers ----


def _sorted_set(v: object) -> object:
    """Sorted elements, keeping whether the reply was a RESP3 set or an array."""
    if isinstance(v, list) and not isinstance(v, Error):
        return (type(v).__name__, sorted(v))
    return v


unordered_set = transform(_sorted_set, "set reply (sorted, RESP type kept)")


def _scan_members(v: object) -> object:
    if isinstance(v, Error) or not isinstance(v, list):
        return v
    cursor, items = v
    return cursor, sorted(items)


scan_members = transform(_scan_members, "sscan page (members sorted)")


def picks(universe: list[str], n: int, *, distinct: bool, resp_set: bool = False):
    """SRANDMEMBER / SPOP with a count: n members of the set on both sides, pairwise
    distinct if `distinct`; a RESP3 set ('~') when resp_set, else an array."""
    members = {m.encode() for m in universe}

    def check_one(v: object) -> str | None:
        if not isinstance(v, list) or isinstance(v, Error):
            return f"not an array: {v!r}"
        if isinstance(v, RespSet) != resp_set:
            return f"wrong aggregate type {type(v).__name__}"
        if len(v) != n:
            return f"{len(v)} members, expected {n}"
        if distinct and len(set(v)) != len(v):
            return f"repeated members: {v!r}"
        strangers = [m for m in v if m not in members]
        return f"not members: {strangers!r}" if strangers else None

    def check(a: object, b: object) -> object:
        for side, v in (("pikad", a), ("redis", b)):
            why = check_one(v)
            if why:
                return f"{side}: {why}"
        return True

    return pairwise(check, f"random members (n={n}, distinct={distinct})")


def one_of(universe: list[str]):
    members = {m.encode() for m in universe}

    def check(a: object, b: object) -> object:
        return (a in members and b in members) or f"{a!r} / {b!r} not both members"

    return pairwise(check, "one member of the set")


# ---- SADD / SREM / membership ----


def test_sadd_srem_scard(diff):
    diff(
        [
            ["SADD", "s", "a", "b", "a"],
            ["SADD", "s", "b", "c"],
            ["SCARD", "s"],
            ["SCARD", "missing"],
            ["SREM", "s", "a", "a", "zz"],
            ["SREM", "missing", "a"],
            ["SCARD", "s"],
            ["SADD", "s", "", b"\x00\xff\r\n"],
            ["SISMEMBER", "s", ""],
            ["SISMEMBER", "s", b"\x00\xff\r\n"],
            ["SREM", "s", "b", "c", "", b"\x00\xff\r\n"],
            ["EXISTS", "s"],
            ["TYPE", "s"],
            ["SCARD", "s"],
            ["SADD", "big", "m" * 100_000],
            ["SISMEMBER", "big", "m" * 100_000],
        ]
    )


def test_membership(diff):
    diff(
        [
            ["SADD", "s", "1", "2", "x"],
            ["SISMEMBER", "s", "1"],
            ["SISMEMBER", "s", "3"],
            ["SISMEMBER", "missing", "1"],
            ["SMISMEMBER", "s", "1", "3", "x", "1"],
            ["SMISMEMBER", "missing", "1", "2"],
        ]
    )


def test_membership_resp3(diff):
    diff(
        [
            ["SADD", "s", "1", "x"],
            ["SISMEMBER", "s", "1"],
            ["SMISMEMBER", "s", "1", "y"],
            (["SMEMBERS", "s"], unordered_set),
            ["SMEMBERS", "missing"],
            ["SADD", "i", "3", "1", "2"],
            ["SMEMBERS", "i"],
        ],
        proto=3,
    )


def test_arity(diff):
    diff(
        [
            ["SADD", "s"],
            ["SREM", "s"],
            ["SCARD"],
            ["SCARD", "s", "x"],
            ["SISMEMBER", "s"],
            ["SMISMEMBER", "s"],
            ["SMEMBERS"],
            ["SRANDMEMBER"],
            ["SPOP"],
            ["SMOVE", "a", "b"],
            ["SINTER"],
            ["SUNION"],
            ["SDIFF"],
            ["SINTERSTORE", "d"],
            ["SUNIONSTORE", "d"],
            ["SDIFFSTORE", "d"],
            ["SINTERCARD", "1"],
            ["SSCAN", "s"],
        ]
    )


def test_smembers_intset_order_is_numeric(diff):
    diff(
        [
            ["SADD", "s", "10", "-5", "3", "9223372036854775807", LLONG_MIN, "0"],
            ["SMEMBERS", "s"],
            ["OBJECT", "ENCODING", "s"],
            ["SADD", "h", "b", "a", "c"],
            (["SMEMBERS", "h"], unordered),
            ["SMEMBERS", "missing"],
        ]
    )


# ---- wrong types and error precedence ----


def test_wrong_type(diff):
    diff(
        [
            ["SET", "str", "v"],
            ["SADD", "s", "1"],
            ["SADD", "str", "a"],
            ["SREM", "str", "a"],
            ["SCARD", "str"],
            ["SISMEMBER", "str", "a"],
            ["SMISMEMBER", "str", "a"],
            ["SMEMBERS", "str"],
            ["SRANDMEMBER", "str"],
            ["SRANDMEMBER", "str", "2"],
            ["SPOP", "str"],
            ["SPOP", "str", "0"],
            ["SPOP", "str", "2"],
            ["SMOVE", "str", "s", "1"],
            ["SMOVE", "s", "str", "1"],
            ["SMOVE", "missing", "str", "1"],
            ["SINTER", "missing", "str"],
            ["SINTER", "s", "missing", "str"],
            ["SUNION", "missing", "str"],
            ["SDIFF", "missing", "str"],
            ["SDIFF", "s", "str"],
            ["SINTERCARD", "2", "missing", "str"],
            ["SINTERSTORE", "d", "missing", "str"],
            ["SUNIONSTORE", "d", "s", "str"],
            ["SDIFFSTORE", "d", "missing", "str"],
            ["SSCAN", "str", "0"],
            ["SSCAN", "str", "0", "BADOPT"],
            ["GET", "s"],
            ["HSET", "s", "f", "v"],
            ["SET", "s", "string"],
            ["TYPE", "s"],
        ]
    )


def test_error_precedence(diff):
    diff(
        [
            ["SET", "str", "v"],
            ["SPOP", "str", "1", "2"],
            ["SPOP", "str", "-1"],
            ["SPOP", "str", "x"],
            ["SPOP", "missing", "x"],
            ["SRANDMEMBER", "str", "1", "2"],
            ["SRANDMEMBER", "str", "x"],
            ["SRANDMEMBER", "str", LLONG_MIN],
            ["SRANDMEMBER", "missing", LLONG_MIN],
            ["SSCAN", "str", "x"],
            ["SSCAN", "missing", "x"],
            ["SSCAN", "missing", "0", "BADOPT"],
            ["SINTERCARD", "1", "str", "BADOPT"],
            ["SINTERCARD", "x", "str"],
        ]
    )


# ---- SRANDMEMBER / SPOP ----


def test_srandmember_spop_edges(diff):
    diff(
        [
            ["SADD", "s", "a", "b", "c"],
            ["SRANDMEMBER", "missing"],
            ["SRANDMEMBER", "missing", "3"],
            ["SRANDMEMBER", "missing", "-3"],
            ["SRANDMEMBER", "s", "0"],
            ["SRANDMEMBER", "s", "1.5"],
            ["SRANDMEMBER", "s", LLONG_MIN],
            ["SPOP", "missing"],
            ["SPOP", "missing", "3"],
            ["SPOP", "s", "0"],
            ["SPOP", "s", "-1"],
            ["SPOP", "s", "1.5"],
            ["SPOP", "s", "1", "2"],
            ["SCARD", "s"],
            (["SPOP", "s", LLONG_MAX], unordered_set),
            ["EXISTS", "s"],
            ["SADD", "one", "x"],
            ["SPOP", "one"],
            ["EXISTS", "one"],
        ]
    )


def test_spop_resp3(diff):
    diff(
        [
            ["SADD", "s", "1", "2", "3"],
            ["SPOP", "missing", "2"],
            ["SPOP", "s", "0"],
            ["SPOP", "s", "3"],
            ["SADD", "one", "x"],
            ["SPOP", "one", "1"],
            ["SRANDMEMBER", "missing", "2"],
            ["SADD", "t", "x"],
            ["SRANDMEMBER", "t", "5"],
            ["SRANDMEMBER", "t", "-2"],
            ["SRANDMEMBER", "t"],
        ],
        proto=3,
    )


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("size", [4, 300])
def test_srandmember_counts(diff, proto, size):
    universe = [f"m{i}" for i in range(size)]
    diff(
        [
            ["SADD", "s", *universe],
            (["SRANDMEMBER", "s"], one_of(universe)),
            (["SRANDMEMBER", "s", "1"], picks(universe, 1, distinct=True)),
            (["SRANDMEMBER", "s", "3"], picks(universe, 3, distinct=True)),
            (["SRANDMEMBER", "s", str(size - 1)], picks(universe, size - 1, distinct=True)),
            (["SRANDMEMBER", "s", str(size)], picks(universe, size, distinct=True)),
            (["SRANDMEMBER", "s", str(size * 2)], picks(universe, size, distinct=True)),
            (["SRANDMEMBER", "s", "-1"], picks(universe, 1, distinct=False)),
            (["SRANDMEMBER", "s", str(-3 * size)], picks(universe, 3 * size, distinct=False)),
            ["SCARD", "s"],
        ],
        proto=proto,
    )


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("size,count", [(10, 3), (10, 9), (400, 20), (400, 390)])
def test_spop_counts_leave_the_rest(diff, proto, size, count):
    universe = [f"m{i}" for i in range(size)]
    results = diff(
        [
            ["SADD", "s", *universe],
            (["SPOP", "s", str(count)], picks(universe, count, distinct=True, resp_set=proto == 3)),
            ["SCARD", "s"],
            (["SMEMBERS", "s"], transform(len, "how many")),
            (["SPOP", "s"], one_of(universe)),
            ["SCARD", "s"],
        ],
        proto=proto,
    )
    from helpers.raw import parse

    for side in (0, 1):
        popped = set(parse(results[1][side].raw))
        left = set(parse(results[3][side].raw))
        last = parse(results[4][side].raw)
        assert not popped & left and len(popped | left) == size
        assert last in left


def test_spop_survivors_decide_the_encoding(diff):
    """SPOP leaving one member of seven: Redis moves it to a new set, intset if it is an
    integer. Which member survives is random, so each server is checked on its own."""
    from helpers.raw import parse

    for _ in range(6):
        results = diff(
            [
                ["SADD", "s", "1", "2", "3", "4", "5", "6", "a"],
                (["SPOP", "s", "6"], transform(len, "how many")),
                (["SMEMBERS", "s"], transform(len, "how many")),
                (["OBJECT", "ENCODING", "s"], transform(lambda v: v in (b"intset", b"hashtable"))),
            ]
        )
        for side in (0, 1):
            (survivor,) = parse(results[2][side].raw)
            encoding = parse(results[3][side].raw)
            assert encoding == (b"hashtable" if survivor == b"a" else b"intset"), side
    diff(
        [
            ["SADD", "t", "1", "2", "3", "4", "5", "6", "a"],
            ["SREM", "t", "a"],
            (["SPOP", "t", "1"], transform(len, "how many")),
            ["OBJECT", "ENCODING", "t"],  # popped in place: stays a hashtable
        ]
    )


# ---- SMOVE ----


def test_smove(diff):
    diff(
        [
            ["SADD", "src", "1", "a"],
            ["SMOVE", "src", "dst", "zz"],
            ["SMOVE", "src", "dst", "1"],
            ["SMEMBERS", "src"],
            ["SMEMBERS", "dst"],
            ["OBJECT", "ENCODING", "dst"],
            ["SMOVE", "src", "src", "a"],
            ["SMOVE", "src", "src", "zz"],
            ["SMOVE", "missing", "dst", "1"],
            ["SADD", "dst", "a"],
            ["SMOVE", "src", "dst", "a"],
            ["EXISTS", "src"],
            (["SMEMBERS", "dst"], unordered),
            ["OBJECT", "ENCODING", "dst"],
            ["SADD", "x", "b"],
            ["SMOVE", "x", "y", "b"],
            ["OBJECT", "ENCODING", "y"],
            ["SADD", "i", "5"],
            ["SADD", "j", "6"],
            ["SMOVE", "j", "i", "6"],
            ["SMEMBERS", "i"],
            ["OBJECT", "ENCODING", "i"],
        ]
    )


def test_smove_keeps_ttls(diff):
    diff(
        [
            ["SADD", "src", "1", "2"],
            ["SADD", "dst", "3"],
            ["EXPIRE", "src", "100"],
            ["EXPIRE", "dst", "200"],
            ["SMOVE", "src", "dst", "1"],
            ["TTL", "src"],
            ["TTL", "dst"],
        ]
    )


# ---- set algebra ----


def _algebra_data() -> list[list[str]]:
    return [
        ["SADD", "a", "1", "2", "3", "x", "y"],
        ["SADD", "b", "2", "3", "4", "y"],
        ["SADD", "c", "3", "y", "z"],
        ["SADD", "i1", "1", "2", "3"],
        ["SADD", "i2", "2", "3", "4"],
    ]


def test_sinter_sunion_sdiff(diff):
    diff(
        [
            *_algebra_data(),
            *[
                (cmd, unordered)
                for cmd in (
                    ["SINTER", "a"],
                    ["SINTER", "a", "b"],
                    ["SINTER", "a", "b", "c"],
                    ["SINTER", "a", "a"],
                    ["SINTER", "a", "missing"],
                    ["SINTER", "missing", "a"],
                    ["SINTER", "i1", "i2"],
                    ["SUNION", "a", "b"],
                    ["SUNION", "a", "missing", "c"],
                    ["SUNION", "missing"],
                    ["SUNION", "i1", "i2"],
                    ["SDIFF", "a", "b"],
                    ["SDIFF", "a", "b", "c"],
                    ["SDIFF", "a", "a"],
                    ["SDIFF", "a", "missing"],
                    ["SDIFF", "missing", "a"],
                    ["SDIFF", "i1", "i2"],
                )
            ],
        ]
    )


def test_set_algebra_resp3(diff):
    diff(
        [
            *_algebra_data(),
            (["SINTER", "a", "b"], unordered_set),
            (["SUNION", "a", "b"], unordered_set),
            (["SDIFF", "a", "b"], unordered_set),
            ["SINTER", "a", "missing"],
            ["SDIFF", "missing", "a"],
            ["SINTERCARD", "2", "a", "b"],
            ["SINTERSTORE", "d", "a", "b"],
        ],
        proto=3,
    )


def test_sintercard(diff):
    diff(
        [
            *_algebra_data(),
            ["SINTERCARD", "1", "a"],
            ["SINTERCARD", "2", "a", "b"],
            ["SINTERCARD", "3", "a", "b", "c"],
            ["SINTERCARD", "2", "a", "missing"],
            ["SINTERCARD", "2", "a", "b", "LIMIT", "0"],
            ["SINTERCARD", "2", "a", "b", "LIMIT", "1"],
            ["SINTERCARD", "2", "a", "b", "limit", "100"],
            ["SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "3"],
            ["SINTERCARD", "0", "a"],
            ["SINTERCARD", "-1", "a"],
            ["SINTERCARD", "x", "a"],
            ["SINTERCARD", "3", "a", "b"],
            ["SINTERCARD", "1", "a", "LIMIT"],
            ["SINTERCARD", "1", "a", "LIMIT", "-1"],
            ["SINTERCARD", "1", "a", "LIMIT", "x"],
            ["SINTERCARD", "1", "a", "FOO", "1"],
            ["SINTERCARD", "2", "a", "missing", "b"],
            ["SINTERCARD", "1", "missing"],
            ["SINTERCARD", LLONG_MAX, "a"],
        ]
    )


def test_store_commands(diff):
    diff(
        [
            *_algebra_data(),
            ["SINTERSTORE", "d", "a", "b"],
            (["SMEMBERS", "d"], unordered),
            ["OBJECT", "ENCODING", "d"],
            ["SINTERSTORE", "d", "a", "missing"],
            ["EXISTS", "d"],
            ["SUNIONSTORE", "d", "i1", "i2"],
            ["SMEMBERS", "d"],
            ["OBJECT", "ENCODING", "d"],
            ["SUNIONSTORE", "d", "a", "b"],
            ["SCARD", "d"],
            ["OBJECT", "ENCODING", "d"],
            ["SDIFFSTORE", "d", "a", "b"],
            (["SMEMBERS", "d"], unordered),
            ["SDIFFSTORE", "d", "i1", "i2"],
            ["SMEMBERS", "d"],
            ["OBJECT", "ENCODING", "d"],
            ["SDIFFSTORE", "d", "a", "a"],
            ["EXISTS", "d"],
            ["SUNIONSTORE", "d", "missing"],
            ["EXISTS", "d"],
            # Sources may be the destination.
            ["SUNIONSTORE", "a", "a", "c"],
            (["SMEMBERS", "a"], unordered),
            ["SINTERSTORE", "b", "b", "i2"],
            ["SMEMBERS", "b"],
            ["OBJECT", "ENCODING", "b"],
            ["SDIFFSTORE", "c", "c", "a"],
            ["EXISTS", "c"],
            ["DBSIZE"],
        ]
    )


def test_store_overwrites_any_type_and_drops_ttl(diff):
    diff(
        [
            ["SADD", "a", "1", "2"],
            ["SET", "str", "v"],
            ["EXPIRE", "str", "100"],
            ["SUNIONSTORE", "str", "a"],
            ["TYPE", "str"],
            ["TTL", "str"],
            ["HSET", "h", "f", "v"],
            ["SINTERSTORE", "h", "a", "a"],
            ["TYPE", "h"],
            ["SET", "e", "v"],
            ["SDIFFSTORE", "e", "a", "a"],
            ["EXISTS", "e"],
            ["SADD", "t", "x"],
            ["EXPIRE", "t", "100"],
            ["SUNIONSTORE", "t", "t", "a"],
            ["TTL", "t"],
            (["SMEMBERS", "t"], unordered),
        ]
    )


def test_big_set_algebra(diff):
    evens = [str(i) for i in range(0, 3000, 2)]
    threes = [str(i) for i in range(0, 3000, 3)]
    words = [f"w{i}" for i in range(0, 300)]
    diff(
        [
            ["SADD", "evens", *evens],
            ["SADD", "threes", *threes],
            ["SADD", "words", *words, "6", "12"],
            ["SINTERCARD", "2", "evens", "threes"],
            ["SINTERCARD", "2", "evens", "threes", "LIMIT", "77"],
            (["SINTER", "evens", "threes", "words"], unordered),
            ["SINTERSTORE", "d", "evens", "threes"],
            ["SCARD", "d"],
            ["OBJECT", "ENCODING", "d"],
            ["SUNIONSTORE", "d", "evens", "threes"],
            ["SCARD", "d"],
            ["SDIFFSTORE", "d", "evens", "threes", "words"],
            ["SCARD", "d"],
            ["SDIFFSTORE", "d", "words", "evens"],
            ["SCARD", "d"],
            (["SDIFF", "words", "evens", "threes"], unordered),
        ]
    )


# ---- OBJECT ENCODING ----


def test_encodings(diff):
    ints = [str(i) for i in range(512)]
    diff(
        [
            ["SADD", "i", *ints],
            ["OBJECT", "ENCODING", "i"],
            ["SADD", "i", "512"],
            ["OBJECT", "ENCODING", "i"],
            ["SREM", "i", "512", "0", "1"],
            ["OBJECT", "ENCODING", "i"],
            ["SADD", "h", "a"],
            ["OBJECT", "ENCODING", "h"],
            ["SREM", "h", "a"],
            ["SADD", "h", "1"],
            ["OBJECT", "ENCODING", "h"],  # a new set: intset
            ["SADD", "m", "1", "a"],
            ["SREM", "m", "a"],
            ["OBJECT", "ENCODING", "m"],
            ["SMEMBERS", "m"],
            *[
                x
                for n, m in enumerate(
                    ["01", "-0", "+1", " 1", "1.0", "9223372036854775808", LLONG_MIN]
                )
                for x in (["SADD", f"n{n}", m], ["OBJECT", "ENCODING", f"n{n}"])
            ],
        ]
    )


def test_encoding_limit_follows_config_set(diff):
    try:
        diff(
            [
                ["CONFIG", "SET", "set-max-intset-entries", "3"],
                ["SADD", "s", "1", "2", "3"],
                ["OBJECT", "ENCODING", "s"],
                ["SADD", "s", "4"],
                ["OBJECT", "ENCODING", "s"],
                ["SUNIONSTORE", "d", "s"],
                ["OBJECT", "ENCODING", "d"],
            ]
        )
    finally:
        diff([["CONFIG", "SET", "set-max-intset-entries", "512"]])


def test_encoding_survives_rename_copy(diff):
    diff(
        [
            ["SADD", "s", "1", "x"],
            ["SREM", "s", "x"],
            ["RENAME", "s", "r"],
            ["OBJECT", "ENCODING", "r"],
            ["COPY", "r", "c"],
            ["OBJECT", "ENCODING", "c"],
            ["SMEMBERS", "c"],
        ]
    )


# ---- TTL / keyspace ----


def test_ttl_and_expiry(diff):
    diff(
        [
            ["SADD", "s", "a", "b"],
            ["EXPIRE", "s", "100"],
            ["SADD", "s", "c"],
            ["SREM", "s", "a"],
            ["TTL", "s"],
            ["SREM", "s", "b", "c"],
            ["TTL", "s"],
            ["SADD", "e", "1"],
            ["PEXPIRE", "e", "5"],
            ["DEBUG", "SLEEP", "0.02"],
            ["SISMEMBER", "e", "1"],
            ["SCARD", "e"],
            ["SMEMBERS", "e"],
            ["SADD", "e", "2"],
            ["SMEMBERS", "e"],
            ["TTL", "e"],
        ]
    )


def test_deleted_big_set_leaves_nothing_behind(diff):
    members = [f"m{i}" for i in range(400)]
    diff(
        [
            ["SADD", "s", *members],
            ["DEL", "s"],
            ["SADD", "s", "new"],
            ["SMEMBERS", "s"],
            ["SISMEMBER", "s", "m1"],
            ["SADD", "s", *members],
            ["SREM", "s", "new", *members],
            ["EXISTS", "s"],
        ]
    )


# ---- SSCAN ----


def test_sscan_errors(diff):
    diff(
        [
            ["SADD", "s", "a"],
            ["SSCAN", "s", "x"],
            ["SSCAN", "s", "0", "COUNT"],
            ["SSCAN", "s", "0", "COUNT", "0"],
            ["SSCAN", "s", "0", "COUNT", "x"],
            ["SSCAN", "s", "0", "MATCH"],
            ["SSCAN", "s", "0", "TYPE", "set"],
            ["SSCAN", "s", "0", "FOO", "bar"],
            ["SSCAN", "missing", "0"],
            ["SSCAN", "missing", "0", "FOO"],
        ]
    )


def test_sscan_intset_is_one_ordered_page(diff):
    diff(
        [
            ["SADD", "s", "30", "-2", "100", "7"],
            ["SSCAN", "s", "0"],
            ["SSCAN", "s", "0", "COUNT", "1"],
            ["SSCAN", "s", "99", "COUNT", "1"],
            ["SSCAN", "s", "0", "MATCH", "1*"],
            ["SSCAN", "s", "0", "MATCH", "*"],
            ["SADD", "h", "a", "b"],
            (["SSCAN", "h", "0"], scan_members),
        ]
    )
    diff([["SADD", "s", "2", "1"], ["SSCAN", "s", "0"]], proto=3)


def _full_sscan(conn, key: str, *options: str) -> tuple[list[bytes], int]:
    from helpers.raw import parse

    cursor, members, calls = b"0", [], 0
    while True:
        conn.send(["SSCAN", key, cursor, *options])
        reply = parse(conn.read_reply())
        assert isinstance(reply, list), reply
        cursor, items = reply
        members += items
        calls += 1
        if cursor == b"0":
            return members, calls
        assert calls < 100_000


@pytest.mark.parametrize("count", ["1", "10", "1000"])
def test_sscan_hashtable_full_iterations(diff, count):
    diff([["SADD", "s", *[f"member:{i}" for i in range(500)], "zzz"]])
    left, right = diff.conns()
    for options in (["COUNT", count], ["COUNT", count, "MATCH", "member:2*"], ["MATCH", "z*"]):
        lm, lcalls = _full_sscan(left, "s", *options)
        rm, _ = _full_sscan(right, "s", *options)
        assert len(lm) == len(set(lm)), "pikad returned a member twice"
        assert sorted(set(lm)) == sorted(set(rm))
        if options == ["COUNT", count] and count != "1000":
            assert lcalls > 1
