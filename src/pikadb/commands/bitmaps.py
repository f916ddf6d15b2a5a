"""Bitmap commands (Redis bitops.c): SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.

Bitmaps are strings; handlers parse arguments, read the clock once and call the helpers in
storage/bitmaps.py. The order of checks is Redis 7.0's, because clients can see which
error wins: SETBIT/GETBIT parse before the key lookup, BITCOUNT/BITPOS look the key up
first (a missing key answers 0 / -1 whatever the range arguments), BITFIELD parses every
operation before touching the key, and BITFIELD_RO refuses writes before the type check.

Redis compares option words with strcasecmp on C strings, so a word is read up to its
first NUL byte ("bit\\0x" is BIT); _word() reproduces that.
"""

from __future__ import annotations

from pikadb import errors
from pikadb.commands.args import int_arg, parse_int, syntax_error
from pikadb.commands.table import command
from pikadb.errors import CommandError
from pikadb.storage.bitmaps import (
    BF_GET,
    BF_INCRBY,
    BF_SET,
    BITOP_AND,
    BITOP_NOT,
    BITOP_OR,
    BITOP_XOR,
    OVERFLOW_FAIL,
    OVERFLOW_SAT,
    OVERFLOW_WRAP,
    BitfieldOp,
    bit_count,
    bit_op,
    bit_pos,
    bitfield_apply,
    bitfield_read,
    edit_string,
    get_bit,
    set_bit,
    store_string,
)

BIT_VALUE = "ERR bit is not an integer or out of range"
BIT_ARGUMENT = "ERR The bit argument must be 1 or 0."
BITFIELD_TYPE = (
    "ERR Invalid bitfield type. Use something like i16 u8. "
    "Note that u64 is not supported but i64 is."
)
BITFIELD_OVERFLOW = "ERR Invalid OVERFLOW type specified"
BITFIELD_RO_WRITE = "ERR BITFIELD_RO only supports the GET subcommand"
BITOP_NOT_KEYS = "ERR BITOP NOT must be called with a single source key."

U64 = (1 << 64) - 1

_BITOPS = {b"and": BITOP_AND, b"or": BITOP_OR, b"xor": BITOP_XOR, b"not": BITOP_NOT}
_OVERFLOWS = {b"wrap": OVERFLOW_WRAP, b"sat": OVERFLOW_SAT, b"fail": OVERFLOW_FAIL}


def _word(arg: bytes) -> bytes:
    """An option word as strcasecmp sees it: up to the first NUL, lower case."""
    return arg.split(b"\0", 1)[0].lower()


def _bit_unit(arg: bytes) -> bool:
    """BYTE|BIT -> True for BIT."""
    w = _word(arg)
    if w == b"bit":
        return True
    if w == b"byte":
        return False
    raise syntax_error()


def bit_offset(c, arg: bytes, bits: int = 0) -> int:
    """getBitOffsetFromArgument: a non-negative bit offset whose byte is below
    proto-max-bulk-len. With bits (BITFIELD), '#n' means n * bits."""
    usehash = bits > 0 and arg[:1] == b"#"
    v = parse_int(arg[1:] if usehash else arg)
    if v is None:
        raise CommandError(errors.BIT_OFFSET)
    if usehash:
        v = ((v * bits + (1 << 63)) & U64) - (1 << 63)  # the C multiplication wraps
    if v < 0 or (v >> 3) >= c.server.config.get_int("proto-max-bulk-len"):
        raise CommandError(errors.BIT_OFFSET)
    return v


# ---- SETBIT / GETBIT ----


@command("setbit", arity=4, flags="write denyoom", keys=(1, 1, 1), group="bitmap")
def setbit(c, argv):
    """SETBIT key offset value"""
    offset = bit_offset(c, argv[2])
    on = parse_int(argv[3])
    if on is None or on & ~1:
        raise CommandError(BIT_VALUE)
    return edit_string(c.db, argv[1], c.now, lambda v, raw: set_bit(v, raw, offset, on))


@command("getbit", arity=3, flags="readonly fast", keys=(1, 1, 1), group="bitmap")
def getbit(c, argv):
    """GETBIT key offset"""
    offset = bit_offset(c, argv[2])
    value = c.db.get(argv[1], c.now)
    return 0 if value is None else get_bit(value, offset)


# ---- BITCOUNT / BITPOS ----


@command("bitcount", arity=-2, flags="readonly", keys=(1, 1, 1), group="bitmap")
def bitcount(c, argv):
    """BITCOUNT key [start end [BYTE | BIT]]"""
    value = c.db.get(argv[1], c.now)
    if value is None:
        return 0
    argc = len(argv)
    if argc == 2:
        return bit_count(value)
    if argc not in (4, 5):
        raise syntax_error()
    start = int_arg(argv[2])
    end = int_arg(argv[3])
    if start < 0 and end < 0 and start > end:
        return 0  # Redis answers this before looking at BYTE|BIT
    return bit_count(value, start, end, argc == 5 and _bit_unit(argv[4]))


@command("bitpos", arity=-3, flags="readonly", keys=(1, 1, 1), group="bitmap")
def bitpos(c, argv):
    """BITPOS key bit [start [end [BYTE | BIT]]]"""
    bit = int_arg(argv[2])
    if bit not in (0, 1):
        raise CommandError(BIT_ARGUMENT)
    value = c.db.get(argv[1], c.now)
    if value is None:
        # A missing key is an infinite run of zeros.
        return -1 if bit else 0
    argc = len(argv)
    if argc == 3:
        return bit_pos(value, bit)
    if argc > 6:
        raise syntax_error()
    start = int_arg(argv[3])
    unit = argc == 6 and _bit_unit(argv[5])  # before end's integer check, as Redis
    end = int_arg(argv[4]) if argc >= 5 else None
    return bit_pos(value, bit, start, end, unit)


# ---- BITOP ----


@command("bitop", arity=-4, flags="write denyoom", keys=(2, -1, 1), group="bitmap")
def bitop(c, argv):
    """BITOP <AND | OR | XOR | NOT> destkey key [key ...]"""
    op = _BITOPS.get(_word(argv[1]))
    if op is None:
        raise syntax_error()
    if op == BITOP_NOT and len(argv) != 4:
        raise CommandError(BITOP_NOT_KEYS)
    now = c.now
    db = c.db
    values = []
    for key in argv[3:]:
        v = db.get(key, now)
        values.append(b"" if v is None else v)
    result = bit_op(op, values)
    store_string(db, argv[2], result or None, now)
    return len(result)


# ---- BITFIELD / BITFIELD_RO ----


def _bitfield_type(arg: bytes) -> tuple[bool, int]:
    """getBitfieldTypeFromArgument: i1..i64 or u1..u63 -> (signed, bits)."""
    sign = arg[:1]
    if sign not in (b"i", b"u"):
        raise CommandError(BITFIELD_TYPE)
    bits = parse_int(arg[1:].split(b"\0", 1)[0])  # Redis reads the width with strlen
    signed = sign == b"i"
    if bits is None or bits < 1 or bits > (64 if signed else 63):
        raise CommandError(BITFIELD_TYPE)
    return signed, bits


def _parse_bitfield(c, argv: list[bytes]) -> tuple[list[BitfieldOp], int]:
    """-> (operations, highest bit written or -1 when only GETs)."""
    ops: list[BitfieldOp] = []
    mode = OVERFLOW_WRAP
    highest = -1
    argc = len(argv)
    j = 2
    while j < argc:
        remaining = argc - j - 1
        sub = _word(argv[j])
        if sub == b"get" and remaining >= 2:
            opcode = BF_GET
        elif sub == b"set" and remaining >= 3:
            opcode = BF_SET
        elif sub == b"incrby" and remaining >= 3:
            opcode = BF_INCRBY
        elif sub == b"overflow" and remaining >= 1:
            m = _OVERFLOWS.get(_word(argv[j + 1]))
            if m is None:
                raise CommandError(BITFIELD_OVERFLOW)
            mode = m
            j += 2
            continue
        else:
            raise syntax_error()
        signed, bits = _bitfield_type(argv[j + 1])
        offset = bit_offset(c, argv[j + 2], bits)
        arg = 0
        if opcode != BF_GET:
            highest = max(highest, offset + bits - 1)
            arg = int_arg(argv[j + 3])
            j += 4
        else:
            j += 3
        ops.append((opcode, offset, bits, signed, arg, mode))
    return ops, highest


def _bitfield(c, argv: list[bytes], readonly: bool):
    ops, highest = _parse_bitfield(c, argv)
    now = c.now
    if highest < 0:
        value = c.db.get(argv[1], now) or b""
        return [bitfield_read(value, off, bits, signed) for _, off, bits, signed, _, _ in ops]
    if readonly:
        raise CommandError(BITFIELD_RO_WRITE)
    need = (highest >> 3) + 1

    def apply(old: bytes | None, raw: bool) -> tuple[bytes | None, list[int | None]]:
        buf = bytearray(old or b"")
        grown = need > len(buf)
        if grown:
            buf.extend(bytes(need - len(buf)))
        replies, changes = bitfield_apply(buf, ops)
        if old is not None and not grown and not changes:
            return (None if raw else old), replies
        return bytes(buf), replies

    return edit_string(c.db, argv[1], now, apply)


@command("bitfield", arity=-2, flags="write denyoom", keys=(1, 1, 1), group="bitmap")
def bitfield(c, argv):
    """BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> ...]]"""
    return _bitfield(c, argv, readonly=False)


@command("bitfield_ro", arity=-2, flags="readonly fast", keys=(1, 1, 1), group="bitmap")
def bitfield_ro(c, argv):
    """BITFIELD_RO key [GET encoding offset [GET encoding offset ...]]"""
    return _bitfield(c, argv, readonly=True)
