"""Storage: RocksDB shards under a data directory, and the keyspace API handlers use.

Modules
    encoding   the on-disk layout, frozen (read its docstring before touching anything)
    engine     Engine: open/close a data dir, logical dbs, SWAPDB, FLUSHALL, INFO figures
    shard      Shard: one RocksDB instance, counters, Shard.commit() (the only write path),
               Shard.apply_received() (a master's records, on a replica)
    ops        Ops: one command's writes to one shard
    binlog     the shard's redo log: segments, reader, retention, the turn's fresh records
    replicated the in-memory state a master's records change (counters, floors, watches)
    database   Database: one logical db; generic key operations (DEL, EXPIRE, RENAME, SCAN..)
    strings    string values (mixed into Database)
    writeset   WriteSet: one command's writes as one batch per shard, with the bookkeeping
    expire     the active expire cycle
    scan       SCAN cursor table
    access     last-access times and LFU counters (OBJECT IDLETIME/FREQ), in memory

For a type family (hashes, lists, sets, zsets) the recipe is:

    meta = db.lookup(key, now)                  # read path: live Meta or None
    if meta is not None and meta.type != T_HASH: raise WrongTypeError()
    it = db.shard_for(key).scan_prefix(data_prefix(db.pdb, key, meta.version))

    ws = db.writes(now)                         # write path
    old = ws.lookup(db, key)                    # lazily deletes an expired key
    version = old.version if old else ws.new_version(db, key)
    ws.put_data(db, key, version, element, value)
    ws.put(db, key, Meta(T_HASH, old.expire_at if old else 0, version=version,
                         count=new_count, extra=b""), old)   # or ws.delete(db, key, old)
    ws.commit()

Counts, TTL index and purge of old elements follow from put()/delete(); a collection
emptied by a command must be deleted (Redis never keeps empty collections).
"""
