"""Randomized differential test: seeded streams of hash and set commands (plus DEL, EXPIRE,
TTL, TYPE, RENAME, EXISTS) over a small key / field / member space, sent to pikad and to
redis-server, every reply compared.

The space is small on purpose: keys collide, types clash (WRONGTYPE), hashes and sets fill
up and empty out, RENAME and the *STORE commands move values between names, long values and
non-integer members convert encodings (OBJECT ENCODING is compared too).

Commands are pipelined in segments through the raw connections. Replies whose order is the
server's own are compared sorted; random replies (HRANDFIELD, SRANDMEMBER, SPOP) are judged
by their rules (count, distinctness, RESP type) and checked against the collection as the
next command (HGETALL / SMEMBERS, itself compared) shows it. SPOP makes the servers'
contents differ by design, so a segment ends at each SPOP and the harness repairs the
difference: each server removes what the other popped, the sets are compared, and when the
two servers' encodings differ (Redis decides afresh when few members survive a SPOP) the
set is rebuilt identically on both, TTL included.

A failure names the seed and the command index; rerun with that seed to reproduce.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field

import pytest

from helpers.keytags import one_worker
from helpers.raw import Error, RespSet, parse
from integration.diff import ttl_close, unordered, unordered_pairs

COMMANDS_PER_STREAM = int(os.environ.get("PIKADB_RANDOM_COMMANDS", "10000"))
SEGMENT = 400  # commands per pipeline write

HASH_KEYS = ["h0", "h1", "h2", "h3"]
SET_KEYS = ["s0", "s1", "s2", "s3"]
OTHER_KEYS = ["str", "none"]
ALL_KEYS = HASH_KEYS + SET_KEYS + OTHER_KEYS
LONG = "L" * 70  # over hash-max-listpack-value
FIELDS = [f"f{i}" for i in range(8)] + ["", LONG]  # at most 10 fields per hash
VALUES = ["0", "1", "7", "-3", "42", "abc", "1.5", "", LONG, "9223372036854775807"]
MEMBERS = [str(i) for i in range(-2, 9)] + ["a", "b", "c", "", "x y"]
PATTERNS = ["*", "f*", "*1", "?", "[ab]*", "1*", "-*"]


@dataclass
class Entry:
    args: list[str]
    kind: str = "exact"  # how replies are judged, see _judge
    arg: object = None  # kind-specific: count / withvalues for random picks


@dataclass
class Stream:
    seed: int
    rng: random.Random
    entries: list[Entry] = field(default_factory=list)


# ---- generation ----


def _key(rng: random.Random, pool: list[str]) -> str:
    return rng.choice(pool) if rng.random() < 0.85 else rng.choice(ALL_KEYS)


def _fields(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(FIELDS) for _ in range(n)]


def _members(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(MEMBERS) for _ in range(n)]


def _count(rng: random.Random) -> int:
    return rng.choice([0, 1, 2, 3, 5, 20, -1, -2, -5, -30])


def _hash_entries(rng: random.Random) -> list[Entry]:
    k = _key(rng, HASH_KEYS)
    r = rng.random()
    if r < 0.22:
        pairs = [
            x for _ in range(rng.randint(1, 4)) for x in (rng.choice(FIELDS), rng.choice(VALUES))
        ]
        return [Entry([rng.choice(["HSET", "HSET", "HMSET"]), k, *pairs])]
    if r < 0.27:
        return [Entry(["HSETNX", k, rng.choice(FIELDS), rng.choice(VALUES)])]
    if r < 0.37:
        return [Entry(["HGET", k, rng.choice(FIELDS)])]
    if r < 0.41:
        return [Entry(["HMGET", k, *_fields(rng, rng.randint(1, 4))])]
    if r < 0.50:
        return [Entry(["HDEL", k, *_fields(rng, rng.randint(1, 3))])]
    if r < 0.53:
        if rng.random() < 0.3:
            return [Entry(["HLEN", k])]
        return [Entry([rng.choice(["HSTRLEN", "HEXISTS"]), k, rng.choice(FIELDS)])]
    if r < 0.57:
        return [Entry([rng.choice(["HKEYS", "HVALS"]), k], "unordered")]
    if r < 0.61:
        return [Entry(["HGETALL", k], "pairs")]
    if r < 0.68:
        incr = rng.choice(["1", "-2", "100", "x", "9223372036854775807"])
        return [Entry(["HINCRBY", k, rng.choice(FIELDS), incr])]
    if r < 0.73:
        incr = rng.choice(["1.5", "-0.25", "3", "1e3", "x", "inf"])
        return [Entry(["HINCRBYFLOAT", k, rng.choice(FIELDS), incr])]
    if r < 0.80:
        if rng.random() < 0.3:
            return [Entry(["HRANDFIELD", k], "hrand_one"), Entry(["HGETALL", k], "pairs")]
        n = _count(rng)
        wv = rng.random() < 0.5
        args = ["HRANDFIELD", k, str(n)] + (["WITHVALUES"] if wv else [])
        return [Entry(args, "hrand", (n, wv)), Entry(["HGETALL", k], "pairs")]
    if r < 0.85:
        args = ["HSCAN", k, "0", "COUNT", "100"]
        if rng.random() < 0.5:
            args += ["MATCH", rng.choice(PATTERNS)]
        return [Entry(args, "scan_pairs")]
    return [Entry(["OBJECT", "ENCODING", k])]


def _set_entries(rng: random.Random) -> list[Entry]:
    k = _key(rng, SET_KEYS)
    r = rng.random()
    if r < 0.22:
        return [Entry(["SADD", k, *_members(rng, rng.randint(1, 4))])]
    if r < 0.30:
        return [Entry(["SREM", k, *_members(rng, rng.randint(1, 3))])]
    if r < 0.34:
        return [Entry(["SCARD", k])]
    if r < 0.40:
        return [Entry(["SISMEMBER", k, rng.choice(MEMBERS)])]
    if r < 0.43:
        return [Entry(["SMISMEMBER", k, *_members(rng, rng.randint(1, 3))])]
    if r < 0.48:
        return [Entry(["SMEMBERS", k], "unordered")]
    if r < 0.54:
        if rng.random() < 0.3:
            return [Entry(["SRANDMEMBER", k], "srand_one"), Entry(["SMEMBERS", k], "unordered")]
        n = _count(rng)
        return [Entry(["SRANDMEMBER", k, str(n)], "srand", n), Entry(["SMEMBERS", k], "unordered")]
    if r < 0.59:
        if rng.random() < 0.4:
            return [Entry(["SPOP", k], "spop", None)]
        n = rng.choice([0, 1, 2, 3, 6, 20])
        return [Entry(["SPOP", k, str(n)], "spop", n)]
    if r < 0.65:
        return [Entry(["SMOVE", _key(rng, SET_KEYS), _key(rng, SET_KEYS), rng.choice(MEMBERS)])]
    keys = [_key(rng, SET_KEYS) for _ in range(rng.randint(1, 3))]
    if r < 0.75:
        return [Entry([rng.choice(["SINTER", "SUNION", "SDIFF"]), *keys], "unordered")]
    if r < 0.79:
        args = ["SINTERCARD", str(len(keys)), *keys]
        if rng.random() < 0.4:
            args += ["LIMIT", str(rng.randint(0, 3))]
        return [Entry(args)]
    if r < 0.88:
        op = rng.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"])
        return [Entry([op, _key(rng, SET_KEYS), *keys])]
    if r < 0.93:
        args = ["SSCAN", k, "0", "COUNT", "100"]
        if rng.random() < 0.5:
            args += ["MATCH", rng.choice(PATTERNS)]
        return [Entry(args, "scan_members")]
    return [Entry(["OBJECT", "ENCODING", k])]


def _key_entries(rng: random.Random) -> list[Entry]:
    k = rng.choice(ALL_KEYS)
    r = rng.random()
    if r < 0.2:
        return [Entry(["DEL", k, *([rng.choice(ALL_KEYS)] if rng.random() < 0.3 else [])])]
    if r < 0.4:
        secs = rng.choice(["1000", "500", "0", "-1"])
        return [Entry(["EXPIRE", k, secs])]
    if r < 0.5:
        return [Entry(["TTL", k], "ttl")]
    if r < 0.65:
        return [Entry(["TYPE", k])]
    if r < 0.85:
        return [Entry(["RENAME", k, rng.choice(ALL_KEYS)])]
    return [Entry(["EXISTS", k, rng.choice(ALL_KEYS)])]


def generate(seed: int, n: int) -> Stream:
    rng = random.Random(seed)
    stream = Stream(seed, rng)
    while len(stream.entries) < n:
        r = rng.random()
        if r < 0.45:
            stream.entries += _hash_entries(rng)
        elif r < 0.90:
            stream.entries += _set_entries(rng)
        elif r < 0.99:
            stream.entries += _key_entries(rng)
        else:
            stream.entries.append(Entry(["SET", "str", rng.choice(VALUES)]))
    return stream


# ---- judging ----


def _compare(norm, a: bytes, b: bytes) -> str | None:
    return norm.compare(a, b)


def _same_shape(a: object, b: object) -> str | None:
    if type(a) is not type(b):
        return f"reply types differ: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, Error):
        return None if a == b else "error texts differ"
    if isinstance(a, list) and len(a) != len(b):  # type: ignore[arg-type]
        return f"lengths differ: {len(a)} vs {len(b)}"  # type: ignore[arg-type]
    return None


def _hash_of(raw: bytes) -> dict[bytes, bytes] | None:
    v = parse(raw)
    if isinstance(v, Error):
        return None
    return dict(zip(v[::2], v[1::2], strict=True))  # type: ignore[index]


def _check_hrand(reply: object, nxt: bytes, n: int, wv: bool) -> str | None:
    content = _hash_of(nxt)
    if isinstance(reply, Error):
        return None if content is None else f"unexpected error {reply!r}"
    if content is None:
        return f"a pick from a non-hash: {reply!r}"
    assert isinstance(reply, list)
    pairs = list(zip(reply[::2], reply[1::2], strict=True)) if wv else [(f, None) for f in reply]
    size = len(content)
    want = min(n, size) if n >= 0 else (-n if size else 0)
    if len(pairs) != want:
        return f"{len(pairs)} picks, expected {want} (hash of {size})"
    if n >= 0 and len({f for f, _ in pairs}) != len(pairs):
        return "repeated picks for a positive count"
    for f, v in pairs:
        if f not in content or (wv and content[f] != v):
            return f"{f!r}={v!r} not in the hash"
    return None


def _check_srand(reply: object, nxt: bytes, n: int | None) -> str | None:
    content = parse(nxt)
    if isinstance(reply, Error):
        return None if isinstance(content, Error) else f"unexpected error {reply!r}"
    if isinstance(content, Error):
        return f"a pick from a non-set: {reply!r}"
    members = set(content)  # type: ignore[arg-type]
    if n is None:
        if reply is None:
            return None if not members else "nil from a non-empty set"
        return None if reply in members else f"{reply!r} not a member"
    assert isinstance(reply, list)
    size = len(members)
    want = min(n, size) if n >= 0 else (-n if size else 0)
    if len(reply) != want:
        return f"{len(reply)} picks, expected {want} (set of {size})"
    if n >= 0 and len(set(reply)) != len(reply):
        return "repeated picks for a positive count"
    strangers = [m for m in reply if m not in members]
    return f"not members: {strangers!r}" if strangers else None


def _judge(entry: Entry, a: bytes, b: bytes, na: bytes | None, nb: bytes | None) -> str | None:
    """None if the two replies agree for this entry (na/nb: the next entry's replies)."""
    kind = entry.kind
    if kind == "exact":
        return None if a == b else "raw bytes differ"
    if kind == "unordered":
        return _compare(unordered, a, b)
    if kind == "pairs":
        return _compare(unordered_pairs, a, b)
    if kind == "ttl":
        return _compare(ttl_close, a, b)
    if kind in ("scan_pairs", "scan_members"):
        pa, pb = parse(a), parse(b)
        if isinstance(pa, Error) or isinstance(pb, Error):
            return None if a == b else "replies differ"
        (ca, ia), (cb, ib) = pa, pb  # type: ignore[misc]
        if kind == "scan_pairs":
            ia = sorted(zip(ia[::2], ia[1::2], strict=True))
            ib = sorted(zip(ib[::2], ib[1::2], strict=True))
        else:
            ia, ib = sorted(ia), sorted(ib)
        return None if (ca, ia) == (cb, ib) else f"{(ca, ia)!r} != {(cb, ib)!r}"
    pa, pb = parse(a), parse(b)
    why = _same_shape(pa, pb)
    if why:
        return why
    if kind in ("hrand", "hrand_one"):
        assert na is not None and nb is not None
        if kind == "hrand_one":
            for side, v, nxt in (("pikad", pa, na), ("redis", pb, nb)):
                content = _hash_of(nxt)
                if not isinstance(v, Error) and v is not None and (not content or v not in content):
                    return f"{side}: {v!r} not a field"
            return None
        n, wv = entry.arg  # type: ignore[misc]
        for side, v, nxt in (("pikad", pa, na), ("redis", pb, nb)):
            why = _check_hrand(v, nxt, n, wv)
            if why:
                return f"{side}: {why}"
        return None
    if kind in ("srand", "srand_one"):
        assert na is not None and nb is not None
        for side, v, nxt in (("pikad", pa, na), ("redis", pb, nb)):
            why = _check_srand(v, nxt, entry.arg if kind == "srand" else None)  # type: ignore[arg-type]
            if why:
                return f"{side}: {why}"
        return None
    if kind == "spop":
        # Same shape was checked; a counted SPOP is a RESP3-set-or-array of distinct members.
        if isinstance(pa, list) and len(set(pa)) != len(pa):
            return "pikad popped a member twice"
        return None
    raise AssertionError(f"unknown kind {kind}")


# ---- running ----


class Runner:
    def __init__(self, diff, stream: Stream) -> None:
        self.left, self.right = diff.conns()
        self.stream = stream
        self.done = 0  # commands judged so far
        self.history: list[str] = []

    def fail(self, index: int, entry: Entry, a: bytes, b: bytes, why: str) -> None:
        pytest.fail(
            f"seed {self.stream.seed}, command #{index}: {' '.join(entry.args)[:200]}\n"
            f"  pikad : {a[:300]!r}\n  redis : {b[:300]!r}\n  why: {why}\n"
            f"  before it: {'; '.join(self.history[-12:])}",
            pytrace=False,
        )

    def both(self, commands: list[list[str]]) -> tuple[list[bytes], list[bytes]]:
        self.left.send_commands(commands)
        self.right.send_commands(commands)
        return (
            self.left.read_replies(len(commands), timeout=30),
            self.right.read_replies(len(commands), timeout=30),
        )

    def each(self, left: list[list[str]], right: list[list[str]]) -> None:
        """Different commands per side (repairs); replies read, not compared."""
        if left:
            self.left.send_commands(left)
        if right:
            self.right.send_commands(right)
        if left:
            self.left.read_replies(len(left), timeout=30)
        if right:
            self.right.read_replies(len(right), timeout=30)

    def run_segment(self, entries: list[Entry]) -> None:
        ra, rb = self.both([e.args for e in entries])
        for i, e in enumerate(entries):
            na = ra[i + 1] if i + 1 < len(entries) else None
            nb = rb[i + 1] if i + 1 < len(entries) else None
            why = _judge(e, ra[i], rb[i], na, nb)
            if why:
                self.fail(self.done + i, e, ra[i], rb[i], why)
            self.history.append(" ".join(e.args)[:60])
        last = entries[-1]
        self.done += len(entries)
        if last.kind == "spop":
            self.repair(last.args[1], parse(ra[-1]), parse(rb[-1]))

    def repair(self, key: str, popped_left: object, popped_right: object) -> None:
        """Make both servers hold the same set again after an SPOP (see the module doc)."""

        def members(v: object) -> list[bytes]:
            if isinstance(v, Error) or v is None:
                return []
            return list(v) if isinstance(v, list | RespSet) else [v]  # type: ignore[list-item]

        pl, pr = members(popped_left), members(popped_right)
        self.each([["SREM", key, *pr]] if pr else [], [["SREM", key, *pl]] if pl else [])
        left, right = self.both(
            [["SMEMBERS", key], ["OBJECT", "ENCODING", key], ["PEXPIRETIME", key]]
        )
        ml, enc_l, _ = left
        mr, enc_r, at = right
        why = _compare(unordered, ml, mr)
        if why:
            self.fail(self.done, Entry(["SMEMBERS", key, "(after SPOP repair)"]), ml, mr, why)
        if enc_l != enc_r:
            content = parse(mr)
            expire_at = parse(at)
            rebuild = [["DEL", key], ["SADD", key, *content]]  # type: ignore[list-item]
            if isinstance(expire_at, int) and expire_at > 0:
                rebuild.append(["PEXPIREAT", key, str(expire_at)])
            self.both(rebuild)

    def run(self) -> None:
        entries = self.stream.entries
        seg: list[Entry] = []
        for e in entries:
            seg.append(e)
            # A random pick and the read that checks it stay in one segment.
            if e.kind == "spop" or (
                len(seg) >= SEGMENT and e.kind not in ("hrand", "hrand_one", "srand", "srand_one")
            ):
                self.run_segment(seg)
                seg = []
        if seg:
            self.run_segment(seg)


@pytest.mark.parametrize("seed", [int(os.environ.get("PIKADB_RANDOM_SEED", "20240611"))])
def test_random_hash_and_set_streams(diff, seed):
    diff([one_worker(["SET", "str", "v"])])  # FLUSHALL on both, then a string to clash with
    stream = generate(seed, COMMANDS_PER_STREAM)
    for e in stream.entries:
        e.args = one_worker(e.args)
    assert len(stream.entries) >= COMMANDS_PER_STREAM
    started = time.monotonic()
    Runner(diff, stream).run()
    elapsed = time.monotonic() - started
    assert elapsed < 120, f"{len(stream.entries)} commands took {elapsed:.1f}s"


def test_random_streams_are_reproducible():
    a = generate(7, 500)
    b = generate(7, 500)
    assert [e.args for e in a.entries] == [e.args for e in b.entries]
    kinds = {e.args[0] for e in generate(1, 5000).entries}
    every = {
        *[
            "HSET",
            "HMSET",
            "HSETNX",
            "HGET",
            "HMGET",
            "HDEL",
            "HLEN",
            "HSTRLEN",
            "HEXISTS",
            "HKEYS",
            "HVALS",
            "HGETALL",
        ],
        *["HINCRBY", "HINCRBYFLOAT", "HRANDFIELD", "HSCAN"],
        *[
            "SADD",
            "SREM",
            "SCARD",
            "SISMEMBER",
            "SMISMEMBER",
            "SMEMBERS",
            "SRANDMEMBER",
            "SPOP",
            "SMOVE",
        ],
        *[
            "SINTER",
            "SINTERCARD",
            "SUNION",
            "SDIFF",
            "SINTERSTORE",
            "SUNIONSTORE",
            "SDIFFSTORE",
            "SSCAN",
        ],
        *["DEL", "EXPIRE", "TYPE", "RENAME", "EXISTS", "TTL", "OBJECT"],
    }
    assert every <= kinds, sorted(every - kinds)
