"""Background reclaim of the element records of deleted collection versions.

Deleting, expiring or overwriting a collection bigger than writeset.PURGE_LIMIT is one META
write: its DATA records (prefix `0x02 pdb klen key version`) stay behind as garbage, so a
DEL of a million-element hash replies in microseconds. This module finds that garbage and
removes it, a little at a time, from the server's cron:

* walk the DATA records of a shard in key order; for each (pdb, key, version) group read the
  key's META: the group is live only if the META exists, is a collection and carries that
  version; otherwise the whole group goes with one range delete;
* jump over every group with one seek (a live million-element hash costs one META read);
* keep a cursor between steps, so a step does a bounded amount of work;
* a shard is walked only while it has work: a pass at open (garbage left by a previous run)
  and one more after each drop of a big collection.

RocksDB turns range deletes into disk space only when it compacts the files they cover.
Compaction of the reclaimed ranges is handed to the caller (ranges_to_compact), which runs
it off the event loop: rocksdict releases the GIL while RocksDB compacts.

Everything runs on the thread that owns the shards, between commands, so the META read and
the range delete see the same state: no command can recreate a version in between (versions
only grow).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pikadb.keycodec import T_STRING, data_prefix, decode_meta, meta_key, parse_data_key
from pikadb.storage.encoding import P_DATA, P_EXPIRE, prefix_successor
from pikadb.storage.ops import RECLAIM_TAG, Ops

if TYPE_CHECKING:
    from pikadb.storage.shard import Shard

# Range deletes per batch.
_GROUPS_PER_BATCH = 64
# The clock is read once per this many groups examined.
_CHECK_EVERY = 32


class ShardReclaim:
    """Reclaim state of one shard: whether a pass is due and where it stands."""

    __slots__ = ("compact", "cursor", "dirty", "groups_reclaimed", "passes", "rerun")

    def __init__(self) -> None:
        self.dirty = True  # one pass at open: garbage may be left from the previous run
        self.rerun = False  # garbage appeared during the current pass (maybe behind it)
        self.cursor: bytes | None = None  # next DATA key to examine; None: start of a pass
        self.compact: list[tuple[bytes, bytes]] = []  # reclaimed ranges awaiting compaction
        self.groups_reclaimed = 0
        self.passes = 0

    def mark_dirty(self) -> None:
        """A big collection was dropped: its records need a pass."""
        if self.cursor is None:
            self.dirty = True
        else:
            self.rerun = True


def reclaim_step(shard: Shard, state: ShardReclaim, deadline: float) -> int:
    """Advance shard's reclaim pass until time.monotonic() >= deadline or the pass ends.
    -> number of garbage groups removed in this step."""
    if not state.dirty:
        return 0
    start = state.cursor or P_DATA
    it = shard.iterator(start, P_EXPIRE)
    batch = Ops()
    in_batch = 0
    removed = 0
    checked = 0
    get = shard.get
    while it.valid():
        checked += 1
        if checked % _CHECK_EVERY == 0 and time.monotonic() >= deadline:
            state.cursor = it.key()
            break
        pdb, key, version, _ = parse_data_key(it.key())
        prefix = data_prefix(pdb, key, version)
        end = prefix_successor(prefix)
        assert end is not None
        raw = get(meta_key(pdb, key))
        if raw is None or not _is_live(raw, version):
            batch.delete_range(prefix, end)
            state.compact.append((prefix, end))
            in_batch += 1
            removed += 1
            if in_batch >= _GROUPS_PER_BATCH:
                shard.commit(batch, RECLAIM_TAG)
                batch = Ops()
                in_batch = 0
        it.seek(end)
    else:
        # The pass reached the end of the DATA range. A drop that happened during the pass
        # behind the cursor set dirty again through mark_dirty(); start over then.
        state.cursor = None
        state.passes += 1
        state.dirty = state.rerun
        state.rerun = False
    if in_batch:
        shard.commit(batch, RECLAIM_TAG)
    state.groups_reclaimed += removed
    return removed


def _is_live(raw: bytes, version: int) -> bool:
    if raw[0] & 0x0F == T_STRING:
        return False
    return decode_meta(raw).version == version


__all__ = ["ShardReclaim", "reclaim_step"]
