"""engine.watched / on_modified: every committed write to a watched key is reported once."""

from __future__ import annotations

from pikadb.keycodec import T_HASH, Meta, meta_key


def _watch(engine, db, *keys):
    hits: list[bytes] = []
    for k in keys:
        engine.watched[meta_key(db.pdb, k)] = True
    engine.on_modified = hits.append
    return hits


def test_string_fast_paths_and_writeset_report(engine, db, now):
    hits = _watch(engine, db, b"a", b"n")
    db.set(b"a", b"1", now)  # new key fast path
    db.set(b"a", b"2", now)  # replace fast path
    db.set(b"a", b"3", now, nx=True)  # NX fails: no write
    db.incr_by(b"n", 1, now)
    db.mset([(b"a", b"x"), (b"b", b"y")], now)
    db.set(b"zzz", b"1", now)  # not watched
    assert hits == [meta_key(db.pdb, k) for k in (b"a", b"a", b"n", b"a")]


def test_delete_expire_and_element_writes_report(engine, db, now):
    db.set(b"a", b"1", now)
    hits = _watch(engine, db, b"a", b"h")
    db.expire(b"a", now + 10_000, now)
    assert db.delete([b"a", b"missing"], now) == 1
    assert db.delete([b"a"], now) == 0
    ws = db.writes(now)
    version = ws.new_version(db, b"h")
    ws.put(db, b"h", Meta(T_HASH, version=version, count=1), None)
    ws.put_data(db, b"h", version, b"f", b"v")
    ws.commit()
    ws = db.writes(now)
    ws.put_data(db, b"h", version, b"f", b"w")  # element only, meta unchanged
    ws.commit()
    assert hits == [meta_key(db.pdb, k) for k in (b"a", b"a", b"h", b"h")]


def test_nothing_tracked_when_nobody_watches(engine, db, now):
    hits: list[bytes] = []
    engine.on_modified = hits.append
    db.set(b"a", b"1", now)
    db.delete([b"a"], now)
    assert hits == []
