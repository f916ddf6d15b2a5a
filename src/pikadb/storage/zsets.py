"""Sorted sets on RocksDB: two element records per member, a point index and a score index.

Layout (DATA records of one zset incarnation, prefix P = data_prefix(pdb, key, version)):

    P b"m" <member>                       -> 8-byte big-endian IEEE double: the score
    P b"s" <order-preserving score> <member> -> b"" (or the raw score, see -0.0 below)

The "m" records answer ZSCORE/ZMSCORE/ZADD's lookup with one point read and, iterated in
member order, are the lex ranges (ZRANGEBYLEX and friends assume equal scores, as Redis
does: with equal scores member order is the zset's order). The "s" records are sorted by
(score, member) exactly as Redis's skiplist is (member ties broken bytewise, shorter first,
like sdscmp), so ZRANGEBYSCORE, ZCOUNT and ZRANGE BYSCORE LIMIT are RocksDB range reads
from a seek. The order-preserving score encoding is the IEEE bits with the sign bit flipped
for positives and every bit flipped for negatives; -0.0 and 0.0 share the encoding of 0.0
because Redis compares them equal.

Rank operations (ZRANK, ZRANGE by index, ZREMRANGEBYRANK) walk the score index: O(rank),
where Redis's skiplist is O(log n). They walk from whichever end is nearer when the
position is known (ZRANGE), or from both ends at once when it is not (ZRANK), so the cost
is at most about half the zset. ZCOUNT/ZLEXCOUNT are O(elements in range) for the same
reason (no span counts in RocksDB).

META: type 5, `count` exact (written in the command's batch), `extra` = b"\\x01" once the
zset is "skiplist" encoded for OBJECT ENCODING. Redis converts a listpack zset when an
insertion would exceed zset-max-listpack-entries or insert a member longer than
zset-max-listpack-value, and never converts back (except that the *STORE commands build a
fresh zset and pick listpack when the result fits), so the fact is sticky in the meta.

-0.0: a listpack zset stores scores as text and turns -0 into 0, a skiplist keeps -0.0.
The storage follows the encoding: scores written while the zset is listpack are
normalized, and a -0.0 kept by a skiplist zset is also stored as the score record's value
in the index (the only case where the index key alone would lose the sign).

Empty zsets do not exist: an operation that removes the last member deletes the key.
"""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pikadb.errors import CommandError, WrongTypeError
from pikadb.glob import compile_pattern
from pikadb.keycodec import T_SET, T_ZSET, Meta, data_prefix
from pikadb.storage import elemscan
from pikadb.storage.writeset import WriteSet

if TYPE_CHECKING:
    from pikadb.storage.database import Database
    from pikadb.storage.shard import Shard

TAG_MEMBER = b"m"
TAG_SCORE = b"s"
_TAG_AFTER_MEMBER = b"n"
_TAG_AFTER_SCORE = b"t"

SKIPLIST = b"\x01"  # Meta.extra of a zset OBJECT ENCODING reports as skiplist

NAN_ERROR = "ERR resulting score is not a number (NaN)"

DEFAULT_LIMITS = (128, 64)  # zset-max-listpack-entries, zset-max-listpack-value

_D = struct.Struct(">d")
_Q = struct.Struct(">Q")
_pack_d = _D.pack
_unpack_d = _D.unpack
_SIGN = 1 << 63
_MASK = (1 << 64) - 1
_ZERO = _Q.pack(_SIGN)  # encode_score(0.0) == encode_score(-0.0)

Pair = tuple[bytes, float]


# ---- score encoding ----


def encode_score(x: float) -> bytes:
    """8 bytes whose bytewise order is the numeric order of the (non-NaN) double."""
    if x == 0.0:
        return _ZERO
    (u,) = _Q.unpack(_pack_d(x))
    return _Q.pack(u ^ _MASK if u & _SIGN else u | _SIGN)


def decode_score(b: bytes) -> float:
    (u,) = _Q.unpack(b)
    return _unpack_d(_Q.pack(u & ~_SIGN if u & _SIGN else u ^ _MASK))[0]


def _after_score(x: float) -> bytes:
    """The smallest encoding greater than every member key of score x."""
    return _Q.pack(_Q.unpack(encode_score(x))[0] + 1)


def _index_value(score: float) -> bytes:
    return _pack_d(score) if score == 0.0 and math.copysign(1.0, score) < 0 else b""


# ---- ranges ----


@dataclass(frozen=True)
class ScoreRange:
    """zrangespec: min/max with exclusive flags (parsed by the command layer)."""

    min: float
    max: float
    minex: bool = False
    maxex: bool = False


# Lex range endpoints: NEG_INF ("-") / POS_INF ("+") or (value, exclusive).
NEG_INF = -1
POS_INF = 1


@dataclass(frozen=True)
class LexRange:
    """zlexrangespec: min/max are NEG_INF, POS_INF or a member with an exclusive flag."""

    min: int | bytes
    max: int | bytes
    minex: bool = False
    maxex: bool = False


def _lex_bounds(p: bytes, r: LexRange) -> tuple[bytes, bytes]:
    """[lower, upper) over the member records of prefix p for a lex range."""
    pm = p + TAG_MEMBER
    if r.min == NEG_INF:
        lo = pm
    elif r.min == POS_INF:
        lo = p + _TAG_AFTER_MEMBER
    else:
        assert isinstance(r.min, bytes)
        lo = pm + r.min + b"\x00" if r.minex else pm + r.min
    if r.max == POS_INF:
        hi = p + _TAG_AFTER_MEMBER
    elif r.max == NEG_INF:
        hi = pm
    else:
        assert isinstance(r.max, bytes)
        hi = pm + r.max if r.maxex else pm + r.max + b"\x00"
    return lo, hi


def _score_bounds(p: bytes, r: ScoreRange) -> tuple[bytes, bytes]:
    """[lower, upper) over the score index of prefix p for a score range."""
    ps = p + TAG_SCORE
    lo = ps + (_after_score(r.min) if r.minex else encode_score(r.min))
    hi = ps + (encode_score(r.max) if r.maxex else _after_score(r.max))
    return lo, hi


# ---- a zset (or set) read handle ----


class Source:
    """One input of ZUNION/ZINTER/ZDIFF (a zset, a set, or a missing key) or a zset being
    read: where its records are and how many there are."""

    __slots__ = ("count", "is_set", "meta", "prefix", "shard", "weight")

    def __init__(self, shard: Shard | None, prefix: bytes, meta: Meta | None) -> None:
        self.shard = shard
        self.prefix = prefix
        self.meta = meta
        self.count = meta.count if meta is not None else 0
        self.is_set = meta is not None and meta.type == T_SET
        self.weight = 1.0

    # -- zset records --

    def score_of(self, member: bytes) -> float | None:
        if self.meta is None:
            return None
        assert self.shard is not None
        if self.is_set:
            return 1.0 if self.shard.get(self.prefix + member) is not None else None
        raw = self.shard.get(self.prefix + TAG_MEMBER + member)
        return None if raw is None else _unpack_d(raw)[0]

    def items(self) -> Iterator[Pair]:
        """Every (member, score), in member order (sets: score 1.0)."""
        if self.meta is None:
            return
        assert self.shard is not None
        if self.is_set:
            p = self.prefix
            it = self.shard.scan_prefix(p)
            n = len(p)
            while it.valid():
                yield it.key()[n:], 1.0
                it.next()
            return
        p = self.prefix + TAG_MEMBER
        it = self.shard.iterator(p, self.prefix + _TAG_AFTER_MEMBER)
        n = len(p)
        while it.valid():
            yield it.key()[n:], _unpack_d(it.value())[0]
            it.next()

    def index_iter(self, lo: bytes, hi: bytes, reverse: bool = False) -> Iterator[Pair]:
        """(member, score) of the score-index keys in [lo, hi), ascending or descending."""
        assert self.shard is not None
        n = len(self.prefix) + 1
        it = self.shard.iterator(lo, hi)
        if reverse:
            it.seek_for_prev(hi)
            if it.valid() and it.key() >= hi:
                it.prev()
            while it.valid():
                k = it.key()
                if k < lo:
                    return
                v = it.value()
                yield k[n + 8 :], (_unpack_d(v)[0] if v else decode_score(k[n : n + 8]))
                it.prev()
            return
        while it.valid():
            k = it.key()
            v = it.value()
            yield k[n + 8 :], (_unpack_d(v)[0] if v else decode_score(k[n : n + 8]))
            it.next()

    def index_list(
        self, lo: bytes, hi: bytes, reverse: bool = False, skip: int = 0, take: int = -1
    ) -> list[Pair]:
        """index_iter's pairs as a list: skip the first `skip`, then up to `take` (-1: all).
        The hot path of ZRANGE/ZPOP: no generator, the score decoded inline."""
        assert self.shard is not None
        if take == 0:
            return []
        n = len(self.prefix) + 1
        m = n + 8
        it = self.shard.iterator(lo, hi)
        valid, key, value = it.valid, it.key, it.value
        if reverse:
            it.seek_for_prev(hi)
            if valid() and key() >= hi:
                it.prev()
            step = it.prev
        else:
            step = it.next
        out: list[Pair] = []
        append = out.append
        from_bytes, pack_q, unpack_d = int.from_bytes, _Q.pack, _unpack_d
        while valid():
            k = key()
            if reverse and k < lo:
                break
            if skip:
                skip -= 1
            else:
                v = value()
                if v:
                    append((k[m:], unpack_d(v)[0]))
                else:
                    u = from_bytes(k[n:m], "big")
                    append((k[m:], unpack_d(pack_q(u ^ _SIGN if u & _SIGN else u ^ _MASK))[0]))
                if len(out) == take:
                    break
            step()
        return out

    def all_by_score(self, reverse: bool = False) -> Iterator[Pair]:
        p = self.prefix
        return self.index_iter(p + TAG_SCORE, p + _TAG_AFTER_SCORE, reverse)

    def member_iter(self, lo: bytes, hi: bytes, reverse: bool = False) -> Iterator[Pair]:
        """(member, score) of the member records in [lo, hi)."""
        assert self.shard is not None
        n = len(self.prefix) + 1
        it = self.shard.iterator(lo, hi)
        if reverse:
            it.seek_for_prev(hi)
            if it.valid() and it.key() >= hi:
                it.prev()
            while it.valid():
                k = it.key()
                if k < lo:
                    return
                yield k[n:], _unpack_d(it.value())[0]
                it.prev()
            return
        while it.valid():
            yield it.key()[n:], _unpack_d(it.value())[0]
            it.next()


def _emit_pair(out: list, member: bytes, value: bytes | None) -> None:
    assert value is not None
    out.append((member, _unpack_d(value)[0]))


def _skip_take(it: Iterable[Pair], offset: int, limit: int) -> list[Pair]:
    """Redis's LIMIT: skip `offset` (negative: everything), then take `limit` (negative:
    unlimited)."""
    if offset < 0 or limit == 0:
        return []
    out: list[Pair] = []
    for pair in it:
        if offset:
            offset -= 1
            continue
        out.append(pair)
        if len(out) == limit:
            break
    return out


def _is_listpack(count: int, maxlen: int, limits: Sequence[int]) -> bool:
    """zsetConvertToListpackIfNeeded's test for a zset built by a *STORE command."""
    return count <= limits[0] and maxlen <= limits[1]


class ZsetOps:
    """Sorted-set operations, mixed into Database (methods are typed with self: Database)."""

    # ---- lookups ----

    def zsource(self: Database, key: bytes, now: int) -> Source | None:
        """The live zset at key for reading, None if missing; WRONGTYPE for another type."""
        meta = self.lookup(key, now)
        if meta is None:
            return None
        if meta.type != T_ZSET:
            raise WrongTypeError()
        return Source(self.shard_for(key), data_prefix(self.pdb, key, meta.version), meta)

    def zsources(self: Database, keys: list[bytes], now: int) -> list[Source]:
        """Inputs of ZUNION/ZINTER/ZDIFF/ZINTERCARD: zsets or sets, missing keys empty.
        WRONGTYPE at the first key of another type, in argument order (as Redis)."""
        out = []
        for key in keys:
            meta = self.lookup(key, now)
            if meta is None:
                out.append(Source(None, b"", None))
                continue
            if meta.type != T_ZSET and meta.type != T_SET:
                raise WrongTypeError()
            out.append(Source(self.shard_for(key), data_prefix(self.pdb, key, meta.version), meta))
        return out

    def zexists_typed(self: Database, key: bytes, now: int) -> bool:
        """True if key holds a zset, False if missing; WRONGTYPE otherwise."""
        return self.zsource(key, now) is not None

    # ---- reads ----

    def zcard(self: Database, key: bytes, now: int) -> int:
        src = self.zsource(key, now)
        return 0 if src is None else src.count

    def zscore(self: Database, key: bytes, member: bytes, now: int) -> float | None:
        src = self.zsource(key, now)
        return None if src is None else src.score_of(member)

    def zmscore(self: Database, key: bytes, members: list[bytes], now: int) -> list[float | None]:
        src = self.zsource(key, now)
        if src is None:
            return [None] * len(members)
        return [src.score_of(m) for m in members]

    def zrank(self: Database, key: bytes, member: bytes, now: int, reverse: bool) -> int | None:
        src = self.zsource(key, now)
        if src is None:
            return None
        score = src.score_of(member)
        if score is None:
            return None
        p = src.prefix
        target = p + TAG_SCORE + encode_score(score) + member
        lo, hi = p + TAG_SCORE, p + _TAG_AFTER_SCORE
        shard = src.shard
        assert shard is not None
        # Walk from both ends at once: the cost is twice the distance to the nearer end.
        fwd = shard.iterator(lo, hi)
        back = shard.iterator(lo, hi)
        back.seek_for_prev(hi)
        i = 0
        n = src.count
        while fwd.valid():
            if fwd.key() == target:
                rank = i
                break
            if back.key() == target:
                rank = n - 1 - i
                break
            fwd.next()
            back.prev()
            i += 1
        else:  # pragma: no cover - the member record says it is there
            return None
        return n - 1 - rank if reverse else rank

    def zcount(self: Database, key: bytes, rng: ScoreRange, now: int) -> int:
        src = self.zsource(key, now)
        if src is None:
            return 0
        lo, hi = _score_bounds(src.prefix, rng)
        return self._count_keys(src, lo, hi)

    def zlexcount(self: Database, key: bytes, rng: LexRange, now: int) -> int:
        src = self.zsource(key, now)
        if src is None:
            return 0
        lo, hi = _lex_bounds(src.prefix, rng)
        return self._count_keys(src, lo, hi)

    @staticmethod
    def _count_keys(src: Source, lo: bytes, hi: bytes) -> int:
        if lo >= hi:
            return 0
        assert src.shard is not None
        it = src.shard.iterator(lo, hi)
        n = 0
        nxt = it.next
        valid = it.valid
        while valid():
            n += 1
            nxt()
        return n

    def zrange_rank(
        self: Database, key: bytes, start: int, end: int, now: int, reverse: bool = False
    ) -> list[Pair] | None:
        """ZRANGE by index (Redis's sanitizing of start/end). None if the key is missing."""
        src = self.zsource(key, now)
        if src is None:
            return None
        return self._rank_slice(src, start, end, reverse)

    @staticmethod
    def _rank_slice(src: Source, start: int, end: int, reverse: bool) -> list[Pair]:
        n = src.count
        if start < 0:
            start = n + start
        if end < 0:
            end = n + end
        if start < 0:
            start = 0
        if start > end or start >= n:
            return []
        if end >= n:
            end = n - 1
        # Forward positions [a, b] of the wanted elements, walked from the nearer end.
        a, b = (n - 1 - end, n - 1 - start) if reverse else (start, end)
        p = src.prefix
        lo, hi = p + TAG_SCORE, p + _TAG_AFTER_SCORE
        if b + 1 <= n - a:
            out = src.index_list(lo, hi, False, a, b - a + 1)
            if reverse:
                out.reverse()
        else:
            out = src.index_list(lo, hi, True, n - 1 - b, b - a + 1)
            if not reverse:
                out.reverse()
        return out

    def zrange_score(
        self: Database,
        key: bytes,
        rng: ScoreRange,
        now: int,
        reverse: bool = False,
        offset: int = 0,
        limit: int = -1,
    ) -> list[Pair] | None:
        src = self.zsource(key, now)
        if src is None:
            return None
        lo, hi = _score_bounds(src.prefix, rng)
        if lo >= hi or offset < 0:
            return []
        return src.index_list(lo, hi, reverse, offset, limit)

    def zrange_lex(
        self: Database,
        key: bytes,
        rng: LexRange,
        now: int,
        reverse: bool = False,
        offset: int = 0,
        limit: int = -1,
    ) -> list[Pair] | None:
        src = self.zsource(key, now)
        if src is None:
            return None
        lo, hi = _lex_bounds(src.prefix, rng)
        if lo >= hi:
            return []
        return _skip_take(src.member_iter(lo, hi, reverse), offset, limit)

    def zscore_range(self: Database, src: Source, lo: float, hi: float) -> Iterator[Pair]:
        """(member, score) with lo <= score < hi in score order (GEO's box reads)."""
        p = src.prefix + TAG_SCORE
        return src.index_iter(p + encode_score(lo), p + encode_score(hi))

    # ---- random members ----

    def zrandmember(self: Database, key: bytes, now: int, count: int | None) -> list[Pair] | None:
        """ZRANDMEMBER: count None -> one member (list of one pair); count < 0 -> |count|
        members that may repeat, in random order; count > 0 -> distinct members.
        None if the key is missing."""
        src = self.zsource(key, now)
        if src is None:
            return None
        n = src.count
        if count is None:
            return self._at_ranks(src, [random.randrange(n)])
        if count == 0:
            return []
        if count < 0:
            return self._at_ranks(src, [random.randrange(n) for _ in range(-count)])
        if count >= n:
            # Redis walks the zset from its tail here: highest score first.
            return list(src.all_by_score(reverse=True))
        ranks = random.sample(range(n), count)
        return self._at_ranks(src, ranks)

    @staticmethod
    def _at_ranks(src: Source, ranks: list[int]) -> list[Pair]:
        """The elements at these ranks (repeats allowed), in the order given: one walk of
        the score index up to the largest rank."""
        wanted = set(ranks)
        top = max(ranks)
        found: dict[int, Pair] = {}
        for i, pair in enumerate(src.all_by_score()):
            if i in wanted:
                found[i] = pair
            if i >= top:
                break
        return [found[r] for r in ranks]

    # ---- ZSCAN ----

    def zscan(
        self: Database,
        key: bytes,
        cursor: int,
        now: int,
        *,
        match: bytes | None = None,
        count: int = 10,
    ) -> tuple[int, list[Pair]] | None:
        """ZSCAN. A listpack-encoded zset is returned whole in score order with cursor 0
        (COUNT and the cursor are ignored, as Redis does); a skiplist one is walked in
        member order from the cursor's position (storage/elemscan.py, over the member
        records only). None if the key is missing."""
        src = self.zsource(key, now)
        if src is None:
            return None
        assert src.meta is not None
        matcher = None if match is None or match == b"*" else compile_pattern(match)
        if src.meta.extra[:1] != SKIPLIST:
            pairs = list(src.all_by_score())
            if matcher is not None:
                pairs = [pr for pr in pairs if matcher(pr[0])]
            return 0, pairs
        assert src.meta is not None
        return elemscan.scan_page(
            self, key, src.meta.version, cursor, count, matcher, _emit_pair, sub=TAG_MEMBER
        )

    # ---- writes ----

    def zadd(
        self: Database,
        key: bytes,
        pairs: list[tuple[float, bytes]],
        now: int,
        *,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
        incr: bool = False,
        limits: Sequence[int] = DEFAULT_LIMITS,
    ) -> tuple[int, int, int, float | None]:
        """ZADD/ZINCRBY/GEOADD: zsetAdd for each (score, member) in order.
        -> (added, updated, processed, score of the last processed element)."""
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is not None and old.type != T_ZSET:
            raise WrongTypeError()
        shard = self.shard_for(key)
        if old is None:
            if xx:
                ws.commit()
                return 0, 0, 0, None
            version = ws.new_version(self, key)
            count = 0
            skiplist = limits[0] == 0 or limits[1] < len(pairs[0][1])
        else:
            version = old.version
            count = old.count
            skiplist = old.extra[:1] == SKIPLIST
        p = data_prefix(self.pdb, key, version)
        pm = p + TAG_MEMBER
        ps = p + TAG_SCORE
        b = ws.batch(shard)
        get = shard.get
        seen: dict[bytes, float] = {}
        added = updated = processed = 0
        last: float | None = None
        max_entries, max_value = limits
        for score, member in pairs:
            cur = seen.get(member)
            if cur is None and old is not None:
                raw = get(pm + member)
                if raw is not None:
                    cur = _unpack_d(raw)[0]
            if cur is not None:
                if nx:
                    continue
                if incr:
                    score += cur
                    if score != score:
                        raise CommandError(NAN_ERROR)
                if (lt and score >= cur) or (gt and score <= cur):
                    continue
                processed += 1
                last = score
                if score != cur:
                    stored = score if skiplist or score != 0.0 else 0.0
                    b.delete(ps + encode_score(cur) + member)
                    b.put(pm + member, _pack_d(stored))
                    b.put(ps + encode_score(stored) + member, _index_value(stored))
                    seen[member] = stored
                    updated += 1
                continue
            if xx:
                continue
            if not skiplist and (count + 1 > max_entries or len(member) > max_value):
                skiplist = True
            stored = score if skiplist or score != 0.0 else 0.0
            b.put(pm + member, _pack_d(stored))
            b.put(ps + encode_score(stored) + member, _index_value(stored))
            seen[member] = stored
            count += 1
            added += 1
            processed += 1
            last = score
        if added or updated:
            meta = Meta(
                T_ZSET,
                expire_at=old.expire_at if old is not None else 0,
                version=version,
                count=count,
                extra=SKIPLIST if skiplist else b"",
            )
            ws.put(self, key, meta, old)
        ws.commit()
        return added, updated, processed, last

    def zrem(self: Database, key: bytes, members: list[bytes], now: int) -> int:
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, key)
        if old is None:
            ws.commit()
            return 0
        if old.type != T_ZSET:
            raise WrongTypeError()
        shard = self.shard_for(key)
        p = data_prefix(self.pdb, key, old.version)
        removed: dict[bytes, float] = {}
        for m in members:
            if m in removed:
                continue
            raw = shard.get(p + TAG_MEMBER + m)
            if raw is not None:
                removed[m] = _unpack_d(raw)[0]
                if len(removed) == old.count:
                    break
        self._remove_pairs(ws, key, old, p, list(removed.items()))
        ws.commit()
        return len(removed)

    def _remove_pairs(
        self: Database, ws: WriteSet, key: bytes, old: Meta, p: bytes, pairs: list[Pair]
    ) -> None:
        """Delete these (member, score) elements of a live zset; the last one takes the key."""
        if not pairs:
            return
        left = old.count - len(pairs)
        if left <= 0:
            ws.delete(self, key, old)  # the element records go with the key
            return
        b = ws.batch(self.shard_for(key))
        pm = p + TAG_MEMBER
        ps = p + TAG_SCORE
        for m, s in pairs:
            b.delete(pm + m)
            b.delete(ps + encode_score(s) + m)
        new = old.copy()
        new.count = left
        ws.put(self, key, new, old)

    def _zwrite_source(self: Database, ws: WriteSet, key: bytes) -> tuple[Meta, Source] | None:
        old = ws.lookup(self, key)
        if old is None:
            return None
        if old.type != T_ZSET:
            raise WrongTypeError()
        return old, Source(self.shard_for(key), data_prefix(self.pdb, key, old.version), old)

    def _zremrange(self: Database, key: bytes, now: int, select: Callable[[Source], list]) -> int:
        """ZREMRANGEBY*: remove the (member, score) pairs select(source) picks. -> count."""
        ws = WriteSet(self.engine, now)
        found = self._zwrite_source(ws, key)
        if found is None:
            ws.commit()
            return 0
        old, src = found
        pairs = select(src)
        self._remove_pairs(ws, key, old, src.prefix, pairs)
        ws.commit()
        return len(pairs)

    def zremrange_rank(self: Database, key: bytes, start: int, end: int, now: int) -> int:
        return self._zremrange(key, now, lambda src: self._rank_slice(src, start, end, False))

    def zremrange_score(self: Database, key: bytes, rng: ScoreRange, now: int) -> int:
        def select(src: Source) -> list:
            lo, hi = _score_bounds(src.prefix, rng)
            return list(src.index_iter(lo, hi)) if lo < hi else []

        return self._zremrange(key, now, select)

    def zremrange_lex(self: Database, key: bytes, rng: LexRange, now: int) -> int:
        def select(src: Source) -> list:
            lo, hi = _lex_bounds(src.prefix, rng)
            return list(src.member_iter(lo, hi)) if lo < hi else []

        return self._zremrange(key, now, select)

    def zpop(
        self: Database, keys: list[bytes], now: int, from_max: bool, count: int
    ) -> tuple[bytes, list[Pair]] | None:
        """genericZpopCommand: pop up to count elements from the first existing key
        (WRONGTYPE if that key is not a zset). None when no key exists. count 0 checks the
        key and pops nothing."""
        ws = WriteSet(self.engine, now)
        for key in keys:
            found = self._zwrite_source(ws, key)
            if found is None:
                continue
            old, src = found
            pairs: list[Pair] = []
            if count > 0:
                p = src.prefix
                pairs = src.index_list(p + TAG_SCORE, p + _TAG_AFTER_SCORE, from_max, 0, count)
                self._remove_pairs(ws, key, old, src.prefix, pairs)
            ws.commit()
            return key, pairs
        ws.commit()
        return None

    # ---- building a whole zset (*STORE commands) ----

    def zstore(
        self: Database,
        dst: bytes,
        pairs: list[Pair],
        now: int,
        *,
        incremental: bool = False,
        limits: Sequence[int] = DEFAULT_LIMITS,
    ) -> int:
        """Replace dst (any type, TTL dropped) by a zset of these distinct members, or delete
        it when there are none. -> the number of elements.

        The encoding follows Redis: a zset built at once (ZUNIONSTORE, GEOSEARCHSTORE...)
        is listpack if it fits the limits; ZRANGESTORE adds one element at a time to a
        listpack and converts at the first element that does not fit (incremental)."""
        ws = WriteSet(self.engine, now)
        old = ws.lookup(self, dst)
        if not pairs:
            if old is not None:
                ws.delete(self, dst, old)
            ws.commit()
            return 0
        max_entries, max_value = limits
        convert_at = len(pairs)  # index of the first element stored as skiplist
        if incremental:
            for i, (m, _) in enumerate(pairs):
                if i + 1 > max_entries or len(m) > max_value:
                    convert_at = i
                    break
        elif not _is_listpack(len(pairs), max(len(m) for m, _ in pairs), limits):
            convert_at = 0
        version = ws.new_version(self, dst)
        p = data_prefix(self.pdb, dst, version)
        pm = p + TAG_MEMBER
        ps = p + TAG_SCORE
        b = ws.batch(self.shard_for(dst))
        for i, (m, s) in enumerate(pairs):
            if s == 0.0 and i < convert_at:
                s = 0.0  # a listpack keeps no -0
            b.put(pm + m, _pack_d(s))
            b.put(ps + encode_score(s) + m, _index_value(s))
        extra = SKIPLIST if convert_at < len(pairs) else b""
        ws.put(self, dst, Meta(T_ZSET, version=version, count=len(pairs), extra=extra), old)
        ws.commit()
        return len(pairs)


# ---- set algebra (zunionInterDiffGenericCommand) ----

AGGR_SUM = 0
AGGR_MIN = 1
AGGR_MAX = 2


def _aggregate(target: float, val: float, aggregate: int) -> float:
    if aggregate == AGGR_SUM:
        target = target + val
        # +inf + -inf is NaN: Redis's convention is 0.
        return 0.0 if target != target else target
    if aggregate == AGGR_MIN:
        return val if val < target else target
    return val if val > target else target


def zunion(sources: list[Source], aggregate: int) -> dict[bytes, float]:
    acc: dict[bytes, float] = {}
    for src in sorted(sources, key=lambda s: s.count):
        if not src.count:
            continue
        w = src.weight
        for member, score in src.items():
            v = w * score
            if v != v:
                v = 0.0
            cur = acc.get(member)
            acc[member] = v if cur is None else _aggregate(cur, v, aggregate)
    return acc


def zinter(
    sources: list[Source], aggregate: int, limit: int = 0, cardinality_only: bool = False
) -> tuple[dict[bytes, float], int]:
    """The intersection (scores aggregated), or with cardinality_only just its size up to
    `limit` (0: no limit). Iterates the smallest input and probes the others by point reads."""
    srcs = sorted(sources, key=lambda s: s.count)
    out: dict[bytes, float] = {}
    card = 0
    if not srcs or srcs[0].count == 0:
        return out, 0
    first, rest = srcs[0], srcs[1:]
    for member, score in first.items():
        acc = first.weight * score
        if acc != acc:
            acc = 0.0
        for src in rest:
            v = src.score_of(member)
            if v is None:
                break
            acc = _aggregate(acc, v * src.weight, aggregate)
        else:
            if cardinality_only:
                card += 1
                if limit and card >= limit:
                    break
            else:
                out[member] = acc
    return out, card


def zdiff(sources: list[Source]) -> dict[bytes, float]:
    first, rest = sources[0], sources[1:]
    out: dict[bytes, float] = {}
    if not first.count:
        return out
    for member, score in first.items():
        for src in rest:
            if src.count and src.score_of(member) is not None:
                break
        else:
            out[member] = score
    return out


def sorted_pairs(d: dict[bytes, float]) -> list[Pair]:
    """A computed zset in Redis's order: by score (-0 == 0), then member bytes."""
    return sorted(d.items(), key=lambda kv: (kv[1], kv[0]))


def zset_encoding(db: Database, key: bytes, meta: Meta) -> str:
    return "skiplist" if meta.extra[:1] == SKIPLIST else "listpack"


__all__ = [
    "AGGR_MAX",
    "AGGR_MIN",
    "AGGR_SUM",
    "DEFAULT_LIMITS",
    "NAN_ERROR",
    "NEG_INF",
    "POS_INF",
    "LexRange",
    "ScoreRange",
    "Source",
    "ZsetOps",
    "decode_score",
    "encode_score",
    "sorted_pairs",
    "zdiff",
    "zinter",
    "zset_encoding",
    "zunion",
]
