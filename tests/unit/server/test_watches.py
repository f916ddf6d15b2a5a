"""server.multi.Watches on a real engine: what marks a WATCHing client dirty, and what not."""

from __future__ import annotations

import time

import pytest

from pikadb.server.client import TxState
from pikadb.server.multi import Watches
from pikadb.storage.engine import Engine


class FakeServer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def database(self, index: int):
        return self.engine.db(index)


class FakeClient:
    is_proxy = False  # a client of this process, not another worker's

    def __init__(self, engine: Engine, dbindex: int = 0) -> None:
        self.dbindex = dbindex
        self.db = engine.db(dbindex)
        self.tx = TxState()


@pytest.fixture(params=[1, 3], ids=["1shard", "3shards"])
def engine(request, tmp_path):
    eng = Engine.open(str(tmp_path / "data"), shards=request.param)
    yield eng
    eng.close()


@pytest.fixture
def watches(engine):
    return Watches(FakeServer(engine))


def _now() -> int:
    return time.time_ns() // 1_000_000


def test_write_to_watched_key_marks_every_watcher(engine, watches):
    a, b, c = FakeClient(engine), FakeClient(engine), FakeClient(engine)
    now = _now()
    watches.watch(a, b"k", now)
    watches.watch(b, b"k", now)
    watches.watch(c, b"other", now)
    engine.db(0).set(b"k", b"v", now)
    assert (a.tx.dirty_cas, b.tx.dirty_cas, c.tx.dirty_cas) == (True, True, False)
    # Dirty clients stop listening: only c's key is still referenced by the engine.
    assert a.tx.watched_keys == {} and b.tx.watched_keys == {}
    assert len(engine.watched) == 1


def test_unwatch_releases_engine_references(engine, watches):
    a = FakeClient(engine)
    now = _now()
    for key in (b"x", b"y", b"x"):
        watches.watch(a, key, now)
    assert len(a.tx.watched_keys) == 2 and len(engine.watched) == 2
    watches.unwatch_all(a)
    assert engine.watched == {} and watches.by_mk == {}
    engine.db(0).set(b"x", b"1", now)
    assert not a.tx.dirty_cas


def test_watch_is_per_logical_db(engine, watches):
    a = FakeClient(engine, dbindex=1)
    now = _now()
    watches.watch(a, b"k", now)
    engine.db(0).set(b"k", b"v", now)
    assert not a.tx.dirty_cas
    engine.db(1).set(b"k", b"v", now)
    assert a.tx.dirty_cas


def test_expiry_at_exec_and_already_expired_keys(engine, watches):
    db = engine.db(0)
    now = _now()
    db.set(b"soon", b"v", now, expire_at=now + 50)
    db.set(b"gone", b"v", now - 10, expire_at=now - 5)  # written earlier, expired by now
    a, b = FakeClient(engine), FakeClient(engine)
    watches.watch(a, b"soon", now)
    watches.watch(b, b"gone", now)
    assert not watches.expired_since_watch(a, now)
    assert watches.expired_since_watch(a, now + 100)
    # b watched a key already expired: its expiry is no change, its deletion neither...
    assert not watches.expired_since_watch(b, now + 100)
    db.get(b"gone", now + 100)  # lazy expiry deletes it
    assert not b.tx.dirty_cas
    # ...but a new value is.
    db.set(b"gone", b"back", now + 100)
    assert b.tx.dirty_cas


def test_flush_touches_only_existing_keys(engine, watches):
    db0 = engine.db(0)
    now = _now()
    db0.set(b"here", b"v", now)
    a, b, c = FakeClient(engine), FakeClient(engine), FakeClient(engine, dbindex=2)
    watches.watch(a, b"here", now)
    watches.watch(b, b"absent", now)
    watches.watch(c, b"here", now)
    watches.touch_flush(0)
    assert (a.tx.dirty_cas, b.tx.dirty_cas, c.tx.dirty_cas) == (True, False, False)
    engine.db(2).set(b"here", b"v", now)
    watches.touch_flush(None)
    assert c.tx.dirty_cas


def test_swapdb_rekeys_watches(engine, watches):
    now = _now()
    a = FakeClient(engine, dbindex=0)
    watches.watch(a, b"k", now)
    watches.touch_swapdb(0, 1, now)  # k exists nowhere: unchanged
    engine.swapdb(0, 1)
    watches.after_swapdb(0, 1)
    assert not a.tx.dirty_cas
    engine.db(1).set(b"k", b"old contents of db 0", now)
    assert not a.tx.dirty_cas
    engine.db(0).set(b"k", b"db 0 as it is now", now)
    assert a.tx.dirty_cas
    engine.swapdb(0, 1)  # leave the map as found
