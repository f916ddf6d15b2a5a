"""Replication. This slice: the per-shard binlog (binlog.py: segment files, reader,
retention) and the replica side of applying records (apply.py).

Records are physical: the exact RocksDB operations one command wrote to one shard (the
Ops list Shard.commit already has), plus the command's argv and db for people and tools.
Replaying the ops reproduces the master's storage exactly (absolute expiries, SPOP's
choice, INCRBYFLOAT's result, collection versions, counters) without rewriting each
command into its "effective write", which Pika's command records need and get wrong in
corner cases; the cost is bigger records for commands that touch many elements.
"""
