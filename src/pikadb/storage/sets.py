"""Sets (Redis t_set.c) on RocksDB: one DATA record per member.

Layout (storage/encoding.py): META type 4 with version, count = number of members (exact,
updated in the batch that adds or removes members: SCARD reads the meta only) and `extra`;
one DATA record per member, element suffix = the member bytes, empty value. A set left
with no members is deleted in the same batch: Redis has no empty sets.

OBJECT ENCODING: Redis 7.0 has two set encodings (the listpack one came in 7.2). A set is
an intset while every member is an integer (string2ll) and there are at most
set-max-intset-entries of them; adding any other member, or one too many, converts it to
a hashtable for good. Meta.extra records the conversion (CONVERTED). Redis builds a new
object, deciding afresh, in two places: the destination of SINTERSTORE / SUNIONSTORE /
SDIFFSTORE, and SPOP with a count that leaves few members (it moves the survivors into a
new set); both are reproduced. SMEMBERS and SSCAN of an intset come in numeric order, as
Redis's sorted intset gives them.

Set algebra reads as little as it can: SINTER walks the smallest set and checks its members
in the others with multi-gets; SDIFF reads a subtracted set whole only when it is smaller
than what is left to check. Every key is type-checked before any result is computed,
missing keys included (Redis 7.0 errors on a wrong type even after a missing key).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pikadb.errors import WrongTypeError
from pikadb.glob import compile_pattern
from pikadb.keycodec import T_SET, Meta, data_key
from pikadb.storage import elemscan
from pikadb.storage.strings import parse_int
from pikadb.storage.writeset import WriteSet

if TYPE_CHECKING:
    from pikadb.storage.database import Database

# Meta.extra of a set Redis would have converted to a hashtable.
CONVERTED = b"\x01"

# SPOP with a count: Redis moves the survivors to a new set when
# remaining * SPOP_MOVE_STRATEGY_MUL <= count (t_set.c).
SPOP_MOVE_STRATEGY_MUL = 5

# Members checked per multi-get in set algebra.
_CHUNK = 256

# Set algebra operations.
INTER, UNION, DIFF = 0, 1, 2


@dataclass(slots=True)
class SetLimits:
    """set-max-intset-entries (Redis 7.0 default)."""

    max_intset: int = 512


DEFAULT_LIMITS = SetLimits()


def set_encoding(db: Database, key: bytes, meta: Meta) -> str:
    """OBJECT ENCODING of a set (registered with Database.register_encoding)."""
    return "hashtable" if meta.extra == CONVERTED else "intset"


def _emit_member(out: list, member: bytes, value: bytes | None) -> None:
    out.append(member)


def _all_ints(members: list[bytes]) -> bool:
    return all(parse_int(m) is not None for m in members)


def intset_order(members: list[bytes]) -> list[bytes]:
    """Members of an intset as Redis lists them: ascending numeric order."""
    try:
        return sorted(members, key=int)
    except ValueError:  # not an intset after all (a set some other code built)
        return members


def fresh_extra(members: list[bytes], limits: SetLimits) -> bytes:
    """Meta.extra of a set Redis builds from scratch with these members."""
    if len(members) <= limits.max_intset and _all_ints(members):
        return b""
    return CONVERTED


class SetOps:
    """Set operations, mixed into Database (methods are typed with self: Database)."""

    # ---- reads ----

    def set_meta(self: Database, key: bytes, now: int) -> Meta | None:
        """The live meta of a set, None if there is no key; WrongTypeError otherwise."""
        meta = self.lookup(key, now)
        if meta is not None and meta.type != T_SET:
            raise WrongTypeError()
        return meta

    def scard(self: Database, key: bytes, now: int) -> int:
        meta = self.set_meta(key, now)
        return 0 if meta is None else meta.count

    def sismember(self: Database, key: bytes, member: bytes, now: int) -> bool:
        meta = self.set_meta(key, now)
        if meta is None:
            return False
        dk = data_key(self.pdb, key, meta.version, member)
        return self.shard_for(key).get(dk) is not None

    def smismember(self: Database, key: bytes, members: list[bytes], now: int) -> list[int]:
        meta = self.set_meta(key, now)
        if meta is None:
            return [0] * len(members)
        return self._set_present(key, meta, members)

    def _set_present(self: Database, key: bytes, meta: Meta, members: list[bytes]) -> list[int]:
        pdb, version = self.pdb, meta.version
        got = self.shard_for(key).get([data_key(pdb, key, version, m) for m in members])
        return [0 if g is None else 1 for g in got]

    def _set_members(self: Database, key: bytes, meta: Meta) -> list[bytes]:
        return elemscan.read_suffixes(self, key, meta.version)

    def smembers(self: Database, key: bytes, now: int) -> list[bytes]:
        meta = self.set_meta(key, now)
        if meta is None:
            return []
        members = self._set_members(key, meta)
        return members if meta.extra == CONVERTED else intset_order(members)

    def srandmember(self: Database, key: bytes, count: int | None, now: int) -> list[bytes] | None:
        """SRANDMEMBER: count None -> [one member] or None for no key; else |count|
        members, distinct for count >= 0 (all of them when count >= SCARD), possibly
        repeated for count < 0."""
        meta = self.set_meta(key, now)
        if meta is None:
            return None
        n = 1 if count is None else count
        picked = elemscan.random_elements(
            self, key, meta.version, meta.count, abs(n), n >= 0, values=False
        )
        return [m for m, _ in picked]

    def sscan(
        self: Database, key: bytes, meta: Meta, cursor: int, match: bytes | None, count: int
    ) -> tuple[int, list[bytes]]:
        """SSCAN of a set whose meta the caller looked up. -> (next cursor, members). An
        intset comes whole in one page (numeric order), as in Redis."""
        matcher = None if match is None else compile_pattern(match)
        if meta.extra != CONVERTED:
            members = intset_order(self._set_members(key, meta))
            if matcher is not None:
                members = [m for m in members if matcher(m)]
            return 0, members
        return elemscan.scan_page(
            self, key, meta.version, cursor, count, matcher, _emit_member, values=False
        )

    # ---- writes ----

    def sadd(
        self: Database,
        key: bytes,
        members: list[bytes],
        now: int,
        limits: SetLimits = DEFAULT_LIMITS,
    ) -> int:
        """-> number of members that were new."""
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is None:
            new = Meta(T_SET, version=ws.new_version(self, key))
            added = list(dict.fromkeys(members))
        else:
            if old.type != T_SET:
                raise WrongTypeError()
            new = old.copy()
            unique = list(dict.fromkeys(members))
            present = self._set_present(key, old, unique)
            added = [m for m, p in zip(unique, present, strict=True) if not p]
        if added:
            new.count += len(added)
            if new.extra != CONVERTED and (new.count > limits.max_intset or not _all_ints(added)):
                new.extra = CONVERTED
            version = new.version
            for m in added:
                ws.put_data(self, key, version, m, b"")
            ws.put(self, key, new, old)
        ws.commit()
        return len(added)

    def srem(self: Database, key: bytes, members: list[bytes], now: int) -> int:
        """-> number of members removed; the set goes when its last member does."""
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is None:
            ws.commit()
            return 0
        if old.type != T_SET:
            raise WrongTypeError()
        unique = list(dict.fromkeys(members))
        present = self._set_present(key, old, unique)
        gone = [m for m, p in zip(unique, present, strict=True) if p]
        if gone:
            self._set_remove(ws, key, old, gone)
        ws.commit()
        return len(gone)

    def _set_remove(
        self: Database,
        ws: WriteSet,
        key: bytes,
        old: Meta,
        gone: list[bytes],
        extra: bytes | None = None,
    ) -> None:
        """Remove members known to be present (and set Meta.extra if given); the key goes
        with its last member."""
        if len(gone) >= old.count:
            ws.delete(self, key, old)
            return
        version = old.version
        for m in gone:
            ws.delete_data(self, key, version, m)
        new = old.copy()
        new.count -= len(gone)
        if extra is not None:
            new.extra = extra
        ws.put(self, key, new, old)

    def spop(
        self: Database, key: bytes, count: int | None, now: int, limits: SetLimits = DEFAULT_LIMITS
    ) -> list[bytes] | None:
        """SPOP: count None -> [the member popped] or None for no key; else up to count
        distinct members, removed (all of them, and the key, when count >= SCARD)."""
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is None:
            ws.commit()
            return None
        if old.type != T_SET:
            raise WrongTypeError()
        size = old.count
        n = 1 if count is None else count
        if n >= size:
            members = self._set_members(key, old)
            ws.delete(self, key, old)
            ws.commit()
            return members if old.extra == CONVERTED else intset_order(members)
        remaining = size - n
        if count is not None and remaining * SPOP_MOVE_STRATEGY_MUL <= n:
            # Redis keeps `remaining` random members in a new set (its encoding decided
            # afresh) and returns the rest.
            members = self._set_members(key, old)
            random.shuffle(members)
            keep, popped = members[:remaining], members[remaining:]
            self._set_remove(ws, key, old, popped, fresh_extra(keep, limits))
            ws.commit()
            return popped
        picked = elemscan.random_elements(self, key, old.version, size, n, True, values=False)
        popped = [m for m, _ in picked]
        self._set_remove(ws, key, old, popped)
        ws.commit()
        return popped

    def smove(
        self: Database,
        src: bytes,
        dst: bytes,
        member: bytes,
        now: int,
        limits: SetLimits = DEFAULT_LIMITS,
    ) -> bool:
        ws = WriteSet(self.engine, now)
        sm = ws.lookup(self, src)
        if sm is None:
            ws.commit()
            return False
        dm = ws.lookup(self, dst)
        if sm.type != T_SET or (dm is not None and dm.type != T_SET):
            raise WrongTypeError()
        if not self._set_present(src, sm, [member])[0]:
            ws.commit()
            return False
        if src == dst:
            ws.commit()
            return True
        self._set_remove(ws, src, sm, [member])
        if dm is None:
            new = Meta(T_SET, version=ws.new_version(self, dst))
        elif self._set_present(dst, dm, [member])[0]:
            ws.commit()
            return True
        else:
            new = dm.copy()
        new.count += 1
        if new.extra != CONVERTED and (new.count > limits.max_intset or parse_int(member) is None):
            new.extra = CONVERTED
        ws.put_data(self, dst, new.version, member, b"")
        ws.put(self, dst, new, dm)
        ws.commit()
        return True

    # ---- set algebra ----

    def _set_metas(
        self: Database, keys: list[bytes], ws: WriteSet | None, now: int
    ) -> list[Meta | None]:
        """The metas of keys (None for missing ones), every one type-checked first."""
        if ws is None:
            metas = [self.lookup(k, now) for k in keys]
        else:
            metas = [ws.lookup(self, k) for k in keys]
        for m in metas:
            if m is not None and m.type != T_SET:
                raise WrongTypeError()
        return metas

    def _set_inter(
        self: Database, keys: list[bytes], metas: list[Meta | None], limit: int = 0
    ) -> list[bytes]:
        """Members common to every set (limit > 0: stop once that many are found)."""
        if not keys or any(m is None for m in metas):
            return []
        order = sorted(range(len(keys)), key=lambda i: metas[i].count)  # type: ignore[union-attr]
        first = order[0]
        candidates = self._set_members(keys[first], metas[first])  # type: ignore[arg-type]
        others = [(keys[i], metas[i]) for i in order[1:] if keys[i] != keys[first]]
        if not others:
            return candidates[:limit] if limit else candidates
        out: list[bytes] = []
        for lo in range(0, len(candidates), _CHUNK):
            chunk = candidates[lo : lo + _CHUNK]
            for k, m in others:
                if not chunk:
                    break
                hits = self._set_present(k, m, chunk)  # type: ignore[arg-type]
                chunk = [x for x, h in zip(chunk, hits, strict=True) if h]
            out.extend(chunk)
            if limit and len(out) >= limit:
                return out[:limit]
        return out

    def _set_union(self: Database, keys: list[bytes], metas: list[Meta | None]) -> list[bytes]:
        out: dict[bytes, None] = {}
        seen: set[bytes] = set()
        for k, m in zip(keys, metas, strict=True):
            if m is None or k in seen:
                continue
            seen.add(k)
            out.update(dict.fromkeys(self._set_members(k, m)))
        return list(out)

    def _set_diff(self: Database, keys: list[bytes], metas: list[Meta | None]) -> list[bytes]:
        if metas[0] is None:
            return []
        candidates = self._set_members(keys[0], metas[0])
        for k, m in zip(keys[1:], metas[1:], strict=True):
            if not candidates:
                break
            if m is None:
                continue
            if k == keys[0]:
                return []
            if m.count <= len(candidates):
                drop = set(self._set_members(k, m))
                candidates = [x for x in candidates if x not in drop]
            else:
                kept: list[bytes] = []
                for lo in range(0, len(candidates), _CHUNK):
                    chunk = candidates[lo : lo + _CHUNK]
                    hits = self._set_present(k, m, chunk)
                    kept.extend(x for x, h in zip(chunk, hits, strict=True) if not h)
                candidates = kept
        return candidates

    def _set_algebra(
        self: Database, op: int, keys: list[bytes], metas: list[Meta | None]
    ) -> list[bytes]:
        if op == INTER:
            return self._set_inter(keys, metas)
        if op == UNION:
            return self._set_union(keys, metas)
        return self._set_diff(keys, metas)

    def set_algebra(self: Database, op: int, keys: list[bytes], now: int) -> list[bytes]:
        """SINTER / SUNION / SDIFF."""
        return self._set_algebra(op, keys, self._set_metas(keys, None, now))

    def sintercard(self: Database, keys: list[bytes], limit: int, now: int) -> int:
        return len(self._set_inter(keys, self._set_metas(keys, None, now), limit))

    def set_algebra_store(
        self: Database,
        op: int,
        dst: bytes,
        keys: list[bytes],
        now: int,
        limits: SetLimits = DEFAULT_LIMITS,
    ) -> int:
        """SINTERSTORE / SUNIONSTORE / SDIFFSTORE: dst (of any type, TTL dropped) becomes
        the result, or is deleted when the result is empty. -> the result's size."""
        ws = WriteSet(self.engine, now)
        metas = self._set_metas(keys, ws, now)
        members = self._set_algebra(op, keys, metas)
        old = ws.lookup(self, dst)
        if not members:
            if old is not None:
                ws.delete(self, dst, old)
            ws.commit()
            return 0
        version = ws.new_version(self, dst)
        for m in members:
            ws.put_data(self, dst, version, m, b"")
        new = Meta(T_SET, version=version, count=len(members), extra=fresh_extra(members, limits))
        ws.put(self, dst, new, old)
        ws.commit()
        return len(members)


__all__ = [
    "CONVERTED",
    "DEFAULT_LIMITS",
    "DIFF",
    "INTER",
    "UNION",
    "SetLimits",
    "SetOps",
    "fresh_extra",
    "intset_order",
    "set_encoding",
]
