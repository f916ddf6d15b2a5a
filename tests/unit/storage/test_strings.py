"""String operations in storage: SET flags, read-modify-write, encodings, parse_int."""

from __future__ import annotations

import pytest

from pikadb.errors import CommandError, WrongTypeError
from pikadb.keycodec import T_SET, Meta
from pikadb.storage.strings import LLONG_MAX, LLONG_MIN, parse_int, string_encoding


def make_set(db, key, now):
    ws = db.writes(now)
    ws.put(db, key, Meta(T_SET, version=ws.new_version(db, key), count=0), ws.lookup(db, key))
    ws.commit()


def test_set_flags(db, now):
    assert db.set(b"k", b"1", now, nx=True) == (True, None)
    assert db.set(b"k", b"2", now, nx=True) == (False, None)
    assert db.set(b"k", b"3", now, nx=True, get=True) == (False, b"1")
    assert db.set(b"n", b"1", now, xx=True) == (False, None)
    assert db.set(b"k", b"4", now, xx=True, get=True) == (True, b"1")
    assert db.set(b"k", b"5", now, expire_at=now + 100) == (True, None)
    assert db.set(b"k", b"6", now, keepttl=True) == (True, None)
    assert db.expire_time(b"k", now) == now + 100
    assert db.set(b"k", b"7", now) == (True, None)
    assert db.expire_time(b"k", now) == -1
    make_set(db, b"s", now)
    with pytest.raises(WrongTypeError):
        db.set(b"s", b"x", now, get=True, nx=True)
    assert db.set(b"s", b"x", now) == (True, None)  # plain SET overwrites any type
    assert db.get(b"s", now) == b"x"


def test_wrongtype(db, now):
    make_set(db, b"s", now)
    for op in (
        lambda: db.get(b"s", now),
        lambda: db.getdel(b"s", now),
        lambda: db.incr_by(b"s", 1, now),
        lambda: db.update_string(b"s", now, lambda v: b"x"),
    ):
        with pytest.raises(WrongTypeError):
            op()
    assert db.mget([b"s"], now) == [None]


def test_incr(db, now):
    assert db.incr_by(b"c", 5, now) == 5
    assert db.incr_by(b"c", -7, now) == -2
    db.set(b"c", b"x", now)
    with pytest.raises(CommandError, match="not an integer"):
        db.incr_by(b"c", 1, now)
    db.set(b"c", str(LLONG_MAX).encode(), now, expire_at=now + 50)
    with pytest.raises(CommandError, match="overflow"):
        db.incr_by(b"c", 1, now)
    assert db.incr_by(b"c", -1, now) == LLONG_MAX - 1
    assert db.expire_time(b"c", now) == now + 50  # INCR keeps the TTL


def test_update_string_keeps_ttl_and_can_skip(db, now):
    db.set(b"k", b"ab", now, expire_at=now + 50)
    assert db.update_string(b"k", now, lambda v: v + b"c") == b"abc"
    assert db.expire_time(b"k", now) == now + 50
    assert db.update_string(b"k", now, lambda v: None) == b"abc"
    assert db.update_string(b"none", now, lambda v: None) is None
    assert db.lookup(b"none", now) is None


def test_getdel_and_set_expiry(engine, db, now):
    db.set(b"k", b"v", now)
    assert db.set_expiry(b"k", now, now + 100) is True
    assert db.set_expiry(b"k", now, 0) is True
    assert db.expire_time(b"k", now) == -1
    assert db.set_expiry(b"k", now, now - 1) is True  # past: deleted
    assert db.get(b"k", now) is None
    db.set(b"k", b"v", now)
    assert db.getdel(b"k", now) == b"v"
    assert db.getdel(b"k", now) is None
    assert engine.dbsize(0) == 0


@pytest.mark.parametrize(
    "text,value",
    [
        (b"0", 0),
        (b"-1", -1),
        (b"123", 123),
        (str(LLONG_MAX).encode(), LLONG_MAX),
        (str(LLONG_MIN).encode(), LLONG_MIN),
    ],
)
def test_parse_int_accepts(text, value):
    assert parse_int(text) == value


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"-",
        b"+1",
        b" 1",
        b"1 ",
        b"01",
        b"-0",
        b"00",
        b"1.0",
        b"1e3",
        b"0x1",
        str(LLONG_MAX + 1).encode(),
        str(LLONG_MIN - 1).encode(),
        b"\xd9\xa3",
        b"1_000",
    ],
)
def test_parse_int_rejects(text):
    assert parse_int(text) is None


def test_string_encoding_names():
    assert string_encoding(b"12", 0) == "int"
    assert string_encoding(b"012", 0) == "embstr"
    assert string_encoding(b"12", 1) == "raw"
    assert string_encoding(b"12", 2) == "embstr"
    assert string_encoding(b"x" * 45, 2) == "raw"
