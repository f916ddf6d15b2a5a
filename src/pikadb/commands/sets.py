"""Set commands (Redis t_set.c): membership, random picks, SMOVE, set algebra, SSCAN.

Handlers parse arguments, read the clock once and call the Database set methods
(storage/sets.py). Order of checks follows Redis 7.0: argument shape (SPOP/SRANDMEMBER
with too many arguments are syntax errors before anything), numeric arguments, then key
types (every key of SINTER & co. is type-checked, missing ones or not), then the data.

Replies that Redis sends as RESP3 sets (SMEMBERS, SINTER, SUNION, SDIFF, SPOP with a
count) are SetReply values: '~' in RESP3, an array in RESP2, in the order the storage
layer chose (numeric for intsets, as Redis lists them).
"""

from __future__ import annotations

from collections.abc import Iterator

from pikadb.commands.args import syntax_error
from pikadb.commands.hashes import (
    EMPTY_SCAN,
    rand_count,
    rand_repeated,
    resp_size,
    scan_options,
    scan_reply,
)
from pikadb.commands.keys import parse_cursor
from pikadb.commands.table import command
from pikadb.errors import CommandError
from pikadb.storage.sets import DIFF, INTER, UNION, SetLimits
from pikadb.storage.strings import parse_int

NUMKEYS = "ERR numkeys should be greater than 0"
TOO_MANY_NUMKEYS = "ERR Number of keys can't be greater than number of args"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
NOT_POSITIVE = "ERR value is out of range, must be positive"


class SetReply(frozenset):
    """A RESP3 set reply ('~'; RESP2 '*') whose elements come in a chosen order.

    The compiled encoder writes any frozenset subclass through len() and iteration, so this
    one is an empty frozenset that reports and yields its own list: a plain set would come
    out in hash order, and building one would hash every member for nothing."""

    __slots__ = ("items",)

    def __new__(cls, items: list[bytes]) -> SetReply:
        self = super().__new__(cls)
        self.items = items
        return self

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.items)

    def __repr__(self) -> str:
        return f"SetReply({self.items!r})"


# ---- encoding limit, kept in step with CONFIG SET ----

_limits: tuple[object, SetLimits] | None = None


def set_limits(c) -> SetLimits:
    """set-max-intset-entries of this server, updated by a config listener."""
    global _limits
    cfg = c.server.config
    if _limits is not None and _limits[0] is cfg:
        return _limits[1]
    lim = SetLimits(cfg.get_int("set-max-intset-entries"))

    def entries(v: str) -> None:
        lim.max_intset = int(v)

    cfg.on_change("set-max-intset-entries", entries)
    _limits = (cfg, lim)
    return lim


# ---- members ----


@command("sadd", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="set", traits="core")
def sadd(c, argv):
    """SADD key member [member ...]"""
    return c.db.sadd(argv[1], argv[2:], c.now, set_limits(c))


@command("srem", arity=-3, flags="write fast", keys=(1, 1, 1), group="set", traits="core")
def srem(c, argv):
    """SREM key member [member ...]"""
    return c.db.srem(argv[1], argv[2:], c.now)


@command("scard", arity=2, flags="readonly fast", keys=(1, 1, 1), group="set", traits="core")
def scard(c, argv):
    """SCARD key"""
    return c.db.scard(argv[1], c.now)


@command("sismember", arity=3, flags="readonly fast", keys=(1, 1, 1), group="set", traits="core")
def sismember(c, argv):
    """SISMEMBER key member"""
    return 1 if c.db.sismember(argv[1], argv[2], c.now) else 0


@command("smismember", arity=-3, flags="readonly fast", keys=(1, 1, 1), group="set", traits="core")
def smismember(c, argv):
    """SMISMEMBER key member [member ...]"""
    return c.db.smismember(argv[1], argv[2:], c.now)


@command("smembers", arity=2, flags="readonly", keys=(1, 1, 1), group="set", traits="core")
def smembers(c, argv):
    """SMEMBERS key"""
    return SetReply(c.db.smembers(argv[1], c.now))


@command("smove", arity=4, flags="write fast", keys=(1, 2, 1), group="set")
def smove(c, argv):
    """SMOVE source destination member"""
    return 1 if c.db.smove(argv[1], argv[2], argv[3], c.now, set_limits(c)) else 0


# ---- random picks ----


@command("srandmember", arity=-2, flags="readonly", keys=(1, 1, 1), group="set", traits="core")
def srandmember(c, argv):
    """SRANDMEMBER key [count]"""
    if len(argv) > 3:
        raise syntax_error()
    if len(argv) == 2:
        picked = c.db.srandmember(argv[1], None, c.now)
        return picked[0] if picked else None
    key, count, now = argv[1], rand_count(argv[2]), c.now
    if count >= 0:
        picked = c.db.srandmember(key, count, now)
    else:  # repeats allowed: the reply's size is bounded there (commands/hashes.py)
        picked = rand_repeated(c, count, lambda n: c.db.srandmember(key, n, now), resp_size)
    return picked or []


@command("spop", arity=-2, flags="write fast", keys=(1, 1, 1), group="set", traits="core")
def spop(c, argv):
    """SPOP key [count]"""
    if len(argv) > 3:
        raise syntax_error()
    if len(argv) == 2:
        popped = c.db.spop(argv[1], None, c.now, set_limits(c))
        return popped[0] if popped else None
    count = parse_int(argv[2])
    if count is None or count < 0:
        raise CommandError(NOT_POSITIVE)
    if count == 0:
        c.db.set_meta(argv[1], c.now)  # WRONGTYPE still wins over the empty reply
        return SetReply([])
    return SetReply(c.db.spop(argv[1], count, c.now, set_limits(c)) or [])


# ---- set algebra ----


@command("sinter", arity=-2, flags="readonly", keys=(1, -1, 1), group="set")
def sinter(c, argv):
    """SINTER key [key ...]"""
    return SetReply(c.db.set_algebra(INTER, argv[1:], c.now))


@command("sunion", arity=-2, flags="readonly", keys=(1, -1, 1), group="set")
def sunion(c, argv):
    """SUNION key [key ...]"""
    return SetReply(c.db.set_algebra(UNION, argv[1:], c.now))


@command("sdiff", arity=-2, flags="readonly", keys=(1, -1, 1), group="set")
def sdiff(c, argv):
    """SDIFF key [key ...]"""
    return SetReply(c.db.set_algebra(DIFF, argv[1:], c.now))


@command("sinterstore", arity=-3, flags="write denyoom", keys=(1, -1, 1), group="set")
def sinterstore(c, argv):
    """SINTERSTORE destination key [key ...]"""
    return c.db.set_algebra_store(INTER, argv[1], argv[2:], c.now, set_limits(c))


@command("sunionstore", arity=-3, flags="write denyoom", keys=(1, -1, 1), group="set")
def sunionstore(c, argv):
    """SUNIONSTORE destination key [key ...]"""
    return c.db.set_algebra_store(UNION, argv[1], argv[2:], c.now, set_limits(c))


@command("sdiffstore", arity=-3, flags="write denyoom", keys=(1, -1, 1), group="set")
def sdiffstore(c, argv):
    """SDIFFSTORE destination key [key ...]"""
    return c.db.set_algebra_store(DIFF, argv[1], argv[2:], c.now, set_limits(c))


def _sintercard_keys(argv: list[bytes]) -> list[int]:
    """Key positions of SINTERCARD numkeys key [key ...] (none if numkeys is unusable)."""
    n = parse_int(argv[1]) if len(argv) > 1 else None
    if n is None or n < 1 or n > len(argv) - 2:
        return []
    return list(range(2, 2 + n))


@command("sintercard", arity=-3, flags="readonly", keys=_sintercard_keys, group="set")
def sintercard(c, argv):
    """SINTERCARD numkeys key [key ...] [LIMIT limit]"""
    numkeys = parse_int(argv[1])
    if numkeys is None or numkeys < 1:
        raise CommandError(NUMKEYS)
    if numkeys > len(argv) - 2:
        raise CommandError(TOO_MANY_NUMKEYS)
    limit = 0
    i = 2 + numkeys
    while i < len(argv):
        if argv[i].lower() == b"limit" and i + 1 < len(argv):
            limit = parse_int(argv[i + 1])  # type: ignore[assignment]
            if limit is None or limit < 0:
                raise CommandError(LIMIT_NEGATIVE)
            i += 2
        else:
            raise syntax_error()
    return c.db.sintercard(argv[2 : 2 + numkeys], limit, c.now)


# ---- SSCAN ----


@command("sscan", arity=-3, flags="readonly", keys=(1, 1, 1), group="set")
def sscan(c, argv):
    """SSCAN key cursor [MATCH pattern] [COUNT count]"""
    cursor = parse_cursor(argv[2])
    db = c.db
    meta = db.set_meta(argv[1], c.now)
    if meta is None:
        return EMPTY_SCAN  # options are not even looked at, as in Redis
    match, count = scan_options(argv, 3)
    return scan_reply(*db.sscan(argv[1], meta, cursor, match, count))


__all__ = ["SetReply", "set_limits"]
