# Declarations of cext/binlog.pyx (module pikadb._binlog) for the command core.

from libc.stdint cimport uint64_t

from pikadb._keycache cimport KeyCache


cdef class BinlogTail:
    cdef public object term
    cdef public object last_id
    cdef public object offset
    cdef public list _staged
    cdef public object _pending_term

    cpdef stage(self, int db, list argv, list ops)
    cpdef stage_group(self, int db, list argv, list ops, object group, KeyCache cache)
    cpdef Py_ssize_t stage_received(self, bytes data, object batch, list ops,
                                    list special) except -1


cpdef bytes encode_record(uint64_t term, uint64_t timestamp, uint64_t id, uint64_t offset,
                          int db, list argv, list ops)


cpdef add_ops(object batch, list ops)
