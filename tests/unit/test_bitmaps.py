"""Bitmap algorithms (storage/bitmaps.py) against bit-by-bit references, and the string
read-modify-write helpers on a temporary RocksDB.

The references follow Redis's C code (bitops.c) step by step: BITPOS with its first/last
byte masks and redisBitpos' "count * 8 when no zero is found", bitfields read and written
one bit at a time. The implementation under test works on whole ranges with big integers;
agreement on random inputs is what this file checks. Replies against a live redis-server
are the business of tests/integration/test_diff_bitmaps.py.
"""

from __future__ import annotations

import random
import time

import pytest

from pikadb.errors import WrongTypeError
from pikadb.keycodec import T_SET, Meta, meta_key
from pikadb.storage.bitmaps import (
    BF_GET,
    BF_INCRBY,
    BF_SET,
    BITOP_AND,
    BITOP_NOT,
    BITOP_OR,
    BITOP_XOR,
    OVERFLOW_FAIL,
    OVERFLOW_SAT,
    OVERFLOW_WRAP,
    bit_count,
    bit_op,
    bit_pos,
    bitfield_apply,
    bitfield_read,
    bitfield_write,
    edit_string,
    get_bit,
    set_bit,
    store_string,
)
from pikadb.storage.engine import Engine

# ---- references ----


def bits_of(value: bytes) -> list[int]:
    return [(b >> (7 - i)) & 1 for b in value for i in range(8)]


def clamp(start: int, end: int, total: int) -> tuple[int, int]:
    if start < 0:
        start += total
    if end < 0:
        end += total
    start, end = max(start, 0), max(end, 0)
    return start, min(end, total - 1)


def ref_count(value: bytes, start: int, end: int, bit_unit: bool) -> int:
    bits = bits_of(value)
    if bit_unit:
        s, e = clamp(start, end, len(bits))
        return sum(bits[s : e + 1]) if s <= e else 0
    s, e = clamp(start, end, len(value))
    return sum(bits[8 * s : 8 * e + 8]) if s <= e else 0


def redis_bitpos(data: bytes, bit: int) -> int:
    """redisBitpos: first bit equal to bit; -1 for no 1; len * 8 for no 0."""
    for i, b in enumerate(bits_of(data)):
        if b == bit:
            return i
    return -1 if bit else len(data) * 8


def ref_pos(value: bytes, bit: int, start, end, bit_unit: bool) -> int:
    """bitposCommand's range handling, masks included, ported literally."""
    n = len(value)
    end_given = end is not None
    first_mask = last_mask = 0
    if start is None:
        start, end = 0, n - 1
    else:
        total = n
        if end is None:
            end = (total << 3) + 7 if bit_unit else total - 1
        if bit_unit:
            total <<= 3
        start, end = clamp(start, end, total)
        if bit_unit and start <= end:
            first_mask = ~((1 << (8 - (start & 7))) - 1) & 0xFF
            last_mask = (1 << (7 - (end & 7))) - 1
            start >>= 3
            end >>= 3
    if start > end:
        return -1
    nbytes = end - start + 1
    pos = None
    if first_mask:
        t = value[start] & ~first_mask & 0xFF if bit else value[start] | first_mask
        if last_mask and nbytes == 1:
            t = t & ~last_mask & 0xFF if bit else t | last_mask
        pos = redis_bitpos(bytes([t]), bit)
        if not (nbytes == 1 or (pos != -1 and pos != 8)):
            start += 1
            nbytes -= 1
            pos = None
    if pos is None:
        cur = nbytes - (1 if last_mask else 0)
        if cur > 0:
            pos = redis_bitpos(value[start : start + cur], bit)
            if not (nbytes == cur or (pos != -1 and pos != cur << 3)):
                start += cur
                nbytes -= cur
                pos = None
        if pos is None:
            t = value[end] & ~last_mask & 0xFF if bit else value[end] | last_mask
            pos = redis_bitpos(bytes([t]), bit)
    if end_given and bit == 0 and pos == nbytes << 3:
        return -1
    return pos + (start << 3) if pos != -1 else -1


def ref_read(value: bytes, offset: int, bits: int, signed: bool) -> int:
    v = 0
    for j in range(bits):
        byte = (offset + j) >> 3
        b = (value[byte] >> (7 - ((offset + j) & 7))) & 1 if byte < len(value) else 0
        v = (v << 1) | b
    if signed and v >> (bits - 1):
        v -= 1 << bits
    return v


def ref_write(buf: bytearray, offset: int, bits: int, value: int) -> None:
    for j in range(bits):
        bit = (value >> (bits - 1 - j)) & 1
        byte = (offset + j) >> 3
        shift = 7 - ((offset + j) & 7)
        buf[byte] = (buf[byte] & ~(1 << shift) & 0xFF) | (bit << shift)


def random_value(rng: random.Random) -> bytes:
    kind = rng.random()
    n = rng.randrange(0, 12)
    if kind < 0.2:
        return b"\xff" * n
    if kind < 0.4:
        return b"\x00" * n
    return rng.randbytes(n)


# ---- single bits ----


def test_get_and_set_bit():
    assert get_bit(b"\x80", 0) == 1 and get_bit(b"\x80", 1) == 0 and get_bit(b"", 99) == 0
    assert set_bit(None, False, 9, 1) == (b"\x00\x40", 0)
    assert set_bit(b"\x00\x40", True, 9, 1) == (None, 1)  # no change, already raw
    value = b"\x00\x40"
    assert set_bit(value, False, 9, 1)[0] is value  # rewritten only to turn it raw
    assert set_bit(b"\x00\x40", True, 9, 0) == (b"\x00\x00", 1)
    assert set_bit(b"\xff", True, 15, 0) == (b"\xff\x00", 0)  # grows


# ---- BITCOUNT / BITPOS ----


def test_bit_count_matches_reference():
    rng = random.Random(1)
    for _ in range(3000):
        value = random_value(rng)
        assert bit_count(value) == sum(bits_of(value))
        s, e = rng.randint(-100, 100), rng.randint(-100, 100)
        unit = rng.random() < 0.5
        assert bit_count(value, s, e, unit) == ref_count(value, s, e, unit), (value, s, e, unit)


def test_bit_pos_matches_reference():
    rng = random.Random(2)
    for _ in range(6000):
        value = random_value(rng)
        bit = rng.randint(0, 1)
        r = rng.random()
        unit = False
        if r < 0.15:
            start = end = None
        else:
            start = rng.randint(-100, 100)
            end = rng.randint(-100, 100) if r > 0.4 else None
            unit = rng.random() < 0.5
        want = ref_pos(value, bit, start, end, unit)
        assert bit_pos(value, bit, start, end, unit) == want, (value, bit, start, end, unit)


def test_big_ranges_are_fast():
    value = bytes(8 << 20) + b"\x01"
    started = time.perf_counter()
    assert bit_count(value) == 1
    assert bit_count(value, 0, -1, True) == 1
    assert bit_pos(value, 1) == (8 << 20) * 8 + 7
    assert bit_pos(b"\xff" * (8 << 20), 0) == (8 << 23)
    assert len(bit_op(BITOP_XOR, [value, value[:100]])) == len(value)
    assert time.perf_counter() - started < 5  # whole-range int ops, never a loop per bit


# ---- BITOP ----


def test_bit_op_matches_bytewise():
    rng = random.Random(3)
    for _ in range(500):
        values = [random_value(rng) for _ in range(rng.randint(1, 4))]
        n = max((len(v) for v in values), default=0)
        padded = [v + bytes(n - len(v)) for v in values]
        for op, fn in (
            (BITOP_AND, lambda a, b: a & b),
            (BITOP_OR, lambda a, b: a | b),
            (BITOP_XOR, lambda a, b: a ^ b),
        ):
            want = bytearray(padded[0])
            for p in padded[1:]:
                want = bytearray(fn(x, y) for x, y in zip(want, p, strict=True))
            assert bit_op(op, values) == bytes(want)
        assert bit_op(BITOP_NOT, values[:1]) == bytes(~x & 0xFF for x in values[0])
    assert bit_op(BITOP_AND, [b"", b""]) == b""


# ---- BITFIELD ----


def test_bitfield_read_write_match_reference():
    rng = random.Random(4)
    for _ in range(3000):
        value = rng.randbytes(rng.randrange(0, 12))
        bits = rng.randint(1, 64)
        signed = rng.random() < 0.5 or bits == 64
        offset = rng.randint(0, 100)
        assert bitfield_read(value, offset, bits, signed) == ref_read(value, offset, bits, signed)
        need = (offset + bits + 7) // 8
        buf = bytearray(value + bytes(max(0, need - len(value))))
        ref = bytearray(buf)
        v = rng.getrandbits(64)
        bitfield_write(buf, offset, bits, v)
        ref_write(ref, offset, bits, v)
        assert buf == ref


def _run(op: int, t: str, value: int, mode: int, start: bytes = bytes(9)) -> tuple:
    signed, bits = t[0] == "i", int(t[1:])
    buf = bytearray(start)
    replies, _ = bitfield_apply(buf, [(op, 0, bits, signed, value, mode)])
    return replies[0], bitfield_read(buf, 0, bits, signed)


def test_bitfield_overflow_modes():
    big = (1 << 63) - 1
    small = -(1 << 63)
    full = b"\xff" + bytes(8)
    assert _run(BF_INCRBY, "u8", 1, OVERFLOW_WRAP, full) == (0, 0)
    assert _run(BF_INCRBY, "u8", 1, OVERFLOW_SAT, full) == (255, 255)
    assert _run(BF_INCRBY, "u8", 1, OVERFLOW_FAIL, full) == (None, 255)
    assert _run(BF_INCRBY, "u8", -1, OVERFLOW_SAT) == (0, 0)
    assert _run(BF_INCRBY, "u8", -1, OVERFLOW_WRAP) == (255, 255)
    assert _run(BF_INCRBY, "i8", 200, OVERFLOW_WRAP) == (-56, -56)
    assert _run(BF_INCRBY, "i8", 200, OVERFLOW_SAT) == (127, 127)
    assert _run(BF_INCRBY, "i8", -200, OVERFLOW_SAT) == (-128, -128)
    assert _run(BF_SET, "u8", -1, OVERFLOW_WRAP) == (0, 255)
    assert _run(BF_SET, "u8", -1, OVERFLOW_SAT) == (0, 255)
    assert _run(BF_SET, "u8", -1, OVERFLOW_FAIL) == (None, 0)
    assert _run(BF_SET, "i8", 128, OVERFLOW_WRAP) == (0, -128)
    assert _run(BF_SET, "i8", -129, OVERFLOW_SAT) == (0, -128)
    # Redis's int64 arithmetic: (max - value) wraps negative for values near INT64_MIN,
    # so the overflow counts as upward and saturates to the maximum.
    assert _run(BF_SET, "i8", small, OVERFLOW_SAT) == (0, 127)
    assert _run(BF_SET, "i8", small + 128, OVERFLOW_SAT) == (0, -128)
    assert _run(BF_INCRBY, "i64", 1, OVERFLOW_WRAP, b"\x7f" + b"\xff" * 8)[0] == small
    assert _run(BF_INCRBY, "i64", 1, OVERFLOW_SAT, b"\x7f" + b"\xff" * 8)[0] == big
    assert _run(BF_INCRBY, "i64", small, OVERFLOW_FAIL, b"\xff" * 9) == (None, -1)
    assert _run(BF_INCRBY, "u63", big, OVERFLOW_WRAP, b"\x00\x00\x00\x00\x00\x00\x00\x02") == (
        0,
        0,
    )


def test_bitfield_ops_in_order():
    buf = bytearray(2)
    ops = [
        (BF_SET, 0, 8, False, 255, OVERFLOW_WRAP),
        (BF_GET, 4, 8, False, 0, OVERFLOW_WRAP),
        (BF_INCRBY, 0, 4, True, 1, OVERFLOW_FAIL),
        (BF_INCRBY, 0, 4, True, 1, OVERFLOW_WRAP),
    ]
    assert bitfield_apply(buf, ops) == ([0, 0xF0, 0, 1], 3)
    assert bytes(buf) == b"\x1f\x00"
    same = [(BF_SET, 0, 8, False, 0x1F, OVERFLOW_WRAP), (BF_INCRBY, 8, 8, True, 0, 0)]
    assert bitfield_apply(buf, same) == ([0x1F, 0], 0)  # no field changed


# ---- storage helpers ----


@pytest.fixture(params=[1, 3], ids=["1shard", "3shards"])
def db(request, tmp_path):
    eng = Engine.open(str(tmp_path / "data"), shards=request.param)
    yield eng.db(0)
    eng.close()


@pytest.fixture
def now() -> int:
    return time.time_ns() // 1_000_000


def test_edit_string(db, now):
    seen = []

    def fn(value, raw):
        seen.append((value, raw))
        return (value or b"") + b"!", len(value or b"")

    assert edit_string(db, b"k", now, fn) == 0
    assert db.get(b"k", now) == b"!"
    assert db.object_encoding(b"k", now) == "raw"
    db.set(b"n", b"12", now, expire_at=now + 100_000)
    assert db.object_encoding(b"n", now) == "int"
    engine = db.engine
    modified = []
    engine.watched = {meta_key(db.pdb, b"n"): 1}
    saved, engine.on_modified = engine.on_modified, modified.append
    try:
        # the same value object back: only the encoding changes, not a modification
        assert edit_string(db, b"n", now, lambda v, raw: (v, raw)) is False
        assert db.object_encoding(b"n", now) == "raw"
        assert modified == []
        assert edit_string(db, b"n", now, lambda v, raw: (bytes(bytearray(v)), raw)) is True
        assert modified == [meta_key(db.pdb, b"n")]
    finally:
        engine.watched = {}
        engine.on_modified = saved
    assert db.expire_time(b"n", now) == now + 100_000  # the TTL is kept
    assert edit_string(db, b"n", now, lambda v, raw: (None, raw)) is True
    with pytest.raises(ValueError):
        edit_string(db, b"n", now, lambda v, raw: (b"written anyway", ValueError("late")))
    assert db.get(b"n", now) == b"written anyway"
    assert seen == [(None, False)]


def test_edit_string_wrongtype(db, now):
    ws = db.writes(now)
    ws.put(db, b"s", Meta(T_SET, version=ws.new_version(db, b"s"), count=0), None)
    ws.commit()
    with pytest.raises(WrongTypeError):
        edit_string(db, b"s", now, lambda v, raw: (b"x", None))


def test_store_string(db, now):
    db.set(b"d", b"old", now, expire_at=now + 100_000)
    store_string(db, b"d", b"new", now)
    assert db.get(b"d", now) == b"new"
    assert db.expire_time(b"d", now) == -1
    assert db.object_encoding(b"d", now) == "raw"
    store_string(db, b"d", None, now)
    assert db.get(b"d", now) is None
    store_string(db, b"never", None, now)
    assert db.dbsize() == 0
