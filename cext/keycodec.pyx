# cython: language_level=3
"""Storage key codec: the byte layout of every RocksDB record pikadb writes.

The layout itself (prefix bytes, field widths, flag bits) is documented, and frozen, in
src/pikadb/storage/encoding.py; this module is its compiled implementation for the hot
path (slot hashing, meta record encode/decode, data/expiry key building). Nothing here
imports from src/: the facade pikadb.keycodec is the only importer of this module.

All integers in keys are big-endian so that RocksDB's bytewise order is numeric order.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

# ---- frozen constants (mirrored, with prose, in storage/encoding.py) ----

cdef enum:
    P_META = 0x01
    P_DATA = 0x02
    P_EXPIRE = 0x03
    TYPE_MASK = 0x0F
    F_EXPIRE = 0x10
    ENC_SHIFT = 5
    ENC_MASK = 0x60

T_STRING = 1
T_HASH = 2
T_LIST = 3
T_SET = 4
T_ZSET = 5
T_STREAM = 6

ENC_AUTO = 0      # what Redis's tryObjectEncoding would pick: int / embstr / raw
ENC_RAW = 1       # forced raw (APPEND / SETRANGE on an existing value)
ENC_EMBSTR = 2    # embstr when short, else raw (INCRBYFLOAT results)

# Returned by string_value() for a live key of another type.
WRONGTYPE = object()


# ---- crc16 (XMODEM, as Redis Cluster's keyHashSlot) ----

cdef uint16_t _CRC_TABLE[256]


cdef void _init_crc_table():
    cdef uint32_t i, j, crc
    for i in range(256):
        crc = i << 8
        for j in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
        _CRC_TABLE[i] = <uint16_t>crc


_init_crc_table()


cdef inline uint16_t _crc16(const uint8_t *p, Py_ssize_t n) noexcept:
    cdef uint16_t crc = 0
    cdef Py_ssize_t i
    for i in range(n):
        crc = (crc << 8) ^ _CRC_TABLE[((crc >> 8) ^ p[i]) & 0xFF]
    return crc


cpdef unsigned int crc16(bytes data):
    return _crc16(<const uint8_t *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


cpdef unsigned int key_slot(bytes key):
    """Redis Cluster's keyHashSlot: crc16 of the {hash-tag} if non-empty, else of the key."""
    return slot_of(<const uint8_t *>PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key))


cdef unsigned int slot_of(const uint8_t *p, Py_ssize_t n) noexcept:
    """key_slot of the n bytes at p (the command core hashes keys in its input buffer)."""
    cdef Py_ssize_t s, e
    s = 0
    while s < n and p[s] != ord('{'):
        s += 1
    if s == n:
        return _crc16(p, n) & 0x3FFF
    e = s + 1
    while e < n and p[e] != ord('}'):
        e += 1
    if e == n or e == s + 1:
        return _crc16(p, n) & 0x3FFF
    return _crc16(p + s + 1, e - s - 1) & 0x3FFF


def shard_index(bytes key, unsigned int nshards):
    """slot % nshards: the frozen key -> shard map."""
    if nshards == 1:
        return 0
    return key_slot(key) % nshards


# ---- big-endian helpers ----

cdef inline void _put_u16(uint8_t *p, uint16_t v) noexcept:
    p[0] = <uint8_t>(v >> 8)
    p[1] = <uint8_t>v


cdef inline void _put_u32(uint8_t *p, uint32_t v) noexcept:
    p[0] = <uint8_t>(v >> 24)
    p[1] = <uint8_t>(v >> 16)
    p[2] = <uint8_t>(v >> 8)
    p[3] = <uint8_t>v


cdef inline void _put_u64(uint8_t *p, uint64_t v) noexcept:
    cdef int i
    for i in range(8):
        p[i] = <uint8_t>(v >> (56 - 8 * i))


cdef inline uint64_t _get_u64(const uint8_t *p) noexcept:
    cdef uint64_t v = 0
    cdef int i
    for i in range(8):
        v = (v << 8) | p[i]
    return v


cdef inline uint32_t _get_u32(const uint8_t *p) noexcept:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef inline uint16_t _get_u16(const uint8_t *p) noexcept:
    return <uint16_t>((p[0] << 8) | p[1])


# ---- keys ----

cpdef bytes meta_key(int pdb, bytes key):
    """0x01 | pdb u16 | user key."""
    return meta_key_of(pdb, PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key))


cdef bytes meta_key_of(int pdb, const char *key, Py_ssize_t n):
    """meta_key of the n bytes at key (the command core's keys are in its input buffer)."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 3 + n)
    cdef uint8_t *p = <uint8_t *>PyBytes_AS_STRING(out)
    p[0] = P_META
    _put_u16(p + 1, <uint16_t>pdb)
    memcpy(p + 3, key, n)
    return out


def meta_prefix(int pdb):
    """0x01 | pdb: the common prefix of physical db `pdb`'s meta records."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 3)
    cdef uint8_t *p = <uint8_t *>PyBytes_AS_STRING(out)
    p[0] = P_META
    _put_u16(p + 1, <uint16_t>pdb)
    return out


cpdef bytes data_prefix(int pdb, bytes key, uint64_t version):
    """0x02 | pdb u16 | key length u32 | user key | version u64 (elements follow)."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(key)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 15 + n)
    cdef uint8_t *p = <uint8_t *>PyBytes_AS_STRING(out)
    p[0] = P_DATA
    _put_u16(p + 1, <uint16_t>pdb)
    _put_u32(p + 3, <uint32_t>n)
    memcpy(p + 7, PyBytes_AS_STRING(key), n)
    _put_u64(p + 7 + n, version)
    return out


def data_key(int pdb, bytes key, uint64_t version, bytes elem):
    """data_prefix(pdb, key, version) + elem."""
    return data_key_of(pdb, PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key), version,
                       PyBytes_AS_STRING(elem), PyBytes_GET_SIZE(elem))


cdef bytes data_key_of(int pdb, const char *key, Py_ssize_t n, uint64_t version,
                       const char *elem, Py_ssize_t m):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 15 + n + m)
    cdef uint8_t *p = <uint8_t *>PyBytes_AS_STRING(out)
    p[0] = P_DATA
    _put_u16(p + 1, <uint16_t>pdb)
    _put_u32(p + 3, <uint32_t>n)
    memcpy(p + 7, key, n)
    _put_u64(p + 7 + n, version)
    memcpy(p + 15 + n, elem, m)
    return out


def parse_data_key(bytes dk):
    """-> (pdb, user key, version, element bytes). ValueError if it is not a data key."""
    cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(dk)
    cdef Py_ssize_t total = PyBytes_GET_SIZE(dk)
    cdef uint32_t n
    if total < 15 or p[0] != P_DATA:
        raise ValueError("not a data key")
    n = _get_u32(p + 3)
    if total < 15 + <Py_ssize_t>n:
        raise ValueError("truncated data key")
    return (
        _get_u16(p + 1),
        PyBytes_FromStringAndSize(<const char *>p + 7, n),
        _get_u64(p + 7 + n),
        PyBytes_FromStringAndSize(<const char *>p + 15 + n, total - 15 - n),
    )


cpdef bytes expire_key(int pdb, int64_t at, bytes key):
    """0x03 | pdb u16 | expire-at ms u64 | user key (value empty)."""
    return expire_key_of(pdb, at, PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key))


cdef bytes expire_key_of(int pdb, int64_t at, const char *key, Py_ssize_t n):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 11 + n)
    cdef uint8_t *p = <uint8_t *>PyBytes_AS_STRING(out)
    p[0] = P_EXPIRE
    _put_u16(p + 1, <uint16_t>pdb)
    _put_u64(p + 3, <uint64_t>at)
    memcpy(p + 11, key, n)
    return out


def parse_expire_key(bytes ek):
    """-> (pdb, expire-at ms, user key)."""
    cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(ek)
    cdef Py_ssize_t total = PyBytes_GET_SIZE(ek)
    if total < 11 or p[0] != P_EXPIRE:
        raise ValueError("not an expiry index key")
    return (
        _get_u16(p + 1),
        <int64_t>_get_u64(p + 3),
        PyBytes_FromStringAndSize(<const char *>p + 11, total - 11),
    )


# ---- meta records ----

cdef class Meta:
    """A decoded meta record. Strings carry `value`; collections version/count/extra."""

    def __init__(self, int type, int64_t expire_at=0, bytes value=b"", uint64_t version=0,
                 int64_t count=0, bytes extra=b"", int enc=0):
        self.type = type
        self.enc = enc
        self.expire_at = expire_at
        self.value = value
        self.version = version
        self.count = count
        self.extra = extra

    cpdef bytes encode(self):
        if self.type == 1:
            return string_meta_of(PyBytes_AS_STRING(self.value), PyBytes_GET_SIZE(self.value),
                                  self.expire_at, self.enc)
        return coll_meta_of(self.type, self.enc, self.expire_at, self.version, self.count,
                            PyBytes_AS_STRING(self.extra), PyBytes_GET_SIZE(self.extra))

    cpdef Meta copy(self):
        cdef Meta m = Meta.__new__(Meta)
        m.type = self.type
        m.enc = self.enc
        m.expire_at = self.expire_at
        m.value = self.value
        m.version = self.version
        m.count = self.count
        m.extra = self.extra
        return m

    def __repr__(self):
        if self.type == 1:
            return f"Meta(string, expire_at={self.expire_at}, enc={self.enc}, value={self.value!r})"
        return (f"Meta(type={self.type}, expire_at={self.expire_at}, version={self.version}, "
                f"count={self.count}, extra={self.extra!r})")

    def __eq__(self, other):
        if not isinstance(other, Meta):
            return NotImplemented
        cdef Meta o = other
        return (self.type == o.type and self.enc == o.enc and self.expire_at == o.expire_at
                and self.value == o.value and self.version == o.version
                and self.count == o.count and self.extra == o.extra)

    __hash__ = None


cpdef Meta decode_meta(bytes raw):
    cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(raw)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw)
    cdef Py_ssize_t off = 1
    cdef Meta m = Meta.__new__(Meta)
    if n < 1:
        raise ValueError("empty meta record")
    m.type = p[0] & TYPE_MASK
    m.enc = (p[0] & ENC_MASK) >> ENC_SHIFT
    m.expire_at = 0
    if p[0] & F_EXPIRE:
        if n < 9:
            raise ValueError("truncated meta record")
        m.expire_at = <int64_t>_get_u64(p + 1)
        off = 9
    if m.type == 1:
        m.value = PyBytes_FromStringAndSize(<const char *>p + off, n - off)
        m.version = 0
        m.count = 0
        m.extra = b""
    else:
        if n < off + 16:
            raise ValueError("truncated collection meta record")
        m.value = b""
        m.version = _get_u64(p + off)
        m.count = <int64_t>_get_u64(p + off + 8)
        m.extra = PyBytes_FromStringAndSize(<const char *>p + off + 16, n - off - 16)
    return m


cpdef bytes encode_string(bytes value, int64_t expire_at, int enc):
    """The meta record of a string, without building a Meta (SET's hot path)."""
    return string_meta_of(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), expire_at, enc)


cdef bytes string_meta_of(const char *value, Py_ssize_t n, int64_t expire_at, int enc):
    cdef Py_ssize_t hlen = 9 if expire_at else 1
    cdef bytes out = PyBytes_FromStringAndSize(NULL, hlen + n)
    cdef uint8_t *p = <uint8_t *>PyBytes_AS_STRING(out)
    p[0] = <uint8_t>(1 | ((enc << ENC_SHIFT) & ENC_MASK) | (F_EXPIRE if expire_at else 0))
    if expire_at:
        _put_u64(p + 1, <uint64_t>expire_at)
    memcpy(p + hlen, value, n)
    return out


cdef bytes coll_meta_of(int type, int enc, int64_t expire_at, uint64_t version, int64_t count,
                        const char *extra, Py_ssize_t xn):
    """The meta record of a collection (type 2..6)."""
    cdef Py_ssize_t hlen = 9 if expire_at else 1
    cdef bytes out = PyBytes_FromStringAndSize(NULL, hlen + 16 + xn)
    cdef uint8_t *p = <uint8_t *>PyBytes_AS_STRING(out)
    p[0] = <uint8_t>((type & TYPE_MASK) | ((enc << ENC_SHIFT) & ENC_MASK)
                     | (F_EXPIRE if expire_at else 0))
    if expire_at:
        _put_u64(p + 1, <uint64_t>expire_at)
    _put_u64(p + hlen, version)
    _put_u64(p + hlen + 8, <uint64_t>count)
    memcpy(p + hlen + 16, extra, xn)
    return out


def meta_expire_at(bytes raw):
    """Expiry (unix ms, 0 = none) of an encoded meta record, without decoding the rest."""
    cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(raw)
    if PyBytes_GET_SIZE(raw) >= 9 and p[0] & F_EXPIRE:
        return <int64_t>_get_u64(p + 1)
    return 0


def live_type(bytes raw, int64_t now):
    """Type code of an encoded meta record, or 0 when it is past its expiry at `now`."""
    cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(raw)
    if PyBytes_GET_SIZE(raw) >= 9 and p[0] & F_EXPIRE:
        if <int64_t>_get_u64(p + 1) <= now:
            return 0
    return p[0] & TYPE_MASK


def string_value(bytes raw, int64_t now):
    """GET's hot path on an encoded meta record: the value of a live string, None when the
    key is past its expiry at `now`, or WRONGTYPE for a live key of another type."""
    cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(raw)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw)
    cdef Py_ssize_t off = 1
    if p[0] & F_EXPIRE:
        if <int64_t>_get_u64(p + 1) <= now:
            return None
        off = 9
    if (p[0] & TYPE_MASK) != 1:
        return WRONGTYPE
    return PyBytes_FromStringAndSize(<const char *>p + off, n - off)
