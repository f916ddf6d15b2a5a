"""Micro-benchmarks of the compiled RESP codec (the server's per-command hot path).

    pytest bench/test_codec_bench.py --benchmark-enable

Without --benchmark-enable (the pyproject default) each benchmark body runs once as a plain
test, so the assertions below keep them honest.
"""

from __future__ import annotations

from pikadb.protocol import Parser, Status, encode, encode_command

PIPELINE = b"".join(
    encode_command([b"SET", b"key:%06d" % i, b"value-%06d" % i]) for i in range(1000)
)
ARRAY_100 = [b"member:%d" % i for i in range(100)]
BULK_1K = b"x" * 1024
BULK_1M = b"x" * (1 << 20)


def _parse_pipeline() -> int:
    p = Parser()
    p.feed(PIPELINE)
    n = 0
    gets = p.gets
    while gets() is not None:
        n += 1
    return n


def test_parse_1000_pipelined_sets(benchmark):
    assert benchmark(_parse_pipeline) == 1000


def test_parse_one_command_per_feed(benchmark):
    cmd = encode_command([b"GET", b"key:000001"])
    p = Parser()

    def one() -> list[bytes] | None:
        p.feed(cmd)
        return p.gets()

    assert benchmark(one) == [b"GET", b"key:000001"]


def test_parse_1mb_bulk_in_16k_pieces(benchmark):
    data = encode_command([b"SET", b"k", BULK_1M])
    pieces = [data[i : i + 16384] for i in range(0, len(data), 16384)]

    def run() -> list[bytes] | None:
        p = Parser()
        cmd = None
        for piece in pieces:
            p.feed(piece)
            cmd = p.gets()
        return cmd

    cmd = benchmark(run)
    assert cmd is not None and cmd[2] == BULK_1M


def test_encode_100_element_array(benchmark):
    out = benchmark(encode, ARRAY_100)
    assert out.startswith(b"*100\r\n$8\r\nmember:0\r\n")


def test_encode_100_element_array_resp3_map(benchmark):
    d = dict(zip(ARRAY_100[::2], ARRAY_100[1::2], strict=True))
    assert benchmark(encode, d, 3).startswith(b"%50\r\n")


def test_encode_bulk_1k(benchmark):
    assert benchmark(encode, BULK_1K) == b"$1024\r\n" + BULK_1K + b"\r\n"


def test_encode_bulk_1m(benchmark):
    assert len(benchmark(encode, BULK_1M)) == len(BULK_1M) + len(b"$1048576\r\n\r\n")


def test_encode_status(benchmark):
    ok = Status("OK")
    assert benchmark(encode, ok) == b"+OK\r\n"


def test_encode_int(benchmark):
    assert benchmark(encode, 12345) == b":12345\r\n"


def test_encode_command_set(benchmark):
    out = benchmark(encode_command, [b"SET", b"key:000001", b"value"])
    assert out == b"*3\r\n$3\r\nSET\r\n$10\r\nkey:000001\r\n$5\r\nvalue\r\n"
