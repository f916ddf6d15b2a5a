"""Micro-benchmarks of the compiled binlog record codec (one encode per write on the hot path).

    pytest bench/test_binlog_bench.py --benchmark-enable

Without --benchmark-enable (the pyproject default) each benchmark body runs once as a plain
test, so the assertions below keep them honest.
"""

from __future__ import annotations

from pikadb.binlog_codec import decode_record, encode_record

# SET key:000001 value-000001: the meta put and the counters put of a new key.
SET_ARGV = [b"SET", b"key:000001", b"value-000001"]
SET_OPS = [
    (b"\x01\x00\x00key:000001", b"\x01value-000001"),
    (b"\x04\x00\x00", b"\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
]
# A 100-element write (an HSET / SADD of 100 members): 100 data puts, meta, counters.
BIG_ARGV = [b"SADD", b"myset"] + [b"member:%03d" % i for i in range(100)]
BIG_OPS = [
    (b"\x02\x00\x00\x00\x00\x00\x05myset\x00\x06\x00\x00\x00\x00\x00\x01member:%03d" % i, b"")
    for i in range(98)
] + [(b"\x01\x00\x00myset", b"\x04" + b"\x00" * 16), SET_OPS[1]]

SET_RAW = encode_record(1, 1_700_000_000_000, 42, 123_456, 0, SET_ARGV, SET_OPS)
BIG_RAW = encode_record(1, 1_700_000_000_000, 43, 123_456, 0, BIG_ARGV, BIG_OPS)


def test_encode_set_record(benchmark):
    raw = benchmark(encode_record, 1, 1_700_000_000_000, 42, 123_456, 0, SET_ARGV, SET_OPS)
    assert raw == SET_RAW


def test_decode_set_record(benchmark):
    rec, end = benchmark(decode_record, SET_RAW, 0)
    assert end == len(SET_RAW) and rec.ops == SET_OPS


def test_encode_100_op_record(benchmark):
    raw = benchmark(encode_record, 1, 1_700_000_000_000, 43, 123_456, 0, BIG_ARGV, BIG_OPS)
    assert raw == BIG_RAW and len(BIG_OPS) == 100


def test_decode_100_op_record(benchmark):
    rec, end = benchmark(decode_record, BIG_RAW, 0)
    assert end == len(BIG_RAW) and rec.ops == BIG_OPS and rec.argv == BIG_ARGV
