"""WATCH: which client watches which key, and what makes its transaction fail (Redis multi.c).

A client's watches live in `c.tx.watched_keys` ((db index, key) -> WatchedKey); the server-wide
map `by_mk` goes from a key's meta key (the storage name of the key in its physical db) to
every WatchedKey on it. Each watched meta key holds a reference in engine.watched
(storage.watch), so the write path reports committed writes to it through the listener
registered here; a write to a watched key marks every client watching it dirty (Redis's
CLIENT_DIRTY_CAS) and its next EXEC replies a null array. Whoever writes, the watching
client included, and whatever the write is: a command, lazy or active expiry, FLUSHDB,
FLUSHALL or SWAPDB (these do not go through WriteSet and call the touch_* hooks below).

Expired keys follow Redis 7.0: a key already logically expired when WATCHed is flagged
`expired`; its deletion (by expiry or a flush) is then no change, while a write giving it
a value again is. At EXEC, a watched key that was alive at WATCH and is past its TTL now
fails the transaction even if nothing deleted it yet (isWatchedKeyExpired).

Watches belong to a logical db (SELECT index): SWAPDB moves a db's contents to another
physical db, so after the swap the watches of both dbs are re-keyed to their new meta keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pikadb.keycodec import meta_expire_at, meta_key
from pikadb.storage.watch import add_listener, unwatch_key, watch_key

if TYPE_CHECKING:
    from pikadb.server.client import Client
    from pikadb.server.server import Server


class WatchedKey:
    __slots__ = ("client", "dbindex", "expired", "key", "mk")

    def __init__(self, client: Client, dbindex: int, key: bytes, mk: bytes, expired: bool) -> None:
        self.client = client
        self.dbindex = dbindex
        self.key = key
        self.mk = mk
        self.expired = expired  # logically expired (but still stored) when WATCHed


def _is_expired(raw: bytes, now: int) -> bool:
    at = meta_expire_at(raw)
    return at != 0 and at <= now


class Watches:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.by_mk: dict[bytes, list[WatchedKey]] = {}
        self._listening = False

    def _raw(self, dbindex: int, key: bytes) -> bytes | None:
        """The stored meta record of key in a logical db, expired or not (Redis dictFind)."""
        db = self.server.database(dbindex)
        return db.shard_for(key).get(meta_key(db.pdb, key))

    # ---- WATCH / UNWATCH ----

    def watch(self, c: Client, key: bytes, now: int) -> None:
        ident = (c.dbindex, key)
        if ident in c.tx.watched_keys:
            return
        engine = self.server.engine
        if not self._listening:
            add_listener(engine, self._on_modified)
            self._listening = True
        db = c.db
        mk = meta_key(db.pdb, key)
        raw = db.shard_for(key).get(mk)
        wk = WatchedKey(c, c.dbindex, key, mk, raw is not None and _is_expired(raw, now))
        c.tx.watched_keys[ident] = wk
        self.by_mk.setdefault(mk, []).append(wk)
        watch_key(engine, mk)

    def unwatch_all(self, c: Client) -> None:
        if not c.tx.watched_keys:
            return
        engine = self.server.engine
        for wk in c.tx.watched_keys.values():
            self._unlink(wk)
            unwatch_key(engine, wk.mk)
        c.tx.watched_keys.clear()

    def _unlink(self, wk: WatchedKey) -> None:
        lst = self.by_mk[wk.mk]
        lst.remove(wk)
        if not lst:
            del self.by_mk[wk.mk]

    def _dirty(self, c: Client) -> None:
        c.tx.dirty_cas = True
        if c.is_proxy:  # the client is on another worker: its CLIENT LIST shows 'd' too
            c.notify_origin("dirty")  # type: ignore[attr-defined]
        # Nothing can make it clean again but EXEC/DISCARD/UNWATCH/RESET: stop listening.
        self.unwatch_all(c)

    def expired_since_watch(self, c: Client, now: int) -> bool:
        """EXEC: a key alive when WATCHed and past its TTL now (isWatchedKeyExpired)."""
        for wk in c.tx.watched_keys.values():
            if wk.expired:
                continue
            raw = self._raw(wk.dbindex, wk.key)
            if raw is not None and _is_expired(raw, now):
                return True
        return False

    # ---- what changes watched keys ----

    def _on_modified(self, mk: bytes) -> None:
        """engine.on_modified: a committed write to mk (touchWatchedKey)."""
        wks = self.by_mk.get(mk)
        if not wks:
            return
        for wk in list(wks):
            if wk.expired and self._raw(wk.dbindex, wk.key) is None:
                # The expired key it watched is now deleted: logically nothing changed.
                wk.expired = False
                continue
            self._dirty(wk.client)

    def _in_dbs(self, dbs: tuple[int, ...]) -> list[WatchedKey]:
        return [wk for wks in self.by_mk.values() for wk in wks if wk.dbindex in dbs]

    def touch_flush(self, dbindex: int | None) -> None:
        """Before FLUSHDB (dbindex) or FLUSHALL (None) deletes everything: the watched keys
        that exist are touched (touchAllWatchedKeysInDb(db, NULL))."""
        if not self.by_mk:
            return
        for wk in self._iter_all() if dbindex is None else self._in_dbs((dbindex,)):
            if wk.client.tx.dirty_cas or self._raw(wk.dbindex, wk.key) is None:
                continue
            if wk.expired:
                wk.expired = False  # an expired key deleted: no logical change
                continue
            self._dirty(wk.client)

    def _iter_all(self) -> list[WatchedKey]:
        return [wk for wks in self.by_mk.values() for wk in wks]

    def touch_swapdb(self, a: int, b: int, now: int) -> None:
        """Before SWAPDB a b: a watched key changes if it exists on either side
        (touchAllWatchedKeysInDb(a, b) and (b, a)), expired keys judged as Redis does."""
        if a == b or not self.by_mk:
            return
        for emptied, replaced in ((a, b), (b, a)):
            for wk in self._in_dbs((emptied,)):
                if wk.client.tx.dirty_cas:
                    continue
                in_emptied = self._raw(emptied, wk.key) is not None
                raw_new = self._raw(replaced, wk.key)
                if not in_emptied and raw_new is None:
                    continue
                if wk.expired:
                    if raw_new is None:
                        wk.expired = False  # expired key deleted: no logical change
                        continue
                    if _is_expired(raw_new, now):
                        continue  # expired key stays expired
                elif not in_emptied and _is_expired(raw_new, now):
                    wk.expired = True  # a missing key replaced by an expired one
                    continue
                self._dirty(wk.client)

    def after_swapdb(self, a: int, b: int) -> None:
        """After SWAPDB a b: watches stay with their logical db, whose physical db changed."""
        if a == b or not self.by_mk:
            return
        engine = self.server.engine
        for wk in self._in_dbs((a, b)):
            db = self.server.database(wk.dbindex)
            mk = meta_key(db.pdb, wk.key)
            self._unlink(wk)
            unwatch_key(engine, wk.mk)
            wk.mk = mk
            self.by_mk.setdefault(mk, []).append(wk)
            watch_key(engine, mk)
