"""Replication between pikad servers, as a library the server drives (docs/architecture.md).

Modules
    master     the master side: one ReplicaLink per connected replica; each turn's records
               pushed from memory (push_turn), a link behind catching up from the binlog
    handshake  PIKASYNC on the master: incremental sync, full sync, or why neither
    fullsync   a full sync: the master's checkpoint sender, the replica's receiver
    replica    the replica side: ReplicaSide / Channel keep the link to the master, a
               MasterLink (a protocol object) applies the streamed records

The server reaches this package through narrow Protocols (MasterServer, FullSyncServer,
SyncServer, ReplicaServer): the engine, the configuration, the turn, the stats. Nothing
here imports pikadb.server or pikadb.commands. The binlog itself (the shard's redo log) is
storage's: pikadb.storage.binlog.

Records are physical: the exact RocksDB operations one command wrote to one shard (the
Ops list Shard.commit already has), plus the command's argv and db for people and tools.
Replaying the ops reproduces the master's storage exactly (absolute expiries, SPOP's
choice, INCRBYFLOAT's result, collection versions, counters) without rewriting each
command into its "effective write", which Pika's command records need and get wrong in
corner cases; the cost is bigger records for commands that touch many elements.
"""
