"""The one door to the compiled binlog record codec (cext/binlog.pyx).

Nothing else imports pikadb._binlog. The compiled module is the product: when it is missing,
importing this module fails with a clear message instead of running a slow path. The record
layout is documented in cext/binlog.pyx; the files holding records in
pikadb.storage.binlog.
"""

try:
    from pikadb._binlog import (
        FIXED_SIZE,
        HEADER_SIZE,
        MAGIC,
        OP_DELETE,
        OP_DELETE_RANGE,
        OP_PUT,
        BinlogCorrupt,
        BinlogError,
        BinlogGap,
        BinlogTail,
        BinlogTruncated,
        Record,
        add_ops,
        decode_record,
        encode_record,
        record_size,
        skip_records,
    )
except ImportError as e:  # pragma: no cover - exercised by packaging mistakes only
    raise ImportError(
        "pikadb's compiled binlog codec (pikadb._binlog) is missing; build it with "
        "`python setup.py build_ext --inplace` (or reinstall pikadb)"
        f" [{e}]"
    ) from e

__all__ = [
    "FIXED_SIZE",
    "HEADER_SIZE",
    "MAGIC",
    "OP_DELETE",
    "OP_DELETE_RANGE",
    "OP_PUT",
    "BinlogCorrupt",
    "BinlogError",
    "BinlogGap",
    "BinlogTail",
    "BinlogTruncated",
    "Record",
    "add_ops",
    "decode_record",
    "encode_record",
    "record_size",
    "skip_records",
]
