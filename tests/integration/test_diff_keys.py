"""Keyspace commands, pikad against redis-server.

DEL UNLINK EXISTS TYPE TOUCH RENAME RENAMENX COPY MOVE KEYS SCAN RANDOMKEY
EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME PEXPIRETIME PERSIST
OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT|HELP.

Replies are compared byte for byte; where Redis's order is its hash table's (KEYS, SCAN),
arrays are compared sorted, and multi-call SCAN iterations are compared as the set of keys
each server returned over a whole iteration. TTLs get one tick of slack.
"""

from __future__ import annotations

import pytest

from integration.diff import Error, ints_close, pairwise, transform, ttl_close, unordered

pttl_close = ints_close(150)

LLONG_MAX = str((1 << 63) - 1)
LLONG_MIN = str(-(1 << 63))


def _needs(diff, command: str) -> None:
    left, _ = diff.conns()
    left.send(["COMMAND", "INFO", command])
    if command.lower().encode() not in left.read_reply().lower():
        pytest.skip(f"pikad has no {command} yet: these cases wait for that type's family")


@pytest.fixture
def hashes(diff):
    _needs(diff, "HSET")


@pytest.fixture
def all_types(diff):
    for cmd in ("HSET", "RPUSH", "SADD", "ZADD"):
        _needs(diff, cmd)


def _scan_page(v: object) -> object:
    """A SCAN reply [cursor, keys]: cursor as is, keys sorted."""
    if isinstance(v, Error) or not isinstance(v, list):
        return v
    cursor, keys = v
    return cursor, sorted(keys)


scan_page = transform(_scan_page, "scan page (keys sorted)")


def _scan_done(v: object) -> object:
    """A SCAN that finished in one call: cursor 0 and the same key set."""
    if isinstance(v, Error) or not isinstance(v, list):
        return v
    cursor, keys = v
    return cursor == b"0", sorted(keys)


scan_done = transform(_scan_done, "complete scan (cursor 0, keys sorted)")


def full_scan(conn, *options: str) -> tuple[list[bytes], int]:
    """Iterate SCAN on one raw connection to the end: (every key returned, calls)."""
    from helpers.raw import parse

    cursor, keys, calls = b"0", [], 0
    while True:
        conn.send(["SCAN", cursor, *options])
        reply = parse(conn.read_reply())
        assert isinstance(reply, list), reply
        cursor, page = reply
        keys += page
        calls += 1
        if cursor == b"0":
            return keys, calls
        assert calls < 100_000


# ---- DEL / UNLINK / EXISTS / TOUCH / TYPE ----


def test_del_unlink_exists_touch(diff):
    diff(
        [
            ["MSET", "a", "1", "b", "2", "c", "3"],
            ["EXISTS", "a"],
            ["EXISTS", "a", "a", "b", "missing"],
            ["TOUCH", "a", "missing", "a"],
            ["DEL", "a"],
            ["DEL", "a"],
            ["DEL", "b", "b", "missing", "c"],
            ["EXISTS", "a", "b", "c"],
            ["MSET", "a", "1", "b", "2"],
            ["UNLINK", "a", "missing", "b", "a"],
            ["DBSIZE"],
            ["SET", "", "empty"],
            ["EXISTS", ""],
            ["DEL", ""],
            ["DEL"],
            ["UNLINK"],
            ["EXISTS"],
            ["TOUCH"],
        ]
    )


def test_type(diff):
    diff(
        [
            ["SET", "s", "v"],
            ["TYPE", "s"],
            ["TYPE", "missing"],
            ["TYPE"],
            ["TYPE", "a", "b"],
        ]
    )


def test_type_of_every_type(diff, all_types):
    diff(
        [
            ["HSET", "h", "f", "v"],
            ["RPUSH", "l", "a"],
            ["SADD", "st", "m"],
            ["ZADD", "z", "1", "m"],
            ["TYPE", "h"],
            ["TYPE", "l"],
            ["TYPE", "st"],
            ["TYPE", "z"],
            ["EXISTS", "h", "l", "st", "z"],
            ["DEL", "h", "l", "st", "z"],
            ["EXISTS", "h", "l", "st", "z"],
            ["DBSIZE"],
        ]
    )


# ---- EXPIRE family ----


def test_expire_and_ttl(diff):
    diff(
        [
            ["SET", "k", "v"],
            ["TTL", "k"],
            ["PTTL", "k"],
            ["EXPIRETIME", "k"],
            ["PEXPIRETIME", "k"],
            ["TTL", "missing"],
            ["PTTL", "missing"],
            ["EXPIRETIME", "missing"],
            ["PEXPIRETIME", "missing"],
            ["EXPIRE", "k", "100"],
            (["TTL", "k"], ttl_close),
            (["PTTL", "k"], pttl_close),
            ["PEXPIRE", "k", "200000"],
            (["TTL", "k"], ttl_close),
            ["EXPIREAT", "k", "4000000000"],
            ["EXPIRETIME", "k"],
            ["PEXPIRETIME", "k"],
            ["PEXPIREAT", "k", "4000000000999"],
            ["EXPIRETIME", "k"],  # rounded to the nearest second
            ["PEXPIREAT", "k", "4000000000499"],
            ["EXPIRETIME", "k"],
            ["PEXPIREAT", "k", "4000000000500"],
            ["EXPIRETIME", "k"],
            ["PEXPIRETIME", "k"],
            ["PERSIST", "k"],
            ["PERSIST", "k"],
            ["PERSIST", "missing"],
            ["TTL", "k"],
            ["EXPIRE", "missing", "100"],
            ["PEXPIREAT", "missing", "4000000000000"],
            ["EXISTS", "missing"],
        ]
    )


def test_expire_in_the_past_deletes(diff):
    diff(
        [
            ["MSET", "a", "1", "b", "1", "c", "1", "d", "1", "e", "1"],
            ["EXPIRE", "a", "0"],
            ["PEXPIRE", "b", "-1"],
            ["EXPIREAT", "c", "1"],
            ["PEXPIREAT", "d", "0"],
            ["EXPIRE", "e", LLONG_MIN[:-4]],
            ["EXISTS", "a", "b", "c", "d", "e"],
            ["DBSIZE"],
            ["SET", "f", "1"],
            ["EXPIRE", "f", "-100", "NX"],
            ["EXISTS", "f"],
        ]
    )


def test_expire_conditions(diff):
    diff(
        [
            ["SET", "k", "v"],
            ["EXPIRE", "k", "100", "XX"],  # no TTL yet
            ["EXPIRE", "k", "100", "GT"],  # no TTL counts as infinite
            ["EXPIRE", "k", "100", "LT"],
            (["TTL", "k"], ttl_close),
            ["EXPIRE", "k", "200", "LT"],
            ["EXPIRE", "k", "50", "NX"],
            ["EXPIRE", "k", "150", "XX"],
            (["TTL", "k"], ttl_close),
            ["EXPIRE", "k", "50", "GT"],
            ["EXPIRE", "k", "300", "GT"],
            (["TTL", "k"], ttl_close),
            ["EXPIRE", "k", "299", "gt"],
            ["EXPIRE", "k", "10", "lt"],
            (["TTL", "k"], ttl_close),
            ["PEXPIREAT", "k", "4000000000000", "GT"],
            ["PEXPIREAT", "k", "4000000000000", "GT"],  # equal is not greater
            ["PEXPIREAT", "k", "4000000000000", "LT"],  # nor less
            ["PEXPIREAT", "k", "3000000000000", "XX", "LT"],
            ["PEXPIRETIME", "k"],
            ["EXPIREAT", "k", "3500000000", "XX", "GT"],
            ["EXPIRETIME", "k"],
            ["EXPIRE", "k", "100", "NX", "NX"],
            ["PERSIST", "k"],
            ["EXPIRE", "k", "-1", "GT"],  # GT never beats "no TTL": not deleted
            ["EXISTS", "k"],
            ["EXPIRE", "k", "-1", "LT"],  # LT on "no TTL" applies: deleted
            ["EXISTS", "k"],
            ["EXPIRE", "missing", "10", "NX"],
        ]
    )


def test_expire_errors(diff):
    cmds = [["SET", "k", "v"]]
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        cmds += [
            [cmd, "k", "100", "NX", "XX"],
            [cmd, "k", "100", "XX", "NX"],
            [cmd, "k", "100", "GT", "LT"],
            [cmd, "k", "100", "NX", "GT"],
            [cmd, "k", "100", "LT", "NX"],
            [cmd, "k", "100", "FOO"],
            [cmd, "k", "100", "nx", "bar"],
            [cmd, "k", "100", "NX", "XX", "FOO"],  # unknown words are reported first
            [cmd, "k", "abc"],
            [cmd, "k", "abc", "FOO"],  # ...even before the time is parsed
            [cmd, "k", "1.5"],
            [cmd, "k", ""],
            [cmd, "k", LLONG_MAX],
            [cmd, "k", LLONG_MIN],
            [cmd, "k", "9223372036854775"],
            [cmd, "k", "-9223372036854775"],
            [cmd, "k", "-9223372036854776"],
            [cmd, "missing", LLONG_MAX],  # the overflow check comes before the lookup
            [cmd, "k"],
        ]
    cmds += [
        ["EXISTS", "k"],
        ["PEXPIRETIME", "k"],
        ["TTL"],
        ["PTTL", "a", "b"],
        ["EXPIRETIME"],
        ["PEXPIRETIME", "a", "b"],
        ["PERSIST"],
        ["PERSIST", "a", "b"],
    ]
    diff(cmds)


def test_expired_keys_vanish(diff):
    diff(
        [
            ["SET", "a", "1", "PX", "20"],
            ["SET", "b", "1", "PX", "20"],
            ["SET", "c", "1", "PX", "20"],
            ["SET", "keep", "1", "EX", "100"],
            ["DEBUG", "SLEEP", "0.1"],
            ["EXISTS", "a", "b", "c", "keep"],
            ["TTL", "a"],
            ["TYPE", "b"],
            (["KEYS", "*"], unordered),
            ["RENAME", "c", "d"],
            ["EXPIRE", "a", "100"],
            ["PERSIST", "b"],
            ["DBSIZE"],
        ]
    )


def test_active_expiry_empties_the_db(diff):
    """Keys nobody reads again are deleted by the active expire cycle: DBSIZE and
    INFO keyspace's keys= reach 0 on both servers."""
    import time

    diff([["SET", f"k{i}", "v", "PX", "50"] for i in range(50)] + [["SET", "stay", "v"]])
    time.sleep(1.5)
    diff([["DBSIZE"]], flush=False)


# ---- RENAME / RENAMENX ----


def test_rename(diff):
    diff(
        [
            ["RENAME", "missing", "x"],
            ["RENAMENX", "missing", "x"],
            ["SET", "a", "1"],
            ["RENAME", "a", "a"],
            ["RENAMENX", "a", "a"],
            ["RENAME", "a", "b"],
            ["EXISTS", "a"],
            ["GET", "b"],
            ["SET", "c", "3", "EX", "100"],
            ["RENAME", "c", "b"],  # overwrites, TTL travels
            ["GET", "b"],
            (["TTL", "b"], ttl_close),
            ["SET", "d", "4"],
            ["RENAMENX", "b", "d"],
            ["RENAMENX", "b", "e"],
            (["TTL", "e"], ttl_close),
            ["SET", "f", "6", "EX", "100"],
            ["RENAME", "e", "f"],  # the target's TTL goes with its old value
            (["TTL", "f"], ttl_close),
            ["SET", "g", "x"],
            ["RENAME", "g", "f"],
            ["TTL", "f"],
            ["RENAME", "f", ""],
            ["GET", ""],
            ["DBSIZE"],
            ["RENAME", "a"],
            ["RENAMENX", "a", "b", "c"],
        ]
    )


def test_rename_collections(diff, hashes):
    diff(
        [
            ["HSET", "h", "f1", "v1", "f2", "v2"],
            ["EXPIRE", "h", "100"],
            ["RENAME", "h", "h2"],
            ["HGETALL", "h2"],
            (["TTL", "h2"], ttl_close),
            ["EXISTS", "h"],
            ["SET", "s", "str"],
            ["RENAME", "s", "h2"],
            ["TYPE", "h2"],
            ["HSET", "h3", "f", "v"],
            ["RENAMENX", "h3", "h2"],
            ["RENAME", "h3", "h2"],
            ["HGETALL", "h2"],
            ["DBSIZE"],
        ]
    )


# ---- COPY / MOVE ----


def test_copy(diff):
    diff(
        [
            ["COPY", "missing", "x"],
            ["SET", "a", "1", "EX", "100"],
            ["COPY", "a", "a"],
            ["COPY", "a", "b"],
            ["GET", "b"],
            (["TTL", "b"], ttl_close),
            ["COPY", "a", "b"],
            ["SET", "a", "2"],
            ["COPY", "a", "b", "REPLACE"],
            ["GET", "b"],
            ["TTL", "b"],
            ["COPY", "a", "a", "DB", "1"],
            ["COPY", "a", "c", "DB", "1", "REPLACE"],
            ["COPY", "a", "c", "db", "1"],
            ["SELECT", "1"],
            ["MGET", "a", "c"],
            ["COPY", "a", "a", "DB", "1"],  # same db, same key
            ["COPY", "a", "a", "DB", "0"],
            ["SELECT", "0"],
            ["GET", "a"],
            ["COPY", "a", "x", "DB", "16"],
            ["COPY", "a", "x", "DB", "-1"],
            ["COPY", "a", "x", "DB", "abc"],
            ["COPY", "a", "x", "DB", "2147483648"],
            ["COPY", "a", "x", "DB"],
            ["COPY", "a", "x", "FOO"],
            ["COPY", "a", "x", "REPLACE", "REPLACE"],
            ["COPY", "a", "a", "FOO"],  # syntax before "same object"
            ["COPY", "missing", "missing"],
            ["COPY", "a"],
            ["DBSIZE"],
        ]
    )


def test_copy_collections(diff, hashes):
    diff(
        [
            ["HSET", "h", "f1", "v1", "f2", "v2"],
            ["COPY", "h", "h2"],
            ["HSET", "h", "f3", "v3"],  # the copy is independent
            ["HGETALL", "h2"],
            ["HLEN", "h"],
            ["COPY", "h", "h2", "DB", "3"],
            ["SELECT", "3"],
            ["HLEN", "h2"],
            ["SELECT", "0"],
            ["SET", "s", "x"],
            ["COPY", "s", "h2", "REPLACE"],
            ["TYPE", "h2"],
        ]
    )


def test_move(diff):
    diff(
        [
            ["SET", "a", "1", "EX", "100"],
            ["MOVE", "a", "0"],
            ["MOVE", "a", "16"],
            ["MOVE", "a", "-1"],
            ["MOVE", "a", "abc"],
            ["MOVE", "a", "2147483648"],
            ["MOVE", "a", "-2147483649"],
            ["MOVE", "a", "99999999999999999999"],
            ["MOVE", "missing", "1"],
            ["MOVE", "a", "1"],
            ["EXISTS", "a"],
            ["SELECT", "1"],
            ["GET", "a"],
            (["TTL", "a"], ttl_close),
            ["SET", "b", "in1"],
            ["SELECT", "0"],
            ["SET", "b", "in0"],
            ["MOVE", "b", "1"],  # exists there: nothing moves
            ["GET", "b"],
            ["MOVE", "missing", "99"],
            ["MOVE", "a"],
            ["MOVE", "a", "1", "2"],
            ["DBSIZE"],
        ]
    )


# ---- KEYS / SCAN / RANDOMKEY ----


KEYS_SET = [
    "foo",
    "foobar",
    "fo",
    "bar",
    "f\\o",
    "f*o",
    "f?o",
    "f[o",
    "hello",
    "hallo",
    "hxllo",
    "hllo",
    "heeeello",
    "a:1",
    "a:2",
    "b:1",
    "user:{1}",
    "Caps",
    "caps",
    "",
]

PATTERNS = [
    "*",
    "**",
    "",
    "fo*",
    "f?o",
    "f\\*o",
    "f\\?o",
    "f\\[o",
    "f\\\\o",
    "f[a-z]o",
    "f[^o]o",
    "h?llo",
    "h*llo",
    "h[ae]llo",
    "h[^e]llo",
    "h[a-b]llo",
    "h[b-a]llo",
    "*:*",
    "a:?",
    "[ab]:[12]",
    "user:{*}",
    "[",
    "[a",
    "fo[",
    "\\",
    "*\\",
    "[^]",
    "[]]",
    "[a-]",
    "*[C]*",
    "c*",
    "?",
    "???",
    "nomatch*",
    "*o",
]


def test_keys(diff):
    cmds = [["MSET", *[x for k in KEYS_SET for x in (k, "v")]]]
    cmds += [(["KEYS", p], unordered) for p in PATTERNS]
    cmds += [["KEYS"], ["KEYS", "a", "b"]]
    diff(cmds)


def test_keys_in_other_db_and_empty(diff):
    diff(
        [
            ["KEYS", "*"],
            ["SET", "k", "v"],
            ["SELECT", "5"],
            ["KEYS", "*"],
            ["SET", "k5", "v"],
            (["KEYS", "*"], unordered),
            ["SELECT", "0"],
            (["KEYS", "*"], unordered),
        ]
    )


def test_scan_one_page(diff):
    cmds = [["MSET", *[x for k in KEYS_SET for x in (k, "v")]]]
    cmds += [(["SCAN", "0", "COUNT", "1000"], scan_done)]
    cmds += [(["SCAN", "0", "COUNT", "1000", "MATCH", p], scan_done) for p in PATTERNS]
    cmds += [
        (["SCAN", "0", "MATCH", "f*", "COUNT", "1000", "TYPE", "string"], scan_done),
        (["SCAN", "0", "COUNT", "1000", "TYPE", "STRING"], scan_done),
        (["SCAN", "0", "COUNT", "1000", "TYPE", "hash"], scan_done),
        (["SCAN", "0", "COUNT", "1000", "TYPE", "nosuchtype"], scan_done),
        (["SCAN", "0", "COUNT", "1000", "COUNT", "2000"], scan_done),
    ]
    diff(cmds)


def test_scan_errors_and_cursors(diff):
    diff(
        [
            ["SET", "k", "v"],
            ["SCAN", "abc"],
            ["SCAN", " 0"],
            ["SCAN", "0 "],
            ["SCAN", "0x10"],
            ["SCAN", "+"],
            ["SCAN", "-"],
            ["SCAN", "18446744073709551616"],
            ["SCAN", "-18446744073709551616"],
            ["SCAN", "1.5"],
            ["SCAN", "abc", "FOO"],  # the cursor is parsed first
            ["SCAN", "0", "COUNT", "0"],
            ["SCAN", "0", "COUNT", "-1"],
            ["SCAN", "0", "COUNT", "abc"],
            ["SCAN", "0", "COUNT"],
            ["SCAN", "0", "MATCH"],
            ["SCAN", "0", "TYPE"],
            ["SCAN", "0", "FOO", "bar"],
            ["SCAN", "0", "COUNT", "10", "FOO"],
            (["SCAN", "0"], scan_page),
            (["SCAN", ""], scan_page),  # strtoul reads "" as 0
            (["SCAN", "+0"], scan_page),
            (["SCAN", "-0"], scan_page),
            (["SCAN", "00"], scan_page),
            ["SCAN"],
        ]
    )


def test_scan_resp3(diff):
    diff([["SET", "k", "v"], ["SCAN", "0"], ["SCAN", "0", "MATCH", "x*"]], proto=3)


def _scan_sets(diff, options: list[str]) -> None:
    left, right = diff.conns()
    lk, lcalls = full_scan(left, *options)
    rk, _ = full_scan(right, *options)
    assert len(lk) == len(set(lk)), "pikad returned a key twice in one iteration"
    assert sorted(set(lk)) == sorted(set(rk)), (sorted(set(lk) ^ set(rk)))[:20]
    return lcalls


@pytest.mark.parametrize("count", ["1", "3", "10", "100"])
def test_scan_full_iterations(diff, count):
    diff(
        [
            ["MSET", *[x for i in range(300) for x in (f"key:{i}", "v")]],
            ["MSET", *[x for i in range(50) for x in (f"other:{i}", "v")]],
        ]
    )
    calls = _scan_sets(diff, ["COUNT", count])
    assert calls > 1 or count == "100"
    _scan_sets(diff, ["COUNT", count, "MATCH", "other:*"])
    _scan_sets(diff, ["COUNT", count, "MATCH", "key:1?"])
    _scan_sets(diff, ["COUNT", count, "TYPE", "string", "MATCH", "*:2*"])


def test_scan_survives_writes_between_calls(diff):
    """Keys present for the whole iteration come back exactly once, even while keys are
    added and deleted between calls (pikad keeps resume positions, not hash buckets)."""
    from helpers.raw import parse

    diff([["MSET", *[x for i in range(200) for x in (f"stable:{i:03d}", "v")]]])
    left, _ = diff.conns()
    cursor, seen, step = b"0", [], 0
    while True:
        left.send(["SCAN", cursor, "COUNT", "7"])
        cursor, page = parse(left.read_reply())
        seen += page
        step += 1
        left.send(["MSET", f"aaa:{step}", "v", f"zzz:{step}", "v", f"stable:{step:03d}x", "v"])
        left.read_reply()
        left.send(["DEL", f"zzz:{step - 1}"])
        left.read_reply()
        if cursor == b"0":
            break
    stable = sorted(k for k in seen if k.startswith(b"stable:") and len(k) == 10)
    assert stable == [f"stable:{i:03d}".encode() for i in range(200)]
    assert len(seen) == len(set(seen))


def _in_set(keys: list[bytes]):
    def check(a: object, b: object) -> object:
        return (a in keys and b in keys) or f"{a!r} / {b!r} not among the keys"

    return pairwise(check, "both a key of the db")


def test_randomkey(diff):
    keys = [f"k{i}".encode() for i in range(30)]
    diff(
        [
            ["RANDOMKEY"],
            ["SET", "only", "v"],
            ["RANDOMKEY"],
            ["DEL", "only"],
            ["MSET", *[x for k in keys for x in (k, b"v")]],
            *[(["RANDOMKEY"], _in_set(keys)) for _ in range(20)],
            ["RANDOMKEY", "x"],
        ]
    )


def test_randomkey_skips_expired(diff):
    diff(
        [
            ["SET", "live", "v"],
            *[["SET", f"gone{i}", "v", "PX", "10"] for i in range(20)],
            ["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            ["DEBUG", "SLEEP", "0.05"],
            *[["RANDOMKEY"] for _ in range(10)],
            ["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        ]
    )


# ---- OBJECT ----


def test_object(diff):
    diff(
        [
            ["SET", "s", "hello"],
            ["SET", "i", "123"],
            ["OBJECT", "ENCODING", "s"],
            ["OBJECT", "ENCODING", "i"],
            ["OBJECT", "ENCODING", "missing"],
            ["OBJECT", "REFCOUNT", "s"],
            ["OBJECT", "REFCOUNT", "i"],
            ["OBJECT", "REFCOUNT", "missing"],
            (["OBJECT", "IDLETIME", "s"], ints_close(1)),
            ["OBJECT", "IDLETIME", "missing"],
            ["OBJECT", "FREQ", "missing"],
            ["OBJECT", "FREQ", "s"],  # no LFU policy: an error
            ["OBJECT", "HELP"],
            ["object", "help"],
            ["OBJECT", "encoding", "s"],
            ["OBJECT"],
            ["OBJECT", "FOO"],
            ["OBJECT", "FOO", "bar"],
            ["OBJECT", "ENCODING"],
            ["OBJECT", "ENCODING", "a", "b"],
            ["OBJECT", "HELP", "x"],
            ["OBJECT", "FREQ"],
            ["OBJECT", "IDLETIME", "a", "b"],
            ["OBJECT", "REFCOUNT"],
        ]
    )


def test_object_resp3(diff):
    diff(
        [
            ["SET", "s", "v"],
            ["OBJECT", "ENCODING", "s"],
            ["OBJECT", "HELP"],
            ["OBJECT", "ENCODING", "nokey"],
        ],
        proto=3,
    )


def test_object_idletime(diff):
    diff(
        [
            ["SET", "a", "v"],
            ["SET", "b", "v"],
            ["DEBUG", "SLEEP", "1.2"],
            ["GET", "b"],  # an access resets it
            (["OBJECT", "IDLETIME", "a"], ints_close(1)),
            (["OBJECT", "IDLETIME", "b"], ints_close(1)),
            ["TTL", "a"],  # TTL, TYPE, EXISTS and OBJECT do not count as access
            ["TYPE", "a"],
            ["EXISTS", "a"],
            (["OBJECT", "IDLETIME", "a"], ints_close(1)),
            ["TOUCH", "a"],
            # Redis's LRU clock is whole seconds refreshed by its cron: a read right after
            # the access may already be one second later there.
            (["OBJECT", "IDLETIME", "a"], ints_close(1)),
        ]
    )


def test_object_lfu(diff):
    diff(
        [
            ["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
            ["SET", "k", "v"],
            ["OBJECT", "FREQ", "k"],  # a new key starts at LFU_INIT_VAL
            ["GET", "k"],
            ["OBJECT", "FREQ", "k"],  # the first access always counts
            ["OBJECT", "IDLETIME", "k"],  # LFU policy: idle time is not tracked
            ["OBJECT", "REFCOUNT", "k"],
            ["CONFIG", "SET", "maxmemory-policy", "noeviction"],
            ["OBJECT", "FREQ", "k"],
        ]
    )


def test_object_refcount_with_maxmemory_lru(diff):
    diff(
        [
            ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
            ["CONFIG", "SET", "maxmemory", "1gb"],
            ["SET", "i", "5"],
            ["OBJECT", "REFCOUNT", "i"],  # no shared integers when LRU data is per key
            ["CONFIG", "SET", "maxmemory", "0"],
            ["SET", "j", "5"],
            ["OBJECT", "REFCOUNT", "j"],
            ["CONFIG", "SET", "maxmemory-policy", "noeviction"],
        ]
    )


def test_object_encoding_of_collections(diff, all_types):
    diff(
        [
            ["HSET", "h", "f", "v"],
            ["RPUSH", "l", "a"],
            ["SADD", "st", "m"],
            ["ZADD", "z", "1", "m"],
            ["OBJECT", "ENCODING", "h"],
            ["OBJECT", "ENCODING", "l"],
            ["OBJECT", "ENCODING", "st"],
            ["OBJECT", "ENCODING", "z"],
            ["OBJECT", "REFCOUNT", "h"],
        ]
    )


def _collections(prefix: str, n: int) -> list[list[str]]:
    """A hash, list, set and zset of n elements each, named <prefix>h/l/s/z."""
    return [
        ["HSET", f"{prefix}h", *[x for i in range(n) for x in (f"f{i}", f"v{i}")]],
        ["RPUSH", f"{prefix}l", *[f"e{i}" for i in range(n)]],
        ["SADD", f"{prefix}s", *[f"m{i}" for i in range(n)]],
        ["ZADD", f"{prefix}z", *[x for i in range(n) for x in (str(i), f"m{i}")]],
    ]


def _check(key: str) -> list:
    return [
        ["TYPE", key],
        ["OBJECT", "ENCODING", key],
        (["TTL", key], ttl_close),
    ]


def _contents(prefix: str) -> list:
    return [
        (["HGETALL", f"{prefix}h"], unordered),
        ["LRANGE", f"{prefix}l", "0", "-1"],
        (["SMEMBERS", f"{prefix}s"], unordered),
        ["ZRANGE", f"{prefix}z", "0", "-1", "WITHSCORES"],
    ]


@pytest.mark.parametrize("n", [3, 300], ids=["small", "big"])
def test_keyspace_commands_on_every_collection_type(diff, all_types, n):
    """RENAME / COPY / MOVE / EXPIRE / PERSIST / SCAN TYPE / DEL on each collection type,
    small ones and ones past the purge-in-batch limit (their elements are copied by
    re-prefixing and the dropped versions left to the background reclaim)."""
    cmds: list = list(_collections("a", n))
    for t in "hlsz":
        cmds += [
            ["RENAME", f"a{t}", f"b{t}"],
            ["EXISTS", f"a{t}"],
            ["COPY", f"b{t}", f"c{t}"],
            ["COPY", f"b{t}", f"c{t}"],
            ["EXPIRE", f"c{t}", "1000"],
            ["COPY", f"c{t}", f"d{t}", "DB", "1"],
            ["MOVE", f"b{t}", "2"],
            ["MOVE", f"b{t}", "2"],
            *_check(f"c{t}"),
            ["PERSIST", f"c{t}"],
            *_check(f"c{t}"),
        ]
    cmds += _contents("c")
    cmds += [
        (["SCAN", "0", "TYPE", "hash", "COUNT", "1000"], scan_done),
        (["SCAN", "0", "TYPE", "list", "COUNT", "1000"], scan_done),
        (["SCAN", "0", "TYPE", "set", "COUNT", "1000"], scan_done),
        (["SCAN", "0", "TYPE", "zset", "COUNT", "1000"], scan_done),
        (["SCAN", "0", "TYPE", "string", "COUNT", "1000"], scan_done),
        ["SELECT", "1"],
        *_check("dz"),
        *_contents("d"),
        ["SELECT", "2"],
        *_contents("b"),
        ["FLUSHDB"],
        ["SELECT", "0"],
        # Overwrite each collection with a string and then the other way round.
        ["SET", "ch", "now a string"],
        ["TYPE", "ch"],
        ["RENAME", "cl", "cs"],
        ["TYPE", "cs"],
        ["LLEN", "cs"],
        ["DEL", "ch", "cs", "cz", "missing"],
        ["DBSIZE"],
    ]
    diff(cmds)
