"""Hashes (Redis t_hash.c) on RocksDB: one DATA record per field.

Layout (storage/encoding.py): META type 2 with version, count = number of fields (kept
exact in the batch that adds or removes fields, so HLEN reads the meta only) and `extra`;
one DATA record per field, element suffix = the field bytes, value = the value bytes. A
hash left with no fields is deleted in the same batch: Redis has no empty hashes.

OBJECT ENCODING: Redis 7.0 keeps a hash as a listpack until it holds more than
hash-max-listpack-entries fields or is given a field or value longer than
hash-max-listpack-value bytes, then converts it to a hashtable for good (deleting fields
never converts it back). The conversion is recorded in Meta.extra (CONVERTED) by the write
that would have made Redis convert, following Redis's checks exactly: HSET/HMSET look at
every field and value argument before writing, HSETNX only when it writes, HINCRBY and
HINCRBYFLOAT at the field and the value they store. RENAME/COPY carry the meta, so the
encoding survives them, as in Redis.

Methods take `now` (unix ms), return Python values and raise WrongTypeError / CommandError
with Redis's texts. Mixed into Database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pikadb.errors import WrongTypeError
from pikadb.glob import compile_pattern
from pikadb.keycodec import T_HASH, Meta, data_key
from pikadb.storage import elemscan
from pikadb.storage.writeset import WriteSet

if TYPE_CHECKING:
    from pikadb.storage.database import Database

# Meta.extra of a hash Redis would have converted to a hashtable.
CONVERTED = b"\x01"


@dataclass(slots=True)
class HashLimits:
    """hash-max-listpack-entries / hash-max-listpack-value (Redis 7.0 defaults)."""

    max_entries: int = 512
    max_value: int = 64


DEFAULT_LIMITS = HashLimits()


def _emit_pair(out: list, field: bytes, value: bytes | None) -> None:
    out.append(field)
    out.append(value)


def hash_encoding(db: Database, key: bytes, meta: Meta) -> str:
    """OBJECT ENCODING of a hash (registered with Database.register_encoding)."""
    return "hashtable" if meta.extra == CONVERTED else "listpack"


class HashOps:
    """Hash operations, mixed into Database (methods are typed with self: Database)."""

    # ---- reads ----

    def hash_meta(self: Database, key: bytes, now: int) -> Meta | None:
        """The live meta of a hash, None if there is no key; WrongTypeError otherwise."""
        meta = self.lookup(key, now)
        if meta is not None and meta.type != T_HASH:
            raise WrongTypeError()
        return meta

    def hget(self: Database, key: bytes, field: bytes, now: int) -> bytes | None:
        meta = self.hash_meta(key, now)
        if meta is None:
            return None
        return self.shard_for(key).get(data_key(self.pdb, key, meta.version, field))

    def hmget(self: Database, key: bytes, fields: list[bytes], now: int) -> list[bytes | None]:
        meta = self.hash_meta(key, now)
        if meta is None:
            return [None] * len(fields)
        pdb, version = self.pdb, meta.version
        return self.shard_for(key).get([data_key(pdb, key, version, f) for f in fields])

    def hlen(self: Database, key: bytes, now: int) -> int:
        meta = self.hash_meta(key, now)
        return 0 if meta is None else meta.count

    def hexists(self: Database, key: bytes, field: bytes, now: int) -> bool:
        return self.hget(key, field, now) is not None

    def hstrlen(self: Database, key: bytes, field: bytes, now: int) -> int:
        value = self.hget(key, field, now)
        return 0 if value is None else len(value)

    def hkeys(self: Database, key: bytes, now: int) -> list[bytes]:
        meta = self.hash_meta(key, now)
        if meta is None:
            return []
        return elemscan.read_suffixes(self, key, meta.version)

    def hvals(self: Database, key: bytes, now: int) -> list[bytes]:
        meta = self.hash_meta(key, now)
        if meta is None:
            return []
        return elemscan.read_values(self, key, meta.version)

    def hgetall(self: Database, key: bytes, now: int) -> list[tuple[bytes, bytes]]:
        meta = self.hash_meta(key, now)
        if meta is None:
            return []
        return elemscan.read_elements(self, key, meta.version)  # type: ignore[return-value]

    def hrandfield(
        self: Database, key: bytes, count: int | None, now: int
    ) -> list[tuple[bytes, bytes]] | None:
        """HRANDFIELD: count None -> one random (field, value) pair in a list, or None for no
        key; else |count| pairs, distinct for count >= 0 (every field when count >= HLEN),
        possibly repeated for count < 0."""
        meta = self.hash_meta(key, now)
        if meta is None:
            return None
        if count is None:
            count = 1
        return elemscan.random_elements(  # type: ignore[return-value]
            self, key, meta.version, meta.count, abs(count), count >= 0
        )

    def hscan(
        self: Database, key: bytes, meta: Meta, cursor: int, match: bytes | None, count: int
    ) -> tuple[int, list[bytes]]:
        """HSCAN of a hash whose meta the caller looked up. -> (next cursor, [field, value,
        ...]). A listpack hash comes whole in one page, as in Redis."""
        matcher = None if match is None else compile_pattern(match)
        if meta.extra != CONVERTED:
            out: list[bytes] = []
            for f, v in elemscan.scan_all(self, key, meta.version, matcher):
                out.append(f)
                out.append(v)  # type: ignore[arg-type]
            return 0, out
        return elemscan.scan_page(self, key, meta.version, cursor, count, matcher, _emit_pair)

    # ---- writes ----

    def _hash_for_write(self: Database, ws: WriteSet, key: bytes) -> tuple[Meta | None, Meta]:
        """(old meta or None, the meta to update: a copy of old, or a new empty hash)."""
        old = ws.lookup(self, key)
        if old is None:
            return None, Meta(T_HASH, version=ws.new_version(self, key))
        if old.type != T_HASH:
            raise WrongTypeError()
        return old, old.copy()

    def hset(
        self: Database,
        key: bytes,
        pairs: list[tuple[bytes, bytes]],
        now: int,
        limits: HashLimits = DEFAULT_LIMITS,
    ) -> int:
        """HSET / HMSET: set every pair (a repeated field takes its last value).
        -> number of fields that were new."""
        ws = WriteSet(self.engine, now)
        old, new = self._hash_for_write(ws, key)
        pdb, version = self.pdb, new.version
        mv = limits.max_value
        if len(pairs) == 1:  # the common case, without the multi-field machinery
            f, v = pairs[0]
            fields = {f: v}
            if old is None:
                added = 1
            else:
                added = self.shard_for(key).get(data_key(pdb, key, version, f)) is None
            too_long = len(f) > mv or len(v) > mv
        else:
            fields = dict(pairs)
            if old is None:
                added = len(fields)
            else:
                dks = [data_key(pdb, key, version, f) for f in fields]
                added = self.shard_for(key).get(dks).count(None)
            # hashTypeTryConversion looks at every argument, before anything is written.
            too_long = any(len(f) > mv or len(v) > mv for f, v in pairs)
        if new.extra != CONVERTED and (too_long or new.count + added > limits.max_entries):
            new.extra = CONVERTED
        for f, v in fields.items():
            ws.put_data(self, key, version, f, v)
        if added or old is None or new.extra != old.extra:
            new.count += added
            ws.put(self, key, new, old)
        ws.commit()
        return int(added)

    def hsetnx(
        self: Database,
        key: bytes,
        field: bytes,
        value: bytes,
        now: int,
        limits: HashLimits = DEFAULT_LIMITS,
    ) -> bool:
        ws = WriteSet(self.engine, now)
        old, new = self._hash_for_write(ws, key)
        dk = data_key(self.pdb, key, new.version, field)
        if old is not None and self.shard_for(key).get(dk) is not None:
            ws.commit()
            return False
        new.count += 1
        mv = limits.max_value
        if new.count > limits.max_entries or len(field) > mv or len(value) > mv:
            new.extra = CONVERTED
        ws.put_data(self, key, new.version, field, value)
        ws.put(self, key, new, old)
        ws.commit()
        return True

    def hupdate(
        self: Database,
        key: bytes,
        field: bytes,
        fn: Callable[[bytes | None], bytes],
        now: int,
        limits: HashLimits = DEFAULT_LIMITS,
    ) -> bytes:
        """Read-modify-write of one field (HINCRBY, HINCRBYFLOAT): fn(old value or None) ->
        the value to store, or raises to abort. A missing hash is created. -> the value."""
        ws = WriteSet(self.engine, now)
        old, new = self._hash_for_write(ws, key)
        dk = data_key(self.pdb, key, new.version, field)
        cur = self.shard_for(key).get(dk) if old is not None else None
        value = fn(cur)
        if cur is None:
            new.count += 1
        mv = limits.max_value
        if new.count > limits.max_entries or len(field) > mv or len(value) > mv:
            new.extra = CONVERTED  # hashTypeSet's own check (the increment is not an argument)
        ws.put_data(self, key, new.version, field, value)
        if old is None or cur is None or new.extra != old.extra:
            ws.put(self, key, new, old)
        ws.commit()
        return value

    def hdel(self: Database, key: bytes, fields: list[bytes], now: int) -> int:
        """-> number of fields removed; the hash goes when its last field does."""
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is None:
            ws.commit()
            return 0
        if old.type != T_HASH:
            raise WrongTypeError()
        pdb, version = self.pdb, old.version
        unique = list(dict.fromkeys(fields))
        present = self.shard_for(key).get([data_key(pdb, key, version, f) for f in unique])
        gone = [f for f, p in zip(unique, present, strict=True) if p is not None]
        if gone:
            if len(gone) >= old.count:
                ws.delete(self, key, old)  # element records go with the key
            else:
                for f in gone:
                    ws.delete_data(self, key, version, f)
                new = old.copy()
                new.count -= len(gone)
                ws.put(self, key, new, old)
        ws.commit()
        return len(gone)


__all__ = ["CONVERTED", "DEFAULT_LIMITS", "HashLimits", "HashOps", "hash_encoding"]
