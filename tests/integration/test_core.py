"""The command core (cext/core.pyx) answers exactly as the dispatcher does.

The core runs the common commands straight from the input buffer and leaves everything else
to the dispatcher; nothing a client sees may tell the two apart. These tests hold it to that:
a fuzz sends the same random byte stream to a pikad with the core and to one without it and
compares every reply byte for byte; the targeted cases check what the core must keep up
besides the reply (command statistics, SLOWLOG, CLIENT LIST, WATCH, OBJECT IDLETIME,
renamed commands, switching it off at runtime). The differential suites against
redis-server run with the core on (pikad's default) and again with it off (make test).
"""

from __future__ import annotations

import os
import random
import time

import pytest
import redis

from helpers import servers
from helpers.ports import free_port
from helpers.raw import RawConnection, encode_command, split_replies
from helpers.servers import ArgvServer, pikad_command

pytestmark = pytest.mark.pikad_only

# With several workers the keys a command may run locally depend on the worker the client's
# connection landed on, which differs from one server to the other: the stream comparison
# and the count of what the core ran take one worker (the core-on and core-off runs of the
# whole suite cover workers 2).
one_worker = pytest.mark.skipif(
    bool(servers.SETTINGS.workers and servers.SETTINGS.workers > 1),
    reason="compares per-connection placement across two servers: one worker only",
)

# Frames sent through each pair of servers; 1,000,000 is the figure the core must survive.
FUZZ_FRAMES = int(os.environ.get("PIKADB_CORE_FUZZ_FRAMES", "1000000"))
FUZZ_SECONDS = float(os.environ.get("PIKADB_CORE_FUZZ_SECONDS", "240"))
CHUNK = 2000

_SENTINEL = encode_command([b"ECHO", b"END-OF-CHUNK"])
_SENTINEL_REPLY = b"$12\r\nEND-OF-CHUNK\r\n"

_CORE_NAMES = [
    b"get", b"set", b"setnx", b"setex", b"psetex", b"incr", b"decr", b"incrby", b"decrby",
    b"mget", b"exists", b"strlen", b"type", b"ping", b"lpush", b"rpush", b"lpop", b"rpop",
    b"llen", b"sadd", b"scard", b"sismember", b"hset", b"hget", b"hlen", b"zadd",
]  # fmt: skip
# Commands beside them that change what the core sees (types, expiry, dbs, transactions).
_OTHER_NAMES = [
    b"del", b"expire", b"persist", b"append", b"getrange", b"zscore", b"select", b"multi",
    b"exec", b"discard", b"echo", b"dbsize", b"rename", b"setrange", b"getdel", b"getex",
    b"watch", b"unwatch", b"mset", b"lrange", b"smembers", b"hgetall", b"object", b"zrange",
]  # fmt: skip
# (No TTL/PTTL: a TTL is rounded from the time of each server's own clock read, so two
# servers may answer 1 apart; the differential suites check them with a tolerance.)
_KEYS = [b"k", b"k2", b"{t}a", b"{t}b", b"n", b"", b"long-key-" + b"x" * 40]
_NUMBERS = [
    b"0", b"1", b"-1", b"10", b"100", b"1000", b"-0", b"007", b"+5", b" 5", b"1.5", b"abc",
    b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
    b"-9223372036854775809", b"99999999999999999999", b"", b"4000000000", b"000000012345",
    b"-007", b"999999999999999", b"9999999999999999",
]  # fmt: skip
_OPTIONS = [b"NX", b"XX", b"GET", b"KEEPTTL", b"EX", b"PX", b"EXAT", b"PXAT", b"nx", b"get",
            b"ex", b"Ex", b"FOO"]  # fmt: skip
# Expiry arguments: far enough (or invalid, or in the past as EXAT/PXAT) that no key expires
# while the stream runs, since the two servers would not expire it at the same instant.
_EXPIRES = [
    b"100000", b"200000", b"0", b"-5", b"abc", b"9999999999999", b"100000000000000",
    b"4000000000", b"",
]  # fmt: skip


def _case(rng: random.Random, name: bytes) -> bytes:
    r = rng.random()
    if r < 0.3:
        return name.upper()
    if r < 0.35:
        return bytes(c ^ 0x20 if rng.random() < 0.5 and 97 <= c <= 122 else c for c in name)
    return name


def _arg(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.35:
        return rng.choice(_KEYS)
    if r < 0.6:
        return rng.choice(_NUMBERS)
    if r < 0.75:
        return rng.choice(_OPTIONS)
    if r < 0.85:
        return rng.choice(_EXPIRES)
    if r < 0.95:
        return rng.randbytes(rng.randrange(0, 12))
    return rng.randbytes(rng.choice([200, 600, 5000]))


_SHORT = {b"1", b"10", b"100", b"1000", b"007"}


def _command(rng: random.Random) -> list[bytes]:
    argv = _any_command(rng)
    # No TTL short enough to run out during the stream, no absolute time in the past (a key
    # already expired counts in DBSIZE until the expire cycle, whose timing is each
    # server's own): see _EXPIRES.
    for i in range(1, len(argv)):
        before = argv[i - 1].upper()
        if argv[i] in _SHORT and (
            before in (b"EX", b"PX") or (i == 2 and argv[0].lower() in (b"setex", b"psetex"))
        ):
            argv[i] = b"100000"
        elif before in (b"EXAT", b"PXAT") and argv[i].isdigit():
            argv[i] = b"9999999999" if before == b"EXAT" else b"9999999999999"
    return argv


def _any_command(rng: random.Random) -> list[bytes]:
    r = rng.random()
    if r < 0.75:
        name = rng.choice(_CORE_NAMES)
    elif r < 0.97:
        name = rng.choice(_OTHER_NAMES)
    else:
        name = rng.choice([b"gett", b"se", b"incrbyy", b"pin", b"mgets", b"sett"])
    argv = [_case(rng, name)]
    if name == b"select":
        return [argv[0], rng.choice([b"0", b"1", b"2", b"x"])]
    if name == b"object":
        return [argv[0], b"ENCODING", rng.choice(_KEYS)]
    if name in (b"lrange", b"zrange"):
        return [
            argv[0],
            rng.choice(_KEYS),
            b"0",
            b"-1",
            *([b"WITHSCORES"] if name == b"zrange" else []),
        ]
    if name in (b"expire", b"getex"):
        return [argv[0], rng.choice(_KEYS), *(rng.choice([[b"100"], [b"EX", b"100"], []]))]
    if name in (b"setex", b"psetex") and rng.random() < 0.9:
        return [argv[0], rng.choice(_KEYS), rng.choice(_EXPIRES), _arg(rng)]
    if name == b"set" and rng.random() < 0.6:
        # SET with plausible options, so the option parser is exercised in depth.
        argv += [rng.choice(_KEYS), _arg(rng)]
        for _ in range(rng.randrange(0, 4)):
            opt = rng.choice(_OPTIONS)
            argv.append(opt)
            if opt.upper() in (b"EX", b"PX", b"EXAT", b"PXAT") and rng.random() < 0.9:
                argv.append(rng.choice(_EXPIRES))
        return argv
    nargs = rng.choice([0, 1, 1, 1, 2, 2, 3, 4, 6])
    if nargs and rng.random() < 0.8:
        argv.append(rng.choice(_KEYS))
        nargs -= 1
    argv += [_arg(rng) for _ in range(nargs)]
    return argv


def _odd_frame(rng: random.Random, argv: list[bytes]) -> bytes:
    """A complete frame the core must leave to the parser: inline, or bulks followed by two
    bytes other than CRLF (Redis skips them unchecked)."""
    if rng.random() < 0.5 and all(a and a.isalnum() for a in argv):
        return b" ".join(argv) + b"\r\n"
    parts = [b"*%d\r\n" % len(argv)]
    for a in argv:
        parts.append(b"$%d\r\n%s%s" % (len(a), a, rng.choice([b"\r\n", b"xy", b"\r\r"])))
    return b"".join(parts)


def _chunk(rng: random.Random, n: int) -> tuple[bytes, list[list[bytes]]]:
    """n commands (and a frame for each), then DISCARD (no transaction left open) and the
    marker the reader waits for."""
    frames = []
    commands = []
    for _ in range(n):
        argv = _command(rng)
        frames.append(_odd_frame(rng, argv) if rng.random() < 0.03 else encode_command(argv))
        commands.append(argv)
    frames.append(encode_command([b"DISCARD"]))
    frames.append(_SENTINEL)
    return b"".join(frames), commands


def _read_chunk(conn: RawConnection, deadline: float) -> bytes:
    while not conn.buf.endswith(_SENTINEL_REPLY):
        if not conn._recv_more(deadline, "the end of a chunk"):
            break
    data = bytes(conn.buf)
    conn.buf.clear()
    return data


_MALFORMED = [
    b"*2\r\n$3\r\nGET\r\n$-5\r\n",
    b"*1\r\n$03\r\nGET\r\n",
    b"*x\r\n",
    b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$999999999999\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n%1\r\n",
    b'GET "unbalanced\r\n',
    b"*1\r\n$4\r\nPING\r\n*-1\r\n*0\r\n*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPINGxx*2\r\nfoo",
]


@one_worker
def test_fuzzed_frames_answer_as_the_dispatcher(pikad_factory):
    """The same random stream to a pikad with the core and to one without: every reply
    and every closed connection the same; neither server dies."""
    on = pikad_factory(**{"command-core": "yes"})
    off = pikad_factory(**{"command-core": "no"})
    rng = random.Random(20261207)
    conns = [RawConnection(on.port, timeout=60), RawConnection(off.port, timeout=60)]
    sent = 0
    started = time.monotonic()
    deadline = started + FUZZ_SECONDS
    chunks = 0
    while sent < FUZZ_FRAMES and time.monotonic() < deadline:
        data, commands = _chunk(rng, CHUNK)
        for conn in conns:
            conn.send(data)
        got = [_read_chunk(conn, time.monotonic() + 60) for conn in conns]
        if got[0] != got[1]:
            _explain(commands, got)
        sent += CHUNK
        chunks += 1
        if chunks % 50 == 0:
            # Now and then a malformed frame: both must answer the same and close.
            bad = rng.choice(_MALFORMED)
            closing = [RawConnection(s.port, timeout=10) for s in (on, off)]
            try:
                for conn in closing:
                    conn.send(encode_command([b"GET", b"k"]) + bad)
                tails = [conn.read_available(quiet=0.2, timeout=10) for conn in closing]
                assert tails[0] == tails[1], (bad, tails)
            finally:
                for conn in closing:
                    conn.close()
    for conn in conns:
        conn.send(encode_command([b"PING"]))
        assert conn.read_reply() == b"+PONG\r\n"
        conn.close()
    assert on.alive and off.alive
    # The stream really went through the core: most of it was the core's commands.
    stats = redis.Redis(port=on.port).info("commandstats")
    ran = sum(stats.get(f"cmdstat_{name.decode()}", {}).get("calls", 0) for name in _CORE_NAMES)
    assert ran > sent // 5
    print(f"{sent} frames in {time.monotonic() - started:.1f} s")
    assert sent >= min(FUZZ_FRAMES, 100_000)


def _explain(commands: list[list[bytes]], got: list[bytes]) -> None:
    a, _ = split_replies(got[0])
    b, _ = split_replies(got[1])
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            before = [[arg[:40] for arg in argv] for argv in commands[max(0, i - 8) : i + 1]]
            pytest.fail(
                f"reply {i} differs: core {x[:200]!r}, dispatcher {y[:200]!r}; the commands "
                f"up to it (one reply each): {before}"
            )
    pytest.fail(f"reply counts differ: core {len(a)}, dispatcher {len(b)}")


# ---- what the core keeps up besides the reply ----


@pytest.fixture
def core_pikad(pikad_factory):
    server = pikad_factory(**{"command-core": "yes", "enable-debug-command": "local"})
    return server, redis.Redis(port=server.port)


def test_statistics_slowlog_and_client_list(core_pikad):
    server, r = core_pikad
    r.config_resetstat()
    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"k{i}", "v")
        pipe.get(f"k{i}")
        pipe.execute_command("INCR", "n")  # (redis-py's incr() sends INCRBY)
    pipe.execute()
    stats = r.info("commandstats")
    assert stats["cmdstat_set"]["calls"] == 100
    assert stats["cmdstat_get"]["calls"] == 100
    assert stats["cmdstat_incr"]["calls"] == 100
    assert r.info("stats")["total_commands_processed"] >= 300
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    r.get("k1")
    entries = r.slowlog_get()
    assert any(e["command"].lower() == b"get k1" for e in entries), entries
    r.config_set("slowlog-log-slower-than", 10000)
    c = redis.Redis(port=server.port)
    c.get("k1")
    mine = [cl for cl in r.client_list() if cl["id"] == str(c.client_id())]
    assert mine[0]["cmd"] == "get"


def test_watch_sees_a_core_write(core_pikad):
    server, r = core_pikad
    r.set("w", "1")
    other = redis.Redis(port=server.port)
    pipe = r.pipeline()
    pipe.watch("w")
    other.set("w", "2")  # a core SET from another connection
    pipe.multi()
    pipe.get("w")
    with pytest.raises(redis.WatchError):
        pipe.execute()


def test_object_idletime_follows_core_reads(core_pikad):
    _server, r = core_pikad
    r.set("idle", "v")
    time.sleep(1.1)
    assert r.object("idletime", "idle") >= 1
    r.get("idle")
    assert r.object("idletime", "idle") == 0


def test_switched_off_at_runtime(core_pikad):
    _server, r = core_pikad
    r.config_set("command-core", "no")
    assert r.config_get("command-core") == {"command-core": "no"}
    r.config_resetstat()
    r.set("a", "1")
    assert r.get("a") == b"1"
    assert r.info("commandstats")["cmdstat_get"]["calls"] == 1
    r.config_set("command-core", "yes")
    assert r.get("a") == b"1"


def test_renamed_commands_are_not_the_cores(tmp_path):
    port = free_port()
    conf = tmp_path / "pikad.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\nrename-command GET FETCH\n"
        "rename-command SET GET\n"
    )
    server = ArgvServer(tmp_path / "run", [*pikad_command(), str(conf)], port=port)
    server.start()
    try:
        conn = RawConnection(server.port)
        # GET is SET now, FETCH is GET; the core runs neither under the other's name.
        conn.send(encode_command([b"GET", b"a", b"1"]) + encode_command([b"FETCH", b"a"]))
        assert conn.read_replies(2) == [b"+OK\r\n", b"$1\r\n1\r\n"]
        conn.send(encode_command([b"SET", b"a", b"2"]))
        assert conn.read_reply() == (
            b"-ERR unknown command 'SET', with args beginning with: 'a' '2' \r\n"
        )
        conn.close()
    finally:
        server.stop()


def test_resp3_nulls_and_a_pipeline_across_both_paths(core_pikad):
    server, _ = core_pikad
    conn = RawConnection(server.port)
    conn.send(encode_command([b"HELLO", b"3"]))
    conn.read_reply()
    conn.send(
        encode_command([b"GET", b"missing"])
        + encode_command([b"MGET", b"missing", b"x"])
        + encode_command([b"SET", b"x", b"1", b"XX"])
        + encode_command([b"HSET", b"h", b"f", b"v"])  # the dispatcher's
        + encode_command([b"GET", b"h"])  # WRONGTYPE: declined by the core
        + encode_command([b"SET", b"x", b"2"])
        + encode_command([b"GET", b"x"])
    )
    assert conn.read_replies(7) == [
        b"_\r\n",
        b"*2\r\n_\r\n_\r\n",
        b"_\r\n",
        b":1\r\n",
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        b"+OK\r\n",
        b"$1\r\n2\r\n",
    ]
    conn.close()


# Each case: setup commands, then the command the core must run itself (not decline).
_TAKEN = [
    ([], [b"GET", b"k"]),
    ([[b"SET", b"k", b"v"]], [b"GET", b"k"]),
    ([], [b"SET", b"k", b"v"]),
    ([[b"SET", b"k", b"v"]], [b"SET", b"k", b"w", b"XX", b"GET", b"KEEPTTL"]),
    ([], [b"SET", b"k", b"v", b"NX", b"EX", b"100"]),
    ([], [b"SET", b"k", b"v", b"PXAT", b"99999999999999"]),
    ([], [b"SETNX", b"k", b"v"]),
    ([], [b"SETEX", b"k", b"100", b"v"]),
    ([], [b"PSETEX", b"k", b"100000", b"v"]),
    ([], [b"INCR", b"n"]),
    ([[b"SET", b"n", b"5"]], [b"DECR", b"n"]),
    ([[b"SET", b"n", b"5"]], [b"INCRBY", b"n", b"-7"]),
    ([], [b"DECRBY", b"n", b"3"]),
    ([[b"SET", b"a", b"1"]], [b"MGET", b"a", b"b"]),
    ([[b"SET", b"a", b"1"]], [b"EXISTS", b"a", b"b", b"a"]),
    ([[b"SET", b"a", b"123"]], [b"STRLEN", b"a"]),
    ([[b"SET", b"a", b"1"]], [b"TYPE", b"a"]),
    ([[b"SET", b"a", b"1", b"EX", b"100"]], [b"TTL", b"a"]),
    ([[b"SET", b"a", b"1"]], [b"PTTL", b"a"]),
    ([], [b"PING"]),
    ([], [b"PING", b"hello"]),
    ([], [b"LPUSH", b"l", b"a", b"b"]),
    ([[b"RPUSH", b"l", b"a"]], [b"RPUSH", b"l", b"b", b"c"]),
    ([[b"RPUSH", b"l", b"a"]], [b"RPOP", b"l"]),
    ([[b"RPUSH", b"l", b"a", b"b"]], [b"LPOP", b"l"]),
    ([], [b"LPOP", b"l"]),
    ([[b"RPUSH", b"l", b"a", b"b"]], [b"LLEN", b"l"]),
    ([], [b"HSET", b"h", b"f", b"v"]),
    ([[b"HSET", b"h", b"f", b"v"]], [b"HSET", b"h", b"f", b"w"]),
    ([[b"HSET", b"h", b"f", b"v"]], [b"HGET", b"h", b"f"]),
    ([[b"HSET", b"h", b"f", b"v"]], [b"HLEN", b"h"]),
    ([], [b"SADD", b"s", b"m"]),
    ([[b"SADD", b"s", b"1"]], [b"SADD", b"s", b"1"]),
    ([[b"SADD", b"s", b"1"]], [b"SISMEMBER", b"s", b"2"]),
    ([[b"SADD", b"s", b"1"]], [b"SCARD", b"s"]),
    ([[b"SADD", b"s", b"1"]], [b"TYPE", b"s"]),
    ([], [b"ZADD", b"z", b"1", b"m"]),
    ([[b"ZADD", b"z", b"1", b"m"]], [b"ZADD", b"z", b"-5", b"m"]),
    ([[b"ZADD", b"z", b"1", b"m"]], [b"ZADD", b"z", b"1", b"m"]),
    ([], [b"ZADD", b"z", b"000000012345", b"element:000000054321"]),
    # handed straight to their handlers
    ([], [b"ZADD", b"z", b"1.5", b"m"]),
    ([], [b"ZADD", b"z", b"-0", b"m"]),
    ([], [b"SADD", b"s", b"m", b"n"]),
    ([[b"RPUSH", b"l", b"a", b"b"]], [b"RPOP", b"l", b"2"]),
    ([[b"ZADD", b"z", b"1", b"m"]], [b"ZRANGE", b"z", b"0", b"-1", b"WITHSCORES"]),
    ([[b"SET", b"a", b"1"]], [b"DEL", b"a", b"b"]),
    ([[b"SET", b"a", b"1"]], [b"EXPIRE", b"a", b"100"]),
    ([], [b"MSET", b"a", b"1", b"b", b"2"]),
    ([[b"SET", b"a", b"1"]], [b"APPEND", b"a", b"2"]),
    ([], [b"HSET", b"h", b"f"]),  # a wrong arity is the dispatcher's: not counted below
]


@one_worker
@pytest.mark.parametrize(
    ("setup", "command"), _TAKEN, ids=[b" ".join(c).decode() for _, c in _TAKEN]
)
def test_the_core_runs_its_commands_itself(core_pikad, setup, command):
    """The plain case of each of the core's commands is the core's (a decline would still
    answer right, through the dispatcher: only this counter tells)."""
    server, r = core_pikad
    r.flushall()
    for argv in setup:
        r.execute_command(*argv)
    before = r.info("stats")["command_core_calls"]
    conn = RawConnection(server.port)
    conn.send(encode_command(command))
    conn.read_reply()
    conn.close()
    taken = 0 if command == [b"HSET", b"h", b"f"] else 1
    assert r.info("stats")["command_core_calls"] == before + taken
