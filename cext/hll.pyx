# cython: language_level=3
"""HyperLogLog core, byte-compatible with Redis 7.0 (hyperloglog.c).

A HyperLogLog is an ordinary string value; its bytes are exactly what redis-server
stores, so a value can move between the two (GET/SET, DUMP-less copies, replicas) and
PFCOUNT gives the same number on both. The layout:

    "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached cardinality (u64 LE)
    dense:  16384 registers of 6 bits, packed LSB first (12288 bytes)
    sparse: run-length opcodes  ZERO 00xxxxxx (1-64 zero registers)
                                XZERO 01xxxxxx yyyyyyyy (1-16384 zero registers)
                                VAL 1vvvvvxx (1-4 registers of value 1-32)

The MSB of the cached cardinality's last byte marks the cache stale.

Byte identity with Redis is the point, so the sparse update is a faithful port of
hllSparseSet: the same in-place opcode split, the same 5-opcode merge window, the same
promotion to dense at hll-sparse-max-bytes or for a value above 32. A canonical
re-encoding would count the same but write different bytes. The cardinality estimator is
Ertl's improved estimator (Redis >= 5), with the same floating-point operations in the
same order, so results agree to the last unit.

Buffers being edited are private malloc'ed copies kept NUL-terminated like an sds string:
Redis reads one byte past the end in two places (the last dense register's neighbour and
an XZERO opcode cut short at the end of a corrupt sparse value), and what it reads there
is that terminator. Nothing here imports from src/: pikadb.hll is the facade.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.math cimport INFINITY, llround, pow, sqrt
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove, memset

cdef enum:
    HLL_P = 14
    HLL_Q = 50                     # 64 - HLL_P: hash bits left for the zero-run pattern
    HLL_REGISTERS = 16384
    HLL_P_MASK = 16383
    HLL_BITS = 6
    HLL_REGISTER_MAX = 63
    HLL_HDR_SIZE = 16
    HLL_DENSE_SIZE = 16 + 12288
    HLL_DENSE = 0
    HLL_SPARSE = 1
    HLL_MAX_ENCODING = 1
    SPARSE_XZERO_BIT = 0x40
    SPARSE_VAL_BIT = 0x80
    SPARSE_VAL_MAX_VALUE = 32
    SPARSE_VAL_MAX_LEN = 4
    SPARSE_ZERO_MAX_LEN = 64
    SPARSE_XZERO_MAX_LEN = 16384

cdef double HLL_ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)
cdef uint64_t HLL_SEED = 0xadc83b19ULL

REGISTERS = HLL_REGISTERS
HEADER_SIZE = HLL_HDR_SIZE
DENSE_SIZE = HLL_DENSE_SIZE
DENSE = HLL_DENSE
SPARSE = HLL_SPARSE


# ---- hashing ----

cdef uint64_t murmur64a(const uint8_t *data, int length, uint64_t seed) noexcept nogil:
    """MurmurHash2, 64-bit, in Redis's endian-neutral form (8-byte blocks read LE)."""
    cdef uint64_t m = 0xc6a4a7935bd1e995ULL
    cdef int r = 47
    cdef uint64_t h = seed ^ (<uint64_t>length * m)
    cdef const uint8_t *end = data + (length - (length & 7))
    cdef uint64_t k
    cdef int rem
    while data != end:
        k = (<uint64_t>data[0] | (<uint64_t>data[1] << 8) | (<uint64_t>data[2] << 16)
             | (<uint64_t>data[3] << 24) | (<uint64_t>data[4] << 32)
             | (<uint64_t>data[5] << 40) | (<uint64_t>data[6] << 48)
             | (<uint64_t>data[7] << 56))
        k *= m
        k ^= k >> r
        k *= m
        h ^= k
        h *= m
        data += 8
    rem = length & 7
    # The C switch falls through from case 7 down to case 1.
    if rem >= 7:
        h ^= <uint64_t>data[6] << 48
    if rem >= 6:
        h ^= <uint64_t>data[5] << 40
    if rem >= 5:
        h ^= <uint64_t>data[4] << 32
    if rem >= 4:
        h ^= <uint64_t>data[3] << 24
    if rem >= 3:
        h ^= <uint64_t>data[2] << 16
    if rem >= 2:
        h ^= <uint64_t>data[1] << 8
    if rem >= 1:
        h ^= <uint64_t>data[0]
        h *= m
    h ^= h >> r
    h *= m
    h ^= h >> r
    return h


cdef inline int pat_len(const uint8_t *ele, Py_ssize_t size, long *regp) noexcept nogil:
    """Register index (low 14 bits of the hash) and the length of the 000..1 pattern in
    the remaining 50 bits (1..51)."""
    cdef uint64_t h = murmur64a(ele, <int>size, HLL_SEED)
    cdef uint64_t bit = 1
    cdef int count = 1
    regp[0] = <long>(h & HLL_P_MASK)
    h >>= HLL_P
    h |= (<uint64_t>1) << HLL_Q  # the loop ends by count Q+1 at the latest
    while (h & bit) == 0:
        count += 1
        bit <<= 1
    return count


# ---- dense registers ----

cdef inline uint8_t dense_get(const uint8_t *regs, long regnum) noexcept nogil:
    cdef unsigned long byte = regnum * HLL_BITS // 8
    cdef unsigned long fb = (regnum * HLL_BITS) & 7
    cdef unsigned long fb8 = 8 - fb
    cdef unsigned long b0 = regs[byte]
    cdef unsigned long b1 = regs[byte + 1]
    return <uint8_t>(((b0 >> fb) | (b1 << fb8)) & HLL_REGISTER_MAX)


cdef inline void dense_put(uint8_t *regs, long regnum, unsigned long val) noexcept nogil:
    cdef unsigned long byte = regnum * HLL_BITS // 8
    cdef unsigned long fb = (regnum * HLL_BITS) & 7
    cdef unsigned long fb8 = 8 - fb
    regs[byte] &= <uint8_t>~(HLL_REGISTER_MAX << fb)
    regs[byte] |= <uint8_t>(val << fb)
    regs[byte + 1] &= <uint8_t>~(HLL_REGISTER_MAX >> fb8)
    regs[byte + 1] |= <uint8_t>(val >> fb8)


cdef inline int dense_set(uint8_t *regs, long index, uint8_t count) noexcept nogil:
    """Raise register `index` to count. 1 if it changed."""
    if count > dense_get(regs, index):
        dense_put(regs, index, count)
        return 1
    return 0


cdef void dense_histo(const uint8_t *regs, int *histo) noexcept nogil:
    """Histogram of the 16384 dense registers: 4 registers per 3 bytes, so each step
    decodes a 3-byte group with fixed shifts (PFCOUNT's hot loop)."""
    cdef const uint8_t *r = regs
    cdef const uint8_t *end = regs + HLL_REGISTERS * HLL_BITS // 8
    while r < end:
        histo[r[0] & 63] += 1
        histo[((r[0] >> 6) | (r[1] << 2)) & 63] += 1
        histo[((r[1] >> 4) | (r[2] << 4)) & 63] += 1
        histo[(r[2] >> 2) & 63] += 1
        r += 3


# ---- sparse opcodes ----

cdef inline bint is_zero(const uint8_t *p) noexcept nogil:
    return (p[0] & 0xC0) == 0


cdef inline bint is_xzero(const uint8_t *p) noexcept nogil:
    return (p[0] & 0xC0) == SPARSE_XZERO_BIT


cdef inline bint is_val(const uint8_t *p) noexcept nogil:
    return (p[0] & SPARSE_VAL_BIT) != 0


cdef inline long zero_len(const uint8_t *p) noexcept nogil:
    return (p[0] & 0x3F) + 1


cdef inline long xzero_len(const uint8_t *p) noexcept nogil:
    return (((p[0] & 0x3F) << 8) | p[1]) + 1


cdef inline int val_value(const uint8_t *p) noexcept nogil:
    return ((p[0] >> 2) & 0x1F) + 1


cdef inline long val_len(const uint8_t *p) noexcept nogil:
    return (p[0] & 0x3) + 1


cdef inline void val_put(uint8_t *p, int val, long length) noexcept nogil:
    p[0] = <uint8_t>((((val - 1) << 2) | (length - 1)) | SPARSE_VAL_BIT)


cdef inline void zero_put(uint8_t *p, long length) noexcept nogil:
    p[0] = <uint8_t>(length - 1)


cdef inline void xzero_put(uint8_t *p, long length) noexcept nogil:
    cdef long l = length - 1
    p[0] = <uint8_t>((l >> 8) | SPARSE_XZERO_BIT)
    p[1] = <uint8_t>(l & 0xFF)


cdef int sparse_histo(const uint8_t *p, const uint8_t *end, int *histo) noexcept nogil:
    """Register histogram of sparse opcodes [p, end). -1 if they do not cover exactly
    16384 registers (opcodes after a complete cover make the value corrupt too)."""
    cdef long idx = 0, runlen
    while p < end:
        if is_zero(p):
            runlen = zero_len(p)
            idx += runlen
            histo[0] += runlen
            p += 1
        elif is_xzero(p):
            runlen = xzero_len(p)
            idx += runlen
            histo[0] += runlen
            p += 2
        else:
            runlen = val_len(p)
            idx += runlen
            histo[val_value(p)] += runlen
            p += 1
    return 0 if idx == HLL_REGISTERS else -1


# ---- estimator (Ertl, "New cardinality estimation algorithms for HyperLogLog
#      sketches", arXiv:1702.01284) ----

cdef double hll_sigma(double x) noexcept nogil:
    if x == 1.0:
        return INFINITY
    cdef double z_prime
    cdef double y = 1.0
    cdef double z = x
    while True:
        x *= x
        z_prime = z
        z += x * y
        y += y
        if z_prime == z:
            break
    return z


cdef double hll_tau(double x) noexcept nogil:
    if x == 0.0 or x == 1.0:
        return 0.0
    cdef double z_prime
    cdef double y = 1.0
    cdef double z = 1 - x
    while True:
        x = sqrt(x)
        z_prime = z
        y *= 0.5
        z -= pow(1 - x, 2) * y
        if z_prime == z:
            break
    return z / 3


cdef uint64_t estimate(const int *histo) noexcept nogil:
    cdef double m = HLL_REGISTERS
    cdef double z = m * hll_tau((m - histo[HLL_Q + 1]) / m)
    cdef int j
    for j in range(HLL_Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * hll_sigma(histo[0] / m)
    return <uint64_t>(<double>llround(HLL_ALPHA_INF * m * m / z))


# ---- growable buffer (an sds stand-in) ----

cdef struct Buf:
    uint8_t *p
    Py_ssize_t len
    Py_ssize_t cap   # usable bytes; one more is always allocated for the terminator


cdef int buf_init(Buf *b, const uint8_t *src, Py_ssize_t n, Py_ssize_t cap) except -1:
    if cap < n:
        cap = n
    b.p = <uint8_t *>malloc(cap + 1)
    if b.p == NULL:
        raise MemoryError()
    if n:
        memcpy(b.p, src, n)
    memset(b.p + n, 0, cap + 1 - n)
    b.len = n
    b.cap = cap
    return 0


cdef int buf_reserve(Buf *b, Py_ssize_t extra) except -1:
    cdef uint8_t *q
    cdef Py_ssize_t want = b.len + extra
    if want <= b.cap:
        return 0
    want = want * 2
    q = <uint8_t *>realloc(b.p, want + 1)
    if q == NULL:
        raise MemoryError()
    memset(q + b.len + 1, 0, want - b.len)
    b.p = q
    b.cap = want
    return 0


cdef inline void buf_incr_len(Buf *b, Py_ssize_t delta) noexcept nogil:
    b.len += delta
    b.p[b.len] = 0


cdef bytes buf_bytes(Buf *b):
    return PyBytes_FromStringAndSize(<char *>b.p, b.len)


cdef int buf_new_sparse(Buf *b) except -1:
    """createHLLObject: an empty sparse HLL, "HYLL" + sparse + XZERO:16384."""
    buf_init(b, NULL, 0, HLL_HDR_SIZE + 2 + 64)
    memcpy(b.p, b"HYLL", 4)
    b.p[4] = HLL_SPARSE
    xzero_put(b.p + HLL_HDR_SIZE, SPARSE_XZERO_MAX_LEN)
    b.len = HLL_HDR_SIZE + 2
    return 0


cdef int buf_to_dense(Buf *b) except -2:
    """hllSparseToDense: replace b's sparse value by its dense form (header and cached
    cardinality copied). 0 ok (or already dense), -1 if the sparse value is corrupt
    (b unchanged): its runs must add up to exactly 16384 registers, and a run going
    past the last register is corrupt at once (7.0.15's CVE-2025-32023 fix)."""
    cdef Buf d
    cdef uint8_t *p
    cdef uint8_t *end
    cdef long idx = 0, runlen
    cdef int regval
    if b.p[4] == HLL_DENSE:
        return 0
    buf_init(&d, NULL, 0, HLL_DENSE_SIZE)
    memcpy(d.p, b.p, HLL_HDR_SIZE)
    d.p[4] = HLL_DENSE
    d.len = HLL_DENSE_SIZE
    p = b.p + HLL_HDR_SIZE
    end = b.p + b.len
    while p < end:
        if is_zero(p):
            runlen = zero_len(p)
            if runlen + idx > HLL_REGISTERS:
                free(d.p)
                return -1
            idx += runlen
            p += 1
        elif is_xzero(p):
            runlen = xzero_len(p)
            if runlen + idx > HLL_REGISTERS:
                free(d.p)
                return -1
            idx += runlen
            p += 2
        else:
            runlen = val_len(p)
            regval = val_value(p)
            if runlen + idx > HLL_REGISTERS:
                free(d.p)
                return -1
            while runlen:
                dense_put(d.p + HLL_HDR_SIZE, idx, regval)
                idx += 1
                runlen -= 1
            p += 1
    if idx != HLL_REGISTERS:
        free(d.p)
        return -1
    free(b.p)
    b[0] = d
    return 0


cdef int sparse_promote(Buf *b, long index, uint8_t count) except -2:
    if buf_to_dense(b) < 0:
        return -1
    # Promotion only happens when the register must grow, so this always reports 1.
    return dense_set(b.p + HLL_HDR_SIZE, index, count)


cdef int sparse_set(Buf *b, long index, uint8_t count, Py_ssize_t sparse_max) except -2:
    """hllSparseSet: raise register `index` to count in place. 1 changed, 0 not needed,
    -1 corrupt. May promote b to dense (value above 32, or growth past sparse_max)."""
    cdef uint8_t *sparse
    cdef uint8_t *p
    cdef uint8_t *end
    cdef uint8_t *prev
    cdef uint8_t *nxt
    cdef uint8_t seq[5]
    cdef uint8_t *n
    cdef long first, span, oplen, runlen = 0, last, length
    cdef bint zero = False, xzero = False, val = False
    cdef int oldcount, curval
    cdef Py_ssize_t seqlen, oldlen, deltalen

    if count > SPARSE_VAL_MAX_VALUE:
        return sparse_promote(b, index, count)

    # Worst case XZERO -> XZERO VAL XZERO grows by 3 bytes: make room before taking
    # pointers into the buffer.
    buf_reserve(b, 3)

    # Step 1: find the opcode covering `index`.
    sparse = p = b.p + HLL_HDR_SIZE
    end = b.p + b.len
    first = 0
    prev = NULL
    span = 0
    while p < end:
        oplen = 1
        if is_zero(p):
            span = zero_len(p)
        elif is_val(p):
            span = val_len(p)
        else:
            span = xzero_len(p)
            oplen = 2
        if index <= first + span - 1:
            break
        prev = p
        p += oplen
        first += span
    if span == 0 or p >= end:
        return -1

    nxt = p + 2 if is_xzero(p) else p + 1
    if nxt >= end:
        nxt = NULL

    if is_zero(p):
        zero = True
        runlen = zero_len(p)
    elif is_xzero(p):
        xzero = True
        runlen = xzero_len(p)
    else:
        val = True
        runlen = val_len(p)

    # Step 2: the trivial cases update one opcode in place.
    if val:
        oldcount = val_value(p)
        if oldcount >= count:
            return 0
        if runlen == 1:
            val_put(p, count, 1)
            return sparse_merge(b, prev, sparse)
    if zero and runlen == 1:
        val_put(p, count, 1)
        return sparse_merge(b, prev, sparse)

    # General case: split the opcode into up to three (at most 5 bytes).
    n = seq
    last = first + span - 1
    if zero or xzero:
        if index != first:
            length = index - first
            if length > SPARSE_ZERO_MAX_LEN:
                xzero_put(n, length)
                n += 2
            else:
                zero_put(n, length)
                n += 1
        val_put(n, count, 1)
        n += 1
        if index != last:
            length = last - index
            if length > SPARSE_ZERO_MAX_LEN:
                xzero_put(n, length)
                n += 2
            else:
                zero_put(n, length)
                n += 1
    else:
        curval = val_value(p)
        if index != first:
            val_put(n, curval, index - first)
            n += 1
        val_put(n, count, 1)
        n += 1
        if index != last:
            val_put(n, curval, last - index)
            n += 1

    # Step 3: substitute the new sequence for the old opcode.
    seqlen = n - seq
    oldlen = 2 if xzero else 1
    deltalen = seqlen - oldlen
    if deltalen > 0 and b.len + deltalen > sparse_max:
        return sparse_promote(b, index, count)
    if deltalen and nxt != NULL:
        memmove(nxt + deltalen, nxt, end - nxt)
    buf_incr_len(b, deltalen)
    memcpy(p, seq, seqlen)
    return sparse_merge(b, prev, sparse)


cdef int sparse_merge(Buf *b, uint8_t *prev, uint8_t *sparse) noexcept nogil:
    """Step 4 of hllSparseSet: merge adjacent equal VAL opcodes in a window of 5 opcodes
    from the one before the update, then mark the cached cardinality stale. Returns 1."""
    cdef uint8_t *p = prev if prev != NULL else sparse
    cdef uint8_t *end = b.p + b.len
    cdef int scanlen = 5, v1, v2
    cdef long length
    while p < end:
        if scanlen == 0:
            break
        scanlen -= 1
        if is_xzero(p):
            p += 2
            continue
        elif is_zero(p):
            p += 1
            continue
        if p + 1 < end and is_val(p + 1):
            v1 = val_value(p)
            v2 = val_value(p + 1)
            if v1 == v2:
                length = val_len(p) + val_len(p + 1)
                if length <= SPARSE_VAL_MAX_LEN:
                    val_put(p + 1, v1, length)
                    memmove(p, p + 1, end - p)
                    buf_incr_len(b, -1)
                    end -= 1
                    # Retry at the same place: the merged run may merge again.
                    continue
        p += 1
    b.p[15] |= 0x80
    return 1


cdef int merge_max(uint8_t *mx, const uint8_t *v, Py_ssize_t n) noexcept nogil:
    """hllMerge: mx[i] = max(mx[i], register i of the HLL v). -1 if v is a corrupt
    sparse value, with the same strictness as buf_to_dense (mx may then hold part of
    it, as in Redis)."""
    cdef long i, runlen
    cdef int regval
    cdef uint8_t r
    cdef const uint8_t *p
    cdef const uint8_t *end
    if v[4] == HLL_DENSE:
        for i in range(HLL_REGISTERS):
            r = dense_get(v + HLL_HDR_SIZE, i)
            if r > mx[i]:
                mx[i] = r
        return 0
    p = v + HLL_HDR_SIZE
    end = v + n
    i = 0
    while p < end:
        if is_zero(p):
            runlen = zero_len(p)
            if runlen + i > HLL_REGISTERS:
                return -1
            i += runlen
            p += 1
        elif is_xzero(p):
            runlen = xzero_len(p)
            if runlen + i > HLL_REGISTERS:
                return -1
            i += runlen
            p += 2
        else:
            runlen = val_len(p)
            regval = val_value(p)
            if runlen + i > HLL_REGISTERS:
                return -1
            while runlen:
                if regval > mx[i]:
                    mx[i] = <uint8_t>regval
                i += 1
                runlen -= 1
            p += 1
    return 0 if i == HLL_REGISTERS else -1


# ---- Python API (used through pikadb.hll) ----

def murmurhash64a(bytes data, uint64_t seed=HLL_SEED):
    """Redis's MurmurHash64A of data (seed 0xadc83b19 as HyperLogLog uses it)."""
    return murmur64a(<const uint8_t *>PyBytes_AS_STRING(data), <int>PyBytes_GET_SIZE(data), seed)


def pattern(bytes element):
    """(register index, run length) an element maps to."""
    cdef long index = 0
    cdef int count = pat_len(<const uint8_t *>PyBytes_AS_STRING(element),
                             PyBytes_GET_SIZE(element), &index)
    return index, count


def is_hll(bytes value):
    """isHLLObjectOrReply's test: header size, magic, known encoding, dense size."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(value)
    cdef const uint8_t *v = <const uint8_t *>PyBytes_AS_STRING(value)
    if n < HLL_HDR_SIZE:
        return False
    if v[0] != 72 or v[1] != 89 or v[2] != 76 or v[3] != 76:  # "HYLL"
        return False
    if v[4] > HLL_MAX_ENCODING:
        return False
    if v[4] == HLL_DENSE and n != HLL_DENSE_SIZE:
        return False
    return True


def new_sparse():
    """The value PFADD/PFMERGE create for a missing key (cache not yet marked stale)."""
    cdef Buf b
    buf_new_sparse(&b)
    try:
        return buf_bytes(&b)
    finally:
        free(b.p)


def add(object value, list elements, Py_ssize_t sparse_max):
    """PFADD on a valid HLL value (None: a new key). -> (value, updated) where updated is
    how many registers changed (1 more for a created key), or -1 if the value turned out
    corrupt: the value returned then carries the changes made before that, as Redis
    keeps them."""
    cdef Buf b
    cdef int updated = 0, r = 0
    cdef long index = 0
    cdef int count
    cdef bytes ele
    if value is None:
        buf_new_sparse(&b)
        updated = 1
    else:
        buf_init(&b, <const uint8_t *>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value),
                 PyBytes_GET_SIZE(value) + 8)
    try:
        for ele in elements:
            count = pat_len(<const uint8_t *>PyBytes_AS_STRING(ele), PyBytes_GET_SIZE(ele),
                            &index)
            if b.p[4] == HLL_DENSE:
                r = dense_set(b.p + HLL_HDR_SIZE, index, <uint8_t>count)
            elif b.p[4] == HLL_SPARSE:
                r = sparse_set(&b, index, <uint8_t>count, sparse_max)
            else:
                r = -1
            if r == 1:
                updated += 1
            elif r == -1:
                return buf_bytes(&b), -1
        if updated:
            b.p[15] |= 0x80
        return buf_bytes(&b), updated
    finally:
        free(b.p)


def count(bytes value):
    """The estimated cardinality of a valid HLL value (cache ignored), None if corrupt.
    Signed: an estimate that overflows (all registers at 63 divide by zero) is Redis's
    llround(inf), INT64_MIN, which it replies as is."""
    cdef int histo[64]
    cdef const uint8_t *v = <const uint8_t *>PyBytes_AS_STRING(value)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(value)
    memset(histo, 0, sizeof(histo))
    if v[4] == HLL_DENSE:
        dense_histo(v + HLL_HDR_SIZE, histo)
    elif sparse_histo(v + HLL_HDR_SIZE, v + n, histo) < 0:
        return None
    return <int64_t>estimate(histo)


def merge(bytearray registers, bytes value):
    """registers[i] = max(registers[i], register i of value), for PFCOUNT of several keys
    and PFMERGE. registers is a bytearray of 16384. False if value is corrupt."""
    if len(registers) != HLL_REGISTERS:
        raise ValueError("registers must be a bytearray of 16384")
    cdef uint8_t *mx = <uint8_t *><char *>registers
    return merge_max(mx, <const uint8_t *>PyBytes_AS_STRING(value),
                     PyBytes_GET_SIZE(value)) == 0


def count_registers(bytearray registers):
    """Estimated cardinality of one-byte-per-register registers (Redis's HLL_RAW)."""
    if len(registers) != HLL_REGISTERS:
        raise ValueError("registers must be a bytearray of 16384")
    cdef int histo[64]
    cdef const uint8_t *mx = <const uint8_t *><char *>registers
    cdef long i
    memset(histo, 0, sizeof(histo))
    for i in range(HLL_REGISTERS):
        histo[mx[i] & 63] += 1
    return <int64_t>estimate(histo)


def store(object value, bytearray registers, bint use_dense, Py_ssize_t sparse_max):
    """PFMERGE's write: raise every register of value (None: a new sparse HLL) to
    registers[i], converting it to dense first if use_dense. The cached cardinality is
    marked stale. -> the new value, or None if value is a corrupt sparse HLL."""
    if len(registers) != HLL_REGISTERS:
        raise ValueError("registers must be a bytearray of 16384")
    cdef Buf b
    cdef const uint8_t *mx = <const uint8_t *><char *>registers
    cdef long j
    if value is None:
        buf_new_sparse(&b)
    else:
        buf_init(&b, <const uint8_t *>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value),
                 PyBytes_GET_SIZE(value) + 8)
    try:
        if use_dense and buf_to_dense(&b) < 0:
            return None
        for j in range(HLL_REGISTERS):
            if mx[j] == 0:
                continue
            # The encoding is looked at each time: a sparse set may have promoted it.
            if b.p[4] == HLL_DENSE:
                dense_set(b.p + HLL_HDR_SIZE, j, mx[j])
            elif b.p[4] == HLL_SPARSE:
                sparse_set(&b, j, mx[j], sparse_max)  # Redis ignores the result here
        b.p[15] |= 0x80
        return buf_bytes(&b)
    finally:
        free(b.p)


def to_dense(bytes value):
    """The dense form of a valid HLL value (itself if dense); None if corrupt."""
    cdef Buf b
    buf_init(&b, <const uint8_t *>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value),
             PyBytes_GET_SIZE(value))
    try:
        if buf_to_dense(&b) < 0:
            return None
        return buf_bytes(&b)
    finally:
        free(b.p)


def dense_registers(bytes value):
    """The 16384 register values of a dense HLL value."""
    if PyBytes_GET_SIZE(value) != HLL_DENSE_SIZE or (<const uint8_t *>PyBytes_AS_STRING(value))[4] != HLL_DENSE:
        raise ValueError("not a dense HLL value")
    cdef const uint8_t *regs = (<const uint8_t *>PyBytes_AS_STRING(value)) + HLL_HDR_SIZE
    return [dense_get(regs, j) for j in range(HLL_REGISTERS)]


def decode_sparse(bytes value):
    """PFDEBUG DECODE's text: the sparse opcodes as 'z:<n>', 'Z:<n>', 'v:<value>,<n>'."""
    cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(value)
    cdef const uint8_t *end = p + PyBytes_GET_SIZE(value)
    parts = []
    p += HLL_HDR_SIZE
    while p < end:
        if is_zero(p):
            parts.append(b"z:%d" % zero_len(p))
            p += 1
        elif is_xzero(p):
            parts.append(b"Z:%d" % xzero_len(p))  # may read the bytes object's NUL
            p += 2
        else:
            parts.append(b"v:%d,%d" % (val_value(p), val_len(p)))
            p += 1
    return b" ".join(parts)
