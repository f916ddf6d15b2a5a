"""One shard: one RocksDB instance, its in-memory counters, and the only write path to it.

Every write to RocksDB goes through Shard.commit(batch): one atomic WriteBatch per command
per shard, WAL on, fsync'ed when sync_writes is set. Replication hooks its binlog there;
no other code may call Rdict.put/delete/write. A RocksDB write error becomes
errors.StorageFullError and nothing of the batch is applied (RocksDB batches are atomic).
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

from pikadb.errors import StorageFullError
from pikadb.storage.encoding import (
    P_COUNTERS,
    SYS_VERSION_FLOOR,
    decode_counters,
    prefix_successor,
)
from pikadb.storage.reclaim import ShardReclaim

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


class Shard:
    """A RocksDB instance plus the per-physical-db counters mirrored from it."""

    def __init__(self, index: int, path: str, options: Options, sync_writes: bool) -> None:
        self.index = index
        self.path = path
        try:
            self.rdb = Rdict(path, options)
        except Exception as e:  # rocksdict raises plain Exception for IO/lock errors
            raise ShardOpenError(path, str(e)) from e
        self.get = self.rdb.get  # bound: GET's hot path is one call
        self._wopts = WriteOptions()
        self._wopts.sync = sync_writes
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

    def commit(self, batch: WriteBatch) -> None:
        try:
            self.rdb.write(batch, self._wopts)
        except Exception as e:
            # A version floor raised in this batch was not persisted: forget it.
            self._version_floor = self._durable_floor
            raise StorageFullError(f"shard {self.index}: {e}") from e
        self._durable_floor = self._version_floor

    @property
    def sync_writes(self) -> bool:
        return bool(self._wopts.sync)

    @sync_writes.setter
    def sync_writes(self, value: bool) -> None:
        wopts = WriteOptions()
        wopts.sync = value
        self._wopts = wopts

    # ---- reads ----

    def iterator(self, start: bytes, end: bytes | None) -> BoundedIter:
        """An iterator positioned at the first record >= start, bounded above by end."""
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

    def new_version(self, batch: WriteBatch) -> int:
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
        self.rdb.flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.rdb.flush()
        finally:
            self.rdb.close()

    def compact_range(self, begin: bytes, end: bytes) -> None:
        """Let RocksDB rewrite the files covering [begin, end) now (drops deleted records).
        Releases the GIL: callers run it on a thread."""
        self.rdb.compact_range(begin, end)

    def property_int(self, name: str) -> int:
        try:
            return int(self.rdb.property_int_value(name) or 0)
        except Exception:
            return 0
