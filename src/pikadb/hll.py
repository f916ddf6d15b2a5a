"""The one door to the compiled HyperLogLog core (cext/hll.pyx).

Nothing else imports pikadb._hll. The compiled module is the product: when it is missing,
importing this module fails with a clear message instead of running a slow path. The
byte format (Redis 7.0's, so values are interchangeable with redis-server) is described
in cext/hll.pyx.
"""

try:
    from pikadb._hll import (
        DENSE,
        DENSE_SIZE,
        HEADER_SIZE,
        REGISTERS,
        SPARSE,
        add,
        count,
        count_registers,
        decode_sparse,
        dense_registers,
        is_hll,
        merge,
        murmurhash64a,
        new_sparse,
        pattern,
        store,
        to_dense,
    )
except ImportError as e:  # pragma: no cover - exercised by packaging mistakes only
    raise ImportError(
        "pikadb's compiled HyperLogLog core (pikadb._hll) is missing: build it with "
        "`pip install .` or `python setup.py build_ext --inplace` (needs cython and gcc)"
    ) from e

# Byte 15 (the cached cardinality's most significant byte) bit 7: the cache is stale.
STALE_BIT = 0x80


def cached_count(value: bytes) -> int | None:
    """The cardinality cached in a valid HLL value's header, None if marked stale."""
    if value[15] & STALE_BIT:
        return None
    return int.from_bytes(value[8:16], "little")


def with_cached_count(value: bytes, card: int) -> bytes:
    """value with `card` cached in its header (what PFCOUNT stores). A negative card
    (the estimator's overflow) is stored as its uint64 bits, which also leave the
    cache marked stale, as in Redis."""
    return value[:8] + (card & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little") + value[16:]


__all__ = [
    "DENSE",
    "DENSE_SIZE",
    "HEADER_SIZE",
    "REGISTERS",
    "SPARSE",
    "STALE_BIT",
    "add",
    "cached_count",
    "count",
    "count_registers",
    "decode_sparse",
    "dense_registers",
    "is_hll",
    "merge",
    "murmurhash64a",
    "new_sparse",
    "pattern",
    "store",
    "to_dense",
    "with_cached_count",
]
