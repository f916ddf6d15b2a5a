"""HyperLogLog commands, pikad against redis-server, replies compared byte for byte.

PFADD PFCOUNT PFMERGE PFDEBUG. Beyond the replies, GET of every HLL is compared: the
values must be the very bytes redis-server stores (sparse opcodes, promotion to dense at
hll-sparse-max-bytes, the cached cardinality and its stale bit), so that counts agree
exactly and values can move between the two servers. Crafted values cover the error
paths: strings that are not HLLs (WRONGTYPE ...), corrupt sparse encodings (INVALIDOBJ,
and the partial updates Redis keeps), cached cardinalities, out-of-range dense registers.
"""

from __future__ import annotations

import random

import pytest

from integration.diff import transform, ttl_close


@pytest.fixture
def hashes(diff):
    left, _ = diff.conns()
    left.send(["COMMAND", "INFO", "HSET"])
    if b"hset" not in left.read_reply().lower():
        pytest.skip("pikad has no HSET yet: the wrong-type cases wait for the hash family")


@pytest.fixture
def sparse_max(diff):
    """Set hll-sparse-max-bytes on both servers for one test; restored afterwards."""

    def set_to(n: int) -> None:
        diff([["CONFIG", "SET", "hll-sparse-max-bytes", str(n)]], flush=False)

    try:
        yield set_to
    finally:
        set_to(3000)


# ---- crafted values ----


def header(encoding: int = 1, card: bytes = b"\x00" * 7 + b"\x80") -> bytes:
    return b"HYLL" + bytes([encoding, 0, 0, 0]) + card


def xzero(n: int) -> bytes:
    return bytes([0x40 | ((n - 1) >> 8), (n - 1) & 0xFF])


def zero(n: int) -> bytes:
    return bytes([n - 1])


def val(v: int, n: int) -> bytes:
    return bytes([0x80 | ((v - 1) << 2) | (n - 1)])


def elements(prefix: str, n: int) -> list[str]:
    return [f"{prefix}:{i}" for i in range(n)]


# ---- PFADD / PFCOUNT ----


def test_pfadd_pfcount_basics(diff):
    diff(
        [
            ["PFADD", "h"],
            ["GET", "h"],
            ["PFADD", "h"],
            ["PFCOUNT", "h"],
            ["GET", "h"],
            ["PFADD", "h", "a", "b", "c"],
            ["GET", "h"],
            ["PFADD", "h", "a", "b"],
            ["PFCOUNT", "h"],
            ["GET", "h"],  # the cached cardinality is stored
            ["PFCOUNT", "h"],
            ["PFADD", "h", "d"],
            ["GET", "h"],  # ... and marked stale again
            ["PFCOUNT", "h"],
            ["OBJECT", "ENCODING", "h"],
            ["STRLEN", "h"],
            ["PFCOUNT", "nokey"],
            ["EXISTS", "nokey"],
            ["PFADD", "bin", "", "\x00", "\xff\xfe", "x" * 1000],
            ["GET", "bin"],
            ["PFCOUNT", "bin"],
            ["TYPE", "bin"],
        ]
    )


def test_pfadd_grows_to_dense(diff):
    rng = random.Random(7)
    cmds: list[object] = []
    added = 0
    while added < 6000:
        n = rng.choice([1, 5, 50, 200])
        cmds.append(["PFADD", "h", *elements(f"e{rng.randrange(1000)}", n)])
        cmds.append(["GET", "h"])
        if rng.random() < 0.3:
            cmds.append(["PFCOUNT", "h"])
        added += n
    cmds += [["PFCOUNT", "h"], ["PFDEBUG", "ENCODING", "h"], ["STRLEN", "h"], ["GET", "h"]]
    diff(cmds)


def test_pfcount_large(diff):
    cmds: list[object] = []
    for i in range(0, 100_000, 5000):
        cmds.append(["PFADD", "big", *elements(f"x{i}", 5000)])
        cmds.append(["PFCOUNT", "big"])
    cmds.append(["GET", "big"])
    diff(cmds)


def test_sparse_max_bytes(diff, sparse_max):
    for limit in (0, 20, 300, 5000):
        sparse_max(limit)
        cmds: list[object] = []
        for i in range(0, 1500, 100):
            cmds.append(["PFADD", "h", *elements(f"s{limit}.{i}", 100)])
            cmds.append(["PFDEBUG", "ENCODING", "h"])
            cmds.append(["GET", "h"])
        diff(cmds, flush=True)


def test_pfadd_keeps_ttl_and_turns_raw(diff):
    small = header() + xzero(16384)
    diff(
        [
            ["PFADD", "h", "a"],
            ["EXPIRE", "h", "100"],
            ["PFADD", "h", "b", "c"],
            (["TTL", "h"], ttl_close),
            ["PFCOUNT", "h"],
            (["TTL", "h"], ttl_close),
            ["SET", "s", small],
            ["OBJECT", "ENCODING", "s"],
            ["PFADD", "s"],  # nothing added: still unshared to raw
            ["OBJECT", "ENCODING", "s"],
            ["SET", "s2", small],
            ["PFCOUNT", "s2"],
            ["OBJECT", "ENCODING", "s2"],
            ["GET", "s2"],
        ]
    )


def test_pfcount_many_keys(diff):
    diff(
        [
            ["PFADD", "a", *elements("a", 100)],
            ["PFADD", "b", *elements("a", 50), *elements("b", 70)],
            ["PFADD", "c", *elements("c", 3000)],
            ["PFCOUNT", "a", "b"],
            ["PFCOUNT", "a", "b", "nokey"],
            ["PFCOUNT", "nokey", "nokey2"],
            ["PFCOUNT", "a", "a"],
            ["PFCOUNT", "a", "b", "c"],
            ["GET", "a"],  # a union count caches nothing
            ["PFCOUNT", "c", "a"],
            ["PFDEBUG", "ENCODING", "c"],
        ]
    )


# ---- PFMERGE ----


def test_pfmerge(diff):
    diff(
        [
            ["PFADD", "a", *elements("a", 100)],
            ["PFADD", "b", *elements("b", 200)],
            ["PFMERGE", "d", "a", "b"],
            ["GET", "d"],
            ["PFCOUNT", "d"],
            ["PFMERGE", "d", "a"],
            ["GET", "d"],
            ["PFMERGE", "d"],
            ["GET", "d"],
            ["PFMERGE", "new"],
            ["GET", "new"],
            ["PFMERGE", "new2", "nokey", "nokey2"],
            ["GET", "new2"],
            ["PFADD", "dense", *elements("d", 4000)],
            ["PFMERGE", "d2", "a", "dense"],
            ["GET", "d2"],
            ["PFCOUNT", "d2"],
            ["PFMERGE", "a", "dense"],  # an existing sparse destination turns dense
            ["GET", "a"],
            ["PFCOUNT", "a", "b", "dense"],
            ["PFMERGE", "b", "b", "b"],
            ["GET", "b"],
            ["SET", "x", "v", "EX", "100"],
            ["PFMERGE", "d3", *elements("nokey", 3)],
            ["OBJECT", "ENCODING", "d3"],
            ["PFMERGE"],
        ]
    )


def test_pfmerge_promotes_sparse(diff, sparse_max):
    sparse_max(200)
    diff(
        [
            ["PFADD", "a", *elements("a", 150)],
            ["PFADD", "b", *elements("b", 150)],
            ["PFDEBUG", "ENCODING", "a"],
            ["PFMERGE", "d", "a", "b"],
            ["PFDEBUG", "ENCODING", "d"],
            ["GET", "d"],
        ]
    )


# ---- errors ----


def test_hll_wrongtype(diff, hashes):
    diff(
        [
            ["HSET", "h", "f", "v"],
            ["PFADD", "h", "a"],
            ["PFCOUNT", "h"],
            ["PFCOUNT", "h", "nokey"],
            ["PFMERGE", "d", "h"],
            ["PFMERGE", "h", "nokey"],
            ["EXISTS", "d"],
            ["PFDEBUG", "GETREG", "h"],
            ["SET", "s", "not an hll at all"],
            ["PFADD", "h2", "a"],
            ["PFCOUNT", "h2", "h", "s"],  # the first bad key decides the error
            ["PFCOUNT", "h2", "s", "h"],
            ["PFMERGE", "h2", "s", "h"],
        ]
    )


def test_not_an_hll(diff):
    good = header() + xzero(16384)
    dense = header(0) + bytes(12288)
    diff(
        [
            ["SET", "plain", "foo"],
            ["SET", "int", "12345678901234567"],
            ["SET", "short", good[:15]],
            ["SET", "magic", b"HYLX" + good[4:]],
            ["SET", "enc2", header(2) + xzero(16384)],
            ["SET", "dense_short", dense[:-1]],
            ["SET", "dense_long", dense + b"\x00"],
            ["SET", "ok_dense", dense],
            ["SET", "ok_sparse", good],
        ]
        + [
            [cmd, *args]
            for key in ("plain", "int", "short", "magic", "enc2", "dense_short", "dense_long")
            for cmd, *args in (
                ("PFADD", key, "a"),
                ("PFCOUNT", key),
                ("PFCOUNT", "ok_sparse", key),
                ("PFMERGE", "dst", key),
                ("PFMERGE", key, "ok_sparse"),
                ("PFDEBUG", "ENCODING", key),
                ("GET", key),
            )
        ]
        + [
            ["EXISTS", "dst"],
            ["PFCOUNT", "ok_dense"],
            ["PFCOUNT", "ok_sparse"],
            ["PFCOUNT", "ok_dense", "ok_sparse"],
        ]
    )


def test_corrupt_sparse(diff):
    corrupt = {
        "short": header() + xzero(16383),
        "long": header() + xzero(16384) + val(3, 1),
        "runover": header() + xzero(16383) + val(2, 2),
        "zeroover": header() + xzero(16380) + zero(5),
        "empty": header(),
        "cut": header() + xzero(16383) + b"\x40",  # the XZERO's 2nd byte is the terminator
        "cut2": header() + xzero(16382) + b"\x40",
        "mid": header() + val(5, 4) + zero(3) + xzero(20000 - 16384) + xzero(16384),
        "tail": header() + val(1, 1) + xzero(8000) + b"\xff" * 40 + xzero(8000),
    }
    cmds: list[object] = []
    for name, value in corrupt.items():
        cmds += [
            ["SET", name, value],
            ["PFCOUNT", name],
            ["PFCOUNT", name, "nokey"],
            ["PFMERGE", "d", name],
            ["PFDEBUG", "DECODE", name],
            ["PFDEBUG", "GETREG", name],
            ["PFDEBUG", "TODENSE", name],
            # a register before the damage can still be set; Redis keeps such changes
            ["PFADD", name, "a", "b", "c", "d", "e"],
            ["GET", name],
            ["PFADD", name, *elements("z", 50)],
            ["GET", name],
            ["OBJECT", "ENCODING", name],
        ]
    cmds.append(["EXISTS", "d"])
    diff(cmds)


def test_crafted_headers_and_registers(diff):
    dense_max = header(0) + b"\xff" * 12288  # every register 63
    dense_mixed = header(0) + bytes(range(256)) * 48
    diff(
        [
            ["SET", "cached", header(card=(12345).to_bytes(8, "little")) + xzero(16384)],
            ["PFCOUNT", "cached"],  # the cache is trusted
            ["PFCOUNT", "cached", "nokey"],
            ["PFADD", "cached", "a"],
            ["PFCOUNT", "cached"],
            ["SET", "bigcache", header(card=b"\xff" * 7 + b"\x7f") + xzero(16384)],
            ["PFCOUNT", "bigcache"],
            ["SET", "dmax", dense_max],
            ["PFCOUNT", "dmax"],
            ["PFADD", "dmax", "x"],
            ["PFCOUNT", "dmax", "nokey"],
            ["PFDEBUG", "GETREG", "dmax"],
            ["SET", "dmix", dense_mixed],
            ["PFCOUNT", "dmix"],
            ["GET", "dmix"],
            ["PFMERGE", "m", "dmix", "cached"],
            ["GET", "m"],
            ["PFCOUNT", "m"],
            ["SET", "notused", b"HYLL\x01\x07\x08\x09" + b"\x00" * 7 + b"\x80" + xzero(16384)],
            ["PFADD", "notused", "a"],
            ["GET", "notused"],
            ["PFDEBUG", "TODENSE", "notused"],
            ["GET", "notused"],
            ["SET", "vals", header() + val(32, 4) + val(32, 4) + val(1, 1) + xzero(16375)],
            ["PFCOUNT", "vals"],
            ["PFADD", "vals", *elements("v", 30)],
            ["GET", "vals"],
            ["PFDEBUG", "DECODE", "vals"],
        ]
    )


# ---- PFDEBUG ----


def test_pfdebug(diff):
    diff(
        [
            ["PFDEBUG", "ENCODING", "nokey"],
            ["PFDEBUG", "FOO", "nokey"],
            ["PFADD", "h", *elements("p", 20)],
            ["PFDEBUG", "ENCODING", "h"],
            ["PFDEBUG", "encoding", "h"],
            ["PFDEBUG", "DECODE", "h"],
            ["PFDEBUG", "FOO", "h"],
            ["PFDEBUG", "Foo\x00bar", "h"],
            ["PFDEBUG", "GETREG", "h"],
            ["PFDEBUG", "ENCODING", "h"],  # GETREG converted it
            ["GET", "h"],
            ["PFDEBUG", "DECODE", "h"],
            ["PFDEBUG", "TODENSE", "h"],
            ["PFADD", "h2", "x"],
            ["PFDEBUG", "TODENSE", "h2"],
            ["GET", "h2"],
            ["PFCOUNT", "h2"],
            ["PFDEBUG", "GETREG"],
            ["PFDEBUG", "GETREG", "h", "x"],
            ["SET", "s", "x"],
            ["PFDEBUG", "ENCODING", "s"],
        ]
    )


def test_hll_resp3(diff):
    diff(
        [
            ["PFADD", "h", "a", "b"],
            ["PFCOUNT", "h"],
            ["PFMERGE", "d", "h"],
            ["PFDEBUG", "ENCODING", "d"],
            ["PFDEBUG", "DECODE", "d"],
            ["SET", "s", "x"],
            ["PFADD", "s", "a"],
        ],
        proto=3,
    )


# ---- the command table, transactions ----


def _core(v: object) -> object:
    """name, arity, first/last key, step, and the flags as a set (their order is free)."""
    return [None if e is None else [e[0], e[1], sorted(e[2]), e[3], e[4], e[5]] for e in v]


def test_command_info(diff):
    names = ["pfadd", "pfcount", "pfmerge", "pfdebug"]
    diff([(["COMMAND", "INFO", *names], transform(_core, "core and flag set"))])
    diff([["COMMAND", "GETKEYS", "PFMERGE", "d", "a", "b"], ["COMMAND", "GETKEYS", "PFCOUNT", "a"]])


def test_hll_in_multi_and_watch(diff):
    diff(
        [
            ["PFADD", "h", "a"],
            ["WATCH", "h"],
            ["PFCOUNT", "h"],  # caching the count is a write: WATCH sees it
            ["MULTI"],
            ["PFADD", "h", "b"],
            ["EXEC"],
            ["WATCH", "h"],
            ["PFCOUNT", "h"],  # the cache is valid now: nothing written
            ["PFADD", "h", "a"],  # nothing new
            ["MULTI"],
            ["PFADD", "h", "c"],
            ["PFCOUNT", "h"],
            ["PFMERGE", "d", "h", "nokey"],
            ["PFADD", "s"],
            ["EXEC"],
            ["GET", "h"],
            ["GET", "d"],
            ["SET", "e", header(card=bytes(8)) + xzero(16384)],  # embstr, cache valid
            ["WATCH", "e"],
            ["PFCOUNT", "e"],  # turns it raw, which is no modification
            ["PFADD", "e"],
            ["MULTI"],
            ["OBJECT", "ENCODING", "e"],
            ["EXEC"],
        ]
    )
