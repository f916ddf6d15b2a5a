"""The wire protocol under stress: malformed and truncated frames, random bytes, large
pipelines, large values.

Protocol errors are differential: each malformed frame goes to pikad and redis-server, and the
error text (`-ERR Protocol error: ...`) and the closing of the connection must be the same.
After each, a connection opened before the bad one still gets answers. The random-bytes
test runs against a pikad of its own (garbage must not spoil the module's servers), seeded
and bounded in count and time.
"""

from __future__ import annotations

import random
import socket
import time

import pytest

from helpers.raw import (
    Attributed,
    BigNumber,
    Double,
    Error,
    Push,
    RawConnection,
    RespFramingError,
    RespMap,
    RespSet,
    Simple,
    Verbatim,
    encode_command,
    parse,
    reply_end,
    split_replies,
)
from integration.diff import pipeline_bytes, wait_until

# ---- protocol errors, compared with redis-server ----

PROTOCOL_ERRORS = {
    "multibulk length not a number": b"*x\r\n",
    "multibulk length empty": b"*\r\n",
    "multibulk length with sign": b"*+1\r\n$4\r\nPING\r\n",
    "multibulk length over INT_MAX": b"*2147483648\r\n",
    "expected $, got letter": b"*1\r\nx\r\n",
    "expected $, got colon": b"*1\r\n:4\r\nPING\r\n",
    "expected $ for the second argument": b"*2\r\n$4\r\nECHO\r\n+hi\r\n",
    "bulk length not a number": b"*1\r\n$x\r\n",
    "bulk length negative": b"*1\r\n$-1\r\n",
    "bulk length empty": b"*1\r\n$\r\n",
    "bulk length above proto-max-bulk-len": b"*1\r\n$600000000\r\n",
    "unbalanced double quote": b'SET "a\r\n',
    "unbalanced single quote": b"SET 'a\r\n",
    "closing quote not followed by space": b'SET "a"b c\r\n',
    "too big inline request": b"A" * (64 * 1024 + 10),
    "too big mbulk count string": b"*" + b"1" * (64 * 1024 + 10),
    "too big bulk count string": b"*1\r\n$" + b"1" * (64 * 1024 + 10),
    "error after good pipelined commands": b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n",
}


@pytest.fixture
def bystanders(pikad, redis_oracle):
    """One connection per server opened before the bad frame; must keep working after it."""
    conns = [pikad.raw(), redis_oracle.raw()]
    for c in conns:
        assert c.execute("PING") == b"+PONG\r\n"
    yield conns
    for c in conns:
        c.close()


@pytest.mark.parametrize("frame", list(PROTOCOL_ERRORS.values()), ids=list(PROTOCOL_ERRORS))
def test_protocol_error_matches_redis(diff, bystanders, frame):
    result = diff.stream(frame, quiet=1.0)
    assert result.left_closed and result.right_closed, "the connection must be closed"
    assert result.left and result.left[-1].startswith(b"-ERR Protocol error: "), result.left
    for c in bystanders:
        assert c.execute("ECHO", "still here") == b"$10\r\nstill here\r\n"
    for server in diff.servers:
        with server.raw() as fresh:
            assert fresh.execute("PING") == b"+PONG\r\n"


def test_huge_bulk_header_is_refused_at_once(pikad):
    """The length alone is over proto-max-bulk-len: the error comes without waiting for the
    600 MB that were announced."""
    with pikad.raw(timeout=5) as r:
        start = time.monotonic()
        r.send(b"*1\r\n$600000000\r\n")
        data = r.read_until_closed(timeout=3)
        assert data == b"-ERR Protocol error: invalid bulk length\r\n"
        assert time.monotonic() - start < 2


@pytest.mark.parametrize(
    "frame",
    [
        b"*-5\r\nPING\r\n",  # negative multibulk count: an empty command, skipped
        b"*0\r\nPING\r\n",
        b"$4\r\nPING\r\n",  # not a multibulk: an inline command named "$4"
        b":1\r\n",
        b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n",  # Redis does not check the bulk's CRLF
    ],
    ids=[
        "negative count",
        "zero count",
        "bulk outside multibulk",
        "integer as inline",
        "bulk not ended by CRLF",
    ],
)
def test_odd_but_accepted_frames_match_redis(diff, frame):
    diff.stream(frame, quiet=0.5)


@pytest.mark.parametrize(
    "prefix",
    [
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nval",  # inside a bulk
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5",  # inside a bulk length
        b"*3\r\n$3\r\nSET\r\n",  # between arguments
        b"*3",  # inside the count
        b"SET k val",  # inline, no newline yet
    ],
)
def test_truncated_frame_waits_then_completes(diff, prefix):
    """A frame cut anywhere gets no reply and keeps the connection open; the rest of it,
    sent later, completes the command."""
    full = (
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n"
        if prefix.startswith(b"*")
        else b"SET k value\r\n"
    )
    result = diff.stream(prefix, quiet=0.3, flush=True)
    assert result.left == [] and not result.left_closed
    conns = diff.conns()
    for c in conns:
        c.send(full[len(prefix) :])
    assert [c.read_reply() for c in conns] == [b"+OK\r\n", b"+OK\r\n"]
    diff([["GET", "k"]], flush=False)


def test_truncated_frame_then_disconnect(pikad):
    """A client that vanishes mid-frame does not disturb the server."""
    for prefix in (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc", b"*2\r\n", b"SET k"):
        with socket.create_connection(("127.0.0.1", pikad.port), timeout=5) as s:
            s.sendall(prefix)
    with pikad.raw() as r:
        assert r.execute("PING") == b"+PONG\r\n"


# ---- random bytes ----

_SAFE_COMMANDS = [
    [b"SET", b"k", b"v"],
    [b"GET", b"k"],
    [b"PING"],
    [b"ECHO", b"hello"],
    [b"INCR", b"n"],
    [b"DEL", b"k", b"n"],
    [b"EXISTS", b"k"],
    [b"MSET", b"a", b"1", b"b", b"2"],
    [b"MGET", b"a", b"b"],
    [b"APPEND", b"k", b"x"],
    [b"STRLEN", b"k"],
    [b"DBSIZE"],
    [b"SELECT", b"1"],
    [b"TTL", b"k"],
    [b"EXPIRE", b"k", b"100"],
    [b"TYPE", b"k"],
]


def _random_frame(rng: random.Random) -> bytes:
    """Pure noise, RESP-looking noise, a mutated valid command, or a valid command cut short."""
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randbytes(rng.randrange(0, 64))
    if kind == 1:
        alphabet = b"*$+-:\r\n0123456789-abcSETGET \"'\\x"
        return bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 80)))
    frame = bytearray(encode_command(rng.choice(_SAFE_COMMANDS)))
    if kind == 2:
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(frame))
            op = rng.randrange(3)
            if op == 0:
                frame[i] = rng.randrange(256)
            elif op == 1:
                del frame[i]
            else:
                frame.insert(i, rng.randrange(256))
        return bytes(frame)
    if kind == 3:
        return bytes(frame[: rng.randrange(len(frame))])
    inline = b" ".join(rng.choice(_SAFE_COMMANDS)) + rng.choice([b"\r\n", b"\n", b"", b"\r"])
    return inline


def _drain(sock: socket.socket) -> bool:
    """Read whatever is there without waiting; False if the server closed the connection."""
    sock.setblocking(False)
    try:
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                return False
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def test_random_bytes_never_crash_the_server(pikad_factory):
    server = pikad_factory()
    rng = random.Random(20240607)
    total, budget = 10_000, 60.0
    deadline = time.monotonic() + budget
    sock: socket.socket | None = None
    sent = reconnects = 0
    try:
        for sent in range(1, total + 1):
            if sock is None or rng.random() < 0.1:
                if sock is not None:
                    sock.close()
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                reconnects += 1
            try:
                sock.sendall(_random_frame(rng))
            except OSError:
                sock.close()
                sock = None
                continue
            if not _drain(sock):
                sock.close()
                sock = None
            if time.monotonic() > deadline:
                break
            if sent % 500 == 0:  # still answering a well-behaved client meanwhile?
                assert server.alive, f"server died after {sent} frames:\n{server.log_tail()}"
                with server.raw(timeout=10) as probe:
                    assert probe.execute("PING") == b"+PONG\r\n"
    finally:
        if sock is not None:
            sock.close()
    assert server.alive, f"server died during the random frames:\n{server.log_tail()}"
    assert sent >= 2_000, f"only {sent} random frames within {budget}s"
    with server.raw(timeout=10) as r:
        # Every fuzz connection is closed on our side; once the server has read them all to
        # their end it lists only this one: all the garbage has been processed.
        def only_me() -> bool:
            listing = r.call("CLIENT", "LIST")
            return isinstance(listing, bytes) and listing.count(b"\n") == 1

        wait_until(only_me, timeout=30, interval=0.1)
        assert server.alive, f"server died processing the random frames:\n{server.log_tail()}"
        assert r.execute("PING") == b"+PONG\r\n"
        assert r.execute("SET", "after", "fuzz") == b"+OK\r\n"
        assert r.execute("GET", "after") == b"$4\r\nfuzz\r\n"
    assert server.alive


# ---- big pipelines, byte-by-byte writes, big values ----


def test_thousands_of_pipelined_commands(diff):
    commands = []
    for i in range(2500):
        commands.append(["SET", f"p:{i}", "x" * (i % 50)])
        commands.append(["GET", f"p:{i}"])
    raw = pipeline_bytes(commands)
    result = diff.stream(raw, replies=len(commands), timeout=120)
    assert result.left[1] == b"$0\r\n\r\n" and result.left[-1] == b"$49\r\n" + b"x" * 49 + b"\r\n"


def test_pipeline_sent_byte_by_byte(pikad):
    commands = [["SET", "bb", "1"], ["INCR", "bb"], ["GET", "bb"], ["PING", "x y"]]
    with pikad.raw() as r:
        r.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in pipeline_bytes(commands) + b"ECHO inline\r\n":
            r.send(bytes([b]))
        assert r.read_replies(5) == [
            b"+OK\r\n",
            b":2\r\n",
            b"$1\r\n2\r\n",
            b"$3\r\nx y\r\n",
            b"$6\r\ninline\r\n",
        ]


@pytest.mark.parametrize("size", [1 << 20, 20 << 20], ids=["1MB", "20MB"])
def test_big_value_round_trip(pikad, size):
    value = random.Random(size).randbytes(size)
    with pikad.raw(timeout=60) as r:
        assert r.execute("SET", "big", value) == b"+OK\r\n"
        assert r.execute("STRLEN", "big") == b":%d\r\n" % size
        reply = r.execute("GET", "big")
        assert reply == b"$%d\r\n" % size + value + b"\r\n"
        assert r.execute("DEL", "big") == b":1\r\n"
    c = pikad.client(socket_timeout=60)
    c.set("big2", value)
    assert c.get("big2") == value
    c.delete("big2")


# ---- the raw client itself (framing every RESP type, split anywhere) ----

RESP_SAMPLES = [
    (b"+OK\r\n", Simple(b"OK")),
    (b"-ERR bad\r\n", Error(b"ERR bad")),
    (b":-42\r\n", -42),
    (b"$5\r\nhe\r\nl\r\n", b"he\r\nl"),
    (b"$0\r\n\r\n", b""),
    (b"$-1\r\n", None),
    (b"*-1\r\n", None),
    (b"*0\r\n", []),
    (b"*2\r\n*1\r\n:1\r\n$-1\r\n", [[1], None]),
    (b"_\r\n", None),
    (b",3.5\r\n", Double(3.5)),
    (b"#t\r\n", True),
    (b"(12345678901234567890\r\n", BigNumber(12345678901234567890)),
    (b"!7\r\nERR bad\r\n", Error(b"ERR bad")),
    (b"=8\r\ntxt:a\r\nb\r\n", Verbatim(b"a\r\nb")),
    (b"%1\r\n+k\r\n*1\r\n:1\r\n", RespMap([(Simple(b"k"), [1])])),
    (b"~2\r\n:1\r\n:2\r\n", RespSet([1, 2])),
    (b">2\r\n+message\r\n$1\r\nx\r\n", Push([Simple(b"message"), b"x"])),
    (b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n", Attributed(RespMap([(Simple(b"ttl"), 3)]), b"v")),
    (b"*2\r\n%0\r\n~0\r\n", [RespMap(), RespSet()]),
]


@pytest.mark.parametrize("raw,value", RESP_SAMPLES, ids=[repr(r[:12]) for r, _ in RESP_SAMPLES])
def test_raw_client_frames_every_resp_type(raw, value):
    assert reply_end(raw) == len(raw)
    for cut in range(len(raw)):
        assert reply_end(raw[:cut]) is None, f"complete at {cut}?"
    assert parse(raw) == value
    two, rest = split_replies(raw + raw + raw[:-1])
    assert two == [raw, raw] and rest == raw[:-1]


def test_raw_client_rejects_garbage():
    for bad in (b"?x\r\n", b"$x\r\n", b"*-2\r\n", b"$3\r\nabcd\r\n"):
        with pytest.raises(RespFramingError):
            reply_end(bad)


def test_raw_client_reads_replies_split_over_many_recvs():
    """A server that writes one byte at a time: read_reply still returns whole replies."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    payload = b"*3\r\n$3\r\nabc\r\n%1\r\n+k\r\n:1\r\n_\r\n+NEXT\r\n"
    r = RawConnection(port, timeout=5)
    peer, _ = listener.accept()
    try:
        peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in payload:
            peer.sendall(bytes([b]))
        assert r.read_reply() == payload[: -len(b"+NEXT\r\n")]
        assert r.read_reply() == b"+NEXT\r\n"
        peer.sendall(b"$10\r\nabc")
        with pytest.raises(TimeoutError) as info:
            r.read_reply(timeout=0.2)
        assert info.value.received == b"$10\r\nabc"
        peer.close()
        with pytest.raises(ConnectionError):
            r.read_reply(timeout=2)
    finally:
        r.close()
        peer.close()
        listener.close()
