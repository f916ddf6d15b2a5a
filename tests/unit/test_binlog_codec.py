"""The binlog record codec (cext/binlog.pyx through pikadb.binlog_codec): exact round trips,
the documented layout, and a clear error for every corrupt or truncated input."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pikadb.binlog_codec import (
    FIXED_SIZE,
    HEADER_SIZE,
    MAGIC,
    BinlogCorrupt,
    BinlogError,
    BinlogTruncated,
    Record,
    decode_record,
    encode_record,
    record_size,
)

ARGV = [b"SET", b"key", b"value"]
OPS = [
    (b"\x01\x00\x00key", b"\x01value"),
    (b"\x03\x00\x00old", None),
    (b"\x02\x00\x00", (b"\x02\x00\x01",)),
    (b"\x04\x00\x00", b""),
]


def _rec(**kw) -> bytes:
    args = {"term": 3, "timestamp": 1_700_000_000_123, "id": 42, "offset": 9000, "db": 7}
    args.update(kw)
    return encode_record(
        args["term"], args["timestamp"], args["id"], args["offset"], args["db"],
        args.get("argv", ARGV), args.get("ops", OPS),
    )  # fmt: skip


def test_round_trip_keeps_every_field():
    raw = _rec()
    rec, end = decode_record(raw, 0)
    assert end == len(raw) == rec.size
    assert (rec.term, rec.timestamp, rec.id, rec.offset, rec.db) == (
        3,
        1_700_000_000_123,
        42,
        9000,
        7,
    )
    assert rec.argv == ARGV
    assert rec.ops == OPS
    assert rec.end_offset == 9000 + len(raw)
    assert rec == Record(3, 1_700_000_000_123, 42, 9000, 7, ARGV, OPS)


def test_layout_is_the_documented_one():
    raw = _rec()
    assert raw[:4] == MAGIC
    (length,) = struct.unpack(">I", raw[4:8])
    assert length == len(raw)
    assert struct.unpack(">I", raw[8:12])[0] == zlib.crc32(raw[HEADER_SIZE:])
    assert struct.unpack(">QQQQH", raw[12:46]) == (3, 1_700_000_000_123, 42, 9000, 7)
    empty = encode_record(0, 0, 1, 0, 0, [], [])
    assert len(empty) == FIXED_SIZE
    assert record_size(raw) == len(raw)
    assert record_size(raw[:11]) == -1


def test_decode_at_a_position_and_from_other_buffers():
    a, b = _rec(id=1), _rec(id=2, offset=9000 + len(_rec()))
    buf = b"junk" + a + b
    r1, p = decode_record(buf, 4)
    r2, q = decode_record(bytearray(buf), p)
    assert (r1.id, r2.id, q) == (1, 2, len(buf))
    r3, _ = decode_record(memoryview(buf), p)
    assert r3 == r2


@pytest.mark.parametrize("cut", [0, 1, 11, 12, 13, 40, -1])
def test_truncation_is_detected(cut):
    raw = _rec()
    with pytest.raises(BinlogTruncated, match="truncated"):
        decode_record(raw[: cut % len(raw)], 0)


def test_every_flipped_byte_is_detected():
    raw = _rec()
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x40
        with pytest.raises(BinlogError):
            decode_record(bytes(bad), 0)


def test_corruption_errors_say_what_is_wrong():
    raw = bytearray(_rec())
    bad = bytes(b"XXXX" + raw[4:])
    with pytest.raises(BinlogCorrupt, match="bad magic"):
        decode_record(bad, 0)
    with pytest.raises(BinlogCorrupt, match="bad magic"):
        record_size(bad)
    flipped = bytearray(raw)
    flipped[-1] ^= 1
    with pytest.raises(BinlogCorrupt, match="checksum"):
        decode_record(bytes(flipped), 0)
    short = bytearray(raw)
    short[4:8] = struct.pack(">I", 10)
    with pytest.raises(BinlogCorrupt, match="impossible length"):
        decode_record(bytes(short), 0)


def test_inner_lengths_are_checked_even_with_a_valid_checksum():
    raw = bytearray(_rec(argv=[b"x"], ops=[]))
    raw[50:54] = struct.pack(">I", 1000)  # argv[0] claims 1000 bytes
    raw[8:12] = struct.pack(">I", zlib.crc32(bytes(raw[12:])))
    with pytest.raises(BinlogCorrupt, match="past the record end"):
        decode_record(bytes(raw), 0)


def test_bad_input_to_encode():
    with pytest.raises(TypeError):
        encode_record(1, 1, 1, 0, 0, ["str"], [])
    with pytest.raises(TypeError):
        encode_record(1, 1, 1, 0, 0, [], [(b"k", 5)])
    with pytest.raises(TypeError):
        encode_record(1, 1, 1, 0, 0, [], [(b"k",)])
    with pytest.raises(ValueError):
        encode_record(1, 1, 1, 0, 70000, [], [])
    with pytest.raises(ValueError, match="outside"):
        decode_record(_rec(), 10_000)


_bytes = st.binary(max_size=64)
_op = st.one_of(
    st.tuples(_bytes, _bytes),
    st.tuples(_bytes, st.none()),
    st.tuples(_bytes, st.tuples(_bytes)),
)
_u64 = st.integers(0, 2**64 - 1)


@settings(max_examples=300, deadline=None)
@given(
    term=_u64,
    ts=_u64,
    id_=_u64,
    offset=_u64,
    db=st.integers(0, 65535),
    argv=st.lists(_bytes, max_size=6),
    ops=st.lists(_op, max_size=12),
)
def test_round_trip_any_record(term, ts, id_, offset, db, argv, ops):
    raw = encode_record(term, ts, id_, offset, db, argv, ops)
    rec, end = decode_record(raw + b"tail", 0)
    assert end == len(raw)
    assert rec == Record(term, ts, id_, offset, db, argv, ops)
    assert rec.size == len(raw)
    for cut in {0, len(raw) // 2, len(raw) - 1}:
        with pytest.raises(BinlogTruncated):
            decode_record(raw[:cut], 0)
