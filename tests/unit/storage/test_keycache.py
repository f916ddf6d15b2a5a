"""The key cache in front of RocksDB (cext/keycache.pyx): bounded, counted, and never
disagreeing with RocksDB, whatever wrote it."""

from __future__ import annotations

import pytest

from pikadb._keycache import KeyCache
from pikadb.keycodec import meta_key
from pikadb.storage.engine import Engine


class FakeStore:
    """A dict standing for RocksDB, counting its reads."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.reads = 0

    def get(self, key):
        if type(key) is list:
            self.reads += len(key)
            return [self.data.get(k) for k in key]
        self.reads += 1
        return self.data.get(key)


def test_reads_once_then_from_memory():
    store = FakeStore()
    store.data[b"a"] = b"1"
    cache = KeyCache(store.get, 1 << 20)
    assert cache(b"a") == b"1" and cache(b"a") == b"1"
    # Shard.get does not remember an absence (a write usually follows: see the module).
    assert cache(b"nope") is None and cache(b"nope") is None
    assert store.reads == 3
    assert (cache.hits, cache.misses) == (1, 3)


def test_multi_get_mixes_overlay_cache_and_store():
    store = FakeStore()
    store.data.update({b"a": b"1", b"b": b"2", b"c": b"3"})
    cache = KeyCache(store.get, 1 << 20)
    assert cache(b"a") == b"1"
    cache.overlay = {b"b": None}
    assert cache([b"a", b"b", b"c", b"d"]) == [b"1", None, b"3", None]
    assert store.reads == 3  # a once, then c and d in one multi-get
    cache.overlay = None
    assert cache([b"b", b"c"]) == [b"2", b"3"]


def test_writes_replace_what_is_cached():
    store = FakeStore()
    store.data[b"k"] = b"old"
    cache = KeyCache(store.get, 1 << 20)
    assert cache(b"k") == b"old"
    store.data[b"k"] = b"v"
    cache.written([(b"k", b"v")])
    assert cache(b"k") == b"v"
    del store.data[b"k"]
    cache.written({b"k": None})  # a cached key deleted: its absence is kept
    assert cache(b"k") is None
    assert store.reads == 1


def test_a_range_delete_empties_it():
    store = FakeStore()
    store.data[b"a"] = b"1"
    cache = KeyCache(store.get, 1 << 20)
    assert cache(b"a") == b"1"
    store.data.clear()
    cache.written([(b"\x01", (b"\x05",))])
    assert cache.records == 0
    assert cache(b"a") is None


def test_big_values_are_not_kept():
    store = FakeStore()
    big = b"x" * 10_000
    store.data[b"big"] = big
    cache = KeyCache(store.get, 1 << 20, max_value=512)
    assert cache(b"big") == big and cache(b"big") == big
    assert store.reads == 2
    cache(b"small")
    cache.written([(b"small", big)])  # grew past max_value: dropped, read again
    store.data[b"small"] = big
    assert cache(b"small") == big
    assert store.reads == 4


def test_bounded_by_its_budget():
    store = FakeStore()
    for i in range(10_000):
        store.data[b"key:%d" % i] = b"v" * 50
    cache = KeyCache(store.get, 64 * 1024)
    for i in range(10_000):
        cache(b"key:%d" % i)
    assert cache.used_bytes <= 64 * 1024 + 200
    assert 0 < cache.records < 10_000
    # What was read last is still there; the first keys are gone.
    reads = store.reads
    cache(b"key:9999")
    cache(b"key:0")
    assert store.reads == reads + 1


def test_no_budget_no_cache():
    store = FakeStore()
    cache = KeyCache(store.get, 0)
    cache(b"a")
    cache(b"a")
    cache.written([(b"a", b"1")])
    assert store.reads == 2 and cache.records == 0


@pytest.fixture
def cached(tmp_path, now):
    eng = Engine.open(str(tmp_path / "data"), shards=1, key_cache_size=1 << 20)
    yield eng
    eng.close()


def test_flushdb_and_swapdb_leave_no_stale_record(cached, now):
    db0, db1 = cached.db(0), cached.db(1)
    db0.set(b"a", b"0", now)
    db1.set(b"a", b"1", now)
    assert db0.get(b"a", now) == b"0" and db1.get(b"a", now) == b"1"
    cached.swapdb(0, 1)
    assert cached.db(0).get(b"a", now) == b"1"
    cached.db(0).flushdb()
    assert cached.db(0).get(b"a", now) is None
    assert cached.db(1).get(b"a", now) == b"0"


def test_records_from_a_master_reach_the_cache(tmp_path, cached, now):
    """A replica's shard (apply_records) answers what its master wrote, not what it had
    cached before."""
    master = Engine.open(str(tmp_path / "master"), shards=1)
    try:
        db = cached.db(0)
        assert db.get(b"k", now) is None  # cached as absent
        master.db(0).set(b"k", b"from master", now)
        records = [(rec, raw) for rec, raw in master.shards[0].binlog.records_after(0)]
        shard = cached.shards[0]
        shard.binlog.reset(0, 0)
        shard.apply_records(records)
        assert db.get(b"k", now) == b"from master"
        mk = meta_key(db.pdb, b"k")
        assert shard.cache(mk) == shard.rdb.get(mk)
    finally:
        master.close()


def test_rewriting_a_record_does_not_count_it_again():
    """A hot key written over and over stays one record's worth of budget (else the cache
    rotates, and forgets other keys, long before it holds its budget)."""
    store = FakeStore()
    store.data[b"hot"] = b"v" * 10
    cache = KeyCache(store.get, 1 << 20)
    cache(b"hot")
    once = cache.used_bytes
    for i in range(10_000):
        cache.written([(b"hot", b"%010d" % i)])
    assert cache.used_bytes == once
    cache.written([(b"hot", b"longer value")])
    assert cache.used_bytes == once + 2


def test_a_staged_group_is_read_kept_and_forgotten_on_failure():
    store = FakeStore()
    store.data[b"a"] = b"old"
    cache = KeyCache(store.get, 4096, max_value=64)
    assert cache(b"a") == b"old"
    big = b"B" * 100
    cache.stage([(b"a", b"new"), (b"big", big), (b"gone", None)])
    assert cache(b"a") == b"new" and cache(b"big") == big and cache(b"gone") is None
    # However much is staged, nothing staged is dropped before the group is written.
    cache.stage([(b"k%d" % i, b"v" * 40) for i in range(200)])
    assert cache(b"a") == b"new" and cache(b"k0") == b"v" * 40
    reads = store.reads
    cache.failed()
    assert cache.records == 0
    assert cache(b"a") == b"old" and cache(b"big") is None
    assert store.reads == reads + 2


def test_a_committed_group_stays_cached_within_budget():
    store = FakeStore()
    cache = KeyCache(store.get, 4096, max_value=64)
    big = b"B" * 100
    cache.stage([(b"k%d" % i, b"v" * 40) for i in range(200)] + [(b"big", big)])
    store.data.update({b"k%d" % i: b"v" * 40 for i in range(200)})
    store.data[b"big"] = big
    cache.committed()
    assert cache.used_bytes <= 2 * 4096 + 200 * 160  # the turn's records, then rotated
    assert cache(b"big") == big  # not kept: read from the store
    assert cache(b"k199") == b"v" * 40
    # A big turn overshoots the budget until the next rotation drops it.
    for i in range(40):
        cache.written([(b"x%d" % i, b"1")])
    assert cache.used_bytes <= 4096


def test_entries_carry_the_access_time_the_core_records():
    store = FakeStore()
    store.data[b"a"] = b"1"
    cache = KeyCache(store.get, 1 << 20)
    assert cache.atime(b"a") == 0 and not cache.touch(b"a", 5)  # not cached yet
    cache(b"a")
    assert cache.touch(b"a", 1000) and cache.atime(b"a") == 1000
    cache.written([(b"a", b"2")])  # a new value keeps the entry and its access time
    assert cache.entry_of(b"a") == (b"2", 1000)


def test_idle_time_is_the_later_of_cache_entry_and_access_table(cached, now):
    db = cached.db(0)
    db.set(b"k", b"v", now)
    mk = meta_key(db.pdb, b"k")
    cache = cached.shards[0].cache
    assert db.get(b"k", now) == b"v"  # the Python path: the access table
    assert db.idle_ms(b"k", now + 5000) == 5000
    assert cache.touch(mk, now + 4000)  # what the core records
    assert db.idle_ms(b"k", now + 5000) == 1000


@pytest.mark.parametrize(
    ("budget", "nkeys"),
    # A small table (rotations sweep at once), a big one that never rotates, and one that
    # rotates with its dropped generation freed a few slots per store.
    [(2048, 300), (1 << 20, 300), (2 << 20, 40_000)],
)
def test_random_writes_and_drops_never_disagree_with_the_store(budget, nkeys):
    """The table's probing, growth, deletions (values too long to keep) and rotations,
    driven at random: every read answers what the store holds."""
    import random

    rnd = random.Random(7)
    store = FakeStore()
    cache = KeyCache(store.get, budget, max_value=16)
    keys = [b"k%d" % i for i in range(nkeys)]
    for step in range(60_000):
        k = rnd.choice(keys)
        roll = rnd.random()
        if roll < 0.3:
            v = None if rnd.random() < 0.2 else b"x" * rnd.randrange(0, 24)
            if v is None:
                store.data.pop(k, None)
            else:
                store.data[k] = v
            cache.written([(k, v)])
        elif roll < 0.35:
            batch = rnd.sample(keys, 20)
            assert cache(batch) == [store.data.get(b) for b in batch]
        else:
            assert cache(k) == store.data.get(k), step
    # At most the budget, and (a big table) the dropped generation the sweep is freeing.
    assert cache.used_bytes <= budget * 3 // 2 + 200
    assert cache.records <= len(keys)
