"""Database: one logical db (SELECT n) and the keyspace operations every type shares.

A Database maps to a physical db id (`pdb`, changed in place by SWAPDB so every client
holding the object follows the swap) spread over the engine's shards by key slot. Methods
take `now` (unix ms, read once per command), return Python values and raise typed errors
(errors.WrongTypeError, errors.CommandError with Redis's texts); RESP is the handlers' job.

Read paths check expiry on every access: a key past its expire_at is invisible, and (on a
master: engine.lazy_expire_on_read) deleted right away as Redis's expireIfNeeded does.
Writes go through storage.writeset.WriteSet, one atomic batch per shard per command.

Type families (hashes, lists, ...) build on: shard_for(), lookup(), WriteSet and the
element helpers in WriteSet; `register_encoding()` lets them answer OBJECT ENCODING.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

from pikadb import errors
from pikadb.errors import CommandError
from pikadb.glob import compile_pattern, literal_prefix
from pikadb.keycodec import (
    T_HASH,
    T_LIST,
    T_SET,
    T_STRING,
    T_ZSET,
    Meta,
    decode_meta,
    key_slot,
    live_type,
    meta_key,
    meta_prefix,
)
from pikadb.storage.encoding import (
    P_DATA,
    P_EXPIRE,
    P_META,
    TYPE_NAMES,
    counters_key,
    pdb_range,
    prefix_successor,
)
from pikadb.storage.hashes import HashOps, hash_encoding
from pikadb.storage.ops import Ops
from pikadb.storage.scan import SCAN_SLICE_S
from pikadb.storage.sets import SetOps, set_encoding
from pikadb.storage.strings import StringOps, string_encoding
from pikadb.storage.writeset import WriteSet
from pikadb.storage.zsets import ZsetOps, zset_encoding

KEYS_STEP = 256  # keys KEYS examines between two checks of its time slice

if TYPE_CHECKING:
    from pikadb.storage.engine import Engine
    from pikadb.storage.shard import Shard

# type code -> fn(db, key, meta) -> OBJECT ENCODING name; type families register theirs.
EncodingHook = Callable[["Database", bytes, Meta], str]
_ENCODING_HOOKS: dict[int, EncodingHook] = {}


def register_encoding(type_code: int, hook: EncodingHook) -> None:
    _ENCODING_HOOKS[type_code] = hook


register_encoding(T_HASH, hash_encoding)
register_encoding(T_SET, set_encoding)
register_encoding(T_ZSET, zset_encoding)


def _default_encoding(meta: Meta) -> str:
    """Redis 7.0's choice by element count alone, with the default *-max-listpack-entries."""
    t = meta.type
    if t == T_HASH:
        return "listpack" if meta.count <= 128 else "hashtable"
    if t == T_LIST:
        return "quicklist"
    if t == T_SET:
        return "hashtable"
    if t == T_ZSET:
        return "listpack" if meta.count <= 128 else "skiplist"
    return "stream"


class Database(StringOps, HashOps, SetOps, ZsetOps):
    def __init__(self, engine: Engine, index: int, pdb: int) -> None:
        self.engine = engine
        self.index = index
        self.pdb = pdb
        self.access = engine.access
        self._shards = engine.shards  # owned shards only (several workers: a share)
        self._slot_shards = engine.slot_shards
        self._n = engine.nshards
        if self._n == 1:
            only = self._shards[0]
            self.shard_for: Callable[[bytes], Shard] = lambda key: only
        else:
            self.shard_for = self._shard_by_slot

    def _shard_by_slot(self, key: bytes) -> Shard:
        return self._slot_shards[key_slot(key) % self._n]  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<Database {self.index} (physical {self.pdb})>"

    def writes(self, now: int) -> WriteSet:
        return WriteSet(self.engine, now)

    # ---- lookups ----

    def lookup(self, key: bytes, now: int, touch: bool = True) -> Meta | None:
        """The live meta of key, or None. touch=False for commands Redis runs with
        LOOKUP_NOTOUCH (TYPE, EXISTS, TTL, OBJECT)."""
        mk = meta_key(self.pdb, key)
        raw = self.shard_for(key).get(mk)
        if raw is None:
            return None
        meta = decode_meta(raw)
        if meta.expire_at and meta.expire_at <= now:
            self._expire_on_read(key, now)
            return None
        if touch:
            self.access.touch(mk, now)
        return meta

    def _expire_on_read(self, key: bytes, now: int) -> None:
        if self.engine.lazy_expire_on_read:
            ws = WriteSet(self.engine, now)
            ws.lookup(self, key)  # deletes it: it is past its expiry
            ws.commit()

    def exists(self, keys: list[bytes], now: int) -> int:
        return sum(1 for k in keys if self.lookup(k, now, touch=False) is not None)

    def type_name(self, key: bytes, now: int) -> str:
        meta = self.lookup(key, now, touch=False)
        return "none" if meta is None else TYPE_NAMES[meta.type]

    def touch(self, keys: list[bytes], now: int) -> int:
        return sum(1 for k in keys if self.lookup(k, now) is not None)

    def expire_time(self, key: bytes, now: int) -> int:
        """-2 no such key, -1 no expiry, else the absolute expiry in unix ms."""
        meta = self.lookup(key, now, touch=False)
        if meta is None:
            return -2
        return meta.expire_at or -1

    def dbsize(self) -> int:
        pdb = self.pdb
        return sum(s.counts(pdb)[0] for s in self._shards)

    # ---- deletes and expiry ----

    def delete(self, keys: list[bytes], now: int) -> int:
        ws = WriteSet(self.engine, now)
        n = 0
        for key in keys:
            old = ws.lookup(self, key)
            if old is not None:
                ws.delete(self, key, old)
                n += 1
        ws.commit()
        return n

    def expire(
        self,
        key: bytes,
        when: int,
        now: int,
        *,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> int:
        """EXPIRE family with an absolute `when` (unix ms). -> 1 if set (or the key was
        deleted because `when` is not in the future), 0 if no key or a condition failed."""
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is None:
            ws.commit()
            return 0
        cur = old.expire_at or -1
        if (
            (nx and cur != -1)
            or (xx and cur == -1)
            or (gt and (cur == -1 or when <= cur))
            or (lt and cur != -1 and when >= cur)
        ):
            ws.commit()
            return 0
        if when <= now:
            ws.delete(self, key, old)
        elif when != old.expire_at:
            new = old.copy()
            new.expire_at = when
            ws.put(self, key, new, old)
        ws.commit()
        return 1

    def persist(self, key: bytes, now: int) -> int:
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is None or not old.expire_at:
            ws.commit()
            return 0
        new = old.copy()
        new.expire_at = 0
        ws.put(self, key, new, old)
        ws.commit()
        return 1

    # ---- rename / copy / move ----

    @staticmethod
    def _clone(
        ws: WriteSet,
        src_db: Database,
        src: bytes,
        meta: Meta,
        dst_db: Database,
        dst: bytes,
        old_dst: Meta | None,
    ) -> None:
        """Write meta (TTL included) as dst in dst_db; collections get a new version with
        their elements copied."""
        new = meta.copy()
        if meta.type != T_STRING:
            new.version = ws.new_version(dst_db, dst)
            ws.copy_data(src_db, src, meta.version, dst_db, dst, new.version)
        ws.put(dst_db, dst, new, old_dst)

    def rename(self, src: bytes, dst: bytes, now: int, nx: bool = False) -> bool:
        """RENAME/RENAMENX. Raises 'ERR no such key'. -> False only for NX with dst present."""
        ws = WriteSet(self.engine, now)
        meta = ws.lookup(self, src)
        if meta is None:
            ws.commit()
            raise CommandError(errors.NO_SUCH_KEY)
        if src == dst:
            ws.commit()
            return not nx
        old_dst = ws.lookup(self, dst)
        if old_dst is not None and nx:
            ws.commit()
            return False
        self._clone(ws, self, src, meta, self, dst, old_dst)
        ws.delete(self, src, meta)
        ws.commit()
        return True

    def copy(
        self, src: bytes, dst: bytes, now: int, dest: Database | None = None, replace: bool = False
    ) -> bool:
        """COPY (same-key-same-db is the caller's error). -> False if no src, or dst exists
        without replace."""
        dest = dest or self
        ws = WriteSet(self.engine, now)
        meta = ws.lookup(self, src)
        if meta is None:
            ws.commit()
            return False
        old_dst = ws.lookup(dest, dst)
        if old_dst is not None and not replace:
            ws.commit()
            return False
        self._clone(ws, self, src, meta, dest, dst, old_dst)
        ws.commit()
        return True

    def move(self, key: bytes, dest: Database, now: int) -> bool:
        """MOVE to another db. -> False if no key here or the key exists there."""
        ws = WriteSet(self.engine, now)
        meta = ws.lookup(self, key)
        if meta is None:
            ws.commit()
            return False
        if ws.lookup(dest, key) is not None:
            ws.commit()
            return False
        self._clone(ws, self, key, meta, dest, key, None)
        ws.delete(self, key, meta)
        ws.commit()
        return True

    # ---- iteration ----

    def _meta_range(self, prefix: bytes = b"") -> tuple[bytes, bytes]:
        start = meta_key(self.pdb, prefix)
        end = prefix_successor(start)
        assert end is not None
        return start, end

    def keys(self, pattern: bytes, now: int) -> list[bytes]:
        """KEYS: live keys matching the glob pattern ("*" includes the empty key)."""
        steps = self.keys_in_steps(pattern, now)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value

    def keys_in_steps(self, pattern: bytes, now: int) -> Generator[None, None, list[bytes]]:
        """KEYS a step at a time (commands/sliced.py): yields after every KEYS_STEP keys
        examined, returns the keys. Every shard's iterator exists before the first step, so
        the answer is the keyspace of one moment however many turns it takes."""
        match = None if pattern == b"*" else compile_pattern(pattern)
        start, end = self._meta_range(literal_prefix(pattern) if match else b"")
        iters = [shard.iterator(start, end) for shard in self._shards]
        out = []
        n = 0
        for it in iters:
            while it.valid():
                k = it.key()[3:]
                if (match is None or match(k)) and live_type(it.value(), now):
                    out.append(k)
                it.next()
                n += 1
                if n % KEYS_STEP == 0:
                    yield
        return out

    def scan(
        self,
        cursor: int,
        now: int,
        *,
        match: bytes | None = None,
        count: int = 10,
        type_code: int | None = None,
    ) -> tuple[int, list[bytes]]:
        """SCAN: examine about `count` keys from the cursor's position. -> (next cursor, keys);
        next cursor 0 when the iteration is complete. See storage/scan.py for the scheme.
        A huge COUNT stops after SCAN_SLICE_S, so one SCAN does not hold the event loop
        for seconds."""
        cursors = self.engine.cursors
        pos = cursors.resolve(cursor)
        if pos is None:
            return 0, []
        si, last = pos
        matcher = None if match is None or match == b"*" else compile_pattern(match)
        _, end = self._meta_range()
        out: list[bytes] = []
        expired: list[bytes] = []
        budget = max(1, count)
        deadline = time.perf_counter() + SCAN_SLICE_S
        nlocal = len(self._shards)
        while si < nlocal:
            start = meta_prefix(self.pdb) if last is None else meta_key(self.pdb, last) + b"\x00"
            it = self._shards[si].iterator(start, end)
            while budget and it.valid():
                k = it.key()[3:]
                last = k
                budget -= 1
                if not budget & 1023 and time.perf_counter() > deadline:
                    budget = 0
                t = live_type(it.value(), now)
                if not t:
                    expired.append(k)
                elif (type_code is None or t == type_code) and (matcher is None or matcher(k)):
                    out.append(k)
                it.next()
            if budget == 0 and it.valid():
                break
            si += 1
            last = None
            if budget == 0:
                break
        for k in expired:
            self._expire_on_read(k, now)
        if si >= nlocal:
            return 0, out
        return cursors.store((si, last)), out

    def randomkey(self, now: int) -> bytes | None:
        for _ in range(100):
            key = self._random_candidate()
            if key is None:
                return None
            if self.lookup(key, now, touch=False) is not None:
                return key
        # Mostly expired keys: fall back to the first live key in order.
        for shard in self._shards:
            start, end = self._meta_range()
            it = shard.iterator(start, end)
            while it.valid():
                if live_type(it.value(), now):
                    return it.key()[3:]
                it.next()
        return None

    def _random_candidate(self) -> bytes | None:
        """A key picked at random: a shard weighted by key count, then a random point
        between its first and last key (interpolating past their common prefix)."""
        pdb = self.pdb
        weights = [s.counts(pdb)[0] for s in self._shards]
        total = sum(weights)
        if total <= 0:
            return None
        r = random.randrange(total)
        si = 0
        while r >= weights[si]:
            r -= weights[si]
            si += 1
        shard = self._shards[si]
        start, end = self._meta_range()
        it = shard.iterator(start, end)
        if not it.valid():
            return None
        first = it.key()
        it.seek_for_prev(end)
        lastk = it.key() if it.valid() else first
        n = 0
        while n < min(len(first), len(lastk)) and first[n] == lastk[n]:
            n += 1
        lo = int.from_bytes(first[n : n + 8].ljust(8, b"\0"), "big")
        hi = int.from_bytes(lastk[n : n + 8].ljust(8, b"\0"), "big")
        point = first[:n] + random.randint(lo, max(lo, hi)).to_bytes(8, "big")
        it.seek(point)
        if not it.valid():
            it.seek(start)
        return it.key()[3:] if it.valid() else None

    # ---- flush ----

    def flushdb(self) -> None:
        pdb = self.pdb
        for shard in self._shards:
            b = Ops()
            for prefix in (P_META, P_DATA, P_EXPIRE):
                b.delete_range(*pdb_range(prefix, pdb))
            b.delete(counters_key(pdb))
            shard.commit(b, self.engine.current_command)
            shard.counters.pop(pdb, None)

    # ---- OBJECT ----

    def object_encoding(self, key: bytes, now: int) -> str | None:
        meta = self.lookup(key, now, touch=False)
        if meta is None:
            return None
        if meta.type == T_STRING:
            return string_encoding(meta.value, meta.enc)
        hook = _ENCODING_HOOKS.get(meta.type)
        return hook(self, key, meta) if hook else _default_encoding(meta)

    def idle_ms(self, key: bytes, now: int) -> int | None:
        if self.lookup(key, now, touch=False) is None:
            return None
        mk = meta_key(self.pdb, key)
        # The command core records accesses in the key cache's entry, the rest of the
        # server in the access table: the later of the two.
        return self.access.idle_ms(mk, now, self.shard_for(key).cache.atime(mk))

    def lfu_freq(self, key: bytes, now: int) -> int | None:
        if self.lookup(key, now, touch=False) is None:
            return None
        return self.access.freq(meta_key(self.pdb, key))
