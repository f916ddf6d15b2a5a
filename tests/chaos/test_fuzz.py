"""Hostile input against a live pikad: a million fuzzed frames (random commands from the
server's own COMMAND table with random arguments, mutated and truncated frames, raw random
bytes) and hypothesis-generated frames. The server must never crash or hang, its memory
must stay bounded, and a well-behaved client keeps getting answers throughout.

Commands that would change the server rather than its data (SHUTDOWN, REPLICAOF, CONFIG,
DEBUG, CLIENT, MONITOR, ...), block a connection (BLPOP with timeout 0, WAIT) or switch it
to another mode (SUBSCRIBE) are left out: each has its own tests.
"""

from __future__ import annotations

import random
import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.conftest import chaos_scale, rss_mb
from helpers.raw import encode_command
from helpers.servers import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.pikad_only]

EXCLUDED = {
    "shutdown", "replicaof", "slaveof", "config", "debug", "client", "monitor", "sync",
    "psync", "pikasync", "replconf", "subscribe", "psubscribe", "ssubscribe", "wait",
    "failover", "quit", "reset", "hello", "auth", "save", "bgsave", "bgrewriteaof",
    "module", "acl", "latency", "memory", "blmpop", "bzmpop",
}  # fmt: skip

ARG_POOL = [
    b"", b"0", b"1", b"-1", b"2", b"3", b"10", b"100", b"1000", b"-100", b"1.5", b"-0",
    b"inf", b"-inf", b"+inf", b"nan", b"9223372036854775807", b"-9223372036854775808",
    b"18446744073709551616", b"abc", b"k", b"k1", b"k2", b"h", b"l", b"s", b"z", b"x" * 300,
    b"\x00\xff\r\n", b"*", b"[a", b"(1", b"+", b"-", b"WITHSCORES", b"LIMIT", b"EX", b"PX",
    b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR", b"COUNT", b"MATCH", b"TYPE", b"BY", b"STORE",
    b"LEFT", b"RIGHT", b"BEFORE", b"AFTER", b"AGGREGATE", b"MIN", b"MAX", b"WEIGHTS",
    b"FROMMEMBER", b"BYRADIUS", b"m", b"km", b"ASC", b"DESC", b"GET", b"SET", b"OVERFLOW",
    b"u8", b"i64", b"#0", b"ANY", b"REV", b"BYSCORE", b"BYLEX", b"KEEPTTL", b"ABSTTL",
]  # fmt: skip

MAX_RSS_MB = 1024


def command_names(server: ServerProcess) -> list[bytes]:
    """Every command of the table, blocking ones only with a non-zero timeout (see below)."""
    names = []
    for name, info in server.client().command().items():
        if name in EXCLUDED or "admin" in info["flags"]:
            continue
        names.append(name.encode())
    return names


def random_command(rng: random.Random, names: list[bytes]) -> list[bytes]:
    name = rng.choice(names)
    argv = [name]
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5, 7, 12))):
        r = rng.random()
        if r < 0.75:
            argv.append(rng.choice(ARG_POOL))
        elif r < 0.9:
            argv.append(str(rng.randint(-1000, 100_000)).encode())
        else:
            argv.append(rng.randbytes(rng.randrange(0, 40)))
    if name.startswith((b"b", b"B")) and name.lower() in BLOCKING:
        argv.append(b"0.001")  # a blocking command's timeout is its last argument
    return argv


BLOCKING = {b"blpop", b"brpop", b"brpoplpush", b"blmove", b"bzpopmin", b"bzpopmax"}


def mutate(rng: random.Random, frame: bytes) -> bytes:
    """A broken frame: cut short, a byte flipped, a header lying about lengths."""
    r = rng.random()
    if r < 0.3:
        return frame[: rng.randrange(1, max(2, len(frame)))]
    if r < 0.6:
        i = rng.randrange(len(frame))
        return frame[:i] + bytes([rng.randrange(256)]) + frame[i + 1 :]
    if r < 0.8:
        return rng.choice((b"*", b"$", b"*-5\r\n", b"$99999999999\r\n", b"*3\r\n$1\r\n")) + frame
    return rng.randbytes(rng.randrange(1, 200))


def probe(server: ServerProcess) -> None:
    assert server.alive, f"pikad died:\n{server.log_tail()}"
    with server.raw(timeout=20) as r:
        assert r.execute("PING") == b"+PONG\r\n", "pikad does not answer"


def _drain(sock: socket.socket, want_quiet: float = 0.0) -> bool:
    """Read what is there; False once the server closed the connection."""
    sock.setblocking(False)
    try:
        while True:
            try:
                data = sock.recv(1 << 20)
            except BlockingIOError:
                if want_quiet <= 0:
                    return True
                time.sleep(want_quiet)
                want_quiet = 0
                continue
            if not data:
                return False
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def _read_until(sock: socket.socket, marker: bytes, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    tail = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data = sock.recv(1 << 20)
        except TimeoutError:
            return False
        if not data:
            return False
        tail = (tail + data)[-64:]
        if marker in tail:
            return True
    return False


def test_a_million_fuzzed_frames(pikad_factory, figures):
    server = pikad_factory()
    names = command_names(server)
    rng = random.Random(1_000_000)
    total = int(1_000_000 * chaos_scale())
    budget = 300.0 * chaos_scale()
    deadline = time.monotonic() + budget
    sent = broken = closed = 0
    rss_start = rss_mb(server)
    rss_max = rss_start
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        while sent < total and time.monotonic() < deadline:
            # A pipeline of well-formed random commands, the reply read as it comes.
            batch = [encode_command(random_command(rng, names)) for _ in range(500)]
            sock.sendall(b"".join(batch))
            sent += len(batch)
            if not _drain(sock, 0.001):
                closed += 1  # e.g. QUIT-like commands or a protocol error
                sock.close()
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            if rng.random() < 0.5:  # a broken frame on a connection of its own
                with socket.create_connection(("127.0.0.1", server.port), timeout=10) as bad:
                    bad.sendall(mutate(rng, rng.choice(batch)))
                    _drain(bad, 0.002)
                sent += 1
                broken += 1
            if sent % 50_000 < 500:
                probe(server)
                rss_max = max(rss_max, rss_mb(server))
                assert rss_max < MAX_RSS_MB, f"pikad uses {rss_max:.0f} MB after {sent} frames"
        # Everything sent was processed: the ECHO after the last pipeline answers (DISCARD
        # first, in case the pipeline ended inside a MULTI).
        marker = b"fuzz-done-%d" % rng.randrange(10**9)
        sock.sendall(encode_command([b"DISCARD"]) + encode_command([b"ECHO", marker]))
        assert _read_until(sock, marker, 120), "the fuzzed connection stopped answering"
    finally:
        sock.close()
    probe(server)
    rss_max = max(rss_max, rss_mb(server))
    figures.append(
        f"{sent} frames ({broken} broken) in {budget - (deadline - time.monotonic()):.0f} s, "
        f"{closed} connections closed by the server, RSS {rss_start:.0f} -> max "
        f"{rss_max:.0f} MB"
    )
    assert sent >= min(total, 200_000), f"only {sent} frames within {budget:.0f} s"
    assert rss_max < MAX_RSS_MB


# ---- hypothesis: structured frames ----

resp_arg = st.one_of(
    st.binary(max_size=64), st.sampled_from(ARG_POOL), st.integers().map(lambda i: b"%d" % i)
)


@st.composite
def frames(draw) -> bytes:
    kind = draw(st.sampled_from(("command", "inline", "header", "garbage")))
    if kind == "command":
        name = draw(st.sampled_from([b"SET", b"GET", b"HSET", b"ZADD", b"LPUSH", b"SETRANGE",
                                     b"BITFIELD", b"SORT", b"GEOSEARCH", b"ZRANGE", b"XADD",
                                     b"MSET", b"EVAL", b"PFADD", b"LPOS", b"OBJECT"]))  # fmt: skip
        return encode_command([name, *draw(st.lists(resp_arg, max_size=8))])
    if kind == "inline":
        words = draw(st.lists(st.binary(min_size=1, max_size=20), max_size=6))
        return b" ".join(w.replace(b"\n", b"") for w in words) + b"\r\n"
    if kind == "header":
        n = draw(st.integers(min_value=-(2**63), max_value=2**64))
        return draw(st.sampled_from([b"*", b"$", b"*1\r\n$"])) + b"%d\r\n" % n
    return draw(st.binary(min_size=1, max_size=300))


def test_hypothesis_frames(pikad_factory, figures):
    server = pikad_factory()
    count = [0]

    @settings(
        max_examples=int(3000 * chaos_scale()),
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(st.lists(frames(), min_size=1, max_size=5))
    def one_connection(batch: list[bytes]) -> None:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            for frame in batch:
                try:
                    s.sendall(frame)
                except OSError:
                    break  # the server closed it: a protocol error
                count[0] += 1
            _drain(s, 0.001)
        assert server.alive, f"pikad died on {batch!r}:\n{server.log_tail()}"

    one_connection()
    probe(server)
    figures.append(f"{count[0]} hypothesis frames, RSS {rss_mb(server):.0f} MB, still serving")
