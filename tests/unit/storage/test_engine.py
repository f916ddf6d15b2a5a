"""Engine lifecycle: data dir format, shard count, lock, persistence, SWAPDB, FLUSH*."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from pikadb.keycodec import key_slot
from pikadb.storage.engine import DataDirLocked, Engine, StorageError


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_format_file_and_shard_count_is_fixed(tmp_path):
    path = str(tmp_path / "d")
    with Engine.open(path, shards=3) as eng:
        assert eng.nshards == 3
    info = json.loads((tmp_path / "d" / "PIKADB").read_text())
    assert info["format"] == "pikadb" and info["version"] == 1 and info["shards"] == 3
    assert sorted(os.listdir(tmp_path / "d" / "shards")) == ["0", "1", "2"]
    with Engine.open(path, shards=8) as eng:  # an existing dir keeps its count
        assert eng.nshards == 3


def test_second_open_fails_fast_naming_the_dir(tmp_path):
    path = str(tmp_path / "d")
    with Engine.open(path):
        with pytest.raises(DataDirLocked) as ei:
            Engine.open(path)
        assert path in str(ei.value)
        # ...and from another process too.
        code = (
            "import sys; from pikadb.storage.engine import Engine, DataDirLocked\n"
            f"try:\n    Engine.open({path!r})\nexcept DataDirLocked as e:\n"
            "    print(e); sys.exit(3)\n"
        )
        res = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert res.returncode == 3 and path in res.stdout
    with Engine.open(path):  # released by close()
        pass


def test_newer_format_is_refused(tmp_path):
    path = tmp_path / "d"
    path.mkdir()
    (path / "PIKADB").write_text(json.dumps({"format": "pikadb", "version": 99, "shards": 1}))
    with pytest.raises(StorageError, match="newer"):
        Engine.open(str(path))


def test_close_is_idempotent(tmp_path):
    eng = Engine.open(str(tmp_path / "d"))
    eng.close()
    eng.close()


@pytest.mark.parametrize("shards", [1, 3])
def test_data_and_counters_persist_across_reopen(tmp_path, shards):
    path = str(tmp_path / "d")
    now = now_ms()
    with Engine.open(path, shards=shards) as eng:
        db = eng.db(0)
        for i in range(50):
            db.set(b"k%d" % i, b"v%d" % i, now, expire_at=now + 100_000 if i % 5 == 0 else 0)
        eng.db(3).set(b"other", b"x", now)
    with Engine.open(path) as eng:
        info = eng.keyspace_info()
        assert info[0][:2] == (50, 10) and info[3] == (1, 0, 0)
        assert 99_000 < info[0][2] <= 100_000  # avg_ttl in ms
        assert eng.db(0).get(b"k7", now) == b"v7"
        assert eng.dbsize(0) == 50


@pytest.mark.parametrize("shards", [1, 3])
def test_counters_survive_kill_9(tmp_path, shards):
    """Writes are in RocksDB's WAL when commit returns: a process that dies without
    closing loses nothing, counters included."""
    path = str(tmp_path / "d")
    code = (
        "import os, time\nfrom pikadb.storage.engine import Engine\n"
        f"eng = Engine.open({path!r}, shards={shards})\n"
        "db = eng.db(0); now = time.time_ns() // 1000000\n"
        "for i in range(100): db.set(b'k%d' % i, b'v', now, expire_at=now + 10**6 if i < 30 else 0)\n"
        "db.delete([b'k1', b'k50'], now)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    )
    assert res.returncode == -9
    with Engine.open(path) as eng:
        assert eng.keyspace_info()[0][:2] == (98, 29)
        assert eng.db(0).get(b"k99", now_ms()) == b"v"


def test_swapdb_is_persistent_and_visible_through_held_objects(tmp_path):
    path = str(tmp_path / "d")
    now = now_ms()
    with Engine.open(path, shards=3) as eng:
        db0, db1 = eng.db(0), eng.db(1)
        db0.set(b"a", b"in0", now)
        db1.set(b"b", b"in1", now)
        db1.set(b"c", b"in1", now, expire_at=now + 100_000)
        eng.swapdb(0, 1)
        assert db0.get(b"b", now) == b"in1" and db0.get(b"a", now) is None
        assert db1.get(b"a", now) == b"in0"
        assert eng.dbsize(0) == 2 and eng.dbsize(1) == 1
        assert eng.keyspace_info()[0][:2] == (2, 1)
    with Engine.open(path) as eng:
        assert eng.db(0).get(b"b", now) == b"in1"
        assert eng.db(1).get(b"a", now) == b"in0"


def test_swapdb_repairs_a_half_written_map(tmp_path):
    """A crash between two shards' SWAPDB writes: the newest map wins on open."""
    path = str(tmp_path / "d")
    now = now_ms()
    with Engine.open(path, shards=3) as eng:
        eng.db(0).set(b"x", b"0", now)
        eng.dbmap[0], eng.dbmap[1] = eng.dbmap[1], eng.dbmap[0]
        eng._dbmap_generation += 1
        eng._write_dbmap(eng.shards[1], (0, [b"SWAPDB", b"0", b"1"]))  # one shard got it
    with Engine.open(path) as eng:
        assert eng.db(1).get(b"x", now) == b"0"
        assert all(s.get(b"\x00dbmap") == eng.shards[0].get(b"\x00dbmap") for s in eng.shards)


def test_more_databases_on_reopen(tmp_path):
    path = str(tmp_path / "d")
    now = now_ms()
    with Engine.open(path, databases=2) as eng:
        eng.swapdb(0, 1)
        eng.db(0).set(b"k", b"v", now)
    with Engine.open(path, databases=4) as eng:
        assert eng.db(0).get(b"k", now) == b"v"
        assert sorted(eng.dbmap) == [0, 1, 2, 3]
        eng.db(3).set(b"k", b"three", now)
        assert eng.db(0).get(b"k", now) == b"v"


def test_flushdb_and_flushall(engine, now):
    db0, db1 = engine.db(0), engine.db(1)
    for i in range(20):
        db0.set(b"k%d" % i, b"v", now, expire_at=now + 10_000)
        db1.set(b"k%d" % i, b"v", now)
    db0.flushdb()
    assert engine.dbsize(0) == 0 and db0.keys(b"*", now) == []
    assert engine.dbsize(1) == 20
    assert 0 not in engine.keyspace_info()
    # Nothing left of db 0 in any range (meta, expiry index, counters).
    for shard in engine.shards:
        it = shard.iterator(b"\x01", b"\x05")
        while it.valid():
            assert it.key()[1:3] != db0.pdb.to_bytes(2, "big")
            it.next()
    assert engine.active_expire_cycle(1.0) == 0
    engine.flushall()
    assert engine.keyspace_info() == {} and db1.get(b"k1", now) is None
    db1.set(b"again", b"v", now)
    assert engine.dbsize(1) == 1


def test_keys_spread_over_shards_by_slot(tmp_path):
    with Engine.open(str(tmp_path / "d"), shards=3) as eng:
        now = now_ms()
        db = eng.db(0)
        for i in range(60):
            db.set(b"key%d" % i, b"v", now)
        per_shard = [s.counts(db.pdb)[0] for s in eng.shards]
        assert sum(per_shard) == 60 and all(per_shard)
        for i in range(60):
            k = b"key%d" % i
            assert db.shard_for(k) is eng.shards[key_slot(k) % 3]
        # Hash tags keep keys together.
        assert len({id(db.shard_for(b"{user1}:%d" % i)) for i in range(20)}) == 1


def test_sync_writes_toggle(tmp_path):
    with Engine.open(str(tmp_path / "d"), sync_writes=True) as eng:
        assert eng.sync_writes
        eng.db(0).set(b"k", b"v", now_ms())
        eng.sync_writes = False
        assert not eng.shards[0].sync_writes
        eng.db(0).set(b"k", b"v2", now_ms())


def test_stats_and_disk_usage(engine, now):
    engine.db(0).set(b"k", b"v", now)
    assert engine.disk_usage() > 0
    st = engine.stats()
    assert st["shards"] == engine.nshards and "memtables_bytes" in st
