"""The on-disk layout of a pikadb data directory. FROZEN: a data dir written today must open
next year. Change nothing here without a format version bump and a migration.

Directory
---------
    <dir>/PIKADB              JSON: {"format": "pikadb", "version": 1, "shards": N,
                              "slot_map": "crc16-mod", "created_at": <unix s>}
    <dir>/LOCK                flock()ed by the process that has the dir open
    <dir>/shards/<n>/         one RocksDB instance per shard, n = 0 .. N-1
    <dir>/binlog/<n>/         the shard's binlog (pikadb.storage.binlog): manifest and
                              write2file<N> segments

The shard count is fixed when the directory is created. A key's shard:

    slot  = crc16(hash tag or key) & 16383     (exactly Redis Cluster's keyHashSlot)
    shard = slot % N                           ("crc16-mod")

Records inside a shard (one column family, raw bytes; integers are big-endian so bytewise
order is numeric order; `pdb` is a physical db id, u16)
----------------------------------------------------------------------------------------
    0x00 <name>                                    system records:
         b"dbmap"   -> u64 generation | u16 pdb per logical db (logical -> physical map)
         b"vfloor"  -> u64: every collection version handed out later is >= this
         b"binlog"  -> u64 term | u64 last applied binlog id | u64 binlog end offset
                       (written in every batch, with the ops of the binlog records it
                       covers; a new 0x00 name, which this layout allows without a
                       version bump: older readers never look it up)
    0x01 <pdb> <key>                               META: one per user key (below)
    0x02 <pdb> <klen:u32> <key> <version:u64> <element...>
                                                   DATA: one per collection element;
                                                   the element suffix belongs to the type
    0x03 <pdb> <expire_at_ms:u64> <key>            EXPIRY INDEX, empty value
    0x04 <pdb>                                     COUNTERS of the physical db (below)

Meta value
----------
    byte 0: bits 0-3 type code (frozen: 1 string, 2 hash, 3 list, 4 set, 5 zset,
            6 stream reserved; 0 is never written)
            bit  4   has expiry
            bits 5-6 string encoding hint (0 auto, 1 raw, 2 embstr) for OBJECT ENCODING
            bit  7   reserved, 0
    [u64 expire_at ms]              only when bit 4 is set
    string:       the value bytes (to the end)
    collections:  u64 version | u64 element count | type-specific bytes (to the end)

Strings keep their value inline. A collection's elements live in DATA records prefixed with
(pdb, key, version): deleting or expiring a collection is one meta write, and the elements of
an old version are garbage that a background reclaimer can find by scanning DATA records and
comparing each (pdb, key, version) with the current META (absent, other type or other
version = garbage). Small collections are purged in the deleting batch right away. A type's
element suffix must not embed the key or the version (RENAME/COPY/MOVE copy elements by
re-prefixing them).

Versions are unique per shard: max(now in µs, last + 1), with a persisted floor ("vfloor",
raised in the same batch as the write that would cross it) so a clock going backwards
after a restart can never reuse one.

Expiry index and counters
-------------------------
Each volatile key has exactly one EXPIRY INDEX record, written and removed in the same
batch as its meta, so the active expire cycle reads due keys in time order per physical db
without scanning the keyspace. A record whose meta is gone or has another expire_at is
stale (only after FLUSHDB races, which range-delete the index too) and is just dropped.

COUNTERS value: i64 keys | i64 volatile keys | signed big-endian sum of the expire_at of
the volatile keys (variable length). They change only in the batch that creates/deletes a
key or gives/takes a TTL, so they survive kill -9 and DBSIZE is exact (like Redis, keys
past their expiry still count until something deletes them). avg_ttl for INFO keyspace is
sum/volatile - now.

Logical databases
-----------------
Every record carries the physical db id. SELECT n uses dbmap[n]. SWAPDB a b swaps two
entries of the map (one small write per shard, with a generation so a crash between shard
writes is repaired on open by taking the newest map). FLUSHDB range-deletes the META, DATA
and EXPIRY ranges of one pdb and zeroes its counters; FLUSHALL range-deletes 0x01..0x04.
"""

from __future__ import annotations

import struct

from pikadb.keycodec import (
    ENC_AUTO,
    ENC_EMBSTR,
    ENC_RAW,
    T_HASH,
    T_LIST,
    T_SET,
    T_STREAM,
    T_STRING,
    T_ZSET,
)

FORMAT_NAME = "pikadb"
FORMAT_VERSION = 1
SLOT_MAP = "crc16-mod"
FORMAT_FILE = "PIKADB"
LOCK_FILE = "LOCK"
SHARDS_DIR = "shards"

NSLOTS = 16384
MAX_DATABASES = 65536  # pdb is a u16

# Record prefixes (first byte of every RocksDB key).
P_SYSTEM = b"\x00"
P_META = b"\x01"
P_DATA = b"\x02"
P_EXPIRE = b"\x03"
P_COUNTERS = b"\x04"
P_END = b"\x05"  # first byte after every user-data prefix (FLUSHALL's range end)

SYS_DBMAP = P_SYSTEM + b"dbmap"
SYS_VERSION_FLOOR = P_SYSTEM + b"vfloor"
SYS_BINLOG = P_SYSTEM + b"binlog"
BINLOG_DIR = "binlog"

TYPE_NAMES: dict[int, str] = {
    T_STRING: "string",
    T_HASH: "hash",
    T_LIST: "list",
    T_SET: "set",
    T_ZSET: "zset",
    T_STREAM: "stream",
}
TYPE_CODES: dict[str, int] = {name: code for code, name in TYPE_NAMES.items()}

__all__ = [
    "ENC_AUTO",
    "ENC_EMBSTR",
    "ENC_RAW",
    "TYPE_CODES",
    "TYPE_NAMES",
    "T_HASH",
    "T_LIST",
    "T_SET",
    "T_STREAM",
    "T_STRING",
    "T_ZSET",
]

_U16 = struct.Struct(">H")
_COUNTS = struct.Struct(">qq")


def pdb_range(prefix: bytes, pdb: int) -> tuple[bytes, bytes]:
    """[begin, end) of every record with this prefix byte and physical db."""
    begin = prefix + _U16.pack(pdb)
    end = prefix_successor(begin)
    assert end is not None  # prefixes are < 0xff
    return begin, end


_COUNTER_KEYS = [P_COUNTERS + _U16.pack(pdb) for pdb in range(256)]


def counters_key(pdb: int) -> bytes:
    return _COUNTER_KEYS[pdb] if pdb < 256 else P_COUNTERS + _U16.pack(pdb)


def encode_counters(keys: int, volatile: int, ttl_sum: int) -> bytes:
    n = (ttl_sum.bit_length() + 8) >> 3  # +1 bit of sign, rounded up
    return _COUNTS.pack(keys, volatile) + ttl_sum.to_bytes(n, "big", signed=True)


def decode_counters(raw: bytes) -> list[int]:
    keys, volatile = _COUNTS.unpack_from(raw)
    return [keys, volatile, int.from_bytes(raw[16:], "big", signed=True)]


def encode_dbmap(generation: int, pdbs: list[int]) -> bytes:
    return struct.pack(f">Q{len(pdbs)}H", generation, *pdbs)


def decode_dbmap(raw: bytes) -> tuple[int, list[int]]:
    (generation,) = struct.unpack_from(">Q", raw)
    n = (len(raw) - 8) // 2
    return generation, list(struct.unpack_from(f">{n}H", raw, 8))


def prefix_successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with prefix (None: none)."""
    p = prefix.rstrip(b"\xff")
    if not p:
        return None
    return p[:-1] + bytes([p[-1] + 1])
