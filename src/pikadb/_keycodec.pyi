"""Typing for the compiled storage key codec (cext/keycodec.pyx).

Import it only through pikadb.keycodec. The layout is documented in pikadb.storage.encoding.
"""

from typing import Final

T_STRING: Final[int]
T_HASH: Final[int]
T_LIST: Final[int]
T_SET: Final[int]
T_ZSET: Final[int]
T_STREAM: Final[int]
ENC_AUTO: Final[int]
ENC_RAW: Final[int]
ENC_EMBSTR: Final[int]
WRONGTYPE: Final[object]

class Meta:
    """A decoded meta record: strings carry `value`; collections version/count/extra."""

    type: int
    enc: int
    expire_at: int  # unix ms, 0 = no expiry
    value: bytes
    version: int
    count: int
    extra: bytes
    def __init__(
        self,
        type: int,
        expire_at: int = 0,
        value: bytes = b"",
        version: int = 0,
        count: int = 0,
        extra: bytes = b"",
        enc: int = 0,
    ) -> None: ...
    def encode(self) -> bytes: ...
    def copy(self) -> Meta: ...

def crc16(data: bytes) -> int: ...
def key_slot(key: bytes) -> int:
    """Redis Cluster's keyHashSlot (hash tags included)."""

def shard_index(key: bytes, nshards: int) -> int:
    """key_slot(key) % nshards."""

def meta_key(pdb: int, key: bytes) -> bytes: ...
def meta_prefix(pdb: int) -> bytes: ...
def data_prefix(pdb: int, key: bytes, version: int) -> bytes: ...
def data_key(pdb: int, key: bytes, version: int, elem: bytes) -> bytes: ...
def parse_data_key(dk: bytes) -> tuple[int, bytes, int, bytes]: ...
def expire_key(pdb: int, at: int, key: bytes) -> bytes: ...
def parse_expire_key(ek: bytes) -> tuple[int, int, bytes]: ...
def decode_meta(raw: bytes) -> Meta: ...
def encode_string(value: bytes, expire_at: int, enc: int) -> bytes: ...
def meta_expire_at(raw: bytes) -> int: ...
def live_type(raw: bytes, now: int) -> int:
    """Type code, or 0 if the record is past its expiry at `now` (unix ms)."""

def string_value(raw: bytes, now: int) -> bytes | object | None:
    """Value of a live string; None if expired at `now`; WRONGTYPE for another type."""
