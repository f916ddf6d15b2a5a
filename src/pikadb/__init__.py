"""pikadb: a Redis-protocol database that keeps its data on disk in RocksDB."""

__version__ = "0.1.0"
