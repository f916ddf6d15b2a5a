# cython: language_level=3
"""A shard's reads: the turn's overlay, then a bounded cache of records, then RocksDB.

A KeyCache is what Shard.get is: calling it with a key (or a list of keys, RocksDB's
multi-get) returns the record's value or None. It keeps the records read or written lately,
the absent ones too (None: known not to exist), so a GET of a cached key and a SET of a
cached or known-absent key do not ask RocksDB. The study behind it: a RocksDB point read
costs 1-3 us once the memtable is large, more than the rest of a GET.

Coherence: the cache mirrors what RocksDB holds. The shard calls written(items) after every
successful RocksDB write (a command's batch, a group, a master's records) with the items it
wrote; a range delete clears the cache. While a group is pending, `overlay` (the group's
items, not yet in RocksDB) is read first; the shard hands the overlay to written() once the
group is in RocksDB, and drops it on a failed write, so a failed write leaves nothing behind.

Bounds: two generations, as the access table does. Records go into the current one; when it
holds half the budget in bytes, it becomes the old one and the old one is dropped. A hit in
the old generation moves the record to the current one. So the cache holds at most about
`budget` bytes (keys, values and a fixed per-record overhead), keeps what was used within
the last half budget of traffic, and costs one dict store per miss or write: no per-record
LRU links. Values longer than max_value are not cached (their key is dropped on write).
"""

from cpython.bytes cimport PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem, PyDict_DelItem, PyDict_Contains
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM

# What one cached record costs besides its bytes: two bytes objects' headers (33 bytes
# each) and a dict slot with its index (~40 bytes), rounded up.
DEF RECORD_OVERHEAD = 112


cdef class KeyCache:
    # Attributes: see cext/pikadb/_keycache.pxd.

    def __init__(self, rget, Py_ssize_t budget=0, Py_ssize_t max_value=512):
        self.rget = rget
        self.overlay = None
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
        v = PyDict_GetItem(self.cur, key)
        if v != NULL:
            self.hits += 1
            return <object>v
        v = PyDict_GetItem(self.old, key)
        if v != NULL:
            self.hits += 1
            value = <object>v
            self._store(key, value)
            return value
        self.misses += 1
        value = self.rget(key)
        self._store(key, value)
        return value

    cdef list _get_many(self, list keys):
        cdef Py_ssize_t i, n = PyList_GET_SIZE(keys)
        cdef list out = [None] * n
        cdef list miss_at = []
        cdef list miss_keys = []
        cdef PyObject *v
        cdef object k
        for i in range(n):
            k = <object>PyList_GET_ITEM(keys, i)
            v = NULL
            if self.overlay is not None:
                v = PyDict_GetItem(self.overlay, k)
            if v == NULL and self.budget:
                v = PyDict_GetItem(self.cur, k)
                if v == NULL:
                    v = PyDict_GetItem(self.old, k)
                    if v != NULL:
                        self._store(k, <object>v)
                if v != NULL:
                    self.hits += 1
            if v != NULL:
                out[i] = <object>v
            else:
                miss_at.append(i)
                miss_keys.append(k)
        if miss_keys:
            got = self.rget(miss_keys)
            for i in range(len(miss_at)):
                out[miss_at[i]] = got[i]
                if self.budget:
                    self.misses += 1
                    self._store(miss_keys[i], got[i])
        return out

    # ---- what RocksDB now holds ----

    cdef void _store(self, object key, object value):
        cdef Py_ssize_t size = PyBytes_GET_SIZE(key) + RECORD_OVERHEAD
        if value is not None:
            if PyBytes_GET_SIZE(value) > self.max_value:
                if PyDict_Contains(self.cur, key):
                    PyDict_DelItem(self.cur, key)
                if PyDict_Contains(self.old, key):
                    PyDict_DelItem(self.old, key)
                return
            size += PyBytes_GET_SIZE(value)
        PyDict_SetItem(self.cur, key, value)
        self.used += size
        if self.used * 2 > self.budget:
            self.old = self.cur
            self.old_used = self.used
            self.cur = {}
            self.used = 0

    cpdef written(self, items):
        """Records now in RocksDB: a list of (key, value | None | (end,)) items, or a dict
        key -> value | None (a group's overlay)."""
        cdef Py_ssize_t i, n
        cdef object item, v
        if self.budget == 0:
            return
        if type(items) is dict:
            for k, v in (<dict>items).items():
                self._store(k, v)
            return
        n = PyList_GET_SIZE(items)
        for i in range(n):
            item = <object>PyList_GET_ITEM(items, i)
            v = <object>PyTuple_GET_ITEM(item, 1)
            if type(v) is tuple:
                self.clear()  # a range delete
            else:
                self._store(<object>PyTuple_GET_ITEM(item, 0), v)

    cpdef clear(self):
        self.cur = {}
        self.old = {}
        self.used = 0
        self.old_used = 0

    def resize(self, Py_ssize_t budget):
        self.budget = budget if budget > 0 else 0
        self.clear()

    # ---- INFO ----

    @property
    def records(self):
        return len(self.cur) + len(self.old)

    @property
    def used_bytes(self):
        """Estimated bytes held (both generations; a record in both counts twice)."""
        return self.used + self.old_used
