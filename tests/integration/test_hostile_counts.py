"""HRANDFIELD, SRANDMEMBER and ZRANDMEMBER with huge negative counts: pikad answers an error
at once instead of building an impossible reply (commands/hashes.py explains the bound).

Not differential: redis-server 7.0.15 tries to build these replies and hangs (or runs out of
memory), so these cases are pikad's own. Where Redis 7.0 already answers (a count beyond
+-LONG_MAX/2 with WITHVALUES/WITHSCORES, missing keys, WRONGTYPE, count 0) the replies are
Redis's, and test_diff_hashes/sets/zsets compare them.

The bound: a negative count is refused with "ERR value is out of range" when its reply
would take more than proto-max-bulk-len bytes on the wire. With elements of equal size the
boundary is exact, which the cases below pin with proto-max-bulk-len at its 1mb minimum.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.raw import RawConnection, encode_command, parse

pytestmark = pytest.mark.pikad_only

OUT_OF_RANGE = b"-ERR value is out of range\r\n"
WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
HUGE = ("-9223372036854775807", "-4611686018427387903", "-4000000000000000000", "-10000000000")
FAST = 2.0  # seconds: a refusal draws 16 samples; building the reply would take hours
MIB = 1024 * 1024


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def conn(pikad) -> Iterator[RawConnection]:
    c = RawConnection(pikad.port, timeout=30)
    c.execute("FLUSHALL")
    c.execute("CONFIG", "SET", "proto-max-bulk-len", "512mb")
    try:
        yield c
    finally:
        c.execute("CONFIG", "SET", "proto-max-bulk-len", "512mb")
        c.close()


def timed(c: RawConnection, *args: object) -> bytes:
    t = time.monotonic()
    reply = c.execute(*args)
    elapsed = time.monotonic() - t
    assert elapsed < FAST, f"{args} took {elapsed:.2f}s"
    return reply


def fill(c: RawConnection, n: int) -> None:
    """s, h, z with n elements each (n > 128: the big encodings and random probes)."""
    c.execute("SADD", "s", *[f"m{i}" for i in range(n)])
    c.execute("HSET", "h", *[x for i in range(n) for x in (f"f{i}", f"v{i}")])
    c.execute("ZADD", "z", *[x for i in range(n) for x in (str(i), f"m{i}")])


HOSTILE = [
    ("SRANDMEMBER", "s"),
    ("HRANDFIELD", "h"),
    ("HRANDFIELD", "h", "WITHVALUES"),
    ("ZRANDMEMBER", "z"),
    ("ZRANDMEMBER", "z", "WITHSCORES"),
]


@pytest.mark.parametrize("n", [3, 1000])
def test_huge_negative_counts_refused_fast(pikad, conn, n):
    fill(conn, n)
    conn.execute("SADD", "ints", "1", "2", "3")  # an intset too
    before = peak_rss_kb(pikad.pid)
    for count in HUGE:
        for name, key, *opt in [*HOSTILE, ("SRANDMEMBER", "ints")]:
            assert timed(conn, name, key, count, *opt) == OUT_OF_RANGE, (name, key, count, opt)
        assert timed(conn, "PING") == b"+PONG\r\n"
    grown_mib = (peak_rss_kb(pikad.pid) - before) / 1024
    assert grown_mib < 64, f"peak RSS grew by {grown_mib:.0f} MiB"
    assert conn.execute("SCARD", "s") == f":{n}\r\n".encode()
    assert pikad.alive


def test_resp3_and_pipelines_keep_serving(conn):
    fill(conn, 200)
    conn.execute("HELLO", "3")
    for name, key, *opt in HOSTILE:
        assert timed(conn, name, key, "-9223372036854775807", *opt) == OUT_OF_RANGE
    # Refused in the middle of a pipeline: the commands around it are answered in order.
    conn.send(
        encode_command(["SRANDMEMBER", "s", "-4000000000000000000"])
        + encode_command(["ZRANDMEMBER", "z", "-3", "WITHSCORES"])
        + encode_command(["HRANDFIELD", "h", "-9223372036854775807"])
        + encode_command(["ZCARD", "z"])
    )
    replies = conn.read_replies(4, timeout=FAST)
    assert replies[0] == OUT_OF_RANGE
    pairs = parse(replies[1])
    assert len(pairs) == 3 and all(len(p) == 2 and isinstance(p[1], float) for p in pairs)
    assert replies[2] == OUT_OF_RANGE
    assert replies[3] == b":200\r\n"


def test_what_redis_answers_comes_first(conn):
    """Missing keys, other types and count 0 answer as in Redis 7.0, whatever the count."""
    conn.execute("SET", "str", "x")
    conn.execute("SADD", "s", "a")
    for count in HUGE:
        assert timed(conn, "SRANDMEMBER", "nokey", count) == b"*0\r\n"
        assert timed(conn, "HRANDFIELD", "nokey", count) == b"*0\r\n"
        assert timed(conn, "ZRANDMEMBER", "nokey", count) == b"*0\r\n"
        assert timed(conn, "SRANDMEMBER", "str", count) == WRONGTYPE
        assert timed(conn, "HRANDFIELD", "str", count) == WRONGTYPE
        assert timed(conn, "ZRANDMEMBER", "str", count) == WRONGTYPE
    # Beyond LONG_MAX/2 with WITHVALUES/WITHSCORES Redis 7.0 refuses before any lookup.
    assert conn.execute("HRANDFIELD", "str", "-4611686018427387904", "WITHVALUES") == (OUT_OF_RANGE)
    assert conn.execute("ZRANDMEMBER", "nokey", "4611686018427387904", "WITHSCORES") == (
        OUT_OF_RANGE
    )
    assert conn.execute("ZRANDMEMBER", "str", "-4611686018427387903", "WITHSCORES") == WRONGTYPE
    assert conn.execute("SRANDMEMBER", "s", "0") == b"*0\r\n"
    assert conn.execute("SRANDMEMBER", "s", "-9223372036854775808").startswith(
        b"-ERR value is out of range, value must between"
    )


@pytest.mark.parametrize("count", [1, 5, 16, 17, 100, 5000])
def test_ordinary_negative_counts_unchanged(conn, count):
    fill(conn, 300)
    conn.execute("SADD", "small", "x", "y")
    members = {f"m{i}".encode() for i in range(300)}
    got = parse(conn.execute("SRANDMEMBER", "s", -count))
    assert len(got) == count and set(got) <= members
    got = parse(conn.execute("SRANDMEMBER", "small", -count))
    assert len(got) == count and set(got) <= {b"x", b"y"}
    got = parse(conn.execute("HRANDFIELD", "h", -count, "WITHVALUES"))
    assert len(got) == 2 * count
    assert all(v == b"v" + f[1:] for f, v in zip(got[::2], got[1::2], strict=True))
    got = parse(conn.execute("ZRANDMEMBER", "z", -count, "WITHSCORES"))
    assert len(got) == 2 * count
    assert all(int(s) == int(m[1:]) for m, s in zip(got[::2], got[1::2], strict=True))
    assert len(parse(conn.execute("ZRANDMEMBER", "z", -count))) == count
    assert len(parse(conn.execute("HRANDFIELD", "h", -count))) == count


def test_bound_is_proto_max_bulk_len_bytes(conn):
    """Equal-sized elements make the estimate exact: the largest reply that fits is served,
    one more element is refused. 1-byte members are 7 bytes each ($1\\r\\nm\\r\\n)."""
    conn.execute("CONFIG", "SET", "proto-max-bulk-len", "1mb")
    conn.execute("SADD", "s", "a", "b", "c")
    conn.execute("HSET", "h", "a", "1", "b", "2")
    conn.execute("ZADD", "z", "1", "a", "2", "b", "3", "c")
    fits = MIB // 7  # 149796 elements, 1048572 bytes
    cases = [
        (("SRANDMEMBER", "s"), fits, 1),
        (("HRANDFIELD", "h"), fits, 1),
        (("ZRANDMEMBER", "z"), fits, 1),
        (("HRANDFIELD", "h", "WITHVALUES"), MIB // 14, 2),
        (("ZRANDMEMBER", "z", "WITHSCORES"), MIB // 14, 2),
    ]
    for (name, key, *opt), n, per in cases:
        reply = conn.execute(name, key, -n, *opt)
        assert reply.startswith(f"*{n * per}\r\n".encode()), (name, opt, reply[:40])
        assert conn.execute(name, key, -(n + 1), *opt) == OUT_OF_RANGE, (name, opt)
    # Positive counts are bounded by the collection itself: never refused.
    assert parse(conn.execute("SRANDMEMBER", "s", "9223372036854775807")) is not None
    # The bound follows CONFIG SET.
    conn.execute("CONFIG", "SET", "proto-max-bulk-len", "2mb")
    assert conn.execute("SRANDMEMBER", "s", -(fits + 1)).startswith(f"*{fits + 1}\r\n".encode())


def test_big_elements_lower_the_bound(conn):
    """The bound is on bytes: a few big elements are refused at counts small ones pass."""
    conn.execute("CONFIG", "SET", "proto-max-bulk-len", "1mb")
    big = "x" * 100_000
    conn.execute("SADD", "big", big + "1", big + "2")
    conn.execute("HSET", "hbig", "f", big)
    conn.execute("SADD", "small", "a")
    assert timed(conn, "SRANDMEMBER", "big", "-11") == OUT_OF_RANGE  # ~1.1 MB
    assert len(parse(conn.execute("SRANDMEMBER", "big", "-10"))) == 10
    assert timed(conn, "HRANDFIELD", "hbig", "-11", "WITHVALUES") == OUT_OF_RANGE
    assert len(parse(conn.execute("HRANDFIELD", "hbig", "-11"))) == 11  # fields are small
    assert len(parse(conn.execute("SRANDMEMBER", "small", "-1000"))) == 1000
