"""The compiled key codec: slot hashing exactly as Redis Cluster, and the facade."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pikadb import keycodec


def crc16_reference(data: bytes) -> int:
    """CRC16-CCITT (XModem), bit by bit: Redis's crc16.c."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def test_crc16_check_value():
    assert keycodec.crc16(b"123456789") == 0x31C3  # the XModem check value Redis documents


@given(st.binary(max_size=64))
def test_crc16_matches_reference(data):
    assert keycodec.crc16(data) == crc16_reference(data)


def test_key_slot_matches_redis_cluster():
    # Values from CLUSTER KEYSLOT on Redis.
    assert keycodec.key_slot(b"foo") == 12182
    assert keycodec.key_slot(b"bar") == 5061
    assert keycodec.key_slot(b"somekey") == 11058
    assert keycodec.key_slot(b"{user1000}.following") == 3443
    assert keycodec.key_slot(b"{user1000}.followers") == 3443


@given(st.binary(max_size=20), st.binary(max_size=20), st.binary(max_size=20))
def test_hash_tags(pre, tag, post):
    key = pre + b"{" + tag + b"}" + post
    if b"{" in pre:
        return  # the first '{' decides
    if tag and b"}" not in tag:
        assert keycodec.key_slot(key) == crc16_reference(tag) & 16383
    elif not tag:
        assert keycodec.key_slot(key) == crc16_reference(key) & 16383


@given(st.binary(max_size=30), st.integers(min_value=1, max_value=64))
def test_shard_index(key, n):
    assert keycodec.shard_index(key, n) == keycodec.key_slot(key) % n
