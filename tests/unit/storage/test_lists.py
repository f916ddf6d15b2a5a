"""List storage (storage/lists.py) on a temp RocksDB, 1 and 3 shards: every operation
against a Python list model, the index-addressed record layout (contiguous records, only
the current version's records hold the elements, reads that do not scan the list), and the
watch registry (storage/watch.py) that blocked clients rely on."""

from __future__ import annotations

import random

import pytest

from pikadb.errors import CommandError, WrongTypeError
from pikadb.keycodec import T_LIST, data_prefix, meta_key
from pikadb.storage import lists as L
from pikadb.storage.watch import add_listener, remove_listener, unwatch_key, watch_key


def records(db, key, now) -> list[tuple[int, bytes]]:
    """(index, value) of the element records of key's current version."""
    meta = db.lookup(key, now)
    if meta is None:
        return []
    prefix = data_prefix(db.pdb, key, meta.version)
    it = db.shard_for(key).scan_prefix(prefix)
    out = []
    while it.valid():
        out.append((int.from_bytes(it.key()[len(prefix) :], "big"), it.value()))
        it.next()
    return out


def check_layout(db, key, now, expect: list[bytes]) -> None:
    """Records are exactly head..head+count-1, in list order."""
    assert L.lrange(db, key, 0, -1, now) == expect
    meta = db.lookup(key, now)
    if not expect:
        assert meta is None
        return
    assert meta.type == T_LIST and meta.count == len(expect)
    head = L.head_of(meta)
    assert records(db, key, now) == [(head + i, v) for i, v in enumerate(expect)]


# ---- basics ----


def test_push_pop_and_layout(db, now):
    assert L.push(db, b"l", [b"a", b"b"], now, left=False) == 2
    assert L.push(db, b"l", [b"x", b"y"], now, left=True) == 4
    check_layout(db, b"l", now, [b"y", b"x", b"a", b"b"])
    meta = db.lookup(b"l", now)
    assert L.head_of(meta) == L.MID - 2  # a new list starts in the middle
    assert L.pop(db, b"l", now, left=True) == b"y"
    assert L.pop(db, b"l", now, left=False, count=2) == [b"b", b"a"]
    assert L.pop(db, b"l", now, left=False, count=0) == []
    check_layout(db, b"l", now, [b"x"])
    assert L.pop(db, b"l", now, left=True, count=5) == [b"x"]
    assert db.lookup(b"l", now) is None  # an emptied list disappears
    assert L.pop(db, b"l", now, left=True) is None
    assert L.pop(db, b"l", now, left=True, count=0) is None
    assert L.push(db, b"l", [b"v"], now, left=True, xx=True) == 0
    assert db.lookup(b"l", now) is None
    assert db.dbsize() == 0


def test_reads(db, now):
    L.push(db, b"l", [bytes([c]) for c in b"abcdef"], now, left=False)
    assert L.llen(db, b"l", now) == 6
    assert L.llen(db, b"none", now) == 0
    assert L.lindex(db, b"l", 0, now) == b"a"
    assert L.lindex(db, b"l", -1, now) == b"f"
    assert L.lindex(db, b"l", 6, now) is None
    assert L.lindex(db, b"l", -7, now) is None
    assert L.lrange(db, b"l", 1, 3, now) == [b"b", b"c", b"d"]
    assert L.lrange(db, b"l", -2, 100, now) == [b"e", b"f"]
    assert L.lrange(db, b"l", 4, 2, now) == []
    assert L.lrange(db, b"l", -(1 << 63), (1 << 63) - 1, now) == list(
        map(bytes, [[c] for c in b"abcdef"])
    )


def test_wrongtype(db, now):
    db.set(b"s", b"v", now)
    for op in (
        lambda: L.push(db, b"s", [b"a"], now, left=True),
        lambda: L.push(db, b"s", [b"a"], now, left=True, xx=True),
        lambda: L.pop(db, b"s", now, left=True),
        lambda: L.llen(db, b"s", now),
        lambda: L.lrange(db, b"s", 0, -1, now),
        lambda: L.lindex(db, b"s", 0, now),
        lambda: L.lset(db, b"s", 0, b"x", now),
        lambda: L.linsert(db, b"s", True, b"a", b"b", now),
        lambda: L.lrem(db, b"s", 0, b"a", now),
        lambda: L.ltrim(db, b"s", 0, 1, now),
        lambda: L.lpos(db, b"s", b"a", now),
        lambda: L.lmove(db, b"s", b"d", now, from_left=True, to_left=True),
        lambda: L.mpop(db, [b"none", b"s"], now, left=True, count=1),
    ):
        with pytest.raises(WrongTypeError):
            op()
    L.push(db, b"l", [b"a"], now, left=True)
    with pytest.raises(WrongTypeError):
        L.lmove(db, b"l", b"s", now, from_left=True, to_left=True)
    assert L.lrange(db, b"l", 0, -1, now) == [b"a"]  # nothing popped
    assert L.blocking_pop(db, b"s", now, left=True, count=None) is None  # not ready


def test_lset_errors_and_ttl_kept(db, now):
    with pytest.raises(CommandError, match="no such key"):
        L.lset(db, b"l", 0, b"x", now)
    L.push(db, b"l", [b"a", b"b"], now, left=False)
    db.expire(b"l", now + 100_000, now)
    with pytest.raises(CommandError, match="index out of range"):
        L.lset(db, b"l", 2, b"x", now)
    L.lset(db, b"l", -1, b"B", now)
    L.push(db, b"l", [b"c"], now, left=False)
    L.linsert(db, b"l", True, b"c", b"bc", now)
    L.lrem(db, b"l", 1, b"a", now)
    L.ltrim(db, b"l", 0, 1, now)
    check_layout(db, b"l", now, [b"B", b"bc"])
    assert db.expire_time(b"l", now) == now + 100_000


# ---- middle edits move the shorter side ----


def test_linsert_moves_the_shorter_side(db, now):
    items = [str(i).encode() for i in range(100)]
    L.push(db, b"l", items, now, left=False)
    head = L.head_of(db.lookup(b"l", now))
    assert L.linsert(db, b"l", True, b"3", b"near-head", now) == 101
    assert L.head_of(db.lookup(b"l", now)) == head - 1  # the head side moved
    assert L.linsert(db, b"l", False, b"97", b"near-tail", now) == 102
    assert L.head_of(db.lookup(b"l", now)) == head - 1  # the tail side moved
    expect = [*items[:3], b"near-head", *items[3:98], b"near-tail", *items[98:]]
    check_layout(db, b"l", now, expect)
    assert L.linsert(db, b"l", True, b"zzz", b"q", now) == -1
    assert L.linsert(db, b"none", True, b"a", b"q", now) == 0


def test_lrem_both_directions(db, now):
    items = [b"x" if i % 10 == 0 else str(i).encode() for i in range(200)]
    L.push(db, b"l", items, now, left=False)
    model = list(items)
    assert L.lrem(db, b"l", 2, b"x", now) == 2
    model.remove(b"x")
    model.remove(b"x")
    check_layout(db, b"l", now, model)
    assert L.lrem(db, b"l", -2, b"x", now) == 2
    for _ in range(2):
        del model[len(model) - 1 - model[::-1].index(b"x")]
    check_layout(db, b"l", now, model)
    assert L.lrem(db, b"l", 0, b"x", now) == model.count(b"x")
    model = [v for v in model if v != b"x"]
    check_layout(db, b"l", now, model)
    assert L.lrem(db, b"l", 0, b"nothing", now) == 0
    assert L.lrem(db, b"none", 0, b"x", now) == 0


def test_ltrim_large_uses_ranges_and_keeps_layout(db, now):
    items = [str(i).encode() for i in range(1000)]
    L.push(db, b"l", items, now, left=False)
    L.ltrim(db, b"l", 300, -301, now)
    check_layout(db, b"l", now, items[300:700])
    L.ltrim(db, b"l", 5, 2, now)
    assert db.lookup(b"l", now) is None


def test_lmove_between_and_within(db, now):
    L.push(db, b"a", [b"1", b"2", b"3"], now, left=False)
    assert L.lmove(db, b"a", b"b", now, from_left=True, to_left=False) == b"1"
    assert L.lmove(db, b"a", b"a", now, from_left=True, to_left=False) == b"2"
    check_layout(db, b"a", now, [b"3", b"2"])
    assert L.lmove(db, b"a", b"a", now, from_left=False, to_left=False) == b"2"
    assert L.lmove(db, b"a", b"a", now, from_left=False, to_left=True) == b"2"
    check_layout(db, b"a", now, [b"2", b"3"])
    assert L.lmove(db, b"none", b"b", now, from_left=True, to_left=True) is None
    L.lmove(db, b"a", b"b", now, from_left=True, to_left=True)
    L.lmove(db, b"a", b"b", now, from_left=True, to_left=True)
    assert db.lookup(b"a", now) is None
    check_layout(db, b"b", now, [b"3", b"2", b"1"])


def test_lpos(db, now):
    L.push(db, b"l", [bytes([c]) for c in b"abcabca"], now, left=False)
    assert L.lpos(db, b"l", b"a", now) == 0
    assert L.lpos(db, b"l", b"a", now, rank=-1) == 6
    assert L.lpos(db, b"l", b"a", now, rank=2, count=0) == [3, 6]
    assert L.lpos(db, b"l", b"a", now, rank=-2, count=2, maxlen=3) == []
    assert L.lpos(db, b"l", b"a", now, rank=-(1 << 63), count=1) == [6, 3, 0]
    assert L.lpos(db, b"l", b"z", now) is None
    assert L.lpos(db, b"none", b"a", now, count=1) == []


def test_mpop(db, now):
    L.push(db, b"b", [b"1", b"2", b"3"], now, left=False)
    assert L.mpop(db, [b"a", b"b"], now, left=False, count=2) == (b"b", [b"3", b"2"])
    assert L.mpop(db, [b"a"], now, left=False, count=2) is None


def test_rename_copies_layout(db, now):
    L.push(db, b"l", [b"a", b"b", b"c"], now, left=True)
    db.rename(b"l", b"m", now)
    check_layout(db, b"m", now, [b"c", b"b", b"a"])
    L.push(db, b"m", [b"z"], now, left=True)
    check_layout(db, b"m", now, [b"z", b"c", b"b", b"a"])


# ---- against a model ----


@pytest.mark.parametrize("seed", [1, 2])
def test_random_against_model(db, now, seed):
    rnd = random.Random(seed)
    keys = [b"a", b"b"]
    vals = [b"x", b"y", b"z"]
    model: dict[bytes, list[bytes]] = {k: [] for k in keys}
    for _ in range(1500):
        k = rnd.choice(keys)
        m = model[k]
        op = rnd.randrange(9)
        v = rnd.choice(vals)
        if op == 0:
            vs = [rnd.choice(vals) for _ in range(rnd.choice([1, 3, 150]))]
            left = rnd.random() < 0.5
            assert L.push(db, k, vs, now, left=left) == len(m) + len(vs)
            if left:
                m[:0] = vs[::-1]
            else:
                m.extend(vs)
        elif op == 1:
            c = rnd.choice([None, 1, 4])
            got = L.pop(db, k, now, left=True, count=c)
            exp = None if not m else (m[0] if c is None else m[:c])
            assert got == exp
            del m[: (1 if c is None else c)]
        elif op == 2:
            got = L.pop(db, k, now, left=False)
            assert got == (m.pop() if m else None)
        elif op == 3:
            cnt = rnd.choice([0, 1, -1, 2])
            L.lrem(db, k, cnt, v, now)
            idx = [i for i, x in enumerate(m) if x == v]
            if cnt > 0:
                idx = idx[:cnt]
            elif cnt < 0:
                idx = idx[cnt:]
            for i in reversed(idx):
                del m[i]
        elif op == 4:
            before = rnd.random() < 0.5
            pivot = rnd.choice(vals)
            L.linsert(db, k, before, pivot, v, now)
            if pivot in m:
                i = m.index(pivot)
                m.insert(i if before else i + 1, v)
        elif op == 5:
            s, e = rnd.randrange(-5, 5), rnd.randrange(-5, 5)
            L.ltrim(db, k, s, e, now)
            n = len(m)
            s2, e2 = (s + n if s < 0 else s), (e + n if e < 0 else e)
            s2 = max(s2, 0)
            m[:] = [] if s2 > e2 or s2 >= n else m[s2 : min(e2, n - 1) + 1]
        elif op == 6:
            d = rnd.choice(keys)
            fl, tl = rnd.random() < 0.5, rnd.random() < 0.5
            got = L.lmove(db, k, d, now, from_left=fl, to_left=tl)
            if m:
                x = m.pop(0) if fl else m.pop()
                model[d].insert(0, x) if tl else model[d].append(x)
                assert got == x
            else:
                assert got is None
        elif op == 7 and m:
            i = rnd.randrange(-len(m), len(m))
            L.lset(db, k, i, v, now)
            m[i] = v
        elif op == 8:
            c = rnd.choice([1, 2])
            got = L.mpop(db, keys, now, left=True, count=c)
            first = next((kk for kk in keys if model[kk]), None)
            if first is None:
                assert got is None
            else:
                assert got == (first, model[first][:c])
                del model[first][:c]
        for kk in keys:
            check_layout(db, kk, now, model[kk])


# ---- the watch registry ----


def test_watch_registry_counts_and_listeners(engine, db, now):
    mk = meta_key(db.pdb, b"l")
    seen_a: list[bytes] = []
    seen_b: list[bytes] = []
    add_listener(engine, seen_a.append)
    add_listener(engine, seen_b.append)
    add_listener(engine, seen_a.append)  # registering twice is once
    watch_key(engine, mk)
    watch_key(engine, mk)
    L.push(db, b"l", [b"a"], now, left=True)
    unwatch_key(engine, mk)
    L.pop(db, b"l", now, left=True)  # still watched by one party
    unwatch_key(engine, mk)
    assert mk not in engine.watched
    L.push(db, b"l", [b"b"], now, left=True)  # nobody watches
    assert seen_a == [mk, mk] and seen_b == [mk, mk]
    remove_listener(engine, seen_b.append)
    watch_key(engine, mk)
    L.lset(db, b"l", 0, b"c", now)  # an element write alone reports the key
    assert seen_a == [mk, mk, mk] and seen_b == [mk, mk]
    unwatch_key(engine, mk)
    unwatch_key(engine, mk)  # more unwatches than watches: harmless
    assert engine.watched == {}


def _data_records(engine) -> int:
    from pikadb.storage.encoding import P_DATA

    n = 0
    for shard in engine.shards:
        it = shard.scan_prefix(P_DATA)
        while it.valid():
            n += 1
            it.next()
    return n


def test_emptied_lists_leave_no_records(engine, db, now):
    big = [str(i).encode() for i in range(300)]
    L.push(db, b"a", big, now, left=False)
    for _ in range(3):
        L.pop(db, b"a", now, left=True, count=90)
    L.pop(db, b"a", now, left=False, count=100)  # the last 30, popped past the end
    L.push(db, b"b", big, now, left=True)
    L.ltrim(db, b"b", 10, 5, now)
    L.push(db, b"c", [b"x"] * 200, now, left=False)
    L.lrem(db, b"c", 0, b"x", now)
    L.push(db, b"d", big[:3], now, left=False)
    for _ in range(3):
        L.lmove(db, b"d", b"e", now, from_left=True, to_left=True)
    L.pop(db, b"e", now, left=True, count=2)
    L.pop(db, b"e", now, left=True)
    assert db.dbsize() == 0
    assert _data_records(engine) == 0
