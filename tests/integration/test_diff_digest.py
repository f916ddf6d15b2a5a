"""DEBUG DIGEST and DEBUG DIGEST-VALUE, pikad against redis-server, replies compared exactly.

The same data set in both servers must give the very same 40 hex digits (Redis's debug.c
algorithm, see pikadb/storage/digest.py): every type, values Redis keeps integer-encoded
(their decimal text is digested), zset scores ("%.17g": inf, -0, subnormals, 17 significant
digits), both encodings of every collection type (listpack/intset below the limits,
hashtable/skiplist/quicklist above: Redis digests them identically), TTLs, several dbs,
HyperLogLog and geo values, and the arity and error replies. OBJECT ENCODING is compared
next to the digests to show that both encodings were really reached.
"""

from __future__ import annotations

import time

import pytest

from integration.diff import Diff, pipeline_bytes

# As the shared servers of conftest: DEBUG allowed from 127.0.0.1.
DEBUG_LOCAL = {"enable-debug-command": "local"}

ZERO = b"+" + b"0" * 40 + b"\r\n"

DIGEST = ["DEBUG", "DIGEST"]


def digest_values(*keys: str) -> list[str]:
    return ["DEBUG", "DIGEST-VALUE", *keys]


def build(diff: Diff, commands: list[list[object]], db: int = 0) -> None:
    """Run many commands on both as one pipeline (replies compared) after a FLUSHALL."""
    diff.stream(pipeline_bytes(commands), replies=len(commands), db=db)


# ---- empty data set, errors ----


def test_empty_dataset(diff):
    outcomes = diff(
        [
            DIGEST,
            ["debug", "digest"],
            digest_values("missing"),
            digest_values("a", "b", "c"),
            digest_values(),
            ["SELECT", "5"],
            DIGEST,
        ]
    )
    assert outcomes[0][0].raw == ZERO


def test_arity_and_errors(diff):
    diff(
        [
            ["DEBUG", "DIGEST", "extra"],
            ["DEBUG", "digest", "a", "b"],
            ["DEBUG", "DIGEST-VALUE"],
            ["DEBUG", "Digest-Value", "k"],
            ["DEBUG", "DIGESTX"],
            ["DEBUG", "DIGEST-VALUES", "k"],
            ["DEBUG"],
            ["SET", "k", "v"],
            ["DEBUG", "DIGEST", "k"],
            ["DEBUG", "DIGEST-VALUE", "k", "k", "nokey"],
        ]
    )


def test_digest_is_a_status_reply_in_resp3(diff):
    diff([["SET", "k", "v"], DIGEST, digest_values("k", "nokey")], proto=3)


# ---- strings ----


def test_strings(diff):
    diff(
        [
            ["SET", "s", "hello"],
            ["SET", "empty", ""],
            ["SET", "int", "12345"],
            ["SET", "neg", "-42"],
            ["SET", "zero", "0"],
            ["SET", "lead0", "007"],  # not an integer for Redis: raw text
            ["SET", "max", "9223372036854775807"],
            ["SET", "min", "-9223372036854775808"],
            ["SET", "over", "9223372036854775808"],
            ["SET", "float", "3.14"],
            ["SET", "bin", b"\x00\xff\r\n binary"],
            ["SET", "long", "x" * 100],  # raw encoding
            ["SET", "ctr", "10"],
            ["INCRBY", "ctr", "5"],
            ["INCRBYFLOAT", "fl", "1.5"],
            ["APPEND", "app", "abc"],
            ["APPEND", "app", "123"],
            ["SETRANGE", "sr", "3", "x"],
            ["OBJECT", "ENCODING", "int"],
            ["OBJECT", "ENCODING", "long"],
            DIGEST,
            digest_values("s", "empty", "int", "neg", "lead0", "max", "min", "over"),
            digest_values("float", "bin", "long", "ctr", "fl", "app", "sr", "nokey"),
            ["SET", "int", "12346"],
            DIGEST,
            ["DEL", "int"],
            DIGEST,
        ]
    )


# ---- lists ----


def test_lists_small_and_large(diff):
    big = [f"e{i}" if i % 3 else str(i) for i in range(1500)]
    build(
        diff,
        [
            ["RPUSH", "small", "a", "1", "b", "-7", ""],
            ["LPUSH", "small", "head"],
            ["RPUSH", "big", *big],
            ["LPUSH", "big", *[f"front{i}" for i in range(300)]],
            ["RPUSH", "longelems", "y" * 100, "z" * 5000],
            ["RPUSH", "edited", *[str(i) for i in range(50)]],
            ["LINSERT", "edited", "BEFORE", "25", "ins"],
            ["LREM", "edited", "0", "10"],
            ["LTRIM", "edited", "2", "-3"],
            ["LSET", "edited", "0", "set"],
            ["RPOP", "edited"],
            ["RPUSH", "order1", "a", "b"],
            ["RPUSH", "order2", "b", "a"],  # same elements, other order: other digest
        ],
    )
    diff(
        [
            ["OBJECT", "ENCODING", "big"],
            DIGEST,
            digest_values("small", "big", "longelems", "edited", "order1", "order2"),
        ],
        flush=False,
    )


# ---- sets ----


def test_sets_intset_and_hashtable(diff):
    build(
        diff,
        [
            ["SADD", "ints", "3", "-1", "100", "0", "9223372036854775807"],
            ["SADD", "strs", "a", "b", "c", "1"],
            ["SADD", "bigints", *[str(i * 7 - 1000) for i in range(600)]],  # > 512: hashtable
            ["SADD", "bigstrs", *[f"m{i}" for i in range(300)]],
            ["SADD", "notint", "01", "1", "+1", " 1"],
            ["SADD", "shrunk", *[str(i) for i in range(10)], "x"],
            ["SREM", "shrunk", "x", "3"],
            ["SADD", "order1", "x", "y", "z"],
            ["SADD", "order2", "z", "x", "y"],
        ],
    )
    diff(
        [
            ["OBJECT", "ENCODING", "ints"],
            ["OBJECT", "ENCODING", "bigints"],
            ["OBJECT", "ENCODING", "shrunk"],
            DIGEST,
            digest_values("ints", "strs", "bigints", "bigstrs", "notint", "shrunk"),
            digest_values("order1", "order2"),
        ],
        flush=False,
    )


def test_set_algebra_results(diff):
    build(
        diff,
        [
            ["SADD", "a", *[str(i) for i in range(0, 40)]],
            ["SADD", "b", *[str(i) for i in range(20, 60)], "s"],
            ["SUNIONSTORE", "u", "a", "b"],
            ["SINTERSTORE", "i", "a", "b"],
            ["SDIFFSTORE", "d", "a", "b"],
        ],
    )
    diff([DIGEST, digest_values("u", "i", "d")], flush=False)


# ---- sorted sets ----

SCORES = [
    "0",
    "1",
    "-1",
    "2.5",
    "-3.75",
    "0.1",
    "0.3333333333333333",
    "1e-300",
    "5e-324",  # the smallest subnormal
    "2.2250738585072014e-308",
    "1e300",
    "1.7976931348623157e308",
    "inf",
    "-inf",
    "+inf",
    "123456789.123",
    "9007199254740993",  # 2**53 + 1: not a double, rounds
    "1e16",
    "1e21",
    "1.5e-7",
    "100",
    "-100000",
    "4503599627370496.5",
]


def test_zset_scores_listpack(diff):
    members: list[str] = []
    for i, s in enumerate(SCORES):
        members += [s, f"m{i}"]
    build(diff, [["ZADD", "z", *members], ["ZADD", "intmembers", "1", "10", "2", "-20"]])
    diff(
        [
            ["OBJECT", "ENCODING", "z"],
            DIGEST,
            digest_values("z", "intmembers"),
            ["ZADD", "z", "-0", "negzero"],  # a listpack stores -0 as 0
            ["ZSCORE", "z", "negzero"],
            digest_values("z"),
            DIGEST,
        ],
        flush=False,
    )


def test_zset_scores_skiplist(diff):
    members: list[str] = []
    for i, s in enumerate(SCORES):
        members += [s, f"m{i}"]
    pad: list[str] = []
    for i in range(200):
        pad += [str(i * 0.37 - 20), f"pad{i}"]
    build(
        diff,
        [
            ["ZADD", "z", *members, *pad],
            ["ZADD", "longmember", "1.5", "x" * 100, "2", "y"],  # > 64 bytes: skiplist
        ],
    )
    diff(
        [
            ["OBJECT", "ENCODING", "z"],
            ["OBJECT", "ENCODING", "longmember"],
            DIGEST,
            digest_values("z", "longmember"),
            ["ZADD", "z", "-0", "negzero"],  # a skiplist keeps -0.0: digested as "-0"
            ["ZSCORE", "z", "negzero"],
            digest_values("z"),
            ["ZINCRBY", "z", "0.1", "m0"],
            ["ZINCRBY", "z", "1e-17", "m1"],
            ["ZREM", "z", "m3"],
            DIGEST,
            digest_values("z"),
        ],
        flush=False,
    )


def test_zset_store_results(diff):
    build(
        diff,
        [
            ["ZADD", "a", "1", "x", "2.5", "y", "-3", "z"],
            ["ZADD", "b", "0.1", "x", "0.2", "w"],
            ["ZUNIONSTORE", "u", "2", "a", "b", "WEIGHTS", "0.3", "7"],
            ["ZINTERSTORE", "i", "2", "a", "b", "AGGREGATE", "MAX"],
            ["ZRANGESTORE", "r", "a", "0", "-1"],
        ],
    )
    diff([DIGEST, digest_values("u", "i", "r")], flush=False)


# ---- hashes ----


def test_hashes_listpack_and_hashtable(diff):
    big: list[str] = []
    for i in range(700):
        big += [f"f{i}", str(i) if i % 2 else f"v{i}"]
    build(
        diff,
        [
            ["HSET", "small", "f", "v", "n", "10", "neg", "-5", "e", ""],
            ["HSET", "big", *big],  # > 512 fields: hashtable
            ["HSET", "longval", "f", "v" * 100],  # > 64 bytes: hashtable
            ["HINCRBY", "ctr", "a", "5"],
            ["HINCRBYFLOAT", "ctr", "b", "2.5"],
            ["HSET", "order1", "a", "1", "b", "2"],
            ["HSET", "order2", "b", "2", "a", "1"],
            ["HSET", "swapped", "a", "2", "b", "1"],  # same texts, paired otherwise
            ["HDEL", "big", "f3", "f4"],
        ],
    )
    diff(
        [
            ["OBJECT", "ENCODING", "small"],
            ["OBJECT", "ENCODING", "big"],
            ["OBJECT", "ENCODING", "longval"],
            DIGEST,
            digest_values("small", "big", "longval", "ctr", "order1", "order2", "swapped"),
        ],
        flush=False,
    )


# ---- TTL, dbs, other values ----


def test_expires(diff):
    diff(
        [
            ["SET", "a", "v"],
            ["SET", "b", "v"],
            DIGEST,
            ["EXPIRE", "a", "1000"],
            DIGEST,
            digest_values("a", "b"),
            ["RPUSH", "l", "x"],
            ["SADD", "s", "x"],
            ["ZADD", "z", "1", "x"],
            ["HSET", "h", "f", "v"],
            ["PEXPIRE", "l", "100000"],
            ["EXPIREAT", "s", "4000000000"],
            ["EXPIRE", "z", "5000"],
            ["SET", "t", "v", "EX", "1000"],
            ["HSET", "h2", "f", "v"],
            ["EXPIRE", "h2", "1000"],
            DIGEST,
            digest_values("a", "b", "l", "s", "z", "h", "t", "h2"),
            ["PERSIST", "a"],
            ["PERSIST", "l"],
            DIGEST,
            digest_values("a", "l"),
        ]
    )


def test_several_dbs(diff):
    diff(
        [
            ["SET", "k", "v"],
            DIGEST,
            ["MOVE", "k", "1"],
            DIGEST,  # the same data set in another db: another digest
            ["SELECT", "1"],
            digest_values("k"),
            ["SELECT", "0"],
            digest_values("k"),
            ["SELECT", "3"],
            ["SET", "k", "v"],
            ["RPUSH", "l", "1", "2"],
            ["SELECT", "15"],
            ["HSET", "h", "f", "v"],
            DIGEST,
            ["SWAPDB", "3", "7"],
            DIGEST,
            ["SELECT", "7"],
            digest_values("k", "l", "h"),
            ["FLUSHDB"],  # db 7 empty again: skipped
            DIGEST,
            ["SELECT", "1"],
            ["DEL", "k"],
            DIGEST,
            ["SELECT", "15"],
            ["FLUSHDB"],
            DIGEST,
        ]
    )


def test_rename_copy_keep_digest(diff):
    diff(
        [
            ["ZADD", "z", "1.5", "a", "-2", "b"],
            ["HSET", "h", "f", "v"],
            ["EXPIRE", "h", "1000"],
            ["COPY", "z", "z2"],
            ["RENAME", "h", "h2"],
            digest_values("z", "z2", "h", "h2"),
            DIGEST,
            ["COPY", "z", "z3", "DB", "2"],
            DIGEST,
        ]
    )


def test_hyperloglog_and_geo(diff):
    diff(
        [
            ["PFADD", "hll", "a", "b", "c"],
            ["PFADD", "hll2", *[f"e{i}" for i in range(2000)]],
            ["PFCOUNT", "hll"],  # stores the cached cardinality
            ["PFMERGE", "merged", "hll", "hll2"],
            ["GEOADD", "geo", "13.361389", "38.115556", "Palermo"],
            ["GEOADD", "geo", "15.087269", "37.502669", "Catania", "-122.27652", "37.805186", "x"],
            ["GEOSEARCHSTORE", "near", "geo", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
            DIGEST,
            digest_values("hll", "hll2", "merged", "geo", "near"),
        ]
    )


def test_wrong_type_keys_are_digested(diff):
    diff([["SET", "s", "1"], ["SADD", "t", "1"], digest_values("s", "t"), DIGEST])


# ---- a bigger mixed data set ----


def test_mixed_dataset(diff):
    commands: list[list[object]] = []
    for i in range(3000):
        kind = i % 6
        key = f"key:{i}"
        if kind == 0:
            commands.append(["SET", key, str(i) if i % 4 else f"value-{i}"])
        elif kind == 1:
            commands.append(["RPUSH", key, *[str(j) for j in range(i % 13 + 1)]])
        elif kind == 2:
            commands.append(["SADD", key, *[str(j * i) for j in range(i % 11 + 1)], f"s{i}"])
        elif kind == 3:
            commands.append(["ZADD", key, *[x for j in range(i % 7 + 1) for x in (j / 3, j)]])
        elif kind == 4:
            commands.append(["HSET", key, *[x for j in range(i % 5 + 1) for x in (j, i * j)]])
        else:
            commands.append(["SET", key, "v", "EX", str(1000 + i)])
    build(diff, commands)
    diff(
        [DIGEST, ["DBSIZE"], digest_values(*[f"key:{i}" for i in range(0, 3000, 97)])],
        flush=False,
    )


def test_several_shards(pikad_factory, redis_oracle):
    """Keys spread over the shards of a multi-shard pikad digest like one Redis keyspace."""
    diff = Diff(pikad_factory(shards=4, **DEBUG_LOCAL), redis_oracle)
    try:
        commands: list[list[object]] = []
        for db in (0, 2):
            commands.append(["SELECT", str(db)])
            for i in range(200):
                commands.append(["SET", f"s{i}", f"{i}"])
                commands.append(["ZADD", f"{{tag}}z{i % 7}", str(i / 7), f"m{i}"])
                commands.append(["HSET", f"h{i % 11}", f"f{i}", f"{i}"])
        build(diff, commands)
        diff([DIGEST, ["SELECT", "2"], digest_values("s1", "{tag}z3", "h5")], flush=False)
    finally:
        diff.close()


# ---- keys past their TTL ----


@pytest.mark.pikad_only
def test_expired_keys_do_not_count(diff):
    """pikad keeps a key past its TTL until the expire cycle or an access deletes it; the
    digests skip it, as they would in a Redis that has reclaimed it. (Redis's own answer
    depends on when its cycle runs, so on redis-server the key is never created.)"""
    left, _ = diff.conns()
    try:
        diff([["SET", "live", "v"], ["SET", "volatile", "v", "EX", "1000"]])
        left.send(["DEBUG", "SET-ACTIVE-EXPIRE", "0"])
        assert left.read_reply() == b"+OK\r\n"
        left.send(["SET", "gone", "v", "PX", "1"])
        assert left.read_reply() == b"+OK\r\n"
        left.send(["SELECT", "4"])
        assert left.read_reply() == b"+OK\r\n"
        left.send(["SET", "alone", "v", "PX", "1"])  # db 4 has only an expired key
        assert left.read_reply() == b"+OK\r\n"
        left.send(["SELECT", "0"])
        assert left.read_reply() == b"+OK\r\n"
        time.sleep(0.02)
        left.send(["DBSIZE"])
        assert left.read_reply() == b":3\r\n"  # still stored
        diff([DIGEST, digest_values("gone", "live", "volatile")], flush=False)
        left.send(["DBSIZE"])
        assert left.read_reply() == b":3\r\n"  # the digest deleted nothing
    finally:
        left.send(["DEBUG", "SET-ACTIVE-EXPIRE", "1"])
        left.read_reply()
