"""Walking the element records of one collection: whole reads, cursor pages, random picks.

Every collection type keeps one DATA record per element under the prefix
`data_prefix(pdb, key, version)` (storage/encoding.py), in bytewise order of the element
suffix. The helpers here work on that prefix only, so hashes, sets and zsets share them;
a type whose records are split into groups (a zset's member records beside its score
index, say) passes `sub` to restrict a walk to the records whose suffix starts with it.

Cursors (HSCAN / SSCAN / ZSCAN)
-------------------------------
A page resumes just past the last suffix it returned, so an element present for the whole
iteration is returned exactly once, however many elements come and go meanwhile (a
stronger guarantee than Redis's, which may repeat elements across a rehash). The position
lives in the engine's CursorTable (storage/scan.py) under a fresh number, tagged with
ELEM_TAG in place of SCAN's shard index: the tag is larger than any shard count, so a
HSCAN cursor handed to SCAN just ends that iteration, and a SCAN cursor handed to HSCAN
(any position without the tag) ends this one, as does a cursor the table forgot. The
position holds only the suffix, not the key or version: like a Redis cursor, it is a place
in element order, valid for any key of the type.

Random picks (HRANDFIELD, SRANDMEMBER, SPOP, ZRANDMEMBER)
--------------------------------------------------------
RocksDB has no "n-th record" lookup. Small collections (or big requests) are read whole
and sampled with the `random` module, which is exactly uniform. Big ones are probed
(Prober): a seek to a random point shaped like the first and last suffix, then a short
random walk forward. A probe costs a seek and a few steps, and is only roughly uniform (a
record after a wide gap in key space is picked more often); the count and distinctness
rules of the commands hold either way.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from pikadb.keycodec import data_prefix
from pikadb.storage.encoding import prefix_successor
from pikadb.storage.scan import SCAN_SLICE_S

if TYPE_CHECKING:
    from pikadb.storage.database import Database
    from pikadb.storage.shard import BoundedIter

# Stands where SCAN keeps a shard index in a CursorTable position (see the module doc).
ELEM_TAG = 1 << 40

# Collections up to this size are read whole for random picks (exact uniformity, and one
# iterator pass is cheaper than a handful of seeks at this size).
SMALL = 128

# An element record as a walk yields it: (suffix after `sub`, value or None).
Element = tuple[bytes, bytes | None]


def _bounds(db: Database, key: bytes, version: int, sub: bytes) -> tuple[bytes, bytes, int]:
    """(first record key, end bound, offset of the suffix) of one collection's records."""
    prefix = data_prefix(db.pdb, key, version) + sub
    end = prefix_successor(prefix)
    assert end is not None  # the prefix starts with 0x02
    return prefix, end, len(prefix)


def read_suffixes(db: Database, key: bytes, version: int, sub: bytes = b"") -> list[bytes]:
    """Every element suffix of a collection, in storage order (no values read)."""
    start, end, cut = _bounds(db, key, version, sub)
    it = db.shard_for(key).iterator(start, end)
    out: list[bytes] = []
    append = out.append
    valid, k, nxt = it.valid, it.key, it.next
    while valid():
        append(k()[cut:])
        nxt()
    return out


def read_elements(db: Database, key: bytes, version: int, sub: bytes = b"") -> list[Element]:
    """Every (suffix, value) of a collection, in storage order."""
    start, end, cut = _bounds(db, key, version, sub)
    it = db.shard_for(key).iterator(start, end)
    out: list[Element] = []
    append = out.append
    valid, k, v, nxt = it.valid, it.key, it.value, it.next
    while valid():
        append((k()[cut:], v()))
        nxt()
    return out


def read_values(db: Database, key: bytes, version: int, sub: bytes = b"") -> list[bytes]:
    """Every value of a collection, in storage order."""
    start, end, _ = _bounds(db, key, version, sub)
    it = db.shard_for(key).iterator(start, end)
    out: list[bytes] = []
    append = out.append
    valid, v, nxt = it.valid, it.value, it.next
    while valid():
        append(v())
        nxt()
    return out


# ---- cursor pages ----


def scan_page(
    db: Database,
    key: bytes,
    version: int,
    cursor: int,
    count: int,
    matcher: Callable[[bytes], bool] | None,
    emit: Callable[[list, bytes, bytes | None], None],
    *,
    values: bool = True,
    sub: bytes = b"",
) -> tuple[int, list]:
    """One page of a *SCAN over a collection's records: examine up to `count` records past
    the cursor's position, emit(out, suffix, value) for those whose suffix matches.
    -> (next cursor, 0 when the walk is complete; out)."""
    cursors = db.engine.cursors
    last: bytes | None = None
    if cursor:
        pos = cursors.resolve(cursor)
        if pos is None or pos[0] != ELEM_TAG:
            return 0, []
        last = pos[1]
    start, end, cut = _bounds(db, key, version, sub)
    if last is not None:
        start = start + last + b"\x00"  # the first suffix after `last`
    it = db.shard_for(key).iterator(start, end)
    out: list = []
    budget = max(1, count)
    deadline = time.perf_counter() + SCAN_SLICE_S  # a huge COUNT is cut (see Database.scan)
    suffix = b""
    valid, k, v, nxt = it.valid, it.key, it.value, it.next
    while budget and valid():
        suffix = k()[cut:]
        budget -= 1
        if not budget & 1023 and time.perf_counter() > deadline:
            budget = 0
        if matcher is None or matcher(suffix):
            emit(out, suffix, v() if values else None)
        nxt()
    if not valid():
        return 0, out
    return cursors.store((ELEM_TAG, suffix)), out


def scan_all(
    db: Database,
    key: bytes,
    version: int,
    matcher: Callable[[bytes], bool] | None,
    *,
    values: bool = True,
    sub: bytes = b"",
) -> list[Element]:
    """The matching records of a whole collection: Redis answers a *SCAN of a compact
    encoding (listpack, intset) in one page with cursor 0, whatever COUNT says."""
    elements = (
        read_elements(db, key, version, sub)
        if values
        else [(s, None) for s in read_suffixes(db, key, version, sub)]
    )
    if matcher is None:
        return elements
    return [e for e in elements if matcher(e[0])]


# ---- random picks ----


def _probe_bounds(it: BoundedIter, start: bytes, end: bytes) -> tuple[bytes, bytes] | None:
    """(first, last) record keys of a range, or None if it is empty."""
    it.seek(start)
    if not it.valid():
        return None
    first = it.key()
    it.seek_for_prev(end)
    return first, (it.key() if it.valid() else first)


# Random bytes per probe point past the common prefix (more would discriminate nothing).
_PROBE_BYTES = 8
# Records walked past the landing place of a probe: uniform in [0, _WALK).
_WALK = 16
# Records read at each end of a collection to learn which byte values its keys use.
_SAMPLE = 16
# Learnt alphabets, per collection incarnation (data prefix): reading the samples costs
# more than a probe, and a collection's key alphabet rarely changes.
_ALPHABETS: OrderedDict[bytes, tuple[int, ...]] = OrderedDict()
_ALPHABETS_MAX = 1024


def _alphabet(it: BoundedIter, start: bytes, end: bytes, n: int, prefix: bytes) -> tuple[int, ...]:
    """The byte values used past the common prefix (length n) by the first and last
    _SAMPLE records of a collection (cached per collection prefix)."""
    known = _ALPHABETS.get(prefix)
    if known is not None:
        _ALPHABETS.move_to_end(prefix)
        return known
    seen: set[int] = set()
    it.seek(start)
    for _ in range(_SAMPLE):
        if not it.valid():
            break
        seen.update(it.key()[n : n + _PROBE_BYTES])
        it.next()
    it.seek_for_prev(end)
    for _ in range(_SAMPLE):
        if not it.valid():
            break
        seen.update(it.key()[n : n + _PROBE_BYTES])
        it.prev()
    if not seen:
        alphabet = tuple(range(256))
    elif 2 * len(seen) >= max(seen) - min(seen) + 1:
        # Dense (binary keys, one letter case...): the samples only missed some values.
        alphabet = tuple(range(min(seen), max(seen) + 1))
    else:
        alphabet = tuple(sorted(seen))
    _ALPHABETS[prefix] = alphabet
    if len(_ALPHABETS) > _ALPHABETS_MAX:
        _ALPHABETS.popitem(last=False)
    return alphabet


class Prober:
    """Random records of one big collection, by seeks to random points (see the module doc).

    A point is the common prefix of the first and last record keys, then a first byte
    between theirs, then bytes drawn from the byte values the collection's keys use (as
    sampled at both ends). Drawing from all 256 values instead would land most probes
    just past the same few keys of a printable key space (after "5\xa7..." comes "6" in
    "0".."99999"): bad randomness, and SPOP would keep seeking into its own tombstones."""

    __slots__ = (
        "_alphabet",
        "_b0",
        "_cut",
        "_first",
        "_it",
        "_prefix",
        "_walk",
        "_width",
        "values",
    )

    def __init__(
        self,
        it: BoundedIter,
        first: bytes,
        last: bytes,
        alphabet: tuple[int, ...],
        cut: int,
        size: int,
        values: bool,
    ) -> None:
        self._it = it
        self._cut = cut
        self.values = values
        n = _common(first, last)
        tf, tl = first[n:], last[n:]
        self._first = first
        self._prefix = first[:n]
        lo, hi = (tf[0] if tf else 0), (tl[0] if tl else 255)
        self._b0 = [b for b in alphabet if lo <= b <= hi] or list(range(lo, hi + 1))
        self._alphabet = alphabet
        self._width = min(max(len(tf), len(tl), 1), _PROBE_BYTES) - 1
        self._walk = min(_WALK, size)

    @classmethod
    def open(
        cls, db: Database, key: bytes, version: int, sub: bytes, size: int, values: bool
    ) -> Prober | None:
        """A prober over one collection's records (None if it has none)."""
        start, end, cut = _bounds(db, key, version, sub)
        it = db.shard_for(key).iterator(start, end)
        bounds = _probe_bounds(it, start, end)
        if bounds is None:
            return None
        first, last = bounds
        alphabet = _alphabet(it, start, end, _common(first, last), start)
        return cls(it, first, last, alphabet, cut, size, values)

    def pick(self) -> Element:
        it = self._it
        choice = random.choice
        for _ in range(3):  # a point past the last record: try again, then wrap
            point = self._prefix + bytes([choice(self._b0)])
            if self._width:
                point += bytes(random.choices(self._alphabet, k=self._width))
            it.seek(point)
            if it.valid():
                break
        else:
            it.seek(self._first)
        # A few steps on from where the point landed: records right after a popular
        # landing place (short keys, wide gaps) get their share.
        for _ in range(random.randrange(self._walk)):
            it.next()
            if not it.valid():
                it.seek(self._first)
        return it.key()[self._cut :], (it.value() if self.values else None)


def _common(a: bytes, b: bytes) -> int:
    """Length of the common prefix of a and b."""
    n = 0
    m = min(len(a), len(b))
    while n < m and a[n] == b[n]:
        n += 1
    return n


def random_elements(
    db: Database,
    key: bytes,
    version: int,
    size: int,
    count: int,
    unique: bool,
    *,
    values: bool = True,
    sub: bytes = b"",
) -> list[Element]:
    """`count` random records of a collection of `size` records. unique: distinct records
    (all of them, in storage order, when count >= size); else picks may repeat."""
    if count <= 0 or size <= 0:
        return []
    if unique and count >= size:
        return _read(db, key, version, sub, values)
    if size <= SMALL or (unique and count * 3 >= size) or (not unique and count >= size):
        elements = _read(db, key, version, sub, values)
        if unique:
            return random.sample(elements, count)
        return random.choices(elements, k=count)
    prober = Prober.open(db, key, version, sub, size, values)
    if prober is None:
        return []
    if not unique:
        return [prober.pick() for _ in range(count)]
    seen: dict[bytes, bytes | None] = {}
    # Skewed key spaces make some records hard to hit: give up after a bounded number of
    # probes and sample from a full read instead (count < size / 3, so that read is the
    # worst case anyway).
    tries = 8 * count + 64
    while len(seen) < count and tries:
        suffix, value = prober.pick()
        seen[suffix] = value
        tries -= 1
    if len(seen) < count:
        return random.sample(_read(db, key, version, sub, values), count)
    return list(seen.items())


def random_element(
    db: Database, key: bytes, version: int, size: int, *, values: bool = True, sub: bytes = b""
) -> Element | None:
    """One random record of a collection of `size` records (None if it has none)."""
    picked = random_elements(db, key, version, size, 1, True, values=values, sub=sub)
    return picked[0] if picked else None


def _read(db: Database, key: bytes, version: int, sub: bytes, values: bool) -> list[Element]:
    if values:
        return read_elements(db, key, version, sub)
    return [(s, None) for s in read_suffixes(db, key, version, sub)]


__all__ = [
    "ELEM_TAG",
    "SMALL",
    "Element",
    "Prober",
    "random_element",
    "random_elements",
    "read_elements",
    "read_suffixes",
    "read_values",
    "scan_all",
    "scan_page",
]
