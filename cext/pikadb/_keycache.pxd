# Declarations for cext/keycache.pyx (module pikadb._keycache), for the command core.

from libc.stdint cimport uint32_t
from cpython.object cimport PyObject


cdef struct Rec:
    # One cached record: its key inline (a lookup reads one block), its value (owned
    # reference; NULL: known absent) and the last access the command core recorded (unix
    # ms, 0: none).
    PyObject *value
    long long atime
    Py_ssize_t klen
    char key[1]


cdef struct Slot:
    Rec *rec          # NULL: empty
    uint32_t hash     # the key's hash, low 32 bits (its home slot, and a cheap compare)
    uint32_t gen      # the generation the record belongs to


cdef class KeyCache:
    cdef public object rget
    cdef public object overlay
    cdef Slot *slots
    cdef Py_ssize_t mask       # slots - 1 (a power of two)
    cdef Py_ssize_t count      # records held
    cdef uint32_t gen          # the current generation; the old one is gen - 1
    cdef Py_ssize_t used       # bytes of the current generation
    cdef Py_ssize_t old_used   # bytes of the old one
    cdef Py_ssize_t dead_used  # bytes of the dropped one not freed yet
    cdef bint sweeping         # the dropped generation's records are being freed
    cdef Py_ssize_t sweep_at   # the next slot the sweep looks at
    cdef public Py_ssize_t budget
    cdef public Py_ssize_t max_value
    cdef public unsigned long long hits
    cdef public unsigned long long misses
    cdef public bint staging
    cdef bint rotate_due
    # The record read() found or made (NULL: none kept), valid while `frees` is unchanged.
    cdef Rec *last
    cdef unsigned long long frees

    cpdef object get(self, bytes key)
    cdef object read(self, bytes key, bint keep_absent=*)
    cpdef bint touch(self, bytes key, long long now)
    cpdef long long atime(self, bytes key)
    cdef list _get_many(self, list keys)
    cdef bint has(self, object key) noexcept
    cpdef read_ahead(self, list keys)
    cdef Py_ssize_t _find(self, object key, Py_hash_t h) noexcept
    cdef void _free_rec(self, Rec *rec) noexcept
    cdef void _free_all(self) noexcept
    cdef bint _dead(self, uint32_t gen) noexcept
    cdef void _drop_slot(self, Py_ssize_t i) noexcept
    cdef void _sweep(self, Py_ssize_t steps) noexcept
    cdef int _rebuild(self, Py_ssize_t capacity) except -1
    cdef void _delete_slot(self, Py_ssize_t i) noexcept
    cdef int _move_to_current(self, Py_ssize_t i) except -1
    cdef Rec *_store(self, object key, object value) except? NULL
    cdef void _remove(self, object key) noexcept
    cdef int _grew(self, Py_ssize_t size) except -1
    cdef int _rotate(self) except -1
    cpdef written(self, items)
    cpdef refreshed(self, list items)
    cdef int _written(self, list items, bint cached_only) except -1
    cpdef clear(self)
    cpdef stage(self, list items)
    cdef int stage_one(self, object k, object v) except -1
    cpdef committed(self)
    cpdef failed(self)
