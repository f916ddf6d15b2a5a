"""Typing for the compiled binlog record codec (cext/binlog.pyx).

Import it only through pikadb.binlog_codec.
"""

from typing import Final

MAGIC: Final[bytes]
HEADER_SIZE: Final[int]
FIXED_SIZE: Final[int]
OP_PUT: Final[int]
OP_DELETE: Final[int]
OP_DELETE_RANGE: Final[int]

# shard.Ops.items form: (key, value) put, (key, None) delete, (begin, (end,)) range delete.
Op = tuple[bytes, bytes | tuple[bytes] | None]

class BinlogError(ValueError): ...
class BinlogTruncated(BinlogError): ...
class BinlogCorrupt(BinlogError): ...
class BinlogGap(BinlogError): ...

class Record:
    term: int
    timestamp: int
    id: int
    offset: int
    db: int
    argv: list[bytes]
    ops: list[Op]
    size: int
    def __init__(
        self,
        term: int,
        timestamp: int,
        id: int,
        offset: int,
        db: int,
        argv: list[bytes],
        ops: list[Op],
        size: int = 0,
    ) -> None: ...
    @property
    def end_offset(self) -> int: ...

def encode_record(
    term: int,
    timestamp: int,
    id: int,
    offset: int,
    db: int,
    argv: list[bytes],
    ops: list[Op],
) -> bytes: ...
def add_ops(batch: object, ops: list[Op]) -> None: ...
def decode_record(buf: bytes | bytearray | memoryview, pos: int = 0) -> tuple[Record, int]: ...
def record_size(buf: bytes | bytearray | memoryview, pos: int = 0) -> int: ...
def skip_records(
    buf: bytes | bytearray | memoryview, pos: int, after_id: int
) -> tuple[int, int]: ...

class BinlogTail:
    term: int
    last_id: int
    offset: int
    def stage(self, db: int, argv: list[bytes], ops: list[Op]) -> None: ...
    def stage_group(
        self, db: int, argv: list[bytes], ops: list[Op], group: object, cache: object
    ) -> None: ...
    def stage_received(
        self, data: bytes, batch: object, ops: list[Op], special: list[Op]
    ) -> int: ...
