"""Randomized differential test: seeded streams of bitmap and HyperLogLog commands sent to
pikad and redis-server, every reply compared byte for byte.

The keys are few and shared between the two families on purpose: bit commands flip bits
inside HLL values (making them corrupt in all the ways a sparse or dense encoding can
be), HLL commands meet bitmaps and plain strings, and GET compares the stored bytes
after each kind of write. Offsets stay small so values stay small; HLLs reach the dense
encoding through big PFADD batches. Every stream is reproducible from its seed.
"""

from __future__ import annotations

import random
import time

import pytest

STREAMS = 6
COMMANDS_PER_STREAM = 3000  # 18,000 commands in all, a few seconds on an idle machine
TIME_BUDGET_S = 60  # for all streams together

BIT_KEYS = ["b0", "b1", "b2", "s0"]
HLL_KEYS = ["h0", "h1", "h2", "h3"]
KEYS = [*BIT_KEYS, *HLL_KEYS, "nokey"]


def _key(rng: random.Random) -> str:
    """Mostly a bitmap key; sometimes an HLL's (bit commands then damage it)."""
    r = rng.random()
    if r < 0.75:
        return rng.choice(BIT_KEYS)
    return rng.choice(HLL_KEYS) if r < 0.95 else "nokey"


def _hll_key(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.88:
        return rng.choice(HLL_KEYS)
    return rng.choice(BIT_KEYS) if r < 0.96 else "nokey"


def _offset(rng: random.Random, key: str) -> str:
    """A bit offset; in an HLL mostly past its 16-byte header, so that the damage is to
    the registers or opcodes rather than the magic."""
    if key.startswith("h") and rng.random() < 0.9:
        return str(rng.randint(128, 8 * 3100))
    return _int_text(rng, 0, 2000)


def _int_text(rng: random.Random, lo: int, hi: int) -> str:
    r = rng.random()
    if r < 0.03:
        return rng.choice(["x", "", "1.5", "+1", "-0", "99999999999999999999"])
    if r < 0.06:
        return str(rng.choice([-(1 << 63), (1 << 63) - 1]))
    return str(rng.randint(lo, hi))


def _bitfield_type(rng: random.Random) -> str:
    if rng.random() < 0.03:
        return rng.choice(["u64", "i65", "u0", "x8", "i"])
    if rng.random() < 0.5:
        return f"i{rng.randint(1, 64)}"
    return f"u{rng.randint(1, 63)}"


def _bitfield(rng: random.Random, readonly: bool) -> list[str]:
    key = _key(rng)
    cmd = ["BITFIELD_RO" if readonly else "BITFIELD", key]
    for _ in range(rng.randint(0, 4)):
        r = rng.random()
        t = _bitfield_type(rng)
        offset = f"#{rng.randint(0, 40)}" if rng.random() < 0.3 else _offset(rng, key)
        if r < 0.4 or (readonly and r < 0.9):
            cmd += ["GET", t, offset]
        elif r < 0.65:
            cmd += ["SET", t, offset, _int_text(rng, -(1 << 40), 1 << 40)]
        elif r < 0.9:
            cmd += ["INCRBY", t, offset, _int_text(rng, -300, 300)]
        else:
            cmd += ["OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL", "fail", "bogus"])]
    return cmd


def _range_args(rng: random.Random, unit_ok: bool) -> list[str]:
    args = [_int_text(rng, -60, 60), _int_text(rng, -60, 60)]
    if unit_ok and rng.random() < 0.5:
        args.append(rng.choice(["BIT", "BYTE", "bit", "byte", "bits"]))
    return args


def _elements(rng: random.Random) -> list[str]:
    n = rng.choice([0, 1, 3, 10, 50, 400, 1500])
    base = rng.randrange(5000)
    return [f"e{base + i}" for i in range(n)]


def command(rng: random.Random) -> list[str]:
    r = rng.random()
    key = _key(rng)
    if r < 0.10:
        return ["SETBIT", key, _offset(rng, key), rng.choice(["0", "1", "1", "1", "2"])]
    if r < 0.15:
        return ["GETBIT", key, _offset(rng, key)]
    if r < 0.26:
        cmd = ["BITCOUNT", key]
        if rng.random() < 0.7:
            cmd += _range_args(rng, True)
        return cmd
    if r < 0.34:
        cmd = ["BITPOS", key, rng.choice(["0", "1", "1", "0", "2"])]
        if rng.random() < 0.7:
            cmd.append(_int_text(rng, -60, 60))
            if rng.random() < 0.6:
                cmd.append(_int_text(rng, -60, 60))
                if rng.random() < 0.5:
                    cmd.append(rng.choice(["BIT", "BYTE", "bit", "foo"]))
        return cmd
    if r < 0.38:
        op = rng.choice(["AND", "OR", "XOR", "NOT", "not", "nand"])
        n = 1 if op.upper() == "NOT" and rng.random() < 0.9 else rng.randint(1, 4)
        return ["BITOP", op, rng.choice(BIT_KEYS), *(_key(rng) for _ in range(n))]
    if r < 0.47:
        return _bitfield(rng, readonly=rng.random() < 0.3)
    hkey = _hll_key(rng)
    if r < 0.62:
        return ["PFADD", hkey, *_elements(rng)]
    if r < 0.72:
        return ["PFCOUNT", hkey, *(_hll_key(rng) for _ in range(rng.choice([0, 0, 1, 2])))]
    if r < 0.77:
        return ["PFMERGE", hkey, *(_hll_key(rng) for _ in range(rng.randint(0, 3)))]
    if r < 0.79:
        return ["PFDEBUG", rng.choice(["ENCODING", "DECODE", "TODENSE", "GETREG"]), hkey]
    if r < 0.86:
        return ["GET", rng.choice([key, hkey])]
    if r < 0.89:
        return ["OBJECT", "ENCODING", key]
    if r < 0.91:
        return ["STRLEN", key]
    if r < 0.94:
        # HLLs damaged beyond use start over from time to time.
        return ["DEL", rng.choice(BIT_KEYS) if rng.random() < 0.4 else hkey]
    # Plain string writes mostly hit bitmaps: on an HLL they break its header for good.
    skey = key if rng.random() < 0.1 else rng.choice(BIT_KEYS)
    if r < 0.96:
        return ["SET", skey, rng.choice(["", "1", "12345", "hello", "\xff\x00" * 20])]
    if r < 0.98:
        return ["APPEND", skey, rng.choice(["\x00", "ab", "\x80" * 3])]
    return ["SETRANGE", skey, str(rng.randint(0, 40)), rng.choice(["\xff", "\x00\x00", "zz"])]


@pytest.mark.parametrize("seed", range(STREAMS))
def test_random_stream(diff, seed):
    rng = random.Random(1000 + seed)
    started = time.monotonic()
    commands = [command(rng) for _ in range(COMMANDS_PER_STREAM)]
    # Compare the stored bytes of every key at the end as well.
    commands += [["GET", k] for k in KEYS]
    diff(commands)
    # A stream over its share of the budget (with slack for a loaded machine) means
    # something became pathologically slow.
    elapsed = time.monotonic() - started
    assert elapsed < TIME_BUDGET_S / STREAMS * 2.5, f"stream took {elapsed:.1f}s"
