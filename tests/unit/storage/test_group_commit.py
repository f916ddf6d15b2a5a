"""Group commit: a turn's writes reach RocksDB in one write per shard, reads see them before,
iterators flush first, and a failed group write applies nothing and says so."""

from __future__ import annotations

import pytest

from pikadb.errors import StorageFullError
from pikadb.keycodec import meta_key


@pytest.fixture
def grouped(engine):
    scheduled: list[int] = []
    engine.schedule_flush = lambda: scheduled.append(1)
    engine.set_group_commit(True)
    return engine, scheduled


def _on_disk(shard, key: bytes) -> bytes | None:
    return shard.rdb.get(key)


def test_writes_wait_for_the_flush_and_reads_see_them(grouped, now):
    engine, scheduled = grouped
    db = engine.db(0)
    db.set(b"a", b"1", now)
    db.set(b"b", b"2", now)
    assert db.incr_by(b"n", 5, now) == 5
    assert len(scheduled) == 1  # one flush per turn, however many writes
    assert db.get(b"a", now) == b"1" and db.get(b"n", now) == b"5"
    assert db.dbsize() == 3
    mk = meta_key(db.pdb, b"a")
    assert _on_disk(db.shard_for(b"a"), mk) is None
    assert engine.flush_groups()
    assert _on_disk(db.shard_for(b"a"), mk) is not None
    assert not engine.pending
    db.delete([b"a"], now)
    assert len(scheduled) == 2
    assert db.get(b"a", now) is None
    assert engine.flush_groups()
    assert _on_disk(db.shard_for(b"a"), mk) is None


def test_multi_get_sees_the_group(grouped, now):
    engine, _ = grouped
    db = engine.db(0)
    db.set(b"{t}a", b"1", now)
    assert engine.flush_groups()
    db.set(b"{t}b", b"2", now)
    db.delete([b"{t}a"], now)
    shard = db.shard_for(b"{t}a")
    keys = [meta_key(db.pdb, k) for k in (b"{t}a", b"{t}b", b"{t}c")]
    got = shard.get(keys)
    assert got[0] is None and got[1] is not None and got[2] is None


def test_iterators_flush_first(grouped, now):
    engine, _ = grouped
    db = engine.db(0)
    db.mset([(b"k1", b"a"), (b"k2", b"b")], now)
    assert sorted(db.keys(b"*", now)) == [b"k1", b"k2"]
    assert all(not s.group_pending for s in engine.shards)
    assert engine.flush_groups()


def test_failed_group_applies_nothing(grouped, now, monkeypatch):
    engine, _ = grouped
    db = engine.db(0)
    kept, lost, after = b"{t}kept", b"{t}lost", b"{t}after"  # one shard, by hash tag
    shard = db.shard_for(kept)
    db.set(kept, b"1", now)
    assert engine.flush_groups()
    db.set(lost, b"2", now)
    db.set(kept, b"changed", now)

    def refuse(batch):
        raise StorageFullError("No space left on device")

    monkeypatch.setattr(shard, "_write", refuse)
    assert engine.flush_groups() is False
    monkeypatch.undo()
    # Nothing of the failed turn is visible; the counters are RocksDB's again.
    assert db.get(lost, now) is None
    assert db.get(kept, now) == b"1"
    assert db.dbsize() == 1
    # The shard writes alone until a write succeeds (so each command gets its own error
    # reply), then groups again.
    assert not shard.group_commit
    db.set(after, b"3", now)
    assert _on_disk(shard, meta_key(db.pdb, after)) is not None
    assert shard.group_commit
    assert db.dbsize() == 2


def test_turning_it_off_flushes(grouped, now):
    engine, _ = grouped
    db = engine.db(0)
    db.set(b"a", b"1", now)
    engine.set_group_commit(False)
    assert _on_disk(db.shard_for(b"a"), meta_key(db.pdb, b"a")) is not None
    db.set(b"b", b"1", now)
    assert _on_disk(db.shard_for(b"b"), meta_key(db.pdb, b"b")) is not None
