# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The command core: the common commands parsed and run straight from a client's input buffer.

Client.data_received hands its parser to CommandCore.run() before anything else. run() reads
complete, canonically framed multibulk commands from the parser's buffer (no argv list, no
bytes object per argument), runs the ones it knows in their common case, writes their replies
into one C buffer and appends it to the read's output as one bytes object. It stops at the
first command it does not take, and leaves it in the parser: the dispatcher runs it, with every
policy and every error text, and the client's loop calls run() again for what follows. So the
core never answers differently from the dispatcher: whenever a case is not the plain one
(an error to report, an expired key, another type to replace, a key on another worker, a
syntax it does not parse), it declines before changing anything.

Whole-client conditions under which run() takes nothing: MULTI, a RESP2 subscribed context, not
authenticated, MONITOR anywhere, CLIENT PAUSE, a replica role. Writes are left to the
dispatcher while sync replication or min-replicas-to-write need their bookkeeping.

What the core keeps as the dispatcher does: INFO commandstats (per-command C counters, added
to the dispatcher's figures at every sync(): the end of a turn, a dispatched command),
total_commands_processed, SLOWLOG and the latency monitor (one clock read per command: the
end of one command is the start of the next), the access times of OBJECT IDLETIME, WATCH and
blocked clients (engine.on_modified), CLIENT LIST's cmd=, WAIT's position (c.woff). Writes build the same records as storage/strings.py's
hot paths and go through Shard.commit_items, the write path every writer shares.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.list cimport PyList_Append, PyList_GET_ITEM, PyList_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memcpy
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC, CLOCK_REALTIME

from pikadb._binlog cimport BinlogTail, RawArg
from pikadb._keycache cimport KeyCache, Rec
from pikadb._keycodec cimport (coll_meta_of, data_key_of, expire_key_of, meta_key_of, slot_of,
                               string_meta_of)
from pikadb._resp cimport Parser

DEF MAX_ARGS = 64          # longer commands (MSET of many keys) go to the dispatcher
DEF READ_AHEAD = 64        # list elements a pop that misses the key cache reads at once
DEF MAX_RUN = 1024         # commands per run() before the client loop looks at its budget
DEF BINLOG_ARG_MAX = 128   # dispatch.BINLOG_ARG_MAX: longer arguments are shortened in records
DEF T_STRING = 1
DEF T_HASH = 2
DEF T_LIST = 3
DEF T_SET = 4
DEF T_ZSET = 5
DEF LIST_MID = 9223372036854775808ULL  # storage/lists.MID: the head index of a new list
DEF F_EXPIRE = 0x10
DEF TYPE_MASK = 0x0F

from libc.limits cimport LLONG_MAX as LLONG_MAX_, LLONG_MIN as LLONG_MIN_

# Command ids (the order of NAMES).
cdef enum:
    C_GET
    C_SET
    C_SETNX
    C_SETEX
    C_PSETEX
    C_INCR
    C_DECR
    C_INCRBY
    C_DECRBY
    C_MGET
    C_EXISTS
    C_STRLEN
    C_TYPE
    C_TTL
    C_PTTL
    C_PING
    C_LPUSH
    C_RPUSH
    C_LPOP
    C_RPOP
    C_LLEN
    C_SADD
    C_SCARD
    C_SISMEMBER
    C_HSET
    C_HGET
    C_HLEN
    C_ZADD
    NCMDS
    C_DIRECT = 100   # a command handed straight to its handler (self.direct_cmd)

NAMES = (
    b"get", b"set", b"setnx", b"setex", b"psetex", b"incr", b"decr", b"incrby", b"decrby",
    b"mget", b"exists", b"strlen", b"type", b"ttl", b"pttl", b"ping", b"lpush", b"rpush",
    b"lpop", b"rpop", b"llen", b"sadd", b"scard", b"sismember", b"hset", b"hget", b"hlen",
    b"zadd",
)

cdef struct Spec:
    const char *name  # lower case
    Py_ssize_t n
    int min_args      # argument counts (the name included) the core takes
    int max_args      # -1: no maximum

cdef Spec SPECS[NCMDS]


cdef void _spec(int cid, bytes name, int min_args, int max_args):
    SPECS[cid].name = name  # NAMES holds the bytes objects for the module's lifetime
    SPECS[cid].n = len(name)
    SPECS[cid].min_args = min_args
    SPECS[cid].max_args = max_args


for _cid, _name, _lo, _hi in (
    (C_GET, b"get", 2, 2), (C_SET, b"set", 3, -1), (C_SETNX, b"setnx", 3, 3),
    (C_SETEX, b"setex", 4, 4), (C_PSETEX, b"psetex", 4, 4), (C_INCR, b"incr", 2, 2),
    (C_DECR, b"decr", 2, 2), (C_INCRBY, b"incrby", 3, 3), (C_DECRBY, b"decrby", 3, 3),
    (C_MGET, b"mget", 2, -1), (C_EXISTS, b"exists", 2, -1), (C_STRLEN, b"strlen", 2, 2),
    (C_TYPE, b"type", 2, 2), (C_TTL, b"ttl", 2, 2), (C_PTTL, b"pttl", 2, 2),
    (C_PING, b"ping", 1, 2), (C_LPUSH, b"lpush", 3, -1), (C_RPUSH, b"rpush", 3, -1),
    (C_LPOP, b"lpop", 2, 2), (C_RPOP, b"rpop", 2, 2), (C_LLEN, b"llen", 2, 2),
    (C_SADD, b"sadd", 3, 3), (C_SCARD, b"scard", 2, 2), (C_SISMEMBER, b"sismember", 3, 3),
    (C_HSET, b"hset", 4, 4), (C_HGET, b"hget", 3, 3), (C_HLEN, b"hlen", 2, 2),
    (C_ZADD, b"zadd", 4, 4),
):
    assert NAMES[_cid] == _name
    _spec(_cid, NAMES[_cid], _lo, _hi)

# What run() returns.
cdef enum:
    R_DONE = 0
    R_AGAIN = 1

DONE = 0      # nothing more here: the next command (if any) is the dispatcher's
AGAIN = 1     # stopped at MAX_RUN, or a write signalled a watched key: call run() again after
              # the client loop's checks

cdef type TUPLE = tuple


# An argument: bytes in the input buffer (the binlog encodes a record straight from these).
ctypedef RawArg Arg


# ---- small parsers ----

cdef inline bint _lower_eq(const char *p, Py_ssize_t n, const char *word, Py_ssize_t wn) noexcept:
    """p[:n] equals the lower-case word, ignoring ASCII case."""
    cdef Py_ssize_t i
    cdef char c
    if n != wn:
        return False
    for i in range(n):
        c = p[i]
        if 65 <= c <= 90:
            c += 32
        if c != word[i]:
            return False
    return True


cdef inline bint _str2ll(const char *p, Py_ssize_t n, long long *out) noexcept:
    """Redis's string2ll: optional '-', digits, no leading zeros, fits a signed 64-bit."""
    cdef Py_ssize_t i = 0
    cdef unsigned long long v = 0
    cdef bint neg = False
    if n == 0 or n > 20:
        return False
    if n == 1 and p[0] == 48:
        out[0] = 0
        return True
    if p[0] == 45:
        neg = True
        i = 1
        if n == 1:
            return False
    if not (49 <= p[i] <= 57):
        return False
    while i < n:
        if not (48 <= p[i] <= 57):
            return False
        if v > 1844674407370955161ULL:  # (2**64 - 1) // 10
            return False
        v = v * 10 + <unsigned long long>(p[i] - 48)
        if v < <unsigned long long>(p[i] - 48):
            return False
        i += 1
    if neg:
        if v > 9223372036854775808ULL:
            return False
        out[0] = -<long long>(v - 1) - 1 if v else 0
    else:
        if v > 9223372036854775807ULL:
            return False
        out[0] = <long long>v
    return True


cdef inline bint _score_int(const char *p, Py_ssize_t n, long long *out) noexcept:
    """A score strtod reads as an exact integer: an optional '-' and 1 to 15 digits
    (leading zeros too: redis-benchmark's scores are zero-padded); not "-0" (-0.0)."""
    cdef Py_ssize_t i = 0
    cdef long long v = 0
    cdef bint neg = n > 0 and p[0] == 45
    if neg:
        i = 1
    if n - i < 1 or n - i > 15:
        return False
    while i < n:
        if not (48 <= p[i] <= 57):
            return False
        v = v * 10 + (p[i] - 48)
        i += 1
    if neg:
        if v == 0:
            return False
        v = -v
    out[0] = v
    return True


cdef inline Py_ssize_t _header(const char *b, Py_ssize_t pos, Py_ssize_t end, char marker,
                               long long *value) noexcept:
    """A '<marker><number>\\r\\n' line at pos: the position after it, or -1 (not one)."""
    cdef Py_ssize_t e
    if pos >= end or b[pos] != marker:
        return -1
    e = pos + 1
    while e < end and b[e] != 13:
        e += 1
    if e + 1 >= end or b[e + 1] != 10 or not _str2ll(b + pos + 1, e - pos - 1, value):
        return -1
    return e + 2


cdef inline uint64_t _get_u64(const uint8_t *p) noexcept:
    return ((<uint64_t>p[0] << 56) | (<uint64_t>p[1] << 48) | (<uint64_t>p[2] << 40)
            | (<uint64_t>p[3] << 32) | (<uint64_t>p[4] << 24) | (<uint64_t>p[5] << 16)
            | (<uint64_t>p[6] << 8) | <uint64_t>p[7])


cdef inline double _monotonic() noexcept:
    """time.monotonic()."""
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <double>ts.tv_sec + <double>ts.tv_nsec * 1e-9


cdef inline long long _clock_ns() noexcept:
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <long long>ts.tv_sec * 1000000000 + ts.tv_nsec


# ---- the reply buffer ----

cdef class _Out:
    cdef char *buf
    cdef Py_ssize_t n
    cdef Py_ssize_t cap

    def __dealloc__(self):
        PyMem_Free(self.buf)

    cdef int reserve(self, Py_ssize_t more) except -1:
        cdef Py_ssize_t cap
        cdef char *nb
        if self.n + more <= self.cap:
            return 0
        cap = self.cap * 2 if self.cap else 4096
        while cap < self.n + more:
            cap *= 2
        nb = <char *>PyMem_Realloc(self.buf, cap)
        if nb == NULL:
            raise MemoryError()
        self.buf = nb
        self.cap = cap
        return 0

    cdef inline int raw(self, const char *p, Py_ssize_t n) except -1:
        self.reserve(n)
        memcpy(self.buf + self.n, p, n)
        self.n += n
        return 0

    cdef int integer(self, char kind, long long v) except -1:
        # ':<v>\r\n' (kind ':'), '$<v>\r\n' bulk headers, '*<v>\r\n' array headers
        cdef char tmp[24]
        cdef int i = 23
        cdef unsigned long long u
        cdef bint neg = v < 0
        self.reserve(26)
        u = <unsigned long long>(-(v + 1)) + 1 if neg else <unsigned long long>v
        tmp[i] = 0
        if u == 0:
            i -= 1
            tmp[i] = 48
        while u:
            i -= 1
            tmp[i] = <char>(48 + u % 10)
            u //= 10
        if neg:
            i -= 1
            tmp[i] = 45
        self.buf[self.n] = kind
        self.n += 1
        memcpy(self.buf + self.n, tmp + i, 23 - i)
        self.n += 23 - i
        self.buf[self.n] = 13
        self.buf[self.n + 1] = 10
        self.n += 2
        return 0

    cdef int bulk(self, const char *p, Py_ssize_t n) except -1:
        self.integer(36, n)  # '$'
        self.reserve(n + 2)
        memcpy(self.buf + self.n, p, n)
        self.n += n
        self.buf[self.n] = 13
        self.buf[self.n + 1] = 10
        self.n += 2
        return 0

    cdef int null(self, int proto) except -1:
        if proto == 3:
            return self.raw(b"_\r\n", 3)
        return self.raw(b"$-1\r\n", 5)

    cdef object take(self):
        out = PyBytes_FromStringAndSize(self.buf, self.n)
        self.n = 0
        if self.cap > 1 << 20:  # a big burst's buffer is not kept
            PyMem_Free(self.buf)
            self.buf = NULL
            self.cap = 0
        return out


# ---- the meta record of a key (see storage/encoding.py) ----

cdef enum:
    K_ABSENT
    K_STRING     # a live string: value at vp/vn, expiry in exp (0: none)
    K_OTHER      # a live key of another type
    K_EXPIRED    # a key past its expiry: the dispatcher deletes it
    K_LIVE       # a live collection of the type asked for (_classify_coll)


cdef inline int _classify(object raw, long long now, const char **vp, Py_ssize_t *vn,
                          long long *exp) noexcept:
    cdef const uint8_t *p
    cdef Py_ssize_t n
    if raw is None:
        return K_ABSENT
    p = <const uint8_t *>PyBytes_AS_STRING(raw)
    n = PyBytes_GET_SIZE(raw)
    exp[0] = 0
    if p[0] & F_EXPIRE:
        exp[0] = <long long>_get_u64(p + 1)
        if exp[0] <= now:
            return K_EXPIRED
        p += 9
        n -= 9
    else:
        p += 1
        n -= 1
    if (<const uint8_t *>PyBytes_AS_STRING(raw))[0] & TYPE_MASK != T_STRING:
        return K_OTHER
    vp[0] = <const char *>p
    vn[0] = n
    return K_STRING


cdef struct CollMeta:
    int kind          # what _classify_coll answered
    int enc
    long long exp
    uint64_t version
    long long count
    const char *extra
    Py_ssize_t xn


cdef inline int _classify_coll(object raw, long long now, int want, CollMeta *m) noexcept:
    """raw's meta as a collection of type want: K_LIVE (m filled), K_ABSENT, K_EXPIRED or
    K_OTHER (another type, or a record too short to be one)."""
    cdef const uint8_t *p
    cdef Py_ssize_t n, off = 1
    if raw is None:
        return K_ABSENT
    p = <const uint8_t *>PyBytes_AS_STRING(raw)
    n = PyBytes_GET_SIZE(raw)
    m.exp = 0
    if p[0] & F_EXPIRE:
        m.exp = <long long>_get_u64(p + 1)
        if m.exp <= now:
            return K_EXPIRED
        off = 9
    if p[0] & TYPE_MASK != want or n < off + 16:
        return K_OTHER
    m.enc = (p[0] & 0x60) >> 5
    m.version = _get_u64(p + off)
    m.count = <long long>_get_u64(p + off + 8)
    m.extra = <const char *>p + off + 16
    m.xn = n - off - 16
    return K_LIVE


cdef inline void _put_u64(char *p, uint64_t v) noexcept:
    cdef int i
    for i in range(8):
        p[7 - i] = <char>(v & 0xFF)
        v >>= 8


cdef inline uint64_t _score_bits(double x) noexcept:
    cdef uint64_t u
    memcpy(&u, &x, 8)
    return u


cdef inline uint64_t _score_order(double x) noexcept:
    """zsets.encode_score: bits whose unsigned order is the numeric order (-0.0 as 0.0)."""
    cdef uint64_t u
    if x == 0.0:
        return 1ULL << 63
    u = _score_bits(x)
    return u ^ 0xFFFFFFFFFFFFFFFFULL if u & (1ULL << 63) else u | (1ULL << 63)


cdef class _Items:
    """What Shard.new_version() adds to a batch (the version floor), as commit items."""
    cdef list items

    def put(self, key, value):
        self.items.append((key, value))


cdef class CommandCore:
    cdef object server
    cdef object engine
    cdef object dispatcher
    cdef object stats
    cdef object syncmode
    cdef object access
    cdef bint lfu             # access.lfu_enabled, read once per turn (CONFIG SET syncs)
    cdef dict watched         # engine.watched (one dict for the engine's life)
    cdef bint wrote           # the run wrote: the client's woff is set once at its end
    cdef object encode_counters
    cdef object counters_key
    cdef object shorten
    cdef object latest
    cdef list slot_shards
    cdef list caches          # KeyCache per slot shard, None for another worker's
    cdef Py_ssize_t nshards
    cdef object swaps         # engine.swaps when the shards were read
    cdef list commands        # Command per id, None when renamed away
    cdef _Out out
    cdef Arg args[MAX_ARGS]
    cdef Py_ssize_t nargs
    cdef Py_ssize_t vi        # the value's argument (SETEX key seconds value: 3)
    cdef long long calls[NCMDS]
    cdef long long usec[NCMDS]
    # per run
    cdef object c
    cdef int proto
    cdef int pdb
    cdef int dbindex
    cdef long long now
    cdef object now_obj       # now as a Python int, made once per millisecond
    cdef bint writes_ok
    cdef bint signalled
    cdef public bint enabled
    cdef public unsigned long long calls_total  # commands the core ran (INFO stats)
    # What run() needs of the server's state, read once per loop turn (sync()): between
    # two syncs only the core's own commands ran, and they change none of it.
    cdef bint stale
    cdef bint server_ok       # no MONITOR, replica role or CLIENT PAUSE
    cdef bint auth_needed     # requirepass is set
    cdef long long slow_us
    cdef long long lat_ms
    cdef long long unaccounted  # commands run since the last sync (INFO's total)
    # serve()'s reads and writes since the last sync (INFO's total_* figures)
    cdef public object client_type  # server.client.Client (release() writes its replies)
    cdef long long reads
    cdef long long net_in
    cdef long long writes
    cdef long long net_out
    # Commands the core hands straight to their handlers, without the dispatcher's policy
    # chain (run() already checked what would refuse them): lower-case name ->
    # (Command, arity, first key, last key, key step, is write, is fast)
    cdef dict direct
    cdef object direct_cmd
    cdef tuple direct_spec
    cdef object last_cmd
    cdef object run_handler
    cdef object count_failure
    cdef object blocking
    # The cache record of the key _read() read last (NULL: none), valid while its cache's
    # `frees` count is still rec_frees (no record was freed since).
    cdef Rec *rec
    cdef unsigned long long rec_frees
    cdef _Items vsink
    # set-max-intset-entries, hash-max-listpack-entries/-value (the server keeps them set)
    cdef public long long max_intset
    cdef public long long hash_max_entries
    cdef public long long hash_max_value
    cdef public long long zset_max_entries
    cdef public long long zset_max_value

    def __init__(self, server, commands, encode_counters, counters_key, shorten, latest,
                 direct=()):
        """commands: the command table (lower-case name bytes -> Command), after renames;
        direct: names of the commands the core hands straight to their handlers."""
        self.server = server
        self.dispatcher = server.dispatcher
        self.run_handler = server.dispatcher.run_handler
        self.count_failure = server.dispatcher.count_failure
        self.blocking = server.blocking
        self.stats = server.stats
        self.syncmode = server.syncmode
        self.encode_counters = encode_counters
        self.counters_key = counters_key
        self.shorten = shorten
        self.latest = latest
        self.out = _Out()
        self.commands = []
        for name in NAMES:
            cmd = commands.get(name)
            # Renamed away, or another command renamed to this name: not the core's.
            self.commands.append(cmd if cmd is not None and cmd.name == name.decode() else None)
        self.direct = {}
        for name in direct:
            cmd = commands.get(name)
            if cmd is None or cmd.name != name.decode() or cmd.handler is None:
                continue
            first, last, step = cmd.keys if type(cmd.keys) is tuple else (0, 0, 0)
            self.direct[name] = (cmd, cmd.arity, first, last, step, cmd.is_write,
                                 "fast" in cmd.flags)
        self.vsink = _Items()
        self.max_intset = 512
        self.hash_max_entries = 512
        self.hash_max_value = 64
        self.zset_max_entries = 128
        self.zset_max_value = 64
        self.enabled = True
        self.stale = True

    cpdef sync(self):
        """The server's state may have changed (the end of a loop turn, a command about to
        run through the dispatcher): the next run() reads it again; the commands run so far
        go into INFO's figures (commandstats, total_commands_processed)."""
        cdef int i
        self.stale = True
        if self.reads or self.writes:
            stats = self.stats
            stats.total_reads_processed += self.reads
            stats.total_net_input_bytes += self.net_in
            stats.total_writes_processed += self.writes
            stats.total_net_output_bytes += self.net_out
            self.reads = self.net_in = self.writes = self.net_out = 0
        if self.unaccounted:
            self.stats.total_commands_processed += self.unaccounted
            self.unaccounted = 0
            for i in range(NCMDS):
                if self.calls[i]:
                    # (not kept between syncs: CONFIG RESETSTAT makes new ones)
                    st = self.dispatcher.stats_for(self.commands[i])
                    st.calls += self.calls[i]
                    st.usec += self.usec[i]
                    self.calls[i] = 0
                    self.usec[i] = 0

    cdef void _refresh(self) except *:
        server = self.server
        syncmode = self.syncmode
        self.server_ok = not (server.monitored or server.replica_of is not None
                              or syncmode.pause_kind)
        engine = server.engine
        if engine is not self.engine or engine.swaps != self.swaps:
            self._attach(engine)
        self.writes_ok = not (syncmode.quorum_check or (syncmode.sync and not syncmode.degraded))
        self.auth_needed = bool(server.requirepass)
        self.lfu = self.access.lfu_enabled
        self.slow_us = server.slowlog_threshold_us
        self.lat_ms = server.latency.threshold_ms
        self.stale = False

    cdef void _attach(self, engine) except *:
        """The engine's shards (again after a full sync swapped them in)."""
        self.engine = engine
        self.swaps = engine.swaps
        self.access = engine.access
        self.watched = engine.watched
        self.slot_shards = list(engine.slot_shards)
        self.nshards = len(self.slot_shards)
        self.caches = engine.slot_caches()

    # ---- the entry point ----

    def run(self, c, Parser parser, list out):
        """Run the commands at the head of parser's buffer that the core takes; their
        replies go to out as one bytes object. -> DONE or AGAIN."""
        return self._run(c, parser, out)

    def serve(self, c, Parser parser, bytes data):
        """Client.data_received's common case without a Python frame: a read from a client
        in no special state (blocked, paused, waiting for other workers, with input or
        output held back) whose commands the core runs entirely. -> None: served, the
        replies written (or held for the end of the turn, as Client.write does); False:
        nothing done, the general path serves the read; a list: data fed and counted, the
        replies of the commands run in it, and the general path goes on from the command
        the core stopped at."""
        cdef list out
        cdef int r
        cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
        if (n == 0 or not self.enabled or c.closed or c.close_after_reply
                or c.blocked is not None or c.postponed is not None or c.sliced is not None
                or c.awaiting or c.held_argv is not None or c.pending_out is not None
                or c._backlog or c._paused):
            return False
        transport = c.transport
        if transport is None:
            return False
        server = self.server
        if not server._turn_start:
            server.begin_turn()
        self.reads += 1
        self.net_in += n
        c.last_interaction = _monotonic()
        parser.feed(data)
        out = []
        c.out_batch = out
        try:
            r = self._run(c, parser, out)
        finally:
            c.out_batch = None
        if self.blocking.ready:
            self.blocking.serve_ready()
        if (r != R_DONE or parser.end != 0 or parser.state != 0 or parser.big != NULL
                or PyList_GET_SIZE(out) != 1):
            return out
        reply = <object>PyList_GET_ITEM(out, 0)
        engine = self.engine
        if engine.pending or engine.fresh:
            # Writes of this turn are not in RocksDB, or not on their way to the replicas
            # yet: the end of the turn sends this (Client._write_now).
            c.deferred = True
            server._deferred.append((c, reply))
        else:
            self.writes += 1
            self.net_out += PyBytes_GET_SIZE(reply)
            transport.write(reply)
        return None

    def release(self, list outputs):
        """Server._release_deferred's sending: each (client, reply) held for the end of the
        turn goes out in order (a plain Client's straight to its transport, as Client.send
        does; anything else through its send()), then the clients that asked to close after
        their output are closed."""
        cdef Py_ssize_t i, n = PyList_GET_SIZE(outputs)
        cdef tuple item
        plain = self.client_type
        for i in range(n):
            (<object>PyTuple_GET_ITEM(<tuple>PyList_GET_ITEM(outputs, i), 0)).deferred = False
        for i in range(n):
            item = <tuple>PyList_GET_ITEM(outputs, i)
            c = <object>PyTuple_GET_ITEM(item, 0)
            reply = <object>PyTuple_GET_ITEM(item, 1)
            if type(c) is plain:
                transport = c.transport
                if transport is not None and not c.closed:
                    self.writes += 1
                    self.net_out += PyBytes_GET_SIZE(reply)
                    transport.write(reply)
            else:
                c.send(reply)
        for i in range(n):
            c = <object>PyTuple_GET_ITEM(<tuple>PyList_GET_ITEM(outputs, i), 0)
            if c.close_after_flush:
                c.close()

    cdef int _run(self, c, Parser parser, list out) except -1:
        cdef long long t0, t1, dur_us, slow_us, lat_ms
        cdef Py_ssize_t pos, start, count = 0, i, mark
        cdef int cid, r = R_DONE
        if not self.enabled or parser.state != 0 or parser.big != NULL or parser.error is not None:
            return R_DONE
        if self.stale:
            self._refresh()
        if (not self.server_ok or c.multi is not None or c.subscribed
                or (self.auth_needed and not c._authenticated)):
            return R_DONE
        self.c = c
        self.proto = c.proto
        self.dbindex = c.dbindex
        self.pdb = c.db.pdb
        self.signalled = False
        slow_us = self.slow_us
        lat_ms = self.lat_ms
        pos = parser.pos
        t0 = _clock_ns()
        while count < MAX_RUN:
            start = pos
            pos = self._frame(parser, pos)
            if pos < 0:
                pos = start
                break
            cid = self._command()
            if cid < 0:
                pos = start
                break
            if t0 // 1000000 != self.now:
                self.now = t0 // 1000000
                self.now_obj = self.now
            self.vi = 2
            mark = self.out.n
            try:
                done = self._execute(cid)
                if not done and cid != C_DIRECT and self._direct_command() == C_DIRECT:
                    # Not the native path's plain case (a float score, an expired key,
                    # another type): the command's handler, when it is a direct one.
                    self.out.n = mark
                    cid = C_DIRECT
                    done = self._direct()
            except Exception:
                # A write refused (StorageFullError) changed nothing: the dispatcher runs
                # the command again and answers it.
                done = False
            if not done:
                self.out.n = mark
                pos = start
                break
            t1 = _clock_ns()
            dur_us = (t1 - t0) // 1000
            t0 = t1
            count += 1
            if cid == C_DIRECT:
                st = self.dispatcher.stats_for(self.direct_cmd)
                st.calls += 1
                st.usec += dur_us
                self.last_cmd = self.direct_cmd
            else:
                self.calls[cid] += 1
                self.usec[cid] += dur_us
                self.last_cmd = self.commands[cid]
            if dur_us >= slow_us >= 0:
                self._slowlog(dur_us)
            if lat_ms and dur_us >= lat_ms * 1000:
                self.server.latency.add(
                    "fast-command" if cid != C_DIRECT or self.direct_spec[6] else "command",
                    dur_us // 1000)
            if self.signalled:
                r = R_AGAIN
                break
        else:
            r = R_AGAIN
        if self.wrote:
            c.woff = self.latest
            self.wrote = False
        if count:
            parser.consumed(pos)
            PyList_Append(out, self.out.take())
            c.cmd = self.last_cmd
            c.now = self.now
            self.calls_total += count
            self.unaccounted += count
        self.c = None
        return r

    cdef void _slowlog(self, long long dur_us):
        c = self.c
        argv = [PyBytes_FromStringAndSize(self.args[i].p, self.args[i].n)
                for i in range(self.nargs)]
        self.server.slowlog.add(argv, dur_us, c.peer.encode(), c.name or b"",
                                self.server.slowlog_max_len)

    # ---- framing ----

    cdef Py_ssize_t _frame(self, Parser parser, Py_ssize_t pos) noexcept:
        """Split the canonical multibulk command at pos into self.args. -> the position after
        it, or -1 (incomplete, inline, too many arguments, anything not plain)."""
        cdef const char *b = parser.buf
        cdef Py_ssize_t end = parser.end
        cdef long long count, n
        cdef Py_ssize_t i
        pos = _header(b, pos, end, 42, &count)  # '*'
        if pos < 0 or count < 1 or count > MAX_ARGS:
            return -1
        for i in range(count):
            pos = _header(b, pos, end, 36, &n)  # '$'
            if pos < 0 or n < 0 or n > parser.max_bulk:
                return -1
            if end - pos < n + 2 or b[pos + n] != 13 or b[pos + n + 1] != 10:
                return -1
            self.args[i].p = b + pos
            self.args[i].n = n
            pos += n + 2
        self.nargs = count
        return pos

    cdef int _command(self) except -2:
        """The core's id of args[0] with a plausible arity, or -1."""
        cdef const char *p = self.args[0].p
        cdef Py_ssize_t n = self.args[0].n
        cdef Py_ssize_t na = self.nargs
        cdef int cid
        for cid in range(NCMDS):
            if (SPECS[cid].n == n and SPECS[cid].min_args <= na
                    and (SPECS[cid].max_args < 0 or na <= SPECS[cid].max_args)
                    and _lower_eq(p, n, SPECS[cid].name, n)):
                if self.commands[cid] is None:
                    break
                return cid
        return self._direct_command()

    cdef int _direct_command(self) except -2:
        """C_DIRECT when args[0] names one of the direct commands with a valid arity and
        keys this worker owns; -1 otherwise."""
        cdef Py_ssize_t n = self.args[0].n, i, na = self.nargs
        cdef long long arity, first, last, step
        cdef char low[24]
        cdef char ch
        if n > 20 or not self.direct:
            return -1
        for i in range(n):
            ch = self.args[0].p[i]
            low[i] = ch + 32 if 65 <= ch <= 90 else ch
        spec = self.direct.get(PyBytes_FromStringAndSize(low, n))
        if spec is None:
            return -1
        arity = spec[1]
        if (arity >= 0 and na != arity) or (arity < 0 and na < -arity):
            return -1
        if self.nshards > 1:
            first = spec[2]
            last = spec[3]
            step = spec[4]
            if first > 0:
                if last < 0:
                    last = na + last
                if last > na - 1:
                    last = na - 1
                i = first
                while i <= last:
                    if self._cache_of(i) is None:
                        return -1  # a key of another worker: the dispatcher routes it
                    i += step
        self.direct_spec = spec
        self.direct_cmd = spec[0]
        return C_DIRECT

    # ---- execution ----

    cdef bint _execute(self, int cid) except -1:
        """Run command cid from self.args; False: declined (nothing changed)."""
        if cid == C_DIRECT:
            return self._direct()
        if cid == C_GET:
            return self._get()
        if cid == C_SET:
            return self._set()
        if cid == C_SETNX:
            return self._set_plain(True, 0, True)
        if cid == C_SETEX or cid == C_PSETEX:
            return self._setex(cid == C_SETEX)
        if cid == C_INCR:
            return self._incr(1)
        if cid == C_DECR:
            return self._incr(-1)
        if cid == C_INCRBY or cid == C_DECRBY:
            return self._incrby(cid == C_DECRBY)
        if cid == C_MGET:
            return self._mget()
        if cid == C_EXISTS:
            return self._exists()
        if cid == C_STRLEN:
            return self._strlen()
        if cid == C_TYPE:
            return self._type()
        if cid == C_TTL:
            return self._ttl(1000)
        if cid == C_PTTL:
            return self._ttl(1)
        if cid == C_LPUSH or cid == C_RPUSH:
            return self._push(cid == C_LPUSH)
        if cid == C_LPOP or cid == C_RPOP:
            return self._pop(cid == C_LPOP)
        if cid == C_SADD:
            return self._sadd()
        if cid == C_HSET:
            return self._hset()
        if cid == C_ZADD:
            return self._zadd()
        if cid == C_LLEN:
            return self._count_of(T_LIST)
        if cid == C_SCARD:
            return self._count_of(T_SET)
        if cid == C_HLEN:
            return self._count_of(T_HASH)
        if cid == C_HGET or cid == C_SISMEMBER:
            return self._element(cid == C_HGET)
        if cid == C_PING:
            if self.nargs == 1:
                self.out.raw(b"+PONG\r\n", 7)
            else:
                self.out.bulk(self.args[1].p, self.args[1].n)
            return True
        return False

    cdef bint _direct(self) except -1:
        """The command's handler, as Dispatcher.execute runs it."""
        cdef tuple spec = self.direct_spec
        cdef bint write = spec[5]
        if write and not self.writes_ok:
            return False
        c = self.c
        argv = self._argv_full()
        c.now = self.now
        self.engine.current_command = (self.dbindex, self._shortened(argv) if write else argv)
        reply, failed = self.run_handler(c, self.direct_cmd, argv)
        self.out.raw(PyBytes_AS_STRING(reply), PyBytes_GET_SIZE(reply))
        if failed is not None:
            self.count_failure(self.direct_cmd, failed)
        if write:
            c.woff = self.latest
        if self.blocking.ready:
            self.signalled = True  # keys readied for blocked clients: serve them first
        return True

    cdef KeyCache _cache_of(self, Py_ssize_t i):
        """The cache of the shard owning key args[i]; None when another worker owns it."""
        cdef unsigned int slot
        if self.nshards == 1:
            return self.caches[0]
        slot = slot_of(<const uint8_t *>self.args[i].p, self.args[i].n)
        return self.caches[slot % self.nshards]

    cdef inline object _read(self, KeyCache cache, bytes mk, bint keep_absent=True):
        """mk's record; self.rec is its cache record when the cache has one. keep_absent
        False: a write follows (see KeyCache.read)."""
        if cache.budget and cache.overlay is None:
            value = cache.read(mk, keep_absent)
            self.rec = cache.last
            self.rec_frees = cache.frees
            return value
        self.rec = NULL
        return cache.get(mk)

    cdef void _touch_read(self, KeyCache cache, bytes mk) except *:
        """An access to the key _read() just read."""
        if self.rec != NULL and cache.frees == self.rec_frees and not self.lfu:
            self.rec.atime = self.now
        else:
            self._touch(cache, mk)

    cdef void _touch(self, KeyCache cache, bytes mk) except *:
        """An access (OBJECT IDLETIME, LFU): in the key's cache entry, else (LFU, key not
        cached) in the access table."""
        if self.lfu:
            self.access.touch(mk, self.now)
            return
        if cache is not None and cache.touch(mk, self.now):
            return
        access = self.access
        cur = access._cur
        PyDict_SetItem(cur, mk, self.now_obj)
        if len(cur) > access.capacity >> 1:
            access._rotate(self.now)

    cdef bint _get(self) except -1:
        cdef const char *vp = NULL
        cdef Py_ssize_t vn = 0
        cdef long long exp
        cdef KeyCache cache = self._cache_of(1)
        if cache is None:
            return False
        mk = meta_key_of(self.pdb, self.args[1].p, self.args[1].n)
        raw = self._read(cache, mk)
        k = _classify(raw, self.now, &vp, &vn, &exp)
        if k == K_ABSENT:
            self.out.null(self.proto)
            return True
        if k != K_STRING:
            return False
        self._touch_read(cache, mk)
        self.out.bulk(vp, vn)
        return True

    cdef bint _mget(self) except -1:
        cdef const char *vp = NULL
        cdef Py_ssize_t vn = 0, i
        cdef long long exp
        cdef KeyCache cache
        cdef list raws = []
        cdef list mks = []
        cdef list caches = []
        for i in range(1, self.nargs):
            cache = self._cache_of(i)
            if cache is None:
                return False
            mk = meta_key_of(self.pdb, self.args[i].p, self.args[i].n)
            raw = cache.get(mk)
            if _classify(raw, self.now, &vp, &vn, &exp) == K_EXPIRED:
                return False
            raws.append(raw)
            mks.append(mk)
            caches.append(cache)
        self.out.integer(42, self.nargs - 1)
        for i in range(self.nargs - 1):
            if _classify(raws[i], self.now, &vp, &vn, &exp) == K_STRING:
                self._touch(caches[i], mks[i])
                self.out.bulk(vp, vn)
            else:
                self.out.null(self.proto)
        return True

    cdef bint _exists(self) except -1:
        cdef const char *vp = NULL
        cdef Py_ssize_t vn = 0, i
        cdef long long exp, n = 0
        cdef KeyCache cache
        cdef int k
        for i in range(1, self.nargs):
            cache = self._cache_of(i)
            if cache is None:
                return False
            k = _classify(cache.get(meta_key_of(self.pdb, self.args[i].p, self.args[i].n)),
                          self.now, &vp, &vn, &exp)
            if k == K_EXPIRED:
                return False
            if k != K_ABSENT:
                n += 1
        self.out.integer(58, n)
        return True

    cdef bint _strlen(self) except -1:
        cdef const char *vp = NULL
        cdef Py_ssize_t vn = 0
        cdef long long exp
        cdef KeyCache cache = self._cache_of(1)
        if cache is None:
            return False
        k = _classify(cache.get(meta_key_of(self.pdb, self.args[1].p, self.args[1].n)),
                      self.now, &vp, &vn, &exp)
        if k == K_ABSENT:
            vn = 0
        elif k != K_STRING:
            return False
        self.out.integer(58, vn)
        return True

    cdef bint _type(self) except -1:
        cdef KeyCache cache = self._cache_of(1)
        cdef const char *vp = NULL
        cdef Py_ssize_t vn = 0
        cdef long long exp
        if cache is None:
            return False
        raw = cache.get(meta_key_of(self.pdb, self.args[1].p, self.args[1].n))
        k = _classify(raw, self.now, &vp, &vn, &exp)
        if k == K_ABSENT:
            self.out.raw(b"+none\r\n", 7)
        elif k == K_STRING:
            self.out.raw(b"+string\r\n", 9)
        elif k == K_OTHER:
            t = (<const uint8_t *>PyBytes_AS_STRING(raw))[0] & TYPE_MASK
            if t == T_HASH:
                self.out.raw(b"+hash\r\n", 7)
            elif t == T_LIST:
                self.out.raw(b"+list\r\n", 7)
            elif t == T_SET:
                self.out.raw(b"+set\r\n", 6)
            elif t == T_ZSET:
                self.out.raw(b"+zset\r\n", 7)
            else:
                return False  # the dispatcher names a stream
        else:
            return False
        return True

    cdef bint _ttl(self, long long unit) except -1:
        cdef KeyCache cache = self._cache_of(1)
        cdef const char *vp = NULL
        cdef Py_ssize_t vn = 0
        cdef long long exp, left
        if cache is None:
            return False
        k = _classify(cache.get(meta_key_of(self.pdb, self.args[1].p, self.args[1].n)),
                      self.now, &vp, &vn, &exp)
        if k == K_EXPIRED:
            return False
        if k == K_ABSENT:
            self.out.raw(b":-2\r\n", 5)
        elif exp == 0:
            self.out.raw(b":-1\r\n", 5)
        else:
            left = exp - self.now
            self.out.integer(58, (left + 500) // 1000 if unit == 1000 else left)
        return True

    # ---- writes ----

    cdef bint _set(self) except -1:
        """SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]."""
        cdef Py_ssize_t i
        cdef bint nx = False, xx = False, get = False, keepttl = False
        cdef int expire_opts = 0
        cdef long long v, expire_at = 0
        cdef const char *p
        cdef Py_ssize_t n
        i = 3
        while i < self.nargs:
            p = self.args[i].p
            n = self.args[i].n
            if _lower_eq(p, n, b"nx", 2) and not nx:
                nx = True
            elif _lower_eq(p, n, b"xx", 2) and not xx:
                xx = True
            elif _lower_eq(p, n, b"get", 3) and not get:
                get = True
            elif _lower_eq(p, n, b"keepttl", 7):
                keepttl = True
                expire_opts += 1
            elif n == 2 or n == 4:
                if i + 1 >= self.nargs:
                    return False
                if not _str2ll(self.args[i + 1].p, self.args[i + 1].n, &v) or v <= 0:
                    return False
                if v > 100000000000000:  # ~3000 years in ms: beyond it, the dispatcher's checks
                    return False
                if _lower_eq(p, n, b"ex", 2):
                    expire_at = self.now + v * 1000
                elif _lower_eq(p, n, b"px", 2):
                    expire_at = self.now + v
                elif _lower_eq(p, n, b"exat", 4):
                    expire_at = v * 1000
                elif _lower_eq(p, n, b"pxat", 4):
                    expire_at = v
                else:
                    return False
                if expire_at <= self.now:
                    return False
                expire_opts += 1
                i += 1
            else:
                return False
            i += 1
        if (nx and xx) or expire_opts > 1:
            return False
        return self._set_generic(nx, xx, get, keepttl, expire_at, False)

    cdef bint _setex(self, bint seconds) except -1:
        cdef long long v
        if not _str2ll(self.args[2].p, self.args[2].n, &v) or v <= 0 or v > 100000000000000:
            return False
        self.vi = 3
        return self._set_generic(False, False, False, False,
                                 self.now + (v * 1000 if seconds else v), False)

    cdef bint _set_plain(self, bint nx, long long expire_at, bint int_reply) except -1:
        return self._set_generic(nx, False, False, False, expire_at, int_reply)

    cdef bint _set_generic(self, bint nx, bint xx, bint get, bint keepttl, long long expire_at,
                           bint int_reply) except -1:
        cdef const char *vp = NULL
        cdef Py_ssize_t vn = 0
        cdef long long old_at = 0
        cdef int k
        cdef bint do_set
        cdef KeyCache cache = self._cache_of(1)
        if cache is None or not self.writes_ok:
            return False
        mk = meta_key_of(self.pdb, self.args[1].p, self.args[1].n)
        raw = self._read(cache, mk, False)
        k = _classify(raw, self.now, &vp, &vn, &old_at)
        if k == K_EXPIRED or k == K_OTHER:
            return False  # the dispatcher deletes / replaces it (or answers WRONGTYPE)
        do_set = not ((nx and k == K_STRING) or (xx and k == K_ABSENT))
        # The old value's reply must be built before the write replaces raw's owner.
        if get:
            if k == K_STRING:
                self.out.bulk(vp, vn)
            else:
                self.out.null(self.proto)
        if do_set:
            if k == K_ABSENT:
                self._write_string(cache, mk, expire_at, -1)
            else:
                self._write_string(cache, mk, expire_at or (old_at if keepttl else 0), old_at)
        if get:
            return True
        if int_reply:
            self.out.raw(b":1\r\n" if do_set else b":0\r\n", 4)
        elif do_set:
            self.out.raw(b"+OK\r\n", 5)
        else:
            self.out.null(self.proto)
        return True

    cdef bint _incr(self, long long delta) except -1:
        return self._incr_generic(delta)

    cdef bint _incrby(self, bint negate) except -1:
        cdef long long v
        if not _str2ll(self.args[2].p, self.args[2].n, &v):
            return False
        if negate:
            if v == LLONG_MIN_:
                return False  # the dispatcher's "decrement would overflow"
            v = -v
        return self._incr_generic(v)

    cdef bint _incr_generic(self, long long delta) except -1:
        cdef const char *vp = NULL
        cdef Py_ssize_t vn = 0
        cdef long long old_at = 0, v, result
        cdef int k
        cdef Py_ssize_t start
        cdef KeyCache cache = self._cache_of(1)
        if cache is None or not self.writes_ok:
            return False
        mk = meta_key_of(self.pdb, self.args[1].p, self.args[1].n)
        k = _classify(self._read(cache, mk, False), self.now, &vp, &vn, &old_at)
        if k == K_ABSENT:
            v = 0
        elif k == K_STRING and old_at == 0:
            if not _str2ll(vp, vn, &v):
                return False
        else:
            return False
        if (delta > 0 and v > LLONG_MAX_ - delta) or (delta < 0 and v < LLONG_MIN_ - delta):
            return False
        result = v + delta
        # the new value's text, written as a reply first and taken from the reply buffer
        start = self.out.n
        self.out.integer(58, result)
        self._write_value(cache, mk, self.out.buf + start + 1, self.out.n - start - 3, 0,
                          -1 if k == K_ABSENT else 0)
        return True

    cdef void _write_string(self, KeyCache cache, bytes mk, long long new_at,
                            long long old_at) except *:
        self._write_value(cache, mk, self.args[self.vi].p, self.args[self.vi].n, new_at, old_at)

    cdef void _write_value(self, KeyCache cache, bytes mk, const char *v, Py_ssize_t vn,
                           long long new_at, long long old_at) except *:
        """storage/writeset.write_string: the key's string record, its expiry index entry
        and the key counters, in one commit (old_at -1: the key is new)."""
        cdef int pdb = self.pdb
        cdef const char *kp = self.args[1].p
        cdef Py_ssize_t kn = self.args[1].n
        shard = self.slot_shards[self._slot_index()]
        items = [(mk, string_meta_of(v, vn, new_at, 0))]
        new = None
        if old_at < 0:
            c = shard.counters.get(pdb) or (0, 0, 0)
            if new_at:
                items.append((expire_key_of(pdb, new_at, kp, kn), b""))
                new = [c[0] + 1, c[1] + 1, c[2] + new_at]
            else:
                new = [c[0] + 1, c[1], c[2]]
        elif old_at != new_at:
            c = shard.counters.get(pdb) or (0, 0, 0)
            new = [c[0], c[1], c[2]]
            if old_at:
                items.append((expire_key_of(pdb, old_at, kp, kn), None))
                new[1] -= 1
                new[2] -= old_at
            if new_at:
                items.append((expire_key_of(pdb, new_at, kp, kn), b""))
                new[1] += 1
                new[2] += new_at
        if new is not None:
            items.append((self.counters_key(pdb), self.encode_counters(new[0], new[1], new[2])))
        self._commit(shard, items)
        if new is not None:
            shard.counters[pdb] = new
        if old_at < 0 and self.lfu:
            self.access.created(mk, self.now)
        else:
            self._touch(cache, mk)
        self._modified(mk)

    cdef inline void _modified(self, bytes mk) except *:
        """After a write of key mk: the client wrote (its woff, at the run's end); WATCHers
        of mk see it changed."""
        self.wrote = True
        if self.watched and mk in self.watched:
            self.engine.on_modified(mk)
            self.signalled = True

    # ---- collections (storage/lists.py, sets.py, hashes.py: the same records) ----

    cdef bytes _coll_read(self, KeyCache cache, int want, CollMeta *m, bint write):
        """The meta of key args[1] as a collection of type want (m.kind; K_LIVE fills the
        rest of m) -> its meta key."""
        mk = meta_key_of(self.pdb, self.args[1].p, self.args[1].n)
        m.kind = _classify_coll(self._read(cache, mk, not write), self.now, want, m)
        return mk

    cdef object _coll_write(self, KeyCache cache, object shard, int want, CollMeta *m,
                            list items, uint64_t *version):
        """The opening of a write to collection args[1] of type want: its meta (m) and the
        version the write uses, a new incarnation's for an absent key (m's fields zeroed;
        a raised version floor record joins items). -> the meta key, or None when the
        dispatcher's path must run it (another type, an expired key to reclaim)."""
        mk = self._coll_read(cache, want, m, True)
        if m.kind == K_LIVE:
            version[0] = m.version
        elif m.kind == K_ABSENT:
            m.enc = 0
            m.exp = 0
            m.count = 0
            m.extra = b""
            m.xn = 0
            version[0] = self._new_version(shard, items)
        else:
            return None
        return mk

    cdef bytes _elem_key(self, uint64_t version, const char *e, Py_ssize_t en):
        return data_key_of(self.pdb, self.args[1].p, self.args[1].n, version, e, en)

    cdef bytes _index_key(self, uint64_t version, uint64_t index):
        cdef char b[8]
        _put_u64(b, index)
        return data_key_of(self.pdb, self.args[1].p, self.args[1].n, version, b, 8)

    cdef uint64_t _new_version(self, shard, list items) except? 0:
        """A new incarnation's version; the version floor record (if raised) joins items."""
        self.vsink.items = items
        try:
            return shard.new_version(self.vsink)
        finally:
            self.vsink.items = None

    cdef void _commit_key(self, KeyCache cache, object shard, bytes mk, list items, int keys,
                          long long exp) except *:
        """Commit one key's records (its meta's last); keys +1: the key is new, -1: it
        went (exp: the expiry it had), 0: it stays. The key counters (and the expiry index
        of a key that went) join the batch, as WriteSet.commit writes them."""
        cdef int pdb = self.pdb
        new = None
        if keys:
            c = shard.counters.get(pdb) or (0, 0, 0)
            new = [c[0] + keys, c[1], c[2]]
            if keys < 0 and exp:
                items.append((expire_key_of(pdb, exp, self.args[1].p, self.args[1].n), None))
                new[1] -= 1
                new[2] -= exp
            items.append((self.counters_key(pdb), self.encode_counters(new[0], new[1], new[2])))
        self._commit(shard, items)
        if new is not None:
            shard.counters[pdb] = new
        if keys > 0 and self.lfu:
            self.access.created(mk, self.now)
        else:
            self._touch(cache, mk)
        self._modified(mk)

    cdef bint _count_of(self, int want) except -1:
        """LLEN / SCARD / HLEN."""
        cdef CollMeta m
        cdef KeyCache cache = self._cache_of(1)
        if cache is None:
            return False
        mk = self._coll_read(cache, want, &m, False)
        if m.kind == K_ABSENT:
            self.out.raw(b":0\r\n", 4)
            return True
        if m.kind != K_LIVE:
            return False
        self._touch_read(cache, mk)
        self.out.integer(58, m.count)
        return True

    cdef bint _element(self, bint hget) except -1:
        """HGET key field (the value or null) / SISMEMBER key member (1 or 0)."""
        cdef CollMeta m
        cdef KeyCache cache = self._cache_of(1)
        if cache is None:
            return False
        mk = self._coll_read(cache, T_HASH if hget else T_SET, &m, False)
        if m.kind == K_ABSENT:
            if hget:
                self.out.null(self.proto)
            else:
                self.out.raw(b":0\r\n", 4)
            return True
        if m.kind != K_LIVE:
            return False
        self._touch_read(cache, mk)
        value = cache.get(self._elem_key(m.version, self.args[2].p, self.args[2].n))
        if hget:
            if value is None:
                self.out.null(self.proto)
            else:
                self.out.bulk(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
        else:
            self.out.raw(b":0\r\n" if value is None else b":1\r\n", 4)
        return True

    cdef bint _push(self, bint left) except -1:
        """LPUSH / RPUSH key element [element ...] (storage/lists.push)."""
        cdef CollMeta m
        cdef uint64_t version, head, at
        cdef long long count
        cdef Py_ssize_t i
        cdef char hb[8]
        cdef KeyCache cache = self._cache_of(1)
        if cache is None or not self.writes_ok:
            return False
        shard = self.slot_shards[self._slot_index()]
        items = []
        mk = self._coll_write(cache, shard, T_LIST, &m, items, &version)
        if mk is None:
            return False
        head = _get_u64(<const uint8_t *>m.extra) if m.xn >= 8 else LIST_MID
        count = m.count
        at = head + <uint64_t>count
        for i in range(2, self.nargs):
            if left:
                head -= 1
                ik = self._index_key(version, head)
            else:
                ik = self._index_key(version, at)
                at += 1
            items.append((ik, PyBytes_FromStringAndSize(self.args[i].p, self.args[i].n)))
        count += self.nargs - 2
        _put_u64(hb, head)
        items.append((mk, coll_meta_of(T_LIST, m.enc, m.exp, version, count, hb, 8)))
        self._commit_key(cache, shard, mk, items, 1 if m.kind == K_ABSENT else 0, 0)
        self.out.integer(58, count)
        return True

    cdef bint _pop(self, bint left) except -1:
        """LPOP / RPOP key, one element (storage/lists.pop's hot path)."""
        cdef CollMeta m
        cdef uint64_t head, at
        cdef long long i
        cdef char hb[8]
        cdef KeyCache cache = self._cache_of(1)
        if cache is None or not self.writes_ok:
            return False
        mk = self._coll_read(cache, T_LIST, &m, True)
        if m.kind == K_ABSENT:
            self.out.null(self.proto)
            return True
        if m.kind != K_LIVE or m.count <= 0:
            return False
        head = _get_u64(<const uint8_t *>m.extra) if m.xn >= 8 else LIST_MID
        at = head if left else head + <uint64_t>(m.count - 1)
        ik = self._index_key(m.version, at)
        if not cache.has(ik):
            # The list's next elements (in pop order) are read with this one.
            ahead = [ik]
            for i in range(1, min(m.count, READ_AHEAD)):
                ahead.append(self._index_key(m.version, at + <uint64_t>i if left else at - <uint64_t>i))
            cache.read_ahead(ahead)
        value = cache.get(ik)
        if value is None:
            return False  # not the list this meta describes: the dispatcher's path
        shard = self.slot_shards[self._slot_index()]
        items = [(ik, None)]
        if m.count == 1:
            items.append((mk, None))
            self._commit_key(cache, shard, mk, items, -1, m.exp)
        else:
            if left:
                _put_u64(hb, head + 1)
                meta = coll_meta_of(T_LIST, m.enc, m.exp, m.version, m.count - 1, hb, 8)
            else:
                meta = coll_meta_of(T_LIST, m.enc, m.exp, m.version, m.count - 1, m.extra, m.xn)
            items.append((mk, meta))
            self._commit_key(cache, shard, mk, items, 0, 0)
        self.out.bulk(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
        return True

    cdef bint _sadd(self) except -1:
        """SADD key member, one member (storage/sets.sadd)."""
        cdef CollMeta m
        cdef uint64_t version
        cdef long long v
        cdef bint converted
        cdef const char *extra
        cdef Py_ssize_t xn
        cdef KeyCache cache = self._cache_of(1)
        if cache is None or not self.writes_ok:
            return False
        shard = self.slot_shards[self._slot_index()]
        items = []
        mk = self._coll_write(cache, shard, T_SET, &m, items, &version)
        if mk is None:
            return False
        dk = self._elem_key(version, self.args[2].p, self.args[2].n)
        if m.kind == K_LIVE:
            if cache.get(dk) is not None:
                self._touch(cache, mk)
                self.out.raw(b":0\r\n", 4)
                return True
        extra = m.extra
        xn = m.xn
        converted = xn == 1 and extra[0] == 1  # sets.CONVERTED
        if not converted and (m.count + 1 > self.max_intset
                              or not _str2ll(self.args[2].p, self.args[2].n, &v)):
            extra = b"\x01"
            xn = 1
        items.append((dk, b""))
        items.append((mk, coll_meta_of(T_SET, m.enc, m.exp, version, m.count + 1, extra, xn)))
        self._commit_key(cache, shard, mk, items, 1 if m.kind == K_ABSENT else 0, 0)
        self.out.raw(b":1\r\n", 4)
        return True

    cdef bint _hset(self) except -1:
        """HSET key field value, one pair (storage/hashes.hset)."""
        cdef CollMeta m
        cdef uint64_t version
        cdef bint added, converted, convert
        cdef const char *extra
        cdef Py_ssize_t xn
        cdef KeyCache cache = self._cache_of(1)
        if cache is None or not self.writes_ok:
            return False
        shard = self.slot_shards[self._slot_index()]
        items = []
        mk = self._coll_write(cache, shard, T_HASH, &m, items, &version)
        if mk is None:
            return False
        dk = self._elem_key(version, self.args[2].p, self.args[2].n)
        added = m.kind == K_ABSENT or cache.get(dk) is None
        extra = m.extra
        xn = m.xn
        converted = xn == 1 and extra[0] == 1  # hashes.CONVERTED
        convert = not converted and (
            self.args[2].n > self.hash_max_value or self.args[3].n > self.hash_max_value
            or m.count + added > self.hash_max_entries)
        if convert:
            extra = b"\x01"
            xn = 1
        items.append((dk, PyBytes_FromStringAndSize(self.args[3].p, self.args[3].n)))
        if added or convert or m.kind == K_ABSENT:
            items.append((mk, coll_meta_of(T_HASH, m.enc, m.exp, version, m.count + added,
                                           extra, xn)))
        self._commit_key(cache, shard, mk, items, 1 if m.kind == K_ABSENT else 0, 0)
        self.out.raw(b":1\r\n" if added else b":0\r\n", 4)
        return True

    cdef bytes _zkey(self, uint64_t version, char tag, uint64_t order, bint with_order):
        """A zset's "m" <member> or "s" <score order> <member> record key (member: args[3])."""
        cdef Py_ssize_t n = self.args[3].n, off = 1
        cdef char *b = <char *>PyMem_Malloc(9 + n)
        if b == NULL:
            raise MemoryError()
        try:
            b[0] = tag
            if with_order:
                _put_u64(b + 1, order)
                off = 9
            memcpy(b + off, self.args[3].p, n)
            return self._elem_key(version, b, off + n)
        finally:
            PyMem_Free(b)

    cdef bint _zadd(self) except -1:
        """ZADD key score member, one pair with an integer score and no options
        (storage/zsets.zadd; other scores are parsed by the dispatcher's strtod rules)."""
        cdef CollMeta m
        cdef uint64_t version
        cdef long long iv
        cdef double score, cur
        cdef bint skiplist
        cdef char sb[8]
        cdef KeyCache cache = self._cache_of(1)
        if cache is None or not self.writes_ok:
            return False
        if not _score_int(self.args[2].p, self.args[2].n, &iv):
            return False
        score = <double>iv
        shard = self.slot_shards[self._slot_index()]
        items = []
        mk = self._coll_write(cache, shard, T_ZSET, &m, items, &version)
        if mk is None:
            return False
        mem_key = self._zkey(version, 109, 0, False)  # 'm'
        if m.kind == K_ABSENT:
            skiplist = self.zset_max_entries == 0 or self.zset_max_value < self.args[3].n
        else:
            skiplist = m.xn >= 1 and m.extra[0] == 1  # zsets.SKIPLIST
            raw = cache.get(mem_key)
            if raw is not None:
                if PyBytes_GET_SIZE(raw) != 8:
                    return False
                cur = <double>0.0
                iv = <long long>_get_u64(<const uint8_t *>PyBytes_AS_STRING(raw))
                memcpy(&cur, &iv, 8)
                if score != cur:
                    # updated: the score index moves (the score is an integer: not -0.0)
                    _put_u64(sb, _score_bits(score))
                    items.append((self._zkey(version, 115, _score_order(cur), True), None))
                    items.append((mem_key, PyBytes_FromStringAndSize(sb, 8)))
                    items.append((self._zkey(version, 115, _score_order(score), True), b""))
                    # (the meta stays as it is: same count, same encoding)
                    self._commit_key(cache, shard, mk, items, 0, 0)
                else:
                    self._touch(cache, mk)
                self.out.raw(b":0\r\n", 4)
                return True
        if not skiplist and (m.count + 1 > self.zset_max_entries
                             or self.args[3].n > self.zset_max_value):
            skiplist = True
        _put_u64(sb, _score_bits(score))
        items.append((mem_key, PyBytes_FromStringAndSize(sb, 8)))
        items.append((self._zkey(version, 115, _score_order(score), True), b""))
        items.append((mk, coll_meta_of(T_ZSET, 0, m.exp, version, m.count + 1,
                                       b"\x01" if skiplist else b"", 1 if skiplist else 0)))
        self._commit_key(cache, shard, mk, items, 1 if m.kind == K_ABSENT else 0, 0)
        self.out.raw(b":1\r\n", 4)
        return True

    cdef void _commit(self, object shard, list items) except *:
        """Shard.commit_items: its common case (a group of this turn open) without Python
        frames (BinlogTail.stage_group, which commit_items runs too)."""
        cdef BinlogTail binlog
        group = shard._group
        if group is None or not shard.group_commit:
            shard.commit_items(items, (self.dbindex, self._argv()))
            return
        binlog = shard.binlog
        binlog.stage_group_args(self.dbindex, self.args, self.nargs, items,
                                group, <KeyCache>shard.cache)

    cdef Py_ssize_t _slot_index(self):
        if self.nshards == 1:
            return 0
        return slot_of(<const uint8_t *>self.args[1].p, self.args[1].n) % self.nshards

    cdef list _argv_full(self):
        cdef Py_ssize_t i
        return [PyBytes_FromStringAndSize(self.args[i].p, self.args[i].n)
                for i in range(self.nargs)]

    cdef list _shortened(self, list argv):
        cdef Py_ssize_t i
        for i in range(self.nargs):
            if self.args[i].n > BINLOG_ARG_MAX:
                return self.shorten(argv)
        return argv

    cdef list _argv(self):
        """The command's arguments for its binlog record (long ones shortened)."""
        return self._shortened(self._argv_full())
