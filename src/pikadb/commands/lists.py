"""List commands (Redis t_list.c): pushes and pops, ranges, in-place edits, LPOS, LMOVE,
LMPOP, and the blocking family BLPOP/BRPOP/BLMOVE/BRPOPLPUSH/BLMPOP.

Handlers parse arguments in Redis's order (which error wins is visible to clients), read the
clock once and call storage/lists.py. A blocking command that finds nothing to pop hands the
client to the server's blocking registry (server/blocking.py) with a `serve(key)` closure
that completes the command once key has data; inside MULTI it answers like a timeout at once.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext

from pikadb import errors
from pikadb.commands import connection as _connection  # noqa: F401  (declares CLIENT)
from pikadb.commands.args import int_arg, parse_int, syntax_error
from pikadb.commands.table import Route, command
from pikadb.errors import CommandError, WrongTypeError
from pikadb.keycodec import T_LIST
from pikadb.protocol import NULL_ARRAY, OK, parse_ld
from pikadb.storage import lists
from pikadb.storage.strings import LLONG_MAX

TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
MUST_BE_POSITIVE = "ERR value is out of range, must be positive"
RANK_ZERO = (
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)
NUMKEYS = "ERR numkeys should be greater than 0"
COUNT_POSITIVE = "ERR count should be greater than 0"


# ---- argument helpers ----


def timeout_arg(arg: bytes) -> int:
    """Redis 7.0's getTimeoutFromObjectOrReply in seconds -> milliseconds (0 = forever).

    The text is a C long double (strtold, hex included); ms = ceil(seconds * 1000) cast to
    long long. A value beyond the long long range comes out negative there (x86's cast of an
    out-of-range value), hence "timeout is negative" for 1e20 or inf; -0.0001 rounds up to
    0, which is "forever"."""
    if not parse_ld(arg):
        raise CommandError(TIMEOUT_NOT_FLOAT)
    text = arg.decode("ascii", "replace")
    try:
        d = Decimal(text)
    except InvalidOperation:
        try:
            d = Decimal(float.fromhex(text))  # hex floats: strtold takes them, not Decimal
        except OverflowError:  # beyond a double, within a long double: hugely positive
            raise CommandError(errors.TIMEOUT_NEGATIVE) from None
    if not d.is_finite() or d.adjusted() > 19:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    with localcontext() as ctx:
        ctx.prec = 80
        ms = int((d * 1000).to_integral_value(rounding=ROUND_CEILING))
    if ms < 0 or ms > LLONG_MAX:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    return ms


def _positive(arg: bytes, error: str) -> int:
    """getPositiveLongFromObjectOrReply: 0..LONG_MAX, one text for both failures."""
    v = int_arg(arg, error)
    if v < 0:
        raise CommandError(error)
    return v


def _where(arg: bytes) -> bool:
    """LEFT | RIGHT -> True for left (getListPositionFromObjectOrReply)."""
    w = arg.upper()
    if w == b"LEFT":
        return True
    if w == b"RIGHT":
        return False
    raise syntax_error()


def _mpop_args(argv: list[bytes], numkeys_idx: int) -> tuple[list[bytes], bool, int]:
    """LMPOP/BLMPOP's numkeys key [key ...] LEFT|RIGHT [COUNT count] -> (keys, left, count)."""
    numkeys = int_arg(argv[numkeys_idx], NUMKEYS)
    if numkeys < 1:
        raise CommandError(NUMKEYS)
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise syntax_error()
    left = _where(argv[where_idx])
    count = -1
    j = where_idx + 1
    while j < len(argv):
        if count == -1 and argv[j].upper() == b"COUNT" and j + 1 < len(argv):
            count = int_arg(argv[j + 1], COUNT_POSITIVE)
            if count < 1:
                raise CommandError(COUNT_POSITIVE)
            j += 2
        else:
            raise syntax_error()
    return argv[numkeys_idx + 1 : where_idx], left, 1 if count == -1 else count


def _numkeys_keys(numkeys_idx: int):
    """Key positions of a numkeys-prefixed key list (COMMAND GETKEYS, routing)."""

    def keys(argv: list[bytes]) -> list[int]:
        try:
            n = int(argv[numkeys_idx])
        except (IndexError, ValueError):
            return []
        if n < 1 or numkeys_idx + n >= len(argv):
            return []
        return list(range(numkeys_idx + 1, numkeys_idx + n + 1))

    return keys


# ---- push / pop / length ----


@command("lpush", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="list", traits="core")
def lpush(c, argv):
    """LPUSH key element [element ...]"""
    return lists.push(c.db, argv[1], argv[2:], c.now, left=True)


@command("rpush", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="list", traits="core")
def rpush(c, argv):
    """RPUSH key element [element ...]"""
    return lists.push(c.db, argv[1], argv[2:], c.now, left=False)


@command(
    "lpushx", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="list", traits="core"
)
def lpushx(c, argv):
    """LPUSHX key element [element ...]"""
    return lists.push(c.db, argv[1], argv[2:], c.now, left=True, xx=True)


@command(
    "rpushx", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="list", traits="core"
)
def rpushx(c, argv):
    """RPUSHX key element [element ...]"""
    return lists.push(c.db, argv[1], argv[2:], c.now, left=False, xx=True)


def _pop(c, argv, left: bool):
    if len(argv) > 3:
        raise errors.wrong_arity(argv[0].decode("utf-8", "replace").lower())
    if len(argv) == 3:
        count = _positive(argv[2], MUST_BE_POSITIVE)
        r = lists.pop(c.db, argv[1], c.now, left=left, count=count)
        return NULL_ARRAY if r is None else r
    return lists.pop(c.db, argv[1], c.now, left=left)


@command("lpop", arity=-2, flags="write fast", keys=(1, 1, 1), group="list", traits="core")
def lpop(c, argv):
    """LPOP key [count]"""
    return _pop(c, argv, True)


@command("rpop", arity=-2, flags="write fast", keys=(1, 1, 1), group="list", traits="core")
def rpop(c, argv):
    """RPOP key [count]"""
    return _pop(c, argv, False)


@command("llen", arity=2, flags="readonly fast", keys=(1, 1, 1), group="list", traits="core")
def llen(c, argv):
    """LLEN key"""
    return lists.llen(c.db, argv[1], c.now)


# ---- ranges and positions ----


@command("lrange", arity=4, flags="readonly", keys=(1, 1, 1), group="list", traits="core")
def lrange(c, argv):
    """LRANGE key start stop"""
    start, stop = int_arg(argv[2]), int_arg(argv[3])
    return lists.lrange(c.db, argv[1], start, stop, c.now)


@command("lindex", arity=3, flags="readonly", keys=(1, 1, 1), group="list", traits="core")
def lindex(c, argv):
    """LINDEX key index"""
    db, now = c.db, c.now
    index = parse_int(argv[2])
    if index is None:
        # Redis looks the key up (nil, WRONGTYPE) before it parses the index.
        if lists.llen(db, argv[1], now) == 0:
            return None
        raise CommandError(errors.NOT_INTEGER)
    return lists.lindex(db, argv[1], index, now)


@command("lset", arity=4, flags="write denyoom", keys=(1, 1, 1), group="list", traits="core")
def lset(c, argv):
    """LSET key index element"""
    db, now = c.db, c.now
    index = parse_int(argv[2])
    if index is None:
        if lists.llen(db, argv[1], now) == 0:  # no such key / WRONGTYPE come first
            raise CommandError(errors.NO_SUCH_KEY)
        raise CommandError(errors.NOT_INTEGER)
    lists.lset(db, argv[1], index, argv[3], now)
    return OK


@command("linsert", arity=5, flags="write denyoom", keys=(1, 1, 1), group="list")
def linsert(c, argv):
    """LINSERT key BEFORE|AFTER pivot element"""
    where = argv[2].upper()
    if where not in (b"BEFORE", b"AFTER"):
        raise syntax_error()
    return lists.linsert(c.db, argv[1], where == b"BEFORE", argv[3], argv[4], c.now)


@command("lrem", arity=4, flags="write", keys=(1, 1, 1), group="list", traits="core")
def lrem(c, argv):
    """LREM key count element"""
    count = int_arg(argv[2])
    return lists.lrem(c.db, argv[1], count, argv[3], c.now)


@command("ltrim", arity=4, flags="write", keys=(1, 1, 1), group="list", traits="core")
def ltrim(c, argv):
    """LTRIM key start stop"""
    start, stop = int_arg(argv[2]), int_arg(argv[3])
    lists.ltrim(c.db, argv[1], start, stop, c.now)
    return OK


@command("lpos", arity=-3, flags="readonly", keys=(1, 1, 1), group="list")
def lpos(c, argv):
    """LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]"""
    rank, count, maxlen = 1, None, 0
    j, n = 3, len(argv)
    while j < n:
        opt = argv[j].upper()
        if j + 1 >= n:
            raise syntax_error()
        if opt == b"RANK":
            rank = int_arg(argv[j + 1])
            if rank == 0:
                raise CommandError(RANK_ZERO)
        elif opt == b"COUNT":
            count = _positive(argv[j + 1], "ERR COUNT can't be negative")
        elif opt == b"MAXLEN":
            maxlen = _positive(argv[j + 1], "ERR MAXLEN can't be negative")
        else:
            raise syntax_error()
        j += 2
    return lists.lpos(c.db, argv[1], argv[2], c.now, rank=rank, count=count, maxlen=maxlen)


# ---- moves and multi-key pops ----


@command("lmove", arity=5, flags="write denyoom", keys=(1, 2, 1), group="list")
def lmove(c, argv):
    """LMOVE source destination LEFT|RIGHT LEFT|RIGHT"""
    from_left, to_left = _where(argv[3]), _where(argv[4])
    return lists.lmove(c.db, argv[1], argv[2], c.now, from_left=from_left, to_left=to_left)


@command("rpoplpush", arity=3, flags="write denyoom", keys=(1, 2, 1), group="list")
def rpoplpush(c, argv):
    """RPOPLPUSH source destination"""
    return lists.lmove(c.db, argv[1], argv[2], c.now, from_left=False, to_left=True)


@command("lmpop", arity=-4, flags="write", keys=_numkeys_keys(1), group="list")
def lmpop(c, argv):
    """LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]"""
    keys, left, count = _mpop_args(argv, 1)
    r = lists.mpop(c.db, keys, c.now, left=left, count=count)
    return NULL_ARRAY if r is None else list(r)


# ---- blocking ----


def _first_list(db, keys: list[bytes], now: int) -> bytes | None:
    """The first key holding a list; WRONGTYPE if another type comes first (missing keys
    are skipped), as blockingPopGenericCommand walks them."""
    for key in keys:
        meta = db.lookup(key, now)
        if meta is None:
            continue
        if meta.type != T_LIST:
            raise WrongTypeError()
        return key
    return None


def _blocking_pop(c, keys: list[bytes], timeout: int, left: bool, count: int | None):
    """BLPOP/BRPOP (count None: reply [key, element]) and BLMPOP (reply [key, [elements]])."""
    db, now = c.db, c.now
    key = _first_list(db, keys, now)
    if key is not None:
        return [key, lists.pop(db, key, now, left=left, count=count)]
    blocking = c.server.blocking
    if not blocking.may_block(c):
        return NULL_ARRAY

    def serve(ready: bytes):
        v = lists.blocking_pop(db, ready, c.now, left=left, count=count)
        return None if v is None else [ready, v]

    return blocking.block(c, keys, timeout, serve)


@command("blpop", arity=-3, flags="write noscript blocking", keys=(1, -2, 1), group="list")
def blpop(c, argv):
    """BLPOP key [key ...] timeout"""
    return _blocking_pop(c, argv[1:-1], timeout_arg(argv[-1]), True, None)


@command("brpop", arity=-3, flags="write noscript blocking", keys=(1, -2, 1), group="list")
def brpop(c, argv):
    """BRPOP key [key ...] timeout"""
    return _blocking_pop(c, argv[1:-1], timeout_arg(argv[-1]), False, None)


@command("blmpop", arity=-5, flags="write blocking", keys=_numkeys_keys(2), group="list")
def blmpop(c, argv):
    """BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]"""
    keys, left, count = _mpop_args(argv, 2)
    return _blocking_pop(c, keys, timeout_arg(argv[1]), left, count)


def _blocking_move(c, src: bytes, dst: bytes, timeout: int, from_left: bool, to_left: bool):
    db, now = c.db, c.now
    meta = db.lookup(src, now)
    if meta is not None:
        if meta.type != T_LIST:
            raise WrongTypeError()
        return lists.lmove(db, src, dst, now, from_left=from_left, to_left=to_left)
    blocking = c.server.blocking
    if not blocking.may_block(c):
        return None  # a null bulk, as LMOVE on a missing source

    def serve(ready: bytes):
        now = c.now
        m = db.lookup(src, now)
        if m is None or m.type != T_LIST:
            return None
        # A destination of the wrong type answers WRONGTYPE and unblocks (Redis does too).
        return lists.lmove(db, src, dst, now, from_left=from_left, to_left=to_left)

    return blocking.block(c, [src], timeout, serve)


@command("blmove", arity=6, flags="write denyoom noscript blocking", keys=(1, 2, 1), group="list")
def blmove(c, argv):
    """BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout"""
    from_left, to_left = _where(argv[3]), _where(argv[4])
    return _blocking_move(c, argv[1], argv[2], timeout_arg(argv[5]), from_left, to_left)


@command(
    "brpoplpush", arity=4, flags="write denyoom noscript blocking", keys=(1, 2, 1), group="list"
)
def brpoplpush(c, argv):
    """BRPOPLPUSH source destination timeout"""
    return _blocking_move(c, argv[1], argv[2], timeout_arg(argv[3]), False, True)


# CLIENT UNBLOCK lives with the blocking family it serves (the CLIENT container is declared
# in commands/connection.py, imported above).
@command(
    "client|unblock",
    arity=-3,
    flags="admin noscript loading stale",
    group="connection",
    route=Route.CLIENT_ID,
)
def client_unblock(c, argv):
    """CLIENT UNBLOCK client-id [TIMEOUT|ERROR]"""
    if len(argv) > 4:
        raise errors.subcommand_syntax(argv[1], "client")
    error = False
    if len(argv) == 4:
        reason = argv[3].upper()
        if reason not in (b"TIMEOUT", b"ERROR"):
            raise CommandError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        error = reason == b"ERROR"
    target = c.server.clients.get(int_arg(argv[2]))
    if target is not None and target.blocked is None and c.server.router is not None:
        # Blocked on the worker owning its keys (server/routing.py).
        return 1 if c.server.router.unblock_remote(target, error) else 0
    if target is None or target.blocked is None:
        return 0
    return 1 if c.server.blocking.unblock(target, error) else 0
