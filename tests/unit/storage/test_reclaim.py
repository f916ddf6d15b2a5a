"""Background reclaim: element records of dropped collection versions go, live ones stay."""

from __future__ import annotations

import time

from pikadb.keycodec import T_HASH, Meta, data_prefix
from pikadb.storage.encoding import P_DATA, P_EXPIRE
from pikadb.storage.writeset import PURGE_LIMIT


def _make_collection(db, key: bytes, n: int, now: int) -> int:
    ws = db.writes(now)
    version = ws.new_version(db, key)
    old = ws.lookup(db, key)
    ws.put(db, key, Meta(T_HASH, version=version, count=n), old)
    for i in range(n):
        ws.put_data(db, key, version, b"f%06d" % i, b"v")
    ws.commit()
    return version


def _data_records(engine) -> int:
    total = 0
    for shard in engine.shards:
        it = shard.iterator(P_DATA, P_EXPIRE)
        while it.valid():
            total += 1
            it.next()
    return total


def _finish(engine) -> None:
    deadline = time.monotonic() + 30
    while engine.reclaim_busy and time.monotonic() < deadline:
        engine.reclaim_cycle(0.05)
        time.sleep(0.01)
    assert not engine.reclaim_busy


def test_big_drop_leaves_garbage_that_reclaim_removes(engine, db, now):
    big = PURGE_LIMIT * 4
    _make_collection(db, b"big", big, now)
    _make_collection(db, b"live", big, now)
    _make_collection(db, b"small", 10, now)
    _finish(engine)  # the pass at open finds nothing to remove
    assert _data_records(engine) == 2 * big + 10
    assert db.delete([b"big", b"small"], now) == 2
    assert _data_records(engine) == 2 * big  # small purged in the batch, big left behind
    _finish(engine)
    assert _data_records(engine) == big
    assert db.exists([b"live"], now) == 1


def test_overwritten_version_is_reclaimed(engine, db, now):
    v1 = _make_collection(db, b"h", PURGE_LIMIT + 1, now)
    v2 = _make_collection(db, b"h", 3, now)  # a new incarnation replaces the old one
    assert v2 > v1
    _finish(engine)
    shard = db.shard_for(b"h")
    assert not shard.scan_prefix(data_prefix(db.pdb, b"h", v1)).valid()
    it = shard.scan_prefix(data_prefix(db.pdb, b"h", v2))
    n = 0
    while it.valid():
        n += 1
        it.next()
    assert n == 3


def test_string_over_collection_and_time_budget(engine, db, now):
    for k in range(5):
        _make_collection(db, b"k%d" % k, PURGE_LIMIT + 1, now)
    for k in range(5):
        db.set(b"k%d" % k, b"now a string", now)
    # A zero budget still makes progress (the clock is read every few groups) and keeps a
    # cursor between steps.
    steps = 0
    while engine.reclaim_busy and steps < 10_000:
        engine.reclaim_cycle(0.0)
        steps += 1
    _finish(engine)
    assert _data_records(engine) == 0


def test_garbage_left_by_a_previous_run_is_found_at_open(tmp_path, now):
    from pikadb.storage.engine import Engine

    path = str(tmp_path / "d")
    with Engine.open(path) as eng:
        db = eng.db(0)
        _make_collection(db, b"big", PURGE_LIMIT * 2, now)
        db.delete([b"big"], now)
        # closed before any reclaim ran
    with Engine.open(path) as eng:
        assert eng.reclaim_busy
        _finish(eng)
        assert _data_records(eng) == 0
