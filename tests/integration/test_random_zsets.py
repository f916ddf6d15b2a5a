"""Randomized differential test: seeded streams of sorted-set commands (plus DEL, EXPIRE,
TTL, TYPE, RENAME, EXISTS, OBJECT ENCODING) over a small key / member / score space, sent to
pikad and to redis-server, every reply compared.

Keys come in families:
* z0..z3: scores drawn from a small pool with ties, infinities, -0 and fractions; every
  score, rank and set-algebra command runs on them (and on the others: WRONGTYPE, missing);
* zb: bulk adds from a bigger member pool push it past zset-max-listpack-entries, so the
  skiplist encoding, long rank walks and ZSCAN pages get exercised;
* l0, l1: every member has score 0 (Redis's lex commands assume equal scores), the only
  targets of the BYLEX commands; nothing gives them another score (stores and renames into
  them come only from the lex family);
* s0 (a set, for ZUNION/ZINTER inputs), str (a string), none (never written).

Commands are pipelined in segments. Random replies (ZRANDMEMBER) are judged by their rules
and against the zset as the next command (ZRANGE ... WITHSCORES, itself compared) shows it;
ZSCAN replies are compared as sorted pairs (a skiplist zset comes in hash order from Redis);
TTLs get a second of slack. A failure names the seed and the command index: rerun with
PIKADB_RANDOM_SEED to reproduce.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field

import pytest

from helpers.keytags import one_worker
from helpers.raw import Error, parse
from integration.diff import ttl_close

COMMANDS_PER_STREAM = int(os.environ.get("PIKADB_RANDOM_COMMANDS", "10000"))
SEGMENT = 400  # commands per pipeline write

SCORE_KEYS = ["z0", "z1", "z2", "z3"]
BIG_KEY = "zb"
DST_KEY = "zd"  # where most *STORE commands write, so their empty results delete little
LEX_KEYS = ["l0", "l1"]
OTHER_KEYS = ["s0", "str", "none"]
ZKEYS = [*SCORE_KEYS, BIG_KEY, DST_KEY]
ALL_KEYS = [*ZKEYS, *LEX_KEYS, *OTHER_KEYS]
LONG = "L" * 70  # over zset-max-listpack-value
MEMBERS = ["a", "b", "c", "d", "e", "f", "g", "1", "2", "10", "", "x y", LONG]
BIG_MEMBERS = [f"m{i:03d}" for i in range(220)]
SCORES = ["0", "1", "2", "2", "-1", "1.5", "-0.5", "3.25", "inf", "-inf", "1e3", "0.1", "-0"]
BAD_SCORES = ["x", "nan", "", "1e400"]
SCORE_BOUNDS = ["-inf", "+inf", "0", "(0", "1", "(1", "2", "(2.5", "-1", "1e3", "(inf", "(-inf"]
LEX_BOUNDS = ["-", "+", "[a", "(a", "[c", "(d", "[", "(", "[x y", "(1", "[10", "[g"]
PATTERNS = ["*", "a*", "*1*", "?", "[a-c]", "m1*"]


@dataclass
class Entry:
    args: list[str]
    kind: str = "exact"  # how replies are judged, see _judge
    arg: object = None  # ZRANDMEMBER: (count or None, withscores)


@dataclass
class Stream:
    seed: int
    rng: random.Random
    entries: list[Entry] = field(default_factory=list)


# ---- generation ----


def _zkey(rng: random.Random, write: bool = True) -> str:
    """A key for a zset command: mostly the score family; sometimes anything else a command
    of this kind may touch (writes never give a lex key a score)."""
    r = rng.random()
    if r < 0.75:
        return rng.choice(SCORE_KEYS)
    if r < 0.85:
        return BIG_KEY
    if r < 0.9:
        return DST_KEY
    return rng.choice(ALL_KEYS if not write else [*ZKEYS, *OTHER_KEYS])


def _member(rng: random.Random, key: str) -> str:
    if key == BIG_KEY and rng.random() < 0.8:
        return rng.choice(BIG_MEMBERS)
    return rng.choice(MEMBERS)


def _score(rng: random.Random) -> str:
    return rng.choice(BAD_SCORES) if rng.random() < 0.03 else rng.choice(SCORES)


def _score_bound(rng: random.Random) -> str:
    return "x" if rng.random() < 0.02 else rng.choice(SCORE_BOUNDS)


def _lex_bound(rng: random.Random) -> str:
    return "x" if rng.random() < 0.02 else rng.choice(LEX_BOUNDS)


def _index(rng: random.Random) -> str:
    return str(rng.choice([0, 1, 2, 3, 4, 5, 10, 150, -1, -2, -3, -4, -10, -200]))


def _limit(rng: random.Random) -> list[str]:
    if rng.random() < 0.6:
        return []
    return ["LIMIT", str(rng.choice([0, 1, 2, -1, 5])), str(rng.choice([1, 2, 3, -1, 0, 10]))]


def _dst(rng: random.Random) -> str:
    return DST_KEY if rng.random() < 0.7 else rng.choice(ZKEYS)


def _check_read(key: str) -> Entry:
    return Entry(["ZRANGE", key, "0", "-1", "WITHSCORES"])


def _zadd(rng: random.Random, key: str, lex: bool) -> Entry:
    flags: list[str] = []
    for f in ("NX", "XX", "GT", "LT", "CH", "INCR"):
        if rng.random() < 0.12:
            flags.append(f)
    if "INCR" in flags:
        n = 1 if rng.random() < 0.95 else 2
    elif key == BIG_KEY:
        n = rng.choice([1, 3, 20, 40])
    else:
        n = rng.randint(1, 6)
    pairs = []
    for _ in range(n):
        pairs += ["0" if lex else _score(rng), _member(rng, key)]
    return Entry(["ZADD", key, *flags, *pairs])


_READS_FROM = 0.31  # _score_entries: r above this and below 0.58 is a read-only command


def _score_entries(rng: random.Random) -> list[Entry]:
    r = rng.random()
    read_only = _READS_FROM <= r < 0.58 or 0.73 <= r < 0.78 or r >= 0.90
    k = _zkey(rng, write=not read_only)
    if r < 0.20:
        return [_zadd(rng, k, False)]
    if r < 0.25:
        inc = rng.choice(["1", "-2", "0.5", "inf", "-inf", "x", "0"])
        return [Entry(["ZINCRBY", k, inc, _member(rng, k)])]
    if r < 0.31:
        return [Entry(["ZREM", k, *[_member(rng, k) for _ in range(rng.randint(1, 3))]])]
    if r < 0.34:
        return [Entry(["ZCARD", k])]
    if r < 0.38:
        return [Entry(["ZSCORE", k, _member(rng, k)])]
    if r < 0.40:
        return [Entry(["ZMSCORE", k, *[_member(rng, k) for _ in range(rng.randint(1, 3))]])]
    if r < 0.44:
        return [Entry([rng.choice(["ZRANK", "ZREVRANK"]), k, _member(rng, k)])]
    if r < 0.47:
        return [Entry(["ZCOUNT", k, _score_bound(rng), _score_bound(rng)])]
    if r < 0.58:
        return [_range_entry(rng, k)]
    if r < 0.61:
        src = _zkey(rng, write=False)
        args = ["ZRANGESTORE", _dst(rng), src]
        kind = rng.random()
        if kind < 0.5:
            args += [_index(rng), _index(rng)]
        else:
            args += [_score_bound(rng), _score_bound(rng), "BYSCORE", *_limit(rng)]
        if rng.random() < 0.3:
            args.append("REV")
        return [Entry(args)]
    if r < 0.65:
        which = rng.random()
        if which < 0.5:
            return [Entry(["ZREMRANGEBYRANK", k, _index(rng), _index(rng)])]
        return [Entry(["ZREMRANGEBYSCORE", k, _score_bound(rng), _score_bound(rng)])]
    if r < 0.70:
        cmd = rng.choice(["ZPOPMIN", "ZPOPMAX"])
        if rng.random() < 0.4:
            return [Entry([cmd, k])]
        return [Entry([cmd, k, str(rng.choice([0, 1, 2, 3, 5, 50, -1]))])]
    if r < 0.73:
        keys = [_zkey(rng) for _ in range(rng.randint(1, 3))]
        args = ["ZMPOP", str(len(keys)), *keys, rng.choice(["MIN", "MAX"])]
        if rng.random() < 0.5:
            args += ["COUNT", str(rng.choice([1, 2, 3, 4, 30, 0]))]
        return [Entry(args)]
    if r < 0.78:
        if rng.random() < 0.3:
            return [Entry(["ZRANDMEMBER", k], "zrand", (None, False)), _check_read(k)]
        n = rng.choice([0, 1, 2, 3, 5, 50, 300, -1, -2, -5, -30])
        ws = rng.random() < 0.5
        args = ["ZRANDMEMBER", k, str(n), *(["WITHSCORES"] if ws else [])]
        return [Entry(args, "zrand", (n, ws)), _check_read(k)]
    if r < 0.90:
        return [_algebra_entry(rng)]
    if r < 0.95:
        args = ["ZSCAN", k, "0", "COUNT", "1000"]
        if rng.random() < 0.5:
            args += ["MATCH", rng.choice(PATTERNS)]
        return [Entry(args, "scan")]
    return [Entry(["OBJECT", "ENCODING", k])]


def _range_entry(rng: random.Random, k: str) -> Entry:
    r = rng.random()
    ws = ["WITHSCORES"] if rng.random() < 0.5 else []
    if r < 0.35:
        rev = ["REV"] if rng.random() < 0.3 else []
        return Entry(["ZRANGE", k, _index(rng), _index(rng), *rev, *ws])
    if r < 0.5:
        return Entry(["ZREVRANGE", k, _index(rng), _index(rng), *ws])
    if r < 0.7:
        rev = ["REV"] if rng.random() < 0.3 else []
        args = ["ZRANGE", k, _score_bound(rng), _score_bound(rng), "BYSCORE", *rev]
        return Entry([*args, *_limit(rng), *ws])
    cmd = rng.choice(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"])
    return Entry([cmd, k, _score_bound(rng), _score_bound(rng), *ws, *_limit(rng)])


def _algebra_entry(rng: random.Random) -> Entry:
    pool = [*SCORE_KEYS, BIG_KEY, "s0", "none", "str" if rng.random() < 0.1 else "none"]
    keys = [rng.choice(pool) for _ in range(rng.randint(1, 3))]
    op = rng.choice(["UNION", "INTER", "DIFF"])
    opts: list[str] = []
    if op != "DIFF":
        if rng.random() < 0.3:
            opts += ["WEIGHTS", *[rng.choice(["1", "2", "-1", "0.5", "0", "inf"]) for _ in keys]]
        if rng.random() < 0.3:
            opts += ["AGGREGATE", rng.choice(["SUM", "MIN", "MAX"])]
    r = rng.random()
    if r < 0.4:
        dst = _dst(rng)
        return Entry([f"Z{op}STORE", dst, str(len(keys)), *keys, *opts])
    if r < 0.85:
        ws = ["WITHSCORES"] if rng.random() < 0.6 else []
        return Entry([f"Z{op}", str(len(keys)), *keys, *opts, *ws])
    limit = ["LIMIT", str(rng.randint(0, 3))] if rng.random() < 0.4 else []
    return Entry(["ZINTERCARD", str(len(keys)), *keys, *limit])


def _lex_entries(rng: random.Random) -> list[Entry]:
    k = rng.choice(LEX_KEYS)
    r = rng.random()
    if r < 0.3:
        return [_zadd(rng, k, True)]
    if r < 0.4:
        return [Entry(["ZREM", k, *[rng.choice(MEMBERS) for _ in range(rng.randint(1, 2))]])]
    if r < 0.5:
        return [Entry(["ZLEXCOUNT", k, _lex_bound(rng), _lex_bound(rng)])]
    if r < 0.75:
        cmd = rng.choice(["ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZRANGE"])
        extra = ["BYLEX", *(["REV"] if rng.random() < 0.3 else [])] if cmd == "ZRANGE" else []
        return [Entry([cmd, k, _lex_bound(rng), _lex_bound(rng), *extra, *_limit(rng)])]
    if r < 0.82:
        return [Entry(["ZREMRANGEBYLEX", k, _lex_bound(rng), _lex_bound(rng)])]
    if r < 0.9:
        args = ["ZRANGESTORE", rng.choice(LEX_KEYS), k, _lex_bound(rng), _lex_bound(rng), "BYLEX"]
        return [Entry([*args, *_limit(rng)])]
    if r < 0.95:
        return [Entry([rng.choice(["ZRANK", "ZREVRANK", "ZSCORE"]), k, rng.choice(MEMBERS)])]
    return [Entry(["ZRANGE", k, "0", "-1", "WITHSCORES"])]


def _key_entries(rng: random.Random) -> list[Entry]:
    k = rng.choice(ALL_KEYS)
    r = rng.random()
    if r < 0.2:
        return [Entry(["DEL", k, *([rng.choice(ALL_KEYS)] if rng.random() < 0.3 else [])])]
    if r < 0.4:
        return [Entry(["EXPIRE", k, rng.choice(["1000", "500", "1000", "0", "-1"])])]
    if r < 0.5:
        return [Entry(["TTL", k], "ttl")]
    if r < 0.65:
        return [Entry(["TYPE", k])]
    if r < 0.85:
        # Lex keys only trade places with each other (their scores must stay equal).
        family = LEX_KEYS if k in LEX_KEYS else [*ZKEYS, *OTHER_KEYS]
        return [Entry(["RENAME", k, rng.choice(family)])]
    return [Entry(["EXISTS", k, rng.choice(ALL_KEYS)])]


def generate(seed: int, n: int) -> Stream:
    rng = random.Random(seed)
    stream = Stream(seed, rng)
    while len(stream.entries) < n:
        r = rng.random()
        if r < 0.15:  # extra adds keep the zsets populated against pops and removals
            stream.entries.append(_zadd(rng, _zkey(rng), False))
        elif r < 0.70:
            stream.entries += _score_entries(rng)
        elif r < 0.85:
            stream.entries += _lex_entries(rng)
        elif r < 0.97:
            stream.entries += _key_entries(rng)
        elif r < 0.99:
            stream.entries.append(Entry(["SADD", "s0", *rng.sample(MEMBERS[:10], 3)]))
        else:
            stream.entries.append(Entry(["SET", "str", "v"]))
    return stream


# ---- judging ----


def _pairs(v: object) -> list[tuple]:
    """Flat RESP2 member/score array -> pairs (ZRANDMEMBER WITHSCORES, ZSCAN)."""
    assert isinstance(v, list), v
    return list(zip(v[::2], v[1::2], strict=True))


def _check_zrand(reply: object, nxt: bytes, n: int | None, withscores: bool) -> str | None:
    content = parse(nxt)
    if isinstance(reply, Error):
        return None if isinstance(content, Error) else f"unexpected error {reply!r}"
    if isinstance(content, Error):
        return f"a pick from a non-zset: {reply!r}"
    zset = dict(_pairs(content))
    if n is None:
        if reply is None:
            return None if not zset else "nil from a non-empty zset"
        return None if reply in zset else f"{reply!r} not a member"
    assert isinstance(reply, list)
    picks = _pairs(reply) if withscores else [(m, None) for m in reply]
    size = len(zset)
    want = min(n, size) if n >= 0 else (-n if size else 0)
    if len(picks) != want:
        return f"{len(picks)} picks, expected {want} (zset of {size})"
    if n >= 0 and len({m for m, _ in picks}) != len(picks):
        return "repeated picks for a positive count"
    for m, s in picks:
        if m not in zset or (withscores and zset[m] != s):
            return f"{m!r}={s!r} not in the zset"
    if n >= size > 0:  # the whole zset, highest score first, as Redis walks it
        members = [m for m, _ in picks]
        if members != [m for m, _ in reversed(_pairs(content))]:
            return f"whole-zset order {members!r}"
    return None


def _judge(
    entry: Entry, a: bytes, b: bytes, nxt_a: bytes | None, nxt_b: bytes | None
) -> str | None:
    kind = entry.kind
    if kind == "exact":
        return None if a == b else "raw bytes differ"
    if kind == "ttl":
        return ttl_close.compare(a, b)
    pa, pb = parse(a), parse(b)
    if type(pa) is not type(pb):
        return f"reply types differ: {type(pa).__name__} vs {type(pb).__name__}"
    if isinstance(pa, Error):
        return None if pa == pb else "error texts differ"
    if kind == "scan":
        (ca, ia), (cb, ib) = pa, pb  # type: ignore[misc]
        sa, sb = sorted(_pairs(ia)), sorted(_pairs(ib))
        return None if (ca, sa) == (cb, sb) else f"{(ca, sa)!r} != {(cb, sb)!r}"
    if kind == "zrand":
        assert nxt_a is not None and nxt_b is not None
        n, ws = entry.arg  # type: ignore[misc]
        for side, v, nxt in (("pikad", pa, nxt_a), ("redis", pb, nxt_b)):
            why = _check_zrand(v, nxt, n, ws)
            if why:
                return f"{side}: {why}"
        return None
    raise AssertionError(f"unknown kind {kind}")


# ---- running ----


class Runner:
    def __init__(self, diff, stream: Stream) -> None:
        self.left, self.right = diff.conns()
        self.stream = stream
        self.done = 0
        self.history: list[str] = []

    def run_segment(self, entries: list[Entry]) -> None:
        commands = [e.args for e in entries]
        self.left.send_commands(commands)
        self.right.send_commands(commands)
        ra = self.left.read_replies(len(commands), timeout=30)
        rb = self.right.read_replies(len(commands), timeout=30)
        for i, e in enumerate(entries):
            na = ra[i + 1] if i + 1 < len(entries) else None
            nb = rb[i + 1] if i + 1 < len(entries) else None
            why = _judge(e, ra[i], rb[i], na, nb)
            if why:
                pytest.fail(
                    f"seed {self.stream.seed}, command #{self.done + i}: "
                    f"{' '.join(e.args)[:200]}\n  pikad : {ra[i][:300]!r}\n"
                    f"  redis : {rb[i][:300]!r}\n  why: {why}\n"
                    f"  before it: {'; '.join(self.history[-12:])}",
                    pytrace=False,
                )
            self.history.append(" ".join(e.args)[:60])
        self.done += len(entries)

    def run(self) -> None:
        seg: list[Entry] = []
        for e in self.stream.entries:
            seg.append(e)
            # A random pick and the read that checks it stay in one segment.
            if len(seg) >= SEGMENT and e.kind != "zrand":
                self.run_segment(seg)
                seg = []
        if seg:
            self.run_segment(seg)


@pytest.mark.parametrize("seed", [int(os.environ.get("PIKADB_RANDOM_SEED", "20240612"))])
def test_random_zset_streams(diff, seed):
    # FLUSHALL on both first
    diff([one_worker(["SET", "str", "v"]), one_worker(["SADD", "s0", "a", "b", "1"])])
    stream = generate(seed, COMMANDS_PER_STREAM)
    for e in stream.entries:
        e.args = one_worker(e.args)
    assert len(stream.entries) >= COMMANDS_PER_STREAM
    started = time.monotonic()
    Runner(diff, stream).run()
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"{len(stream.entries)} commands took {elapsed:.1f}s"


def test_random_streams_are_reproducible():
    a = generate(7, 500)
    b = generate(7, 500)
    assert [e.args for e in a.entries] == [e.args for e in b.entries]
    kinds = {e.args[0] for e in generate(1, 5000).entries}
    every = {
        *["ZADD", "ZINCRBY", "ZREM", "ZCARD", "ZSCORE", "ZMSCORE", "ZRANK", "ZREVRANK"],
        *["ZCOUNT", "ZLEXCOUNT", "ZRANGE", "ZRANGESTORE", "ZREVRANGE", "ZRANGEBYSCORE"],
        *["ZREVRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZREMRANGEBYRANK"],
        *["ZREMRANGEBYSCORE", "ZREMRANGEBYLEX", "ZPOPMIN", "ZPOPMAX", "ZMPOP", "ZRANDMEMBER"],
        *["ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"],
        *["ZINTERCARD", "ZSCAN", "OBJECT", "DEL", "EXPIRE", "TTL", "TYPE", "RENAME", "EXISTS"],
    }
    assert every <= kinds, sorted(every - kinds)
