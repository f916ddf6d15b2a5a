"""Lists on RocksDB: index-addressed element records, so a point or range of a list of millions
is read without touching the rest (Pika's layout).

Layout (type 3; see storage/encoding.py for the frozen frame)
-------------------------------------------------------------
    META   count = number of elements; extra = u64 `head`, the index of the first element
    DATA   suffix = big-endian u64 index, value = the element

The elements of a list are the records at indexes head .. head+count-1, contiguous. A new
list (new version) starts in the middle of the u64 range (2**63), so LPUSH (writes at head-1)
and RPUSH (writes at head+count) both have ~2**63 pushes of room. Element i is a point read
at head+i (LINDEX, LSET); a range is one bounded iterator (LRANGE, LPOS, pops); big-endian
indexes make bytewise order list order.

Middle edits (LINSERT, LREM) keep the records contiguous by moving the shorter side: the part
of the list between the edit and the nearer end is rewritten one slot over. That is O(n) in
the worst case, as in Redis (a quicklist insert is O(n) too), and usually much less.
An emptied list disappears (its meta is deleted in the same batch; the element records are
purged with it when small, else left to the background reclaimer, as for every collection).

Functions take the Database and `now` (unix ms, read once per command), return Python values
and raise WrongTypeError / CommandError with Redis's texts; the handlers (commands/lists.py)
shape replies.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pikadb import errors
from pikadb.errors import CommandError, WrongTypeError
from pikadb.keycodec import T_LIST, Meta, data_prefix
from pikadb.storage.writeset import WriteSet

if TYPE_CHECKING:
    from pikadb.storage.database import Database
    from pikadb.storage.shard import Shard

_U64 = struct.Struct(">Q")
_pack = _U64.pack
MID = 1 << 63  # head index of a new list

# Up to this many elements are read by point lookups rather than an iterator (pops).
_POINT_READS = 8

# Ranges of at least this many records are removed with one range tombstone (LTRIM).
_RANGE_DELETE_MIN = 64

__all__ = [
    "MID",
    "blocking_pop",
    "head_of",
    "lindex",
    "linsert",
    "llen",
    "lmove",
    "lpos",
    "lrange",
    "lrem",
    "lset",
    "ltrim",
    "mpop",
    "pop",
    "push",
]


def head_of(meta: Meta) -> int:
    extra = meta.extra
    return _U64.unpack_from(extra)[0] if extra else MID


class _List:
    """One live list as this command sees it: where its records are, head and count."""

    __slots__ = ("count", "head", "key", "meta", "prefix", "shard")

    def __init__(self, db: Database, key: bytes, meta: Meta) -> None:
        self.key = key
        self.meta = meta
        self.shard: Shard = db.shard_for(key)
        self.prefix = data_prefix(db.pdb, key, meta.version)
        self.head = head_of(meta)
        self.count = meta.count

    def k(self, i: int) -> bytes:
        """Record key of relative position i (may be outside 0..count-1 when growing)."""
        return self.prefix + _pack(self.head + i)

    def get(self, i: int) -> bytes | None:
        return self.shard.get(self.prefix + _pack(self.head + i))

    def read_few(self, start: int, stop: int) -> list[bytes]:
        """Like read(), by point reads (one multi-get): cheaper than an iterator for a few."""
        prefix, head = self.prefix, self.head
        if stop - start == 1:
            v = self.shard.get(prefix + _pack(head + start))
            return [] if v is None else [v]
        got = self.shard.get([prefix + _pack(head + i) for i in range(start, stop)])
        return [v for v in got if v is not None]

    def read(self, start: int, stop: int) -> list[bytes]:
        """Values at relative positions start..stop-1, in list order."""
        if start >= stop:
            return []
        it = self.shard.iterator(self.k(start), self.k(stop))
        out: list[bytes] = []
        append = out.append
        valid, value, nxt = it.valid, it.value, it.next
        while valid():
            append(value())
            nxt()
        return out

    def read_rev(self, start: int, stop: int) -> list[bytes]:
        """Values at relative positions stop-1 down to start (tail first)."""
        if start >= stop:
            return []
        it = self.shard.iterator(self.k(start), self.k(stop))
        it.seek_for_prev(self.k(stop - 1))
        out: list[bytes] = []
        append = out.append
        valid, value, prev = it.valid, it.value, it.prev
        # Counted, not bounded: the iterator has no lower bound (see shard.BoundedIter), and
        # the records of a list are contiguous.
        for _ in range(stop - start):
            if not valid():
                break
            append(value())
            prev()
        return out

    def read_iter(self) -> Iterator[bytes]:
        """Every value, head first, lazily (for scans that may stop early)."""
        it = self.shard.iterator(self.k(0), self.k(self.count))
        valid, value, nxt = it.valid, it.value, it.next
        while valid():
            yield value()
            nxt()

    def read_rev_iter(self) -> Iterator[bytes]:
        """Every value, tail first, lazily."""
        it = self.shard.iterator(self.k(0), self.k(self.count))
        it.seek_for_prev(self.k(self.count - 1))
        valid, value, prev = it.valid, it.value, it.prev
        for _ in range(self.count):  # counted: no lower bound (see read_rev)
            if not valid():
                break
            yield value()
            prev()

    def meta_for(self, old: Meta) -> Meta:
        new = old.copy()
        new.count = self.count
        new.extra = _pack(self.head)
        return new


def _live(meta: Meta | None) -> bool:
    """A list meta (None: no key); WrongTypeError for another type."""
    if meta is None:
        return False
    if meta.type != T_LIST:
        raise WrongTypeError()
    return True


def _read_meta(db: Database, key: bytes, now: int) -> Meta | None:
    meta = db.lookup(key, now)
    return meta if _live(meta) else None


def _save(ws: WriteSet, db: Database, lst: _List, old: Meta) -> None:
    """Write the list's new meta, or delete the key when it became empty (its element
    records are deleted already: no purge scan, no garbage for the reclaimer)."""
    if lst.count:
        ws.put(db, lst.key, lst.meta_for(old), old)
    else:
        ws.delete(db, lst.key, old, purge=False)


def _delete_list(ws: WriteSet, db: Database, lst: _List, old: Meta) -> None:
    """Delete the key and exactly its element records: a list's records are contiguous,
    so this is at most one range tombstone, however long the list (the generic purge would
    scan the version's prefix, over every tombstone its pops left)."""
    _delete_positions(ws, lst, 0, lst.count)
    ws.delete(db, lst.key, old, purge=False)


def _delete_positions(ws: WriteSet, lst: _List, start: int, stop: int) -> None:
    """Remove the records of relative positions start..stop-1."""
    n = stop - start
    if n <= 0:
        return
    b = ws.batch(lst.shard)
    if n >= _RANGE_DELETE_MIN:
        b.delete_range(lst.k(start), lst.k(stop))
        return
    prefix, head = lst.prefix, lst.head
    for i in range(start, stop):
        b.delete(prefix + _pack(head + i))


def _normalize_range(start: int, stop: int, n: int) -> tuple[int, int] | None:
    """Redis's LRANGE/LTRIM index arithmetic -> [start, stop] inclusive, None if empty."""
    if start < 0:
        start += n
    if stop < 0:
        stop += n
    if start < 0:
        start = 0
    if start > stop or start >= n:
        return None
    if stop >= n:
        stop = n - 1
    return start, stop


# ---- reads ----


def llen(db: Database, key: bytes, now: int) -> int:
    meta = _read_meta(db, key, now)
    return meta.count if meta is not None else 0


def lindex(db: Database, key: bytes, index: int, now: int) -> bytes | None:
    meta = _read_meta(db, key, now)
    if meta is None:
        return None
    n = meta.count
    if index < 0:
        index += n
    if index < 0 or index >= n:
        return None
    return _List(db, key, meta).get(index)


def lrange(db: Database, key: bytes, start: int, stop: int, now: int) -> list[bytes]:
    meta = _read_meta(db, key, now)
    if meta is None:
        return []
    r = _normalize_range(start, stop, meta.count)
    if r is None:
        return []
    return _List(db, key, meta).read(r[0], r[1] + 1)


def lpos(
    db: Database,
    key: bytes,
    elem: bytes,
    now: int,
    *,
    rank: int = 1,
    count: int | None = None,
    maxlen: int = 0,
) -> int | list[int] | None:
    """LPOS: the index of the rank-th match (rank < 0: counting from the tail), or with
    count the indexes of up to count matches from there (count 0: all); maxlen bounds the
    number of elements compared (0: all). None / [] when nothing matches or no key."""
    meta = _read_meta(db, key, now)
    if meta is None:
        return [] if count is not None else None
    lst = _List(db, key, meta)
    n = lst.count
    from_tail = rank < 0
    if rank == -(1 << 63):
        # Redis's `rank = -rank` leaves LLONG_MIN negative: every match qualifies, and
        # `matches - rank + 1` overflows negative, so COUNT never stops the scan.
        rank = 1
        if count:
            count = 0
    elif from_tail:
        rank = -rank
    scan = n if maxlen == 0 else min(maxlen, n)
    if from_tail:
        it = lst.shard.iterator(lst.k(n - scan), lst.k(n))
        it.seek_for_prev(lst.k(n - 1))
        step = it.prev
    else:
        it = lst.shard.iterator(lst.k(0), lst.k(scan))
        step = it.next
    valid, value = it.valid, it.value
    matches = 0
    found: list[int] = []
    index = 0
    # Counted: a backwards iterator has no lower bound (see _List.read_rev).
    while index < scan and valid():
        if value() == elem:
            matches += 1
            if matches >= rank:
                pos = n - index - 1 if from_tail else index
                if count is None:
                    return pos
                found.append(pos)
                if count and matches - rank + 1 >= count:
                    break
        index += 1
        step()
    return found if count is not None else None


# ---- pushes and pops ----


def push(
    db: Database, key: bytes, values: list[bytes], now: int, *, left: bool, xx: bool = False
) -> int:
    """LPUSH/RPUSH (xx: LPUSHX/RPUSHX, nothing is created). -> the new length (0 if xx and
    there is no list). Like Redis, LPUSH a b c leaves c first."""
    # The hot path of LPUSH/RPUSH benchmarks: kept free of the _List helper.
    ws = WriteSet(db.engine, now)
    old = ws.lookup(db, key)
    if old is not None:
        if old.type != T_LIST:
            ws.commit()
            raise WrongTypeError()
        new = old.copy()
        extra = old.extra
        head = _U64.unpack_from(extra)[0] if extra else MID
    elif xx:
        ws.commit()
        return 0
    else:
        new = Meta(T_LIST, version=ws.new_version(db, key))
        head = MID
    prefix = data_prefix(db.pdb, key, new.version)
    b = ws.batch(db.shard_for(key))
    n = new.count
    if left:
        for v in values:
            head -= 1
            b.put(prefix + _pack(head), v)
    else:
        i = head + n
        for v in values:
            b.put(prefix + _pack(i), v)
            i += 1
    new.count = n = n + len(values)
    new.extra = _pack(head)
    ws.put(db, key, new, old)
    ws.commit()
    return n


def _push_into(ws: WriteSet, lst: _List, values: list[bytes], left: bool) -> None:
    b = ws.batch(lst.shard)
    prefix = lst.prefix
    if left:
        i = lst.head
        for v in values:
            i -= 1
            b.put(prefix + _pack(i), v)
        lst.head = i
    else:
        i = lst.head + lst.count
        for v in values:
            b.put(prefix + _pack(i), v)
            i += 1
    lst.count += len(values)


def _pop_from(ws: WriteSet, lst: _List, n: int, left: bool) -> list[bytes]:
    """Take n (<= count) elements off one end, in pop order, deleting their records."""
    if left:
        vals = lst.read_few(0, n) if n <= _POINT_READS else lst.read(0, n)
        _delete_positions(ws, lst, 0, n)
        lst.head += n
    else:
        c = lst.count
        if n <= _POINT_READS:
            vals = lst.read_few(c - n, c)
            vals.reverse()
        else:
            vals = lst.read_rev(c - n, c)
        _delete_positions(ws, lst, c - n, c)
    lst.count -= n
    return vals


def pop(
    db: Database, key: bytes, now: int, *, left: bool, count: int | None = None
) -> bytes | list[bytes] | None:
    """LPOP/RPOP: one element (count None) or a list of up to count; None if no key."""
    ws = db.writes(now)
    old = ws.lookup(db, key)
    if not _live(old):
        ws.commit()
        return None
    if count == 0:
        ws.commit()
        return []
    if count is None:
        # One element: the hot path of LPOP/RPOP benchmarks, one point read.
        shard = db.shard_for(key)
        n = old.count
        extra = old.extra
        head = _U64.unpack_from(extra)[0] if extra else MID
        rk = data_prefix(db.pdb, key, old.version) + _pack(head if left else head + n - 1)
        value = shard.get(rk)
        ws.batch(shard).delete(rk)
        if n == 1:
            ws.delete(db, key, old, purge=False)
        else:
            new = old.copy()
            new.count = n - 1
            if left:
                new.extra = _pack(head + 1)
            ws.put(db, key, new, old)
        ws.commit()
        return value
    lst = _List(db, key, old)
    vals = _pop_from(ws, lst, min(count, lst.count), left)
    _save(ws, db, lst, old)
    ws.commit()
    return vals


def mpop(
    db: Database, keys: list[bytes], now: int, *, left: bool, count: int
) -> tuple[bytes, list[bytes]] | None:
    """LMPOP: up to count elements from the first non-empty list among keys. A key of
    another type met before a list raises WRONGTYPE (missing keys are skipped)."""
    for key in keys:
        meta = db.lookup(key, now)
        if _live(meta):
            vals = pop(db, key, now, left=left, count=count)
            assert isinstance(vals, list)
            return key, vals
    return None


def blocking_pop(
    db: Database, key: bytes, now: int, *, left: bool, count: int | None
) -> bytes | list[bytes] | None:
    """Serve a client blocked on key: like pop(), but a key of another type is just not
    ready (the client stays blocked, as in Redis)."""
    meta = db.lookup(key, now)
    if meta is None or meta.type != T_LIST:
        return None
    return pop(db, key, now, left=left, count=count)


def lmove(
    db: Database, src: bytes, dst: bytes, now: int, *, from_left: bool, to_left: bool
) -> bytes | None:
    """LMOVE/RPOPLPUSH: the element moved, None if src is missing. The destination's type is
    checked before anything is popped (WRONGTYPE leaves both lists as they were)."""
    ws = db.writes(now)
    old_src = ws.lookup(db, src)
    if not _live(old_src):
        ws.commit()
        return None
    s = _List(db, src, old_src)
    if src == dst:
        value = _rotate(ws, s, from_left, to_left)
        ws.put(db, src, s.meta_for(old_src), old_src)
        ws.commit()
        return value
    old_dst = ws.lookup(db, dst)
    if _live(old_dst):
        d = _List(db, dst, old_dst)
    else:
        d = _List(db, dst, Meta(T_LIST, version=ws.new_version(db, dst), extra=_pack(MID)))
    (value,) = _pop_from(ws, s, 1, from_left)
    _push_into(ws, d, [value], to_left)
    _save(ws, db, s, old_src)
    ws.put(db, dst, d.meta_for(old_dst if old_dst is not None else d.meta), old_dst)
    ws.commit()
    return value


def _rotate(ws: WriteSet, lst: _List, from_left: bool, to_left: bool) -> bytes:
    """LMOVE key key: pop one end, push the other (or the same) end of one list."""
    b = ws.batch(lst.shard)
    first, last = 0, lst.count - 1
    src_pos = first if from_left else last
    value = lst.get(src_pos)
    assert value is not None
    if from_left == to_left:
        return value  # popped and pushed back in place
    b.delete(lst.k(src_pos))
    if from_left:
        b.put(lst.k(lst.count), value)
        lst.head += 1
    else:
        b.put(lst.k(-1), value)
        lst.head -= 1
    return value


# ---- in-place edits ----


def lset(db: Database, key: bytes, index: int, value: bytes, now: int) -> None:
    ws = db.writes(now)
    old = ws.lookup(db, key)
    if not _live(old):
        ws.commit()
        raise CommandError(errors.NO_SUCH_KEY)
    n = old.count
    if index < 0:
        index += n
    if index < 0 or index >= n:
        ws.commit()
        raise CommandError(errors.OUT_OF_RANGE)
    lst = _List(db, key, old)
    ws.put_data(db, key, old.version, _pack(lst.head + index), value)
    ws.commit()


def linsert(db: Database, key: bytes, before: bool, pivot: bytes, value: bytes, now: int) -> int:
    """LINSERT: the new length, -1 if pivot is not found, 0 if there is no key."""
    ws = db.writes(now)
    old = ws.lookup(db, key)
    if not _live(old):
        ws.commit()
        return 0
    lst = _List(db, key, old)
    n = lst.count
    # Scan from the head for the pivot; what was read is what a left shift rewrites.
    seen: list[bytes] = []
    it = lst.shard.iterator(lst.k(0), lst.k(n))
    valid, val, nxt = it.valid, it.value, it.next
    p = -1
    i = 0
    while valid():
        v = val()
        seen.append(v)
        if v == pivot:
            p = i
            break
        i += 1
        nxt()
    if p < 0:
        ws.commit()
        return -1
    q = p if before else p + 1  # the new element's position
    b = ws.batch(lst.shard)
    prefix = lst.prefix
    if q <= n - q:
        # Move [0, q) one slot left; the new element takes the slot freed at q-1.
        base = lst.head - 1
        for j in range(q):
            b.put(prefix + _pack(base + j), seen[j])
        b.put(prefix + _pack(base + q), value)
        lst.head = base
    else:
        # Move [q, n) one slot right, then write the new element at q.
        rest = seen[q:] + lst.read(len(seen), n)
        base = lst.head + q + 1
        for j, v in enumerate(rest):
            b.put(prefix + _pack(base + j), v)
        b.put(prefix + _pack(lst.head + q), value)
    lst.count = n + 1
    ws.put(db, key, lst.meta_for(old), old)
    ws.commit()
    return lst.count


def lrem(db: Database, key: bytes, count: int, value: bytes, now: int) -> int:
    """LREM: remove up to |count| occurrences (count < 0: from the tail; 0: all)."""
    ws = db.writes(now)
    old = ws.lookup(db, key)
    if not _live(old):
        ws.commit()
        return 0
    lst = _List(db, key, old)
    n = lst.count
    limit = abs(count)  # Redis's LLONG_MIN stays negative: no limit, as 2**63 here
    if count < 0:
        # From the tail: positions n-1 down; vals[j] is position n-1-j.
        vals = _scan_matches(lst.read_rev_iter(), value, limit)
        read = len(vals[0])
        removed = sorted(n - 1 - j for j in vals[1])
        known_from = n - read  # positions known_from..n-1 were read
        known = vals[0][::-1]
        known_lo, known_hi = known_from, n
    else:
        vals = _scan_matches(lst.read_iter(), value, limit)
        read = len(vals[0])
        removed = vals[1]
        known = vals[0]
        known_lo, known_hi = 0, read
    k = len(removed)
    if not k:
        ws.commit()
        return 0
    if k == n:
        _delete_list(ws, db, lst, old)
        ws.commit()
        return k
    _compact(ws, lst, removed, known, known_lo, known_hi)
    ws.put(db, key, lst.meta_for(old), old)
    ws.commit()
    return k


def _scan_matches(
    values: Iterable[bytes], target: bytes, limit: int
) -> tuple[list[bytes], list[int]]:
    """Read values in order until `limit` matches (0: no limit): (values read, match offsets)."""
    seen: list[bytes] = []
    hits: list[int] = []
    for i, v in enumerate(values):
        seen.append(v)
        if v == target:
            hits.append(i)
            if len(hits) == limit:
                break
    return seen, hits


def _compact(
    ws: WriteSet,
    lst: _List,
    removed: list[int],
    known: list[bytes],
    known_lo: int,
    known_hi: int,
) -> None:
    """Drop the elements at the sorted relative positions `removed`, keeping the records
    contiguous by moving the cheaper side. known = values of positions known_lo..known_hi-1."""
    n = lst.count
    first, last = removed[0], removed[-1]
    gone = set(removed)
    # Left side: rewrite [0, last] flush against last (head moves right).
    cost_left = last + 1 + (known_lo if known_lo > 0 else 0)
    # Right side: rewrite [first, n) flush against first.
    cost_right = n - first + (n - known_hi)
    b = ws.batch(lst.shard)
    prefix = lst.prefix
    k = len(removed)
    if cost_left <= cost_right:
        seg = _values(lst, known, known_lo, known_hi, 0, last + 1)
        keep = [v for j, v in enumerate(seg) if j not in gone]
        new_head = lst.head + k
        for j, v in enumerate(keep):
            b.put(prefix + _pack(new_head + j), v)
        _delete_positions(ws, lst, 0, k)
        lst.head = new_head
    else:
        seg = _values(lst, known, known_lo, known_hi, first, n)
        keep = [v for j, v in enumerate(seg, first) if j not in gone]
        base = lst.head + first
        for j, v in enumerate(keep):
            b.put(prefix + _pack(base + j), v)
        _delete_positions(ws, lst, n - k, n)
    lst.count = n - k


def _values(
    lst: _List, known: list[bytes], known_lo: int, known_hi: int, start: int, stop: int
) -> list[bytes]:
    """Values of positions start..stop-1, from `known` where possible, else read."""
    out: list[bytes] = []
    if start < known_lo:
        out += lst.read(start, min(stop, known_lo))
    lo, hi = max(start, known_lo), min(stop, known_hi)
    if lo < hi:
        out += known[lo - known_lo : hi - known_lo]
    if stop > known_hi:
        out += lst.read(max(start, known_hi), stop)
    return out


def ltrim(db: Database, key: bytes, start: int, stop: int, now: int) -> None:
    ws = db.writes(now)
    old = ws.lookup(db, key)
    if not _live(old):
        ws.commit()
        return
    n = old.count
    r = _normalize_range(start, stop, n)
    lst = _List(db, key, old)
    if r is None:
        _delete_list(ws, db, lst, old)
        ws.commit()
        return
    s, e = r
    if s == 0 and e == n - 1:
        ws.commit()
        return
    _delete_positions(ws, lst, 0, s)
    _delete_positions(ws, lst, e + 1, n)
    lst.head += s
    lst.count = e - s + 1
    ws.put(db, key, lst.meta_for(old), old)
    ws.commit()
