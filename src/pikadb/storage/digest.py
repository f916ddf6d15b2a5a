"""DEBUG DIGEST / DEBUG DIGEST-VALUE: Redis's data set signatures (debug.c), byte for byte.

The same data set loaded into redis-server and pikad gives the same 40 hex digits, so two
servers (a master and its replica, pikad and Redis) can be proven to hold identical data.
Redis 7.0's algorithm, with SHA1 = the 20-byte SHA-1 digest:

    xorDigest(d, s):  d ^= SHA1(s)
    mixDigest(d, s):  d = SHA1(d ^ SHA1(s))          (order-sensitive)

    value digest (xorObjectDigest), starting from a given d:
        mixDigest(d, u32 big-endian type)   string 0, list 1, set 2, zset 3, hash 4
        string  mixDigest(d, value)
        list    mixDigest(d, element) for each element, head first
        set     xorDigest(d, member) for each member
        zset    per member: e = 0; mixDigest(e, member); mixDigest(e, "%.17g" of the score);
                xorDigest(d, e)
        hash    per field: e = 0; mixDigest(e, field); mixDigest(e, value); xorDigest(d, e)
        then, if the key has a TTL: xorDigest(d, "!!expire!!")

    DEBUG DIGEST: final = 0; per non-empty db j in index order: mixDigest(final, u32 j),
    then per key: d = 0; mixDigest(d, key); value digest onto d; xorDigest(final, d).
    (xorDigest, not a plain xor: final ^= SHA1(d).)

    DEBUG DIGEST-VALUE key: the value digest from d = 0 (no key name), 0 for a missing key.

Found against redis-server 7.0.15: scores are formatted with "%.17g" in both zset
encodings ("inf", "-inf", "-0" for a skiplist's -0.0; a listpack zset has no -0, and
neither has pikad's storage of one, see storage/zsets.py); integer-encoded strings,
intset members and listpack integers digest as their decimal text, which is the text pikad
stores (only canonical integers are ever integer-encoded). No digest depends on the encoding.

Keys past their expiry are skipped (DIGEST-VALUE answers zeros for them): pikad keeps them
in storage until the expire cycle or an access deletes them, and Redis's answer for them
would depend on when its own cycle ran. A db whose keys are all expired counts as empty.
Nothing is deleted or touched here (no LRU/LFU update), as in Redis.

Everything is read through shard iterators, one record at a time, so a collection of
millions of elements is never held in memory. Digests are kept as 160-bit ints so that the
xors are one operation each.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING

from pikadb.keycodec import (
    T_HASH,
    T_LIST,
    T_SET,
    T_STRING,
    T_ZSET,
    Meta,
    data_prefix,
    decode_meta,
    meta_key,
    meta_prefix,
)
from pikadb.storage.encoding import prefix_successor
from pikadb.storage.lists import head_of
from pikadb.storage.zsets import TAG_MEMBER

if TYPE_CHECKING:
    from pikadb.storage.database import Database
    from pikadb.storage.engine import Engine
    from pikadb.storage.shard import Shard

__all__ = ["ZERO_DIGEST", "dataset_digest", "hex_digest", "value_digest"]

ZERO_DIGEST = "0" * 40

_sha1 = hashlib.sha1
_from_bytes = int.from_bytes
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_unpack_d = struct.Struct(">d").unpack


def _h(data: bytes) -> int:
    """SHA1(data) as an int: what xorDigest xors in."""
    return _from_bytes(_sha1(data).digest(), "big")


# Redis's object type numbers (server.h OBJ_*), which are not pikad's type codes.
_REDIS_TYPE = {T_STRING: 0, T_LIST: 1, T_SET: 2, T_ZSET: 3, T_HASH: 4}
_TYPE_HASH = {t: _h(_U32.pack(n)) for t, n in _REDIS_TYPE.items()}
_EXPIRE_HASH = _h(b"!!expire!!")


def _mix(d: int, data: bytes) -> int:
    """mixDigest on an int digest."""
    return _from_bytes(_sha1((d ^ _h(data)).to_bytes(20, "big")).digest(), "big")


def _mix_key(key: bytes) -> int:
    """mixDigest(0, key): SHA1(SHA1(key))."""
    return _from_bytes(_sha1(_sha1(key).digest()).digest(), "big")


def _object(d: int, db: Database, key: bytes, meta: Meta) -> int:
    """xorObjectDigest: the value digest of key's live `meta`, continued from d."""
    sha1, from_bytes = _sha1, int.from_bytes
    t = meta.type
    d = from_bytes(sha1((d ^ _TYPE_HASH[t]).to_bytes(20, "big")).digest(), "big")
    if t == T_STRING:
        d = _mix(d, meta.value)
    elif t == T_LIST:
        prefix = data_prefix(db.pdb, key, meta.version)
        head = head_of(meta)
        it = db.shard_for(key).iterator(
            prefix + _U64.pack(head), prefix + _U64.pack(head + meta.count)
        )
        valid, value, nxt = it.valid, it.value, it.next
        while valid():
            h = from_bytes(sha1(value()).digest(), "big")
            d = from_bytes(sha1((d ^ h).to_bytes(20, "big")).digest(), "big")
            nxt()
    elif t == T_SET:
        it, cut = _elements(db.shard_for(key), data_prefix(db.pdb, key, meta.version))
        valid, k, nxt = it.valid, it.key, it.next
        while valid():
            d ^= from_bytes(sha1(k()[cut:]).digest(), "big")
            nxt()
    elif t in (T_HASH, T_ZSET):
        prefix = data_prefix(db.pdb, key, meta.version)
        if t == T_ZSET:
            prefix += TAG_MEMBER  # the member -> score records
        it, cut = _elements(db.shard_for(key), prefix)
        valid, k, v, nxt = it.valid, it.key, it.value, it.next
        zset = t == T_ZSET
        while valid():
            # e = 0; mixDigest(e, field or member) = SHA1(SHA1(field))
            e = from_bytes(sha1(sha1(k()[cut:]).digest()).digest(), "big")
            second = (b"%.17g" % _unpack_d(v())) if zset else v()
            e ^= from_bytes(sha1(second).digest(), "big")
            d ^= from_bytes(sha1(sha1(e.to_bytes(20, "big")).digest()).digest(), "big")
            nxt()
    else:  # pragma: no cover - no other type is ever written
        raise ValueError(f"no digest for type code {t}")
    if meta.expire_at:
        d ^= _EXPIRE_HASH
    return d


def _elements(shard: Shard, prefix: bytes) -> tuple[object, int]:
    """An iterator over the records under prefix, and where their suffix starts."""
    end = prefix_successor(prefix)
    assert end is not None  # DATA records start with 0x02
    return shard.iterator(prefix, end), len(prefix)


def _live(raw: bytes | None, now: int) -> Meta | None:
    if raw is None:
        return None
    meta = decode_meta(raw)
    if meta.expire_at and meta.expire_at <= now:
        return None
    return meta


def value_digest(db: Database, key: bytes, now: int) -> int:
    """DEBUG DIGEST-VALUE of one key of db (0 for a missing or expired key)."""
    meta = _live(db.shard_for(key).get(meta_key(db.pdb, key)), now)
    return 0 if meta is None else _object(0, db, key, meta)


def dataset_digest(engine: Engine, now: int) -> int:
    """DEBUG DIGEST: every live key of every logical db."""
    return combine_digest_parts(digest_parts(engine, now))


def digest_parts(engine: Engine, now: int) -> dict[int, int]:
    """Per logical db with live keys in this engine's shards: the xor of its key digests.
    Several workers each compute theirs; combine_digest_parts() makes DEBUG DIGEST of them
    (the per-key part is an xor, so it splits over shards; the per-db mix does not)."""
    sha1, from_bytes = _sha1, int.from_bytes
    parts: dict[int, int] = {}
    for index in range(engine.databases):
        if not engine.dbsize(index):
            continue
        db = engine.db(index)
        start = meta_prefix(db.pdb)
        end = prefix_successor(start)
        cut = len(start)
        for shard in engine.shards:
            it = shard.iterator(start, end)
            valid, k, v, nxt = it.valid, it.key, it.value, it.next
            while valid():
                meta = decode_meta(v())
                if not meta.expire_at or meta.expire_at > now:
                    key = k()[cut:]
                    d = _object(_mix_key(key), db, key, meta)
                    parts[index] = parts.get(index, 0) ^ from_bytes(
                        sha1(d.to_bytes(20, "big")).digest(), "big"
                    )
                nxt()
    return parts


def combine_digest_parts(parts: dict[int, int]) -> int:
    final = 0
    for index in sorted(parts):
        final = _mix(final, _U32.pack(index)) ^ parts[index]
    return final


def hex_digest(d: int) -> str:
    """Redis's reply text: 40 lowercase hex digits."""
    return d.to_bytes(20, "big").hex()
