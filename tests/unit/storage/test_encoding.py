"""The frozen on-disk encoding: round trips and the exact bytes that must never change."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pikadb.keycodec import (
    ENC_EMBSTR,
    ENC_RAW,
    T_HASH,
    T_LIST,
    T_SET,
    T_STREAM,
    T_STRING,
    T_ZSET,
    Meta,
    data_key,
    data_prefix,
    decode_meta,
    encode_string,
    expire_key,
    live_type,
    meta_expire_at,
    meta_key,
    parse_data_key,
    parse_expire_key,
    string_value,
)
from pikadb.storage import encoding

U64 = st.integers(min_value=0, max_value=(1 << 64) - 1)
EXPIRY = st.integers(min_value=0, max_value=(1 << 63) - 1)
PDB = st.integers(min_value=0, max_value=0xFFFF)


def test_type_codes_are_frozen():
    assert (T_STRING, T_HASH, T_LIST, T_SET, T_ZSET, T_STREAM) == (1, 2, 3, 4, 5, 6)
    assert encoding.TYPE_NAMES[T_ZSET] == "zset"


def test_exact_bytes_are_frozen():
    assert meta_key(1, b"k") == b"\x01\x00\x01k"
    assert (
        data_key(1, b"k", 7, b"e")
        == b"\x02\x00\x01\x00\x00\x00\x01k" + (7).to_bytes(8, "big") + b"e"
    )
    assert expire_key(2, 1000, b"k") == b"\x03\x00\x02" + (1000).to_bytes(8, "big") + b"k"
    assert encode_string(b"v", 0, 0) == b"\x01v"
    assert encode_string(b"v", 5, ENC_RAW) == b"\x31" + (5).to_bytes(8, "big") + b"v"
    m = Meta(T_HASH, 0, version=3, count=2, extra=b"x")
    assert m.encode() == b"\x02" + (3).to_bytes(8, "big") + (2).to_bytes(8, "big") + b"x"
    assert encoding.counters_key(1) == b"\x04\x00\x01"
    assert encoding.SYS_DBMAP == b"\x00dbmap"


@given(st.binary(), EXPIRY, st.sampled_from([0, ENC_RAW, ENC_EMBSTR]))
def test_string_meta_round_trip(value, expire_at, enc):
    raw = encode_string(value, expire_at, enc)
    m = decode_meta(raw)
    assert (m.type, m.value, m.expire_at, m.enc) == (T_STRING, value, expire_at, enc)
    assert Meta(T_STRING, expire_at, value, enc=enc).encode() == raw
    assert meta_expire_at(raw) == expire_at


@given(
    st.sampled_from([T_HASH, T_LIST, T_SET, T_ZSET]),
    EXPIRY,
    U64,
    st.integers(min_value=0, max_value=(1 << 63) - 1),
    st.binary(max_size=40),
)
def test_collection_meta_round_trip(t, expire_at, version, count, extra):
    m = Meta(t, expire_at, version=version, count=count, extra=extra)
    assert decode_meta(m.encode()) == m
    assert m.copy() == m


@given(PDB, st.binary(), U64, st.binary())
def test_data_key_round_trip(pdb, key, version, elem):
    dk = data_key(pdb, key, version, elem)
    assert dk.startswith(data_prefix(pdb, key, version))
    assert parse_data_key(dk) == (pdb, key, version, elem)


@given(PDB, EXPIRY, st.binary())
def test_expire_key_round_trip(pdb, at, key):
    assert parse_expire_key(expire_key(pdb, at, key)) == (pdb, at, key)


@given(PDB, EXPIRY, EXPIRY, st.binary(max_size=8), st.binary(max_size=8))
def test_expire_index_sorts_by_time(pdb, a, b, ka, kb):
    if a < b:
        assert expire_key(pdb, a, ka) < expire_key(pdb, b, kb)


def test_expiry_visibility_helpers():
    raw = encode_string(b"v", 100, 0)
    assert string_value(raw, 99) == b"v"
    assert string_value(raw, 100) is None
    assert live_type(raw, 99) == T_STRING
    assert live_type(raw, 100) == 0
    from pikadb.keycodec import WRONGTYPE

    assert string_value(Meta(T_SET, 0, version=1).encode(), 0) is WRONGTYPE


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=-(10**30), max_value=10**30),
)
def test_counters_round_trip(keys, volatile, ttl_sum):
    raw = encoding.encode_counters(keys, volatile, ttl_sum)
    assert encoding.decode_counters(raw) == [keys, volatile, ttl_sum]


def test_dbmap_round_trip():
    raw = encoding.encode_dbmap(7, [1, 0, 2])
    assert encoding.decode_dbmap(raw) == (7, [1, 0, 2])


def test_prefix_successor():
    assert encoding.prefix_successor(b"ab") == b"ac"
    assert encoding.prefix_successor(b"a\xff") == b"b"
    assert encoding.prefix_successor(b"\xff\xff") is None
    begin, end = encoding.pdb_range(encoding.P_META, 0xFFFF)
    assert begin < meta_key(0xFFFF, b"\xff" * 10) < end
