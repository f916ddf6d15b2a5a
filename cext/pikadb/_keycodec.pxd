# Declarations of the storage key codec (cext/keycodec.pyx, built as pikadb._keycodec).
# It lives at cext/pikadb/_keycodec.pxd because Cython looks a module's .pxd up by the
# module's dotted name (pikadb/_keycodec.pxd) from the .pyx's directory.
# The layout it encodes is described, and frozen, in src/pikadb/storage/encoding.py.

from libc.stdint cimport int64_t, uint8_t, uint64_t


cdef class Meta:
    # Type code (T_STRING .. T_STREAM), low nibble of byte 0.
    cdef public int type
    # String encoding hint (ENC_AUTO / ENC_RAW / ENC_EMBSTR), bits 5-6 of byte 0.
    cdef public int enc
    # Absolute expiry in unix ms; 0 means the key never expires.
    cdef public int64_t expire_at
    # Strings: the value itself. Collections: b"".
    cdef public bytes value
    # Collections: the version that prefixes every data record of this incarnation.
    cdef public uint64_t version
    # Collections: element count (the type keeps it exact).
    cdef public int64_t count
    # Collections: type-specific trailing bytes (e.g. list head/tail), opaque here.
    cdef public bytes extra

    cpdef bytes encode(self)
    cpdef Meta copy(self)


cpdef unsigned int crc16(bytes data)
cpdef unsigned int key_slot(bytes key)
cdef unsigned int slot_of(const uint8_t *p, Py_ssize_t n) noexcept
cpdef bytes meta_key(int pdb, bytes key)
cdef bytes meta_key_of(int pdb, const char *key, Py_ssize_t n)
cdef bytes expire_key_of(int pdb, int64_t at, const char *key, Py_ssize_t n)
cdef bytes string_meta_of(const char *value, Py_ssize_t n, int64_t expire_at, int enc)
cdef bytes coll_meta_of(int type, int enc, int64_t expire_at, uint64_t version, int64_t count,
                        const char *extra, Py_ssize_t xn)
cdef bytes data_key_of(int pdb, const char *key, Py_ssize_t n, uint64_t version,
                       const char *elem, Py_ssize_t m)
cpdef bytes data_prefix(int pdb, bytes key, uint64_t version)
cpdef bytes expire_key(int pdb, int64_t at, bytes key)
cpdef Meta decode_meta(bytes raw)
cpdef bytes encode_string(bytes value, int64_t expire_at, int enc)
