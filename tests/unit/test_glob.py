"""pikadb.glob against a literal port of Redis's stringmatchlen, and against redis-server."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pikadb.glob import literal_prefix, stringmatch


def _tolower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c


def _s(c: int) -> int:
    return c - 256 if c >= 128 else c


def reference(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """util.c stringmatchlen_impl, transcribed line by line (signed chars, NUL beyond end)."""
    p = pattern + b"\0\0\0"
    s = string + b"\0"
    skip = [False]

    def impl(pi: int, plen: int, si: int, slen: int, nesting: int) -> bool:
        if nesting > 1000:
            return False
        while plen and slen:
            c = p[pi]
            if c == 0x2A:
                while plen and p[pi + 1] == 0x2A:
                    pi += 1
                    plen -= 1
                if plen == 1:
                    return True
                while slen:
                    if impl(pi + 1, plen - 1, si, slen, nesting + 1):
                        return True
                    if skip[0]:
                        return False
                    si += 1
                    slen -= 1
                skip[0] = True
                return False
            elif c == 0x3F:
                si += 1
                slen -= 1
            elif c == 0x5B:
                pi += 1
                plen -= 1
                neg = p[pi] == 0x5E
                if neg:
                    pi += 1
                    plen -= 1
                match = False
                while True:
                    if p[pi] == 0x5C and plen >= 2:
                        pi += 1
                        plen -= 1
                        if p[pi] == s[si]:
                            match = True
                    elif p[pi] == 0x5D:
                        break
                    elif plen == 0:
                        pi -= 1
                        plen += 1
                        break
                    elif plen >= 3 and p[pi + 1] == 0x2D:
                        start, end, ch = _s(p[pi]), _s(p[pi + 2]), _s(s[si])
                        if start > end:
                            start, end = end, start
                        if nocase:
                            start, end, ch = _tolower(start), _tolower(end), _tolower(ch)
                        pi += 2
                        plen -= 2
                        if start <= ch <= end:
                            match = True
                    elif (p[pi] == s[si]) if not nocase else (_tolower(p[pi]) == _tolower(s[si])):
                        match = True
                    pi += 1
                    plen -= 1
                if neg:
                    match = not match
                if not match:
                    return False
                si += 1
                slen -= 1
            else:
                if c == 0x5C and plen >= 2:
                    pi += 1
                    plen -= 1
                if (p[pi] != s[si]) if not nocase else (_tolower(p[pi]) != _tolower(s[si])):
                    return False
                si += 1
                slen -= 1
            pi += 1
            plen -= 1
            if slen == 0:
                while p[pi] == 0x2A:
                    pi += 1
                    plen -= 1
                break
        return plen == 0 and slen == 0

    return impl(0, len(pattern), 0, len(string), 0)


ALPHABET = b"ab]-[^\\*?Az\x00\xff\x80 "
chunks = st.binary(max_size=8).map(lambda b: bytes(ALPHABET[x % len(ALPHABET)] for x in b))


@settings(max_examples=3000)
@given(chunks, chunks, st.booleans())
def test_matches_reference(pattern, string, nocase):
    assert stringmatch(pattern, string, nocase) == reference(pattern, string, nocase)


@pytest.mark.parametrize(
    "pattern,string,expected",
    [
        (b"*", b"", False),  # Redis: KEYS/SCAN special-case "*" to include the empty key
        (b"", b"", True),
        (b"h?llo", b"hello", True),
        (b"h[ae]llo", b"hallo", True),
        (b"h[^e]llo", b"hello", False),
        (b"h[a-b]llo", b"hbllo", True),
        (b"h[b-a]llo", b"hbllo", True),  # reversed range
        (b"h\\*llo", b"h*llo", True),
        (b"a\\", b"a\\", True),  # trailing backslash is literal
        (b"[abc", b"c", True),  # unterminated bracket
        (b"[a-]", b"]", True),  # a..']' range, unterminated
        (b"*a" * 1000, b"a" * 1000, True),
        (b"*a" * 1001, b"a" * 1001, False),  # Redis's nesting limit
        (b"*a" * 1001 + b"*", b"a" * 1001, False),
    ],
    ids=lambda v: repr(v)[:20] if isinstance(v, bytes) else str(v),
)
def test_quirks(pattern, string, expected):
    assert stringmatch(pattern, string) is expected
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # the transcription recurses once per '*'
    try:
        assert reference(pattern, string) is expected
    finally:
        sys.setrecursionlimit(limit)


def test_nocase():
    assert stringmatch(b"HeLLo*", b"hello world", nocase=True)
    assert not stringmatch(b"HeLLo*", b"hello world")
    assert stringmatch(b"[A-Z]", b"q", nocase=True)
    assert not stringmatch(b"[\\A]", b"a", nocase=True)  # escapes compare exactly


def test_literal_prefix():
    assert literal_prefix(b"user:*") == b"user:"
    assert literal_prefix(b"a\\*b?") == b"a*b"
    assert literal_prefix(b"[ab]") == b""
    assert literal_prefix(b"abc") == b"abc"
    assert literal_prefix(b"ab\\") == b"ab\\"


def test_long_patterns_are_not_exponential():
    t = time.perf_counter()
    assert not stringmatch(b"*a" * 30 + b"b", b"a" * 200)
    assert time.perf_counter() - t < 0.5


# ---- against redis-server's KEYS ----


@pytest.fixture(scope="module")
def redis_keys():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    redis = pytest.importorskip("redis")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


def test_same_as_redis_keys(redis_keys):
    rnd = random.Random(7)
    keys = sorted(
        {bytes(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 5))) for _ in range(300)}
    )
    redis_keys.flushall()
    redis_keys.mset({k: 1 for k in keys})
    for _ in range(600):
        pattern = bytes(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 7)))
        if pattern == b"*":
            continue
        expected = set(redis_keys.keys(pattern))
        assert {k for k in keys if stringmatch(pattern, k)} == expected, pattern
