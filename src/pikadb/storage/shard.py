"""One shard: one RocksDB instance, its in-memory counters, and the only write path to it.

Every write to RocksDB goes through Shard.commit(): one atomic batch (an Ops list) per
command per shard, WAL on, fsync'ed when sync_writes is set; no other code may call
Rdict.put/delete/write. A RocksDB write error becomes errors.StorageFullError and nothing of
the batch is applied (RocksDB batches are atomic).

Binlog (pikadb.storage.binlog): each committed Ops list becomes one binlog record (its
ops plus the command's tag for people and tools). _write appends the records to the
binlog file BEFORE the RocksDB write, which also stores the binlog position (system record
SYS_BINLOG), so the binlog is a redo log: on open, records after the stored position are
re-applied before anything reads the shard; a refused RocksDB write cuts its records off the
binlog again. Replicas write received records with apply_received().

Group commit (engine option, on in the server): a command's batch is an Ops list; in group
mode commit() appends it to the shard's group batch and stages it in the key cache, which
get() reads first, and the whole group is written with one RocksDB write (one WAL append,
one fsync with sync_writes) when the server flushes at the end of the event-loop turn. The server holds
every client's output until then, so no reply acknowledges a write before it is in the
WAL. Iterators flush first (they read RocksDB only), as do batches with range deletes.

Reads (Shard.get) go through the shard's KeyCache (cext/keycache.pyx): a bounded cache of
records read or written lately, with the pending group's records, then RocksDB. Every write
hands the cache the items it wrote, so the cache never disagrees with RocksDB plus the
pending group.
"""

from __future__ import annotations

import time

from rocksdict import (
    BlockBasedOptions,
    Cache,
    DBCompressionType,
    Options,
    Rdict,
    RdictIter,
    ReadOptions,
    WriteBatch,
    WriteOptions,
)

from pikadb._keycache import KeyCache
from pikadb.binlog_codec import Record, encode_record
from pikadb.errors import CROSSSLOT, CommandError, StorageFullError
from pikadb.log import log
from pikadb.storage.binlog import ShardBinlog, decode_state, encode_state
from pikadb.storage.encoding import (
    P_COUNTERS,
    SYS_BINLOG,
    SYS_VERSION_FLOOR,
    decode_counters,
    prefix_successor,
)
from pikadb.storage.ops import Ops, Tag, add_ops
from pikadb.storage.reclaim import ShardReclaim
from pikadb.storage.replicated import refresh_after_apply

# How far ahead of the versions handed out the persisted floor is kept (µs of clock).
_VERSION_FLOOR_STEP = 1 << 24  # ~16.7 s


class ShardOpenError(Exception):
    """RocksDB refused to open the shard; .locked tells whether its LOCK was held."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(detail)
        self.path = path
        self.locked = "lock" in detail.lower()


def rocksdb_options(block_cache: Cache | None, write_buffer_size: int | None) -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.set_max_background_jobs(2)
    opts.set_keep_log_file_num(5)
    opts.set_compression_type(DBCompressionType.lz4())
    if write_buffer_size:
        opts.set_write_buffer_size(write_buffer_size)
    # Small memtables (8 MB by default): an insert into a skiplist of a million entries
    # costs ~3 us in cache misses, into one that fits the CPU caches ~1 us, and SET spends
    # most of its time there. More of them, and more level-0 files before RocksDB slows
    # writes down, so the background flushes and compactions keep up without stalls
    # (measured: SET -P16 sustained 1.5 M requests, 8 MB tuned 165 K/s p99 10 ms, 64 MB
    # 115-137 K/s p99 12 ms).
    opts.set_max_write_buffer_number(4)
    opts.set_level_zero_file_num_compaction_trigger(8)
    opts.set_level_zero_slowdown_writes_trigger(40)
    opts.set_level_zero_stop_writes_trigger(80)
    table = BlockBasedOptions()
    # Point lookups of META records dominate: a bloom filter saves a disk read per miss.
    table.set_bloom_filter(10, False)
    if block_cache is not None:
        table.set_block_cache(block_cache)
    opts.set_block_based_table_factory(table)
    return opts


class BoundedIter:
    """A RocksDB iterator that keeps its ReadOptions and bound alive.

    rocksdict 0.3.29 does not copy the upper bound: RocksDB keeps pointing into the bytes
    object passed to set_iterate_upper_bound, so once that object is freed the bound is
    whatever reuses the memory (seen as iterators stopping early or running past their
    prefix). Holding both here for the iterator's lifetime makes bounds reliable.
    """

    __slots__ = ("_keep", "key", "next", "prev", "seek", "seek_for_prev", "valid", "value")

    def __init__(self, it: RdictIter, keep: object) -> None:
        self._keep = (it, keep)
        self.valid = it.valid
        self.key = it.key
        self.value = it.value
        self.next = it.next
        self.prev = it.prev
        self.seek = it.seek
        self.seek_for_prev = it.seek_for_prev


def binlog_state(rec: Record) -> bytes:
    """SYS_BINLOG's value once rec is applied."""
    return encode_state(rec.term, rec.id, rec.offset + rec.size)


# Records re-applied per RocksDB write when the binlog is ahead of RocksDB at open.
_REDO_CHUNK = 1000


def _no_group_listener(shard: Shard) -> None:
    pass


def _no_fresh_listener(shard: Shard) -> None:
    pass


class _NoCommand:
    """What a shard opened without an engine reports as the command of its records."""

    current_command: tuple[int, list[bytes]] = (0, [])


class Shard:
    """A RocksDB instance plus the per-physical-db counters mirrored from it."""

    def __init__(
        self,
        index: int,
        path: str,
        options: Options,
        sync_writes: bool,
        binlog_path: str | None = None,
        binlog_segment_size: int = 64 << 20,
        key_cache_size: int = 0,
        wal: bool = True,
    ) -> None:
        self.index = index
        self.wal = wal
        self.path = path
        try:
            self.rdb = Rdict(path, options)
        except Exception as e:  # rocksdict raises plain Exception for IO/lock errors
            raise ShardOpenError(path, str(e)) from e
        # The engine (owner of current_command, dbmap and watched keys); set by Engine.open.
        self.engine: object = _NoCommand()
        # Every read of a record: the key cache (with the pending group's records), then
        # RocksDB (cext/keycache.pyx); every write tells the cache what it wrote.
        self.cache = KeyCache(self.rdb.get, key_cache_size)
        self.get = self.cache
        # Group commit state (see the module docstring).
        self.group_commit = False
        self.on_group_start = _no_group_listener  # the engine schedules the flush
        # Called when the binlog got its first records since the end of the last turn took
        # them (the engine lists the shard: the end of the turn pushes them to replicas).
        self.on_fresh = _no_fresh_listener
        self._group: WriteBatch | None = None
        self.group_failed = False  # a group write failed since the engine last looked
        self._group_suspended = False  # group commit off until a direct write succeeds
        self._wopts = self._write_options(sync_writes)
        # Without RocksDB's WAL the binlog is the only redo log of what is in memtables:
        # its records after the last id RocksDB has in SST files stay (a pin), and
        # retention asks RocksDB to flush (request_durable) to move that id on.
        self._flush_target: int | None = None
        # Redo before anything below reads RocksDB (counters, version floor).
        try:
            self.binlog = ShardBinlog(
                binlog_path or path + ".binlog",
                segment_size=binlog_segment_size,
                sync=sync_writes,
                name=f"shard {index}",
            )
            durable = self._redo()
            if not wal:
                self.binlog.pin(self, durable)
        except BaseException:
            self.rdb.close()
            raise
        # pdb -> [keys, volatile keys, sum of expire_at of volatile keys]
        self.counters: dict[int, list[int]] = {}
        self._load_counters()
        raw = self.rdb.get(SYS_VERSION_FLOOR)
        self._version_floor = int.from_bytes(raw, "big") if raw else 0
        self._durable_floor = self._version_floor
        self._last_version = self._version_floor
        self.reclaim = ShardReclaim()
        self.closed = False

    # ---- the one write path ----

    def commit(self, batch: Ops, tag: Tag) -> None:
        """Write one command's batch (atomically) and its binlog record, which says it came
        from tag. In group mode a batch without range deletes joins the pending group and
        is written by flush_group(); anything else is written now, after the pending group
        (order is kept)."""
        if batch.ranges:
            if self._group is not None:
                self.flush_group()
            self.binlog.stage(tag[0], tag[1], batch.items)
            self._write(batch.to_batch())
            self.cache.written(batch.items)
        elif batch.items:
            self.commit_items(batch.items, tag)

    def commit_items(self, items: list, tag: Tag) -> None:
        """commit() of a batch without range deletes, given as its (key, value | None)
        items (the command core builds them without an Ops)."""
        db, argv = tag
        if self.group_commit:
            group = self._group
            if group is None:
                group = self._group = WriteBatch(raw_mode=True)
                self.on_group_start(self)
            self.binlog.stage_group(db, argv, items, group, self.cache)
            return
        if self._group is not None:
            self.flush_group()
        self.binlog.stage(db, argv, items)
        batch = WriteBatch(raw_mode=True)
        add_ops(batch, items)
        self._write(batch)
        self.cache.written(items)

    def _write(self, batch: WriteBatch) -> None:
        """Append the staged binlog records, then write batch with the new binlog position
        (redo-log order); on failure neither keeps anything of it."""
        binlog = self.binlog
        try:
            before = binlog.append()
        except OSError as e:
            self._version_floor = self._durable_floor
            raise StorageFullError(f"shard {self.index}: binlog: {e}") from e
        batch.put(SYS_BINLOG, binlog.state())
        try:
            self.rdb.write(batch, self._wopts)
        except Exception as e:
            # A version floor raised in this batch was not persisted: forget it.
            self._version_floor = self._durable_floor
            try:
                binlog.rollback(before)
            except OSError as e2:  # the next open re-applies the write (redo)
                log.warning(f"shard {self.index}: cannot cut the binlog back: {e2}")
            raise StorageFullError(f"shard {self.index}: {e}") from e
        if binlog.applied():
            self.on_fresh(self)
        self._durable_floor = self._version_floor
        if self._group_suspended:
            self._group_suspended = False
            self.group_commit = True

    # ---- binlog: redo at open, records from a master ----

    def _redo(self) -> int:
        """Bring RocksDB up to the binlog: re-apply the records it lacks (a crash between
        the binlog append and the RocksDB write, or, without the WAL, records that were in
        memtables only). -> the last id RocksDB had on disk."""
        binlog = self.binlog
        _term, applied_id, applied_offset = decode_state(self.rdb.get(SYS_BINLOG))
        if applied_id > binlog.durable_id or (applied_id and applied_id < binlog.first_id - 1):
            # RocksDB is ahead (both files unsynced at a power loss) or the binlog lost the
            # records in between: continue the binlog after what RocksDB has.
            log.warning(
                f"binlog shard {self.index}: RocksDB is at id {applied_id}, the binlog holds "
                f"ids {binlog.first_id}..{binlog.durable_id}: starting the binlog after "
                f"id {applied_id}"
            )
            binlog.reset(applied_id, applied_offset)
            return applied_id
        if applied_id == binlog.durable_id:
            return applied_id
        n = 0
        batch = WriteBatch(raw_mode=True)
        for rec, _raw in binlog.records_after(applied_id):
            add_ops(batch, rec.ops)
            n += 1
            if n % _REDO_CHUNK == 0 or rec.id == binlog.durable_id:
                batch.put(SYS_BINLOG, binlog_state(rec))
                self.rdb.write(batch, self._wopts)
                batch = WriteBatch(raw_mode=True)
        log.notice(
            f"binlog shard {self.index}: re-applied {n} record(s) to RocksDB "
            f"(ids {applied_id + 1}..{binlog.durable_id})"
        )
        return applied_id

    def apply_records(self, records: list[tuple[Record, bytes | None]]) -> None:
        """apply_received() of decoded records (raw None: encoded again, same bytes)."""
        self.apply_received(
            [
                raw
                if raw is not None
                else encode_record(r.term, r.timestamp, r.id, r.offset, r.db, r.argv, r.ops)
                for r, raw in records
            ]
        )

    def apply_received(self, payloads: list[bytes]) -> None:
        """Write records received from a master (each payload one or more records back to
        back), in id order: their ops and the binlog position in one batch, their bytes
        (unchanged: same id, term and offset) to the local binlog; then refresh what the
        ops changed under the in-memory state. A record that does not follow the last one
        raises BinlogGap (a damaged one BinlogCorrupt) once those before it are written."""
        if self._group is not None:
            self.flush_group()
        binlog = self.binlog
        batch = WriteBatch(raw_mode=True)
        ops: list = []
        special: list = []
        try:
            for data in payloads:
                binlog.stage_received(data, batch, ops, special)
        finally:
            if binlog.staged:
                self._write(batch)
                self.cache.refreshed(ops)
                refresh_after_apply(self, special, ops)

    def adopt_version_floor(self, floor: int) -> None:
        """A master's version floor: versions this shard hands out if it is promoted must
        exceed the master's."""
        if floor > self._version_floor:
            self._version_floor = self._durable_floor = floor
        self._last_version = max(self._last_version, floor)

    def reload_counters(self) -> None:
        self.counters.clear()
        self._load_counters()

    @property
    def group_pending(self) -> bool:
        return self._group is not None

    def flush_group(self) -> None:
        """Write the pending group. On failure nothing of it is applied: the key cache is
        emptied (it held the group's records), the counters are re-read from RocksDB, group_failed is set for the engine
        (the server then closes the connections whose replies were held for this group:
        they were never acknowledged) and StorageFullError is raised."""
        group = self._group
        if group is None:
            return
        self._group = None
        self.binlog.group_written()
        try:
            self._write(group)
        except StorageFullError:
            self.cache.failed()
            self.counters.clear()
            self._load_counters()
            self.group_failed = True
            # Until a write succeeds again, each command writes alone and gets its own
            # error reply instead of its connection being closed.
            self.group_commit = False
            self._group_suspended = True
            raise
        self.cache.committed()

    @property
    def sync_writes(self) -> bool:
        return bool(self.binlog.sync)

    @sync_writes.setter
    def sync_writes(self, value: bool) -> None:
        self._wopts = self._write_options(value)
        self.binlog.sync = bool(value)

    def _write_options(self, sync_writes: bool) -> WriteOptions:
        wopts = WriteOptions()
        if self.wal:
            wopts.sync = sync_writes
        else:
            # The binlog, appended (and fsynced with sync_writes) before every RocksDB
            # write, is the redo log (RocksDB refuses sync without its WAL anyway).
            wopts.disable_wal = True
        return wopts

    # ---- without the WAL: what RocksDB has on disk ----

    def request_durable(self) -> None:
        """Binlog retention wants old segments: ask RocksDB to flush its memtables (in the
        background) so that the records written so far need no redo."""
        if self.wal or self._flush_target is not None:
            return
        self.flush_group()
        self._flush_target = decode_state(self.rdb.get(SYS_BINLOG))[1]
        self.rdb.flush(False)

    def check_durable(self) -> None:
        """Once the requested flush is done, its records no longer pin the binlog."""
        if self._flush_target is None:
            return
        if self.property_int("rocksdb.num-immutable-mem-table") == 0:
            self.binlog.pin(self, self._flush_target)
            self._flush_target = None

    # ---- reads ----

    def iterator(self, start: bytes, end: bytes | None) -> BoundedIter:
        """An iterator positioned at the first record >= start, bounded above by end."""
        if self._group is not None:
            self.flush_group()  # iterators read RocksDB only
        ropts = ReadOptions()
        if end is not None:
            # (rocksdict 0.3.29's set_iterate_lower_bound sets the upper bound: don't use it)
            ropts.set_iterate_upper_bound(end)
        it = BoundedIter(self.rdb.iter(ropts), (ropts, end))
        it.seek(start)
        return it

    def scan_prefix(self, prefix: bytes) -> BoundedIter:
        return self.iterator(prefix, prefix_successor(prefix))

    # ---- collection versions ----

    def new_version(self, batch: Ops | WriteBatch) -> int:
        """A version never handed out before by this shard (see encoding.py)."""
        v = time.time_ns() // 1000
        if v <= self._last_version:
            v = self._last_version + 1
        self._last_version = v
        if v >= self._version_floor:
            self._version_floor = v + _VERSION_FLOOR_STEP
            batch.put(SYS_VERSION_FLOOR, self._version_floor.to_bytes(8, "big"))
        return v

    # ---- counters ----

    def _load_counters(self) -> None:
        it = self.scan_prefix(P_COUNTERS)
        while it.valid():
            k = it.key()
            self.counters[int.from_bytes(k[1:3], "big")] = decode_counters(it.value())
            it.next()

    def counts(self, pdb: int) -> list[int]:
        return self.counters.get(pdb) or [0, 0, 0]

    # ---- lifecycle ----

    def flush(self) -> None:
        self.flush_group()
        self.rdb.flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.flush_group()
        except StorageFullError:
            pass  # nothing of the group was acknowledged
        try:
            self.rdb.flush()
        finally:
            self.rdb.close()
            self.binlog.close()

    def compact_range(self, begin: bytes, end: bytes) -> None:
        """Let RocksDB rewrite the files covering [begin, end) now (drops deleted records).
        Releases the GIL: callers run it on a thread."""
        self.rdb.compact_range(begin, end)

    def property_int(self, name: str) -> int:
        try:
            return int(self.rdb.property_int_value(name) or 0)
        except Exception:
            return 0


class RemoteShard:
    """A shard another worker owns (server/workers.py). Commands are routed so that a
    handler meets only this worker's shards; a key that slips through (a key the command
    table does not declare) fails its command with -CROSSSLOT instead of reaching data
    this process does not hold."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __getattr__(self, name: str) -> object:
        raise CommandError(CROSSSLOT)
