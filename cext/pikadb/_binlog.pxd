# Declarations of cext/binlog.pyx (module pikadb._binlog) for the command core.

from libc.stdint cimport uint64_t

from pikadb._keycache cimport KeyCache


cdef struct RawArg:
    # An argument as the command core parsed it (its Arg layout): bytes in its input buffer.
    const char *p
    Py_ssize_t n


cdef class BinlogTail:
    cdef public object term
    cdef public object last_id
    cdef public object offset
    cdef public list _staged
    cdef public object _pending_term
    cdef object _group         # the group _group_ops filled last, and its bound methods
    cdef object _group_put
    cdef object _group_delete

    cpdef stage(self, int db, list argv, list ops)
    cpdef stage_group(self, int db, list argv, list ops, object group, KeyCache cache)
    cdef int stage_group_args(self, int db, const RawArg *args, Py_ssize_t nargs, list ops,
                              object group, KeyCache cache) except -1
    cdef void _staged_one(self, bytes data) except *
    cdef int _group_ops(self, object group, list ops) except -1
    cpdef group_written(self)
    cpdef Py_ssize_t stage_received(self, bytes data, object batch, list ops,
                                    list special) except -1


cpdef bytes encode_record(uint64_t term, uint64_t timestamp, uint64_t id, uint64_t offset,
                          int db, list argv, list ops)


cpdef add_ops(object batch, list ops)
