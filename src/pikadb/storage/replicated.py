"""The in-memory state a master's records change on a replica.

A record is physical (the exact RocksDB operations of one command on one shard), so applying
it is writing its ops (Shard.apply_received: the ops of a run of records + the binlog
position in one batch, the same record bytes into the local binlog). What this module adds
is the in-memory state those ops change under the engine's feet: the shard's key counters,
its collection version floor, the engine's logical -> physical db map, and the watched keys
(WATCH, blocked clients).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pikadb.keycodec import meta_key, parse_data_key
from pikadb.storage.encoding import (
    P_COUNTERS,
    P_DATA,
    P_META,
    SYS_DBMAP,
    SYS_VERSION_FLOOR,
    decode_counters,
)

if TYPE_CHECKING:
    from pikadb.storage.shard import Shard

_C_COUNTERS = P_COUNTERS[0]
_C_META = P_META[0]
_C_DATA = P_DATA[0]


def refresh_after_apply(shard: Shard, special: list, ops: list) -> None:
    """Bring the in-memory state derived from RocksDB up to date with a run of records just
    written: special holds its range deletes and system and counter records
    (BinlogTail.stage_received sorts them out in C), ops all of its ops (looked at only
    when keys are watched). Once per run: the watchers and the counters see the state
    after all of it."""
    engine = shard.engine
    reload_counters = False
    dbmap: bytes | None = None
    counters: dict[int, bytes | None] = {}
    for k, v in special:
        if type(v) is tuple:
            if k <= P_COUNTERS + b"\xff" and v[0] > P_COUNTERS:
                reload_counters = True
        elif k[0] == _C_COUNTERS:
            counters[int.from_bytes(k[1:3], "big")] = v  # the last one wins
        elif k == SYS_VERSION_FLOOR and v is not None:
            # Versions this shard hands out if it is promoted must exceed the master's.
            shard.adopt_version_floor(int.from_bytes(v, "big"))
        elif k == SYS_DBMAP and v is not None:
            dbmap = v
    if reload_counters:
        shard.reload_counters()  # RocksDB holds the run's result
    else:
        for pdb, v in counters.items():
            if v is None:
                shard.counters.pop(pdb, None)
            else:
                shard.counters[pdb] = decode_counters(v)
    if dbmap is not None:
        adopt = getattr(engine, "adopt_dbmap", None)
        if adopt is not None:
            adopt(dbmap)
    watched = getattr(engine, "watched", None)
    if watched:
        for mk in _touched(watched, ops):
            engine.on_modified(mk)  # type: ignore[attr-defined]


def _touched(watched: dict, ops: list) -> set[bytes]:
    """The watched meta keys whose records ops change."""
    touched: set[bytes] = set()
    for k, v in ops:
        if type(v) is tuple:
            end = v[0]
            touched.update(mk for mk in watched if k <= mk < end)
            continue
        c = k[0]
        if c == _C_META:
            if k in watched:
                touched.add(k)
        elif c == _C_DATA:
            pdb, key, _version, _elem = parse_data_key(k)
            mk = meta_key(pdb, key)
            if mk in watched:
                touched.add(mk)
    return touched
