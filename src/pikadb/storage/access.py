"""Last-access times (OBJECT IDLETIME) and LFU counters (OBJECT FREQ), in memory, bounded.

Redis keeps these in every object header; pikadb keeps them beside the data because a disk
write per read would be absurd. They are therefore volatile (lost on restart) and bounded:
two generations of dicts keyed by the META key (which includes the physical db); when the
current one holds `capacity / 2` keys it becomes the old one and the previous old one is
dropped. A key found in neither was not accessed since the old generation started, so its
idle time is reported as "since then": a lower bound, honest and never invented. The
cost on the hot path is one dict store. The command core (cext/core.pyx) records accesses
in the key cache's entries instead (no second dict per GET); OBJECT IDLETIME takes the
later of the two. An access recorded only in a cache entry is lost when the cache drops
the entry (after a budget's worth of other traffic): the idle time then counts from the
access table's older figure.

LFU follows Redis's evict.c (8-bit logarithmic counter, LFU_INIT_VAL 5, decay by
lfu-decay-time minutes) and is only maintained while `lfu_enabled` is set (the server sets
it when maxmemory-policy is an LFU one).
"""

from __future__ import annotations

import random
import time

LFU_INIT_VAL = 5


def _minutes() -> int:
    return (int(time.time()) // 60) & 65535


class AccessTable:
    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = max(2, capacity)
        self._cur: dict[bytes, int] = {}
        self._old: dict[bytes, int] = {}
        now = time.time_ns() // 1_000_000
        self._old_since = now  # the older generation holds every access since this time
        self._cur_since = now
        # LFU: mk -> (counter, last decrement time in minutes)
        self.lfu_enabled = False
        self.lfu_log_factor = 10
        self.lfu_decay_time = 1
        self._freq: dict[bytes, tuple[int, int]] = {}
        self._freq_old: dict[bytes, tuple[int, int]] = {}

    # ---- recording ----

    def touch(self, mk: bytes, now: int) -> None:
        cur = self._cur
        cur[mk] = now
        if len(cur) > self.capacity >> 1:
            self._rotate(now)
        if self.lfu_enabled:
            self._lfu_access(mk)

    def created(self, mk: bytes, now: int) -> None:
        """A new object: fresh access time and LFU counter (Redis createObject)."""
        cur = self._cur
        cur[mk] = now
        if len(cur) > self.capacity >> 1:
            self._rotate(now)
        if self.lfu_enabled:
            self._freq[mk] = (LFU_INIT_VAL, _minutes())

    def forget(self, mk: bytes) -> None:
        self._cur.pop(mk, None)
        self._old.pop(mk, None)
        self._freq.pop(mk, None)
        self._freq_old.pop(mk, None)

    def clear(self) -> None:
        now = time.time_ns() // 1_000_000
        self._cur = {}
        self._old = {}
        self._freq = {}
        self._freq_old = {}
        self._old_since = self._cur_since = now

    def _rotate(self, now: int) -> None:
        self._old = self._cur
        self._cur = {}
        self._old_since = self._cur_since
        self._cur_since = now
        self._freq_old = self._freq
        self._freq = {}

    # ---- queries ----

    def last_access(self, mk: bytes) -> int | None:
        t = self._cur.get(mk)
        if t is None:
            t = self._old.get(mk)
        return t

    def idle_ms(self, mk: bytes, now: int, seen: int = 0) -> int:
        """seen: an access recorded elsewhere (the key cache's entry; 0: none)."""
        t = self.last_access(mk)
        if t is None:
            t = self._old_since
        return max(0, now - max(t, seen))

    def freq(self, mk: bytes) -> int:
        entry = self._freq.get(mk) or self._freq_old.get(mk)
        if entry is None:
            return 0
        return self._decayed(*entry)

    # ---- LFU (Redis evict.c) ----

    def _decayed(self, counter: int, ldt: int) -> int:
        now = _minutes()
        elapsed = now - ldt if now >= ldt else 65535 - ldt + now
        periods = elapsed // self.lfu_decay_time if self.lfu_decay_time else 0
        if periods:
            counter = 0 if periods > counter else counter - periods
        return counter

    def _lfu_access(self, mk: bytes) -> None:
        entry = self._freq.get(mk) or self._freq_old.get(mk)
        # A key untracked so far (created before LFU was on, or forgotten) starts from 0,
        # as Redis's reinterpreted LRU field does in practice.
        counter = self._decayed(*entry) if entry else 0
        if counter < 255:
            baseval = max(0, counter - LFU_INIT_VAL)
            if random.random() < 1.0 / (baseval * self.lfu_log_factor + 1):
                counter += 1
        self._freq[mk] = (counter, _minutes())
