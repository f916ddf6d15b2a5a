"""Access-time / LFU table."""

from __future__ import annotations

from pikadb.storage.access import LFU_INIT_VAL, AccessTable


def test_idle_time_and_bounded_generations():
    t = AccessTable(capacity=4)
    t.touch(b"a", 1000)
    assert t.idle_ms(b"a", 4000) == 3000
    for i in range(10):  # pushes 'a' out of both generations
        t.touch(b"k%d" % i, 2000 + i)
    assert t.last_access(b"a") is None
    # Unknown keys: at least as idle as the oldest generation is old.
    assert t.idle_ms(b"a", 5000) >= 0
    t.forget(b"k9")
    assert t.last_access(b"k9") is None


def test_lfu_counters():
    t = AccessTable()
    t.lfu_enabled = True
    t.created(b"new", 0)
    assert t.freq(b"new") == LFU_INIT_VAL
    t.touch(b"old", 0)  # a key that predates LFU tracking starts from 0
    assert t.freq(b"old") == 1
    for _ in range(1000):
        t.touch(b"hot", 0)
    assert 5 < t.freq(b"hot") <= 255
