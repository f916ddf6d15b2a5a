# cython: language_level=3
"""Binlog record codec: one record = the RocksDB operations one command wrote to one shard.

Layout (integers big-endian, like every other pikadb encoding):

    magic     4  b"PKB1"
    length    u32  bytes of the whole record, header included
    crc32     u32  zlib's crc32 of every byte after this field
    term      u64  replication term of the master that wrote it
    timestamp u64  unix ms at the master
    id        u64  logical id, per shard, +1 per record, first record 1
    offset    u64  bytes of this shard's binlog stream before this record
    db        u16  logical db the command ran in (informational)
    argc      u32, then argc x (u32 length, bytes)       the command, for people and tools
    nops      u32, then nops x op:
                  0x00 put           u32 klen, key, u32 vlen, value
                  0x01 delete        u32 klen, key
                  0x02 delete_range  u32 blen, begin, u32 elen, end

Ops are given and returned in shard.Ops.items form: (key, value) put, (key, None) delete,
(begin, (end,)) range delete, so the write path encodes its batch without converting it.
Sans-IO: encode_record() -> bytes, decode_record(buf, pos) -> (Record, next_pos). A short
buffer raises BinlogTruncated (a torn tail, or read more), anything inconsistent
BinlogCorrupt; both are BinlogError (a ValueError).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
import zlib

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdio cimport snprintf
from libc.string cimport memcpy, memcmp
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME

from pikadb._keycache cimport KeyCache


# zlib's CRC-32 (polynomial 0xEDB88320), computed here with slicing-by-8 so the build needs
# no zlib headers: a fresh machine with only gcc and Python's headers can pip install.
cdef uint32_t _CRC[8][256]


cdef void _crc_init() noexcept:
    cdef uint32_t c, i, k
    for i in range(256):
        c = i
        for k in range(8):
            c = (c >> 1) ^ (0xEDB88320U if c & 1 else 0)
        _CRC[0][i] = c
    for i in range(256):
        for k in range(1, 8):
            _CRC[k][i] = (_CRC[k - 1][i] >> 8) ^ _CRC[0][_CRC[k - 1][i] & 0xFF]


_crc_init()


cdef inline unsigned long crc32(unsigned long crc, const unsigned char *buf, size_t n) noexcept nogil:
    cdef uint32_t c = <uint32_t>crc ^ 0xFFFFFFFFU
    cdef uint32_t lo, hi
    while n >= 8:
        lo = c ^ (<uint32_t>buf[0] | (<uint32_t>buf[1] << 8) | (<uint32_t>buf[2] << 16)
                  | (<uint32_t>buf[3] << 24))
        hi = (<uint32_t>buf[4] | (<uint32_t>buf[5] << 8) | (<uint32_t>buf[6] << 16)
              | (<uint32_t>buf[7] << 24))
        c = (_CRC[7][lo & 0xFF] ^ _CRC[6][(lo >> 8) & 0xFF] ^ _CRC[5][(lo >> 16) & 0xFF]
             ^ _CRC[4][lo >> 24] ^ _CRC[3][hi & 0xFF] ^ _CRC[2][(hi >> 8) & 0xFF]
             ^ _CRC[1][(hi >> 16) & 0xFF] ^ _CRC[0][hi >> 24])
        buf += 8
        n -= 8
    while n:
        c = _CRC[0][(c ^ buf[0]) & 0xFF] ^ (c >> 8)
        buf += 1
        n -= 1
    return c ^ 0xFFFFFFFFU


# Past this size zlib's CRC (hardware-assisted, several times faster than the tables above
# on a 512 MB value) pays for the cost of calling it through Python.
cdef Py_ssize_t _ZLIB_FROM = 1 << 16
_zlib_crc32 = zlib.crc32


cdef uint32_t _checksum(object owner, const unsigned char *p, Py_ssize_t start, Py_ssize_t n):
    """CRC-32 of n bytes at p (= owner's buffer + start)."""
    if n >= _ZLIB_FROM:
        return <uint32_t>_zlib_crc32(memoryview(owner)[start:start + n])
    return <uint32_t>crc32(0, p, <size_t>n)


# dispatch.BINLOG_ARG_MAX: a record's arguments longer than this are shortened.
DEF ARG_MAX = 128

MAGIC = b"PKB1"
HEADER_SIZE = 12  # magic, length, crc
FIXED_SIZE = 54  # header + term, timestamp, id, offset, db, argc, nops

OP_PUT = 0
OP_DELETE = 1
OP_DELETE_RANGE = 2

cdef enum:
    _HDR = 12
    _FIXED = 54
    _MAX_LEN = 0xFFFFFFFFU


class BinlogError(ValueError):
    """A binlog record cannot be decoded."""


class BinlogTruncated(BinlogError):
    """The buffer ends inside a record (a torn tail, or not everything was read yet)."""


class BinlogCorrupt(BinlogError):
    """Bad magic, length, checksum or structure: the bytes are not a valid record."""


cdef class Record:
    """A decoded binlog record. ops are in shard.Ops.items form."""

    cdef readonly uint64_t term
    cdef readonly uint64_t timestamp
    cdef readonly uint64_t id
    cdef readonly uint64_t offset
    cdef readonly int db
    cdef readonly list argv
    cdef readonly list ops
    cdef readonly Py_ssize_t size  # encoded bytes

    def __init__(self, term, timestamp, id, offset, db, argv, ops, size=0):
        self.term = term
        self.timestamp = timestamp
        self.id = id
        self.offset = offset
        self.db = db
        self.argv = list(argv)
        self.ops = list(ops)
        self.size = size

    @property
    def end_offset(self) -> int:
        """Stream offset just after this record (the next record's offset)."""
        return self.offset + self.size

    def __eq__(self, other):
        if not isinstance(other, Record):
            return NotImplemented
        cdef Record o = other
        return (
            self.term == o.term and self.timestamp == o.timestamp and self.id == o.id
            and self.offset == o.offset and self.db == o.db and self.argv == o.argv
            and self.ops == o.ops
        )

    def __repr__(self):
        return (
            f"Record(term={self.term}, timestamp={self.timestamp}, id={self.id}, "
            f"offset={self.offset}, db={self.db}, argv={self.argv!r}, ops={len(self.ops)} op(s))"
        )


cdef inline void _put_u16(char *p, uint16_t v) noexcept nogil:
    p[0] = <char>(v >> 8)
    p[1] = <char>v


cdef inline void _put_u32(char *p, uint32_t v) noexcept nogil:
    p[0] = <char>(v >> 24)
    p[1] = <char>(v >> 16)
    p[2] = <char>(v >> 8)
    p[3] = <char>v


cdef inline void _put_u64(char *p, uint64_t v) noexcept nogil:
    _put_u32(p, <uint32_t>(v >> 32))
    _put_u32(p + 4, <uint32_t>v)


cdef inline uint16_t _get_u16(const uint8_t *p) noexcept nogil:
    return (<uint16_t>p[0] << 8) | p[1]


cdef inline uint32_t _get_u32(const uint8_t *p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef inline uint64_t _get_u64(const uint8_t *p) noexcept nogil:
    return (<uint64_t>_get_u32(p) << 32) | _get_u32(p + 4)


cdef inline Py_ssize_t _blen(object b) except -1:
    if type(b) is not bytes:
        raise TypeError(f"binlog fields must be bytes, not {type(b).__name__}")
    return PyBytes_GET_SIZE(b)


cdef inline char *_put_bytes(char *p, object b) noexcept:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    _put_u32(p, <uint32_t>n)
    memcpy(p + 4, PyBytes_AS_STRING(b), n)
    return p + 4 + n


cdef Py_ssize_t _ops_size(list ops) except -1:
    """Encoded bytes of ops (checked: (key, value | None | (end,)) tuples)."""
    cdef Py_ssize_t i, n = 4
    cdef object item, k, v
    for i in range(PyList_GET_SIZE(ops)):
        item = <object>PyList_GET_ITEM(ops, i)
        if type(item) is not tuple or PyTuple_GET_SIZE(item) != 2:
            raise TypeError("an op is a (key, value | None | (end,)) tuple")
        k = <object>PyTuple_GET_ITEM(item, 0)
        v = <object>PyTuple_GET_ITEM(item, 1)
        n += 5 + _blen(k)
        if v is None:
            continue
        if type(v) is tuple:
            if PyTuple_GET_SIZE(v) != 1:
                raise TypeError("a range delete is (begin, (end,))")
            n += 4 + _blen(<object>PyTuple_GET_ITEM(v, 0))
        else:
            n += 4 + _blen(v)
    return n


cdef char *_put_ops(char *p, list ops):
    cdef Py_ssize_t i, nops = PyList_GET_SIZE(ops)
    cdef object item, k, v
    _put_u32(p, <uint32_t>nops)
    p += 4
    for i in range(nops):
        item = <object>PyList_GET_ITEM(ops, i)
        k = <object>PyTuple_GET_ITEM(item, 0)
        v = <object>PyTuple_GET_ITEM(item, 1)
        if v is None:
            p[0] = OP_DELETE
            p = _put_bytes(p + 1, k)
        elif type(v) is tuple:
            p[0] = OP_DELETE_RANGE
            p = _put_bytes(p + 1, k)
            p = _put_bytes(p, <object>PyTuple_GET_ITEM(v, 0))
        else:
            p[0] = OP_PUT
            p = _put_bytes(p + 1, k)
            p = _put_bytes(p, v)
    return p


cdef bytes _record_start(Py_ssize_t n, uint64_t term, uint64_t timestamp, uint64_t id,
                         uint64_t offset, int db, Py_ssize_t nargs, char **at):
    """A record of n bytes with its fixed fields filled; at: where its arguments go."""
    if db < 0 or db > 0xFFFF:
        raise ValueError("db must fit in a u16")
    if n > _MAX_LEN:
        raise ValueError("binlog record larger than 4 GiB")
    out = PyBytes_FromStringAndSize(NULL, n)
    cdef char *p = PyBytes_AS_STRING(out)
    memcpy(p, b"PKB1", 4)
    _put_u32(p + 4, <uint32_t>n)
    _put_u64(p + 12, term)
    _put_u64(p + 20, timestamp)
    _put_u64(p + 28, id)
    _put_u64(p + 36, offset)
    _put_u16(p + 44, <uint16_t>db)
    _put_u32(p + 46, <uint32_t>nargs)
    at[0] = p + 50
    return out


cdef inline void _seal(bytes out):
    cdef char *base = PyBytes_AS_STRING(out)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(out)
    _put_u32(base + 8, _checksum(out, <const unsigned char *>(base + _HDR), _HDR, n - _HDR))


cpdef bytes encode_record(
    uint64_t term,
    uint64_t timestamp,
    uint64_t id,
    uint64_t offset,
    int db,
    list argv,
    list ops,
):
    """The encoded record (see the module docstring)."""
    cdef Py_ssize_t n = _FIXED - 4
    cdef Py_ssize_t i, nargs = PyList_GET_SIZE(argv)
    cdef char *p
    for i in range(nargs):
        n += 4 + _blen(<object>PyList_GET_ITEM(argv, i))
    n += _ops_size(ops)
    out = _record_start(n, term, timestamp, id, offset, db, nargs, &p)
    for i in range(nargs):
        p = _put_bytes(p, <object>PyList_GET_ITEM(argv, i))
    _put_ops(p, ops)
    _seal(out)
    return out


cdef bytes encode_record_args(uint64_t term, uint64_t timestamp, uint64_t id,
                              uint64_t offset, int db, const RawArg *args,
                              Py_ssize_t nargs, list ops):
    """encode_record with the command's arguments as (pointer, length) pairs (the command
    core's parse, no bytes object per argument); arguments longer than ARG_MAX bytes are
    shortened as SLOWLOG shortens them (dispatch.shorten_args)."""
    cdef Py_ssize_t n = _FIXED - 4, i, an
    cdef char *p
    cdef char more[48]
    cdef int mn
    for i in range(nargs):
        an = args[i].n
        if an > ARG_MAX:
            an = ARG_MAX + snprintf(more, sizeof(more), b"... (%zd more bytes)", an - ARG_MAX)
        n += 4 + an
    n += _ops_size(ops)
    out = _record_start(n, term, timestamp, id, offset, db, nargs, &p)
    for i in range(nargs):
        an = args[i].n
        if an <= ARG_MAX:
            _put_u32(p, <uint32_t>an)
            memcpy(p + 4, args[i].p, an)
            p += 4 + an
        else:
            mn = snprintf(more, sizeof(more), b"... (%zd more bytes)", an - ARG_MAX)
            _put_u32(p, <uint32_t>(ARG_MAX + mn))
            memcpy(p + 4, args[i].p, ARG_MAX)
            memcpy(p + 4 + ARG_MAX, more, mn)
            p += 4 + ARG_MAX + mn
    _put_ops(p, ops)
    _seal(out)
    return out


cdef inline bytes _take(const uint8_t *p, Py_ssize_t *pos, Py_ssize_t end, Py_ssize_t at):
    """A u32-length-prefixed byte string at p[pos[0]]; pos advances past it."""
    cdef Py_ssize_t q = pos[0]
    cdef uint32_t n
    if q + 4 > end:
        raise BinlogCorrupt(f"binlog record at {at}: field runs past the record end")
    n = _get_u32(p + q)
    if q + 4 + <Py_ssize_t>n > end:
        raise BinlogCorrupt(f"binlog record at {at}: field runs past the record end")
    pos[0] = q + 4 + n
    return PyBytes_FromStringAndSize(<const char *>(p + q + 4), n)


def record_size(buf, Py_ssize_t pos=0) -> int:
    """The length of the record starting at buf[pos] from its header alone (magic checked),
    or -1 when fewer than 12 bytes are there."""
    cdef Py_buffer view
    cdef const uint8_t *p
    cdef uint32_t n
    PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
    try:
        if pos < 0 or pos + _HDR > view.len:
            return -1
        p = <const uint8_t *>view.buf + pos
        if memcmp(p, b"PKB1", 4) != 0:
            raise BinlogCorrupt(f"binlog record at {pos}: bad magic {bytes(p[:4])!r}")
        n = _get_u32(p + 4)
        if n < _FIXED:
            raise BinlogCorrupt(f"binlog record at {pos}: impossible length {n}")
        return n
    finally:
        PyBuffer_Release(&view)


def skip_records(buf, Py_ssize_t pos, uint64_t after_id):
    """Walk whole records from buf[pos] by their headers alone (no checksum, nothing built)
    while their id is at most after_id. -> (position after the last record walked, its id
    or 0 when none was): where a reader of the records after after_id starts, without
    decoding every record before it. Stops at a record with a greater id, or at one that
    does not fit in buf (read more and call again)."""
    cdef Py_buffer view
    cdef const uint8_t *p
    cdef uint32_t n
    cdef uint64_t rid, last = 0
    PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
    try:
        p = <const uint8_t *>view.buf
        while pos + _FIXED <= view.len:
            if memcmp(p + pos, b"PKB1", 4) != 0:
                raise BinlogCorrupt(f"binlog record at {pos}: bad magic {bytes(p[pos:pos + 4])!r}")
            n = _get_u32(p + pos + 4)
            if n < _FIXED:
                raise BinlogCorrupt(f"binlog record at {pos}: impossible length {n}")
            rid = _get_u64(p + pos + 28)
            if rid > after_id or pos + n > view.len:
                break
            last = rid
            pos += n
        return pos, last
    finally:
        PyBuffer_Release(&view)


class BinlogGap(BinlogError):
    """A record to append does not follow the last one (id or offset out of sequence)."""


cdef Py_ssize_t _checked(object buf, const uint8_t *p, Py_ssize_t pos, Py_ssize_t size) except -1:
    """The length of the whole, intact record at p[pos] (p holds size bytes): magic, length
    and checksum checked."""
    cdef Py_ssize_t have = size - pos
    cdef uint32_t n
    if pos < 0 or have < 0:
        raise ValueError("position outside the buffer")
    if have < _HDR:
        raise BinlogTruncated(f"binlog record at {pos}: truncated header ({have} of {_HDR} bytes)")
    if memcmp(p + pos, b"PKB1", 4) != 0:
        raise BinlogCorrupt(f"binlog record at {pos}: bad magic {bytes(p[pos:pos + 4])!r}")
    n = _get_u32(p + pos + 4)
    if n < _FIXED:
        raise BinlogCorrupt(f"binlog record at {pos}: impossible length {n}")
    if have < <Py_ssize_t>n:
        raise BinlogTruncated(f"binlog record at {pos}: truncated ({have} of {n} bytes)")
    if _checksum(buf, p + pos + _HDR, pos + _HDR, n - _HDR) != _get_u32(p + pos + 8):
        raise BinlogCorrupt(f"binlog record at {pos}: checksum mismatch")
    return n


cdef list _argv_of(const uint8_t *p, Py_ssize_t *q, Py_ssize_t end, Py_ssize_t pos):
    cdef uint32_t i, nargs = _get_u32(p + pos + 46)
    q[0] = pos + 50
    return [_take(p, q, end, pos) for i in range(nargs)]


cdef list _ops_of(const uint8_t *p, Py_ssize_t q, Py_ssize_t end, Py_ssize_t pos):
    """The ops of the record at p[pos] (ending at end), which start at p[q]."""
    cdef uint32_t i, nops
    cdef uint8_t op
    cdef bytes k
    cdef list ops = []
    if q + 4 > end:
        raise BinlogCorrupt(f"binlog record at {pos}: op count runs past the record end")
    nops = _get_u32(p + q)
    q += 4
    for i in range(nops):
        if q >= end:
            raise BinlogCorrupt(f"binlog record at {pos}: op runs past the record end")
        op = p[q]
        q += 1
        k = _take(p, &q, end, pos)
        if op == OP_PUT:
            ops.append((k, _take(p, &q, end, pos)))
        elif op == OP_DELETE:
            ops.append((k, None))
        elif op == OP_DELETE_RANGE:
            ops.append((k, (_take(p, &q, end, pos),)))
        else:
            raise BinlogCorrupt(f"binlog record at {pos}: unknown op type {op}")
    if q != end:
        raise BinlogCorrupt(f"binlog record at {pos}: {end - q} stray bytes after the ops")
    return ops


def decode_record(buf, Py_ssize_t pos=0):
    """Decode the record at buf[pos] (bytes, bytearray, memoryview, mmap). -> (Record, end)."""
    cdef Py_buffer view
    cdef const uint8_t *p
    cdef Py_ssize_t end, q
    cdef uint32_t n
    cdef Record r
    PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
    try:
        p = <const uint8_t *>view.buf
        n = _checked(buf, p, pos, view.len)
        end = pos + n
        r = Record.__new__(Record)
        r.term = _get_u64(p + pos + 12)
        r.timestamp = _get_u64(p + pos + 20)
        r.id = _get_u64(p + pos + 28)
        r.offset = _get_u64(p + pos + 36)
        r.db = _get_u16(p + pos + 44)
        r.size = n
        r.argv = _argv_of(p, &q, end, pos)
        r.ops = _ops_of(p, q, end, pos)
        return r, end
    finally:
        PyBuffer_Release(&view)


cdef inline void _skip(const uint8_t *p, Py_ssize_t *q, Py_ssize_t end, Py_ssize_t pos) except *:
    """Step over a u32-length-prefixed field at p[q[0]]."""
    cdef Py_ssize_t at = q[0]
    if at + 4 > end or at + 4 + <Py_ssize_t>_get_u32(p + at) > end:
        raise BinlogCorrupt(f"binlog record at {pos}: field runs past the record end")
    q[0] = at + 4 + _get_u32(p + at)


cpdef add_ops(object batch, list ops):
    """ops (shard.Ops.items form) into batch, a rocksdict WriteBatch: put, delete,
    delete_range. Every writer's batch is filled here (storage/ops.py re-exports it)."""
    _fill(batch, batch.put, batch.delete, ops)


cdef int _fill(object batch, object put, object delete, list ops) except -1:
    """add_ops with batch's put and delete already bound (a group binds them once)."""
    cdef Py_ssize_t i
    for i in range(PyList_GET_SIZE(ops)):
        item = <object>PyList_GET_ITEM(ops, i)
        k = <object>PyTuple_GET_ITEM(item, 0)
        v = <object>PyTuple_GET_ITEM(item, 1)
        if v is None:
            delete(k)
        elif type(v) is tuple:
            batch.delete_range(k, <object>PyTuple_GET_ITEM(v, 0))
        else:
            put(k, v)
    return 0


cdef class BinlogTail:
    """The staging end of a shard's binlog: storage/binlog.ShardBinlog derives from it, so
    stage(), which every write runs, costs no Python frame (the command core calls it
    straight from C)."""

    def __cinit__(self):
        self.term = 0
        self.last_id = 0
        self.offset = 0
        self._staged = []
        self._pending_term = None

    cpdef stage(self, int db, list argv, list ops):
        """Encode the record of one command's ops with the next id; append() writes it."""
        cdef timespec ts
        clock_gettime(CLOCK_REALTIME, &ts)
        self._staged_one(encode_record(
            self.term, <uint64_t>ts.tv_sec * 1000 + ts.tv_nsec // 1000000, self.last_id + 1,
            self.offset, db, argv, ops))

    cpdef stage_group(self, int db, list argv, list ops, object group, KeyCache cache):
        """One command's ops joining the shard's pending group: its record staged, its ops
        into group (a rocksdict WriteBatch) and staged in cache (Shard.commit_items)."""
        self.stage(db, argv, ops)
        self._group_ops(group, ops)
        cache.stage(ops)

    cdef int stage_group_args(self, int db, const RawArg *args, Py_ssize_t nargs, list ops,
                              object group, KeyCache cache) except -1:
        """stage_group for the command core: the arguments as it parsed them."""
        cdef timespec ts
        clock_gettime(CLOCK_REALTIME, &ts)
        self._staged_one(encode_record_args(
            self.term, <uint64_t>ts.tv_sec * 1000 + ts.tv_nsec // 1000000, self.last_id + 1,
            self.offset, db, args, nargs, ops))
        self._group_ops(group, ops)
        cache.stage(ops)
        return 0

    cdef void _staged_one(self, bytes data) except *:
        self._pending_term = self.term
        self._staged.append(data)
        self.last_id += 1
        self.offset += PyBytes_GET_SIZE(data)

    cdef int _group_ops(self, object group, list ops) except -1:
        """add_ops into the turn's group, with its put/delete looked up once per group (a
        group takes every command of the turn; add_ops looks them up per op)."""
        if group is not self._group:
            self._group = group
            self._group_put = group.put
            self._group_delete = group.delete
        return _fill(group, self._group_put, self._group_delete, ops)

    cpdef group_written(self):
        """The group is written (or failed): let go of it."""
        self._group = self._group_put = self._group_delete = None

    cpdef Py_ssize_t stage_received(self, bytes data, object batch, list ops,
                                    list special) except -1:
        """Stage the records of data (one or more back to back, as a master sent them),
        bytes unchanged: each must be intact and follow the last staged one (BinlogGap
        otherwise, BinlogCorrupt/BinlogTruncated for damaged bytes; the records before it
        stay staged, their ops in batch). Each record's ops go into batch (a rocksdict
        WriteBatch) and onto ops; range deletes and the ops of system and counter records
        (keys starting 0x00 or 0x04, the in-memory state a replica refreshes) onto special
        too. -> the number of records staged."""
        cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(data), pos = 0, n, q, i, count = 0
        cdef uint64_t rid, off, term = 0
        cdef uint64_t last_id = self.last_id, offset = self.offset
        cdef uint32_t j, nargs
        cdef uint8_t first
        cdef list rec_ops
        try:
            while pos < size:
                n = _checked(data, p, pos, size)
                rid = _get_u64(p + pos + 28)
                off = _get_u64(p + pos + 36)
                if rid != last_id + 1 or off != offset:
                    raise BinlogGap(
                        f"binlog record id {rid} offset {off} does not follow id {last_id} "
                        f"offset {offset}"
                    )
                nargs = _get_u32(p + pos + 46)
                q = pos + 50
                for j in range(nargs):
                    _skip(p, &q, pos + n, pos)
                rec_ops = _ops_of(p, q, pos + n, pos)
                add_ops(batch, rec_ops)
                for i in range(PyList_GET_SIZE(rec_ops)):
                    item = <object>PyList_GET_ITEM(rec_ops, i)
                    k = <object>PyTuple_GET_ITEM(item, 0)
                    if type(<object>PyTuple_GET_ITEM(item, 1)) is tuple:
                        special.append(item)  # a range delete
                        continue
                    first = (<const uint8_t *>PyBytes_AS_STRING(k))[0] if PyBytes_GET_SIZE(k) else 0
                    if first == 0 or first == 4:
                        special.append(item)
                ops.extend(rec_ops)
                term = _get_u64(p + pos + 12)
                last_id = rid
                offset += n
                pos += n
                count += 1
        finally:
            if count:
                self._staged.append(data if pos == size else data[:pos])
                self._pending_term = term
                self.last_id = last_id
                self.offset = offset
        return count
