# Declarations for cext/keycache.pyx (module pikadb._keycache), for the command core.

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
    cdef list _get_many(self, list keys)
    cdef void _store(self, object key, object value)
    cpdef written(self, items)
    cpdef clear(self)
    cdef void _rotate(self)
    cpdef stage(self, list items)
    cdef void stage_one(self, object k, object v)
    cpdef committed(self)
    cpdef failed(self)
