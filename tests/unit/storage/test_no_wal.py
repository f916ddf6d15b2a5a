"""Without RocksDB's WAL (the server's default), the binlog alone is the redo log: what was
written survives a process that dies without closing anything, and binlog retention never
deletes records RocksDB has only in memtables."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from pikadb.storage.engine import Engine

_WRITER = """
import os, sys, time
from pikadb.storage.engine import Engine
eng = Engine.open(sys.argv[1], shards=2, wal=False)
eng.schedule_flush = lambda: None  # this loop flushes the groups itself
eng.set_group_commit(True)
now = time.time_ns() // 1_000_000
db = eng.db(0)
for i in range(int(sys.argv[2])):
    db.set(b"k%d" % i, b"v%d" % i, now)
    if i % 100 == 99:
        assert eng.flush_groups()
assert eng.flush_groups()
os._exit(0)  # no close, no flush: memtables are lost, as in a kill -9
"""


def test_writes_survive_a_process_that_dies_without_closing(tmp_path):
    path = str(tmp_path / "data")
    env = dict(os.environ)
    subprocess.run([sys.executable, "-c", _WRITER, path, "1000"], check=True, env=env)
    eng = Engine.open(path, shards=2, wal=False)
    try:
        now = time.time_ns() // 1_000_000
        db = eng.db(0)
        assert db.dbsize() == 1000
        assert all(db.get(b"k%d" % i, now) == b"v%d" % i for i in range(0, 1000, 37))
    finally:
        eng.close()


def test_retention_keeps_what_rocksdb_has_only_in_memory(tmp_path):
    eng = Engine.open(str(tmp_path / "data"), shards=1, wal=False, binlog_segment_size=4096)
    try:
        now = time.time_ns() // 1_000_000
        db = eng.db(0)
        for i in range(300):
            db.set(b"k%d" % i, b"x" * 50, now)
        binlog = eng.shards[0].binlog
        assert len(binlog.segments) > 3
        first = binlog.first_id
        # Nothing is on disk in RocksDB yet: retention deletes nothing, asks for a flush.
        assert eng.purge_binlogs(1, 0) == 0
        assert binlog.first_id == first
        deadline = time.monotonic() + 10
        deleted = 0
        while not deleted and time.monotonic() < deadline:
            time.sleep(0.05)
            deleted = eng.purge_binlogs(1, 0)
        assert deleted > 0  # once RocksDB flushed, the old segments go
    finally:
        eng.close()
