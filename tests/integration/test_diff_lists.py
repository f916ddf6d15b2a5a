"""List commands, pikad against redis-server, replies compared byte for byte.

LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM LPOS LMOVE
RPOPLPUSH LMPOP, and the blocking commands where they do not block (a list has data, a
timeout elapses, MULTI turns them non-blocking, argument errors). Option combinations, the
order in which errors win (syntax, then numbers, then the key's type), WRONGTYPE against a
string, RESP3 nulls, empty lists disappearing, TTLs kept by edits, OBJECT ENCODING, and
lists big enough that the middle edits move the shorter side one way or the other.
Multi-client blocking behaviour is in test_blocking.py.
"""

from __future__ import annotations

import pytest

from integration.diff import ints_close, transform

pttl_close = ints_close(150)

LLONG_MAX = str((1 << 63) - 1)
LLONG_MIN = str(-(1 << 63))

WRONGTYPE_CASES = [
    ["LPUSH", "s", "a"],
    ["RPUSH", "s", "a"],
    ["LPUSHX", "s", "a"],
    ["RPUSHX", "s", "a"],
    ["LPOP", "s"],
    ["RPOP", "s"],
    ["LPOP", "s", "2"],
    ["LPOP", "s", "0"],
    ["LLEN", "s"],
    ["LRANGE", "s", "0", "-1"],
    ["LINDEX", "s", "0"],
    ["LSET", "s", "0", "x"],
    ["LINSERT", "s", "BEFORE", "a", "b"],
    ["LREM", "s", "0", "a"],
    ["LTRIM", "s", "0", "1"],
    ["LPOS", "s", "a"],
    ["LPOS", "s", "a", "COUNT", "0"],
    ["LMOVE", "s", "l", "LEFT", "RIGHT"],
    ["LMOVE", "l", "s", "LEFT", "RIGHT"],
    ["RPOPLPUSH", "s", "l"],
    ["RPOPLPUSH", "l", "s"],
    ["LMPOP", "1", "s", "LEFT"],
    ["LMPOP", "2", "nokey", "s", "RIGHT", "COUNT", "3"],
    ["BLPOP", "s", "0"],
    ["BRPOP", "nokey", "s", "0"],
    ["BLMOVE", "s", "l", "LEFT", "LEFT", "0"],
    ["BLMOVE", "l", "s", "LEFT", "LEFT", "0"],
    ["BRPOPLPUSH", "s", "l", "0"],
    ["BRPOPLPUSH", "l", "s", "0"],
    ["BLMPOP", "0", "2", "nokey", "s", "LEFT"],
]


# ---- pushes, pops, length ----


def test_push_and_range_basics(diff):
    diff(
        [
            ["LPUSH", "l", "a"],
            ["LPUSH", "l", "b", "c"],
            ["RPUSH", "l", "x", "y", "z"],
            ["LRANGE", "l", "0", "-1"],
            ["LLEN", "l"],
            ["TYPE", "l"],
            ["OBJECT", "ENCODING", "l"],
            ["RPUSH", "bin", b"\x00\xff\r\n", "", "x" * 10_000],
            ["LRANGE", "bin", "0", "-1"],
            ["LLEN", "nokey"],
            ["LRANGE", "nokey", "0", "-1"],
            ["lpush", "lower", "1"],
            ["LPUSH", "l"],
            ["RPUSH"],
            ["LLEN"],
            ["LLEN", "a", "b"],
        ]
    )


def test_pushx(diff):
    diff(
        [
            ["LPUSHX", "l", "a"],
            ["RPUSHX", "l", "a", "b"],
            ["EXISTS", "l"],
            ["RPUSH", "l", "m"],
            ["LPUSHX", "l", "a", "b"],
            ["RPUSHX", "l", "y", "z"],
            ["LRANGE", "l", "0", "-1"],
            ["LPUSHX", "l"],
        ]
    )


def test_pop_single_and_count(diff):
    diff(
        [
            ["RPUSH", "l", "a", "b", "c", "d", "e", "f"],
            ["LPOP", "l"],
            ["RPOP", "l"],
            ["LPOP", "l", "2"],
            ["RPOP", "l", "1"],
            ["LPOP", "l", "0"],
            ["RPOP", "l", "0"],
            ["LRANGE", "l", "0", "-1"],
            ["RPOP", "l", "10"],
            ["EXISTS", "l"],
            ["LPOP", "l"],
            ["LPOP", "l", "0"],
            ["LPOP", "l", "3"],
            ["RPUSH", "l", "a", "b", "c"],
            ["LPOP", "l", "100"],
            ["EXISTS", "l"],
            ["RPUSH", "l", "a"],
            ["LPOP", "l", "-1"],
            ["LPOP", "l", "x"],
            ["LPOP", "l", "1.5"],
            ["LPOP", "nokey", "-1"],
            ["LPOP", "l", LLONG_MAX],
            ["LPOP", "l", "1", "2"],
            ["RPOP", "l", "1", "2"],
            ["LPOP"],
        ]
    )


def test_pop_resp3(diff):
    diff(
        [
            ["LPOP", "nokey"],
            ["LPOP", "nokey", "2"],
            ["RPOP", "nokey", "0"],
            ["RPUSH", "l", "a", "b"],
            ["RPOP", "l", "5"],
            ["LINDEX", "l", "0"],
            ["LPOS", "nokey", "a"],
            ["LMOVE", "nokey", "l", "LEFT", "LEFT"],
            ["LMPOP", "1", "nokey", "LEFT"],
        ],
        proto=3,
    )


def test_wrongtype(diff):
    diff([["SET", "s", "string"], ["RPUSH", "l", "a", "b"], *WRONGTYPE_CASES, ["GET", "s"]])
    diff([["SET", "s", "string"], ["LRANGE", "l", "0", "-1"], ["LLEN", "l"]])


def test_wrongtype_leaves_lists_alone(diff):
    diff(
        [
            ["SET", "s", "v"],
            ["RPUSH", "l", "a", "b"],
            ["LMOVE", "l", "s", "RIGHT", "LEFT"],
            ["RPOPLPUSH", "l", "s"],
            ["BLMOVE", "l", "s", "RIGHT", "LEFT", "0"],
            ["LRANGE", "l", "0", "-1"],
            ["GET", "s"],
        ]
    )


def test_arity(diff):
    diff(
        [
            ["LRANGE", "l", "0"],
            ["LINDEX", "l"],
            ["LSET", "l", "0"],
            ["LINSERT", "l", "BEFORE", "a"],
            ["LREM", "l", "0"],
            ["LTRIM", "l", "0"],
            ["LPOS", "l"],
            ["LMOVE", "a", "b", "LEFT"],
            ["RPOPLPUSH", "a"],
            ["LMPOP", "1", "a"],
            ["BLPOP", "a"],
            ["BRPOP", "a"],
            ["BLMOVE", "a", "b", "LEFT", "LEFT"],
            ["BRPOPLPUSH", "a", "b"],
            ["BLMPOP", "0", "1", "a"],
        ]
    )


def test_command_info(diff):
    def core(v):
        return [None if e is None else [e[0], e[1], e[3], e[4], e[5]] for e in v]

    names = [
        "lpush rpush lpushx rpushx lpop rpop llen lrange lindex lset linsert lrem ltrim",
        "lpos lmove rpoplpush lmpop blpop brpop blmove brpoplpush blmpop",
    ]
    for group in names:
        diff([(["COMMAND", "INFO", *group.split()], transform(core, "core"))])

    def flags(v):
        return [None if e is None else sorted(e[2]) for e in v]

    diff([(["COMMAND", "INFO", *" ".join(names).split()], transform(flags, "flags"))])
    diff(
        [
            ["COMMAND", "GETKEYS", "BLPOP", "a", "b", "0"],
            ["COMMAND", "GETKEYS", "BLMOVE", "a", "b", "LEFT", "LEFT", "0"],
            ["COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT"],
            ["COMMAND", "GETKEYS", "BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "2"],
            ["COMMAND", "GETKEYS", "RPOPLPUSH", "a", "b"],
        ]
    )


# ---- LRANGE / LINDEX / LSET ----


def test_lrange_indexes(diff):
    cases = [
        ("0", "-1"),
        ("0", "0"),
        ("-1", "-1"),
        ("2", "4"),
        ("-3", "-2"),
        ("-100", "100"),
        ("5", "100"),
        ("10", "20"),
        ("4", "2"),
        ("-1", "0"),
        ("-100", "-50"),
        (LLONG_MIN, LLONG_MAX),
        (LLONG_MAX, LLONG_MIN),
        ("0", LLONG_MIN),
    ]
    diff(
        [["RPUSH", "l", *"abcdefghij"]]
        + [["LRANGE", "l", a, b] for a, b in cases]
        + [
            ["LRANGE", "l", "x", "1"],
            ["LRANGE", "l", "0", "y"],
            ["LRANGE", "l", "1.0", "2"],
            ["LRANGE", "l", "0", "99999999999999999999"],
            ["LRANGE", "nokey", "x", "1"],
            ["LRANGE", "nokey", "0", "1"],
        ]
    )


def test_lindex(diff):
    diff(
        [["RPUSH", "l", "a", "b", "c", "d"]]
        + [["LINDEX", "l", i] for i in ("0", "3", "4", "-1", "-4", "-5", LLONG_MIN, LLONG_MAX)]
        + [
            ["LINDEX", "l", "x"],
            ["LINDEX", "l", "1.5"],
            ["LINDEX", "nokey", "x"],
            ["LINDEX", "nokey", "0"],
            ["SET", "s", "v"],
            ["LINDEX", "s", "x"],
        ]
    )


def test_lset(diff):
    diff(
        [
            ["RPUSH", "l", "a", "b", "c"],
            ["LSET", "l", "0", "A"],
            ["LSET", "l", "-1", "C"],
            ["LSET", "l", "1", ""],
            ["LRANGE", "l", "0", "-1"],
            ["LSET", "l", "3", "x"],
            ["LSET", "l", "-4", "x"],
            ["LSET", "l", LLONG_MIN, "x"],
            ["LSET", "l", "x", "y"],
            ["LSET", "nokey", "0", "x"],
            ["LSET", "nokey", "x", "x"],
            ["SET", "s", "v"],
            ["LSET", "s", "x", "y"],
            ["LRANGE", "l", "0", "-1"],
        ]
    )


# ---- LINSERT / LREM / LTRIM ----


def test_linsert(diff):
    diff(
        [
            ["RPUSH", "l", "a", "b", "c", "b"],
            ["LINSERT", "l", "BEFORE", "b", "x"],
            ["LINSERT", "l", "AFTER", "b", "y"],
            ["LINSERT", "l", "before", "a", "first"],
            ["LINSERT", "l", "after", "b", "last?"],
            ["LINSERT", "l", "AFTER", "c", "z"],
            ["LINSERT", "l", "BEFORE", "nope", "q"],
            ["LRANGE", "l", "0", "-1"],
            ["LINSERT", "l", "MIDDLE", "a", "q"],
            ["LINSERT", "nokey", "BEFORE", "a", "q"],
            ["LINSERT", "nokey", "MIDDLE", "a", "q"],
            ["EXISTS", "nokey"],
            ["SET", "s", "v"],
            ["LINSERT", "s", "MIDDLE", "a", "q"],
            ["LLEN", "l"],
        ]
    )


def test_linsert_both_sides_of_a_long_list(diff):
    items = [str(i) for i in range(300)]
    diff(
        [
            ["RPUSH", "l", *items],
            ["LINSERT", "l", "BEFORE", "10", "near-head"],
            ["LINSERT", "l", "AFTER", "290", "near-tail"],
            ["LINSERT", "l", "BEFORE", "150", "middle"],
            ["LINSERT", "l", "AFTER", "0", "second"],
            ["LINSERT", "l", "AFTER", "299", "tail"],
            ["LINSERT", "l", "BEFORE", "0", "head"],
            ["LRANGE", "l", "0", "-1"],
            ["LINDEX", "l", "0"],
            ["LINDEX", "l", "-1"],
            ["LINDEX", "l", "151"],
            ["LPOP", "l", "3"],
            ["RPOP", "l", "3"],
            ["LLEN", "l"],
        ]
    )


def test_lrem(diff):
    diff(
        [
            ["RPUSH", "l", "a", "b", "a", "c", "a", "d", "a"],
            ["LREM", "l", "-2", "a"],
            ["LRANGE", "l", "0", "-1"],
            ["LREM", "l", "1", "a"],
            ["LRANGE", "l", "0", "-1"],
            ["LREM", "l", "0", "a"],
            ["LREM", "l", "0", "zz"],
            ["LRANGE", "l", "0", "-1"],
            ["LREM", "l", "0", "b"],
            ["LREM", "l", "5", "c"],
            ["LREM", "l", "-5", "d"],
            ["EXISTS", "l"],
            ["LREM", "l", "x", "a"],
            ["LREM", "nokey", "x", "a"],
            ["LREM", "nokey", "0", "a"],
            ["RPUSH", "m", "x", "y", "x"],
            ["LREM", "m", LLONG_MIN, "x"],
            ["LREM", "m", LLONG_MAX, "y"],
            ["EXISTS", "m"],
        ]
    )


def test_lrem_long_lists(diff):
    items = [("x" if i % 37 == 0 else str(i)) for i in range(400)]
    diff(
        [
            ["RPUSH", "l", *items],
            ["LREM", "l", "2", "x"],
            ["LREM", "l", "-2", "x"],
            ["LRANGE", "l", "0", "-1"],
            ["LREM", "l", "0", "x"],
            ["LRANGE", "l", "0", "-1"],
            ["LREM", "l", "1", "399"],
            ["LREM", "l", "-1", "1"],
            ["LRANGE", "l", "0", "-1"],
            ["RPUSH", "l", "a"],
            ["LPUSH", "l", "b"],
            ["LRANGE", "l", "0", "3"],
            ["LRANGE", "l", "-3", "-1"],
            ["LLEN", "l"],
        ]
    )


def test_ltrim(diff):
    diff(
        [
            ["RPUSH", "l", *"abcdefghij"],
            ["LTRIM", "l", "1", "-2"],
            ["LRANGE", "l", "0", "-1"],
            ["LTRIM", "l", "-3", "100"],
            ["LRANGE", "l", "0", "-1"],
            ["LTRIM", "l", "0", "-1"],
            ["LRANGE", "l", "0", "-1"],
            ["LTRIM", "l", "2", "1"],
            ["EXISTS", "l"],
            ["RPUSH", "l", "a", "b"],
            ["LTRIM", "l", "5", "10"],
            ["EXISTS", "l"],
            ["RPUSH", "l", "a", "b"],
            ["LTRIM", "l", LLONG_MIN, LLONG_MAX],
            ["LRANGE", "l", "0", "-1"],
            ["LTRIM", "l", "x", "1"],
            ["LTRIM", "l", "0", "1.5"],
            ["LTRIM", "nokey", "x", "1"],
            ["LTRIM", "nokey", "0", "1"],
            ["EXISTS", "nokey"],
        ]
    )


def test_ltrim_long_list_then_grow(diff):
    diff(
        [
            ["RPUSH", "l", *[str(i) for i in range(500)]],
            ["LTRIM", "l", "100", "-101"],
            ["LLEN", "l"],
            ["LINDEX", "l", "0"],
            ["LINDEX", "l", "-1"],
            ["LPUSH", "l", "new-head"],
            ["RPUSH", "l", "new-tail"],
            ["LRANGE", "l", "0", "2"],
            ["LRANGE", "l", "-2", "-1"],
            ["LTRIM", "l", "0", "0"],
            ["LRANGE", "l", "0", "-1"],
        ]
    )


# ---- LPOS ----


def test_lpos(diff):
    diff(
        [
            ["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"],
            ["LPOS", "l", "a"],
            ["LPOS", "l", "c"],
            ["LPOS", "l", "z"],
            ["LPOS", "l", "a", "RANK", "2"],
            ["LPOS", "l", "a", "RANK", "-1"],
            ["LPOS", "l", "a", "RANK", "-3"],
            ["LPOS", "l", "a", "RANK", "4"],
            ["LPOS", "l", "a", "RANK", LLONG_MAX],
            ["LPOS", "l", "a", "RANK", LLONG_MIN],
            ["LPOS", "l", "a", "COUNT", "0"],
            ["LPOS", "l", "a", "COUNT", "2"],
            ["LPOS", "l", "a", "COUNT", "0", "RANK", "-1"],
            ["LPOS", "l", "a", "COUNT", "1", "RANK", "2"],
            ["LPOS", "l", "a", "COUNT", "0", "RANK", "3"],
            ["LPOS", "l", "a", "COUNT", "0", "RANK", "4"],
            ["LPOS", "l", "a", "MAXLEN", "3"],
            ["LPOS", "l", "a", "MAXLEN", "1", "RANK", "-1"],
            ["LPOS", "l", "b", "MAXLEN", "1"],
            ["LPOS", "l", "b", "MAXLEN", "1", "COUNT", "0"],
            ["LPOS", "l", "a", "COUNT", "2", "RANK", "-2", "MAXLEN", "3"],
            ["LPOS", "l", "a", "COUNT", "5", "RANK", "-1", "MAXLEN", "7"],
            ["lpos", "l", "a", "count", "1", "rank", "1", "maxlen", "0"],
            ["LPOS", "l", "a", "RANK", "1", "RANK", "2"],
            ["LPOS", "nokey", "a"],
            ["LPOS", "nokey", "a", "COUNT", "1"],
        ]
    )


def test_lpos_errors(diff):
    diff(
        [
            ["RPUSH", "l", "a"],
            ["LPOS", "l", "a", "RANK", "0"],
            ["LPOS", "l", "a", "RANK", "x"],
            ["LPOS", "l", "a", "RANK"],
            ["LPOS", "l", "a", "COUNT", "-1"],
            ["LPOS", "l", "a", "COUNT", "x"],
            ["LPOS", "l", "a", "MAXLEN", "-1"],
            ["LPOS", "l", "a", "MAXLEN", "x"],
            ["LPOS", "l", "a", "FOO", "1"],
            ["LPOS", "l", "a", "FOO"],
            ["LPOS", "l", "a", "COUNT", "1", "RANK", "0"],
            ["LPOS", "l", "a", "RANK", "0", "COUNT", "-1"],
            ["LPOS", "nokey", "a", "RANK", "0"],
            ["SET", "s", "v"],
            ["LPOS", "s", "a", "RANK", "0"],
            ["LPOS", "s", "a", "FOO"],
        ]
    )


# ---- LMOVE / RPOPLPUSH ----


def test_lmove_directions(diff):
    cmds = [["RPUSH", "src", "1", "2", "3", "4"], ["RPUSH", "dst", "a", "b"]]
    for wf in ("LEFT", "RIGHT"):
        for wt in ("LEFT", "RIGHT"):
            cmds += [["LMOVE", "src", "dst", wf, wt], ["LRANGE", "dst", "0", "-1"]]
    cmds += [
        ["LRANGE", "src", "0", "-1"],
        ["EXISTS", "src"],
        ["LMOVE", "src", "dst", "left", "right"],
        ["LMOVE", "nokey", "dst", "LEFT", "LEFT"],
        ["LMOVE", "dst", "new", "RIGHT", "LEFT"],
        ["LRANGE", "new", "0", "-1"],
        ["LMOVE", "dst", "dst", "UP", "LEFT"],
        ["LMOVE", "nokey", "dst", "LEFT", "DOWN"],
    ]
    diff(cmds)


def test_lmove_same_key_rotates(diff):
    diff(
        [
            ["RPUSH", "l", "a", "b", "c"],
            ["LMOVE", "l", "l", "LEFT", "RIGHT"],
            ["LRANGE", "l", "0", "-1"],
            ["LMOVE", "l", "l", "RIGHT", "LEFT"],
            ["LRANGE", "l", "0", "-1"],
            ["LMOVE", "l", "l", "LEFT", "LEFT"],
            ["LMOVE", "l", "l", "RIGHT", "RIGHT"],
            ["LRANGE", "l", "0", "-1"],
            ["RPOPLPUSH", "l", "l"],
            ["LRANGE", "l", "0", "-1"],
            ["RPUSH", "one", "x"],
            ["LMOVE", "one", "one", "LEFT", "RIGHT"],
            ["RPOPLPUSH", "one", "one"],
            ["LRANGE", "one", "0", "-1"],
        ]
    )


def test_rpoplpush(diff):
    diff(
        [
            ["RPUSH", "src", "1", "2"],
            ["RPOPLPUSH", "src", "dst"],
            ["RPOPLPUSH", "src", "dst"],
            ["RPOPLPUSH", "src", "dst"],
            ["EXISTS", "src"],
            ["LRANGE", "dst", "0", "-1"],
            ["SET", "s", "v"],
            ["RPOPLPUSH", "nokey", "s"],
        ]
    )


def test_edits_keep_ttl(diff):
    diff(
        [
            ["RPUSH", "l", "a", "b", "c", "d"],
            ["EXPIRE", "l", "100"],
            ["LPUSH", "l", "x"],
            ["RPOP", "l"],
            ["LSET", "l", "0", "y"],
            ["LINSERT", "l", "AFTER", "y", "z"],
            ["LREM", "l", "1", "z"],
            ["LTRIM", "l", "0", "1"],
            ["LMOVE", "l", "l", "LEFT", "RIGHT"],
            ["RPOPLPUSH", "l", "other"],
            (["PTTL", "l"], pttl_close),
            ["TTL", "other"],
            ["LRANGE", "l", "0", "-1"],
        ]
    )


def test_expired_list_is_gone(diff):
    diff(
        [
            ["RPUSH", "l", "a", "b"],
            ["PEXPIRE", "l", "1"],
            ["DEBUG", "SLEEP", "0.01"],
            ["LLEN", "l"],
            ["LPOP", "l"],
            ["LRANGE", "l", "0", "-1"],
            ["RPUSHX", "l", "x"],
            ["RPUSH", "l", "fresh"],
            ["LRANGE", "l", "0", "-1"],
            ["TTL", "l"],
        ]
    )


# ---- LMPOP ----


def test_lmpop(diff):
    diff(
        [
            ["RPUSH", "a", "1", "2", "3"],
            ["RPUSH", "b", "x", "y"],
            ["LMPOP", "2", "nokey", "a", "LEFT"],
            ["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "10"],
            ["LMPOP", "2", "a", "b", "LEFT", "COUNT", "1"],
            ["LMPOP", "3", "nokey", "a", "b", "right", "count", "5"],
            ["LMPOP", "2", "a", "b", "LEFT"],
            ["EXISTS", "a", "b"],
            ["LMPOP", "1", "a", "LEFT", "COUNT", LLONG_MAX],
        ]
    )


def test_lmpop_errors(diff):
    diff(
        [
            ["RPUSH", "l", "a"],
            ["LMPOP", "0", "l", "LEFT"],
            ["LMPOP", "-1", "l", "LEFT"],
            ["LMPOP", "x", "l", "LEFT"],
            ["LMPOP", "2", "l", "LEFT"],
            ["LMPOP", "3", "l", "LEFT"],
            ["LMPOP", LLONG_MAX, "l", "LEFT"],
            ["LMPOP", "1", "l", "MIDDLE"],
            ["LMPOP", "1", "l", "LEFT", "COUNT", "0"],
            ["LMPOP", "1", "l", "LEFT", "COUNT", "-1"],
            ["LMPOP", "1", "l", "LEFT", "COUNT", "x"],
            ["LMPOP", "1", "l", "LEFT", "COUNT"],
            ["LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2"],
            ["LMPOP", "1", "l", "LEFT", "FOO"],
            ["LMPOP", "1", "nokey", "LEFT", "COUNT", "0"],
            ["SET", "s", "v"],
            ["LMPOP", "1", "s", "LEFT", "COUNT", "0"],
            ["LRANGE", "l", "0", "-1"],
        ]
    )


# ---- blocking commands that do not block ----


def test_blocking_commands_with_data(diff):
    diff(
        [
            ["RPUSH", "a", "1", "2", "3"],
            ["RPUSH", "b", "x"],
            ["BLPOP", "nokey", "a", "b", "0"],
            ["BRPOP", "nokey", "a", "b", "0"],
            ["BRPOP", "b", "a", "1"],
            ["BLMOVE", "a", "dst", "LEFT", "RIGHT", "0"],
            ["BRPOPLPUSH", "dst", "a", "0"],
            ["BLMPOP", "0", "2", "nokey", "a", "RIGHT"],
            ["RPUSH", "a", "1", "2", "3"],
            ["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "2"],
            ["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "5"],
            ["EXISTS", "a", "b", "dst"],
        ]
    )
    diff(
        [
            ["RPUSH", "a", "1", "2"],
            ["BLPOP", "a", "0"],
            ["BLMOVE", "a", "a", "LEFT", "RIGHT", "0"],
            ["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "2"],
        ],
        proto=3,
    )


def test_blocking_timeouts_reply_null_arrays(diff):
    diff(
        [
            ["BLPOP", "a", "0.01"],
            ["BRPOP", "a", "b", "0.01"],
            ["BLMOVE", "a", "b", "LEFT", "LEFT", "0.01"],
            ["BRPOPLPUSH", "a", "b", "0.01"],
            ["BLMPOP", "0.01", "2", "a", "b", "LEFT"],
            ["BLPOP", "a", "0.0001"],
            ["BLPOP", "a", ".005"],
            ["BLPOP", "a", "0x1p-7"],
            ["BLPOP", "a", "1e-2"],
            ["EXISTS", "a", "b"],
        ]
    )
    diff(
        [
            ["BLPOP", "a", "0.01"],
            ["BLMOVE", "a", "b", "LEFT", "LEFT", "0.01"],
            ["BRPOPLPUSH", "a", "b", "0.01"],
            ["BLMPOP", "0.01", "1", "a", "LEFT"],
        ],
        proto=3,
    )


@pytest.mark.parametrize(
    "timeout",
    ["-1", "-0.002", "x", "", " 1", "1 ", "nan", "inf", "-inf", "1e20", "9.3e15", "1e", "0x"],
)
def test_blocking_timeout_errors(diff, timeout):
    diff(
        [
            ["BLPOP", "a", timeout],
            ["BRPOP", "a", timeout],
            ["BLMOVE", "a", "b", "LEFT", "LEFT", timeout],
            ["BRPOPLPUSH", "a", "b", timeout],
            ["BLMPOP", timeout, "1", "a", "LEFT"],
        ]
    )


def test_blocking_argument_errors_order(diff):
    diff(
        [
            ["SET", "s", "v"],
            ["BLPOP", "s", "-1"],
            ["BLMOVE", "a", "b", "UP", "LEFT", "-1"],
            ["BLMOVE", "a", "b", "LEFT", "DOWN", "x"],
            ["BLMOVE", "s", "b", "LEFT", "LEFT", "-1"],
            ["BLMPOP", "-1", "0", "a", "LEFT"],
            ["BLMPOP", "x", "1", "a", "UP"],
            ["BLMPOP", "x", "1", "a", "LEFT"],
            ["BLMPOP", "0.01", "1", "a", "LEFT", "COUNT", "0"],
            ["BLMPOP", "0.01", "1", "a", "LEFT", "COUNT", "1", "FOO"],
            ["BLMPOP", "0.01", "2", "a", "LEFT"],
            ["BLMPOP", "-1", "1", "s", "LEFT"],
        ]
    )


def test_blocking_commands_inside_multi(diff):
    body = [
        ["MULTI"],
        ["BLPOP", "a", "0"],
        ["BRPOP", "a", "b", "0"],
        ["BLMOVE", "a", "b", "LEFT", "LEFT", "0"],
        ["BRPOPLPUSH", "a", "b", "0"],
        ["BLMPOP", "0", "1", "a", "LEFT"],
        ["BLPOP", "a", "-1"],
        ["RPUSH", "a", "x", "y", "z"],
        ["BLPOP", "a", "0"],
        ["BLMOVE", "a", "b", "RIGHT", "LEFT", "0"],
        ["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "9"],
        ["BRPOPLPUSH", "b", "c", "0"],
        ["EXEC"],
        ["LRANGE", "c", "0", "-1"],
    ]
    _needs_multi(diff)
    diff(body)
    diff(body, proto=3)


def _needs_multi(diff) -> None:
    left, _ = diff.conns()
    left.send(["COMMAND", "INFO", "MULTI"])
    if b"multi" not in left.read_reply().lower():
        pytest.skip("pikad has no MULTI yet")


# ---- rename / copy / other keyspace commands on lists ----


def test_lists_through_keyspace_commands(diff):
    diff(
        [
            ["RPUSH", "l", "a", "b", "c"],
            ["RENAME", "l", "m"],
            ["LRANGE", "m", "0", "-1"],
            ["RPUSH", "m", "d"],
            ["LPUSH", "m", "z"],
            ["COPY", "m", "n"],
            ["LPOP", "n"],
            ["LRANGE", "m", "0", "-1"],
            ["LRANGE", "n", "0", "-1"],
            ["MOVE", "n", "1"],
            ["SELECT", "1"],
            ["LRANGE", "n", "0", "-1"],
            ["RPUSH", "n", "tail"],
            ["LINDEX", "n", "-1"],
            ["SELECT", "0"],
            ["DEL", "m"],
            ["LRANGE", "m", "0", "-1"],
            ["RPUSH", "m", "again"],
            ["LRANGE", "m", "0", "-1"],
            ["SET", "m", "string now"],
            ["TYPE", "m"],
        ]
    )


def test_object_encoding_small_and_big(diff):
    diff(
        [
            ["RPUSH", "small", "a"],
            ["OBJECT", "ENCODING", "small"],
            ["RPUSH", "big", *[str(i) for i in range(200)]],
            ["OBJECT", "ENCODING", "big"],
            ["RPUSH", "long", "x" * 100],
            ["OBJECT", "ENCODING", "long"],
        ]
    )
