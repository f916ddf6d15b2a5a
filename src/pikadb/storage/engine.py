"""The storage engine: a data directory of N RocksDB shards holding `databases` logical dbs.

    engine = Engine.open(path, shards=N, sync_writes=False, databases=16)
    db = engine.db(0)             # Database: the keyspace API command handlers use
    engine.active_expire_cycle(0.025)
    engine.close()

Layout and frozen encodings: pikadb.storage.encoding. Opening takes an exclusive flock on
<dir>/LOCK (and RocksDB takes its own per shard), so a second process fails fast with
DataDirLocked naming the directory. The shard count is written into <dir>/PIKADB when the
directory is created and wins over the `shards` argument afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

from rocksdict import Cache

from pikadb._keycache import KeyCache
from pikadb.errors import StorageFullError
from pikadb.log import log
from pikadb.storage import expire as _expire
from pikadb.storage.access import AccessTable
from pikadb.storage.binlog import Fresh
from pikadb.storage.database import Database
from pikadb.storage.encoding import (
    BINLOG_DIR,
    FORMAT_FILE,
    FORMAT_NAME,
    FORMAT_VERSION,
    LOCK_FILE,
    MAX_DATABASES,
    P_END,
    P_META,
    SHARDS_DIR,
    SLOT_MAP,
    SYS_DBMAP,
    decode_dbmap,
    encode_dbmap,
)
from pikadb.storage.ops import DBMAP_REPAIR_TAG, Ops, Tag
from pikadb.storage.reclaim import reclaim_step
from pikadb.storage.scan import CursorTable
from pikadb.storage.shard import RemoteShard, Shard, ShardOpenError, rocksdb_options

__all__ = ["DataDirLocked", "Database", "Engine", "StorageError"]


class StorageError(Exception):
    """The data directory cannot be used (bad format file, unreadable, ...)."""


class DataDirLocked(StorageError):
    """Another process has the data directory open."""

    def __init__(self, path: str, detail: str = "") -> None:
        msg = (
            f"Data directory {path} is locked: another pikad process is using it "
            "(only one process may open a data directory at a time)"
        )
        if detail:
            msg += f" [{detail}]"
        super().__init__(msg)
        self.path = path


def _ignore_modified(mk: bytes) -> None:
    pass


def _no_push() -> None:
    pass


def _no_scheduler() -> None:
    raise RuntimeError("group commit is on but nothing flushes the groups")


class DirectoryClaim:
    """The data directory's lock, held by a coordinator whose workers open the shards."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def close(self) -> None:
        self._engine._unlock()


def claim_directory(path: str, shards: int) -> tuple[DirectoryClaim, int]:
    """Lock the data directory at path and read (or create, with `shards` shards) its
    format file, without opening any shard. -> (the claim, the directory's shard count)."""
    holder = Engine()
    holder.path = os.path.abspath(path)
    os.makedirs(holder.path, exist_ok=True)
    holder._lock()
    try:
        return DirectoryClaim(holder), holder._read_or_create_format(shards)
    except BaseException:
        holder._unlock()
        raise


class Engine:
    def __init__(self) -> None:  # use Engine.open()
        self.path = ""
        self.shards: list[Shard] = []  # the shards this process owns, in index order
        self.nshards = 0  # of the data directory, owned or not
        # shard index -> Shard, or a RemoteShard for a shard another worker owns
        # (server/workers.py routes commands so that a handler only meets its own).
        self.slot_shards: list[Shard | RemoteShard] = []
        self.databases = 0
        self.access = AccessTable()
        self.cursors = CursorTable()
        self.lazy_expired = 0  # keys deleted on access because they were past their TTL
        self.active_expired = 0
        # Delete an expired key when a read finds it (Redis masters do; a replica must not
        # write on its own: replication turns this off there).
        self.lazy_expire_on_read = True
        self.active_expire_enabled = True  # DEBUG SET-ACTIVE-EXPIRE 0 turns it off
        # Keys someone waits on (WATCH, blocked clients), by meta key: every committed write
        # to one of them calls on_modified(meta key) (see storage.writeset). The server owns
        # both; an empty dict keeps the write path free of the check.
        self.watched: dict[bytes, object] = {}
        self.on_modified: Callable[[bytes], None] = _ignore_modified
        # The tag (db index, argv) of the command being executed: the dispatcher stores it,
        # a command's WriteSet passes it to Shard.commit; background writers pass their
        # own (storage/ops.py). Every binlog record carries its tag for people and tools
        # (replaying a record uses its ops only).
        self.current_command: tuple[int, list[bytes]] = (0, [])
        self.dbmap: list[int] = []  # logical db -> physical db id
        self._dbmap_generation = 0
        self._dbs: list[Database] = []
        self._lock_fd: int | None = None
        self._sync_writes = False
        self._key_cache_per_shard = 0
        self._wal = True
        self.swaps = 0  # swap_shards calls: whoever keeps shards (the command core) re-reads
        self._expire_cursor = 0
        self._compaction: threading.Thread | None = None
        # Group commit (shard.py): shards with a pending group this turn, and the server's
        # callback that arranges flush_groups() at the end of the event-loop turn.
        self.pending: list[Shard] = []
        # Shards whose binlog has records durable since the end of the last turn took them
        # (take_fresh: the server pushes them to its replicas from memory).
        self.fresh: list[Shard] = []
        self.schedule_flush: Callable[[], None] = _no_scheduler
        # The server's callback that arranges take_fresh() at the end of the turn (without
        # one, a binlog keeps a bounded amount of fresh records: FRESH_MAX_BYTES).
        self.schedule_push: Callable[[], None] = _no_push
        self.closed = True

    # ---- opening ----

    @classmethod
    def open(
        cls,
        path: str,
        *,
        shards: int = 1,
        sync_writes: bool = False,
        block_cache_size: int | None = None,
        write_buffer_size: int | None = None,
        key_cache_size: int = 0,
        wal: bool = True,
        databases: int = 16,
        binlog_segment_size: int = 64 << 20,
        owned: Callable[[int], bool] | None = None,
        lock: bool = True,
    ) -> Engine:
        """owned: which shard indexes this process opens (a worker's share; all when None).
        lock: take the data directory's lock (a worker's coordinator holds it instead).
        key_cache_size: bytes of key cache for this process, shared out over its shards.
        wal: RocksDB's write-ahead log; without it the binlog alone is the redo log."""
        if not 1 <= databases <= MAX_DATABASES:
            raise StorageError(f"databases must be between 1 and {MAX_DATABASES}")
        if shards < 1:
            raise StorageError("shards must be >= 1")
        self = cls()
        self.path = os.path.abspath(path)
        os.makedirs(self.path, exist_ok=True)
        if lock:
            self._lock()
        try:
            nshards = self._read_or_create_format(shards)
            cache = Cache(block_cache_size) if block_cache_size else None
            options = rocksdb_options(cache, write_buffer_size)
            self._options = options  # swap_shards reopens shards with them
            n_owned = sum(1 for i in range(nshards) if owned is None or owned(i))
            self._key_cache_per_shard = key_cache_size // max(1, n_owned)
            self._wal = wal
            for i in range(nshards):
                if owned is not None and not owned(i):
                    self.slot_shards.append(RemoteShard(i))
                    continue
                shard_path = os.path.join(self.path, SHARDS_DIR, str(i))
                binlog_path = os.path.join(self.path, BINLOG_DIR, str(i))
                try:
                    shard = Shard(
                        i,
                        shard_path,
                        options,
                        sync_writes,
                        binlog_path,
                        binlog_segment_size,
                        self._key_cache_per_shard,
                        wal,
                    )
                except ShardOpenError as e:
                    if e.locked:
                        raise DataDirLocked(self.path, str(e)) from None
                    raise StorageError(f"cannot open shard {shard_path}: {e}") from None
                except (OSError, ValueError) as e:  # ValueError: BinlogError
                    raise StorageError(f"cannot open the binlog of shard {i}: {e}") from None
                shard.engine = self
                shard.on_fresh = self._fresh_started
                self.shards.append(shard)
                self.slot_shards.append(shard)
            self.nshards = nshards
            self._sync_writes = sync_writes
            self.databases = databases
            self._load_dbmap(databases)
            self._dbs = [Database(self, i, self.dbmap[i]) for i in range(databases)]
        except BaseException:
            self._close_shards()
            self._unlock()
            raise
        self.closed = False
        return self

    def _lock(self) -> None:
        fd = os.open(os.path.join(self.path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirLocked(self.path) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _read_or_create_format(self, shards: int) -> int:
        fpath = os.path.join(self.path, FORMAT_FILE)
        if os.path.exists(fpath):
            try:
                with open(fpath) as f:
                    info = json.load(f)
                ok = info.get("format") == FORMAT_NAME and isinstance(info.get("shards"), int)
            except (OSError, ValueError) as e:
                raise StorageError(f"cannot read {fpath}: {e}") from None
            if not ok:
                raise StorageError(f"{fpath} is not a pikadb format file")
            if info.get("version", 0) > FORMAT_VERSION:
                raise StorageError(
                    f"{self.path} was written by a newer pikadb (format version "
                    f"{info.get('version')} > {FORMAT_VERSION})"
                )
            if info.get("slot_map", SLOT_MAP) != SLOT_MAP:
                raise StorageError(f"{fpath}: unknown slot map {info.get('slot_map')!r}")
            return int(info["shards"])
        if os.path.isdir(os.path.join(self.path, SHARDS_DIR)):
            raise StorageError(f"{self.path} has shard data but no {FORMAT_FILE} file")
        info = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "shards": shards,
            "slot_map": SLOT_MAP,
            "created_at": int(time.time()),
        }
        tmp = fpath + ".tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, fpath)
        return shards

    def _load_dbmap(self, databases: int) -> None:
        """The newest map any shard has (a crash mid-SWAPDB leaves shards disagreeing)."""
        best: tuple[int, list[int]] = (-1, [])
        stored = []
        for shard in self.shards:
            raw = shard.get(SYS_DBMAP)
            m = decode_dbmap(raw) if raw else (-1, [])
            stored.append(m)
            if m[0] > best[0]:
                best = m
        generation, pdbs = best
        if generation < 0:
            generation = 0
        # A larger `databases` than last time: new logical dbs get fresh physical ids.
        used = set(pdbs)
        nxt = 0
        while len(pdbs) < databases:
            while nxt in used:
                nxt += 1
            pdbs.append(nxt)
            used.add(nxt)
        self.dbmap = pdbs
        self._dbmap_generation = generation
        for shard, m in zip(self.shards, stored, strict=True):
            if m != (generation, pdbs):
                self._write_dbmap(shard, DBMAP_REPAIR_TAG)

    def _write_dbmap(self, shard: Shard, tag: Tag) -> None:
        b = Ops()
        b.put(SYS_DBMAP, encode_dbmap(self._dbmap_generation, self.dbmap))
        shard.commit(b, tag)

    def adopt_dbmap(self, raw: bytes) -> None:
        """A replica applied a master's dbmap record: use it if it is newer."""
        generation, pdbs = decode_dbmap(raw)
        if generation <= self._dbmap_generation or len(pdbs) < self.databases:
            return
        self._dbmap_generation = generation
        self.dbmap = pdbs[: self.databases]
        for i, db in enumerate(self._dbs):
            db.pdb = self.dbmap[i]

    # ---- what the server uses ----

    def db(self, index: int) -> Database:
        return self._dbs[index]

    @property
    def sync_writes(self) -> bool:
        return self._sync_writes

    @sync_writes.setter
    def sync_writes(self, value: bool) -> None:
        self._sync_writes = bool(value)
        for shard in self.shards:
            shard.sync_writes = self._sync_writes

    def dbsize(self, index: int) -> int:
        pdb = self._dbs[index].pdb
        return sum(s.counts(pdb)[0] for s in self.shards)

    def keyspace_info(self) -> dict[int, tuple[int, int, int]]:
        """INFO keyspace: db -> (keys, expires, avg_ttl ms), non-empty dbs only."""
        now = time.time_ns() // 1_000_000
        out: dict[int, tuple[int, int, int]] = {}
        for i, db in enumerate(self._dbs):
            keys = volatile = ttl_sum = 0
            for s in self.shards:
                c = s.counters.get(db.pdb)
                if c:
                    keys += c[0]
                    volatile += c[1]
                    ttl_sum += c[2]
            if keys:
                avg = max(0, ttl_sum // volatile - now) if volatile else 0
                out[i] = (keys, volatile, avg)
        return out

    def flushall(self) -> None:
        for shard in self.shards:
            b = Ops()
            b.delete_range(P_META, P_END)  # meta, data, expiry index and counters
            shard.commit(b, self.current_command)
            shard.counters.clear()
        self.access.clear()
        self.cursors.clear()

    def swapdb(self, a: int, b: int) -> None:
        if a == b:
            return
        self.dbmap[a], self.dbmap[b] = self.dbmap[b], self.dbmap[a]
        self._dbmap_generation += 1
        for shard in self.shards:
            self._write_dbmap(shard, self.current_command)
        self._dbs[a].pdb = self.dbmap[a]
        self._dbs[b].pdb = self.dbmap[b]

    def active_expire_cycle(self, time_budget_s: float) -> int:
        """Delete keys past their TTL, oldest first, for at most time_budget_s. -> count."""
        if not self.active_expire_enabled or self.closed:
            return 0
        n = _expire.active_expire_cycle(self, time_budget_s)
        self.active_expired += n
        return n

    # ---- group commit ----

    def set_group_commit(self, on: bool) -> None:
        """Batch the writes of one event-loop turn into one RocksDB write per shard. The
        caller (the server) must set schedule_flush first and hold replies until
        flush_groups() has run."""
        for shard in self.shards:
            shard.flush_group()
            shard.group_commit = on
            shard.on_group_start = self._group_started

    def _group_started(self, shard: Shard) -> None:
        if not self.pending:
            self.schedule_flush()
        self.pending.append(shard)

    def _fresh_started(self, shard: Shard) -> None:
        if not self.fresh:
            self.schedule_push()
        self.fresh.append(shard)

    @property
    def holding_replies(self) -> bool:
        """Writes of this turn are not written yet, or not pushed to the replicas yet: no
        reply leaves before the end of the turn."""
        return bool(self.pending or self.fresh)

    def take_fresh(self) -> dict[int, Fresh]:
        """The records that became durable since the last call, by shard index."""
        out: dict[int, Fresh] = {}
        shards, self.fresh = self.fresh, []
        for shard in shards:
            f = shard.binlog.take_fresh()
            if f is not None:
                out[shard.index] = f
        return out

    def flush_groups(self) -> bool:
        """Write every pending group. -> False if any group of this turn failed (also one a
        shard flushed early, for an iterator): its writes are not applied."""
        ok = True
        pending, self.pending = self.pending, []
        for shard in pending:
            try:
                shard.flush_group()
            except StorageFullError as e:
                log.warning(f"group write failed, clients of this turn are closed: {e}")
            if shard.group_failed:
                shard.group_failed = False
                ok = False
        return ok

    # ---- background reclaim of dropped collections (storage/reclaim.py) ----

    def reclaim_cycle(self, time_budget_s: float) -> int:
        """Advance the reclaim passes for at most time_budget_s; start compacting what was
        reclaimed once a shard's pass completes. -> garbage groups removed."""
        if self.closed:
            return 0
        deadline = time.monotonic() + time_budget_s
        removed = 0
        for shard in self.shards:
            st = shard.reclaim
            if st.dirty:
                removed += reclaim_step(shard, st, deadline)
            if st.compact and st.cursor is None:
                self._compact_later(shard)
            if time.monotonic() >= deadline:
                break
        return removed

    @property
    def reclaim_busy(self) -> bool:
        """A reclaim pass or a compaction of reclaimed ranges is still under way."""
        busy = self._compaction is not None and self._compaction.is_alive()
        return busy or any(s.reclaim.dirty or s.reclaim.compact for s in self.shards)

    def _compact_later(self, shard: Shard) -> None:
        if self._compaction is not None and self._compaction.is_alive():
            return
        ranges, shard.reclaim.compact = shard.reclaim.compact, []
        if len(ranges) > 256:  # many small groups: one compaction over their span
            ranges = [(min(r[0] for r in ranges), max(r[1] for r in ranges))]

        def compact() -> None:
            for begin, end in ranges:
                if self.closed:
                    return
                try:
                    shard.compact_range(begin, end)
                except Exception as e:  # disk space comes back later through RocksDB itself
                    log.warning(f"compaction of reclaimed records failed: {e}")
                    return

        self._compaction = threading.Thread(target=compact, name="pikadb-compact", daemon=True)
        self._compaction.start()

    # ---- binlog ----

    @property
    def repl_offset(self) -> int:
        """master_repl_offset: the sum of the shards' binlog stream offsets, counting every
        write executed so far, as Redis counts every command it propagated. Records staged
        in this turn's group commit are included: a reply showing this offset is deferred
        with theirs (Client.write) until they are durable, and a sentinel that read it right
        after CLIENT PAUSE WRITE must find every write acknowledged before the pause in it
        (a durable-only sum missed the writes of the pause's own turn)."""
        return sum(s.binlog.offset for s in self.shards)

    def binlog_stats(self) -> list[dict[str, int]]:
        return [s.binlog.stats() for s in self.shards]

    def purge_binlogs(self, keep_segments: int, max_bytes: int) -> int:
        """Binlog retention (server cron). -> segments deleted."""
        if self.closed:
            return 0
        for s in self.shards:
            if not s.wal:
                s.check_durable()
                if s.binlog.over_limits(keep_segments, max_bytes):
                    s.request_durable()
        return sum(s.binlog.purge(keep_segments, max_bytes) for s in self.shards)

    def set_binlog_segment_size(self, size: int) -> None:
        for s in self.shards:
            s.binlog.segment_size = size

    def disk_usage(self) -> int:
        total = 0
        for root, _dirs, files in os.walk(self.path):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.path.getsize(os.path.join(root, name))
        return total

    def set_key_cache_size(self, total: int) -> None:
        """CONFIG SET key-cache-size: the new budget shared out over this process's shards
        (the caches start empty)."""
        self._key_cache_per_shard = total // max(1, len(self.shards))
        for shard in self.shards:
            shard.cache.resize(self._key_cache_per_shard)

    def slot_caches(self) -> list[KeyCache | None]:
        """The key cache of each shard by index; None for a shard another worker owns."""
        return [s.cache if isinstance(s, Shard) else None for s in self.slot_shards]

    def key_cache_info(self) -> dict[str, int]:
        """The key caches of this process's shards, summed (INFO memory and stats)."""
        caches = [shard.cache for shard in self.shards]
        return {
            "key_cache_records": sum(c.records for c in caches),
            "key_cache_used": sum(c.used_bytes for c in caches),
            "key_cache_hits": sum(c.hits for c in caches),
            "key_cache_misses": sum(c.misses for c in caches),
        }

    def stats(self) -> dict[str, Any]:
        """RocksDB figures for INFO (summed over shards)."""
        props = {
            "estimate_keys": "rocksdb.estimate-num-keys",
            "memtables_bytes": "rocksdb.cur-size-all-mem-tables",
            "sst_bytes": "rocksdb.total-sst-files-size",
            "block_cache_bytes": "rocksdb.block-cache-usage",
            "pending_compaction_bytes": "rocksdb.estimate-pending-compaction-bytes",
        }
        out: dict[str, Any] = {name: 0 for name in props}
        for shard in self.shards:
            for name, prop in props.items():
                out[name] += shard.property_int(prop)
        out["shards"] = self.nshards
        out["lazy_expired"] = self.lazy_expired
        out["active_expired"] = self.active_expired
        return out

    # ---- full sync (pikadb.replication.fullsync) ----

    def swap_shards(self, staged: dict[int, str], term: int) -> None:
        """Replace the RocksDB of each shard staged names (index -> a master's checkpoint
        directory, from a full sync): close those shards, move the old directories aside,
        move the staged ones in, start each binlog empty after the checkpoint's applied id
        with the master's term, and reopen. The old directories are deleted once every
        shard reopened."""
        assert staged and all(i in self._owned_positions() for i in staged)
        if self._compaction is not None:
            self._compaction.join()  # RocksDB must not close under a running compaction
        self.flush_groups()
        # One per swap: other workers of this server may swap their shards meanwhile.
        old_root = os.path.join(self.path, f"fullsync-old-{min(staged)}")
        shutil.rmtree(old_root, ignore_errors=True)
        os.makedirs(old_root)
        positions = self._owned_positions()
        old = [self.shards[positions[i]] for i in staged]
        for shard in old:
            shard.close()
        for shard in old:
            i = shard.index
            os.rename(shard.path, os.path.join(old_root, f"shard{i}"))
            os.rename(shard.binlog.path, os.path.join(old_root, f"binlog{i}"))
            os.rename(staged[i], shard.path)
        for shard in old:
            new = Shard(
                shard.index,
                shard.path,
                self._options,
                self._sync_writes,
                shard.binlog.path,
                shard.binlog.segment_size,
                self._key_cache_per_shard,
                self._wal,
            )
            # The binlog started empty: _redo continued it after the checkpoint's id.
            new.binlog.set_term(term)
            new.engine = self
            new.on_fresh = shard.on_fresh
            new.on_group_start = shard.on_group_start
            new.group_commit = shard.group_commit
            self.shards[positions[new.index]] = new  # in place: every Database holds this list
            self.slot_shards[new.index] = new
        if self.nshards == 1:
            only = self.shards[0]
            for db in self._dbs:
                db.shard_for = lambda key, only=only: only
        self._dbmap_generation = -1
        self._load_dbmap(self.databases)
        for i, db in enumerate(self._dbs):
            db.pdb = self.dbmap[i]
        self.swaps += 1
        for mk in list(self.watched):
            self.on_modified(mk)
        shutil.rmtree(old_root, ignore_errors=True)

    def _owned_positions(self) -> dict[int, int]:
        """shard index -> its place in self.shards."""
        return {s.index: pos for pos, s in enumerate(self.shards)}

    # ---- closing ----

    def _close_shards(self) -> None:
        for shard in self.shards:
            with contextlib.suppress(Exception):
                shard.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._compaction is not None:
            self._compaction.join()  # RocksDB must not close under a running compaction
        self._close_shards()
        self._unlock()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
