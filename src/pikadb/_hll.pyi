"""Typing for the compiled HyperLogLog core (cext/hll.pyx).

Import it only through pikadb.hll. The byte format is Redis 7.0's (see cext/hll.pyx).
"""

from typing import Final

REGISTERS: Final[int]
HEADER_SIZE: Final[int]
DENSE_SIZE: Final[int]
DENSE: Final[int]
SPARSE: Final[int]

def murmurhash64a(data: bytes, seed: int = ...) -> int: ...
def pattern(element: bytes) -> tuple[int, int]:
    """(register index, run length 1..51) an element maps to."""

def is_hll(value: bytes) -> bool: ...
def new_sparse() -> bytes: ...
def add(value: bytes | None, elements: list[bytes], sparse_max: int) -> tuple[bytes, int]:
    """-> (value, registers changed (+1 for a new key)), or (partly updated value, -1)
    for a corrupt value."""

def count(value: bytes) -> int | None:
    """Estimated cardinality (signed, as Redis replies it); None if corrupt."""

def merge(registers: bytearray, value: bytes) -> bool: ...
def count_registers(registers: bytearray) -> int: ...
def store(
    value: bytes | None, registers: bytearray, use_dense: bool, sparse_max: int
) -> bytes | None: ...
def to_dense(value: bytes) -> bytes | None: ...
def dense_registers(value: bytes) -> list[int]: ...
def decode_sparse(value: bytes) -> bytes: ...
