"""The binlog of one shard: append-only segment files of records (pikadb.binlog_codec).

    <dir>/binlog/<shard>/manifest          JSON {"term": N}: the term new records carry
    <dir>/binlog/<shard>/write2file<N>     segments, N = 1, 2, ...; each starts with a header
                                           b"PKBLSEG1" u64 first id | u64 first offset | u64 term
                                           followed by whole records

A record's id is per shard (+1 per record, first 1) and its offset the number of record
bytes of the shard's stream before it (segment headers excluded), so a position is an id or
an offset and the sum of the shards' offsets is master_repl_offset.

Writing (Shard._write is the only writer) is a redo log: records are staged (encoded with
their id) as commands commit, appended with one os.write per RocksDB write BEFORE that write,
marked applied after it succeeds, or cut off again with ftruncate when RocksDB refuses it, so
the binlog never holds a write that was not applied. On open the segment headers are read,
the last segment is scanned, and a torn or corrupt tail (a crash mid-write) is truncated back
to the last valid record. The shard then re-applies the records RocksDB does not have yet.

Retention (purge(), from the server cron) deletes the oldest segments beyond
binlog-keep-segments / binlog-max-size, never the one being written and never one holding a
record after a pinned id (pin() for a replica that still has to read from there).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import struct
from collections.abc import Iterator

from pikadb.binlog_codec import (
    BinlogError,
    BinlogGap,
    BinlogTail,
    BinlogTruncated,
    Record,
    decode_record,
    record_size,
    skip_records,
)
from pikadb.log import log

SEGMENT_PREFIX = "write2file"
MANIFEST = "manifest"
SEGMENT_MAGIC = b"PKBLSEG1"
_SEG_HEADER = struct.Struct(">8sQQQ")
SEGMENT_HEADER_SIZE = _SEG_HEADER.size  # 32
_SEGMENT_RE = re.compile(rf"^{SEGMENT_PREFIX}(\d+)$")
_STATE = struct.Struct(">QQQ")  # the RocksDB system record: term, last applied id, end offset
_SCAN_CHUNK = 1 << 20

__all__ = [
    "BinlogGap",
    "BinlogReader",
    "Fresh",
    "Segment",
    "ShardBinlog",
    "decode_state",
    "encode_state",
]


# Fresh records kept for the end of the turn at most (a binlog nobody takes them from).
FRESH_MAX_BYTES = 16 << 20


class Fresh:
    """Records that became durable during one event-loop turn, in id order: the ids
    after_id + 1 ..., ending at byte end of segment seg."""

    __slots__ = ("after_id", "end", "records", "seg")

    def __init__(self, after_id: int, records: list[bytes], seg: Segment | None, end: int) -> None:
        self.after_id = after_id
        self.records = records
        self.seg = seg
        self.end = end

    @property
    def last_id(self) -> int:
        return self.after_id + len(self.records)


def encode_state(term: int, last_id: int, offset: int) -> bytes:
    return _STATE.pack(term, last_id, offset)


def decode_state(raw: bytes | None) -> tuple[int, int, int]:
    """(term, last applied id, end offset); all 0 for a shard that never wrote one."""
    return _STATE.unpack(raw) if raw else (0, 0, 0)


class Segment:
    __slots__ = ("first_id", "first_offset", "number", "path", "size", "term")

    def __init__(
        self, number: int, path: str, first_id: int, first_offset: int, term: int, size: int
    ) -> None:
        self.number = number
        self.path = path
        self.first_id = first_id
        self.first_offset = first_offset
        self.term = term
        self.size = size  # file bytes, header included

    def __repr__(self) -> str:
        return f"Segment({self.number}, first_id={self.first_id}, size={self.size})"


def _read_header(path: str) -> tuple[int, int, int] | None:
    """(first id, first offset, term) of a segment file, None when the header is torn."""
    with open(path, "rb") as f:
        raw = f.read(SEGMENT_HEADER_SIZE)
    if len(raw) < SEGMENT_HEADER_SIZE:
        return None
    magic, first_id, first_offset, term = _SEG_HEADER.unpack(raw)
    if magic != SEGMENT_MAGIC:
        raise BinlogError(f"{path}: not a binlog segment (bad magic {magic!r})")
    return first_id, first_offset, term


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class ShardBinlog(BinlogTail):
    """One shard's binlog (stage(): BinlogTail, in C)."""

    def __init__(
        self, path: str, *, segment_size: int = 64 << 20, sync: bool = False, name: str = ""
    ) -> None:
        self.path = path
        self.name = name or path
        self.segment_size = segment_size
        self.sync = sync
        os.makedirs(path, exist_ok=True)
        # Term of the last durable record (divergence check): the tail scan finds it; a
        # binlog holding no record keeps it in the manifest (a full sync sets it).
        self.last_term = 0
        self._pending_term: int | None = None
        self.term = self._read_manifest()
        self.segments: list[Segment] = []
        # Durable: appended and applied. Assigned: handed to staged records (>= durable).
        self.last_id = 0
        self.offset = 0
        self.durable_id = 0
        self.durable_offset = 0
        self._staged: list[bytes] = []
        # Records appended by the write in progress, and those durable since the end of
        # the event-loop turn last took them (take_fresh): the turn pushes them to the
        # replicas from memory; a replica behind reads the file instead.
        self._appended: list[bytes] = []
        self._appended_seg: Segment | None = None
        self.fresh: list[bytes] = []
        self.fresh_after = 0  # the id before fresh[0]
        self._fresh_bytes = 0
        self._fd: int | None = None
        self.pins: dict[object, int] = {}
        self.purged_segments = 0
        self._open_segments()

    # ---- opening ----

    def _read_manifest(self) -> int:
        mpath = os.path.join(self.path, MANIFEST)
        try:
            with open(mpath) as f:
                info = json.load(f)
            self.last_term = int(info.get("last_term", 0))
            return int(info["term"])
        except FileNotFoundError:
            self._write_manifest(1)
            return 1
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise BinlogError(f"cannot read {mpath}: {e}") from None

    def _write_manifest(self, term: int) -> None:
        mpath = os.path.join(self.path, MANIFEST)
        tmp = mpath + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"term": term, "last_term": self.last_term}, f)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, mpath)

    def _open_segments(self) -> None:
        numbers = sorted(
            int(m.group(1)) for m in map(_SEGMENT_RE.match, os.listdir(self.path)) if m
        )
        for i, number in enumerate(numbers):
            spath = os.path.join(self.path, f"{SEGMENT_PREFIX}{number}")
            header = _read_header(spath)
            if header is None:
                if i != len(numbers) - 1:
                    raise BinlogError(f"{spath}: torn segment header before the last segment")
                # A crash while a rotation created the file: nothing of it was acknowledged.
                log.warning(f"binlog {self.name}: removing {spath} (torn segment header)")
                os.unlink(spath)
                break
            first_id, first_offset, term = header
            seg = Segment(number, spath, first_id, first_offset, term, os.path.getsize(spath))
            if self.segments:
                prev = self.segments[-1]
                if first_id <= prev.first_id:
                    raise BinlogError(f"{spath}: segment ids out of order")
            self.segments.append(seg)
        if not self.segments:
            self.last_id = self.offset = 0
        else:
            self.last_term = self.segments[-1].term  # unless the tail holds a record
            self._scan_tail(self.segments[-1])
        self.durable_id, self.durable_offset = self.last_id, self.offset
        if self.segments:
            self._fd = os.open(self.segments[-1].path, os.O_WRONLY | os.O_APPEND)

    def _scan_tail(self, seg: Segment) -> None:
        """Find the end of the last segment; cut a torn or corrupt tail back."""
        next_id, offset = seg.first_id, seg.first_offset
        pos = SEGMENT_HEADER_SIZE
        bad = ""
        with open(seg.path, "rb") as f:
            for rec, _raw, end in _iter_file(f, pos, seg.size):
                if isinstance(rec, BinlogError):
                    bad = str(rec)
                    break
                if rec.id != next_id or rec.offset != offset:
                    bad = (
                        f"record id {rec.id} offset {rec.offset} where id {next_id} offset "
                        f"{offset} was expected"
                    )
                    break
                next_id += 1
                offset += rec.size
                pos = end
                self.last_term = rec.term
        if pos < seg.size:
            log.warning(
                f"binlog {self.name}: truncating {seg.path} from {seg.size} to {pos} bytes "
                f"(torn or corrupt tail after record {next_id - 1}: {bad})"
            )
            with open(seg.path, "r+b") as f:
                f.truncate(pos)
                f.flush()
                os.fsync(f.fileno())
            seg.size = pos
        self.last_id = next_id - 1
        self.offset = offset

    def reset(self, last_id: int, offset: int) -> None:
        """Drop every segment and continue after (last_id, offset): RocksDB has applied
        records this binlog lost (both files unsynced at a power loss)."""
        self._close_fd()
        for seg in self.segments:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(seg.path)
        self.segments = []
        self._staged = []
        self._drop_fresh()
        self.last_id = self.durable_id = last_id
        self.offset = self.durable_offset = offset

    # ---- writing (Shard._write) ----

    @property
    def staged(self) -> bool:
        return bool(self._staged)

    def append(self) -> int:
        """Write the staged records (one os.write). -> the segment size before them, for
        rollback(). On an OSError nothing stays written or staged."""
        staged = self._staged
        data = staged[0] if len(staged) == 1 else b"".join(staged)
        self._staged = []
        try:
            seg = self._current_segment(len(data))
            before = seg.size
            try:
                _write_all(self._fd, data)  # type: ignore[arg-type]
                if self.sync:
                    os.fdatasync(self._fd)  # type: ignore[arg-type]
            except OSError:
                self._cut(seg, before)
                raise
        except OSError:
            self.last_id, self.offset = self.durable_id, self.durable_offset
            raise
        seg.size = before + len(data)
        self._appended = staged
        self._appended_seg = seg
        return before

    def applied(self) -> bool:
        """The appended records are in RocksDB too. -> whether they are the first fresh
        records since the last take_fresh()."""
        first = not self.fresh
        if first:
            self.fresh_after = self.durable_id
        appended, self._appended = self._appended, []
        self.fresh += appended
        self._fresh_bytes += self.offset - self.durable_offset  # the appended records' size
        self.durable_id, self.durable_offset = self.last_id, self.offset
        if self._pending_term is not None:
            self.last_term = self._pending_term
            self._pending_term = None
        if self._fresh_bytes > FRESH_MAX_BYTES:
            # Nobody takes them (no event loop drives this binlog): the file has them.
            self._drop_fresh()
        return first

    def take_fresh(self) -> Fresh | None:
        """The records durable since the last take, and where they end in the file."""
        if not self.fresh:
            return None
        seg = self.segments[-1] if self.segments else None
        out = Fresh(self.fresh_after, self.fresh, seg, seg.size if seg else 0)
        self._drop_fresh()
        return out

    def _drop_fresh(self) -> None:
        self.fresh = []
        self._fresh_bytes = 0
        self.fresh_after = self.durable_id

    def rollback(self, before: int) -> None:
        """RocksDB refused the write of the records appended last: cut them off again."""
        self._staged = []
        self._appended = []
        self._pending_term = None
        self._cut(self.segments[-1], before)
        self.last_id, self.offset = self.durable_id, self.durable_offset

    def state(self) -> bytes:
        """The RocksDB system record written with the records' ops (see encoding.py)."""
        return _STATE.pack(self.term, self.last_id, self.offset)

    def _cut(self, seg: Segment, size: int) -> None:
        os.ftruncate(self._fd, size)  # type: ignore[arg-type]
        seg.size = size

    def _current_segment(self, incoming: int) -> Segment:
        segs = self.segments
        if segs:
            seg = segs[-1]
            if seg.size == SEGMENT_HEADER_SIZE or seg.size + incoming <= self.segment_size:
                return seg
            number = seg.number + 1
        else:
            number = 1
        return self._new_segment(number)

    def _new_segment(self, number: int) -> Segment:
        spath = os.path.join(self.path, f"{SEGMENT_PREFIX}{number}")
        header = _SEG_HEADER.pack(
            SEGMENT_MAGIC, self.durable_id + 1, self.durable_offset, self.term
        )
        fd = os.open(spath, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, header)
            if self.sync:
                os.fsync(fd)
                dfd = os.open(self.path, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(spath)
            raise
        self._close_fd()
        self._fd = fd
        seg = Segment(
            number, spath, self.durable_id + 1, self.durable_offset, self.term, len(header)
        )
        self.segments.append(seg)
        return seg

    def set_last_term(self, last_term: int) -> None:
        """A full sync continued this (empty) binlog after a record of term last_term."""
        self.last_term = last_term
        self._write_manifest(self.term)

    def matches(self, id_: int, term: int, offset: int) -> bool:
        """Whether this binlog's record id_ has term `term` and ends at `offset`: a
        replica at that position shares this history (divergence check of a sync)."""
        if id_ == 0:
            return offset == 0
        if id_ == self.durable_id:
            return term == self.last_term and offset == self.durable_offset
        if not self.first_id <= id_ < self.durable_id:
            return False
        reader = BinlogReader(self, id_ - 1)
        try:
            recs = reader.read(1)
        finally:
            reader.close()
        if not recs or recs[0][0].id != id_:
            return False
        rec = recs[0][0]
        return rec.term == term and rec.offset + rec.size == offset

    def set_term(self, term: int) -> None:
        """A promotion: records written from now on carry term (persisted first)."""
        self._write_manifest(term)
        self.term = term

    # ---- reading ----

    @property
    def first_id(self) -> int:
        """The oldest id held (durable_id + 1 when no record is held)."""
        return self.segments[0].first_id if self.segments else self.durable_id + 1

    def holds(self, after_id: int) -> bool:
        """Whether every record after after_id (up to the newest) is still here."""
        return self.first_id - 1 <= after_id <= self.durable_id

    def reader(self, after_id: int) -> BinlogReader | None:
        """A reader of the records after after_id; None when they are not all held (purged,
        or an id this binlog never reached)."""
        if not self.holds(after_id):
            return None
        return BinlogReader(self, after_id)

    def records_after(self, after_id: int) -> Iterator[tuple[Record, bytes]]:
        reader = self.reader(after_id)
        if reader is None:
            raise BinlogError(f"binlog {self.name}: records after id {after_id} are not held")
        try:
            while True:
                chunk = reader.read()
                if not chunk:
                    return
                yield from chunk
        finally:
            reader.close()

    def _segment_for(self, id_: int) -> int:
        """Index of the segment holding id_ (or where it will be written)."""
        segs = self.segments
        lo, hi = 0, len(segs) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if segs[mid].first_id <= id_:
                lo = mid
            else:
                hi = mid - 1
        return lo

    # ---- retention ----

    def pin(self, owner: object, after_id: int) -> None:
        """Keep every record after after_id until unpin(owner) (a replica reading there)."""
        self.pins[owner] = after_id

    def unpin(self, owner: object) -> None:
        self.pins.pop(owner, None)

    def over_limits(self, keep_segments: int, max_bytes: int) -> bool:
        """Segments beyond the retention limits (purge() deletes them unless pinned)."""
        return len(self.segments) > 1 and (
            len(self.segments) > max(1, keep_segments) or self.total_bytes > max_bytes
        )

    def purge(self, keep_segments: int, max_bytes: int) -> int:
        """Delete the oldest segments beyond the limits (never the segment being written,
        never one holding a record after a pinned id). -> segments deleted."""
        keep_segments = max(1, keep_segments)
        floor = min(self.pins.values()) if self.pins else None
        total = self.total_bytes
        n = 0
        segs = self.segments
        while len(segs) > 1 and (len(segs) > keep_segments or total > max_bytes):
            seg, nxt = segs[0], segs[1]
            if floor is not None and nxt.first_id - 1 > floor:
                break  # a pinned reader still needs records of seg
            with contextlib.suppress(FileNotFoundError):
                os.unlink(seg.path)
            total -= seg.size
            del segs[0]
            n += 1
            log.verbose(f"binlog {self.name}: purged {seg.path} (ids up to {nxt.first_id - 1})")
        self.purged_segments += n
        return n

    # ---- figures ----

    @property
    def total_bytes(self) -> int:
        return sum(s.size for s in self.segments)

    def stats(self) -> dict[str, int]:
        return {
            "segments": len(self.segments),
            "bytes": self.total_bytes,
            "first_id": self.first_id,
            "last_id": self.durable_id,
            "offset": self.durable_offset,
            "term": self.term,
        }

    # ---- closing ----

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        self._staged = []
        self._close_fd()


def _iter_file(f, pos: int, end: int) -> Iterator[tuple[Record | BinlogError, bytes, int]]:
    """(record, raw bytes, end position) of each record of an open segment from pos to end;
    a record that cannot be decoded yields its BinlogError and ends the iteration."""
    while pos < end:
        f.seek(pos)
        buf = f.read(min(_SCAN_CHUNK, end - pos))
        i = 0
        while True:
            try:
                rec, nxt = decode_record(buf, i)
            except BinlogTruncated as e:
                if pos + len(buf) >= end:  # nothing more on disk: a torn record
                    if i < len(buf):
                        yield e, b"", pos + i
                    return
                if i == 0:  # a record bigger than one chunk: read it whole
                    try:
                        n = record_size(buf, 0)
                    except BinlogError as e2:
                        yield e2, b"", pos
                        return
                    f.seek(pos)
                    buf = f.read(min(n, end - pos))
                    if len(buf) < n:
                        yield e, b"", pos
                        return
                    continue
                break  # refill from the record's start
            except BinlogError as e:
                yield e, b"", pos + i
                return
            yield rec, buf[i:nxt], pos + nxt
            i = nxt
        pos += i


class BinlogReader:
    """Iterates the records of a ShardBinlog after a given id, in chunks (event-loop
    friendly: each read() does bounded work). Reads only what is durable (appended and
    applied); new records show up in later read() calls. Keeps its segment open, so a purge
    of an unpinned reader's segment does not break the chunk in progress."""

    def __init__(self, binlog: ShardBinlog, after_id: int) -> None:
        self.binlog = binlog
        self.last_id = after_id  # id of the last record returned
        self._seg: Segment | None = None
        self._f = None
        self._pos = SEGMENT_HEADER_SIZE
        if binlog.segments:
            self._open(binlog._segment_for(after_id + 1))
            self._skip_to(after_id)

    def _open(self, index: int) -> None:
        if self._f is not None:
            self._f.close()
        self._seg = self.binlog.segments[index]
        self._f = open(self._seg.path, "rb")  # noqa: SIM115 - lives as long as the reader
        self._pos = SEGMENT_HEADER_SIZE

    def _limit(self) -> int:
        # Records past the durable id (appended during a write not yet applied) are cut
        # by id in read(); the reader never runs inside Shard._write anyway.
        assert self._seg is not None
        return self._seg.size

    def _skip_to(self, after_id: int) -> None:
        """Position after record after_id by walking record headers (skip_records), a chunk
        at a time: a 64 MB segment is passed in milliseconds, not record by record."""
        seg = self._seg
        f = self._f
        assert seg is not None and f is not None
        if seg.first_id > after_id:
            return
        end = self._limit()
        while self._pos < end:
            f.seek(self._pos)
            buf = f.read(min(_SCAN_CHUNK, end - self._pos))
            pos, last = skip_records(buf, 0, after_id)
            if pos == 0:
                n = record_size(buf, 0)
                if n > len(buf):  # one record bigger than the chunk: read it whole
                    f.seek(self._pos)
                    pos, last = skip_records(f.read(n), 0, after_id)
                if pos == 0:
                    return  # the next record is after after_id (or a torn tail)
            self._pos += pos
            if last >= after_id:
                return

    def read(self, max_bytes: int = 256 << 10) -> list[tuple[Record, bytes]]:
        """The next records (at least one when there is one, about max_bytes at most)."""
        out: list[tuple[Record, bytes]] = []
        if self._seg is None:
            b = self.binlog
            if not b.segments or b.durable_id <= self.last_id:
                return out
            self._open(b._segment_for(self.last_id + 1))
            self._skip_to(self.last_id)
        size = 0
        durable_id = self.binlog.durable_id
        while self.last_id < durable_id and size < max_bytes:
            limit = self._limit()
            if self._pos >= limit:
                if not self._next_segment():
                    break
                continue
            assert self._f is not None
            for rec, raw, end in _iter_file(self._f, self._pos, limit):
                if isinstance(rec, BinlogError):
                    raise rec
                if rec.id > durable_id:
                    break
                if rec.id != self.last_id + 1:
                    raise BinlogError(
                        f"binlog {self.binlog.name}: record id {rec.id} after {self.last_id}"
                    )
                out.append((rec, raw))
                self._pos = end
                self.last_id = rec.id
                size += len(raw)
                if size >= max_bytes or self.last_id >= durable_id:
                    break
            else:
                if not self._next_segment():
                    break
        return out

    def take(self, fresh: Fresh) -> bool:
        """Advance over records handed from memory, if they are the next ones."""
        if fresh.after_id != self.last_id:
            return False
        self.last_id = fresh.last_id
        if fresh.seg is not None and fresh.seg is self._seg:
            self._pos = fresh.end
        elif self._f is not None:  # they ended in a newer segment: reopen when behind
            self._f.close()
            self._f = None
            self._seg = None
        return True

    def _next_segment(self) -> bool:
        segs = self.binlog.segments
        seg = self._seg
        for i, s in enumerate(segs):
            if seg is not None and s.number > seg.number:
                self._open(i)
                return True
        return False

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
