"""String values: GET/SET and the read-modify-write family (INCR*, APPEND, SETRANGE).

A string lives entirely in its META record (type 1, value inline), so every operation is
one point read plus, for writes, one WriteBatch. Methods take `now` (unix ms, read once per
command by the handler) and raise typed errors (WrongTypeError, CommandError with Redis's
text); they never build RESP. Mixed into Database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pikadb import errors
from pikadb.errors import CommandError, WrongTypeError
from pikadb.keycodec import (
    ENC_AUTO,
    ENC_EMBSTR,
    ENC_RAW,
    T_STRING,
    WRONGTYPE,
    meta_expire_at,
    meta_key,
    string_value,
)
from pikadb.storage.writeset import WriteSet, write_string

if TYPE_CHECKING:
    from pikadb.storage.database import Database

# Byte 0 of a meta record: type in the low nibble; & 0x1F == T_STRING means a string
# without TTL (any encoding hint).
_TYPE_MASK = 0x0F
_PLAIN_MASK = 0x1F

LLONG_MAX = (1 << 63) - 1
LLONG_MIN = -(1 << 63)


def parse_int(b: bytes) -> int | None:
    """Redis's string2ll: an optional '-', digits, no leading zeros, no '+', no spaces,
    within a signed 64-bit integer. None when b is not such a string."""
    n = len(b)
    if n == 0 or n > 20:
        return None
    if n == 1:
        c = b[0]
        return c - 48 if 48 <= c <= 57 else None
    first = b[1] if b[0] == 45 else b[0]
    if not 49 <= first <= 57:  # '1'..'9'; "0..." and "-0" are not canonical
        return None
    if not b.isdigit() and not (b[0] == 45 and b[1:].isdigit()):
        return None
    v = int(b)
    if v > LLONG_MAX or v < LLONG_MIN:
        return None
    return v


def string_encoding(value: bytes, enc: int) -> str:
    """OBJECT ENCODING of a string as Redis 7.0 would report it (see encoding.py hints)."""
    if enc == ENC_RAW:
        return "raw"
    if enc == ENC_AUTO and len(value) <= 20 and parse_int(value) is not None:
        return "int"
    return "embstr" if len(value) <= 44 else "raw"


class StringOps:
    """String operations, mixed into Database (methods are typed with self: Database)."""

    # ---- reads ----

    def get(self: Database, key: bytes, now: int) -> bytes | None:
        """GET: the value, None if missing; WrongTypeError for another type."""
        mk = meta_key(self.pdb, key)
        raw = self.shard_for(key).get(mk)
        if raw is None:
            return None
        v = string_value(raw, now)
        if v is None:
            self._expire_on_read(key, now)
            return None
        if v is WRONGTYPE:
            raise WrongTypeError()
        self.access.touch(mk, now)
        return v

    def mget(self: Database, keys: list[bytes], now: int) -> list[bytes | None]:
        """MGET: values, None for missing keys and keys of other types."""
        pdb = self.pdb
        out: list[bytes | None] = []
        touch = self.access.touch
        for key in keys:
            mk = meta_key(pdb, key)
            raw = self.shard_for(key).get(mk)
            if raw is None:
                out.append(None)
                continue
            v = string_value(raw, now)
            if v is None:
                self._expire_on_read(key, now)
            elif v is not WRONGTYPE:
                touch(mk, now)
                out.append(v)
                continue
            out.append(None)
        return out

    # ---- writes ----

    def set(
        self: Database,
        key: bytes,
        value: bytes,
        now: int,
        *,
        expire_at: int = 0,
        keepttl: bool = False,
        nx: bool = False,
        xx: bool = False,
        get: bool = False,
    ) -> tuple[bool, bytes | None]:
        """SET and its wrappers. -> (value was set, old value if get).

        expire_at is absolute unix ms (0: none); without it the TTL is removed unless
        keepttl. With get, an old value of another type raises WrongTypeError before the
        NX/XX conditions are looked at (Redis's order)."""
        shard = self.shard_for(key)
        mk = meta_key(self.pdb, key)
        raw = shard.get(mk)
        if raw is None:
            # Hot path: a new key.
            if xx:
                return False, None
            write_string(shard, self.pdb, key, mk, value, expire_at, None, now, self.engine)
            return True, None
        if raw[0] & _TYPE_MASK == T_STRING and not (nx or get):
            # Hot path: replace a live string.
            old_at = meta_expire_at(raw)
            if not old_at or old_at > now:
                new_at = expire_at or (old_at if keepttl else 0)
                write_string(shard, self.pdb, key, mk, value, new_at, old_at, now, self.engine)
                return True, None
        ws = WriteSet(self.engine, now)
        ws.preload(mk, raw)
        old = ws.lookup(self, key)
        oldval = None
        if old is not None:
            if get:
                if old.type != T_STRING:
                    raise WrongTypeError()
                oldval = old.value
            if nx:
                ws.commit()
                return False, oldval
            if not expire_at and keepttl:
                expire_at = old.expire_at
        elif xx:
            ws.commit()
            return False, None
        ws.put_string(self, key, value, expire_at, ENC_AUTO, old)
        ws.commit()
        return True, oldval

    def mset(self: Database, pairs: list[tuple[bytes, bytes]], now: int, nx: bool = False) -> bool:
        """MSET / MSETNX (nx: set nothing if any key exists). TTLs are removed."""
        ws = WriteSet(self.engine, now)
        if nx:
            for key, _ in pairs:
                if ws.lookup(self, key) is not None:
                    ws.commit()
                    return False
        for key, value in pairs:
            old = ws.lookup(self, key)
            ws.put_string(self, key, value, 0, ENC_AUTO, old)
        ws.commit()
        return True

    def getdel(self: Database, key: bytes, now: int) -> bytes | None:
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is None:
            ws.commit()
            return None
        if old.type != T_STRING:
            raise WrongTypeError()
        ws.delete(self, key, old)
        ws.commit()
        return old.value

    def set_expiry(self: Database, key: bytes, now: int, expire_at: int) -> bool:
        """Give a live key an absolute expiry (0 removes it); an expiry <= now deletes the key.
        -> False if the key does not exist or the expiry was already that."""
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is None or old.expire_at == expire_at:
            ws.commit()
            return False
        if expire_at and expire_at <= now:
            ws.delete(self, key, old)
        else:
            new = old.copy()
            new.expire_at = expire_at
            ws.put(self, key, new, old)
        ws.commit()
        return True

    def incr_by(self: Database, key: bytes, delta: int, now: int) -> int:
        """INCR/DECR/INCRBY/DECRBY; the TTL is kept."""
        shard = self.shard_for(key)
        mk = meta_key(self.pdb, key)
        raw = shard.get(mk)
        if raw is None:
            # Hot path: a new key.
            if delta > LLONG_MAX or delta < LLONG_MIN:
                raise CommandError(errors.OVERFLOW)
            write_string(shard, self.pdb, key, mk, b"%d" % delta, 0, None, now, self.engine)
            return delta
        if raw[0] & _PLAIN_MASK == T_STRING:
            # Hot path: a string without TTL; no counter or index changes.
            v = parse_int(raw[1:])
            if v is None:
                raise CommandError(errors.NOT_INTEGER)
            result = v + delta
            if result > LLONG_MAX or result < LLONG_MIN:
                raise CommandError(errors.OVERFLOW)
            write_string(shard, self.pdb, key, mk, b"%d" % result, 0, 0, now, self.engine)
            return result
        ws = WriteSet(self.engine, now)
        ws.preload(mk, raw)
        old = ws.lookup(self, key)
        if old is None:
            value = 0
            expire_at = 0
        else:
            if old.type != T_STRING:
                raise WrongTypeError()
            v = parse_int(old.value)
            if v is None:
                raise CommandError(errors.NOT_INTEGER)
            value = v
            expire_at = old.expire_at
        result = value + delta
        if result > LLONG_MAX or result < LLONG_MIN:
            raise CommandError(errors.OVERFLOW)
        ws.put_string(self, key, b"%d" % result, expire_at, ENC_AUTO, old)
        ws.commit()
        return result

    def update_string(
        self: Database,
        key: bytes,
        now: int,
        fn: Callable[[bytes | None], bytes | None],
        enc_new: int = ENC_AUTO,
        enc_existing: int = ENC_RAW,
    ) -> bytes | None:
        """Read-modify-write keeping the TTL: fn(old value or None) -> new value, or None to
        write nothing (fn may raise to abort). -> the value now stored (None: no key)."""
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is not None and old.type != T_STRING:
            raise WrongTypeError()
        new = fn(old.value if old is not None else None)
        if new is None:
            ws.commit()
            return old.value if old is not None else None
        if old is None:
            ws.put_string(self, key, new, 0, enc_new, None)
        else:
            ws.put_string(self, key, new, old.expire_at, enc_existing, old)
        ws.commit()
        return new

    def incr_by_float(
        self: Database, key: bytes, fn: Callable[[bytes | None], bytes], now: int
    ) -> bytes:
        """INCRBYFLOAT: fn computes the new text; stored embstr-like as Redis does."""
        result = self.update_string(key, now, fn, ENC_EMBSTR, ENC_EMBSTR)
        assert result is not None
        return result


__all__ = ["LLONG_MAX", "LLONG_MIN", "StringOps", "parse_int", "string_encoding"]
