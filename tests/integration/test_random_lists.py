"""Seeded random streams of list commands, pikad against redis-server.

Each stream is >= 10,000 list commands (every list command, blocking ones included where
they cannot block) mixed with DEL, EXPIRE/PERSIST/TTL, RENAME, COPY, TYPE, EXISTS and the
occasional SET that turns a list key into a string, over a handful of keys and a small
alphabet so that pivots, LREM and LPOS find matches. Some pushes are long (up to 300
elements) so lists cross the 128-element purge limit and middle edits move either side.
Commands go out in pipelined batches; every reply is compared (TTLs only as
"positive"/-1/-2), then the final contents of every key. A mismatch reports the seed, the
command and the commands just before it, so it replays exactly.
"""

from __future__ import annotations

import random
import time

import pytest

from helpers.keytags import one_worker
from helpers.raw import RawConnection, parse

KEYS = ["a", "b", "c", "d", "{a}x"]
ALPHABET = ["x", "y", "z", "w", "", "long-" + "q" * 40, "\x00\xff"]
GUARD = "guard"  # never empty: blocking commands put it last so they never block
STREAM_LEN = 10_000
BATCH = 500


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.guard_left = 0

    def key(self) -> str:
        return self.r.choice(KEYS)

    def elem(self) -> str:
        return self.r.choice(ALPHABET)

    def elems(self) -> list[str]:
        r = self.r
        n = r.randrange(150, 300) if r.random() < 0.03 else r.randrange(1, 6)
        return [self.elem() for _ in range(n)]

    def index(self) -> str:
        r = self.r
        return str(r.choice([r.randrange(-12, 12), r.randrange(-400, 400), 0, -1]))

    def where(self) -> str:
        return self.r.choice(["LEFT", "RIGHT", "left", "right"])

    def refill_guard(self) -> list[list[str]]:
        if self.guard_left >= 10:
            return []
        self.guard_left += 2000
        return [["RPUSH", GUARD, *(["g"] * 2000)]]

    def list_command(self) -> list[str]:
        r = self.r
        k = self.key()
        op = r.randrange(24)
        if op in (0, 1):
            return ["RPUSH", k, *self.elems()]
        if op in (2, 3):
            return ["LPUSH", k, *self.elems()]
        if op == 4:
            return [r.choice(["LPUSHX", "RPUSHX"]), k, *self.elems()]
        if op in (5, 6):
            cmd = [r.choice(["LPOP", "RPOP"]), k]
            if r.random() < 0.5:
                cmd.append(str(r.choice([0, 1, 2, 5, 50, 400])))
            return cmd
        if op == 7:
            return ["LLEN", k]
        if op in (8, 9):
            return ["LRANGE", k, self.index(), self.index()]
        if op == 10:
            return ["LINDEX", k, self.index()]
        if op == 11:
            return ["LSET", k, self.index(), self.elem()]
        if op == 12:
            return ["LINSERT", k, r.choice(["BEFORE", "AFTER"]), self.elem(), self.elem()]
        if op == 13:
            return ["LREM", k, str(r.choice([0, 1, 2, -1, -2, 5, -5])), self.elem()]
        if op == 14:
            return ["LTRIM", k, self.index(), self.index()]
        if op == 15:
            cmd = ["LPOS", k, self.elem()]
            if r.random() < 0.5:
                cmd += ["RANK", str(r.choice([1, 2, 3, -1, -2, -3]))]
            if r.random() < 0.5:
                cmd += ["COUNT", str(r.choice([0, 1, 2, 4]))]
            if r.random() < 0.3:
                cmd += ["MAXLEN", str(r.choice([0, 1, 5, 50]))]
            return cmd
        if op == 16:
            return ["LMOVE", k, self.key(), self.where(), self.where()]
        if op == 17:
            return ["RPOPLPUSH", k, self.key()]
        if op == 18:
            keys = r.sample(KEYS, r.randrange(1, 4))
            cmd = ["LMPOP", str(len(keys)), *keys, self.where()]
            if r.random() < 0.5:
                cmd += ["COUNT", str(r.choice([1, 2, 10]))]
            return cmd
        # Blocking commands, never blocking: the guard list comes last and is never empty.
        self.guard_left -= 2  # at most one element each (BLMPOP COUNT: see below)
        if op == 19:
            return ["BLPOP", k, self.key(), GUARD, "0"]
        if op == 20:
            return ["BRPOP", k, GUARD, "0"]
        if op == 21:
            return ["BLMOVE", GUARD, k, self.where(), self.where(), "0"]
        if op == 22:
            return ["BRPOPLPUSH", GUARD, k, "0"]
        keys = [*r.sample(KEYS, r.randrange(1, 3)), GUARD]
        return ["BLMPOP", "0", str(len(keys)), *keys, self.where(), "COUNT", "2"]

    def keyspace_command(self) -> list[str]:
        r = self.r
        k = self.key()
        op = r.randrange(10)
        if op == 0:
            return ["DEL", k, *r.sample(KEYS, r.randrange(0, 2))]
        if op == 1:
            return ["EXPIRE", k, str(r.choice([100, 1000]))]
        if op == 2:
            return ["PERSIST", k]
        if op == 3:
            return ["TTL", k]
        if op == 4:
            return ["PEXPIRE", k, "0"]  # deletes at once, on both
        if op == 5:
            return ["RENAME", k, self.key()]
        if op == 6:
            return ["COPY", k, self.key(), *(["REPLACE"] if r.random() < 0.5 else [])]
        if op == 7:
            return ["TYPE", k]
        if op == 8:
            return ["EXISTS", k, self.key()]
        return ["SET", k, self.elem()] if r.random() < 0.1 else ["LLEN", k]

    def stream(self, n_list: int) -> list[list[str]]:
        out: list[list[str]] = []
        made = 0
        while made < n_list:
            out += self.refill_guard()
            if self.r.random() < 0.1:
                out.append(self.keyspace_command())
            else:
                out.append(self.list_command())
                made += 1
        return out


def _normalize(cmd: list[str], reply: bytes) -> object:
    if cmd[0] == "TTL":
        v = parse(reply)
        return "positive" if isinstance(v, int) and v > 0 else v
    return reply


def _run(port: int, commands: list[list[str]]) -> list[bytes]:
    conn = RawConnection(port, timeout=30)
    try:
        conn.execute("FLUSHALL")
        replies: list[bytes] = []
        for i in range(0, len(commands), BATCH):
            chunk = commands[i : i + BATCH]
            conn.send_commands(chunk)
            replies += conn.read_replies(len(chunk), timeout=30)
        for k in [*KEYS, GUARD]:
            replies.append(conn.execute(*one_worker(["TYPE", k])))
            replies.append(conn.execute(*one_worker(["LRANGE", k, "0", "-1"])))
        return replies
    finally:
        conn.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_random_list_stream(pikad, redis_oracle, seed):
    commands = [one_worker(c) for c in Gen(seed).stream(STREAM_LEN)]
    t0 = time.monotonic()
    left = _run(pikad.port, commands)
    right = _run(redis_oracle.port, commands)
    elapsed = time.monotonic() - t0
    final = [cmd for k in [*KEYS, GUARD] for cmd in (["TYPE", k], ["LRANGE", k, "0", "-1"])]
    everything = commands + final
    assert len(left) == len(right) == len(everything)
    for i, (cmd, a, b) in enumerate(zip(everything, left, right, strict=True)):
        if _normalize(cmd, a) != _normalize(cmd, b):
            before = "\n".join(" ".join(c)[:120] for c in everything[max(0, i - 15) : i])
            raise AssertionError(
                f"seed {seed}, command #{i}: {' '.join(cmd)[:200]}\n"
                f"  pikad:        {a[:300]!r}\n  redis-server: {b[:300]!r}\n"
                f"commands before:\n{before}"
            )
    assert elapsed < 60, f"the stream took {elapsed:.1f} s"
