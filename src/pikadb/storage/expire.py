"""Active expiry: delete keys past their TTL by walking the expiry index in time order.

Reads never see an expired key (every lookup checks expire_at), so this cycle only reclaims
space and keeps DBSIZE/INFO keyspace honest. Per shard and physical db with volatile keys it
reads the index records with expire_at <= now (oldest first), checks each against the key's
META (a record whose meta is gone or has another expire_at is stale and just dropped), and
deletes due keys in batches of _CHUNK through WriteSet, so counters and the index change
atomically with the delete. It stops when the time budget is spent; the next call starts
at the next shard so every shard gets its turn.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pikadb.keycodec import decode_meta, expire_key, meta_key, parse_expire_key
from pikadb.storage.ops import EXPIRE_TAG, Ops
from pikadb.storage.writeset import WriteSet

if TYPE_CHECKING:
    from pikadb.storage.engine import Engine
    from pikadb.storage.shard import Shard

_CHUNK = 64


def active_expire_cycle(engine: Engine, time_budget_s: float) -> int:
    deadline = time.perf_counter() + time_budget_s
    now = time.time_ns() // 1_000_000
    total = 0
    n = len(engine.shards)
    start = engine._expire_cursor % n if n else 0
    for step in range(n):
        shard = engine.shards[(start + step) % n]
        for pdb, counts in list(shard.counters.items()):
            if counts[1] <= 0:
                continue
            done, deleted = _expire_pdb(engine, shard, pdb, now, deadline)
            total += deleted
            if not done:
                engine._expire_cursor = (start + step) % n
                return total
    engine._expire_cursor = start + 1
    return total


def _expire_pdb(
    engine: Engine, shard: Shard, pdb: int, now: int, deadline: float
) -> tuple[bool, int]:
    """Expire due keys of one physical db. -> (finished, keys deleted)."""
    deleted = 0
    lo = expire_key(pdb, 0, b"")
    hi = expire_key(pdb, now + 1, b"")
    while True:
        it = shard.iterator(lo, hi)
        entries = []
        while it.valid() and len(entries) < _CHUNK:
            entries.append(it.key())
            it.next()
        more = it.valid()
        del it
        if not entries:
            return True, deleted
        ws = WriteSet(engine, now, EXPIRE_TAG)
        stale = Ops()
        nstale = 0
        for ek in entries:
            _, at, key = parse_expire_key(ek)
            raw = shard.get(meta_key(pdb, key))
            meta = decode_meta(raw) if raw is not None else None
            if meta is not None and meta.expire_at == at:
                ws.remove_expired(shard, pdb, key, meta)
                engine.access.forget(meta_key(pdb, key))
                deleted += 1
            else:
                stale.delete(ek)
                nstale += 1
        ws.commit()
        if nstale:
            shard.commit(stale, EXPIRE_TAG)
        if not more:
            return True, deleted
        lo = entries[-1] + b"\x00"
        if time.perf_counter() >= deadline:
            return False, deleted
