"""Server commands, pikad against redis-server: DBSIZE, FLUSHDB/FLUSHALL, TIME, LASTSAVE,
CONFIG, DEBUG, SLOWLOG, COMMAND, INFO, error texts for unknown commands and wrong arity,
inline commands and a pipeline of 1,000 commands in one write.

Both servers run with enable-debug-command local (conftest). Tests that change runtime
config put it back (restore_config), since the servers live for the whole module.
"""

from __future__ import annotations

import re

import pytest

from integration.diff import (
    DiffMismatch,
    Error,
    anything,
    ignore,
    pairwise,
    pipeline_bytes,
    shape,
    transform,
    unordered_pairs,
)

# ---- fixtures and normalizers used here ----


@pytest.fixture
def restore_config(pikad, redis_oracle):
    """restore_config("a", "b"): CONFIG SET these back to their current values after the test."""
    saved: list[tuple[object, dict]] = []

    def remember(*names: str) -> None:
        for server in (pikad, redis_oracle):
            c = server.client(decode_responses=True)
            saved.append((c, {n: c.config_get(n)[n] for n in names}))

    yield remember
    for c, values in saved:
        for name, value in values.items():
            c.config_set(name, value)


def _command_info_core(v: object) -> object:
    """COMMAND INFO entries -> name, arity, first key, last key, key step (the parts every
    client library relies on); flags, ACL categories, tips, key specs may differ."""
    if isinstance(v, Error):
        return v
    return [None if e is None else [e[0], e[1], e[3], e[4], e[5]] for e in v]


command_info_core = transform(_command_info_core, "COMMAND INFO name/arity/key positions")


def _time_pair(a: object, b: object) -> object:
    """TIME: two bulk strings, unix seconds and microseconds, both clocks within 5 s."""
    for v in (a, b):
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, bytes) for x in v)):
            return f"not a 2-element array of bulk strings: {v!r}"
        if not (v[0].isdigit() and v[1].isdigit() and int(v[1]) < 1_000_000):
            return f"not seconds/microseconds: {v!r}"
    ta = int(a[0]) + int(a[1]) / 1e6
    tb = int(b[0]) + int(b[1]) / 1e6
    return abs(ta - tb) < 5 or f"clocks {ta} and {tb} differ by more than 5 s"


time_pair = pairwise(_time_pair, "TIME shape, clocks within 5 s")


def _both_ints(a: object, b: object) -> object:
    return (
        type(a) is int and type(b) is int and a >= 0 and b >= 0
    ) or f"not both integers >= 0: {a!r}, {b!r}"


both_ints = pairwise(_both_ints, "both non-negative integers")


def _slowlog_entries(v: object) -> object:
    """SLOWLOG GET: each entry's shape and logged arguments and client name; the id,
    timestamp, duration and client address are the server's own."""
    if isinstance(v, Error) or not isinstance(v, list):
        return v
    out = []
    for e in v:
        if not (isinstance(e, list) and len(e) == 6):
            out.append(("malformed entry", e))
            continue
        out.append(
            (
                [type(x).__name__ for x in e],
                e[3],  # the command and its arguments
                e[5],  # client name
            )
        )
    return out


slowlog_entries = transform(_slowlog_entries, "SLOWLOG entries without id/time/duration/addr")


def _without_avg_ttl(v: object) -> object:
    if isinstance(v, bytes):
        return (type(v).__name__, re.sub(rb"avg_ttl=\d+", b"avg_ttl=*", bytes(v)))
    return v


keyspace_info = transform(_without_avg_ttl, "INFO keyspace without avg_ttl")


# ---- DBSIZE, FLUSHDB, FLUSHALL ----


def test_dbsize(diff):
    diff(
        [
            ["DBSIZE"],
            ["SET", "a", "1"],
            ["SET", "b", "2"],
            ["DBSIZE"],
            ["SET", "a", "3"],
            ["DBSIZE"],
            ["DEL", "a"],
            ["DBSIZE"],
            ["SELECT", "4"],
            ["DBSIZE"],
            ["DBSIZE", "x"],
        ]
    )


def test_dbsize_counts_expired_keys_out(diff):
    diff(
        [
            ["SET", "k", "v", "PX", "1"],
            ["SET", "keep", "v"],
            ["DEBUG", "SLEEP", "0.05"],
            ["GET", "k"],
            ["DBSIZE"],
        ]
    )


def test_flushdb(diff):
    diff(
        [
            ["SET", "a", "1"],
            ["SELECT", "1"],
            ["SET", "b", "1"],
            ["SET", "c", "1"],
            ["FLUSHDB"],
            ["DBSIZE"],
            ["SELECT", "0"],
            ["DBSIZE"],  # other dbs untouched
            ["GET", "a"],
            ["SET", "x", "1"],
            ["FLUSHDB", "SYNC"],
            ["DBSIZE"],
            ["SET", "x", "1"],
            ["FLUSHDB", "ASYNC"],
            ["DBSIZE"],
            ["FLUSHDB", "async"],
            ["FLUSHDB", "FOO"],
            ["FLUSHDB", "ASYNC", "x"],
        ]
    )


def test_flushall(diff):
    diff(
        [
            ["SET", "a", "1"],
            ["SELECT", "7"],
            ["SET", "b", "1"],
            ["FLUSHALL"],
            ["DBSIZE"],
            ["SELECT", "0"],
            ["DBSIZE"],
            ["SET", "a", "1"],
            ["FLUSHALL", "ASYNC"],
            ["DBSIZE"],
            ["SET", "a", "1"],
            ["FLUSHALL", "SYNC"],
            ["DBSIZE"],
            ["FLUSHALL", "FOO"],
            ["FLUSHALL", "SYNC", "x"],
        ]
    )


# ---- TIME, LASTSAVE ----


def test_time(diff):
    diff([(["TIME"], time_pair), ["TIME", "x"]])


def test_time_resp3(diff):
    diff([(["TIME"], time_pair)], proto=3)


def test_lastsave(diff):
    diff([(["LASTSAVE"], both_ints), ["LASTSAVE", "x"]])


# ---- CONFIG ----


@pytest.mark.parametrize(
    "pattern",
    [
        "databases",
        "maxmemory",
        "maxmemory-policy",
        "bind",
        "save",
        "appendonly",
        "timeout",
        "hz",
        "slowlog-*",
        "*max-*-entries*",
        "DATABASES",
        "no-such-parameter",
    ],
)
def test_config_get(diff, pattern):
    diff([(["CONFIG", "GET", pattern], unordered_pairs)])


def test_config_get_several_and_resp3(diff):
    diff(
        [
            (["CONFIG", "GET", "maxmemory", "databases"], unordered_pairs),
            (["CONFIG", "GET", "databases", "databases"], unordered_pairs),
        ]
    )
    diff(
        [
            (["CONFIG", "GET", "maxmemory", "databases"], unordered_pairs),
            (["CONFIG", "GET", "*max-*-entries*"], unordered_pairs),
        ],
        proto=3,
    )


def test_config_get_port_is_own(diff):
    diff([(["CONFIG", "GET", "port"], shape)])
    for side in diff.sides:
        assert side.replies[0] == [b"port", str(side.port).encode()], side.name


def test_config_set_get_round_trip(diff, restore_config):
    restore_config("maxmemory", "maxmemory-policy", "slowlog-max-len", "timeout", "hz")
    diff(
        [
            ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
            ["CONFIG", "GET", "maxmemory-policy"],
            ["CONFIG", "SET", "maxmemory", "100mb"],
            ["CONFIG", "GET", "maxmemory"],
            ["CONFIG", "SET", "maxmemory", "1GB"],
            ["CONFIG", "GET", "maxmemory"],
            ["CONFIG", "SET", "maxmemory", "12345"],
            ["CONFIG", "GET", "maxmemory"],
            ["CONFIG", "SET", "MAXMEMORY-POLICY", "VOLATILE-TTL"],
            ["CONFIG", "GET", "maxmemory-policy"],
            ["CONFIG", "SET", "slowlog-max-len", "64", "timeout", "300"],
            (["CONFIG", "GET", "slowlog-max-len", "timeout"], unordered_pairs),
            ["CONFIG", "SET", "hz", "20"],
            ["CONFIG", "GET", "hz"],
        ]
    )


def test_config_set_errors(diff, restore_config):
    restore_config("maxmemory", "maxmemory-policy", "slowlog-max-len")
    diff(
        [
            ["CONFIG", "SET", "no-such-parameter", "1"],
            ["CONFIG", "SET", "foo", "bar"],
            ["CONFIG", "SET", "maxmemory", "abc"],
            ["CONFIG", "SET", "maxmemory-policy", "foo"],
            ["CONFIG", "SET", "slowlog-max-len", "-5"],
            ["CONFIG", "SET", "slowlog-max-len", "x"],
            ["CONFIG", "SET", "databases", "5"],
            ["CONFIG", "SET", "dir", "/tmp"],
            ["CONFIG", "SET", "maxmemory"],
            ["CONFIG", "SET", "maxmemory", "0", "foo"],
            ["CONFIG", "SET", "maxmemory", "0", "maxmemory", "1"],
            ["CONFIG", "SET", "maxmemory", "1mb", "maxmemory-policy", "bad"],
            ["CONFIG", "GET", "maxmemory"],  # the failed multi-SET changed nothing
            ["CONFIG", "SET"],
            ["CONFIG", "GET"],
            ["CONFIG"],
            ["CONFIG", "FOO"],
            ["CONFIG", "foo", "bar"],
        ]
    )


def test_config_resetstat(diff):
    diff([["CONFIG", "RESETSTAT"], ["CONFIG", "RESETSTAT", "x"], (["CONFIG", "HELP"], ignore)])


# ---- DEBUG ----


def test_debug_sleep(diff):
    diff(
        [
            ["DEBUG", "SLEEP", "0"],
            ["DEBUG", "SLEEP", "0.01"],
            ["DEBUG", "sleep", "0"],
            ["DEBUG"],
        ]
    )


def test_debug_not_allowed_by_default(diff_factory):
    diff = diff_factory()
    diff([["DEBUG", "SLEEP", "0"], ["DEBUG", "FOO"], ["DEBUG", "SLEEP"]])


# ---- SLOWLOG ----


def test_slowlog_basic(diff):
    diff(
        [
            ["SLOWLOG", "RESET"],
            ["SLOWLOG", "LEN"],
            ["SLOWLOG", "GET"],
            ["SLOWLOG", "GET", "0"],
            ["SLOWLOG", "GET", "-1"],
            (["SLOWLOG", "HELP"], ignore),
        ]
    )


def test_slowlog_errors(diff):
    diff(
        [
            ["SLOWLOG"],
            ["SLOWLOG", "FOO"],
            ["SLOWLOG", "GET", "x"],
            ["SLOWLOG", "GET", "-2"],
            ["SLOWLOG", "GET", "1", "2"],
            ["SLOWLOG", "LEN", "x"],
            ["SLOWLOG", "RESET", "x"],
        ]
    )


def test_slowlog_records_commands(diff, restore_config):
    restore_config("slowlog-log-slower-than", "slowlog-max-len")
    diff(
        [
            ["SLOWLOG", "RESET"],
            ["CONFIG", "SET", "slowlog-log-slower-than", "0"],
            ["CLIENT", "SETNAME", "slow-one"],
            ["SET", "a", "b"],
            ["GET", "a"],
            (["SLOWLOG", "GET", "2"], slowlog_entries),
            ["SLOWLOG", "LEN"],
            (["SLOWLOG", "GET"], slowlog_entries),
            ["SLOWLOG", "RESET"],
            ["SLOWLOG", "LEN"],  # the RESET itself is logged after the reset
            ["CONFIG", "SET", "slowlog-max-len", "2"],
            ["PING"],
            ["PING", "x"],
            ["ECHO", "y"],
            ["SLOWLOG", "LEN"],
            (["SLOWLOG", "GET", "-1"], slowlog_entries),
            ["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
            ["SLOWLOG", "RESET"],
            ["PING"],
            ["SLOWLOG", "LEN"],
        ]
    )


def test_slowlog_long_arguments_are_trimmed(diff, restore_config):
    restore_config("slowlog-log-slower-than")
    many = [str(i) for i in range(40)]
    diff(
        [
            ["SLOWLOG", "RESET"],
            ["CONFIG", "SET", "slowlog-log-slower-than", "0"],
            ["SET", "big", "x" * 200],
            ["DEL", *many],
            ["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
            (["SLOWLOG", "GET", "3"], slowlog_entries),
        ]
    )


# ---- COMMAND ----


def test_command_count(diff):
    diff([(["COMMAND", "COUNT"], both_ints), ["COMMAND", "COUNT", "x"]])


def test_command_info(diff):
    diff(
        [
            (["COMMAND", "INFO", "get", "set"], command_info_core),
            (["COMMAND", "INFO", "GET"], command_info_core),
            (["COMMAND", "INFO", "mset", "del", "ping", "select", "dbsize"], command_info_core),
            (["COMMAND", "INFO", "nosuchcommand", "get"], command_info_core),
            (["COMMAND", "INFO", "client", "config"], command_info_core),
        ]
    )


def test_command_info_resp3(diff):
    diff([(["COMMAND", "INFO", "get", "set"], command_info_core)], proto=3)


def test_command_getkeys(diff):
    diff(
        [
            ["COMMAND", "GETKEYS", "SET", "a", "b"],
            ["COMMAND", "GETKEYS", "SET", "a", "b", "EX", "10"],
            ["COMMAND", "GETKEYS", "MSET", "a", "b", "c", "d"],
            ["COMMAND", "GETKEYS", "MSET", "a", "b", "c"],
            ["COMMAND", "GETKEYS", "GET", "a"],
            ["COMMAND", "GETKEYS", "get", "a"],
            ["COMMAND", "GETKEYS", "DEL", "a", "b", "c"],
            ["COMMAND", "GETKEYS", "GET"],
            ["COMMAND", "GETKEYS", "GET", "a", "b"],
            ["COMMAND", "GETKEYS", "SET", "a"],
            ["COMMAND", "GETKEYS", "PING", "x"],
            ["COMMAND", "GETKEYS", "NOSUCHCOMMAND", "a"],
            ["COMMAND", "GETKEYS"],
        ]
    )


def test_command_misc(diff):
    diff(
        [
            ["COMMAND", "FOO"],
            (["COMMAND"], ignore),
            (["COMMAND", "HELP"], ignore),
            (["COMMAND", "DOCS", "get"], ignore),
        ]
    )


def test_command_list_contains_the_basics(diff):
    diff([(["COMMAND", "LIST"], ignore)])
    for side in diff.sides:
        names = set(side.replies[0])
        for name in (b"get", b"set", b"ping", b"select", b"client", b"config", b"command"):
            assert name in names, (side.name, name)


# ---- INFO ----


def test_info(diff):
    diff(
        [
            (["INFO"], ignore),
            (["INFO", "server"], ignore),
            (["INFO", "all"], ignore),
            (["INFO", "everything"], ignore),
            ["INFO", "keyspace"],
            ["INFO", "nosuchsection"],
        ]
    )


def test_info_keyspace(diff):
    diff(
        [
            ["SET", "a", "1"],
            ["SET", "b", "1"],
            ["SET", "t", "1", "EX", "1000"],
            ["SELECT", "3"],
            ["SET", "c", "1"],
            (["INFO", "keyspace"], keyspace_info),
            ["FLUSHALL"],
            ["INFO", "keyspace"],
        ]
    )


def test_info_resp3(diff):
    diff([["SET", "a", "1"], (["INFO", "keyspace"], keyspace_info), (["INFO"], ignore)], proto=3)


def test_info_sections_present(diff):
    """The sections clients read exist on both, and pikad's INFO server names a version."""
    diff([(["INFO", "everything"], ignore)])
    for side in diff.sides:
        text = bytes(side.replies[0]).decode()
        for header in ("# Server", "# Clients", "# Stats", "# Replication", "# Keyspace"):
            assert header in text, (side.name, header)
        assert re.search(r"^redis_version:\d+\.\d+\.\d+\r$", text, re.M), side.name
        assert re.search(rf"^tcp_port:{side.port}\r$", text, re.M), side.name


# ---- unknown commands, arity ----


def test_unknown_command_errors(diff):
    diff(
        [
            ["FOO"],
            ["FOO", "bar"],
            ["FOO", "bar", "baz"],
            ["foo", "BAR"],
            ["FOO", "x" * 200, "b", "c"],
            ["FOO", "a b", "'quoted'"],
            ["FOO", *[str(i) for i in range(40)]],
            ["x" * 200],
            [""],
        ]
    )


def test_wrong_arity_errors(diff):
    diff(
        [
            ["GET"],
            ["GET", "a", "b"],
            ["SET", "a"],
            ["SET"],
            ["MSET", "a"],
            ["DEL"],
            ["ECHO"],
            ["SELECT"],
            ["DBSIZE", "x"],
            ["TIME", "x"],
            ["LASTSAVE", "x"],
            ["FLUSHDB", "a", "b"],
            ["RESET", "x"],
            ["CONFIG", "GET"],
            ["COMMAND", "COUNT", "x"],
            ["CLIENT", "ID", "x"],
        ]
    )


# ---- inline commands and pipelines ----


def test_inline_commands(diff):
    diff.stream(b"PING\r\n", replies=1)
    diff.stream(b"SET a b\r\nGET a\r\n", replies=2)
    diff.stream(b"ECHO hello\r\nPING x\r\n", replies=2)
    diff.stream(b"SET   spaced    value  \r\nGET spaced\r\n", replies=2)
    diff.stream(b'SET "a b" "c\\x41\\n"\r\nGET "a b"\r\nSTRLEN "a b"\r\n', replies=3)
    diff.stream(b"SET 'single quoted' 'v v'\r\nGET 'single quoted'\r\n", replies=2)
    diff.stream(b"PING\nECHO lf-only\n", replies=2)  # LF alone ends an inline command too
    diff.stream(b"\r\n\r\nPING\r\n", replies=1)  # empty lines are skipped
    diff.stream(b"NOSUCH a b\r\nGET\r\n", replies=2)


def test_inline_then_multibulk_mixed(diff):
    diff.stream(
        b"SET k 1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\nINCR k\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        replies=4,
    )


def test_empty_multibulk_is_ignored(diff):
    diff.stream(b"*0\r\n*1\r\n$4\r\nPING\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", replies=2)


def test_pipeline_of_1000_commands(diff):
    commands = []
    for i in range(250):
        commands += [
            ["SET", f"key:{i}", f"value:{i}"],
            ["GET", f"key:{i}"],
            ["INCR", f"counter:{i % 7}"],
            ["EXISTS", f"key:{i}", f"key:{i + 1}"],
        ]
    assert len(commands) == 1000
    result = diff.stream(pipeline_bytes(commands), replies=1000, timeout=60)
    assert len(result.left) == len(result.right) == 1000
    diff([["DBSIZE"], ["GET", "counter:3"]], flush=False)


def test_pipeline_with_errors_in_the_middle(diff):
    commands = []
    for i in range(100):
        commands.append(["SET", f"k{i}", "v"] if i % 10 else ["NOSUCHCOMMAND", str(i)])
        commands.append(["GET"] if i % 17 == 0 else ["GET", f"k{i}"])
    diff.stream(pipeline_bytes(commands), replies=len(commands))


# ---- the harness itself ----


def test_harness_detects_a_difference(diff, restore_config):
    """A diff that must fail does fail (guards against a harness that compares nothing)."""
    restore_config("maxmemory-policy")
    diff.servers[0].client().config_set("maxmemory-policy", "allkeys-lru")
    with pytest.raises(DiffMismatch, match="maxmemory-policy"):
        diff([["CONFIG", "GET", "maxmemory-policy"]])
    diff([(["CONFIG", "GET", "maxmemory-policy"], anything)])
    # `ignore` still insists on the same RESP type: an error is not a bulk string.
    diff([["FLUSHALL"]])
    diff.servers[0].client().set("k", "not a number")
    diff.servers[1].client().set("k", "1")
    with pytest.raises(DiffMismatch, match="RESP types differ"):
        diff([(["INCR", "k"], ignore)], flush=False)


def test_config_set_memory_limits_have_redis_ranges(diff):
    diff(
        [
            ["CONFIG", "SET", "proto-max-bulk-len", "1000"],
            ["CONFIG", "SET", "client-query-buffer-limit", "1000"],
            ["CONFIG", "SET", "proto-max-bulk-len", "1mb"],
            ["CONFIG", "GET", "proto-max-bulk-len"],
            ["CONFIG", "SET", "proto-max-bulk-len", "512mb"],
        ]
    )
