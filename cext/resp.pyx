# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""pikadb's compiled RESP codec (imported only through pikadb.protocol).

Parsing (Parser)
----------------
Sans-IO: the connection feeds whatever it read (feed) and pulls complete commands (gets); the
parser never touches a socket, so it is tested byte by byte without one and the server decides
when to read, execute and write. It follows Redis 7.0's networking.c (processInlineBuffer and
processMultibulkBuffer) byte for byte, quirks included, because clients and test suites depend on
the exact error texts and on what Redis tolerates:

* Header lines ('*<n>', '$<len>') end at the first '\\r'; the byte after it is skipped without
  checking that it is '\\n', and the 2 bytes after a bulk payload are skipped unchecked too
  (Redis accepts '$4\\r\\nPINGxx'). A header is only parsed once that following byte is there.
* Inline lines end at '\\n' (a '\\r' before it is dropped) and are split like sdssplitargs.
* Redis searches its NUL-terminated buffer with strchr, so a NUL byte before a line's terminator
  hides the terminator: the line never completes and ends in a 'too big ...' error once more
  than max_inline bytes are buffered. We reproduce that rather than invent a new behaviour.
* The 'too big' checks look at the bytes buffered from the line start, exactly as Redis looks at
  its query buffer after each read; so with the same input split the same way the outcome is the
  same.
* Numbers are parsed like string2ll (no '+', no leading zeros, '-0' invalid, < 21 chars).
* Multibulk counts <= 0 are skipped; count > max_multibulk (Redis: INT_MAX) and bulk lengths < 0 or
  > max_bulk (proto-max-bulk-len) are errors, raised as soon as the header line is complete, so
  a '$600000000' header never allocates anything.
* auth_required mirrors Redis's pre-AUTH limits (multibulk count <= 10, bulk length <= 16384).
  The caller flips it between gets() calls, as Redis re-checks it for every command.

Buffer management: one malloc'ed buffer; bytes [pos, end) are unparsed. Parsing only advances
pos, so a feed of thousands of pipelined commands is parsed in one pass with no copying besides
the argument bytes objects. When a feed does not fit, the live tail is moved to the front if at
least as many bytes were consumed as are live (so every moved byte was paid for by a consumed
one: O(n) overall), otherwise the buffer grows geometrically. A drained buffer restarts at 0 and
a large one is released so idle connections do not keep a burst's memory.
The state machine (_IDLE / _BULK_HEADER / _BULK_DATA plus the remaining count and the current
bulk length) lives in the object, so a half-received command is never re-parsed; header search
resumes where the previous one stopped (scan), so even a header or inline line trickling in one
byte per feed costs O(its length).
Big arguments (>= 32 KiB, the buffer holding nothing past them, Redis's PROTO_MBULK_BIG_ARG idea)
are received straight into the bytes object that becomes the argument: it starts at <= 64 KiB and
doubles as data arrives (capped at the announced length), so a 512 MB SET is copied once, and a
client that sends only a header cannot make us allocate more than 64 KiB.
After a protocol error the parser is dead: every later gets() raises the same error (Redis closes
the connection; the commands returned before the error must still be executed by the caller).

Encoding (encode, encode_command)
---------------------------------
Replies are written into one growing C buffer (stack first, heap when it outgrows 512 bytes) and
turned into a bytes object once, so an array of 1000 bulks costs 1000 memcpy's, not 1000 Python
concatenations. Dispatch compares exact types first (bytes, int, list, None, str, Status, ...)
and only falls back to isinstance() for subclasses; bool is checked before int.

Numbers
-------
format_double is Redis 7.0's addReplyDouble ('%.17g', 'inf', '-inf'); ld_add / parse_ld are
INCRBYFLOAT's string2ld + long double addition + ld2string(LD_STR_HUMAN), in C long double.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from libc.errno cimport EINVAL, ERANGE
from libc.math cimport HUGE_VALL, isinf, isnan
from libc.stdio cimport snprintf
from libc.string cimport memchr, memcpy, memmove


cdef extern from "Python.h":
    # Declared here without Cython's 'except' clauses so the hot paths test the result in C.
    const char *_utf8 "PyUnicode_AsUTF8AndSize"(object s, Py_ssize_t *size)
    int _PyBytes_Resize(PyObject **string, Py_ssize_t newsize) except -1
    int Py_EnterRecursiveCall(const char *where)   # nonzero (exception set) when too deep
    void Py_LeaveRecursiveCall()
    void PyErr_Clear()

cdef extern from "<stdlib.h>" nogil:
    long double strtold(const char *s, char **endp)

cdef extern from *:
    """
    #include <errno.h>
    static void pikadb_errno_clear(void) { errno = 0; }
    static int pikadb_errno_get(void) { return errno; }
    """
    void _errno_clear "pikadb_errno_clear"() noexcept nogil
    int _errno_get "pikadb_errno_get"() noexcept nogil


# ---------------------------------------------------------------------------------------------
# Public Python-level types


class ProtocolError(ValueError):
    """Bad client frame. str(e) is Redis's text after '-ERR ', e.g.
    'Protocol error: invalid multibulk length'. Non-ASCII bytes quoted from the input (only in
    "expected '$', got 'c'") are latin-1 characters: str(e).encode('latin-1') gives Redis's bytes."""


class Status(str):
    """A RESP simple string reply: +<text>\\r\\n ('\\r'/'\\n' in the text become spaces)."""

    __slots__ = ()

    def __repr__(self):
        return f"Status({str.__repr__(self)})"


class ErrorReply(str):
    """A RESP error reply, full text including the code: 'ERR syntax error' ->
    -ERR syntax error\\r\\n ('\\r'/'\\n' become spaces, as Redis does)."""

    __slots__ = ()

    def __repr__(self):
        return f"ErrorReply({str.__repr__(self)})"


class Verbatim(str):
    """Verbatim text (RESP3 '=' with 'txt:' prefix; RESP2 bulk string)."""

    __slots__ = ()

    def __repr__(self):
        return f"Verbatim({str.__repr__(self)})"


class Push(list):
    """Out-of-band push (RESP3 '>'; RESP2 plain array)."""

    __slots__ = ()

    def __repr__(self):
        return f"Push({list.__repr__(self)})"


class BigNumber(int):
    """RESP3 '(' big number (RESP2: bulk string of the digits)."""

    __slots__ = ()

    def __repr__(self):
        return f"BigNumber({int.__repr__(self)})"


class RawReply(bytes):
    """Already-encoded reply bytes, written as they are."""

    __slots__ = ()

    def __repr__(self):
        return f"RawReply({bytes.__repr__(self)})"


class _NullArrayType:
    __slots__ = ()

    def __repr__(self):
        return "NULL_ARRAY"

    def __reduce__(self):
        return "NULL_ARRAY"


NULL_ARRAY = _NullArrayType()

# C-level aliases: `type(x) is _Status` is then a pointer comparison, not a module-dict lookup.
cdef object _Status = Status
cdef object _ErrorReply = ErrorReply
cdef object _Verbatim = Verbatim
cdef object _Push = Push
cdef object _BigNumber = BigNumber
cdef object _RawReply = RawReply
cdef object _NULL_ARRAY = NULL_ARRAY
cdef object _ProtocolError = ProtocolError


# ---------------------------------------------------------------------------------------------
# Shared helpers

cdef enum:
    _IDLE = 0
    _BULK_HEADER = 1
    _BULK_DATA = 2
    _MIN_CAP = 4096              # first allocation of the input buffer
    _SHRINK_CAP = 256 * 1024     # a drained buffer larger than this is released
    _BIG_ARG = 32 * 1024         # Redis's PROTO_MBULK_BIG_ARG
    _BIG_INIT = 64 * 1024        # most a big argument allocates before its bytes arrive
    _LONG_STR_SIZE = 21          # string2ll rejects strings this long
    _MAX_LONG_DOUBLE_CHARS = 5 * 1024
    _ENC_STACK = 512


cdef inline bint _isspace(unsigned char c) noexcept nogil:
    # isspace() in the C locale (Redis never changes LC_CTYPE)
    return c == 32 or (c >= 9 and c <= 13)


cdef inline int _hexval(unsigned char c) noexcept nogil:
    if c >= b'0' and c <= b'9':
        return c - 48
    if c >= b'a' and c <= b'f':
        return c - 87
    if c >= b'A' and c <= b'F':
        return c - 55
    return -1


cdef bint _str2ll(const char *s, Py_ssize_t slen, long long *value) noexcept nogil:
    """Redis util.c string2ll: exact decimal long long, no spaces, no '+', no leading zeros."""
    cdef Py_ssize_t plen = 0
    cdef bint negative = False
    cdef unsigned long long v
    cdef unsigned char d
    if slen == 0 or slen >= _LONG_STR_SIZE:
        return False
    if slen == 1 and s[0] == b'0':
        value[0] = 0
        return True
    if s[0] == b'-':
        negative = True
        plen += 1
        if plen == slen:
            return False
    d = <unsigned char>s[plen]
    if d >= b'1' and d <= b'9':
        v = d - 48
        plen += 1
    else:
        return False
    while plen < slen:
        d = <unsigned char>s[plen]
        if d < b'0' or d > b'9':
            return False
        if v > 1844674407370955161ULL:  # ULLONG_MAX / 10
            return False
        v *= 10
        if v > 18446744073709551615ULL - (d - 48):
            return False
        v += d - 48
        plen += 1
    if negative:
        if v > 9223372036854775808ULL:
            return False
        value[0] = -(<long long>(v - 1)) - 1
    else:
        if v > 9223372036854775807ULL:
            return False
        value[0] = <long long>v
    return True


cdef list _split_inline(const char *s, Py_ssize_t n):
    """sdssplitargs() on one inline line (no '\\n' and no NUL inside, by construction).
    Returns None on unbalanced quotes."""
    cdef list argv = []
    cdef Py_ssize_t i = 0, j, olen
    cdef unsigned char c, nx
    cdef char *out = NULL
    cdef bint inq, insq, done
    try:
        while True:
            while i < n and _isspace(s[i]):
                i += 1
            if i >= n:
                return argv
            # Fast path: a token without quotes is a plain slice of the line.
            j = i
            while j < n:
                c = s[j]
                if c == b' ' or c == b'\t' or c == b'\r' or c == b'"' or c == b"'":
                    break
                j += 1
            if j == n or (s[j] != b'"' and s[j] != b"'"):
                argv.append(PyBytes_FromStringAndSize(s + i, j - i))
                i = j + 1 if j < n else j
                continue
            # Quoted token: run sdssplitargs' state machine from the quote.
            if out == NULL:
                out = <char *>PyMem_Malloc(n)
                if out == NULL:
                    raise MemoryError()
            olen = j - i
            memcpy(out, s + i, olen)
            i = j
            inq = insq = done = False
            while not done:
                c = s[i] if i < n else 0
                nx = s[i + 1] if i + 1 < n else 0
                if inq:
                    if (c == b'\\' and nx == b'x' and i + 3 < n
                            and _hexval(s[i + 2]) >= 0 and _hexval(s[i + 3]) >= 0):
                        out[olen] = <char>(_hexval(s[i + 2]) * 16 + _hexval(s[i + 3]))
                        olen += 1
                        i += 3
                    elif c == b'\\' and nx != 0:
                        i += 1
                        if nx == b'n':
                            out[olen] = b'\n'
                        elif nx == b'r':
                            out[olen] = b'\r'
                        elif nx == b't':
                            out[olen] = b'\t'
                        elif nx == b'b':
                            out[olen] = b'\b'
                        elif nx == b'a':
                            out[olen] = b'\a'
                        else:
                            out[olen] = nx
                        olen += 1
                    elif c == b'"':
                        # the closing quote must be followed by a space or nothing at all
                        if nx != 0 and not _isspace(nx):
                            return None
                        done = True
                    elif c == 0:
                        return None
                    else:
                        out[olen] = c
                        olen += 1
                elif insq:
                    if c == b'\\' and nx == b"'":
                        i += 1
                        out[olen] = b"'"
                        olen += 1
                    elif c == b"'":
                        if nx != 0 and not _isspace(nx):
                            return None
                        done = True
                    elif c == 0:
                        return None
                    else:
                        out[olen] = c
                        olen += 1
                else:
                    if c == b' ' or c == b'\n' or c == b'\r' or c == b'\t' or c == 0:
                        done = True
                    elif c == b'"':
                        inq = True
                    elif c == b"'":
                        insq = True
                    else:
                        out[olen] = c
                        olen += 1
                if i < n:  # sdssplitargs: if (*p) p++;
                    i += 1
            argv.append(PyBytes_FromStringAndSize(out, olen))
    finally:
        PyMem_Free(out)


cdef str _expected_dollar(unsigned char c):
    # Redis formats the byte with %c and then maps '\r' and '\n' in error texts to spaces.
    if c == b'\r' or c == b'\n':
        c = b' '
    return "Protocol error: expected '$', got '" + chr(c) + "'"


# ---------------------------------------------------------------------------------------------
# Parser


cdef class Parser:
    """Incremental request parser (multibulk and inline), sans-IO.

    feed(data) appends bytes; gets() returns the next complete command as a list of bytes
    arguments, or None when more input is needed. A malformed frame raises ProtocolError;
    commands before it were already returned by earlier gets() calls.
    Empty inline lines and '*0' / '*-1' multibulks are skipped (as Redis does).
    After a ProtocolError the parser is dead: every later gets() raises it again.
    max_bulk (proto-max-bulk-len) and auth_required (Redis's pre-AUTH limits) may be changed
    between gets() calls; max_multibulk defaults to Redis's INT_MAX and max_inline to
    PROTO_INLINE_MAX_SIZE (64 KiB).
    """

    def __init__(self, long long max_bulk=512 * 1024 * 1024,
                 long long max_multibulk=2147483647, Py_ssize_t max_inline=64 * 1024):
        self.max_bulk = max_bulk
        self.max_multibulk = max_multibulk
        self.max_inline = max_inline

    def __dealloc__(self):
        PyMem_Free(self.buf)
        Py_XDECREF(self.big)
        self.buf = NULL
        self.big = NULL

    def feed(self, data):
        """Append received bytes (bytes; other bytes-like objects are copied first)."""
        cdef const char *p
        cdef Py_ssize_t n, used
        if self.error is not None:
            return  # dead parser: the connection is being closed, don't hold more input
        if type(data) is not bytes:
            data = bytes(data)
        p = PyBytes_AS_STRING(data)
        n = PyBytes_GET_SIZE(data)
        if n == 0:
            return
        if self.big != NULL:
            used = self._big_take(p, n)
            p += used
            n -= used
            if n == 0:
                return
        self._append(p, n)

    def gets(self):
        """Next complete command (list of bytes), or None if more input is needed."""
        if self.error is not None:
            raise _ProtocolError(self.error)
        r = self._next()
        if self.pos == self.end and self.pos != 0:
            # Drained: restart at the front; release a buffer a burst made large.
            self.pos = self.end = self.scan = 0
            if self.cap > _SHRINK_CAP:
                PyMem_Free(self.buf)
                self.buf = NULL
                self.cap = 0
        return r

    cdef void consumed(self, Py_ssize_t pos) noexcept:
        """The command core (cext/core.pyx) parsed and ran the commands before pos itself."""
        self.pos = pos
        if self.scan < pos:
            self.scan = pos
        if pos == self.end:
            self.pos = self.end = self.scan = 0
            if self.cap > _SHRINK_CAP:
                PyMem_Free(self.buf)
                self.buf = NULL
                self.cap = 0

    def buffered(self):
        """Bytes fed but not yet consumed into returned commands (for client query-buffer stats):
        unparsed input plus the arguments of the command being received."""
        return (self.end - self.pos) + self.args_bytes + self.big_have

    # ---- buffer ----

    cdef int _append(self, const char *p, Py_ssize_t n) except -1:
        if self.end + n > self.cap:
            self._reserve(n)
        memcpy(self.buf + self.end, p, n)
        self.end += n
        return 0

    cdef int _reserve(self, Py_ssize_t n) except -1:
        cdef Py_ssize_t live = self.end - self.pos
        cdef Py_ssize_t newcap
        cdef char *nb
        if self.pos > 0 and self.pos >= live:
            # Compact: moving `live` bytes is paid for by the >= live bytes consumed since.
            if live:
                memmove(self.buf, self.buf + self.pos, live)
            self.scan = self.scan - self.pos if self.scan > self.pos else 0
            self.pos = 0
            self.end = live
        if self.end + n > self.cap:
            newcap = self.cap * 2
            if newcap < self.end + n:
                newcap = self.end + n
            if newcap < _MIN_CAP:
                newcap = _MIN_CAP
            nb = <char *>PyMem_Realloc(self.buf, newcap)
            if nb == NULL:
                raise MemoryError()
            self.buf = nb
            self.cap = newcap
        return 0

    # ---- big arguments ----

    cdef int _big_start(self) except -1:
        cdef Py_ssize_t have = self.end - self.pos   # < bulklen + 2: all of it is this bulk
        cdef Py_ssize_t size = have if have > _BIG_INIT else _BIG_INIT
        if size > self.bulklen:
            size = self.bulklen
        o = PyBytes_FromStringAndSize(NULL, size)
        Py_INCREF(o)
        self.big = <PyObject *>o
        o = None   # _PyBytes_Resize needs the only reference to be ours
        self.big_cap = size
        self.big_have = 0
        self.skip = 0
        self.pos += self._big_take(self.buf + self.pos, have)
        return 0

    cdef Py_ssize_t _big_take(self, const char *p, Py_ssize_t n) except -1:
        """Move input into the big argument; returns how many of the n bytes it used."""
        cdef Py_ssize_t used = 0, take, want
        if self.big_have < self.bulklen:
            take = self.bulklen - self.big_have
            if take > n:
                take = n
            if self.big_have + take > self.big_cap:
                want = self.big_cap * 2
                if want < self.big_have + take:
                    want = self.big_have + take
                if want > self.bulklen:
                    want = self.bulklen
                try:
                    _PyBytes_Resize(&self.big, want)  # realloc: mremap for big sizes, no copy
                except MemoryError:
                    # big was freed; this connection cannot go on (Redis would abort instead)
                    self.big_have = self.skip = 0
                    self.error = "Protocol error: out of memory for a big argument"
                    raise
                self.big_cap = want
            memcpy(PyBytes_AS_STRING(<object>self.big) + self.big_have, p, take)
            self.big_have += take
            used = take
            if self.big_have == self.bulklen:
                self.skip = 2   # the terminator: counted, never checked (as Redis)
        if self.skip and used < n:
            take = n - used
            if take > self.skip:
                take = self.skip
            self.skip -= take
            used += take
        return used

    # ---- parsing ----

    cdef Py_ssize_t _find(self, char ch) noexcept:
        """Index of the first ch in the current line, or -1. Like strchr on Redis's
        NUL-terminated buffer, a NUL byte ends the search (and keeps ending it)."""
        cdef Py_ssize_t i = self.scan if self.scan > self.pos else self.pos
        cdef Py_ssize_t end = self.end
        cdef const char *b = self.buf
        cdef char c
        while i < end:
            c = b[i]
            if c == ch:
                self.scan = i
                return i
            if c == 0:
                break
            i += 1
        self.scan = i
        return -1

    cdef int _fail(self, str msg) except -1:
        self.error = msg
        raise _ProtocolError(msg)

    cdef object _next(self):
        cdef Py_ssize_t nl, n
        cdef long long ll
        cdef const char *b
        cdef unsigned char c
        cdef list a
        cdef object arg
        while True:
            b = self.buf
            if self.state == _IDLE:
                if self.pos >= self.end:
                    return None
                if b[self.pos] == b'*':
                    nl = self._find(b'\r')
                    if nl < 0:
                        if self.end - self.pos > self.max_inline:
                            self._fail("Protocol error: too big mbulk count string")
                        return None
                    if nl + 1 >= self.end:   # Redis waits for the byte after '\r'
                        return None
                    if (not _str2ll(b + self.pos + 1, nl - self.pos - 1, &ll)
                            or ll > self.max_multibulk):
                        self._fail("Protocol error: invalid multibulk length")
                    if ll > 10 and self.auth_required:
                        self._fail("Protocol error: unauthenticated multibulk length")
                    self.pos = nl + 2
                    if ll <= 0:
                        continue
                    self.mb_left = ll
                    self.args = []
                    self.args_bytes = 0
                    self.state = _BULK_HEADER
                else:
                    nl = self._find(b'\n')
                    if nl < 0:
                        if self.end - self.pos > self.max_inline:
                            self._fail("Protocol error: too big inline request")
                        return None
                    n = nl - self.pos
                    if n > 0 and b[nl - 1] == b'\r':
                        n -= 1
                    a = _split_inline(b + self.pos, n)
                    if a is None:
                        self._fail("Protocol error: unbalanced quotes in request")
                    self.pos = nl + 1
                    if a:
                        return a
                    continue
            if self.state == _BULK_HEADER:
                nl = self._find(b'\r')
                if nl < 0:
                    if self.end - self.pos > self.max_inline:
                        self._fail("Protocol error: too big bulk count string")
                    return None
                if nl + 1 >= self.end:
                    return None
                c = b[self.pos]
                if c != b'$':
                    self._fail(_expected_dollar(c))
                if (not _str2ll(b + self.pos + 1, nl - self.pos - 1, &ll)
                        or ll < 0 or ll > self.max_bulk):
                    self._fail("Protocol error: invalid bulk length")
                if ll > 16384 and self.auth_required:
                    self._fail("Protocol error: unauthenticated bulk length")
                self.pos = nl + 2
                self.bulklen = ll
                self.state = _BULK_DATA
                if ll >= _BIG_ARG and self.end - self.pos < ll + 2:
                    self._big_start()
            # _BULK_DATA
            if self.big != NULL:
                if self.big_have < self.bulklen or self.skip:
                    return None
                arg = <object>self.big
                Py_XDECREF(self.big)
                self.big = NULL
                self.big_have = 0
                self.big_cap = 0
            else:
                if self.end - self.pos < self.bulklen + 2:
                    return None
                arg = PyBytes_FromStringAndSize(b + self.pos, self.bulklen)
                self.pos += self.bulklen + 2
            self.mb_left -= 1
            if self.mb_left == 0:
                a = self.args
                a.append(arg)
                self.args = None
                self.args_bytes = 0
                self.state = _IDLE
                return a
            self.args.append(arg)
            self.args_bytes += self.bulklen
            self.state = _BULK_HEADER


# ---------------------------------------------------------------------------------------------
# Encoder


cdef struct Out:
    char *p
    Py_ssize_t n
    Py_ssize_t cap
    bint heap


cdef int _grow(Out *o, Py_ssize_t extra) except -1:
    cdef Py_ssize_t newcap = o.cap * 2
    cdef char *np
    if newcap < o.n + extra:
        newcap = o.n + extra
    if o.heap:
        np = <char *>PyMem_Realloc(o.p, newcap)
    else:
        np = <char *>PyMem_Malloc(newcap)
        if np != NULL:
            memcpy(np, o.p, o.n)
    if np == NULL:
        raise MemoryError()
    o.p = np
    o.cap = newcap
    o.heap = True
    return 0


cdef inline Py_ssize_t _lltoa(char *dst, long long v) noexcept nogil:
    """Decimal digits of v into dst (needs 20 bytes); returns the length."""
    cdef char tmp[24]
    cdef Py_ssize_t i = 24, n
    cdef unsigned long long u
    cdef bint neg = v < 0
    u = (<unsigned long long>(-(v + 1))) + 1 if neg else <unsigned long long>v
    while True:
        i -= 1
        tmp[i] = <char>(48 + u % 10)
        u //= 10
        if u == 0:
            break
    if neg:
        i -= 1
        tmp[i] = b'-'
    n = 24 - i
    memcpy(dst, tmp + i, n)
    return n


cdef inline int _w(Out *o, const char *s, Py_ssize_t n) except -1:
    if o.n + n > o.cap:
        _grow(o, n)
    memcpy(o.p + o.n, s, n)
    o.n += n
    return 0


cdef inline int _hdr(Out *o, char prefix, long long v) except -1:
    """<prefix><v>\\r\\n"""
    if o.n + 24 > o.cap:
        _grow(o, 24)
    o.p[o.n] = prefix
    o.n += 1 + _lltoa(o.p + o.n + 1, v)
    o.p[o.n] = b'\r'
    o.p[o.n + 1] = b'\n'
    o.n += 2
    return 0


cdef inline int _bulk(Out *o, const char *s, Py_ssize_t n) except -1:
    """$<n>\\r\\n<s>\\r\\n"""
    if o.n + n + 26 > o.cap:
        _grow(o, n + 26)
    o.p[o.n] = b'$'
    o.n += 1 + _lltoa(o.p + o.n + 1, n)
    o.p[o.n] = b'\r'
    o.p[o.n + 1] = b'\n'
    memcpy(o.p + o.n + 2, s, n)
    o.n += n + 2
    o.p[o.n] = b'\r'
    o.p[o.n + 1] = b'\n'
    o.n += 2
    return 0


cdef object _utf8_view(object s, const char **p, Py_ssize_t *n):
    """Point p/n at the UTF-8 of str s; returns the object that owns those bytes (None when it
    is s itself). Lone surrogates (bytes decoded with surrogateescape) become their original
    bytes instead of failing the whole reply."""
    p[0] = _utf8(s, n)
    if p[0] != NULL:
        return None
    PyErr_Clear()
    b = (<str>s).encode("utf-8", "surrogateescape")
    p[0] = PyBytes_AS_STRING(b)
    n[0] = PyBytes_GET_SIZE(b)
    return b


cdef int _str_bulk(Out *o, object s) except -1:
    cdef Py_ssize_t n
    cdef const char *p
    keep = _utf8_view(s, &p, &n)
    return _bulk(o, p, n)


cdef int _line(Out *o, char prefix, object s) except -1:
    """<prefix><s>\\r\\n for simple strings and errors: '\\r'/'\\n' in s become spaces so a
    reply can never break the framing (Redis does the same for errors)."""
    cdef Py_ssize_t n, i
    cdef const char *p
    keep = _utf8_view(s, &p, &n)
    cdef char *d
    if prefix == b'-' and n > 0 and p[0] == b'-':
        # The text already carries the '-' (a preencoded error): don't double it.
        p += 1
        n -= 1
    if o.n + n + 3 > o.cap:
        _grow(o, n + 3)
    d = o.p + o.n
    d[0] = prefix
    memcpy(d + 1, p, n)
    if memchr(p, b'\r', n) != NULL or memchr(p, b'\n', n) != NULL:
        for i in range(1, n + 1):
            if d[i] == b'\r' or d[i] == b'\n':
                d[i] = b' '
    d[n + 1] = b'\r'
    d[n + 2] = b'\n'
    o.n += n + 3
    return 0


cdef Py_ssize_t _fmt_double(char *buf, double d) noexcept:
    """Redis 7.0 addReplyDouble text into buf (>= 32 bytes)."""
    if isinf(d):
        if d > 0:
            memcpy(buf, b"inf", 3)
            return 3
        memcpy(buf, b"-inf", 4)
        return 4
    if isnan(d):
        # glibc would print '-nan' for a negative NaN; Redis never replies a NaN anyway.
        memcpy(buf, b"nan", 3)
        return 3
    return snprintf(buf, 32, b"%.17g", d)


cdef int _double(Out *o, double d, bint r3) except -1:
    cdef char buf[40]
    cdef Py_ssize_t n = _fmt_double(buf + 1, d)
    if r3:
        buf[0] = b','
        buf[n + 1] = b'\r'
        buf[n + 2] = b'\n'
        return _w(o, buf, n + 3)
    return _bulk(o, buf + 1, n)


cdef int _int(Out *o, object v) except -1:
    cdef int overflow = 0
    cdef long long ll = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow:
        digits = int.__repr__(v).encode()
        _w(o, b":", 1)
        _w(o, digits, len(digits))
        return _w(o, b"\r\n", 2)
    return _hdr(o, b':', ll)


cdef int _big_number(Out *o, object v, bint r3) except -1:
    digits = int.__repr__(v).encode()
    if r3:
        _w(o, b"(", 1)
        _w(o, digits, len(digits))
        return _w(o, b"\r\n", 2)
    return _bulk(o, digits, len(digits))


cdef int _verbatim(Out *o, object s, bint r3) except -1:
    cdef Py_ssize_t n
    cdef const char *p
    keep = _utf8_view(s, &p, &n)
    if not r3:
        return _bulk(o, p, n)
    _hdr(o, b'=', n + 4)
    _w(o, b"txt:", 4)
    _w(o, p, n)
    return _w(o, b"\r\n", 2)


cdef int _null(Out *o, bint r3) except -1:
    if r3:
        return _w(o, b"_\r\n", 3)
    return _w(o, b"$-1\r\n", 5)


cdef int _seq(Out *o, object seq, char prefix, bint r3) except -1:
    """list / tuple / Push / set: header, then each element."""
    cdef object x
    _hdr(o, prefix, len(seq))
    if Py_EnterRecursiveCall(" while encoding a RESP reply"):
        return -1  # RecursionError is set
    try:
        if type(seq) is list or isinstance(seq, list):
            for x in <list>seq:
                _enc(o, x, r3)
        elif type(seq) is tuple:
            for x in <tuple>seq:
                _enc(o, x, r3)
        else:
            for x in seq:
                _enc(o, x, r3)
    finally:
        Py_LeaveRecursiveCall()
    return 0


cdef int _map(Out *o, object d, bint r3) except -1:
    # d is a dict or a dict subclass (PyDict_Next works on both)
    if r3:
        _hdr(o, b'%', len(d))
    else:
        _hdr(o, b'*', 2 * len(d))
    if Py_EnterRecursiveCall(" while encoding a RESP reply"):
        return -1  # RecursionError is set
    try:
        for k, v in (<dict>d).items():
            _enc(o, k, r3)
            _enc(o, v, r3)
    finally:
        Py_LeaveRecursiveCall()
    return 0


cdef int _enc(Out *o, object obj, bint r3) except -1:
    cdef object t = type(obj)
    # Exact types first, most frequent first.
    if t is bytes:
        return _bulk(o, PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj))
    if t is int:
        return _int(o, obj)
    if t is list:
        return _seq(o, obj, b'*', r3)
    if obj is None:
        return _null(o, r3)
    if t is str:
        return _str_bulk(o, obj)
    if t is _Status:
        return _line(o, b'+', obj)
    if t is _ErrorReply:
        return _line(o, b'-', obj)
    if t is float:
        return _double(o, obj, r3)
    if t is bool:
        if r3:
            return _w(o, b"#t\r\n" if obj else b"#f\r\n", 4)
        return _w(o, b":1\r\n" if obj else b":0\r\n", 4)
    if t is tuple:
        return _seq(o, obj, b'*', r3)
    if t is dict:
        return _map(o, obj, r3)
    if t is set or t is frozenset:
        return _seq(o, obj, b'~' if r3 else b'*', r3)
    if t is _Push:
        return _seq(o, obj, b'>' if r3 else b'*', r3)
    if t is _RawReply:
        return _w(o, PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj))
    if t is _Verbatim:
        return _verbatim(o, obj, r3)
    if t is _BigNumber:
        return _big_number(o, obj, r3)
    if obj is _NULL_ARRAY:
        if r3:
            return _w(o, b"_\r\n", 3)
        return _w(o, b"*-1\r\n", 5)
    return _enc_subclass(o, obj, r3)


cdef int _enc_subclass(Out *o, object obj, bint r3) except -1:
    # Subclasses of the supported types; most specific first (bool before int, ours before
    # their bases).
    if isinstance(obj, _RawReply):
        return _w(o, PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj))
    if isinstance(obj, bytes):
        return _bulk(o, PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj))
    if isinstance(obj, (bytearray, memoryview)):
        b = bytes(obj)
        return _bulk(o, PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
    if isinstance(obj, bool):
        return _enc(o, bool(obj), r3)
    if isinstance(obj, _BigNumber):
        return _big_number(o, obj, r3)
    if isinstance(obj, int):
        return _int(o, obj)
    if isinstance(obj, _Status):
        return _line(o, b'+', obj)
    if isinstance(obj, _ErrorReply):
        return _line(o, b'-', obj)
    if isinstance(obj, _Verbatim):
        return _verbatim(o, obj, r3)
    if isinstance(obj, str):
        return _str_bulk(o, obj)
    if isinstance(obj, float):
        return _double(o, obj, r3)
    if isinstance(obj, _Push):
        return _seq(o, obj, b'>' if r3 else b'*', r3)
    if isinstance(obj, (list, tuple)):
        return _seq(o, obj, b'*', r3)
    if isinstance(obj, dict):
        return _map(o, obj, r3)
    if isinstance(obj, (set, frozenset)):
        return _seq(o, obj, b'~' if r3 else b'*', r3)
    raise TypeError(f"cannot encode {type(obj).__name__!r} as a RESP reply")


cdef bytes _bulk_bytes(bytes b):
    """A top-level bulk reply built in its final bytes object (one copy of the payload)."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    cdef char hdr[24]
    cdef Py_ssize_t h = _lltoa(hdr + 1, n) + 1
    cdef bytes r
    cdef char *d
    hdr[0] = b'$'
    r = PyBytes_FromStringAndSize(NULL, h + n + 4)
    d = PyBytes_AS_STRING(r)
    memcpy(d, hdr, h)
    d[h] = b'\r'
    d[h + 1] = b'\n'
    memcpy(d + h + 2, PyBytes_AS_STRING(b), n)
    d[h + 2 + n] = b'\r'
    d[h + 3 + n] = b'\n'
    return r


def encode(obj, int proto=2):
    """Encode a reply value (see pikadb/_resp.pyi for the mapping). proto is 2 or 3."""
    cdef char stack[_ENC_STACK]
    cdef Out o
    if type(obj) is bytes:
        return _bulk_bytes(obj)
    o.p = stack
    o.n = 0
    o.cap = _ENC_STACK
    o.heap = False
    try:
        _enc(&o, obj, proto >= 3)
        return PyBytes_FromStringAndSize(o.p, o.n)
    finally:
        if o.heap:
            PyMem_Free(o.p)


def encode_command(args):
    """Encode a command as a RESP multibulk (bytes, str, int and float arguments)."""
    cdef char stack[_ENC_STACK]
    cdef Out o
    cdef object t, a
    cdef object keep = None
    cdef Py_ssize_t n
    cdef const char *p
    cdef char nbuf[24]
    cdef long long ll
    cdef int overflow = 0
    if not isinstance(args, (list, tuple)):
        args = list(args)
    o.p = stack
    o.n = 0
    o.cap = _ENC_STACK
    o.heap = False
    try:
        _hdr(&o, b'*', len(args))
        for a in args:
            t = type(a)
            if t is bytes or isinstance(a, bytes):
                _bulk(&o, PyBytes_AS_STRING(a), PyBytes_GET_SIZE(a))
            elif isinstance(a, str):
                keep = _utf8_view(a, &p, &n)
                _bulk(&o, p, n)
            elif t is bool:
                # as redis-py: a bool argument is almost always a bug (True -> b'1'?)
                raise TypeError("bool is not a valid command argument; convert it first")
            elif isinstance(a, int):
                ll = PyLong_AsLongLongAndOverflow(a, &overflow)
                if not overflow:
                    _bulk(&o, nbuf, _lltoa(nbuf, ll))
                else:
                    b = int.__repr__(a).encode()
                    _bulk(&o, b, len(b))
            elif isinstance(a, float):
                b = repr(a).encode()
                _bulk(&o, b, len(b))
            elif isinstance(a, (bytearray, memoryview)):
                b = bytes(a)
                _bulk(&o, b, len(b))
            else:
                raise TypeError(f"invalid command argument of type {type(a).__name__!r}")
        return PyBytes_FromStringAndSize(o.p, o.n)
    finally:
        if o.heap:
            PyMem_Free(o.p)


def format_double(double d):
    """Redis 7.0's addReplyDouble text: b'inf', b'-inf', b'nan' or '%.17g'."""
    cdef char buf[40]
    cdef Py_ssize_t n = _fmt_double(buf, d)
    return PyBytes_FromStringAndSize(buf, n)


# ---------------------------------------------------------------------------------------------
# INCRBYFLOAT arithmetic (long double)


cdef bint _string2ld(const char *s, Py_ssize_t slen, long double *dp) noexcept:
    """Redis 7.0 util.c string2ld."""
    cdef char buf[_MAX_LONG_DOUBLE_CHARS]
    cdef char *eptr
    cdef long double value
    if slen == 0 or slen >= _MAX_LONG_DOUBLE_CHARS:
        return False
    memcpy(buf, s, slen)
    buf[slen] = 0
    cdef int err
    _errno_clear()
    value = strtold(buf, &eptr)
    err = _errno_get()
    if (_isspace(buf[0]) or eptr[0] != 0 or (eptr - buf) != slen
            or (err == ERANGE and (value == HUGE_VALL or value == -HUGE_VALL or value == 0))
            or err == EINVAL or isnan(value)):
        return False
    dp[0] = value
    return True


cdef bytes _ld2string_human(long double value):
    """Redis 7.0 ld2string(LD_STR_HUMAN) into a MAX_LONG_DOUBLE_CHARS buffer."""
    cdef char buf[_MAX_LONG_DOUBLE_CHARS]
    cdef Py_ssize_t l
    cdef char *p
    if isinf(value):
        return b"inf" if value > 0 else b"-inf"
    l = snprintf(buf, _MAX_LONG_DOUBLE_CHARS, b"%.17Lf", value)
    if l < 0 or l + 1 > _MAX_LONG_DOUBLE_CHARS:
        return b""   # Redis's error path; unreachable for finite x87 long doubles (< 4955 chars)
    if memchr(buf, b'.', l) != NULL:
        p = buf + l - 1
        while p[0] == b'0':
            p -= 1
            l -= 1
        if p[0] == b'.':
            l -= 1
    if l == 2 and buf[0] == b'-' and buf[1] == b'0':
        buf[0] = b'0'
        l = 1
    return PyBytes_FromStringAndSize(buf, l)


def ld_add(bytes a not None, bytes incr not None):
    """INCRBYFLOAT arithmetic exactly as Redis 7.0 (see pikadb/_resp.pyi)."""
    cdef long double value, inc
    if (not _string2ld(PyBytes_AS_STRING(a), PyBytes_GET_SIZE(a), &value)
            or not _string2ld(PyBytes_AS_STRING(incr), PyBytes_GET_SIZE(incr), &inc)):
        raise ValueError("ERR value is not a valid float")
    value += inc
    if isnan(value) or isinf(value):
        raise OverflowError("ERR increment would produce NaN or Infinity")
    return _ld2string_human(value)


def parse_ld(bytes s not None):
    """True if s is a valid long double string the way Redis's string2ld accepts it."""
    cdef long double value
    return _string2ld(PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s), &value)
