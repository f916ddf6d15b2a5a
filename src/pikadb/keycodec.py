"""The one door to the compiled storage key codec (cext/keycodec.pyx).

Nothing else imports pikadb._keycodec. The compiled module is the product: when it is
missing, importing this module fails with a clear message instead of running a slow path.
The byte layout it implements is documented (and frozen) in pikadb.storage.encoding.
"""

try:
    from pikadb._keycodec import (
        ENC_AUTO,
        ENC_EMBSTR,
        ENC_RAW,
        T_HASH,
        T_LIST,
        T_SET,
        T_STREAM,
        T_STRING,
        T_ZSET,
        WRONGTYPE,
        Meta,
        crc16,
        data_key,
        data_prefix,
        decode_meta,
        encode_string,
        expire_key,
        key_slot,
        live_type,
        meta_expire_at,
        meta_key,
        meta_prefix,
        parse_data_key,
        parse_expire_key,
        shard_index,
        string_value,
    )
except ImportError as e:  # pragma: no cover - exercised by packaging mistakes only
    raise ImportError(
        "pikadb's compiled key codec (pikadb._keycodec) is missing: build it with "
        "`pip install .` or `python setup.py build_ext --inplace` (needs cython and gcc)"
    ) from e

__all__ = [
    "ENC_AUTO",
    "ENC_EMBSTR",
    "ENC_RAW",
    "T_HASH",
    "T_LIST",
    "T_SET",
    "T_STREAM",
    "T_STRING",
    "T_ZSET",
    "WRONGTYPE",
    "Meta",
    "crc16",
    "data_key",
    "data_prefix",
    "decode_meta",
    "encode_string",
    "expire_key",
    "key_slot",
    "live_type",
    "meta_expire_at",
    "meta_key",
    "meta_prefix",
    "parse_data_key",
    "parse_expire_key",
    "shard_index",
    "string_value",
]
