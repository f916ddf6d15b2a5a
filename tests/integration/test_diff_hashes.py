"""Hash commands, pikad against redis-server.

HSET HSETNX HGET HMGET HMSET HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL HINCRBY
HINCRBYFLOAT HRANDFIELD HSCAN, with their errors and the order in which errors win, TTL
bookkeeping, RESP3 shapes and OBJECT ENCODING (listpack / hashtable, conversions that
never go back, CONFIG SET of the limits).

Replies are compared byte for byte, except where Redis's order is its own: a listpack keeps
insertion order and pikad keeps fields in byte order, so whole-hash replies are compared
as sorted pairs / sorted arrays. Random replies (HRANDFIELD) are judged by their shape and
by the rules a client may count on: how many, distinct or not, and every field (and value)
really in the hash.
"""

from __future__ import annotations

import pytest

from helpers.raw import RespMap
from integration.diff import (
    Error,
    pairwise,
    transform,
    unordered,
    unordered_pairs,
)

LLONG_MAX = str((1 << 63) - 1)
LLONG_MIN = str(-(1 << 63))
LONG = "x" * 65  # one byte over hash-max-listpack-value


# ---- normalizers ----


def _scan_pairs(v: object) -> object:
    """An HSCAN reply [cursor, [field, value, ...]]: cursor as is, pairs sorted."""
    if isinstance(v, Error) or not isinstance(v, list):
        return v
    cursor, items = v
    return cursor, sorted(zip(items[::2], items[1::2], strict=True))


scan_pairs = transform(_scan_pairs, "hscan page (pairs sorted)")


def _as_pairs(v: object, withvalues: bool, resp3: bool) -> list[tuple[bytes, bytes | None]]:
    if not withvalues:
        return [(f, None) for f in v]  # type: ignore[union-attr]
    if resp3:
        assert all(isinstance(p, list) and len(p) == 2 for p in v), v  # type: ignore[union-attr]
        return [(p[0], p[1]) for p in v]  # type: ignore[union-attr]
    assert len(v) % 2 == 0, v  # type: ignore[arg-type]
    return list(zip(v[::2], v[1::2], strict=True))  # type: ignore[index]


def picks(
    universe: dict[str, str],
    n: int,
    *,
    distinct: bool,
    withvalues: bool = False,
    resp3: bool = False,
):
    """HRANDFIELD with a count: both replies arrays of n picks (n pairs WITHVALUES), from
    the hash, pairwise distinct if `distinct`; the same RESP framing on both sides."""
    fields = {k.encode(): v.encode() for k, v in universe.items()}

    def check_one(v: object) -> str | None:
        if not isinstance(v, list) or isinstance(v, Error):
            return f"not an array: {v!r}"
        pairs = _as_pairs(v, withvalues, resp3)
        if len(pairs) != n:
            return f"{len(pairs)} picks, expected {n}"
        if distinct and len({f for f, _ in pairs}) != len(pairs):
            return f"repeated picks: {v!r}"
        for f, val in pairs:
            if f not in fields or (withvalues and fields[f] != val):
                return f"{f!r}={val!r} is not in the hash"
        return None

    def check(a: object, b: object) -> object:
        for side, v in (("pikad", a), ("redis", b)):
            why = check_one(v)
            if why:
                return f"{side}: {why}"
        return True

    return pairwise(check, f"random picks (n={n}, distinct={distinct})")


def one_of(universe: dict[str, str]):
    """HRANDFIELD without a count: a bulk string naming a field, on both sides."""
    fields = {k.encode() for k in universe}

    def check(a: object, b: object) -> object:
        return (a in fields and b in fields) or f"{a!r} / {b!r} not both fields of the hash"

    return pairwise(check, "one field of the hash")


# ---- HSET / HGET family ----


def test_hset_hget_basics(diff):
    diff(
        [
            ["HSET", "h", "f", "v"],
            ["HGET", "h", "f"],
            ["HSET", "h", "f", "w", "g", "x"],
            ["HGET", "h", "f"],
            ["HGET", "h", "missing"],
            ["HGET", "missing", "f"],
            ["HSET", "h", "", ""],
            ["HGET", "h", ""],
            ["HSET", "h", b"\x00\xff\r\n", b"bin\x00ary"],
            ["HGET", "h", b"\x00\xff\r\n"],
            ["HSET", "h", "dup", "1", "dup", "2", "dup", "3"],
            ["HGET", "h", "dup"],
            ["HLEN", "h"],
            ["HLEN", "missing"],
            ["HSET", "big", "f", "v" * 100_000],
            ["HSTRLEN", "big", "f"],
            ["TYPE", "h"],
            ["hset", "lower", "f", "v"],
            ["HgEt", "lower", "f"],
        ]
    )


def test_hset_arity(diff):
    diff(
        [
            ["HSET", "h"],
            ["HSET", "h", "f"],
            ["HSET", "h", "f", "v", "g"],
            ["HMSET", "h", "f", "v", "g"],
            ["HMSET", "h", "f"],
            ["EXISTS", "h"],
            ["HSETNX", "h", "f"],
            ["HSETNX", "h", "f", "v", "x"],
            ["HGET", "h"],
            ["HGET", "h", "f", "g"],
            ["HMGET", "h"],
            ["HDEL", "h"],
            ["HLEN"],
            ["HLEN", "h", "x"],
            ["HSTRLEN", "h"],
            ["HEXISTS", "h"],
            ["HKEYS"],
            ["HVALS", "h", "x"],
            ["HGETALL"],
            ["HINCRBY", "h", "f"],
            ["HINCRBYFLOAT", "h", "f", "1", "2"],
            ["HRANDFIELD"],
            ["HSCAN", "h"],
        ]
    )


def test_hmset_hmget(diff):
    diff(
        [
            ["HMSET", "h", "a", "1", "b", "2"],
            ["HMGET", "h", "a", "b", "c", "a"],
            ["HMGET", "missing", "a", "b"],
            ["HMSET", "h", "a", "x"],
            ["HMGET", "h", "a"],
            ["HLEN", "h"],
        ]
    )


def test_hsetnx(diff):
    diff(
        [
            ["HSETNX", "h", "f", "1"],
            ["HSETNX", "h", "f", "2"],
            ["HGET", "h", "f"],
            ["HSETNX", "h", "g", "3"],
            ["HLEN", "h"],
        ]
    )


def test_hdel_hexists_hstrlen(diff):
    diff(
        [
            ["HSET", "h", "a", "1", "b", "22", "c", "333"],
            ["HEXISTS", "h", "a"],
            ["HEXISTS", "h", "z"],
            ["HEXISTS", "missing", "a"],
            ["HSTRLEN", "h", "c"],
            ["HSTRLEN", "h", "z"],
            ["HSTRLEN", "missing", "a"],
            ["HDEL", "h", "a", "a", "z"],
            ["HDEL", "h", "z"],
            ["HDEL", "missing", "a"],
            ["HLEN", "h"],
            ["HDEL", "h", "b", "c"],
            ["EXISTS", "h"],
            ["TYPE", "h"],
            ["HLEN", "h"],
            ["HGETALL", "h"],
        ]
    )


def test_deleted_hash_leaves_nothing_behind(diff):
    """A hash past the purge limit is deleted with one meta write; a new hash of the same
    name must not see its old fields."""
    fields = [x for i in range(300) for x in (f"f{i}", f"v{i}")]
    diff(
        [
            ["HSET", "h", *fields],
            ["HLEN", "h"],
            ["DEL", "h"],
            ["HSET", "h", "f1", "new"],
            ["HLEN", "h"],
            ["HGET", "h", "f2"],
            ["HGETALL", "h"],
            ["HSET", "h", *fields],
            ["HDEL", "h", *[f"f{i}" for i in range(300)]],
            ["EXISTS", "h"],
            ["HSET", "h", "x", "y"],
            (["HKEYS", "h"], unordered),
        ]
    )


# ---- whole-hash reads ----


def test_hgetall_hkeys_hvals(diff):
    diff(
        [
            ["HSET", "h", "b", "2", "a", "1", "c", "3", "", "empty"],
            (["HGETALL", "h"], unordered_pairs),
            (["HKEYS", "h"], unordered),
            (["HVALS", "h"], unordered),
            ["HGETALL", "missing"],
            ["HKEYS", "missing"],
            ["HVALS", "missing"],
        ]
    )


def test_whole_hash_reads_resp3(diff):
    diff(
        [
            ["HSET", "h", "b", "2", "a", "1"],
            (["HGETALL", "h"], unordered_pairs),
            ["HGETALL", "missing"],
            (["HKEYS", "h"], unordered),
            (["HVALS", "h"], unordered),
            ["HMGET", "h", "a", "zz"],
            ["HGET", "h", "zz"],
            ["HEXISTS", "h", "a"],
        ],
        proto=3,
    )


def _ordered_map(v: object) -> object:
    """Check the RESP3 reply is a map, then compare its pairs sorted."""
    if isinstance(v, RespMap):
        return ("map", sorted(v))
    return v


def test_hgetall_is_a_map_in_resp3(diff):
    diff(
        [["HSET", "h", "x", "1", "y", "2"], (["HGETALL", "h"], transform(_ordered_map))],
        proto=3,
    )


# ---- wrong types ----


def test_wrong_type(diff):
    diff(
        [
            ["SET", "s", "v"],
            ["HSET", "s", "f", "v"],
            ["HMSET", "s", "f", "v"],
            ["HSETNX", "s", "f", "v"],
            ["HGET", "s", "f"],
            ["HMGET", "s", "f"],
            ["HDEL", "s", "f"],
            ["HLEN", "s"],
            ["HSTRLEN", "s", "f"],
            ["HEXISTS", "s", "f"],
            ["HKEYS", "s"],
            ["HVALS", "s"],
            ["HGETALL", "s"],
            ["HINCRBY", "s", "f", "1"],
            ["HINCRBYFLOAT", "s", "f", "1"],
            ["HRANDFIELD", "s"],
            ["HRANDFIELD", "s", "0"],
            ["HRANDFIELD", "s", "2", "WITHVALUES"],
            ["HSCAN", "s", "0"],
            ["HSCAN", "s", "0", "BADOPT"],
            ["HSET", "h", "f", "v"],
            ["GET", "h"],
            ["INCR", "h"],
            ["APPEND", "h", "x"],
            ["SADD", "h", "m"],
            ["SET", "h", "now a string"],
            ["GET", "h"],
        ]
    )


def test_error_precedence(diff):
    """Odd argument counts beat the type check; numeric arguments are parsed before the key
    is looked at; a missing key answers before HSCAN's options are parsed."""
    diff(
        [
            ["SET", "s", "v"],
            ["HSET", "s", "f", "v", "g"],
            ["HINCRBY", "s", "f", "notanumber"],
            ["HINCRBYFLOAT", "s", "f", "notanumber"],
            ["HRANDFIELD", "s", "notanumber"],
            ["HRANDFIELD", "s", "1", "BAD"],
            ["HSCAN", "s", "notacursor"],
            ["HSCAN", "missing", "notacursor"],
            ["HSCAN", "missing", "0", "BADOPT"],
            ["HSCAN", "missing", "0", "COUNT", "0"],
            ["HRANDFIELD", "missing", "x"],
            ["HRANDFIELD", "missing", "1", "BAD"],
        ]
    )


# ---- HINCRBY / HINCRBYFLOAT ----


def test_hincrby(diff):
    diff(
        [
            ["HINCRBY", "h", "n", "5"],
            ["HINCRBY", "h", "n", "-7"],
            ["HGET", "h", "n"],
            ["HINCRBY", "h", "n", "0"],
            ["HINCRBY", "h", "n", "x"],
            ["HINCRBY", "h", "n", "1.5"],
            ["HINCRBY", "h", "n", " 1"],
            ["HINCRBY", "h", "n", LLONG_MAX],
            ["HINCRBY", "h", "n", "9223372036854775808"],
            ["HSET", "h", "big", LLONG_MAX, "small", LLONG_MIN],
            ["HINCRBY", "h", "big", "1"],
            ["HINCRBY", "h", "small", "-1"],
            ["HINCRBY", "h", "big", LLONG_MIN],
            ["HGET", "h", "big"],
            ["HSET", "h", "s", "abc", "sp", " 1", "lead", "01", "neg0", "-0", "e", ""],
            ["HINCRBY", "h", "s", "1"],
            ["HINCRBY", "h", "sp", "1"],
            ["HINCRBY", "h", "lead", "1"],
            ["HINCRBY", "h", "neg0", "1"],
            ["HINCRBY", "h", "e", "1"],
            ["HSET", "h", "float", "1.5"],
            ["HINCRBY", "h", "float", "1"],
            ["HLEN", "h"],
        ]
    )


def test_hincrbyfloat(diff):
    diff(
        [
            ["HINCRBYFLOAT", "h", "f", "1.5"],
            ["HINCRBYFLOAT", "h", "f", "0.1"],
            ["HINCRBYFLOAT", "h", "f", "-1.6"],
            ["HGET", "h", "f"],
            ["HINCRBYFLOAT", "h", "f", "1e10"],
            ["HINCRBYFLOAT", "h", "f", "-1e10"],
            ["HINCRBYFLOAT", "h", "g", "5"],
            ["HINCRBYFLOAT", "h", "g", "5.0e3"],
            ["HINCRBYFLOAT", "h", "g", "0x10"],
            ["HINCRBYFLOAT", "h", "g", "x"],
            ["HINCRBYFLOAT", "h", "g", ""],
            ["HINCRBYFLOAT", "h", "g", " 1"],
            ["HINCRBYFLOAT", "h", "g", "inf"],
            ["HINCRBYFLOAT", "h", "g", "-inf"],
            ["HINCRBYFLOAT", "h", "g", "nan"],
            ["HINCRBYFLOAT", "h", "g", "1e5000"],
            ["HSET", "h", "s", "abc", "i", "7", "big", "1e308", "sp", "1 "],
            ["HINCRBYFLOAT", "h", "s", "1"],
            ["HINCRBYFLOAT", "h", "sp", "1"],
            ["HINCRBYFLOAT", "h", "i", "0.5"],
            ["HINCRBYFLOAT", "h", "big", "1e308"],
            ["HINCRBYFLOAT", "h", "big", "1.18973149535723176502e+4932"],
            ["HGET", "h", "big"],
            ["HINCRBYFLOAT", "h", "z", "-0"],
            ["HINCRBYFLOAT", "h", "z", "0.0000000000000000001"],
            ["HINCRBYFLOAT", "h", "z", "-0.0000000000000000001"],
            ["HLEN", "h"],
        ]
    )


def test_counters_resp3(diff):
    diff(
        [["HINCRBY", "h", "n", "2"], ["HINCRBYFLOAT", "h", "f", "2.5"], ["HGET", "h", "f"]],
        proto=3,
    )


# ---- OBJECT ENCODING ----


def test_encoding_by_value_length(diff):
    diff(
        [
            ["HSET", "h", "f", "x" * 64],
            ["OBJECT", "ENCODING", "h"],
            ["HSET", "h", "f", LONG],
            ["OBJECT", "ENCODING", "h"],
            ["HSET", "h", "f", "short"],
            ["OBJECT", "ENCODING", "h"],  # never back to listpack
            ["HSET", "k", LONG, "v"],
            ["OBJECT", "ENCODING", "k"],
            ["HSET", "d", "a", "1", "b", LONG],
            ["HDEL", "d", "b"],
            ["OBJECT", "ENCODING", "d"],
            ["HDEL", "d", "a"],
            ["HSET", "d", "a", "1"],
            ["OBJECT", "ENCODING", "d"],  # a new hash starts over
            ["HMSET", "m", "f", LONG, "f", "1"],
            ["OBJECT", "ENCODING", "m"],
            ["HGET", "m", "f"],
        ]
    )


def test_encoding_of_hsetnx_and_counters(diff):
    diff(
        [
            ["HSETNX", "a", "f", LONG],
            ["OBJECT", "ENCODING", "a"],
            ["HSETNX", "b", "f", "1"],
            ["HSETNX", "b", "f", LONG],  # not written: no conversion
            ["OBJECT", "ENCODING", "b"],
            ["HINCRBY", "c", "f" * 65, "1"],
            ["OBJECT", "ENCODING", "c"],
            ["HSET", "d", "f", "1"],
            ["HINCRBYFLOAT", "d", "f", "1" * 70],
            ["OBJECT", "ENCODING", "d"],
            ["HSET", "e", "f", "1"],
            ["HINCRBYFLOAT", "e", "f", "1.5"],
            ["OBJECT", "ENCODING", "e"],
        ]
    )


def test_encoding_by_entries(diff):
    fields = [x for i in range(512) for x in (f"f{i}", "v")]
    diff(
        [
            ["HSET", "h", *fields],
            ["OBJECT", "ENCODING", "h"],
            ["HSET", "h", "f0", "again"],
            ["OBJECT", "ENCODING", "h"],
            ["HSET", "h", "one-more", "v"],
            ["OBJECT", "ENCODING", "h"],
            ["HDEL", "h", "one-more", "f1", "f2"],
            ["OBJECT", "ENCODING", "h"],
            ["HLEN", "h"],
            ["HSET", "g", *fields, "x", "y"],
            ["OBJECT", "ENCODING", "g"],
        ]
    )


def test_encoding_limits_follow_config_set(diff):
    try:
        diff(
            [
                ["CONFIG", "SET", "hash-max-listpack-entries", "2"],
                ["CONFIG", "SET", "hash-max-listpack-value", "3"],
                ["HSET", "h", "a", "1", "b", "2"],
                ["OBJECT", "ENCODING", "h"],
                ["HSET", "h", "c", "3"],
                ["OBJECT", "ENCODING", "h"],
                ["HSET", "v", "a", "1234"],
                ["OBJECT", "ENCODING", "v"],
                ["HSET", "w", "abc", "123"],
                ["OBJECT", "ENCODING", "w"],
                ["CONFIG", "SET", "hash-max-ziplist-entries", "1"],
                ["HSET", "x", "a", "1"],
                ["OBJECT", "ENCODING", "x"],
                ["HSET", "x", "a", "2"],  # an update converts too once over the limit
                ["OBJECT", "ENCODING", "x"],
            ]
        )
    finally:
        diff(
            [
                ["CONFIG", "SET", "hash-max-listpack-entries", "512"],
                ["CONFIG", "SET", "hash-max-listpack-value", "64"],
            ]
        )


def test_encoding_survives_rename_and_copy(diff):
    diff(
        [
            ["HSET", "h", "f", LONG],
            ["HSET", "h", "f", "1"],
            ["RENAME", "h", "h2"],
            ["OBJECT", "ENCODING", "h2"],
            ["COPY", "h2", "h3"],
            ["OBJECT", "ENCODING", "h3"],
            ["HGETALL", "h3"],
            ["HSET", "l", "f", "1"],
            ["COPY", "l", "l2"],
            ["OBJECT", "ENCODING", "l2"],
        ]
    )


# ---- TTL and keyspace interplay ----


def test_ttl_kept_by_field_writes(diff):
    diff(
        [
            ["HSET", "h", "a", "1", "b", "2"],
            ["EXPIRE", "h", "100"],
            ["HSET", "h", "c", "3"],
            ["HDEL", "h", "a"],
            ["HINCRBY", "h", "n", "1"],
            ["HINCRBYFLOAT", "h", "f", "1.5"],
            ["HSETNX", "h", "z", "1"],
            ["TTL", "h"],
            ["HDEL", "h", "b", "c", "n", "f", "z"],
            ["TTL", "h"],
            ["HSET", "h", "a", "1"],
            ["TTL", "h"],
        ]
    )


def test_expired_hash_is_gone(diff):
    diff(
        [
            ["HSET", "h", "a", "1"],
            ["PEXPIRE", "h", "5"],
            ["DEBUG", "SLEEP", "0.02"],
            ["HGET", "h", "a"],
            ["HLEN", "h"],
            ["HEXISTS", "h", "a"],
            ["EXISTS", "h"],
            ["HSET", "h", "b", "2"],
            ["HGETALL", "h"],
            ["TTL", "h"],
        ]
    )


def test_rename_copy_move_del(diff):
    diff(
        [
            ["HSET", "h", "a", "1", "b", "2"],
            ["RENAME", "h", "r"],
            ["HGETALL", "h"],
            (["HGETALL", "r"], unordered_pairs),
            ["COPY", "r", "c"],
            ["HSET", "c", "a", "changed"],
            ["HGET", "r", "a"],
            ["HGET", "c", "a"],
            ["MOVE", "c", "1"],
            ["EXISTS", "c"],
            ["SELECT", "1"],
            ["HGET", "c", "a"],
            ["SELECT", "0"],
            ["SET", "r", "string now"],
            ["TYPE", "r"],
            ["HGET", "r", "a"],
            ["HSET", "x", "f", "v"],
            ["DEL", "x"],
            ["HGET", "x", "f"],
            ["DBSIZE"],
        ]
    )


# ---- HRANDFIELD ----


def test_hrandfield_errors_and_empty(diff):
    diff(
        [
            ["HSET", "h", "a", "1", "b", "2", "c", "3"],
            ["HRANDFIELD", "h", "x"],
            ["HRANDFIELD", "h", "1.5"],
            ["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
            ["HRANDFIELD", "h", "1", "WITHVALUE"],
            ["HRANDFIELD", "h", LLONG_MIN],
            ["HRANDFIELD", "h", LLONG_MAX, "WITHVALUES"],
            ["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
            ["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
            ["HRANDFIELD", "h", "0"],
            ["HRANDFIELD", "h", "0", "WITHVALUES"],
            ["HRANDFIELD", "missing"],
            ["HRANDFIELD", "missing", "5"],
            ["HRANDFIELD", "missing", "-5", "WITHVALUES"],
        ]
    )


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("size", [3, 200])
def test_hrandfield_counts(diff, proto, size):
    universe = {f"f{i}": f"v{i}" for i in range(size)}
    r3 = proto == 3
    setup = ["HSET", "h", *[x for kv in universe.items() for x in kv]]
    diff(
        [
            setup,
            (["HRANDFIELD", "h"], one_of(universe)),
            (["HRANDFIELD", "h", "1"], picks(universe, 1, distinct=True)),
            (["HRANDFIELD", "h", "2"], picks(universe, 2, distinct=True)),
            (["HRANDFIELD", "h", str(size)], picks(universe, size, distinct=True)),
            (["HRANDFIELD", "h", str(size + 7)], picks(universe, size, distinct=True)),
            (["HRANDFIELD", "h", "-1"], picks(universe, 1, distinct=False)),
            (["HRANDFIELD", "h", "-10"], picks(universe, 10, distinct=False)),
            (["HRANDFIELD", "h", str(-3 * size)], picks(universe, 3 * size, distinct=False)),
            (
                ["HRANDFIELD", "h", "2", "WITHVALUES"],
                picks(universe, 2, distinct=True, withvalues=True, resp3=r3),
            ),
            (
                ["HRANDFIELD", "h", str(size + 1), "withvalues"],
                picks(universe, size, distinct=True, withvalues=True, resp3=r3),
            ),
            (
                ["HRANDFIELD", "h", "-5", "WITHVALUES"],
                picks(universe, 5, distinct=False, withvalues=True, resp3=r3),
            ),
            (
                ["HRANDFIELD", "h", str(-2 * size), "WITHVALUES"],
                picks(universe, 2 * size, distinct=False, withvalues=True, resp3=r3),
            ),
        ],
        proto=proto,
    )


def test_hrandfield_whole_hash_is_every_field(diff):
    """A count >= HLEN returns the whole hash: the same set of pairs on both servers."""
    diff(
        [
            ["HSET", "h", "a", "1", "b", "2", "c", "3"],
            (["HRANDFIELD", "h", "3"], unordered),
            (["HRANDFIELD", "h", "100", "WITHVALUES"], unordered_pairs),
        ]
    )


def test_hrandfield_resp3_pairs_shape(diff):
    diff(
        [
            ["HSET", "h", "a", "1"],
            ["HRANDFIELD", "h", "1", "WITHVALUES"],
            ["HRANDFIELD", "h", "-3", "WITHVALUES"],
            ["HRANDFIELD", "h", "-2"],
            ["HRANDFIELD", "h"],
        ],
        proto=3,
    )


# ---- HSCAN ----


def test_hscan_errors(diff):
    diff(
        [
            ["HSET", "h", "a", "1"],
            ["HSCAN", "h", "x"],
            ["HSCAN", "h", "-1"],
            ["HSCAN", "h", "18446744073709551616"],
            ["HSCAN", "h", "0", "COUNT"],
            ["HSCAN", "h", "0", "COUNT", "0"],
            ["HSCAN", "h", "0", "COUNT", "-1"],
            ["HSCAN", "h", "0", "COUNT", "x"],
            ["HSCAN", "h", "0", "MATCH"],
            ["HSCAN", "h", "0", "TYPE", "hash"],
            ["HSCAN", "h", "0", "NOVALUES"],
            ["HSCAN", "h", "0", "FOO", "bar"],
            ["HSCAN", "missing", "0"],
            ["HSCAN", "missing", "123", "MATCH", "*"],
        ]
    )


def test_hscan_listpack_is_one_page(diff):
    """A listpack hash comes whole with cursor 0, whatever the cursor and COUNT."""
    diff(
        [
            ["HSET", "h", "a", "1", "b", "2", "ab", "3", "", "4"],
            (["HSCAN", "h", "0"], scan_pairs),
            (["HSCAN", "h", "0", "COUNT", "1"], scan_pairs),
            (["HSCAN", "h", "77", "COUNT", "1"], scan_pairs),
            (["HSCAN", "h", "0", "MATCH", "a*"], scan_pairs),
            (["HSCAN", "h", "0", "MATCH", "*", "COUNT", "2", "MATCH", "b"], scan_pairs),
            (["HSCAN", "h", "0", "match", "z*"], scan_pairs),
            (["HSCAN", "h", "0", "MATCH", "*"], scan_pairs),
        ]
    )


def test_hscan_resp3(diff):
    diff(
        [["HSET", "h", "a", "1", "b", "2"], (["HSCAN", "h", "0"], scan_pairs)],
        proto=3,
    )


def _full_hscan(conn, key: str, *options: str) -> tuple[list[tuple[bytes, bytes]], int]:
    from helpers.raw import parse

    cursor, pairs, calls = b"0", [], 0
    while True:
        conn.send(["HSCAN", key, cursor, *options])
        reply = parse(conn.read_reply())
        assert isinstance(reply, list), reply
        cursor, items = reply
        pairs += list(zip(items[::2], items[1::2], strict=True))
        calls += 1
        if cursor == b"0":
            return pairs, calls
        assert calls < 100_000


@pytest.mark.parametrize("count", ["1", "7", "100", "1000"])
def test_hscan_hashtable_full_iterations(diff, count):
    fields = [x for i in range(600) for x in (f"field:{i}", f"{i}")]
    diff([["HSET", "h", *fields], ["HSET", "h", "other", "x"], ["OBJECT", "ENCODING", "h"]])
    left, right = diff.conns()
    for options in (["COUNT", count], ["COUNT", count, "MATCH", "field:1*"], ["MATCH", "o*"]):
        lp, lcalls = _full_hscan(left, "h", *options)
        rp, _ = _full_hscan(right, "h", *options)
        assert len(lp) == len({f for f, _ in lp}), "pikad returned a field twice"
        assert sorted(set(lp)) == sorted(set(rp))
        if options == ["COUNT", count] and count in ("1", "7"):
            assert lcalls > 1


def test_hscan_survives_writes_between_calls(diff):
    from helpers.raw import parse

    diff([["HSET", "h", *[x for i in range(300) for x in (f"stable:{i:03d}", "v")]]])
    left, _ = diff.conns()
    cursor, seen, step = b"0", [], 0
    while True:
        left.send(["HSCAN", "h", cursor, "COUNT", "9"])
        cursor, items = parse(left.read_reply())
        seen += items[::2]
        step += 1
        left.send(["HSET", "h", f"aaa:{step}", "v", f"zzz:{step}", "v"])
        left.read_reply()
        left.send(["HDEL", "h", f"zzz:{step - 1}"])
        left.read_reply()
        if cursor == b"0":
            break
    stable = sorted(f for f in seen if f.startswith(b"stable:"))
    assert stable == [f"stable:{i:03d}".encode() for i in range(300)]
    assert len(seen) == len(set(seen))


@pytest.mark.pikad_only
def test_hscan_cursor_of_another_command_ends_iteration(diff):
    """pikad keeps resume positions server-side; a cursor it never handed out for an
    element scan (a SCAN cursor, a made-up number) ends the iteration of a hashtable."""
    from helpers.raw import parse

    diff(
        [
            ["HSET", "h", *[x for i in range(600) for x in (f"f{i}", "v")]],
            ["MSET", "k1", "v", "k2", "v", "k3", "v"],
        ]
    )
    left, _ = diff.conns()
    scan_cursor, _ = parse(left.execute("SCAN", "0", "COUNT", "1"))
    assert scan_cursor != b"0"
    assert parse(left.execute("HSCAN", "h", scan_cursor)) == [b"0", []]
    assert parse(left.execute("HSCAN", "h", "12345")) == [b"0", []]
    hscan_cursor, items = parse(left.execute("HSCAN", "h", "0", "COUNT", "5"))
    assert hscan_cursor != b"0" and len(items) == 10
    assert parse(left.execute("SCAN", hscan_cursor)) == [b"0", []]
