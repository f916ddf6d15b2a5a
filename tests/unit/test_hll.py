"""The compiled HyperLogLog core (pikadb.hll) against a pure-Python model of Redis's.

The model here is written from the format description (MurmurHash64A, 14-bit register
index, 6-bit dense registers, ZERO/XZERO/VAL sparse opcodes, Ertl's estimator), not from
the Cython code, so the two check each other: registers decoded from any value the core
writes must be the running maximum of the elements' patterns, and counts must equal the
model's estimate exactly. Byte-exact values captured from redis-server 7.0.15 pin the
format itself; the differential suite (tests/integration/test_diff_hyperloglog.py)
compares everything else with a live redis-server.
"""

from __future__ import annotations

import math
import random

import pytest

from pikadb import hll

M64 = (1 << 64) - 1
SEED = 0xADC83B19


# ---- the model ----


def murmur64a(data: bytes, seed: int = SEED) -> int:
    m = 0xC6A4A7935BD1E995
    r = 47
    h = (seed ^ (len(data) * m)) & M64
    n8 = len(data) - len(data) % 8
    for i in range(0, n8, 8):
        k = int.from_bytes(data[i : i + 8], "little")
        k = (k * m) & M64
        k ^= k >> r
        k = (k * m) & M64
        h ^= k
        h = (h * m) & M64
    tail = data[n8:]
    if tail:
        h ^= int.from_bytes(tail, "little")
        h = (h * m) & M64
    h ^= h >> r
    h = (h * m) & M64
    h ^= h >> r
    return h


def pattern(element: bytes) -> tuple[int, int]:
    h = murmur64a(element)
    index = h & 16383
    rest = (h >> 14) | (1 << 50)
    return index, (rest & -rest).bit_length()


def registers_of(value: bytes) -> list[int] | None:
    """The 16384 registers of an HLL value; None for a corrupt sparse one."""
    if value[4] == 0:
        bits = int.from_bytes(value[16:], "little")
        return [(bits >> (6 * i)) & 63 for i in range(16384)]
    regs: list[int] = []
    p = 16
    while p < len(value):
        op = value[p]
        if op & 0x80:
            regs += [((op >> 2) & 0x1F) + 1] * ((op & 3) + 1)
            p += 1
        elif op & 0x40:
            nxt = value[p + 1] if p + 1 < len(value) else 0
            regs += [0] * ((((op & 0x3F) << 8) | nxt) + 1)
            p += 2
        else:
            regs += [0] * ((op & 0x3F) + 1)
            p += 1
    return regs if len(regs) == 16384 else None


def estimate(regs: list[int]) -> int:
    m = 16384.0
    histo = [0] * 64
    for r in regs:
        histo[r] += 1

    def sigma(x: float) -> float:
        if x == 1.0:
            return math.inf
        y, z = 1.0, x
        while True:
            x *= x
            prev = z
            z += x * y
            y += y
            if prev == z:
                return z

    def tau(x: float) -> float:
        if x in (0.0, 1.0):
            return 0.0
        y, z = 1.0, 1 - x
        while True:
            x = math.sqrt(x)
            prev = z
            y *= 0.5
            z -= (1 - x) ** 2 * y
            if prev == z:
                return z / 3

    z = m * tau((m - histo[51]) / m)
    for j in range(50, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * sigma(histo[0] / m)
    x = 0.721347520444481703680 * m * m / z
    n = math.floor(x)
    return n + 1 if x - n >= 0.5 else n  # llround: halves away from zero


def dense_value(regs: list[int], card: bytes = b"\x00" * 7 + b"\x80") -> bytes:
    bits = 0
    for i, r in enumerate(regs):
        bits |= r << (6 * i)
    return b"HYLL\x00\x00\x00\x00" + card + bits.to_bytes(12288, "little")


def words(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randrange(0, 24)) for _ in range(n)]


# ---- hashing ----


def test_murmur_matches_model():
    rng = random.Random(1)
    for n in [*range(40), 100, 1000]:
        data = rng.randbytes(n)
        assert hll.murmurhash64a(data) == murmur64a(data)
        assert hll.murmurhash64a(data, 0) == murmur64a(data, 0)


def test_pattern_matches_model():
    for w in words(2000, 2):
        index, count = hll.pattern(w)
        assert (index, count) == pattern(w)
        assert 0 <= index < 16384 and 1 <= count <= 51


# ---- values redis-server wrote ----

EMPTY = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
ABC = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ"


def test_bytes_written_by_redis():
    assert hll.new_sparse() == EMPTY[:15] + b"\x00" + EMPTY[16:]
    assert hll.add(None, [], 3000) == (EMPTY, 1)
    assert hll.add(EMPTY, [b"a", b"b", b"c"], 3000) == (ABC, 3)
    assert hll.add(ABC, [b"a", b"b"], 3000) == (ABC, 0)
    assert hll.count(ABC) == 3
    assert hll.decode_sparse(ABC) == b"Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
    assert hll.decode_sparse(EMPTY) == b"Z:16384"


# ---- add / count ----


@pytest.mark.parametrize("sparse_max", [0, 100, 3000, 100_000])
def test_add_keeps_registers_at_the_max(sparse_max):
    model = [0] * 16384
    value = None
    for batch in range(30):
        ws = words(batch * 37 + 1, 100 + batch)
        value, updated = hll.add(value, ws, sparse_max)
        changed = 0
        for w in ws:
            i, c = pattern(w)
            if c > model[i]:
                model[i] = c
                changed += 1
        assert updated == changed + (batch == 0)
        assert hll.is_hll(value)
        assert registers_of(value) == model
        assert value[15] & 0x80  # cache stale after a change
        assert hll.count(value) == estimate(model)
        if value[4] == hll.SPARSE:
            assert len(value) <= max(sparse_max, 18)


def test_promotion_to_dense():
    value, _ = hll.add(None, [b"%d" % i for i in range(100)], 50)
    assert value[4] == hll.DENSE and len(value) == hll.DENSE_SIZE
    value, _ = hll.add(None, [b"%d" % i for i in range(100)], 3000)
    assert value[4] == hll.SPARSE
    dense = hll.to_dense(value)
    assert dense is not None and dense[4] == hll.DENSE
    assert registers_of(dense) == registers_of(value)
    assert dense[8:16] == value[8:16]  # the cached cardinality is carried over
    assert hll.dense_registers(dense) == registers_of(value)
    assert hll.to_dense(dense) == dense


def test_big_register_promotes():
    # A register above 32 cannot be a VAL opcode: the value must turn dense.
    regs = [0] * 16384
    regs[5] = 40
    dense = dense_value(regs)
    value = hll.store(None, bytearray(regs), False, 3000)
    assert value is not None and value[4] == hll.DENSE
    assert registers_of(value) == registers_of(dense)


def test_count_extremes():
    assert hll.count(EMPTY) == 0
    all_max = dense_value([63] * 16384)
    # 1/z overflows: Redis replies llround(inf) as a signed 64-bit integer
    assert hll.count(all_max) == -(1 << 63)
    assert hll.with_cached_count(all_max, -(1 << 63))[15] & 0x80  # stays stale
    rng = random.Random(5)
    for _ in range(20):
        regs = [rng.choice([0, 0, 1, 2, 3, 10, 51]) for _ in range(16384)]
        assert hll.count(dense_value(regs)) == estimate(regs)
        assert hll.count_registers(bytearray(regs)) == estimate(regs)


def test_cache_helpers():
    assert hll.cached_count(EMPTY) is None
    cached = hll.with_cached_count(ABC, 3)
    assert hll.cached_count(cached) == 3
    assert cached[16:] == ABC[16:]


# ---- merge / store ----


def test_merge_and_store():
    a, _ = hll.add(None, words(300, 10), 3000)
    b, _ = hll.add(None, words(5000, 11), 3000)
    assert a[4] == hll.SPARSE and b[4] == hll.DENSE
    regs = bytearray(hll.REGISTERS)
    assert hll.merge(regs, a) and hll.merge(regs, b)
    expected = [max(x, y) for x, y in zip(registers_of(a), registers_of(b), strict=True)]
    assert list(regs) == expected
    assert hll.count_registers(regs) == estimate(expected)
    merged = hll.store(None, regs, True, 3000)
    assert merged is not None and merged[4] == hll.DENSE
    assert registers_of(merged) == expected and merged[15] & 0x80
    sparse_only = bytearray(hll.REGISTERS)
    hll.merge(sparse_only, a)
    kept = hll.store(a, sparse_only, False, 3000)
    assert kept is not None and kept[4] == hll.SPARSE
    assert registers_of(kept) == registers_of(a)


# ---- validity ----


def test_is_hll():
    assert hll.is_hll(EMPTY) and hll.is_hll(ABC)
    assert hll.is_hll(EMPTY[:16])  # header only: valid until walked
    assert not hll.is_hll(EMPTY[:15])
    assert not hll.is_hll(b"HYLX" + EMPTY[4:])
    assert not hll.is_hll(EMPTY[:4] + b"\x02" + EMPTY[5:])
    dense = dense_value([0] * 16384)
    assert hll.is_hll(dense)
    assert not hll.is_hll(dense[:-1]) and not hll.is_hll(dense + b"\x00")


@pytest.mark.parametrize(
    "body",
    [
        b"",  # no opcodes
        b"\x7f\xfe",  # XZERO:16383
        b"\x7f\xff\x88",  # XZERO:16384 then one register too many
        b"\x7f\xfe\x89",  # the VAL run goes past the end
        b"\x7f\xfb\x04",  # XZERO:16380 then ZERO:5
    ],
)
def test_corrupt_sparse(body):
    value = EMPTY[:16] + body
    assert hll.is_hll(value)
    assert hll.count(value) is None
    assert not hll.merge(bytearray(hll.REGISTERS), value)
    assert hll.to_dense(value) is None
    assert registers_of(value) is None or len(body) == 0


def test_xzero_cut_short_reads_the_terminator():
    # An XZERO opcode in the last byte reads the string's NUL terminator as its second
    # byte, as Redis does: XZERO:16383 + "\x40" covers exactly 16384 registers.
    value = EMPTY[:16] + b"\x7f\xfe\x40"
    assert hll.count(value) == 0
    assert hll.to_dense(value) is not None


def test_add_to_corrupt_keeps_earlier_changes():
    value = EMPTY[:16] + b"\x7f\xfe"  # register 16383 missing
    low = next(w for w in words(500, 3) if pattern(w)[0] < 16000)
    high = next(w for w in words(50000, 4) if pattern(w)[0] == 16383)
    new, status = hll.add(value, [low, high], 3000)
    assert status == -1
    assert new != value  # the first element's register was set before the failure
    assert hll.add(value, [high], 3000) == (value, -1)
