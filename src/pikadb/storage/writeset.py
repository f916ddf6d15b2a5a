"""The writes of one command: one batch (shard.Ops) per shard touched, plus the bookkeeping that
must land in the same batches (expiry index, key counters, purge of small collections).

Usage, for any type:

    ws = WriteSet(engine, now)
    old = ws.lookup(db, key)          # live Meta or None (lazily deletes an expired key)
    ws.put(db, key, new_meta, old)    # or ws.put_string(...), ws.delete(db, key, old)
    ws.put_data(db, key, version, element, value)   # collections' element records
    ws.commit()                       # Shard.commit() per shard; counters follow on success

`old` must be what lookup() returned for that key in this WriteSet: put/delete derive the
counter deltas and the expiry index changes from the old -> new transition. lookup() sees
this command's own earlier metas (MSET a 1 a 2, RENAME, DEL a a), so counters stay exact.
Element records are not overlaid: a type that reads its own elements back within one
command must track them itself.

Watched keys: while engine.watched (meta key -> anything) is non-empty, every meta key
this WriteSet writes (meta or element records) is checked against it after commit and
engine.on_modified(meta_key) is called for each hit. The server uses it for WATCH and for
waking clients blocked on a key (Redis's signalModifiedKey / signalKeyAsReady); commands
never have to remember to signal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pikadb.keycodec import (
    T_STRING,
    Meta,
    data_key,
    data_prefix,
    decode_meta,
    encode_string,
    expire_key,
    meta_key,
)
from pikadb.storage.encoding import counters_key, encode_counters, prefix_successor
from pikadb.storage.ops import Ops, Tag

if TYPE_CHECKING:
    from pikadb.storage.database import Database
    from pikadb.storage.engine import Engine
    from pikadb.storage.shard import Shard

_MISSING = object()

# Collections up to this many elements have their element records deleted in the same batch
# as the meta; bigger ones are left to the background reclaimer (one meta write, O(1)).
PURGE_LIMIT = 128


def write_string(
    shard: Shard,
    pdb: int,
    key: bytes,
    mk: bytes,
    value: bytes,
    new_at: int,
    old_at: int | None,
    now: int,
    engine: Engine,
) -> None:
    """Hot path of SET/INCR when the key is absent (old_at None) or a live string with
    expiry old_at (0: none): the records WriteSet.put would write (meta, expiry index,
    counters) in one batch, without the WriteSet machinery."""
    access = engine.access
    b = Ops()
    tag = engine.current_command
    b.put(mk, encode_string(value, new_at, 0))
    if old_at is None:
        c = shard.counters.get(pdb) or (0, 0, 0)
        if new_at:
            b.put(expire_key(pdb, new_at, key), b"")
            new = [c[0] + 1, c[1] + 1, c[2] + new_at]
        else:
            new = [c[0] + 1, c[1], c[2]]
    elif old_at != new_at:
        c = shard.counters.get(pdb) or (0, 0, 0)
        new = [c[0], c[1], c[2]]
        if old_at:
            b.delete(expire_key(pdb, old_at, key))
            new[1] -= 1
            new[2] -= old_at
        if new_at:
            b.put(expire_key(pdb, new_at, key), b"")
            new[1] += 1
            new[2] += new_at
    else:
        shard.commit(b, tag)
        access.touch(mk, now)
        if engine.watched and mk in engine.watched:
            engine.on_modified(mk)
        return
    b.put(counters_key(pdb), encode_counters(new[0], new[1], new[2]))
    shard.commit(b, tag)
    shard.counters[pdb] = new
    if old_at is None:
        access.created(mk, now)
    else:
        access.touch(mk, now)
    if engine.watched and mk in engine.watched:
        engine.on_modified(mk)


class WriteSet:
    __slots__ = (
        "_batches",
        "_deltas",
        "_expired",
        "_pending",
        "_touched",
        "access",
        "engine",
        "now",
        "tag",
    )

    def __init__(self, engine: Engine, now: int, tag: Tag | None = None) -> None:
        """The writes of one command (its tag: the command the engine runs, unless given:
        background writers name themselves)."""
        self.engine = engine
        self.now = now
        self.tag = engine.current_command if tag is None else tag
        self.access = engine.access
        self._batches: dict[Shard, Ops] = {}
        self._pending: dict[bytes, bytes | None] = {}  # meta key -> raw meta as left here
        self._deltas: dict[tuple[Shard, int], list[int]] = {}
        self._expired = 0
        self._touched: set[bytes] = set()  # meta keys written, kept only while keys are watched

    def batch(self, shard: Shard) -> Ops:
        b = self._batches.get(shard)
        if b is None:
            b = self._batches[shard] = Ops()
        return b

    # ---- metas ----

    def preload(self, mk: bytes, raw: bytes | None) -> None:
        """Seed lookup() with a meta record the caller just read (saves a second read).
        Only valid before anything is written for that key in this WriteSet."""
        self._pending.setdefault(mk, raw)

    def lookup(self, db: Database, key: bytes) -> Meta | None:
        """The live meta of key (this command's own writes included), or None."""
        pdb = db.pdb
        mk = meta_key(pdb, key)
        raw = self._pending.get(mk, _MISSING)
        if raw is _MISSING:
            raw = db.shard_for(key).get(mk)
        if raw is None:
            return None
        meta = decode_meta(raw)
        if meta.expire_at and meta.expire_at <= self.now:
            self._remove(db.shard_for(key), pdb, key, mk, meta)
            self._expired += 1
            return None
        self.access.touch(mk, self.now)
        return meta

    def put(self, db: Database, key: bytes, meta: Meta, old: Meta | None) -> None:
        self._put_raw(db, key, meta.encode(), meta.expire_at, old, meta)

    def put_string(
        self, db: Database, key: bytes, value: bytes, expire_at: int, enc: int, old: Meta | None
    ) -> None:
        """put() of a string meta without building a Meta (SET's hot path)."""
        self._put_raw(db, key, encode_string(value, expire_at, enc), expire_at, old, None)

    def _put_raw(
        self,
        db: Database,
        key: bytes,
        raw: bytes,
        new_at: int,
        old: Meta | None,
        meta: Meta | None,
    ) -> None:
        pdb = db.pdb
        mk = meta_key(pdb, key)
        shard = db.shard_for(key)
        b = self._batches.get(shard)
        if b is None:
            b = self._batches[shard] = Ops()
        b.put(mk, raw)
        self._pending[mk] = raw
        if self.engine.watched:
            self._touched.add(mk)
        if old is None:
            d = self._delta(shard, pdb)
            d[0] += 1
            if new_at:
                d[1] += 1
                d[2] += new_at
                b.put(expire_key(pdb, new_at, key), b"")
            self.access.created(mk, self.now)
            return
        old_at = old.expire_at
        if old_at != new_at:
            d = self._delta(shard, pdb)
            if old_at:
                b.delete(expire_key(pdb, old_at, key))
                d[1] -= 1
                d[2] -= old_at
            if new_at:
                b.put(expire_key(pdb, new_at, key), b"")
                d[1] += 1
                d[2] += new_at
        if old.type != T_STRING and (
            meta is None or meta.type != old.type or meta.version != old.version
        ):
            self._purge(shard, pdb, key, old)

    def delete(self, db: Database, key: bytes, old: Meta, purge: bool = True) -> None:
        """Delete a key that lookup() returned as live. purge=False: the caller already
        deleted every element record in this WriteSet (a list popped empty)."""
        pdb = db.pdb
        self._remove(db.shard_for(key), pdb, key, meta_key(pdb, key), old, purge)

    def _remove(
        self, shard: Shard, pdb: int, key: bytes, mk: bytes, old: Meta, purge: bool = True
    ) -> None:
        b = self.batch(shard)
        b.delete(mk)
        self._pending[mk] = None
        if self.engine.watched:
            self._touched.add(mk)
        d = self._delta(shard, pdb)
        d[0] -= 1
        if old.expire_at:
            b.delete(expire_key(pdb, old.expire_at, key))
            d[1] -= 1
            d[2] -= old.expire_at
        if purge and old.type != T_STRING:
            self._purge(shard, pdb, key, old)

    def remove_expired(self, shard: Shard, pdb: int, key: bytes, meta: Meta) -> None:
        """Active expiry: delete a key found through the expiry index (no Database)."""
        self._remove(shard, pdb, key, meta_key(pdb, key), meta)

    def _delta(self, shard: Shard, pdb: int) -> list[int]:
        d = self._deltas.get((shard, pdb))
        if d is None:
            d = self._deltas[(shard, pdb)] = [0, 0, 0]
        return d

    # ---- collection elements ----

    def new_version(self, db: Database, key: bytes) -> int:
        shard = db.shard_for(key)
        return shard.new_version(self.batch(shard))

    def put_data(self, db: Database, key: bytes, version: int, elem: bytes, value: bytes) -> None:
        self.batch(db.shard_for(key)).put(data_key(db.pdb, key, version, elem), value)
        if self.engine.watched:
            self._touched.add(meta_key(db.pdb, key))

    def delete_data(self, db: Database, key: bytes, version: int, elem: bytes) -> None:
        self.batch(db.shard_for(key)).delete(data_key(db.pdb, key, version, elem))
        if self.engine.watched:
            self._touched.add(meta_key(db.pdb, key))

    def copy_data(
        self,
        src_db: Database,
        src: bytes,
        src_version: int,
        dst_db: Database,
        dst: bytes,
        dst_version: int,
    ) -> None:
        """Copy every element record of one collection incarnation to another (RENAME/COPY)."""
        prefix = data_prefix(src_db.pdb, src, src_version)
        cut = len(prefix)
        it = src_db.shard_for(src).scan_prefix(prefix)
        b = self.batch(dst_db.shard_for(dst))
        dpdb = dst_db.pdb
        while it.valid():
            b.put(data_key(dpdb, dst, dst_version, it.key()[cut:]), it.value())
            it.next()

    def _purge(self, shard: Shard, pdb: int, key: bytes, old: Meta) -> None:
        if old.count > PURGE_LIMIT:
            shard.reclaim.mark_dirty()  # garbage for the reclaimer: deleting stays O(1)
            return
        prefix = data_prefix(pdb, key, old.version)
        it = shard.iterator(prefix, prefix_successor(prefix))
        b = self.batch(shard)
        while it.valid():
            b.delete(it.key())
            it.next()

    # ---- commit ----

    def commit(self) -> None:
        """Write every shard's batch (counters included); in-memory counters follow."""
        batches = self._batches
        updates: list[tuple[Shard, int, list[int]]] = []
        for (shard, pdb), (d0, d1, d2) in self._deltas.items():
            if not (d0 or d1 or d2):
                continue
            c = shard.counters.get(pdb)
            new = [c[0] + d0, c[1] + d1, c[2] + d2] if c else [d0, d1, d2]
            b = batches.get(shard)
            if b is None:
                b = batches[shard] = Ops()
            b.put(counters_key(pdb), encode_counters(new[0], new[1], new[2]))
            updates.append((shard, pdb, new))
        tag = self.tag
        for shard, b in batches.items():
            shard.commit(b, tag)
            for s, pdb, new in updates:
                if s is shard:
                    s.counters[pdb] = new
        if self._expired:
            self.engine.lazy_expired += self._expired
            self._expired = 0
        if self._touched:
            watched = self.engine.watched
            on_modified = self.engine.on_modified
            for mk in self._touched:
                if mk in watched:
                    on_modified(mk)
            self._touched = set()
        self._batches = {}
        self._deltas = {}
