"""Sorted-set commands (Redis t_zset.c): ZADD and friends, ranges, pops, set algebra, ZSCAN.

Handlers parse arguments, read the clock once and call the Database zset methods
(storage/zsets.py). The order of checks is Redis 7.0's, because clients see which error
wins: option words, then counts and incompatible options, then every score (ZADD parses
them all before touching the key), then the key's type. ZUNION/ZINTER/ZDIFF look their
keys up (WRONGTYPE) before parsing WEIGHTS/AGGREGATE, as Redis does.

Scores are parsed the two ways Redis parses them: strictly as values (getDoubleFromObject:
no spaces, no trailing bytes, overflow and underflow to 0 rejected, NaN rejected) and
loosely as range bounds (zslParseRange: strtod up to a NUL, leading spaces and "" allowed,
overflow to inf allowed). Replies with scores are flat [member, score, ...] in RESP2 and
[[member, score], ...] in RESP3, scores as doubles (%.17g text in RESP2).

BZPOPMIN/BZPOPMAX/BZMPOP share storage's zpop() with ZPOPMIN/ZMPOP; when none of their keys
exists they hand the client to the server's blocking registry (server/blocking.py) with a
`serve(key)` closure that pops once the key holds a zset, as BLPOP does for lists.
"""

from __future__ import annotations

import re

from pikadb import errors
from pikadb.commands.args import int_arg, syntax_error
from pikadb.commands.hashes import (
    EMPTY_SCAN,
    OUT_OF_RANGE,
    rand_repeated,
    resp_size,
    scan_options,
    scan_reply,
)
from pikadb.commands.keys import parse_cursor
from pikadb.commands.lists import timeout_arg
from pikadb.commands.table import command
from pikadb.errors import CommandError
from pikadb.keycodec import T_ZSET
from pikadb.protocol import NULL_ARRAY, format_double
from pikadb.storage.strings import LLONG_MAX, parse_int
from pikadb.storage.zsets import (
    AGGR_MAX,
    AGGR_MIN,
    AGGR_SUM,
    NEG_INF,
    POS_INF,
    LexRange,
    Pair,
    ScoreRange,
    sorted_pairs,
    zdiff,
    zinter,
    zunion,
)

NOT_FLOAT_RANGE = "ERR min or max is not a float"
NOT_LEX_RANGE = "ERR min or max not valid string range item"
WEIGHT_NOT_FLOAT = "ERR weight value is not a float"
POSITIVE = "ERR value is out of range, must be positive"
NUMKEYS_POSITIVE = "ERR numkeys should be greater than 0"
COUNT_POSITIVE = "ERR count should be greater than 0"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
RANDMEMBER_RANGE = f"ERR value is out of range, value must between {-LLONG_MAX} and {LLONG_MAX}"


# ---- encoding limits, kept in step with CONFIG SET ----

_limits: tuple[object, list[int]] | None = None


def zset_limits(c) -> list[int]:
    """[zset-max-listpack-entries, zset-max-listpack-value] of this server."""
    global _limits
    cfg = c.server.config
    if _limits is not None and _limits[0] is cfg:
        return _limits[1]
    lim = [cfg.get_int("zset-max-listpack-entries"), cfg.get_int("zset-max-listpack-value")]

    def entries(v: str) -> None:
        lim[0] = int(v)

    def value(v: str) -> None:
        lim[1] = int(v)

    cfg.on_change("zset-max-listpack-entries", entries)
    cfg.on_change("zset-max-listpack-value", value)
    _limits = (cfg, lim)
    return lim


# ---- number parsing (C strtod, as Redis calls it) ----

_STRTOD = re.compile(
    rb"""[ \t\n\v\f\r]*
    (?P<sign>[+-]?)
    (?:
        (?P<hex>0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)
      | (?P<dec>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
      | (?P<inf>[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)
      | (?P<nan>[nN][aA][nN](?:\([0-9A-Za-z_]*\))?)
    )""",
    re.X,
)
_HEX_MANTISSA = re.compile(rb"0[xX]([0-9a-fA-F.]*)")  # the digits before any exponent
_INF = float("inf")


def strtod(s: bytes) -> tuple[float, int, bool]:
    """glibc strtod on s: (value, bytes consumed, ERANGE). Nothing parsed: (0.0, 0, False)."""
    m = _STRTOD.match(s)
    if m is None:
        return 0.0, 0, False
    neg = m.group("sign") == b"-"
    erange = False
    if m.group("dec") is not None:
        text = m.group("dec")
        v = float(text)
        if v == _INF:
            erange = True
        elif v == 0.0 and any(48 < ch <= 57 for ch in text.split(b"e")[0].split(b"E")[0]):
            erange = True  # underflow to zero
    elif m.group("hex") is not None:
        text = m.group("hex")
        try:
            v = float.fromhex(text.decode())
        except OverflowError:
            v = _INF
            erange = True
        else:
            # Underflow to zero: a nonzero mantissa that became 0.
            mant = _HEX_MANTISSA.match(text)
            erange = v == 0.0 and mant is not None and bool(mant.group(1).strip(b"0."))
    elif m.group("inf") is not None:
        v = _INF
    else:
        v = float("nan")
    return (-v if neg else v), m.end(), erange


def parse_double(b: bytes, error: str = errors.NOT_FLOAT) -> float:
    """getDoubleFromObjectOrReply: the whole argument is one finite-or-infinite double."""
    if not b or b[0] in b" \t\n\v\f\r":
        raise CommandError(error)
    v, n, erange = strtod(b)
    if n != len(b) or v != v or (erange and (v in (_INF, -_INF) or v == 0.0)):
        raise CommandError(error)
    return v


def _range_item(b: bytes) -> tuple[float, bool] | None:
    """One zslParseRange endpoint: strtod of the C string after an optional '('."""
    ex = b[:1] == b"("
    if ex:
        b = b[1:]
    nul = b.find(b"\x00")
    if nul >= 0:
        b = b[:nul]
    v, n, _ = strtod(b)
    if n != len(b) or v != v:
        return None
    return v, ex


def parse_score_range(lo: bytes, hi: bytes) -> ScoreRange:
    a = _range_item(lo)
    b = _range_item(hi)
    if a is None or b is None:
        raise CommandError(NOT_FLOAT_RANGE)
    return ScoreRange(a[0], b[0], a[1], b[1])


def _lex_item(b: bytes) -> tuple[int | bytes, bool] | None:
    c = b[:1]
    if c == b"+" or c == b"-":
        if len(b) > 1 and b[1] != 0:  # Redis tests the C string
            return None
        return (POS_INF if c == b"+" else NEG_INF), True
    if c == b"(":
        return b[1:], True
    if c == b"[":
        return b[1:], False
    return None


def parse_lex_range(lo: bytes, hi: bytes) -> LexRange:
    a = _lex_item(lo)
    b = _lex_item(hi)
    if a is None or b is None:
        raise CommandError(NOT_LEX_RANGE)
    return LexRange(a[0], b[0], a[1], b[1])


# ---- replies ----


def pairs_reply(c, pairs: list[Pair], withscores: bool) -> list:
    """Members, or member/score pairs: flat in RESP2, nested in RESP3."""
    if not withscores:
        return [m for m, _ in pairs]
    if c.proto == 2:
        out: list = []
        for m, s in pairs:
            out.append(m)
            out.append(s)
        return out
    return [[m, s] for m, s in pairs]


# ---- ZADD / ZINCRBY / ZREM ----


def zadd_generic(c, argv: list[bytes], incr: bool) -> object:
    """zaddGenericCommand (ZINCRBY enters with INCR set and the same option loop)."""
    nx = xx = gt = lt = ch = False
    i, n = 2, len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"ch":
            ch = True
        elif opt == b"incr":
            incr = True
        elif opt == b"gt":
            gt = True
        elif opt == b"lt":
            lt = True
        else:
            break
        i += 1
    elements = n - i
    if elements % 2 or not elements:
        raise syntax_error()
    elements //= 2
    if nx and xx:
        raise errors.err("XX and NX options at the same time are not compatible")
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise errors.err("GT, LT, and/or NX options at the same time are not compatible")
    if incr and elements > 1:
        raise errors.err("INCR option supports a single increment-element pair")
    pairs = [(parse_double(argv[j]), argv[j + 1]) for j in range(i, n, 2)]
    added, updated, processed, score = c.db.zadd(
        argv[1],
        pairs,
        c.now,
        nx=nx,
        xx=xx,
        gt=gt,
        lt=lt,
        incr=incr,
        limits=zset_limits(c),
    )
    if incr:
        return score if processed else None
    return added + updated if ch else added


@command(
    "zadd", arity=-4, flags="write denyoom fast", keys=(1, 1, 1), group="sortedset", traits="core"
)
def zadd(c, argv):
    """ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]"""
    return zadd_generic(c, argv, False)


@command(
    "zincrby", arity=4, flags="write denyoom fast", keys=(1, 1, 1), group="sortedset", traits="core"
)
def zincrby(c, argv):
    """ZINCRBY key increment member"""
    return zadd_generic(c, argv, True)


@command("zrem", arity=-3, flags="write fast", keys=(1, 1, 1), group="sortedset", traits="core")
def zrem(c, argv):
    """ZREM key member [member ...]"""
    return c.db.zrem(argv[1], argv[2:], c.now)


# ---- point reads ----


@command("zcard", arity=2, flags="readonly fast", keys=(1, 1, 1), group="sortedset", traits="core")
def zcard(c, argv):
    """ZCARD key"""
    return c.db.zcard(argv[1], c.now)


@command("zscore", arity=3, flags="readonly fast", keys=(1, 1, 1), group="sortedset", traits="core")
def zscore(c, argv):
    """ZSCORE key member"""
    return c.db.zscore(argv[1], argv[2], c.now)


@command(
    "zmscore", arity=-3, flags="readonly fast", keys=(1, 1, 1), group="sortedset", traits="core"
)
def zmscore(c, argv):
    """ZMSCORE key member [member ...]"""
    return c.db.zmscore(argv[1], argv[2:], c.now)


@command("zrank", arity=3, flags="readonly fast", keys=(1, 1, 1), group="sortedset", traits="core")
def zrank(c, argv):
    """ZRANK key member"""
    return c.db.zrank(argv[1], argv[2], c.now, False)


@command(
    "zrevrank", arity=3, flags="readonly fast", keys=(1, 1, 1), group="sortedset", traits="core"
)
def zrevrank(c, argv):
    """ZREVRANK key member"""
    return c.db.zrank(argv[1], argv[2], c.now, True)


@command("zcount", arity=4, flags="readonly fast", keys=(1, 1, 1), group="sortedset", traits="core")
def zcount(c, argv):
    """ZCOUNT key min max"""
    rng = parse_score_range(argv[2], argv[3])
    return c.db.zcount(argv[1], rng, c.now)


@command("zlexcount", arity=4, flags="readonly fast", keys=(1, 1, 1), group="sortedset")
def zlexcount(c, argv):
    """ZLEXCOUNT key min max"""
    rng = parse_lex_range(argv[2], argv[3])
    return c.db.zlexcount(argv[1], rng, c.now)


# ---- ZRANGE family (zrangeGenericCommand) ----

AUTO, RANK, SCORE, LEX = 0, 1, 2, 3
FORWARD, REVERSE = 1, 2


def zrange_generic(
    c, argv: list[bytes], start: int, store: bool, rangetype: int, direction: int
) -> object:
    """ZRANGE, ZRANGESTORE and the older Z[REV]RANGE[BYSCORE|BYLEX]: argv[start] is the
    source key, followed by min max and the options."""
    minidx, maxidx = start + 1, start + 2
    withscores = False
    offset, limit = 0, -1
    n = len(argv)
    j = start + 3
    while j < n:
        leftargs = n - j - 1
        a = argv[j].lower()
        if not store and a == b"withscores":
            withscores = True
        elif a == b"limit" and leftargs >= 2:
            offset = int_arg(argv[j + 1])
            limit = int_arg(argv[j + 2])
            j += 2
        elif direction == AUTO and a == b"rev":
            direction = REVERSE
        elif rangetype == AUTO and a == b"bylex":
            rangetype = LEX
        elif rangetype == AUTO and a == b"byscore":
            rangetype = SCORE
        else:
            raise syntax_error()
        j += 1
    if direction == AUTO:
        direction = FORWARD
    if rangetype == AUTO:
        rangetype = RANK
    if limit != -1 and rangetype == RANK:
        raise errors.err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    if withscores and rangetype == LEX:
        raise errors.err("syntax error, WITHSCORES not supported in combination with BYLEX")
    reverse = direction == REVERSE
    if reverse and rangetype != RANK:
        minidx, maxidx = maxidx, minidx
    key = argv[start]
    db = c.db
    now = c.now
    if rangetype == RANK:
        lo, hi = int_arg(argv[minidx]), int_arg(argv[maxidx])
        pairs = db.zrange_rank(key, lo, hi, now, reverse)
    elif rangetype == SCORE:
        rng = parse_score_range(argv[minidx], argv[maxidx])
        pairs = db.zrange_score(key, rng, now, reverse, offset, limit)
    else:
        lex = parse_lex_range(argv[minidx], argv[maxidx])
        pairs = db.zrange_lex(key, lex, now, reverse, offset, limit)
    if store:
        return db.zstore(argv[1], pairs or [], now, incremental=True, limits=zset_limits(c))
    if pairs is None:
        return []
    return pairs_reply(c, pairs, withscores)


@command("zrange", arity=-4, flags="readonly", keys=(1, 1, 1), group="sortedset", traits="core")
def zrange(c, argv):
    """ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]"""
    return zrange_generic(c, argv, 1, False, AUTO, AUTO)


@command("zrangestore", arity=-5, flags="write denyoom", keys=(1, 2, 1), group="sortedset")
def zrangestore(c, argv):
    """ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]"""
    return zrange_generic(c, argv, 2, True, AUTO, AUTO)


@command("zrevrange", arity=-4, flags="readonly", keys=(1, 1, 1), group="sortedset", traits="core")
def zrevrange(c, argv):
    """ZREVRANGE key start stop [WITHSCORES]"""
    return zrange_generic(c, argv, 1, False, RANK, REVERSE)


@command(
    "zrangebyscore", arity=-4, flags="readonly", keys=(1, 1, 1), group="sortedset", traits="core"
)
def zrangebyscore(c, argv):
    """ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]"""
    return zrange_generic(c, argv, 1, False, SCORE, FORWARD)


@command(
    "zrevrangebyscore", arity=-4, flags="readonly", keys=(1, 1, 1), group="sortedset", traits="core"
)
def zrevrangebyscore(c, argv):
    """ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]"""
    return zrange_generic(c, argv, 1, False, SCORE, REVERSE)


@command("zrangebylex", arity=-4, flags="readonly", keys=(1, 1, 1), group="sortedset")
def zrangebylex(c, argv):
    """ZRANGEBYLEX key min max [LIMIT offset count]"""
    return zrange_generic(c, argv, 1, False, LEX, FORWARD)


@command("zrevrangebylex", arity=-4, flags="readonly", keys=(1, 1, 1), group="sortedset")
def zrevrangebylex(c, argv):
    """ZREVRANGEBYLEX key max min [LIMIT offset count]"""
    return zrange_generic(c, argv, 1, False, LEX, REVERSE)


# ---- ZREMRANGEBY* ----


@command("zremrangebyrank", arity=4, flags="write", keys=(1, 1, 1), group="sortedset")
def zremrangebyrank(c, argv):
    """ZREMRANGEBYRANK key start stop"""
    start, stop = int_arg(argv[2]), int_arg(argv[3])
    return c.db.zremrange_rank(argv[1], start, stop, c.now)


@command("zremrangebyscore", arity=4, flags="write", keys=(1, 1, 1), group="sortedset")
def zremrangebyscore(c, argv):
    """ZREMRANGEBYSCORE key min max"""
    rng = parse_score_range(argv[2], argv[3])
    return c.db.zremrange_score(argv[1], rng, c.now)


@command("zremrangebylex", arity=4, flags="write", keys=(1, 1, 1), group="sortedset")
def zremrangebylex(c, argv):
    """ZREMRANGEBYLEX key min max"""
    rng = parse_lex_range(argv[2], argv[3])
    return c.db.zremrange_lex(argv[1], rng, c.now)


# ---- pops ----


def _zpop_minmax(c, argv: list[bytes], from_max: bool) -> object:
    if len(argv) > 3:
        raise syntax_error()
    count = -1  # a plain single pop
    if len(argv) == 3:
        count = int_arg(argv[2], POSITIVE)
        if count < 0:
            raise CommandError(POSITIVE)
    res = c.db.zpop([argv[1]], c.now, from_max, 1 if count == -1 else count)
    if res is None or count == 0:
        return []
    nested = c.proto > 2 and count != -1
    return pairs_reply(c, res[1], True) if nested else pairs_reply_flat(res[1])


def pairs_reply_flat(pairs: list[Pair]) -> list:
    out: list = []
    for m, s in pairs:
        out.append(m)
        out.append(s)
    return out


@command("zpopmin", arity=-2, flags="write fast", keys=(1, 1, 1), group="sortedset")
def zpopmin(c, argv):
    """ZPOPMIN key [count]"""
    return _zpop_minmax(c, argv, False)


@command("zpopmax", arity=-2, flags="write fast", keys=(1, 1, 1), group="sortedset")
def zpopmax(c, argv):
    """ZPOPMAX key [count]"""
    return _zpop_minmax(c, argv, True)


def numkeys_keys(numkeys_idx: int, extra: tuple[int, ...] = ()):
    """Key positions of a numkeys-prefixed key list plus fixed positions (COMMAND GETKEYS,
    routing); nothing when numkeys is unusable, as Redis's key extraction."""

    def keys(argv: list[bytes]) -> list[int]:
        n = parse_int(argv[numkeys_idx]) if len(argv) > numkeys_idx else None
        if n is None or n < 1 or n > len(argv) - numkeys_idx - 1:
            return []
        return [*extra, *range(numkeys_idx + 1, numkeys_idx + 1 + n)]

    return keys


def zmpop_args(argv: list[bytes], numkeys_idx: int) -> tuple[list[bytes], bool, int]:
    """ZMPOP/BZMPOP's numkeys key [key ...] MIN|MAX [COUNT count] -> (keys, max?, count)."""
    numkeys = parse_int(argv[numkeys_idx])
    if numkeys is None or numkeys < 1:
        raise CommandError(NUMKEYS_POSITIVE)
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise syntax_error()
    where = argv[where_idx].lower()
    if where not in (b"min", b"max"):
        raise syntax_error()
    count = -1
    j = where_idx + 1
    n = len(argv)
    while j < n:
        if count == -1 and argv[j].lower() == b"count" and n - 1 - j > 0:
            j += 1
            count = parse_int(argv[j])  # type: ignore[assignment]
            if count is None or count < 1:
                raise CommandError(COUNT_POSITIVE)
        else:
            raise syntax_error()
        j += 1
    return argv[numkeys_idx + 1 : where_idx], where == b"max", 1 if count == -1 else count


@command("zmpop", arity=-4, flags="write", keys=numkeys_keys(1), group="sortedset")
def zmpop(c, argv):
    """ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]"""
    keys, from_max, count = zmpop_args(argv, 1)
    res = c.db.zpop(keys, c.now, from_max, count)
    if res is None:
        return NULL_ARRAY
    key, pairs = res
    return [key, [[m, s] for m, s in pairs]]


# ---- blocking pops (blockingGenericZpopCommand) ----


def _bzpop_reply(key: bytes, pairs: list[Pair], nested: bool) -> list:
    """BZMPOP (nested): [key, [[member, score], ...]]; BZPOPMIN/MAX: [key, member, score].
    Scores are doubles: bulk strings in RESP2, RESP3 doubles."""
    if nested:
        return [key, [[m, s] for m, s in pairs]]
    m, s = pairs[0]
    return [key, m, s]


def _blocking_zpop(
    c, keys: list[bytes], timeout: int, from_max: bool, count: int, nested: bool
) -> object:
    """Pop from the first existing key (WRONGTYPE if a key of another type comes first,
    missing keys skipped), or block until one of keys holds a zset. Inside MULTI/EXEC the
    command cannot block and answers as a timeout (a null array)."""
    db = c.db
    res = db.zpop(keys, c.now, from_max, count)
    if res is not None:
        return _bzpop_reply(res[0], res[1], nested)
    blocking = c.server.blocking
    if not blocking.may_block(c):
        return NULL_ARRAY

    def serve(ready: bytes) -> object:
        now = c.now
        meta = db.lookup(ready, now)
        if meta is None or meta.type != T_ZSET:
            return None  # another type at the key: not ready for us, stay blocked (Redis too)
        res = db.zpop([ready], now, from_max, count)
        return None if res is None else _bzpop_reply(ready, res[1], nested)

    return blocking.block(c, keys, timeout, serve)


@command(
    "bzpopmin", arity=-3, flags="write noscript blocking fast", keys=(1, -2, 1), group="sortedset"
)
def bzpopmin(c, argv):
    """BZPOPMIN key [key ...] timeout"""
    return _blocking_zpop(c, argv[1:-1], timeout_arg(argv[-1]), False, 1, False)


@command(
    "bzpopmax", arity=-3, flags="write noscript blocking fast", keys=(1, -2, 1), group="sortedset"
)
def bzpopmax(c, argv):
    """BZPOPMAX key [key ...] timeout"""
    return _blocking_zpop(c, argv[1:-1], timeout_arg(argv[-1]), True, 1, False)


@command("bzmpop", arity=-5, flags="write blocking", keys=numkeys_keys(2), group="sortedset")
def bzmpop(c, argv):
    """BZMPOP timeout numkeys key [key ...] MIN | MAX [COUNT count]"""
    # Redis parses numkeys, MIN|MAX and COUNT before the timeout: their errors win.
    keys, from_max, count = zmpop_args(argv, 2)
    return _blocking_zpop(c, keys, timeout_arg(argv[1]), from_max, count, True)


# ---- ZRANDMEMBER ----


@command("zrandmember", arity=-2, flags="readonly", keys=(1, 1, 1), group="sortedset")
def zrandmember(c, argv):
    """ZRANDMEMBER key [count [WITHSCORES]]"""
    db = c.db
    if len(argv) >= 3:
        count = parse_int(argv[2])
        if count is None:
            raise CommandError(errors.NOT_INTEGER)
        if count < -LLONG_MAX:
            raise CommandError(RANDMEMBER_RANGE)
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
            raise syntax_error()
        withscores = len(argv) == 4
        if withscores and not -(LLONG_MAX // 2) <= count <= LLONG_MAX // 2:
            raise CommandError(OUT_OF_RANGE)  # Redis 7.0.8+: count * 2 would overflow
        key, now = argv[1], c.now
        if count >= 0:
            pairs = db.zrandmember(key, now, count)
        else:  # repeats allowed: the reply's size is bounded there (commands/hashes.py)
            pairs = rand_repeated(
                c,
                count,
                lambda n: db.zrandmember(key, now, n),
                lambda p: resp_size(p[0]) + (resp_size(format_double(p[1])) if withscores else 0),
            )
        if pairs is None:
            return []
        return pairs_reply(c, pairs, withscores)
    pairs = db.zrandmember(argv[1], c.now, None)
    return None if pairs is None else pairs[0][0]


# ---- ZUNION / ZINTER / ZDIFF (+STORE), ZINTERCARD ----

UNION, INTER, DIFF = 0, 1, 2


def zsetop_generic(
    c, argv: list[bytes], dst: bytes | None, numkeys_idx: int, op: int, cardinality_only: bool
) -> object:
    """zunionInterDiffGenericCommand."""
    setnum = int_arg(argv[numkeys_idx])
    if setnum < 1:
        name = argv[0].decode("utf-8", "replace").lower()
        raise errors.err(f"at least 1 input key is needed for '{name}' command")
    if setnum > len(argv) - (numkeys_idx + 1):
        raise syntax_error()
    now = c.now
    db = c.db
    first = numkeys_idx + 1
    sources = db.zsources(argv[first : first + setnum], now)
    aggregate = AGGR_SUM
    withscores = False
    limit = 0
    j = first + setnum
    n = len(argv)
    while j < n:
        remaining = n - j
        a = argv[j].lower()
        if op != DIFF and not cardinality_only and remaining >= setnum + 1 and a == b"weights":
            j += 1
            for src in sources:
                src.weight = parse_double(argv[j], WEIGHT_NOT_FLOAT)
                j += 1
        elif op != DIFF and not cardinality_only and remaining >= 2 and a == b"aggregate":
            how = argv[j + 1].lower()
            if how == b"sum":
                aggregate = AGGR_SUM
            elif how == b"min":
                aggregate = AGGR_MIN
            elif how == b"max":
                aggregate = AGGR_MAX
            else:
                raise syntax_error()
            j += 2
        elif remaining >= 1 and dst is None and not cardinality_only and a == b"withscores":
            withscores = True
            j += 1
        elif cardinality_only and remaining >= 2 and a == b"limit":
            lim = parse_int(argv[j + 1])
            if lim is None or lim < 0:
                raise CommandError(LIMIT_NEGATIVE)
            limit = lim
            j += 2
        else:
            raise syntax_error()
    if op == INTER:
        result, card = zinter(sources, aggregate, limit, cardinality_only)
        if cardinality_only:
            return card
    elif op == UNION:
        result = zunion(sources, aggregate)
    else:
        result = zdiff(sources)
    pairs = sorted_pairs(result)
    if dst is not None:
        return db.zstore(dst, pairs, now, limits=zset_limits(c))
    return pairs_reply(c, pairs, withscores)


_STORE_KEYS = numkeys_keys(2, (1,))
_STORE_KEYS.legacy_range = (1, 1, 1)  # type: ignore[attr-defined]  # Redis's COMMAND INFO


@command("zunionstore", arity=-4, flags="write denyoom", keys=_STORE_KEYS, group="sortedset")
def zunionstore(c, argv):
    """ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX]"""
    return zsetop_generic(c, argv, argv[1], 2, UNION, False)


@command("zinterstore", arity=-4, flags="write denyoom", keys=_STORE_KEYS, group="sortedset")
def zinterstore(c, argv):
    """ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX]"""
    return zsetop_generic(c, argv, argv[1], 2, INTER, False)


@command("zdiffstore", arity=-4, flags="write denyoom", keys=_STORE_KEYS, group="sortedset")
def zdiffstore(c, argv):
    """ZDIFFSTORE destination numkeys key [key ...]"""
    return zsetop_generic(c, argv, argv[1], 2, DIFF, False)


@command("zunion", arity=-3, flags="readonly", keys=numkeys_keys(1), group="sortedset")
def zunion_(c, argv):
    """ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]"""
    return zsetop_generic(c, argv, None, 1, UNION, False)


@command("zinter", arity=-3, flags="readonly", keys=numkeys_keys(1), group="sortedset")
def zinter_(c, argv):
    """ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]"""
    return zsetop_generic(c, argv, None, 1, INTER, False)


@command("zdiff", arity=-3, flags="readonly", keys=numkeys_keys(1), group="sortedset")
def zdiff_(c, argv):
    """ZDIFF numkeys key [key ...] [WITHSCORES]"""
    return zsetop_generic(c, argv, None, 1, DIFF, False)


@command("zintercard", arity=-3, flags="readonly", keys=numkeys_keys(1), group="sortedset")
def zintercard(c, argv):
    """ZINTERCARD numkeys key [key ...] [LIMIT limit]"""
    return zsetop_generic(c, argv, None, 1, INTER, True)


# ---- ZSCAN ----


@command("zscan", arity=-3, flags="readonly", keys=(1, 1, 1), group="sortedset")
def zscan(c, argv):
    """ZSCAN key cursor [MATCH pattern] [COUNT count]"""
    cursor = parse_cursor(argv[2])
    now = c.now
    db = c.db
    if not db.zexists_typed(argv[1], now):
        return EMPTY_SCAN  # options are not even looked at, as in Redis
    match, count = scan_options(argv, 3)
    res = db.zscan(argv[1], cursor, now, match=match, count=count)
    if res is None:
        return EMPTY_SCAN
    nxt, pairs = res
    items: list = []
    for m, s in pairs:
        items.append(m)
        items.append(format_double(s))
    return scan_reply(nxt, items)
