"""Hash commands (Redis t_hash.c): HSET and friends, counters, HRANDFIELD, HSCAN.

Handlers parse arguments, read the clock once and call the Database hash methods
(storage/hashes.py). Order of checks follows Redis 7.0: argument counts first (HSET's odd
count), then numeric arguments (HINCRBY's increment, HRANDFIELD's count), then the key's
type, then everything that depends on the value.

The *SCAN argument parser at the bottom (cursor, MATCH, COUNT) is shared with SSCAN and
ZSCAN, which parse exactly as HSCAN does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pikadb import errors
from pikadb.commands.args import int_arg, syntax_error
from pikadb.commands.keys import parse_cursor
from pikadb.commands.table import command
from pikadb.errors import CommandError
from pikadb.protocol import OK, ld_add
from pikadb.storage.hashes import HashLimits
from pikadb.storage.strings import LLONG_MAX, LLONG_MIN, parse_int

HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
NAN_OR_INF = "ERR value is NaN or Infinity"
RESULT_NAN_OR_INF = "ERR increment would produce NaN or Infinity"
OUT_OF_RANGE = "ERR value is out of range"
# getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX) without a custom message.
COUNT_RANGE = f"ERR value is out of range, value must between {-LLONG_MAX} and {LLONG_MAX}"

T = TypeVar("T")

EMPTY_SCAN = (b"0", ())  # immutable: handed out as the reply itself


# ---- encoding limits, kept in step with CONFIG SET ----

_limits: tuple[object, HashLimits] | None = None


def hash_limits(c) -> HashLimits:
    """hash-max-listpack-entries/-value of this server, updated by config listeners."""
    global _limits
    cfg = c.server.config
    if _limits is not None and _limits[0] is cfg:
        return _limits[1]
    lim = HashLimits(
        cfg.get_int("hash-max-listpack-entries"), cfg.get_int("hash-max-listpack-value")
    )

    def entries(v: str) -> None:
        lim.max_entries = int(v)

    def value(v: str) -> None:
        lim.max_value = int(v)

    cfg.on_change("hash-max-listpack-entries", entries)
    cfg.on_change("hash-max-listpack-value", value)
    _limits = (cfg, lim)
    return lim


# ---- HSET family ----


def _field_pairs(argv: list[bytes]) -> list[tuple[bytes, bytes]]:
    if len(argv) % 2:
        raise errors.wrong_arity(argv[0].decode("utf-8", "replace").lower())
    return list(zip(argv[2::2], argv[3::2], strict=True))


@command("hset", arity=-4, flags="write denyoom fast", keys=(1, 1, 1), group="hash", traits="core")
def hset(c, argv):
    """HSET key field value [field value ...]"""
    return c.db.hset(argv[1], _field_pairs(argv), c.now, hash_limits(c))


@command("hmset", arity=-4, flags="write denyoom fast", keys=(1, 1, 1), group="hash", traits="core")
def hmset(c, argv):
    """HMSET key field value [field value ...]"""
    c.db.hset(argv[1], _field_pairs(argv), c.now, hash_limits(c))
    return OK


@command("hsetnx", arity=4, flags="write denyoom fast", keys=(1, 1, 1), group="hash", traits="core")
def hsetnx(c, argv):
    """HSETNX key field value"""
    return 1 if c.db.hsetnx(argv[1], argv[2], argv[3], c.now, hash_limits(c)) else 0


@command("hget", arity=3, flags="readonly fast", keys=(1, 1, 1), group="hash", traits="core")
def hget(c, argv):
    """HGET key field"""
    return c.db.hget(argv[1], argv[2], c.now)


@command("hmget", arity=-3, flags="readonly fast", keys=(1, 1, 1), group="hash", traits="core")
def hmget(c, argv):
    """HMGET key field [field ...]"""
    return c.db.hmget(argv[1], argv[2:], c.now)


@command("hdel", arity=-3, flags="write fast", keys=(1, 1, 1), group="hash", traits="core")
def hdel(c, argv):
    """HDEL key field [field ...]"""
    return c.db.hdel(argv[1], argv[2:], c.now)


@command("hlen", arity=2, flags="readonly fast", keys=(1, 1, 1), group="hash", traits="core")
def hlen(c, argv):
    """HLEN key"""
    return c.db.hlen(argv[1], c.now)


@command("hstrlen", arity=3, flags="readonly fast", keys=(1, 1, 1), group="hash", traits="core")
def hstrlen(c, argv):
    """HSTRLEN key field"""
    return c.db.hstrlen(argv[1], argv[2], c.now)


@command("hexists", arity=3, flags="readonly fast", keys=(1, 1, 1), group="hash", traits="core")
def hexists(c, argv):
    """HEXISTS key field"""
    return 1 if c.db.hexists(argv[1], argv[2], c.now) else 0


# ---- whole-hash reads ----


@command("hkeys", arity=2, flags="readonly", keys=(1, 1, 1), group="hash", traits="core")
def hkeys(c, argv):
    """HKEYS key"""
    return c.db.hkeys(argv[1], c.now)


@command("hvals", arity=2, flags="readonly", keys=(1, 1, 1), group="hash", traits="core")
def hvals(c, argv):
    """HVALS key"""
    return c.db.hvals(argv[1], c.now)


@command("hgetall", arity=2, flags="readonly", keys=(1, 1, 1), group="hash", traits="core")
def hgetall(c, argv):
    """HGETALL key"""
    return dict(c.db.hgetall(argv[1], c.now))  # a map in RESP3, a flat array in RESP2


# ---- counters ----


@command(
    "hincrby", arity=4, flags="write denyoom fast", keys=(1, 1, 1), group="hash", traits="core"
)
def hincrby(c, argv):
    """HINCRBY key field increment"""
    delta = int_arg(argv[3])

    def add(old: bytes | None) -> bytes:
        if old is None:
            return b"%d" % delta
        v = parse_int(old)
        if v is None:
            raise CommandError(HASH_NOT_INTEGER)
        result = v + delta
        if result > LLONG_MAX or result < LLONG_MIN:
            raise CommandError(errors.OVERFLOW)
        return b"%d" % result

    return int(c.db.hupdate(argv[1], argv[2], add, c.now, hash_limits(c)))


@command(
    "hincrbyfloat", arity=4, flags="write denyoom fast", keys=(1, 1, 1), group="hash", traits="core"
)
def hincrbyfloat(c, argv):
    """HINCRBYFLOAT key field increment"""
    incr = argv[3]
    try:
        ld_add(b"0", incr)  # strtold's verdict on the increment alone
    except ValueError:
        raise CommandError(errors.NOT_FLOAT) from None
    except OverflowError:
        raise CommandError(NAN_OR_INF) from None

    def add(old: bytes | None) -> bytes:
        try:
            return ld_add(b"0" if old is None else old, incr)
        except ValueError:
            raise CommandError(HASH_NOT_FLOAT) from None
        except OverflowError:
            raise CommandError(RESULT_NAN_OR_INF) from None

    return c.db.hupdate(argv[1], argv[2], add, c.now, hash_limits(c))


# ---- HRANDFIELD ----


def rand_count(arg: bytes) -> int:
    """getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX): the *RAND* count argument."""
    v = int_arg(arg)
    if v < -LLONG_MAX:
        raise CommandError(COUNT_RANGE)
    return v


# A negative count repeats elements, so the size of the reply follows the count, not the
# collection: HRANDFIELD h -9223372036854775807 asks for more than any memory holds. Redis
# 7.0 builds such a reply until the machine runs out of memory (its one check, a count
# beyond +-LONG_MAX/2 with WITHVALUES/WITHSCORES, guards the doubled count's overflow and
# stays, with its text, before the key is looked up). pikad refuses instead, with that same
# "ERR value is out of range", any negative count whose reply would take more than
# proto-max-bulk-len bytes on the wire: the largest value pikad accepts is also the largest
# reply it builds for one command (Redis bounds LCS's transient memory by the same
# directive), and the reply is built whole in memory before it is written (a few times its
# wire size while it exists as Python objects). The bound is on bytes, not elements: a count
# bound low enough to protect memory from big elements would refuse harmless requests for
# small ones. The size is estimated before anything big is built: |count| times the mean
# size of RAND_SAMPLE random picks from the same collection (picks are uniform, so that is
# the reply's expected size); when |count| <= RAND_SAMPLE those picks are the reply itself.
# A missing key still answers an empty array and another type WRONGTYPE, as in Redis.
RAND_SAMPLE = 16


def resp_size(b: bytes) -> int:
    """Bytes of b sent as a RESP bulk string: $<len> CRLF <b> CRLF."""
    n = len(b)
    return n + len(str(n)) + 5


def rand_repeated(
    c, count: int, pick: Callable[[int], list[T] | None], size: Callable[[T], int]
) -> list[T] | None:
    """The reply elements of a negative *RAND* count (pick(n) draws them, None for a missing
    key), or "value is out of range" if the reply would exceed proto-max-bulk-len bytes."""
    n = -count
    sample = pick(-min(n, RAND_SAMPLE))
    if not sample:
        return sample
    limit = c.server.config.get_int("proto-max-bulk-len")
    if n * sum(map(size, sample)) > limit * len(sample):
        raise CommandError(OUT_OF_RANGE)
    return sample if n <= RAND_SAMPLE else pick(count)


@command("hrandfield", arity=-2, flags="readonly", keys=(1, 1, 1), group="hash")
def hrandfield(c, argv):
    """HRANDFIELD key [count [WITHVALUES]]"""
    if len(argv) == 2:
        picked = c.db.hrandfield(argv[1], None, c.now)
        return None if not picked else picked[0][0]
    count = rand_count(argv[2])
    withvalues = False
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withvalues"):
        raise syntax_error()
    if len(argv) == 4:
        withvalues = True
        if count < -(LLONG_MAX // 2) or count > LLONG_MAX // 2:
            raise CommandError(OUT_OF_RANGE)  # count * 2 would overflow
    key, now = argv[1], c.now
    if count >= 0:
        pairs = c.db.hrandfield(key, count, now)
    else:
        pairs = rand_repeated(
            c,
            count,
            lambda n: c.db.hrandfield(key, n, now),
            lambda p: resp_size(p[0]) + (resp_size(p[1]) if withvalues else 0),
        )
    if not pairs:
        return []
    if not withvalues:
        return [f for f, _ in pairs]
    if c.proto == 3:
        return [[f, v] for f, v in pairs]
    out: list[bytes] = []
    for f, v in pairs:
        out.append(f)
        out.append(v)
    return out


# ---- HSCAN (and the parser SSCAN / ZSCAN share) ----


def scan_options(argv: list[bytes], start: int) -> tuple[bytes | None, int]:
    """MATCH / COUNT of HSCAN, SSCAN and ZSCAN (Redis's scanGenericCommand: COUNT < 1 and
    any other word, TYPE included, are syntax errors). -> (pattern or None for all, count)."""
    match: bytes | None = None
    count = 10
    i, n = start, len(argv)
    while i < n:
        opt = argv[i].lower()
        if n - i < 2:
            raise syntax_error()
        if opt == b"count":
            count = int_arg(argv[i + 1])
            if count < 1:
                raise syntax_error()
        elif opt == b"match":
            match = argv[i + 1]
        else:
            raise syntax_error()
        i += 2
    if match == b"*":
        match = None
    return match, count


def scan_reply(cursor: int, items: list) -> list:
    return [b"%d" % cursor, items]


@command("hscan", arity=-3, flags="readonly", keys=(1, 1, 1), group="hash")
def hscan(c, argv):
    """HSCAN key cursor [MATCH pattern] [COUNT count]"""
    cursor = parse_cursor(argv[2])
    db = c.db
    meta = db.hash_meta(argv[1], c.now)
    if meta is None:
        return EMPTY_SCAN  # options are not even looked at, as in Redis
    match, count = scan_options(argv, 3)
    return scan_reply(*db.hscan(argv[1], meta, cursor, match, count))
