"""The writes of one command to one shard (Ops), and how they go into a RocksDB batch.

Its own module so that every writer (the type modules, expiry, reclaim) and the shard that
commits them depend on it, not on each other.
"""

from __future__ import annotations

from rocksdict import WriteBatch

from pikadb.binlog_codec import add_ops

# What a binlog record says it came from, for people and tools: (logical db, argv). The
# data travels in the record's ops; writes of no command carry a synthetic argv.
Tag = tuple[int, list[bytes]]
EXPIRE_TAG: Tag = (0, [b"PEXPIRE-CYCLE"])
RECLAIM_TAG: Tag = (0, [b"RECLAIM"])
DBMAP_REPAIR_TAG: Tag = (0, [b"DBMAP-REPAIR"])


class Ops:
    """The writes of one command to one shard, recorded: WriteBatch's put/delete/
    delete_range, replayable into a group batch and readable through the group overlay."""

    __slots__ = ("items", "ranges")

    def __init__(self) -> None:
        # (key, value) put, (key, None) delete, (begin, (end,)) range delete; in order.
        self.items: list[tuple[bytes, bytes | tuple[bytes] | None]] = []
        self.ranges = False

    def put(self, key: bytes, value: bytes) -> None:
        self.items.append((key, value))

    def delete(self, key: bytes) -> None:
        self.items.append((key, None))

    def delete_range(self, begin: bytes, end: bytes) -> None:
        self.items.append((begin, (end,)))
        self.ranges = True

    def to_batch(self) -> WriteBatch:
        b = WriteBatch(raw_mode=True)
        add_ops(b, self.items)
        return b


__all__ = ["DBMAP_REPAIR_TAG", "EXPIRE_TAG", "RECLAIM_TAG", "Ops", "Tag", "add_ops"]
