"""WriteSet: overlay of a command's own writes, atomic commit, write errors."""

from __future__ import annotations

import pytest

from pikadb.errors import StorageFullError


class FailingRdict:
    """Wraps a shard's Rdict: reads pass, writes fail like a full disk."""

    def __init__(self, rdb):
        self._rdb = rdb

    def __getattr__(self, name):
        return getattr(self._rdb, name)

    def write(self, batch, opts=None):
        raise Exception("IO error: No space left on device")


def test_lookup_sees_own_writes(db, now):
    ws = db.writes(now)
    assert ws.lookup(db, b"k") is None
    ws.put_string(db, b"k", b"v", 0, 0, None)
    m = ws.lookup(db, b"k")
    assert m is not None and m.value == b"v"
    ws.delete(db, b"k", m)
    assert ws.lookup(db, b"k") is None
    ws.commit()
    assert db.lookup(b"k", now) is None and db.dbsize() == 0


def test_write_error_applies_nothing(engine, db, now):
    db.set(b"keep", b"1", now)
    for shard in engine.shards:
        shard.rdb = FailingRdict(shard.rdb)
    try:
        with pytest.raises(StorageFullError, match="nothing was applied"):
            db.set(b"new", b"v", now, expire_at=now + 100)
        with pytest.raises(StorageFullError):
            db.set(b"keep", b"2", now)
        with pytest.raises(StorageFullError):
            db.delete([b"keep"], now)
    finally:
        for shard in engine.shards:
            shard.rdb = shard.rdb._rdb
    assert db.get(b"keep", now) == b"1" and db.get(b"new", now) is None
    assert engine.keyspace_info()[0] == (1, 0, 0)
    db.set(b"new", b"v", now)
    assert db.dbsize() == 2
