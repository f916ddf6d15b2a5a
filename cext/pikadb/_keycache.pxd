# Declarations for cext/keycache.pyx (module pikadb._keycache), for the command core.

cimport cython


@cython.no_gc
cdef class CacheEntry:
    cdef public object value
    cdef public long long atime


cdef class KeyCache:
    cdef public object rget
    cdef public object overlay
    cdef dict cur
    cdef dict old
    cdef Py_ssize_t used
    cdef Py_ssize_t old_used
    cdef public Py_ssize_t budget
    cdef public Py_ssize_t max_value
    cdef public unsigned long long hits
    cdef public unsigned long long misses
    cdef public bint staging
    cdef bint rotate_due

    cpdef object get(self, bytes key)
    cdef CacheEntry entry(self, bytes key, bint keep_absent=*)
    cpdef bint touch(self, bytes key, long long now)
    cpdef long long atime(self, bytes key)
    cdef list _get_many(self, list keys)
    cdef bint has(self, object key) noexcept
    cpdef read_ahead(self, list keys)
    cdef Py_ssize_t _size(self, object key, object value)
    cdef void _keep(self, object key, CacheEntry e)
    cdef CacheEntry _store(self, object key, object value)
    cdef void _grew(self, Py_ssize_t size)
    cpdef written(self, items)
    cpdef refreshed(self, list items)
    cdef void _written(self, list items, bint cached_only) except *
    cpdef clear(self)
    cdef void _rotate(self)
    cpdef stage(self, list items)
    cdef void stage_one(self, object k, object v)
    cpdef committed(self)
    cpdef failed(self)
