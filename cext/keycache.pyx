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
write (GET after SET) is served from memory; a bulk load cycles through the cache. Records
are C memory holding bytes only, unseen by the garbage collector: a cache of a million
records adds nothing to a full collection.

Coherence: the cache holds what RocksDB holds plus the pending group. The shard calls
written(items) after every successful direct RocksDB write (a command's batch, a master's
records) with the items it wrote; a range delete clears the cache. A group's items are
staged (stage()) as the commands run: into the cache itself, so reads see them and the
write costs one table store, or (a value too long to cache, no cache at all) into `overlay`,
which is read first. The current generation is not rotated while a group is
pending, so a staged record cannot be dropped before RocksDB has it. Once the group is in
RocksDB, committed() ends the staging; a failed group write calls failed(), which empties
the cache, so nothing of it stays visible.

Bounds: two generations, as the access table does. Records go into the current one; when it
holds half the budget in bytes, it becomes the old one and the old one is dropped. A hit in
the old generation moves the record to the current one. So the cache holds at most about
`budget` bytes (keys, values and a fixed per-record overhead; for a while after a rotation
also the dropped generation the sweep is freeing, see Layout), keeps what was used within
the last half budget of traffic, and costs one table store per miss or write: no per-record
LRU links. Values longer than max_value are not cached (their key is dropped on write).

Layout: an open-addressing table (linear probing) of 16-byte slots, each holding the key's
hash, its generation and a pointer to a record block that holds the key inline and a
reference to the value. A hit costs two cache misses (the slot, the block) where a dict of
entry objects cost five (index, entry, key object, entry object, value), and at -P16 that
lookup was the largest single cost of a GET or INCR after RocksDB's memtable. A rotation
only renumbers the generations: the records of the dropped one are dead (lookups skip and
free them) and a sweep frees the rest a few slots per store, so no call pays for freeing a
generation at once (freeing ~180,000 records of a 64 MB cache in one call took ~30 ms).
"""


from libc.stdint cimport uint32_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcmp, memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Contains, PyDict_GetItem, PyDict_SetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject, PyObject_Hash
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_GET_ITEM

# What one cached record costs besides its key and value bytes: the record block and its
# allocator header (~48), two to four table slots (32-64) and the value's bytes header (33).
DEF RECORD_OVERHEAD = 144
DEF MIN_SLOTS = 64
# Slots the sweep of a dropped generation looks at per store: a rotation comes after at
# least budget / 2 / RECORD_OVERHEAD stores, and the table has at most 8 slots per record
# of that budget, so the sweep ends well before the next rotation.
DEF SWEEP_STEP = 32
DEF SWEEP_AT_ONCE = 8192


cdef inline Py_ssize_t _size(Rec *rec) noexcept:
    cdef Py_ssize_t size = rec.klen + RECORD_OVERHEAD
    if rec.value != NULL:
        size += PyBytes_GET_SIZE(<object>rec.value)
    return size


cdef class KeyCache:
    # Attributes: see cext/pikadb/_keycache.pxd.

    def __cinit__(self):
        self.slots = <Slot *>calloc(MIN_SLOTS, sizeof(Slot))
        if self.slots == NULL:
            raise MemoryError()
        self.mask = MIN_SLOTS - 1

    def __init__(self, rget, Py_ssize_t budget=0, Py_ssize_t max_value=512):
        self.rget = rget
        self.overlay = None
        self.staging = False
        self.rotate_due = False
        self.budget = budget if budget > 0 else 0
        self.max_value = max_value
        self.hits = 0
        self.misses = 0

    def __dealloc__(self):
        self._free_all()
        free(self.slots)

    # ---- the table ----

    cdef Py_ssize_t _find(self, object key, Py_hash_t h) noexcept:
        """key's slot, or -1 - (the empty slot where it would go)."""
        cdef uint32_t h32 = <uint32_t>h
        cdef Py_ssize_t i = h32 & self.mask
        cdef const char *kp = PyBytes_AS_STRING(key)
        cdef Py_ssize_t kn = PyBytes_GET_SIZE(key)
        cdef Slot *s
        while True:
            s = &self.slots[i]
            if s.rec == NULL:
                return -1 - i
            if s.hash == h32 and s.rec.klen == kn and memcmp(s.rec.key, kp, kn) == 0:
                if self._dead(s.gen):  # of a dropped generation: gone, free it now
                    self._drop_slot(i)
                    return self._find(key, h)
                return i
            i = (i + 1) & self.mask

    cdef inline bint _dead(self, uint32_t gen) noexcept:
        return gen != self.gen and gen != self.gen - 1

    cdef void _drop_slot(self, Py_ssize_t i) noexcept:
        """Free slot i's record (of any generation) and empty the slot."""
        cdef Rec *rec = self.slots[i].rec
        cdef uint32_t gen = self.slots[i].gen
        if gen == self.gen:
            self.used -= _size(rec)
        elif gen == self.gen - 1:
            self.old_used -= _size(rec)
        else:  # (one a deletion shifted behind a finished sweep is no longer counted)
            self.dead_used = max(0, self.dead_used - _size(rec))
        self._free_rec(rec)
        self.count -= 1
        self._delete_slot(i)

    cdef void _sweep(self, Py_ssize_t steps) noexcept:
        """Free the dropped generation's records in the next `steps` slots."""
        cdef Py_ssize_t i = self.sweep_at
        while steps > 0 and i <= self.mask:
            steps -= 1
            if self.slots[i].rec != NULL and self._dead(self.slots[i].gen):
                self._drop_slot(i)  # slot i now holds what was probed past it: look again
            else:
                i += 1
        self.sweep_at = i
        if i > self.mask:
            self.sweeping = False
            self.dead_used = 0  # what a deletion shifted behind the sweep: freed when read

    cdef void _free_rec(self, Rec *rec) noexcept:
        Py_XDECREF(rec.value)
        free(rec)
        self.frees += 1

    cdef void _free_all(self) noexcept:
        cdef Py_ssize_t i
        for i in range(self.mask + 1):
            if self.slots[i].rec != NULL:
                self._free_rec(self.slots[i].rec)
                self.slots[i].rec = NULL
        self.count = 0
        self.sweeping = False
        self.dead_used = 0

    cdef int _rebuild(self, Py_ssize_t capacity) except -1:
        """The table with `capacity` slots, without the dropped generation's records."""
        cdef Slot *fresh = <Slot *>calloc(capacity, sizeof(Slot))
        cdef Slot *s
        cdef Py_ssize_t j, i, mask = capacity - 1
        if fresh == NULL:
            raise MemoryError()
        for j in range(self.mask + 1):
            s = &self.slots[j]
            if s.rec == NULL:
                continue
            if self._dead(s.gen):
                self._free_rec(s.rec)
                self.count -= 1
                continue
            i = s.hash & mask
            while fresh[i].rec != NULL:
                i = (i + 1) & mask
            fresh[i] = s[0]
        free(self.slots)
        self.slots = fresh
        self.mask = mask
        self.sweeping = False
        self.dead_used = 0
        return 0

    cdef void _delete_slot(self, Py_ssize_t i) noexcept:
        """Empty slot i, shifting back the records probed past it (no tombstones)."""
        cdef Py_ssize_t j = i, k, mask = self.mask
        while True:
            j = (j + 1) & mask
            if self.slots[j].rec == NULL:
                break
            k = self.slots[j].hash & mask
            # The record in j may move to i unless its home k lies cyclically in (i, j].
            if i <= j:
                if i < k <= j:
                    continue
            elif k > i or k <= j:
                continue
            self.slots[i] = self.slots[j]
            i = j
        self.slots[i].rec = NULL

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
        return self.read(key, False)

    cdef object read(self, bytes key, bint keep_absent=True):
        """key's record, read from RocksDB first if needed (the cache must have a budget;
        the overlay is not looked at: callers check it first); `last` is its cache record
        (NULL: not kept). keep_absent False: a key RocksDB does not have is not remembered
        (a write is about to create it: loading new keys must not fill the cache with
        records nobody read)."""
        cdef Py_ssize_t i = self._find(key, PyObject_Hash(key))
        cdef Rec *rec
        if i >= 0:
            self.hits += 1
            rec = self.slots[i].rec
            if self.slots[i].gen != self.gen:
                self._move_to_current(i)
            self.last = rec
            return <object>rec.value if rec.value != NULL else None
        self.misses += 1
        value = self.rget(key)
        if value is None and not keep_absent:
            self.last = NULL
            return None
        self.last = self._store(key, value)
        return value

    cpdef bint touch(self, bytes key, long long now):
        """Record an access to a cached key (OBJECT IDLETIME); False if it is not cached."""
        cdef Py_ssize_t i
        if self.budget == 0:
            return False
        i = self._find(key, PyObject_Hash(key))
        if i < 0:
            return False
        self.slots[i].rec.atime = now
        return True

    cpdef long long atime(self, bytes key):
        """The last access recorded in key's record (0: none)."""
        cdef Py_ssize_t i = self._find(key, PyObject_Hash(key))
        return self.slots[i].rec.atime if i >= 0 else 0

    cdef list _get_many(self, list keys):
        cdef Py_ssize_t i, j, n = PyList_GET_SIZE(keys)
        cdef list out = [None] * n
        cdef list miss_at = []
        cdef list miss_keys = []
        cdef PyObject *v
        cdef Rec *rec
        cdef object k
        for i in range(n):
            k = <object>PyList_GET_ITEM(keys, i)
            if self.overlay is not None:
                v = PyDict_GetItem(self.overlay, k)
                if v != NULL:
                    out[i] = <object>v
                    continue
            if self.budget:
                j = self._find(k, PyObject_Hash(k))
                if j >= 0:
                    self.hits += 1
                    rec = self.slots[j].rec
                    if self.slots[j].gen != self.gen:
                        self._move_to_current(j)
                    if rec.value != NULL:
                        out[i] = <object>rec.value
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
        return self._find(key, PyObject_Hash(key)) >= 0

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

    cdef int _move_to_current(self, Py_ssize_t i) except -1:
        """A hit in the old generation: the record (and its access time) moves on into the
        current one."""
        cdef Py_ssize_t size = _size(self.slots[i].rec)
        self.slots[i].gen = self.gen
        self.old_used -= size
        return self._grew(size)

    cdef Rec *_store(self, object key, object value) except? NULL:
        """The record key now holds value (None: absent): its cache record, updated or new
        (NULL: not kept, the value is too long)."""
        cdef Py_hash_t h
        cdef Py_ssize_t i, before, kn
        cdef Rec *rec
        cdef Slot *s
        if value is not None and PyBytes_GET_SIZE(value) > self.max_value:
            self._remove(key)
            return NULL
        h = PyObject_Hash(key)
        i = self._find(key, h)
        if i >= 0:
            # A record replaced in place: only the value's size changes (SET of a hot key
            # must not count its key again on every write, or the cache would rotate, and
            # forget, far sooner than its budget says).
            s = &self.slots[i]
            rec = s.rec
            before = _size(rec)
            Py_XDECREF(rec.value)
            rec.value = NULL
            if value is not None:
                Py_INCREF(value)
                rec.value = <PyObject *>value
            if s.gen == self.gen:
                self._grew(_size(rec) - before)
            else:
                s.gen = self.gen  # keeps its access time
                self.old_used -= before
                self._grew(_size(rec))
            return rec
        if (self.count + 1) * 2 > self.mask + 1:
            self._rebuild((self.mask + 1) * 2)
            i = self._find(key, h)
        kn = PyBytes_GET_SIZE(key)
        rec = <Rec *>malloc(sizeof(Rec) + kn)
        if rec == NULL:
            raise MemoryError()
        rec.value = NULL
        if value is not None:
            Py_INCREF(value)
            rec.value = <PyObject *>value
        rec.atime = 0
        rec.klen = kn
        memcpy(rec.key, PyBytes_AS_STRING(key), kn)
        s = &self.slots[-1 - i]
        s.rec = rec
        s.hash = <uint32_t>h
        s.gen = self.gen
        self.count += 1
        self._grew(_size(rec))
        return rec

    cdef void _remove(self, object key) noexcept:
        cdef Py_ssize_t i = self._find(key, PyObject_Hash(key))
        if i >= 0:
            self._drop_slot(i)

    cdef int _grew(self, Py_ssize_t size) except -1:
        if self.sweeping:
            self._sweep(SWEEP_STEP)
        self.used += size
        if self.used * 2 > self.budget:
            if self.staging:
                self.rotate_due = True
            else:
                self._rotate()
        return 0

    cdef int _rotate(self) except -1:
        """The current generation becomes the old one; the old one is dropped (its records
        are dead: freed by the sweep, or by the lookup that meets one)."""
        if self.sweeping:
            self._sweep(self.mask + 1 - self.sweep_at + self.count)  # the previous one, to its end
        self.gen += 1
        self.dead_used = self.old_used
        self.old_used = self.used
        self.used = 0
        self.sweep_at = 0
        self.sweeping = self.dead_used > 0
        self.rotate_due = False
        if self.sweeping and self.mask < SWEEP_AT_ONCE:
            self._sweep(self.mask + 1 + self.count)  # a small table: at once, in microseconds
        return 0

    # ---- a pending group ----

    cpdef stage(self, list items):
        """A group's (key, value | None) items, not in RocksDB yet (no range deletes)."""
        cdef Py_ssize_t i, n = PyList_GET_SIZE(items)
        cdef object item
        self.staging = True
        for i in range(n):
            item = <object>PyList_GET_ITEM(items, i)
            self.stage_one(<object>PyTuple_GET_ITEM(item, 0), <object>PyTuple_GET_ITEM(item, 1))

    cdef int stage_one(self, object k, object v) except -1:
        if (self.budget and (v is None or PyBytes_GET_SIZE(v) <= self.max_value)
                and (self.overlay is None or not PyDict_Contains(self.overlay, k))):
            self._store(k, v)
            return 0
        if self.overlay is None:
            self.overlay = {}
        PyDict_SetItem(self.overlay, k, v)
        if self.budget:  # an older, cached value of k must not outlive the group
            self._remove(k)
        return 0

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

    cdef int _written(self, list items, bint cached_only) except -1:
        cdef Py_ssize_t i
        cdef object item, k, v
        for i in range(PyList_GET_SIZE(items)):
            item = <object>PyList_GET_ITEM(items, i)
            v = <object>PyTuple_GET_ITEM(item, 1)
            if type(v) is tuple:
                self.clear()  # a range delete
                continue
            k = <object>PyTuple_GET_ITEM(item, 0)
            if not cached_only or self._find(k, PyObject_Hash(k)) >= 0:
                self._store(k, v)
        return 0

    cpdef clear(self):
        cdef Slot *fresh
        self._free_all()
        if self.mask + 1 > MIN_SLOTS:
            fresh = <Slot *>calloc(MIN_SLOTS, sizeof(Slot))
            if fresh != NULL:
                free(self.slots)
                self.slots = fresh
                self.mask = MIN_SLOTS - 1
        self.used = 0
        self.old_used = 0
        self.rotate_due = False
        self.last = NULL

    def resize(self, Py_ssize_t budget):
        self.budget = budget if budget > 0 else 0
        self.clear()

    # ---- INFO ----

    def entry_of(self, bytes key):
        """(value, access time) of a cached key, None if it is not cached (tests)."""
        cdef Py_ssize_t i = self._find(key, PyObject_Hash(key))
        cdef Rec *rec
        if i < 0:
            return None
        rec = self.slots[i].rec
        return (<object>rec.value if rec.value != NULL else None, rec.atime)

    @property
    def records(self):
        return self.count

    @property
    def used_bytes(self):
        """Estimated bytes held (both generations, and the dropped one's records the sweep
        has not freed yet)."""
        return self.used + self.old_used + self.dead_used
