"""Bitmaps (and HyperLogLogs) live in plain string values: the storage side of Redis's
bitops.c, plus the string read-modify-write that bit and HLL commands share.

Strings keep their value inline in the META record (storage/encoding.py), so a bit command
is one point read and, when something changes, one WriteBatch. The bit algorithms work on
whole ranges with Python's big integers (int.from_bytes / bit_count / shifts), which run at
C speed: BITCOUNT and BITOP over a multi-megabyte string are a handful of C loops, never a
Python loop per bit or per byte.

Bit numbering follows Redis: bit 0 is the most significant bit of byte 0, so a string read
as one big-endian integer has bit i at position (8 * len - 1 - i).

Encoding: every command that writes a string through these helpers leaves it raw-encoded,
as Redis's dbUnshareStringValue does (OBJECT ENCODING says "raw" afterwards), even when the
command changed no bit of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from pikadb.errors import WrongTypeError
from pikadb.keycodec import ENC_RAW, T_STRING, meta_key
from pikadb.storage.strings import string_encoding

if TYPE_CHECKING:
    from pikadb.storage.database import Database

R = TypeVar("R")

# fn(current value or None, whether it is stored raw) -> (value to write or None to leave
# the key as it is, result). Returning the very value it was given (the same object)
# rewrites it only to make it raw, which is not a modification (WATCH does not see it).
# A result that is an exception is raised after the commit: Redis keeps the part of an
# update done before it found an error (PFADD on a corrupt HLL).
StringEdit = Callable[[bytes | None, bool], tuple[bytes | None, R]]

U64 = (1 << 64) - 1
I64_MAX = (1 << 63) - 1


# ---- string read-modify-write ----


def edit_string(db: Database, key: bytes, now: int, fn: StringEdit[R]) -> R:
    """Run fn on key's string value and write what it returns, raw-encoded, keeping the
    TTL. WrongTypeError for a key of another type (before fn runs)."""
    ws = db.writes(now)
    old = ws.lookup(db, key)
    if old is not None and old.type != T_STRING:
        raise WrongTypeError()
    if old is None:
        new, result = fn(None, False)
        if new is not None:
            ws.put_string(db, key, new, 0, ENC_RAW, None)
    else:
        raw = string_encoding(old.value, old.enc) == "raw"
        new, result = fn(old.value, raw)
        if new is not None:
            ws.put_string(db, key, new, old.expire_at, ENC_RAW, old)
            if new is old.value:
                # Only the encoding changes (dbUnshareStringValue): Redis does not count
                # that as a modification, so WATCH must not see it.
                ws._touched.discard(meta_key(db.pdb, key))
    ws.commit()
    if isinstance(result, BaseException):
        raise result
    return result


def store_string(db: Database, key: bytes, value: bytes | None, now: int) -> None:
    """BITOP's destination: value replaces whatever key holds (any type, TTL dropped,
    raw-encoded); None deletes the key."""
    ws = db.writes(now)
    old = ws.lookup(db, key)
    if value is not None:
        ws.put_string(db, key, value, 0, ENC_RAW, old)
    elif old is not None:
        ws.delete(db, key, old)
    ws.commit()


# ---- single bits ----


def get_bit(value: bytes, offset: int) -> int:
    byte = offset >> 3
    if byte >= len(value):
        return 0
    return (value[byte] >> (7 - (offset & 7))) & 1


def set_bit(value: bytes | None, raw: bool, offset: int, on: int) -> tuple[bytes | None, int]:
    """SETBIT as a StringEdit: (new value or None if nothing to write, the old bit). The
    string grows with zero bytes to reach the offset."""
    old = value or b""
    byte = offset >> 3
    shift = 7 - (offset & 7)
    oldbit = (old[byte] >> shift) & 1 if byte < len(old) else 0
    if value is not None and byte < len(old) and oldbit == on:
        return (None if raw else value), oldbit
    buf = bytearray(old)
    if byte >= len(buf):
        buf.extend(bytes(byte + 1 - len(buf)))
    if on:
        buf[byte] |= 1 << shift
    else:
        buf[byte] &= ~(1 << shift) & 0xFF
    return bytes(buf), oldbit


# ---- BITCOUNT / BITPOS ----


def _clamp(start: int, end: int, total: int) -> tuple[int, int]:
    """Redis's range normalisation: negatives count from the end, then clamp to the
    string. An empty result has start > end."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    start = max(start, 0)
    end = max(end, 0)
    if end >= total:
        end = total - 1
    return start, end


def _bits_of(value: bytes, first_bit: int, last_bit: int) -> int:
    """Bits first_bit..last_bit (inclusive) of value as an integer, first bit highest."""
    first = first_bit >> 3
    last = last_bit >> 3
    x = int.from_bytes(memoryview(value)[first : last + 1], "big")
    # Byte-aligned ends (every byte-unit range) need no shift or mask: on a range of
    # megabytes each of those is another pass over the whole integer.
    if last_bit & 7 != 7:
        x >>= 7 - (last_bit & 7)
    if first_bit & 7:
        x &= (1 << (last_bit - first_bit + 1)) - 1
    return x


def bit_count(value: bytes, start: int | None = None, end: int = -1, bit_unit: bool = False) -> int:
    """BITCOUNT over the whole value, or bytes (bits with bit_unit) start..end."""
    if start is None:
        return int.from_bytes(value, "big").bit_count()
    total = len(value) * 8 if bit_unit else len(value)
    start, end = _clamp(start, end, total)
    if start > end:
        return 0
    if bit_unit:
        return _bits_of(value, start, end).bit_count()
    return int.from_bytes(memoryview(value)[start : end + 1], "big").bit_count()


def bit_pos(
    value: bytes,
    bit: int,
    start: int | None = None,
    end: int | None = None,
    bit_unit: bool = False,
) -> int:
    """BITPOS: the first bit equal to `bit` in the range, -1 if none. Looking for a 0
    without an explicit end, the string counts as zero-padded on the right: the answer is
    then the first bit past the range's last byte."""
    n = len(value)
    end_given = end is not None
    if start is None:
        start, end = 0, n - 1
    else:
        if end is None:
            end = (n << 3) + 7 if bit_unit else n - 1
        start, end = _clamp(start, end, n * 8 if bit_unit else n)
    if start > end:
        return -1
    if not bit_unit:
        start, end = start * 8, end * 8 + 7
    width = end - start + 1
    x = _bits_of(value, start, end)
    if bit == 0:
        x ^= (1 << width) - 1
    if x == 0:
        if bit == 1 or end_given:
            return -1
        return ((end >> 3) + 1) * 8
    return start + width - x.bit_length()


# ---- BITOP ----

BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT = range(4)


def bit_op(op: int, values: Sequence[bytes]) -> bytes:
    """BITOP over values (missing keys as b""): the result is as long as the longest
    input, shorter inputs count as zero-padded. b"" when every input is empty."""
    maxlen = max((len(v) for v in values), default=0)
    if maxlen == 0:
        return b""
    if op == BITOP_NOT:
        x = int.from_bytes(values[0], "big") ^ ((1 << (8 * maxlen)) - 1)
        return x.to_bytes(maxlen, "big")
    ints = [int.from_bytes(v, "big") << (8 * (maxlen - len(v))) for v in values]
    acc = ints[0]
    if op == BITOP_AND:
        for x in ints[1:]:
            acc &= x
    elif op == BITOP_OR:
        for x in ints[1:]:
            acc |= x
    else:
        for x in ints[1:]:
            acc ^= x
    return acc.to_bytes(maxlen, "big")


# ---- BITFIELD ----

OVERFLOW_WRAP, OVERFLOW_SAT, OVERFLOW_FAIL = range(3)
BF_GET, BF_SET, BF_INCRBY = range(3)

# (opcode, bit offset, bits, signed, SET value / INCRBY increment, overflow mode)
BitfieldOp = tuple[int, int, int, bool, int, int]


def _s64(x: int) -> int:
    """x as C's int64_t after unsigned arithmetic (two's complement wrap)."""
    x &= U64
    return x - (1 << 64) if x > I64_MAX else x


def bitfield_read(value: bytes | bytearray, offset: int, bits: int, signed: bool) -> int:
    """The integer at bit offset (zero-padded past the end of value)."""
    last_bit = offset + bits - 1
    first = offset >> 3
    size = (last_bit >> 3) - first + 1
    window = bytes(value[first : first + size])
    if len(window) < size:
        window += bytes(size - len(window))
    u = _bits_of(window, offset & 7, (offset & 7) + bits - 1)
    if signed and bits < 64 and u >> (bits - 1):
        u -= 1 << bits
    elif signed and bits == 64:
        u = _s64(u)
    return u


def bitfield_write(buf: bytearray, offset: int, bits: int, value: int) -> None:
    """Store the low `bits` bits of value at bit offset (buf long enough)."""
    first = offset >> 3
    last_bit = offset + bits - 1
    last = last_bit >> 3
    shift = 7 - (last_bit & 7)
    width = (last - first + 1) * 8
    mask = ((1 << bits) - 1) << shift
    chunk = int.from_bytes(buf[first : last + 1], "big")
    chunk = (chunk & ~mask & ((1 << width) - 1)) | ((value << shift) & mask)
    buf[first : last + 1] = chunk.to_bytes(last - first + 1, "big")


def _unsigned_overflow(value: int, incr: int, bits: int, mode: int) -> tuple[int, int]:
    """checkUnsignedBitfieldOverflow: (0 none / 1 over / -1 under, value to store)."""
    top = (1 << bits) - 1
    maxincr = _s64(top - value)
    minincr = _s64(-value)
    if value > top or (incr > 0 and incr > maxincr):
        direction = 1
    elif incr < 0 and incr < minincr:
        direction = -1
    else:
        return 0, 0
    if mode == OVERFLOW_SAT:
        return direction, top if direction > 0 else 0
    return direction, (value + incr) & top  # WRAP (FAIL ignores the value)


def _signed_overflow(value: int, incr: int, bits: int, mode: int) -> tuple[int, int]:
    """checkSignedBitfieldOverflow, with its int64 arithmetic reproduced: for SET of a
    value near INT64_MIN into a narrow field Redis's (max - value) wraps negative and
    the overflow counts as upward, saturating to the maximum."""
    top = I64_MAX if bits == 64 else (1 << (bits - 1)) - 1
    bottom = -top - 1
    maxincr = _s64(top - value)
    minincr = _s64(bottom - value)
    if (
        value > top
        or (bits != 64 and incr > maxincr)
        or (value >= 0 and incr > 0 and incr > maxincr)
    ):
        direction = 1
    elif (
        value < bottom
        or (bits != 64 and incr < minincr)
        or (value < 0 and incr < 0 and incr < minincr)
    ):
        direction = -1
    else:
        return 0, 0
    if mode == OVERFLOW_SAT:
        return direction, top if direction > 0 else bottom
    c = (value + incr) & U64
    if bits < 64:
        if c >> (bits - 1) & 1:
            c |= U64 ^ ((1 << bits) - 1)
        else:
            c &= (1 << bits) - 1
    return direction, _s64(c)


def bitfield_apply(buf: bytearray, ops: Sequence[BitfieldOp]) -> tuple[list[int | None], int]:
    """Run BITFIELD operations in order on buf (already grown to the highest bit any SET
    or INCRBY touches). -> (one reply per op: the value read, the old value (SET), the new
    value (INCRBY), or None for an overflow under OVERFLOW FAIL (nothing written); how
    many writes changed the field, which is what makes the command a modification)."""
    out: list[int | None] = []
    changes = 0
    for opcode, offset, bits, signed, arg, mode in ops:
        if opcode == BF_GET:
            out.append(bitfield_read(buf, offset, bits, signed))
            continue
        old = bitfield_read(buf, offset, bits, signed)
        if signed:
            if opcode == BF_INCRBY:
                over, wrapped = _signed_overflow(old, arg, bits, mode)
                new = wrapped if over else old + arg
                reply = new
            else:
                over, wrapped = _signed_overflow(arg, 0, bits, mode)
                new = wrapped if over else arg
                reply = old
        else:
            if opcode == BF_INCRBY:
                over, wrapped = _unsigned_overflow(old, arg, bits, mode)
                new = wrapped if over else old + arg
                reply = new
            else:
                value = arg & U64  # the C code stores the int64 argument in a uint64
                over, wrapped = _unsigned_overflow(value, 0, bits, mode)
                new = wrapped if over else value
                reply = old
        if over and mode == OVERFLOW_FAIL:
            out.append(None)
            continue
        out.append(reply)
        bitfield_write(buf, offset, bits, new & U64)
        if new != old:
            changes += 1
    return out, changes


__all__ = [
    "BF_GET",
    "BF_INCRBY",
    "BF_SET",
    "BITOP_AND",
    "BITOP_NOT",
    "BITOP_OR",
    "BITOP_XOR",
    "OVERFLOW_FAIL",
    "OVERFLOW_SAT",
    "OVERFLOW_WRAP",
    "BitfieldOp",
    "StringEdit",
    "bit_count",
    "bit_op",
    "bit_pos",
    "bitfield_apply",
    "bitfield_read",
    "bitfield_write",
    "edit_string",
    "get_bit",
    "set_bit",
    "store_string",
]
