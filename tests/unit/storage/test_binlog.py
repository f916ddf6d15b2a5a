"""The per-shard binlog: records of every write, segment rotation, torn-tail repair, redo
after a crash between the binlog append and the RocksDB write, truncate-back when RocksDB
refuses a write, retention that respects pins, and master -> replica apply equivalence."""

from __future__ import annotations

import itertools
import os
import random
import shutil

import pytest

from pikadb.errors import CommandError, StorageFullError
from pikadb.log import log
from pikadb.storage import lists
from pikadb.storage.binlog import SEGMENT_HEADER_SIZE, ShardBinlog, decode_state
from pikadb.storage.encoding import SYS_BINLOG
from pikadb.storage.engine import Engine


@pytest.fixture
def warnings(monkeypatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(log, "warning", seen.append)
    monkeypatch.setattr(log, "notice", seen.append)
    return seen


def _open(path, shards: int = 1, **kw) -> Engine:
    return Engine.open(str(path), shards=shards, **kw)


def _records(shard, after: int = 0):
    return [rec for rec, _raw in shard.binlog.records_after(after)]


def _segments(shard) -> list[str]:
    return sorted(os.listdir(shard.binlog.path))


def _last_segment_path(shard) -> str:
    return shard.binlog.segments[-1].path


class _Crash(BaseException):
    """kill -9 between the binlog append and the RocksDB write."""


class _FailingRdb:
    """Stands in for a shard's Rdict: write() raises exc, everything else is the real one."""

    def __init__(self, rdb, exc: BaseException) -> None:
        self._rdb = rdb
        self._exc = exc

    def write(self, *_a) -> None:
        raise self._exc

    def __getattr__(self, name):
        return getattr(self._rdb, name)


# ---- records ----


def test_every_write_is_one_record_with_its_ops_and_command(tmp_path, now):
    eng = _open(tmp_path / "d")
    try:
        db = eng.db(0)
        shard = eng.shards[0]
        base = shard.binlog.durable_id  # the dbmap record written at creation
        assert [r.argv for r in _records(shard)] == [[b"DBMAP-REPAIR"]]
        eng.current_command = (0, [b"SET", b"k", b"v"])
        db.set(b"k", b"v", now)
        eng.current_command = (3, [b"DEL", b"k"])
        db.delete([b"k"], now)
        eng.flushall()
        recs = _records(shard, base)
        assert [r.id for r in recs] == [base + 1, base + 2, base + 3]
        assert [r.argv for r in recs] == [[b"SET", b"k", b"v"], [b"DEL", b"k"], [b"DEL", b"k"]]
        assert recs[1].db == 3
        assert any(k.startswith(b"\x01") and v == b"\x01v" for k, v in recs[0].ops)
        assert isinstance(recs[2].ops[0][1], tuple)  # FLUSHALL: a range delete
        # Offsets chain and the RocksDB position follows the binlog.
        for a, b in itertools.pairwise(recs):
            assert b.offset == a.offset + a.size
        term, last, offset = decode_state(shard.rdb.get(SYS_BINLOG))
        assert (term, last, offset) == (1, recs[-1].id, recs[-1].end_offset)
        assert eng.repl_offset == recs[-1].end_offset
        # Background writers name themselves.
        db.set(b"x", b"1", now, expire_at=now + 1)
        eng.active_expire_cycle(1.0)
        assert _records(shard)[-1].argv == [b"PEXPIRE-CYCLE"]
    finally:
        eng.close()


def test_group_commit_appends_one_write_per_group(tmp_path, now):
    eng = _open(tmp_path / "d")
    try:
        eng.schedule_flush = lambda: None
        eng.set_group_commit(True)
        shard = eng.shards[0]
        base = shard.binlog.durable_id
        size0 = shard.binlog.segments[-1].size
        writes = []
        real = os.write

        def counting_write(fd, data):
            writes.append(len(data))
            return real(fd, data)

        db = eng.db(0)
        os.write = counting_write
        try:
            for i in range(10):
                db.set(b"k%d" % i, b"v", now)
            assert shard.binlog.durable_id == base  # nothing appended before the flush
            assert eng.flush_groups()
        finally:
            os.write = real
        assert len(writes) == 1
        assert shard.binlog.segments[-1].size == size0 + writes[0]
        assert [r.id for r in _records(shard, base)] == list(range(base + 1, base + 11))
    finally:
        eng.close()


# ---- segments ----


def test_segments_rotate_and_ids_continue_after_reopen(tmp_path, now):
    path = tmp_path / "d"
    eng = _open(path, binlog_segment_size=4096)
    db = eng.db(0)
    for i in range(300):
        db.set(b"key:%d" % i, b"x" * 50, now)
    shard = eng.shards[0]
    segs = _segments(shard)
    assert len([s for s in segs if s.startswith("write2file")]) > 5
    assert "manifest" in segs
    for seg in shard.binlog.segments:
        assert seg.size <= 4096 or seg.size == SEGMENT_HEADER_SIZE + 200
    ids = [r.id for r in _records(shard)]
    assert ids == list(range(1, 302))
    last = shard.binlog.durable_id
    eng.close()
    eng = _open(path, binlog_segment_size=4096)
    try:
        shard = eng.shards[0]
        assert shard.binlog.durable_id == last
        assert [s.first_id for s in shard.binlog.segments] == sorted(
            s.first_id for s in shard.binlog.segments
        )
        eng.db(0).set(b"more", b"1", now)
        assert _records(shard, last)[0].id == last + 1
        reader = shard.binlog.reader(150)
        assert reader is not None
        got = []
        while chunk := reader.read(1000):
            got.extend(r.id for r, _ in chunk)
        reader.close()
        assert got == list(range(151, last + 2))
    finally:
        eng.close()


def test_reader_sees_new_records_and_refuses_unknown_ids(tmp_path, now):
    eng = _open(tmp_path / "d")
    try:
        shard = eng.shards[0]
        b = shard.binlog
        reader = b.reader(b.durable_id)
        assert reader is not None and reader.read() == []
        eng.db(0).set(b"a", b"1", now)
        eng.db(0).set(b"b", b"2", now)
        (r1, raw1), (r2, _) = reader.read()
        assert (r1.argv, r2.id) == ([], b.durable_id)
        with open(b.segments[-1].path, "rb") as f:
            assert raw1 == f.read()[-(r1.size + r2.size) : -r2.size]
        assert reader.read() == []
        assert b.reader(b.durable_id + 1) is None  # never reached
        reader.close()
    finally:
        eng.close()


def test_fresh_records_are_handed_from_memory_and_readers_skip_them(tmp_path, now):
    """The end of a turn takes the records durable since the last take (the replicas get
    them from memory); a reader caught up skips them in the file, one behind reads them."""
    eng = _open(tmp_path / "d", binlog_segment_size=4096)
    try:
        eng.take_fresh()  # the dbmap written at open
        b = eng.shards[0].binlog
        caught_up = b.reader(b.durable_id)
        behind = b.reader(b.durable_id)
        assert caught_up is not None and behind is not None
        for turn in range(40):  # segments roll meanwhile (4 KB each)
            before = b.durable_id
            for i in range(5):
                eng.db(0).set(b"k%d" % i, b"v" * 100 + b"%d" % turn, now)
            assert eng.fresh == [eng.shards[0]]
            (fresh,) = eng.take_fresh().values()
            assert eng.fresh == [] and b.fresh == []
            assert (fresh.after_id, fresh.last_id) == (before, b.durable_id)
            in_file = [raw for _rec, raw in b.records_after(before)]
            assert fresh.records == in_file
            assert caught_up.take(fresh) and caught_up.last_id == b.durable_id
            if turn % 3 == 0:  # offered to the other reader: taken if they are its next
                was = behind.last_id
                assert behind.take(fresh) == (was == before)
            if turn % 7 == 1:  # which reads the file now and then
                while behind.read():
                    pass
                assert behind.last_id == b.durable_id
        assert len(b.segments) > 5
        assert caught_up.read() == []  # positioned after every record
        eng.db(0).set(b"after", b"1", now)
        ((rec, _raw),) = caught_up.read()
        assert rec.id == b.durable_id and rec.argv == []
        caught_up.close()
        behind.close()
    finally:
        eng.close()


def test_fresh_records_nobody_takes_stay_bounded(tmp_path, now, monkeypatch):
    from pikadb.storage import binlog as binlog_module

    monkeypatch.setattr(binlog_module, "FRESH_MAX_BYTES", 10_000)
    eng = _open(tmp_path / "d")
    try:
        b = eng.shards[0].binlog
        for i in range(200):
            eng.db(0).set(b"k%d" % i, b"v" * 100, now)
        assert sum(map(len, b.fresh)) <= 10_000
        (fresh,) = eng.take_fresh().values()
        assert fresh.last_id == b.durable_id
        assert fresh.records == [raw for _rec, raw in b.records_after(fresh.after_id)]
    finally:
        eng.close()


def test_torn_tail_is_truncated_back_on_open(tmp_path, now, warnings):
    path = tmp_path / "d"
    eng = _open(path)
    db = eng.db(0)
    for i in range(20):
        db.set(b"k%d" % i, b"v%d" % i, now)
    shard = eng.shards[0]
    last, seg = shard.binlog.durable_id, _last_segment_path(shard)
    good_size = os.path.getsize(seg)
    whole = _records(shard)[-1]
    eng.close()
    # A crash in the middle of appending the next record (RocksDB never got it).
    with open(seg, "rb") as f:
        data = f.read()
    with open(seg, "ab") as f:
        f.write(data[-whole.size :][: whole.size // 2])
    eng = _open(path)
    try:
        shard = eng.shards[0]
        assert os.path.getsize(seg) == good_size
        assert shard.binlog.durable_id == last
        assert any("truncating" in w and "torn or corrupt tail" in w for w in warnings)
        assert eng.db(0).get(b"k19", now) == b"v19"
        eng.db(0).set(b"next", b"1", now)
        assert [r.id for r in _records(shard)][-2:] == [last, last + 1]
    finally:
        eng.close()


def test_corrupt_tail_record_is_cut_too(tmp_path, now, warnings):
    path = tmp_path / "d"
    eng = _open(path)
    eng.db(0).set(b"a", b"1", now)
    shard = eng.shards[0]
    seg, last = _last_segment_path(shard), shard.binlog.durable_id
    eng.close()
    with open(seg, "ab") as f:
        f.write(b"PKB1" + b"\x00\x00\x01\x00" + b"garbage" * 40)
    eng = _open(path)
    try:
        assert eng.shards[0].binlog.durable_id == last
        assert any("truncating" in w for w in warnings)
    finally:
        eng.close()


# ---- redo log ----


@pytest.mark.parametrize("group", [False, True], ids=["direct", "group"])
def test_redo_on_open_after_a_crash_between_append_and_rocksdb_write(
    tmp_path, now, warnings, group
):
    path = tmp_path / "d"
    eng = _open(path, shards=3)
    eng.schedule_flush = lambda: None
    eng.set_group_commit(group)
    db = eng.db(0)
    db.set(b"before", b"1", now)
    eng.flush_groups()
    shard = db.shard_for(b"crash")
    real = shard.rdb
    shard.rdb = _FailingRdb(real, _Crash())
    with pytest.raises(_Crash):
        db.set(b"crash", b"lost-or-not", now)
        eng.flush_groups()
    appended = shard.binlog.durable_id + (1 if not group else 0)
    assert real.get(b"\x01\x00\x00crash") is None  # RocksDB never got it
    shard.rdb = real
    # The process dies here: no flush, no clean close of the group.
    shard._group = None
    eng.close()
    eng = _open(path, shards=3)
    try:
        db = eng.db(0)
        assert db.get(b"crash", now) == b"lost-or-not"
        assert db.get(b"before", now) == b"1"
        assert db.dbsize() >= 2
        s2 = db.shard_for(b"crash")
        assert decode_state(s2.rdb.get(SYS_BINLOG))[1] == s2.binlog.durable_id >= appended
        assert any("re-applied" in w for w in warnings)
        db.set(b"after", b"2", now)
    finally:
        eng.close()


@pytest.mark.parametrize("group", [False, True], ids=["direct", "group"])
def test_refused_write_is_cut_off_the_binlog(tmp_path, now, group):
    eng = _open(tmp_path / "d")
    try:
        eng.schedule_flush = lambda: None
        eng.set_group_commit(group)
        db = eng.db(0)
        db.set(b"a", b"1", now)
        eng.flush_groups()
        shard = eng.shards[0]
        b = shard.binlog
        size, last, offset = b.segments[-1].size, b.durable_id, b.durable_offset
        real = shard.rdb
        shard.rdb = _FailingRdb(real, Exception("IO error: No space left on device"))
        if group:
            db.set(b"b", b"2", now)
            db.set(b"c", b"3", now)
            assert not eng.flush_groups()
        else:
            with pytest.raises(StorageFullError):
                db.set(b"b", b"2", now)
        shard.rdb = real
        assert os.path.getsize(b.segments[-1].path) == size
        assert (b.durable_id, b.last_id, b.durable_offset, b.offset) == (last, last, offset, offset)
        assert db.get(b"b", now) is None
        db.set(b"d", b"4", now)
        eng.flush_groups()
        recs = _records(shard, last)
        assert [r.id for r in recs] == [last + 1] and recs[0].offset == offset
    finally:
        eng.close()


def test_binlog_append_failure_applies_nothing(tmp_path, now, monkeypatch):
    eng = _open(tmp_path / "d")
    try:
        db = eng.db(0)
        shard = eng.shards[0]
        last = shard.binlog.durable_id

        def full(fd, data):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "write", full)
        with pytest.raises(StorageFullError, match="binlog"):
            db.set(b"a", b"1", now)
        monkeypatch.undo()
        assert db.get(b"a", now) is None
        assert shard.binlog.last_id == last
        db.set(b"a", b"2", now)
        assert _records(shard, last)[0].id == last + 1
    finally:
        eng.close()


# ---- retention ----


def test_retention_keeps_limits_and_pins(tmp_path, now):
    eng = _open(tmp_path / "d", binlog_segment_size=2048)
    try:
        db = eng.db(0)
        for i in range(400):
            db.set(b"key:%d" % i, b"x" * 40, now)
        b = eng.shards[0].binlog
        nseg = len(b.segments)
        assert nseg > 10
        pinned = b.segments[3].first_id + 2  # a replica needs records after this id
        b.pin("replica-1", pinned)
        assert eng.purge_binlogs(keep_segments=2, max_bytes=1 << 30) == 3
        assert b.segments[0].first_id <= pinned + 1
        assert b.reader(pinned) is not None
        b.unpin("replica-1")
        before = len(b.segments)
        assert eng.purge_binlogs(keep_segments=2, max_bytes=1 << 30) == before - 2
        assert len(b.segments) == 2
        assert b.reader(pinned) is None  # purged: a full sync would be needed
        first = b.segments[0].first_id
        assert _records(eng.shards[0], first - 1)[0].id == first
        # Size limit; never the segment being written.
        assert eng.purge_binlogs(keep_segments=100, max_bytes=0) == 1
        assert len(b.segments) == 1
        assert len([f for f in os.listdir(b.path) if f.startswith("write2file")]) == 1
    finally:
        eng.close()


def test_manifest_keeps_the_term(tmp_path, now):
    path = tmp_path / "d"
    eng = _open(path)
    eng.shards[0].binlog.set_term(7)
    eng.db(0).set(b"a", b"1", now)
    eng.close()
    eng = _open(path)
    try:
        b = eng.shards[0].binlog
        assert b.term == 7 and _records(eng.shards[0])[-1].term == 7
    finally:
        eng.close()


def test_binlog_opened_alone(tmp_path):
    b = ShardBinlog(str(tmp_path / "bl"), segment_size=1024)
    assert (b.durable_id, b.first_id, b.stats()["segments"]) == (0, 1, 0)
    assert b.reader(0) is not None and b.reader(1) is None
    b.close()


# ---- master -> replica ----


def _workload(db, other, rng: random.Random, now: int, n: int) -> int:
    """Random writes through Database methods; returns the clock it ended at."""
    keys = [b"k%d" % i for i in range(40)]
    for _ in range(n):
        now += rng.randint(0, 40)
        k = rng.choice(keys)
        op = rng.randrange(16)
        try:
            if op == 0:
                db.set(k, b"v%d" % rng.randrange(1000), now, expire_at=rng.choice([0, now + 50]))
            elif op == 1:
                db.incr_by(k, rng.randint(-5, 5), now)
            elif op == 2:
                db.incr_by_float(k, lambda old: b"%.3f" % (float(old or 0) + 1.5), now)
            elif op == 3:
                db.delete([k, rng.choice(keys)], now)
            elif op == 4:
                lists.push(db, k, [b"e%d" % i for i in range(rng.randint(1, 5))], now, left=True)
            elif op == 5:
                lists.pop(db, k, now, left=False)
            elif op == 6:
                db.hset(k, [(b"f%d" % rng.randrange(8), b"x")], now)
            elif op == 7:
                db.hdel(k, [b"f%d" % rng.randrange(8)], now)
            elif op == 8:
                db.sadd(k, [b"m%d" % rng.randrange(300) for _ in range(rng.randint(1, 200))], now)
            elif op == 9:
                db.spop(k, rng.choice([None, 3]), now)
            elif op == 10:
                db.zadd(k, [(rng.random(), b"z%d" % rng.randrange(20))], now)
            elif op == 11:
                db.expire(k, now + rng.randint(-10, 100), now)
            elif op == 12:
                db.rename(k, rng.choice(keys), now)
            elif op == 13:
                db.move(k, other, now)
            elif op == 14 and rng.random() < 0.05:
                db.flushdb()
            elif op == 15:
                db.persist(k, now)
        except (CommandError, ValueError):
            pass  # WRONGTYPE & co: the command wrote nothing (or only a lazy expiry)
    return now


def _contents(eng: Engine) -> list[list[tuple[bytes, bytes]]]:
    out = []
    for shard in eng.shards:
        it = shard.iterator(b"", None)
        rows = []
        while it.valid():
            rows.append((it.key(), it.value()))
            it.next()
        out.append(rows)
    return out


@pytest.mark.parametrize("nshards", [1, 3])
@pytest.mark.parametrize("seed", [1, 2])
def test_replica_applying_every_record_ends_identical(tmp_path, now, nshards, seed):
    mpath, rpath = tmp_path / "master", tmp_path / "replica"
    Engine.open(str(mpath), shards=nshards).close()
    shutil.copytree(mpath, rpath)  # what a full sync hands over: data + binlog position
    master = _open(mpath, shards=nshards, binlog_segment_size=8192)
    replica = _open(rpath, shards=nshards)
    replica.lazy_expire_on_read = False
    try:
        rng = random.Random(seed)
        now = _workload(master.db(0), master.db(1), rng, now, 1500)
        master.swapdb(0, 2)
        now = _workload(master.db(1), master.db(2), rng, now, 300)
        master.active_expire_cycle(1.0)
        master.reclaim_cycle(5.0)
        applied = 0
        for i, shard in enumerate(master.shards):
            reader = replica.shards[i].binlog.durable_id
            recs = list(shard.binlog.records_after(reader))
            # One record at a time (raw bytes or encoded again), then runs of records.
            for rec, raw in recs[:100]:
                replica.shards[i].apply_records([(rec, raw if applied % 2 else None)])
                applied += 1
            for at in range(100, len(recs), 37):
                replica.shards[i].apply_records(recs[at : at + 37])
                applied += len(recs[at : at + 37])
        assert applied > 600
        assert _contents(replica) == _contents(master)
        for ms, rs in zip(master.shards, replica.shards, strict=True):
            assert rs.counters == ms.counters
            assert rs.binlog.durable_id == ms.binlog.durable_id
            assert rs.binlog.durable_offset == ms.binlog.durable_offset
            assert rs._version_floor == ms._version_floor
        assert replica.dbmap == master.dbmap
        assert [replica.dbsize(i) for i in range(16)] == [master.dbsize(i) for i in range(16)]
        assert replica.repl_offset == master.repl_offset
        # The replica's binlog holds the master's bytes: a replica of it would converge too.
        for ms, rs in zip(master.shards, replica.shards, strict=True):
            assert [raw for _, raw in rs.binlog.records_after(1)] == [
                raw for _, raw in ms.binlog.records_after(1)
            ]
    finally:
        master.close()
        replica.close()
    # Reopened (no redo needed), the replica still matches.
    replica = _open(rpath, shards=nshards)
    master = _open(mpath, shards=nshards)
    try:
        assert _contents(replica) == _contents(master)
    finally:
        master.close()
        replica.close()


def test_apply_out_of_sequence_is_refused(tmp_path, now):
    Engine.open(str(tmp_path / "m")).close()
    shutil.copytree(tmp_path / "m", tmp_path / "r")
    master, replica = _open(tmp_path / "m"), _open(tmp_path / "r")
    try:
        master.db(0).set(b"a", b"1", now)
        master.db(0).set(b"b", b"2", now)
        recs = _records(master.shards[0], 1)
        with pytest.raises(ValueError, match="does not follow"):
            replica.shards[0].apply_records([(recs[1], None)])
        replica.shards[0].apply_records([(recs[0], None)])
        assert replica.db(0).get(b"a", now) == b"1"
    finally:
        master.close()
        replica.close()


def test_a_run_with_a_gap_writes_the_records_before_it(tmp_path, now):
    Engine.open(str(tmp_path / "m")).close()
    shutil.copytree(tmp_path / "m", tmp_path / "r")
    master, replica = _open(tmp_path / "m"), _open(tmp_path / "r")
    try:
        for k in (b"a", b"b", b"c"):
            master.db(0).set(k, b"1", now)
        a, b, c = _records(master.shards[0], 1)
        with pytest.raises(ValueError, match="does not follow"):
            replica.shards[0].apply_records([(a, None), (c, None)])
        assert replica.shards[0].binlog.durable_id == a.id
        assert replica.db(0).get(b"a", now) == b"1" and replica.db(0).get(b"c", now) is None
        replica.shards[0].apply_records([(b, None), (c, None)])
        assert replica.db(0).get(b"c", now) == b"1"
    finally:
        master.close()
        replica.close()


def test_apply_wakes_watched_keys(tmp_path, now):
    from pikadb.keycodec import meta_key

    Engine.open(str(tmp_path / "m")).close()
    shutil.copytree(tmp_path / "m", tmp_path / "r")
    master, replica = _open(tmp_path / "m"), _open(tmp_path / "r")
    try:
        seen: list[bytes] = []
        mk = meta_key(replica.db(0).pdb, b"w")
        replica.watched[mk] = object()
        replica.on_modified = seen.append
        lists.push(master.db(0), b"w", [b"x"], now, left=True)
        master.db(0).flushdb()
        replica.shards[0].apply_records([(rec, None) for rec in _records(master.shards[0], 1)])
        # Once per applied run: the watchers look at the state after all of it.
        assert seen == [mk]
    finally:
        master.close()
        replica.close()
