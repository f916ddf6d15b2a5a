"""Full sync: a master's RocksDB checkpoints copied to a replica that cannot continue
incrementally (its position was purged, or its history diverged from the master's).

Protocol, after the replica's PIKASYNC (commands/replication.py):

    +FULLRESYNC <replid> <term>                       the reply line
    [b"fsbegin", nshards, nfiles, total_bytes]        RESP arrays from here on
    [b"file", shard, name, chunk]                     <= CHUNK bytes of one file, in order
    [b"filedone", shard, name, size, crc32]           the file is complete
    [b"fsend", id0, term0, offset0, id1, ...]         per shard: the checkpoint's last record
    [b"rec", shard, raw record] ...                   the normal stream after those ids

The master flushes the shards' memtables in a thread, then flushes its group commit and
takes one checkpoint per shard (hard links, cheap) into <dir>/fullsync-ckpt-<n>/ in one
event-loop turn, so every shard's checkpoint ends exactly at its binlog's durable record; it pins the binlogs there until the stream after the
files took over, sends the files as fast as the transport drains and at most
full-sync-max-bytes-per-sec, and deletes the checkpoint afterwards (also on failure).

The replica writes the files into <dir>/fullsync-staging/<shard>/, checks every size and
CRC, and only after fsend swaps the shards in (Engine.swap_shards: close, rename, reopen,
binlog continuing after the checkpoint ids with the master's term). Until then its old data
stays in place and readable; a failed or interrupted transfer deletes the staging directory
and the reconnect loop tries again.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import time
import zlib
from typing import TYPE_CHECKING, Protocol

from pikadb.log import log
from pikadb.protocol import encode_command
from pikadb.replication.master import MasterServer, MasterSide, ReplicaConnection

if TYPE_CHECKING:
    from pikadb.storage.engine import Engine


class FullSyncServer(MasterServer, Protocol):
    """What a full sync to a replica needs of the server: the master side's, and the links."""

    repl_master: MasterSide


CHUNK = 256 << 10
# Stop reading files while this much is unsent in the replica's transport.
HIGH_WATER = 4 << 20
STAGING_DIR = "fullsync-staging"
CKPT_PREFIX = "fullsync-ckpt-"
PROGRESS_EVERY = 1.0  # seconds between progress log lines

_tasks: set[asyncio.Task] = set()
_counter = itertools.count(1)


class FullSyncError(Exception):
    pass


# ---- master side ----


class FullSyncSender:
    """One full sync to one replica connection."""

    def __init__(
        self, server: FullSyncServer, client: ReplicaConnection, peer: str, indexes: list[int]
    ) -> None:
        self.server = server
        self.client = client
        self.peer = peer
        self.indexes = indexes  # the shards asked for (global indexes, all owned here)
        self.dir = ""
        self.positions: list[tuple[int, int, int]] = []

    async def _prepare(self) -> None:
        """Flush the memtables in a thread (RocksDB releases the GIL), then take the
        checkpoints in one turn: a checkpoint flushes the memtable itself, ~0.1-1 s for a
        full 64 MB one, which on the loop is a stall every client and sentinel sees; after
        the flush it finds little left and takes milliseconds."""
        engine = self.server.engine
        rdbs = [engine.slot_shards[i].rdb for i in self.indexes]  # type: ignore[union-attr]
        await asyncio.to_thread(_flush_memtables, rdbs)
        if self.client.closed:
            raise FullSyncError("the replica disconnected")
        self.server.begin_turn()
        self._checkpoint()

    def _checkpoint(self) -> None:
        engine = self.server.engine
        engine.flush_groups()
        _remove_stale_checkpoints(engine.path)
        self.dir = os.path.join(engine.path, f"{CKPT_PREFIX}{os.getpid()}-{next(_counter)}")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        from rocksdict import Checkpoint

        try:
            for index in self.indexes:
                shard = engine.slot_shards[index]
                Checkpoint(shard.rdb).create_checkpoint(os.path.join(self.dir, str(index)))
                b = shard.binlog
                self.positions.append((b.durable_id, b.last_term, b.durable_offset))
                b.pin(self, b.durable_id)  # the stream after the files starts there
        except BaseException:
            self._cleanup()
            raise

    def start(self) -> None:
        task = asyncio.get_running_loop().create_task(self._run())
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)

    async def _run(self) -> None:
        client = self.client
        try:
            try:
                await self._prepare()
            except FullSyncError:
                raise
            except Exception as e:  # rocksdict raises plain Exception for checkpoint errors
                raise FullSyncError(f"cannot take the checkpoints: {e}") from None
            files = []
            for shard in self.indexes:
                sdir = os.path.join(self.dir, str(shard))
                for name in sorted(os.listdir(sdir)):
                    path = os.path.join(sdir, name)
                    files.append((shard, name, path, os.path.getsize(path)))
            total = sum(f[3] for f in files)
            log.notice(
                f"Full sync to replica {self.peer}: sending {len(files)} checkpoint file(s), "
                f"{total} bytes"
            )
            nshards = self.server.engine.nshards
            client.send(encode_command([b"fsbegin", nshards, len(files), total]))
            sent = 0
            start = last_log = time.monotonic()
            for shard, name, path, _size in files:
                crc = 0
                size = 0
                with open(path, "rb") as f:
                    while True:
                        chunk = f.read(CHUNK)
                        if not chunk:
                            break
                        crc = zlib.crc32(chunk, crc)
                        size += len(chunk)
                        client.send(encode_command([b"file", shard, name, chunk]))
                        sent += len(chunk)
                        await self._throttle(sent, start)
                        # One chunk per turn at most: the other clients go first.
                        await asyncio.sleep(0)
                        self.server.begin_turn()
                        now = time.monotonic()
                        if now - last_log >= PROGRESS_EVERY:
                            last_log = now
                            log.notice(_progress("sent", sent, total, now - start))
                client.send(encode_command([b"filedone", shard, name, size, crc]))
            end = [b"fsend"]
            for pos in self.positions:
                end += list(pos)
            client.send(encode_command(end))
            log.notice(
                f"Full sync to replica {self.peer}: {sent} bytes sent in "
                f"{time.monotonic() - start:.2f} s; streaming the records after the checkpoint"
            )
            after = {i: p[0] for i, p in zip(self.indexes, self.positions, strict=True)}
            link = self.server.repl_master.attach(client, after)
            if isinstance(link, str):
                raise FullSyncError(link)
            link.catch_up()
        except (FullSyncError, OSError) as e:
            log.warning(f"Full sync to replica {self.peer} failed: {e}")
            client.close()
        finally:
            self._cleanup()

    async def _throttle(self, sent: int, start: float) -> None:
        """Flow control (the transport drains) and the bandwidth cap."""
        client = self.client
        while True:
            if client.closed or client.transport is None:
                raise FullSyncError("the replica disconnected")
            if client.transport.get_write_buffer_size() < HIGH_WATER:
                break
            await asyncio.sleep(0.005)
        rate = self.server.config.get_int("full-sync-max-bytes-per-sec")
        if rate > 0:
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                await asyncio.sleep(ahead)
        if client.closed:
            raise FullSyncError("the replica disconnected")

    def _cleanup(self) -> None:
        for index in self.indexes:
            self.server.engine.slot_shards[index].binlog.unpin(self)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def _flush_memtables(rdbs: list) -> None:
    for rdb in rdbs:
        rdb.flush()


def start_full_sync(
    server: FullSyncServer, client: ReplicaConnection, peer: str, indexes: list[int]
) -> int:
    """Take the checkpoints of these shards and send them, after this reply (in a task: a
    failure closes the connection and the replica tries again). -> the term."""
    sender = FullSyncSender(server, client, peer, indexes)
    asyncio.get_running_loop().call_soon(sender.start)
    return max(s.binlog.term for s in server.engine.shards)


def _remove_stale_checkpoints(path: str) -> None:
    """Checkpoints a process that is gone (killed mid-transfer) left behind; the other
    workers' are theirs."""
    for name in os.listdir(path):
        if name.startswith(CKPT_PREFIX) and not _alive(name[len(CKPT_PREFIX) :].split("-")[0]):
            log.notice(f"Removing {name}, a checkpoint left behind by an earlier process")
            shutil.rmtree(os.path.join(path, name), ignore_errors=True)


def _alive(pid: str) -> bool:
    """Is this process running (a zombie is not: a killed worker nobody reaped yet)?"""
    if not pid.isdigit():
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _progress(verb: str, done: int, total: int, elapsed: float) -> str:
    perc = 100.0 * done / total if total else 100.0
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else 0.0
    return (
        f"MASTER <-> REPLICA sync: full sync {verb} {done}/{total} bytes ({perc:.2f}%), "
        f"{rate / (1 << 20):.1f} MB/s, ETA {eta:.1f} s"
    )


# ---- replica side ----


class FullSyncReceiver:
    """Collects the checkpoint files of one full sync into the staging directory."""

    def __init__(self, engine: Engine, replid: str, term: int, indexes: list[int]) -> None:
        self.engine = engine
        self.replid = replid
        self.term = term
        self.indexes = indexes  # the shards this transfer replaces (global indexes)
        # One per channel: other workers (and channels) of this server sync other shards.
        self.dir = os.path.join(engine.path, f"{STAGING_DIR}-{min(indexes)}")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.total = 0
        self.nfiles = -1
        self.read = 0
        self.started = self.last_io = time.monotonic()
        self._last_log = self.started
        self._done: set[tuple[int, str]] = set()
        self._file = None
        self._current: tuple[int, str] | None = None
        self._crc = 0
        self._size = 0

    @property
    def left(self) -> int:
        return max(0, self.total - self.read)

    def feed(self, argv: list[bytes]) -> list[tuple[int, int, int]] | None:
        """One frame. -> the per-shard (id, term, offset) of the checkpoints after fsend
        (every file verified), else None. Raises FullSyncError on anything wrong."""
        self.last_io = time.monotonic()
        kind = argv[0]
        if kind == b"file" and len(argv) == 4:
            key = (int(argv[1]), self._name(argv[2]))
            if self._current != key:
                if self._current is not None:
                    raise FullSyncError(f"file {key} started before {self._current} ended")
                self._open(key)
            chunk = argv[3]
            self._file.write(chunk)  # type: ignore[union-attr]
            self._crc = zlib.crc32(chunk, self._crc)
            self._size += len(chunk)
            self.read += len(chunk)
            now = self.last_io
            if now - self._last_log >= PROGRESS_EVERY:
                self._last_log = now
                log.notice(_progress("received", self.read, self.total, now - self.started))
        elif kind == b"filedone" and len(argv) == 5:
            key = (int(argv[1]), self._name(argv[2]))
            if self._current != key:
                self._open(key)  # an empty file
            size, crc = int(argv[3]), int(argv[4])
            self._file.close()  # type: ignore[union-attr]
            self._file = None
            self._current = None
            if size != self._size or crc != self._crc:
                raise FullSyncError(
                    f"shard {key[0]} file {key[1]}: got {self._size} bytes crc {self._crc}, "
                    f"the master sent {size} bytes crc {crc}"
                )
            self._done.add(key)
        elif kind == b"fsbegin" and len(argv) == 4:
            nshards, self.nfiles, self.total = (int(a) for a in argv[1:])
            if nshards != self.engine.nshards:
                raise FullSyncError(
                    f"the master has {nshards} shard(s), this replica {self.engine.nshards}"
                )
            for i in self.indexes:
                os.makedirs(os.path.join(self.dir, str(i)))
            log.notice(
                f"MASTER <-> REPLICA sync: receiving {self.nfiles} checkpoint file(s), "
                f"{self.total} bytes, from the master"
            )
        elif kind == b"fsend" and len(argv) == 1 + 3 * len(self.indexes):
            if self._current is not None or len(self._done) != self.nfiles:
                raise FullSyncError(
                    f"fsend after {len(self._done)} of {self.nfiles} file(s) were complete"
                )
            nums = [int(a) for a in argv[1:]]
            return [tuple(nums[i : i + 3]) for i in range(0, len(nums), 3)]  # type: ignore[misc]
        elif kind != b"PING":
            raise FullSyncError(f"unexpected frame {kind[:32]!r} during a full sync")
        return None

    def _name(self, raw: bytes) -> str:
        name = raw.decode("utf-8", "replace")
        if not name or "/" in name or name in (".", ".."):
            raise FullSyncError(f"bad checkpoint file name {name!r}")
        return name

    def _open(self, key: tuple[int, str]) -> None:
        shard, name = key
        if shard not in self.indexes or key in self._done:
            raise FullSyncError(f"unexpected file {key}")
        self._file = open(os.path.join(self.dir, str(shard), name), "wb")  # noqa: SIM115
        self._current = key
        self._crc = 0
        self._size = 0

    def swap_in(self, positions: list[tuple[int, int, int]]) -> None:
        """Every file arrived intact: replace the engine's shards with them."""
        engine = self.engine
        staged = {i: os.path.join(self.dir, str(i)) for i in self.indexes}
        engine.swap_shards(staged, self.term)
        for index, (id_, last_term, offset) in zip(self.indexes, positions, strict=True):
            shard = engine.slot_shards[index]
            b = shard.binlog
            if b.durable_id != id_ or b.durable_offset != offset:
                raise FullSyncError(
                    f"shard {shard.index}: the checkpoint is at id {b.durable_id} offset "
                    f"{b.durable_offset}, the master announced id {id_} offset {offset}"
                )
            b.set_last_term(last_term)
        shutil.rmtree(self.dir, ignore_errors=True)
        log.notice(
            f"MASTER <-> REPLICA sync: full sync done: {self.read} bytes in "
            f"{time.monotonic() - self.started:.2f} s, shards swapped in, continuing after "
            f"ids {[p[0] for p in positions]}"
        )

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        shutil.rmtree(self.dir, ignore_errors=True)
