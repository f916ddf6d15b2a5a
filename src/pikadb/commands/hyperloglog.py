"""HyperLogLog commands (Redis hyperloglog.c): PFADD PFCOUNT PFMERGE PFDEBUG.

A HyperLogLog is a string whose bytes are exactly redis-server's (see cext/hll.pyx, used
through pikadb.hll), so GET returns the same bytes on both and PFCOUNT the same number.
Handlers do what Redis's do, in the same order:

* a key of another type is WRONGTYPE; a string that is not an HLL (bad magic, unknown
  encoding, dense of the wrong size) is "WRONGTYPE Key is not a valid HyperLogLog string
  value."; a sparse HLL whose opcodes do not cover 16384 registers is INVALIDOBJ, found
  only when an operation walks that far;
* PFCOUNT of one key caches the cardinality in the value's header (a write, as in Redis:
  GET shows it); PFCOUNT of several keys counts their union without writing;
* PFMERGE reads every source, the destination included, before creating or writing it.

Every write leaves the value raw-encoded (Redis's dbUnshareStringValue), even PFCOUNT's.
"""

from __future__ import annotations

from pikadb import errors, hll
from pikadb.commands.table import command
from pikadb.errors import CommandError, WrongTypeError
from pikadb.keycodec import T_STRING
from pikadb.protocol import OK, Status
from pikadb.storage.bitmaps import edit_string
from pikadb.storage.strings import string_encoding

_NO_KEY = "ERR The specified key does not exist"
_NOT_SPARSE = "ERR HLL encoding is not sparse"


def _sparse_max(c) -> int:
    return c.server.config.get_int("hll-sparse-max-bytes")


def _check(value: bytes) -> None:
    if not hll.is_hll(value):
        raise CommandError(errors.HLL_WRONGTYPE)


def _unshared(value: bytes | None, raw: bool) -> bytes | None:
    """What to write when nothing changed: the same value object, if only to make it
    raw (storage.bitmaps.edit_string then knows it is no modification)."""
    return None if raw else value


@command("pfadd", arity=-2, flags="write denyoom fast", keys=(1, 1, 1), group="hyperloglog")
def pfadd(c, argv):
    """PFADD key [element [element ...]]"""
    elements = argv[2:]
    sparse_max = _sparse_max(c)

    def add(old: bytes | None, raw: bool) -> tuple[bytes | None, object]:
        if old is not None:
            _check(old)
        new, updated = hll.add(old, elements, sparse_max)
        if updated < 0:
            # Redis keeps the registers it set before meeting the corruption.
            return (new if new != old else _unshared(old, raw)), CommandError(errors.HLL_INVALID)
        if updated == 0:
            return _unshared(old, raw), 0
        return new, 1

    return edit_string(c.db, argv[1], c.now, add)


@command(
    "pfcount",
    arity=-2,
    flags="readonly",
    keys=(1, -1, 1),
    group="hyperloglog",
    traits="may-replicate",
)
def pfcount(c, argv):
    """PFCOUNT key [key ...]"""
    now = c.now
    db = c.db
    if len(argv) > 2:
        registers = bytearray(hll.REGISTERS)
        for key in argv[1:]:
            value = db.get(key, now)
            if value is None:
                continue  # a missing key is an empty HLL
            _check(value)
            if not hll.merge(registers, value):
                raise CommandError(errors.HLL_INVALID)
        return hll.count_registers(registers)

    # Fast path, a read: a valid cache in a raw value answers without a WriteSet.
    meta = db.lookup(argv[1], now)
    if meta is None:
        return 0
    if meta.type != T_STRING:
        raise WrongTypeError()
    value = meta.value
    if hll.is_hll(value) and string_encoding(value, meta.enc) == "raw":
        card = hll.cached_count(value)
        if card is not None:
            return card

    def count(old: bytes | None, raw: bool) -> tuple[bytes | None, object]:
        if old is None:
            return None, 0
        _check(old)
        card = hll.cached_count(old)
        if card is not None:
            return _unshared(old, raw), card
        card = hll.count(old)
        if card is None:
            return _unshared(old, raw), CommandError(errors.HLL_INVALID)
        return hll.with_cached_count(old, card), card

    return edit_string(db, argv[1], now, count)


@command("pfmerge", arity=-2, flags="write denyoom", keys=(1, -1, 1), group="hyperloglog")
def pfmerge(c, argv):
    """PFMERGE destkey [sourcekey [sourcekey ...]]"""
    now = c.now
    db = c.db
    registers = bytearray(hll.REGISTERS)
    use_dense = False
    for key in argv[1:]:  # the destination is a source too
        value = db.get(key, now)
        if value is None:
            continue
        _check(value)
        # One dense input makes the destination dense right away (no sparse detour).
        use_dense = use_dense or value[4] == hll.DENSE
        if not hll.merge(registers, value):
            raise CommandError(errors.HLL_INVALID)
    sparse_max = _sparse_max(c)

    def store(old: bytes | None, raw: bool) -> tuple[bytes | None, object]:
        new = hll.store(old, registers, use_dense, sparse_max)
        if new is None:
            return None, CommandError(errors.HLL_INVALID)
        return new, OK

    return edit_string(db, argv[1], now, store)


@command("pfdebug", arity=3, flags="write denyoom admin", keys=(2, 2, 1), group="hyperloglog")
def pfdebug(c, argv):
    """PFDEBUG <GETREG | DECODE | ENCODING | TODENSE> key"""
    sub = argv[1]
    name = sub.split(b"\0", 1)[0]  # Redis compares and prints it as a C string
    op = name.lower()

    def debug(old: bytes | None, raw: bool) -> tuple[bytes | None, object]:
        if old is None:
            return None, CommandError(_NO_KEY)
        _check(old)
        keep = _unshared(old, raw)
        if op in (b"getreg", b"todense"):
            if old[4] != hll.SPARSE:
                return keep, (hll.dense_registers(old) if op == b"getreg" else 0)
            dense = hll.to_dense(old)
            if dense is None:
                return keep, CommandError(errors.HLL_INVALID)
            # The conversion is kept, as Redis keeps (and propagates) it.
            return dense, (hll.dense_registers(dense) if op == b"getreg" else 1)
        if op == b"decode":
            if old[4] != hll.SPARSE:
                return keep, CommandError(_NOT_SPARSE)
            return keep, hll.decode_sparse(old)
        if op == b"encoding":
            return keep, Status("sparse" if old[4] == hll.SPARSE else "dense")
        text = name.decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")
        return keep, CommandError(f"ERR Unknown PFDEBUG subcommand '{text}'")

    return edit_string(c.db, argv[2], c.now, debug)
