# Declarations for cext/resp.pyx (the compiled RESP codec, module pikadb._resp).
# Named after the module, not the .pyx: Cython looks the .pxd up by the qualified module name.
# The design notes live in the docstring at the top of resp.pyx.

from cpython.ref cimport PyObject


cdef class Parser:
    # Input buffer: bytes [pos, end) of buf are fed but not yet parsed; cap is the allocation.
    cdef char *buf
    cdef Py_ssize_t cap
    cdef Py_ssize_t pos
    cdef Py_ssize_t end
    # Where the search for the current header/inline line's terminator resumes (absolute index
    # into buf), so a line arriving one byte at a time is scanned once, not once per feed.
    cdef Py_ssize_t scan
    # State machine: _IDLE (at a command start), _BULK_HEADER (expect '$<len>'),
    # _BULK_DATA (expect bulklen payload bytes + 2 terminator bytes).
    cdef int state
    cdef Py_ssize_t mb_left        # bulk arguments still to read for the current multibulk
    cdef Py_ssize_t bulklen        # length of the bulk being read (valid in _BULK_DATA)
    cdef list args                 # arguments of the multibulk being read
    cdef Py_ssize_t args_bytes     # payload bytes held in args (for buffered())
    # Big-argument mode (bulklen >= _BIG_ARG and the buffer holds nothing past this bulk): the
    # payload is written straight into a bytes object that grows as data arrives, so it is
    # never copied twice and never preallocated in full from the header alone.
    cdef PyObject *big
    cdef Py_ssize_t big_cap        # current size of big
    cdef Py_ssize_t big_have       # payload bytes written into big
    cdef Py_ssize_t skip           # bytes of big's 2-byte terminator still to drop from input
    cdef str error                 # sticky protocol error text (parser is dead after one)
    cdef public long long max_bulk
    cdef public bint auth_required
    cdef long long max_multibulk
    cdef Py_ssize_t max_inline

    cdef int _append(self, const char *p, Py_ssize_t n) except -1
    cdef int _reserve(self, Py_ssize_t n) except -1
    cdef Py_ssize_t _big_take(self, const char *p, Py_ssize_t n) except -1
    cdef int _big_start(self) except -1
    cdef Py_ssize_t _find(self, char ch) noexcept
    cdef int _fail(self, str msg) except -1
    cdef object _next(self)
    cdef void consumed(self, Py_ssize_t pos) noexcept
