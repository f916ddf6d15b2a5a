"""String commands (Redis t_string.c): GET/SET and variants, counters, ranges, LCS.

Handlers parse arguments (commands.args), read the clock once (`now`, unix ms) and call the
Database string methods (storage/strings.py), which do the RocksDB work and raise typed
errors. SETNX/SETEX/PSETEX/GETSET are thin wrappers over set_generic, as in Redis. Order of
checks follows Redis exactly (syntax, then expire value, then GET's type check, then
NX/XX), because clients can see which error comes first.
"""

from __future__ import annotations

from pikadb import errors
from pikadb.commands.args import ArgCursor, int_arg, options, parse_options, syntax_error
from pikadb.commands.table import Route, command
from pikadb.errors import CommandError
from pikadb.keycodec import ENC_RAW, T_STRING
from pikadb.protocol import OK, ld_add
from pikadb.storage.strings import LLONG_MAX

# ---- expire arguments (getExpireMillisecondsOrReply) ----


def expire_at_ms(arg: bytes, unit_seconds: bool, relative: bool, now: int, cmd: str) -> int:
    """The absolute unix ms of an EX/PX/EXAT/PXAT argument, with Redis's checks."""
    v = int_arg(arg)
    if v <= 0 or (unit_seconds and v > LLONG_MAX // 1000):
        raise CommandError(errors.EXPIRE_INVALID.format(cmd))
    if unit_seconds:
        v *= 1000
    if relative:
        v += now
    if v > LLONG_MAX:  # the C addition overflows here
        raise CommandError(errors.EXPIRE_INVALID.format(cmd))
    return v


_EXPIRE_UNITS = {  # option -> (seconds?, relative?)
    b"EX": (True, True),
    b"PX": (False, True),
    b"EXAT": (True, False),
    b"PXAT": (False, False),
}

_SET_OPTIONS = options(
    NX=(False, "XX"),
    XX=(False, "NX"),
    GET=(False, ""),
    KEEPTTL=(False, "EX PX EXAT PXAT"),
    EX=(True, "KEEPTTL PX EXAT PXAT"),
    PX=(True, "KEEPTTL EX EXAT PXAT"),
    EXAT=(True, "KEEPTTL EX PX PXAT"),
    PXAT=(True, "KEEPTTL EX PX EXAT"),
)

_GETEX_OPTIONS = options(
    PERSIST=(False, "EX PX EXAT PXAT"),
    EX=(True, "PERSIST PX EXAT PXAT"),
    PX=(True, "PERSIST EX EXAT PXAT"),
    EXAT=(True, "PERSIST EX PX PXAT"),
    PXAT=(True, "PERSIST EX PX EXAT"),
)


def _expire_option(opts: dict[bytes, bytes | None], now: int, cmd: str) -> int:
    """The absolute expiry given by EX/PX/EXAT/PXAT in opts, 0 if none."""
    for name, (seconds, relative) in _EXPIRE_UNITS.items():
        if name in opts:
            arg = opts[name]
            assert arg is not None
            return expire_at_ms(arg, seconds, relative, now, cmd)
    return 0


# ---- GET / SET family ----


@command("get", arity=2, flags="readonly fast", keys=(1, 1, 1), group="string")
def get(c, argv):
    """GET key"""
    return c.db.get(argv[1], c.now)


def set_generic(
    c,
    key: bytes,
    value: bytes,
    now: int,
    *,
    expire_at: int = 0,
    nx: bool = False,
    xx: bool = False,
    keepttl: bool = False,
    get: bool = False,
    ok_reply: object = OK,
    abort_reply: object = None,
):
    """Redis's setGenericCommand: SET and every wrapper end here."""
    done, old = c.db.set(
        key, value, now, expire_at=expire_at, nx=nx, xx=xx, keepttl=keepttl, get=get
    )
    if get:
        return old
    return ok_reply if done else abort_reply


@command("set", arity=-3, flags="write denyoom", keys=(1, 1, 1), group="string")
def set_(c, argv):
    """SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]"""
    now = c.now
    if len(argv) == 3:
        return set_generic(c, argv[1], argv[2], now)
    opts = parse_options(argv, 3, _SET_OPTIONS)
    return set_generic(
        c,
        argv[1],
        argv[2],
        now,
        expire_at=_expire_option(opts, now, "set"),
        nx=b"NX" in opts,
        xx=b"XX" in opts,
        keepttl=b"KEEPTTL" in opts,
        get=b"GET" in opts,
    )


@command("setnx", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string")
def setnx(c, argv):
    """SETNX key value"""
    return set_generic(c, argv[1], argv[2], c.now, nx=True, ok_reply=1, abort_reply=0)


@command("setex", arity=4, flags="write denyoom", keys=(1, 1, 1), group="string")
def setex(c, argv):
    """SETEX key seconds value"""
    now = c.now
    at = expire_at_ms(argv[2], True, True, now, "setex")
    return set_generic(c, argv[1], argv[3], now, expire_at=at)


@command("psetex", arity=4, flags="write denyoom", keys=(1, 1, 1), group="string")
def psetex(c, argv):
    """PSETEX key milliseconds value"""
    now = c.now
    at = expire_at_ms(argv[2], False, True, now, "psetex")
    return set_generic(c, argv[1], argv[3], now, expire_at=at)


@command(
    "getset", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string", traits="core"
)
def getset(c, argv):
    """GETSET key value"""
    return set_generic(c, argv[1], argv[2], c.now, get=True)


@command("getdel", arity=2, flags="write fast", keys=(1, 1, 1), group="string", traits="core")
def getdel(c, argv):
    """GETDEL key"""
    return c.db.getdel(argv[1], c.now)


@command("getex", arity=-2, flags="write fast", keys=(1, 1, 1), group="string", traits="core")
def getex(c, argv):
    """GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]"""
    now = c.now
    opts = parse_options(argv, 2, _GETEX_OPTIONS)
    db = c.db
    value = db.get(argv[1], now)  # nil / WRONGTYPE come before the expire value's checks
    if value is None:
        return None
    at = _expire_option(opts, now, "getex")
    if at:
        db.set_expiry(argv[1], now, at)  # an EXAT/PXAT in the past deletes the key
    elif b"PERSIST" in opts:
        db.set_expiry(argv[1], now, 0)
    return value


@command(
    "mget", arity=-2, flags="readonly fast", keys=(1, -1, 1), group="string", route=Route.GATHER
)
def mget(c, argv):
    """MGET key [key ...]"""
    return c.db.mget(argv[1:], c.now)


def _pairs(argv: list[bytes]) -> list[tuple[bytes, bytes]]:
    if len(argv) % 2 == 0:
        raise errors.wrong_arity(argv[0].decode("utf-8", "replace").lower())
    return list(zip(argv[1::2], argv[2::2], strict=True))


@command(
    "mset",
    arity=-3,
    flags="write denyoom",
    keys=(1, -1, 2),
    group="string",
    route=Route.PAIRS,
    traits="core",
)
def mset(c, argv):
    """MSET key value [key value ...]"""
    c.db.mset(_pairs(argv), c.now)
    return OK


@command("msetnx", arity=-3, flags="write denyoom", keys=(1, -1, 2), group="string", traits="core")
def msetnx(c, argv):
    """MSETNX key value [key value ...]"""
    return 1 if c.db.mset(_pairs(argv), c.now, nx=True) else 0


# ---- counters ----


@command("incr", arity=2, flags="write denyoom fast", keys=(1, 1, 1), group="string")
def incr(c, argv):
    """INCR key"""
    return c.db.incr_by(argv[1], 1, c.now)


@command("decr", arity=2, flags="write denyoom fast", keys=(1, 1, 1), group="string")
def decr(c, argv):
    """DECR key"""
    return c.db.incr_by(argv[1], -1, c.now)


@command("incrby", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string")
def incrby(c, argv):
    """INCRBY key increment"""
    return c.db.incr_by(argv[1], int_arg(argv[2]), c.now)


@command("decrby", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string")
def decrby(c, argv):
    """DECRBY key decrement"""
    delta = int_arg(argv[2])
    if delta == -LLONG_MAX - 1:
        raise errors.err("decrement would overflow")
    return c.db.incr_by(argv[1], -delta, c.now)


@command(
    "incrbyfloat",
    arity=3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="string",
    traits="core",
)
def incrbyfloat(c, argv):
    """INCRBYFLOAT key increment"""
    incr = argv[2]

    def add(old: bytes | None) -> bytes:
        try:
            return ld_add(b"0" if old is None else old, incr)
        except ValueError:
            raise CommandError(errors.NOT_FLOAT) from None
        except OverflowError:
            raise errors.err("increment would produce NaN or Infinity") from None

    return c.db.incr_by_float(argv[1], add, c.now)


# ---- APPEND / STRLEN / ranges ----


def _max_len(c) -> int:
    return c.server.config.get_int("proto-max-bulk-len")


def _check_length(c, total: int) -> None:
    if total > _max_len(c):
        raise CommandError(errors.STRING_TOO_LONG)


@command(
    "append", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string", traits="core"
)
def append(c, argv):
    """APPEND key value"""
    suffix = argv[2]

    def cat(old: bytes | None) -> bytes:
        if old is None:
            return suffix
        _check_length(c, len(old) + len(suffix))
        return old + suffix

    value = c.db.update_string(argv[1], c.now, cat)
    return len(value) if value is not None else 0


@command("strlen", arity=2, flags="readonly fast", keys=(1, 1, 1), group="string")
def strlen(c, argv):
    """STRLEN key"""
    value = c.db.get(argv[1], c.now)
    return 0 if value is None else len(value)


@command("setrange", arity=4, flags="write denyoom", keys=(1, 1, 1), group="string", traits="core")
def setrange(c, argv):
    """SETRANGE key offset value"""
    offset = int_arg(argv[2])
    if offset < 0:
        raise errors.err("offset is out of range")
    piece = argv[3]

    def patch(old: bytes | None) -> bytes | None:
        if not piece:
            return None  # nothing to write: reply the current length
        _check_length(c, offset + len(piece))
        old = old or b""
        # One copy into the result: values may be hundreds of MB.
        if offset >= len(old):
            return b"".join((old, bytes(offset - len(old)), piece))
        view = memoryview(old)
        return b"".join((view[:offset], piece, view[offset + len(piece) :]))

    value = c.db.update_string(argv[1], c.now, patch, ENC_RAW, ENC_RAW)
    return 0 if value is None else len(value)


def _getrange(c, argv):
    start = int_arg(argv[2])
    end = int_arg(argv[3])
    value = c.db.get(argv[1], c.now)
    if value is None:
        return b""
    n = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = n + start
    if end < 0:
        end = n + end
    start = max(start, 0)
    end = max(end, 0)
    if end >= n:
        end = n - 1
    if start > end or n == 0:
        return b""
    return value[start : end + 1]


@command("getrange", arity=4, flags="readonly", keys=(1, 1, 1), group="string", traits="core")
def getrange(c, argv):
    """GETRANGE key start end"""
    return _getrange(c, argv)


@command("substr", arity=4, flags="readonly", keys=(1, 1, 1), group="string")
def substr(c, argv):
    """SUBSTR key start end"""
    return _getrange(c, argv)


# ---- LCS ----


@command("lcs", arity=-3, flags="readonly", keys=(1, 2, 1), group="string")
def lcs(c, argv):
    """LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]"""
    now = c.now
    db = c.db
    ma = db.lookup(argv[1], now)
    mb = db.lookup(argv[2], now)
    if (ma is not None and ma.type != T_STRING) or (mb is not None and mb.type != T_STRING):
        raise errors.err("The specified keys must contain string values")
    a = ma.value if ma is not None else b""
    b = mb.value if mb is not None else b""
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    args = ArgCursor(argv, 3)
    while args:
        opt = args.next_upper()
        if opt == b"IDX":
            getidx = True
        elif opt == b"LEN":
            getlen = True
        elif opt == b"WITHMATCHLEN":
            withmatchlen = True
        elif opt == b"MINMATCHLEN" and args:
            minmatchlen = max(0, args.take_int())
        else:
            raise syntax_error()
    if getlen and getidx:
        raise errors.err("If you want both the length and indexes, please just use IDX.")
    if (len(a) + 1) * (len(b) + 1) * 4 > _max_len(c):
        raise errors.err("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    rows = _lcs_rows(a, b)
    total = _lcs_at(rows, len(a), len(b))
    if getlen:
        return total
    text, matches = _lcs_walk(a, b, rows, minmatchlen, withmatchlen)
    if getidx:
        return {b"matches": matches, b"len": total}
    return text


def _lcs_rows(a: bytes, b: bytes) -> list[int]:
    """The LCS table of a and b, one bit-vector per row (Hyyrö's bit-parallel LCS):
    LCS(a[:i], b[:j]) = j - popcount(rows[i] & (2**j - 1)). Python's big ints make each
    row a handful of C-speed operations instead of len(b) interpreted steps."""
    full = (1 << len(b)) - 1
    masks: dict[int, int] = {}
    for j, ch in enumerate(b):
        masks[ch] = masks.get(ch, 0) | (1 << j)
    v = full
    rows = [v]
    for ch in a:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
        rows.append(v)
    return rows


def _lcs_at(rows: list[int], i: int, j: int) -> int:
    return j - (rows[i] & ((1 << j) - 1)).bit_count()


def _lcs_walk(
    a: bytes, b: bytes, rows: list[int], minmatchlen: int, withmatchlen: bool
) -> tuple[bytes, list]:
    """Redis's backtrack from (len a, len b): the LCS text and the IDX ranges, in its order."""
    alen = len(a)
    i, j = alen, len(b)
    idx = _lcs_at(rows, i, j)
    out = bytearray(idx)
    matches: list = []
    astart = alen  # alen: no range being tracked
    aend = bstart = bend = 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            out[idx - 1] = a[i - 1]
            if astart == alen:
                astart = aend = i - 1
                bstart = bend = j - 1
            elif astart == i and bstart == j:
                astart -= 1
                bstart -= 1
            else:
                emit = True
            if astart == 0 or bstart == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if _lcs_at(rows, i - 1, j) > _lcs_at(rows, i, j - 1):
                i -= 1
            else:
                j -= 1
            if astart != alen:
                emit = True
        if emit:
            mlen = aend - astart + 1
            if minmatchlen == 0 or mlen >= minmatchlen:
                m = [[astart, aend], [bstart, bend]]
                if withmatchlen:
                    m.append(mlen)
                matches.append(m)
            astart = alen
    return bytes(out), matches
