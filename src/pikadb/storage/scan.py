"""SCAN cursors: numeric cursors mapped server-side to resume positions.

Keys are iterated in RocksDB order (shard 0's META records of the physical db, then shard
1's, ...). A position is (shard index, last key returned); resuming seeks just past that
key, so a key present for the whole iteration is returned exactly once however many keys
are added or deleted meanwhile, and never twice.

Redis clients hold the cursor as an unsigned 64-bit number, so positions live in a bounded
table (LRU, `capacity` entries) under numbers handed out from a counter that starts at a
random offset. A cursor the table no longer knows (evicted, or from before a restart) ends
the iteration: the reply is cursor 0 with no keys, which every client loop handles. Cursor
0 always starts a new iteration.
"""

from __future__ import annotations

import random
from collections import OrderedDict

Position = tuple[int, bytes | None]  # (shard index, last user key returned or None)

_MAX_CURSOR = (1 << 63) - 1
# The longest one SCAN / HSCAN / SSCAN / ZSCAN call examines records: a huge COUNT is cut
# there (COUNT is a hint; the cursor goes on from where it stopped).
SCAN_SLICE_S = 0.01


class CursorTable:
    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._table: OrderedDict[int, Position] = OrderedDict()
        self._next = random.randrange(1 << 20, 1 << 40)

    def store(self, pos: Position) -> int:
        cursor = self._next
        self._next = cursor + 1 if cursor < _MAX_CURSOR else 1
        table = self._table
        table[cursor] = pos
        if len(table) > self.capacity:
            table.popitem(last=False)
        return cursor

    def resolve(self, cursor: int) -> Position | None:
        """The position of a cursor (None if unknown). Cursor 0 is the start."""
        if cursor == 0:
            return (0, None)
        return self._table.get(cursor)

    def clear(self) -> None:
        self._table.clear()
