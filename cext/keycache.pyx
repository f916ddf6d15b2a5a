# cython: language_level=3
"""A shard's reads: the turn's overlay, then a bounded cache of records, then RocksDB.

A KeyCache is what Shard.get is: calling it with a key (or a list of keys, RocksDB's
multi-get) returns the record's value or None. It keeps the records read or written lately,
the absent ones too (None: known not to exist), so a GET of a cached key and a SET of a
cached or known-absent key do not ask RocksDB. The study behind it: a RocksDB point read
costs 1-3 us once the memtable is large, more than the rest of a GET.

What is kept: records read or written lately, and the absence of keys the command core's
reads (GET, EXISTS, ...) did not find; the reads that precede writes (Shard.get, the core's
SET) do not remember an absence (the write that follows records the key). A read after a
write (GET after SET) is served from memory; a bulk load cycles through the cache. Entries
are not tracked by the garbage collector (they hold bytes only): a cache of a million
records adds nothing to a full collection.

Coherence: the cache holds what RocksDB holds plus the pending group. The shard calls
written(items) after every successful direct RocksDB write (a command's batch, a master's
records) with the items it wrote; a range delete clears the cache. A group's items are
staged (stage()) as the commands run: into the cache itself, so reads see them and the
write costs one dict store, or (a value too long to cache, no cache at all) into `overlay`,
which is read first. The current generation is not rotated while a group is
pending, so a staged record cannot be dropped before RocksDB has it. Once the group is in
RocksDB, committed() ends the staging; a failed group write calls failed(), which empties
the cache, so nothing of it stays visible.

Bounds: two generations, as the access table does. Records go into the current one; when it
holds half the budget in bytes, it becomes the old one and the old one is dropped. A hit in
the old generation moves the record to the current one. So the cache holds at most about
`budget` bytes (keys, values and a fixed per-record overhead), keeps what was used within
the last half budget of traffic, and costs one dict store per miss or write: no per-record
LRU links. Values longer than max_value are not cached (their key is dropped on write).
"""

cimport cython
from cpython.bytes cimport PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem, PyDict_DelItem, PyDict_Contains
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM

# What one cached record costs besides its bytes: two bytes objects' headers (33 bytes
# each), its entry object (32) and a dict slot with its index (~40 bytes), rounded up.
DEF RECORD_OVERHEAD = 144


@cython.no_gc
cdef class CacheEntry:
    """A cached record's value (None: known absent) and the last access to it that the
    command core recorded (unix ms, 0: none, -1: an entry made for a value too long to
    cache, in no dict). OBJECT IDLETIME reads it beside the access table, so a GET records
    its access without a second dict."""


cdef class KeyCache:
    # Attributes: see cext/pikadb/_keycache.pxd.

    def __init__(self, rget, Py_ssize_t budget=0, Py_ssize_t max_value=512):
        self.rget = rget
        self.overlay = None
        self.staging = False
        self.rotate_due = False
        self.cur = {}
        self.old = {}
        self.used = 0
        self.old_used = 0
        self.budget = budget if budget > 0 else 0
        self.max_value = max_value
        self.hits = 0
        self.misses = 0

    # ---- reads ----

    def __call__(self, key):
        if type(key) is list:
            return self._get_many(key)
        return self.get(key)

    cpdef object get(self, bytes key):
        cdef PyObject *v
        if self.overlay is not None:
            v = PyDict_GetItem(self.overlay, key)
            if v != NULL:
                return <object>v
        if self.budget == 0:
            return self.rget(key)
        return self.entry(key, False).value

    cdef CacheEntry entry(self, bytes key, bint keep_absent=True):
        """key's entry, read from RocksDB first if needed (the cache must have a budget;
        the overlay is not looked at: callers check it first). keep_absent False: a key
        RocksDB does not have is not remembered (a write is about to create it: loading
        new keys must not fill the cache with records nobody read)."""
        cdef PyObject *v = PyDict_GetItem(self.cur, key)
        cdef CacheEntry e
        if v != NULL:
            self.hits += 1
            return <CacheEntry>v
        v = PyDict_GetItem(self.old, key)
        if v != NULL:
            self.hits += 1
            e = <CacheEntry>v
            self._keep(key, e)
            return e
        self.misses += 1
        value = self.rget(key)
        if value is None and not keep_absent:
            e = CacheEntry.__new__(CacheEntry)
            e.atime = -1  # in no dict
            return e
        return self._store(key, value)

    cpdef bint touch(self, bytes key, long long now):
        """Record an access to a cached key (OBJECT IDLETIME); False if it is not cached."""
        cdef PyObject *v
        if self.budget == 0:
            return False
        v = PyDict_GetItem(self.cur, key)
        if v == NULL:
            return False
        (<CacheEntry>v).atime = now
        return True

    cpdef long long atime(self, bytes key):
        """The last access recorded in key's entry (0: none)."""
        cdef PyObject *v = PyDict_GetItem(self.cur, key)
        if v == NULL:
            v = PyDict_GetItem(self.old, key)
        return (<CacheEntry>v).atime if v != NULL else 0

    cdef list _get_many(self, list keys):
        cdef Py_ssize_t i, n = PyList_GET_SIZE(keys)
        cdef list out = [None] * n
        cdef list miss_at = []
        cdef list miss_keys = []
        cdef PyObject *v
        cdef object k
        for i in range(n):
            k = <object>PyList_GET_ITEM(keys, i)
            if self.overlay is not None:
                v = PyDict_GetItem(self.overlay, k)
                if v != NULL:
                    out[i] = <object>v
                    continue
            if self.budget:
                v = PyDict_GetItem(self.cur, k)
                if v == NULL:
                    v = PyDict_GetItem(self.old, k)
                    if v != NULL:
                        self._keep(k, <CacheEntry>v)
                if v != NULL:
                    self.hits += 1
                    out[i] = (<CacheEntry>v).value
                    continue
            miss_at.append(i)
            miss_keys.append(k)
        if miss_keys:
            got = self.rget(miss_keys)
            for i in range(len(miss_at)):
                out[miss_at[i]] = got[i]
                if self.budget:
                    self.misses += 1
                    if got[i] is not None:
                        self._store(miss_keys[i], got[i])
        return out

    cdef bint has(self, object key) noexcept:
        """Whether a read of key would be answered from memory (the overlay or the cache)."""
        if self.overlay is not None and PyDict_Contains(self.overlay, key) == 1:
            return True
        if self.budget == 0:
            return False
        return PyDict_Contains(self.cur, key) == 1 or PyDict_Contains(self.old, key) == 1

    cpdef read_ahead(self, list keys):
        """Records about to be read one after the other (a list's next elements): those not
        in memory come from RocksDB in one multi-get and are kept (values only; an absent
        record is not remembered). A pop of a list that outgrew the cache reads its
        elements 64 at a time instead of one RocksDB lookup each."""
        cdef Py_ssize_t i, n = PyList_GET_SIZE(keys)
        cdef list miss = []
        if self.budget == 0:
            return
        for i in range(n):
            k = <object>PyList_GET_ITEM(keys, i)
            if not self.has(k):
                miss.append(k)
        if not miss:
            return
        got = self.rget(miss)
        self.misses += len(miss)
        for i in range(len(miss)):
            v = got[i]
            if v is not None:
                self._store(miss[i], v)

    # ---- what RocksDB now holds ----

    cdef inline Py_ssize_t _size(self, object key, object value):
        cdef Py_ssize_t size = PyBytes_GET_SIZE(key) + RECORD_OVERHEAD
        if value is not None:
            size += PyBytes_GET_SIZE(value)
        return size

    cdef void _keep(self, object key, CacheEntry e):
        """A hit in the old generation: the entry (and its access time) moves on into the
        current one."""
        PyDict_SetItem(self.cur, key, e)
        self._grew(self._size(key, e.value))

    cdef CacheEntry _store(self, object key, object value):
        """The record key now holds value: its entry, updated or new (None: not kept, the
        value is too long)."""
        cdef PyObject *before
        cdef CacheEntry e
        cdef Py_ssize_t size
        if value is not None and PyBytes_GET_SIZE(value) > self.max_value:
            if PyDict_Contains(self.cur, key):
                PyDict_DelItem(self.cur, key)
            if PyDict_Contains(self.old, key):
                PyDict_DelItem(self.old, key)
            e = CacheEntry.__new__(CacheEntry)
            e.value = value
            e.atime = -1  # for the caller only: not in the cache
            return e
        before = PyDict_GetItem(self.cur, key)
        if before != NULL:
            # A record replaced in place: only the value's size changes (SET of a hot key
            # must not count its key again on every write, or the cache would rotate, and
            # forget, far sooner than its budget says).
            e = <CacheEntry>before
            size = self._size(key, value) - self._size(key, e.value)
            e.value = value
            self._grew(size)
            return e
        before = PyDict_GetItem(self.old, key)
        if before != NULL:
            e = <CacheEntry>before  # keeps its access time
        else:
            e = CacheEntry.__new__(CacheEntry)
        e.value = value
        PyDict_SetItem(self.cur, key, e)
        self._grew(self._size(key, value))
        return e

    cdef inline void _grew(self, Py_ssize_t size):
        self.used += size
        if self.used * 2 > self.budget:
            if self.staging:
                self.rotate_due = True
            else:
                self._rotate()

    cdef void _rotate(self):
        self.old = self.cur
        self.old_used = self.used
        self.cur = {}
        self.used = 0
        self.rotate_due = False

    # ---- a pending group ----

    cpdef stage(self, list items):
        """A group's (key, value | None) items, not in RocksDB yet (no range deletes)."""
        cdef Py_ssize_t i, n = PyList_GET_SIZE(items)
        cdef object item, k, v
        self.staging = True
        for i in range(n):
            item = <object>PyList_GET_ITEM(items, i)
            k = <object>PyTuple_GET_ITEM(item, 0)
            v = <object>PyTuple_GET_ITEM(item, 1)
            self.stage_one(k, v)

    cdef void stage_one(self, object k, object v):
        if (self.budget and (v is None or PyBytes_GET_SIZE(v) <= self.max_value)
                and (self.overlay is None or not PyDict_Contains(self.overlay, k))):
            self._store(k, v)
            return
        if self.overlay is None:
            self.overlay = {}
        PyDict_SetItem(self.overlay, k, v)
        if self.budget:  # an older, cached value of k must not outlive the group
            if PyDict_Contains(self.cur, k):
                PyDict_DelItem(self.cur, k)
            if PyDict_Contains(self.old, k):
                PyDict_DelItem(self.old, k)

    cpdef committed(self):
        """The staged group is in RocksDB."""
        cdef dict overlay = self.overlay
        self.overlay = None
        self.staging = False
        if overlay is not None and self.budget:
            for k, v in overlay.items():
                self._store(k, v)
        if self.rotate_due:
            self._rotate()

    cpdef failed(self):
        """The staged group's write failed: forget everything (the cache holds staged
        records RocksDB never got)."""
        self.overlay = None
        self.staging = False
        self.clear()

    cpdef written(self, items):
        """Records now in RocksDB: a list of (key, value | None | (end,)) items, or a dict
        key -> value | None (a group's overlay)."""
        if self.budget == 0:
            return
        if type(items) is dict:
            for k, v in (<dict>items).items():
                self._store(k, v)
            return
        self._written(items, False)

    cpdef refreshed(self, list items):
        """Records a master's stream just wrote to RocksDB: cached keys take their new
        values, keys not cached stay out (a replica caches what its clients read, not the
        whole stream: storing every record cost a replica a fifth of its time, in cache
        misses on entries nobody reads)."""
        if self.budget:
            self._written(items, True)

    cdef void _written(self, list items, bint cached_only) except *:
        cdef Py_ssize_t i
        cdef object item, k, v
        for i in range(PyList_GET_SIZE(items)):
            item = <object>PyList_GET_ITEM(items, i)
            v = <object>PyTuple_GET_ITEM(item, 1)
            if type(v) is tuple:
                self.clear()  # a range delete
                continue
            k = <object>PyTuple_GET_ITEM(item, 0)
            if not cached_only or PyDict_Contains(self.cur, k) or PyDict_Contains(self.old, k):
                self._store(k, v)

    cpdef clear(self):
        self.cur = {}
        self.old = {}
        self.used = 0
        self.old_used = 0
        self.rotate_due = False

    def resize(self, Py_ssize_t budget):
        self.budget = budget if budget > 0 else 0
        self.clear()

    # ---- INFO ----

    def entry_of(self, bytes key):
        """(value, access time) of a cached key, None if it is not cached (tests)."""
        cdef PyObject *v = PyDict_GetItem(self.cur, key)
        if v == NULL:
            v = PyDict_GetItem(self.old, key)
        if v == NULL:
            return None
        return ((<CacheEntry>v).value, (<CacheEntry>v).atime)

    @property
    def records(self):
        return len(self.cur) + len(self.old)

    @property
    def used_bytes(self):
        """Estimated bytes held (both generations; a record in both counts twice)."""
        return self.used + self.old_used
