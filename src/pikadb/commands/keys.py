"""Keyspace commands (Redis db.c / expire.c / object.c): DEL, EXISTS, TYPE, RENAME, COPY,
MOVE, KEYS, SCAN, RANDOMKEY, the EXPIRE/TTL family, PERSIST, TOUCH and OBJECT.

Handlers parse arguments, read the clock once and call Database methods (storage/database.py).
Texts, and the order in which errors win, follow Redis 7.0.
"""

from __future__ import annotations

from pikadb import errors
from pikadb.commands.args import ArgCursor, int32_arg, int_arg, syntax_error
from pikadb.commands.merge import merge_random
from pikadb.commands.sliced import in_slices
from pikadb.commands.table import Route, command, container
from pikadb.errors import CommandError
from pikadb.keycodec import T_STRING
from pikadb.protocol import OK, Status
from pikadb.storage.encoding import TYPE_CODES
from pikadb.storage.strings import LLONG_MAX, LLONG_MIN, parse_int, string_encoding

SAME_OBJECT = "ERR source and destination objects are the same"
ULONG_MAX = (1 << 64) - 1


def _other_db(c, arg: bytes):
    """A target database named by argument (MOVE, COPY DB): Redis's parse and range check."""
    index = int32_arg(arg)
    if not 0 <= index < c.server.engine.databases:
        raise CommandError(errors.DB_INDEX)
    return index, c.server.database(index)


# ---- DEL / UNLINK / EXISTS / TYPE / TOUCH ----


@command(
    "del", arity=-2, flags="write", keys=(1, -1, 1), group="generic", route=Route.SUM, traits="core"
)
def del_(c, argv):
    """DEL key [key ...]"""
    return c.db.delete(argv[1:], c.now)


@command(
    "unlink",
    arity=-2,
    flags="write fast",
    keys=(1, -1, 1),
    group="generic",
    route=Route.SUM,
    traits="core",
)
def unlink(c, argv):
    """UNLINK key [key ...]"""
    # A delete is already O(1) per key (big collections become garbage for the reclaimer).
    return c.db.delete(argv[1:], c.now)


@command(
    "exists", arity=-2, flags="readonly fast", keys=(1, -1, 1), group="generic", route=Route.SUM
)
def exists(c, argv):
    """EXISTS key [key ...]"""
    return c.db.exists(argv[1:], c.now)


@command("type", arity=2, flags="readonly fast", keys=(1, 1, 1), group="generic")
def type_(c, argv):
    """TYPE key"""
    return Status(c.db.type_name(argv[1], c.now))


@command(
    "touch", arity=-2, flags="readonly fast", keys=(1, -1, 1), group="generic", route=Route.SUM
)
def touch(c, argv):
    """TOUCH key [key ...]"""
    return c.db.touch(argv[1:], c.now)


# ---- RENAME / COPY / MOVE ----


@command("rename", arity=3, flags="write", keys=(1, 2, 1), group="generic")
def rename(c, argv):
    """RENAME key newkey"""
    c.db.rename(argv[1], argv[2], c.now)
    return OK


@command("renamenx", arity=3, flags="write fast", keys=(1, 2, 1), group="generic")
def renamenx(c, argv):
    """RENAMENX key newkey"""
    return 1 if c.db.rename(argv[1], argv[2], c.now, nx=True) else 0


@command("copy", arity=-3, flags="write denyoom", keys=(1, 2, 1), group="generic")
def copy(c, argv):
    """COPY source destination [DB destination-db] [REPLACE]"""
    dest_index, dest = c.dbindex, c.db
    replace = False
    args = ArgCursor(argv, 3)
    while args:
        opt = args.next_upper()
        if opt == b"REPLACE":
            replace = True
        elif opt == b"DB" and args:
            dest_index, dest = _other_db(c, args.take())
        else:
            raise syntax_error()
    if dest_index == c.dbindex and argv[1] == argv[2]:
        raise CommandError(SAME_OBJECT)
    return 1 if c.db.copy(argv[1], argv[2], c.now, dest=dest, replace=replace) else 0


@command("move", arity=3, flags="write fast", keys=(1, 1, 1), group="generic")
def move(c, argv):
    """MOVE key db"""
    dest_index, dest = _other_db(c, argv[2])
    if dest_index == c.dbindex:
        raise CommandError(SAME_OBJECT)
    return 1 if c.db.move(argv[1], dest, c.now) else 0


# ---- KEYS / SCAN / RANDOMKEY ----


@command("keys", arity=2, flags="readonly", group="generic", route=Route.CONCAT)
def keys(c, argv):
    """KEYS pattern"""
    return in_slices(c, c.db.keys_in_steps(argv[1], c.now))


def parse_cursor(arg: bytes) -> int:
    """Redis's parseScanCursorOrReply: strtoul base 10 ('' is 0, a sign is accepted,
    leading space or trailing garbage or overflow is 'invalid cursor')."""
    s = arg
    neg = False
    if s[:1] in (b"+", b"-"):
        neg = s[:1] == b"-"
        s = s[1:]
        if not s:
            raise errors.err("invalid cursor")
    if arg and not s.isdigit():
        raise errors.err("invalid cursor")
    v = int(s) if s else 0
    if v > ULONG_MAX:
        raise errors.err("invalid cursor")
    return (-v) & ULONG_MAX if neg else v


@command("scan", arity=-2, flags="readonly", group="generic", route=Route.SCAN)
def scan(c, argv):
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]"""
    cursor = parse_cursor(argv[1])
    count = 10
    match = None
    type_code = None
    args = ArgCursor(argv, 2)
    while args:
        opt = args.next_upper()
        if not args:  # every option takes a value
            raise syntax_error()
        if opt == b"COUNT":
            count = args.take_int()
            if count < 1:
                raise syntax_error()
        elif opt == b"MATCH":
            match = args.take()
        elif opt == b"TYPE":
            # An unknown type name filters everything out (Redis 7.0 does not complain).
            type_code = TYPE_CODES.get(args.take().decode("latin-1").lower(), -1)
        else:
            raise syntax_error()
    if c.quiet and c.server.engine.cursors.resolve(cursor) is None:
        # A piece of SCAN over the workers (server/routing.py): an unknown cursor ends the
        # whole iteration, not only this worker's walk.
        return [b"0", [], b"unknown cursor"]
    nxt, found = c.db.scan(cursor, c.now, match=match, count=count, type_code=type_code)
    return [str(nxt).encode(), found]


@command(
    "randomkey", arity=1, flags="readonly", group="generic", route=Route.MERGE, merge=merge_random
)
def randomkey(c, argv):
    """RANDOMKEY"""
    return c.db.randomkey(c.now)


# ---- EXPIRE family ----


def _expire_flags(argv: list[bytes]) -> dict[str, bool]:
    """parseExtendedExpireArgumentsOrReply."""
    f = {"nx": False, "xx": False, "gt": False, "lt": False}
    for arg in argv[3:]:
        name = arg.lower().decode("latin-1")
        if name not in f:
            raise errors.err(f"Unsupported option {arg.decode('utf-8', 'replace')}")
        f[name] = True
    if f["nx"] and (f["xx"] or f["gt"] or f["lt"]):
        raise errors.err("NX and XX, GT or LT options at the same time are not compatible")
    if f["gt"] and f["lt"]:
        raise errors.err("GT and LT options at the same time are not compatible")
    return f


def _expire_generic(c, argv, relative: bool, unit_seconds: bool, name: str) -> int:
    """expireGenericCommand: EXPIRE/PEXPIRE (relative) and EXPIREAT/PEXPIREAT."""
    flags = _expire_flags(argv)
    when = int_arg(argv[2])
    now = c.now
    invalid = errors.EXPIRE_INVALID.format(name)
    if unit_seconds:
        if when > LLONG_MAX // 1000 or when < -(-LLONG_MIN // 1000):
            raise CommandError(invalid)
        when *= 1000
    base = now if relative else 0
    if when > LLONG_MAX - base:
        raise CommandError(invalid)
    when += base
    return c.db.expire(argv[1], when, now, **flags)


@command("expire", arity=-3, flags="write fast", keys=(1, 1, 1), group="generic", traits="core")
def expire(c, argv):
    """EXPIRE key seconds [NX | XX | GT | LT]"""
    return _expire_generic(c, argv, True, True, "expire")


@command("pexpire", arity=-3, flags="write fast", keys=(1, 1, 1), group="generic", traits="core")
def pexpire(c, argv):
    """PEXPIRE key milliseconds [NX | XX | GT | LT]"""
    return _expire_generic(c, argv, True, False, "pexpire")


@command("expireat", arity=-3, flags="write fast", keys=(1, 1, 1), group="generic", traits="core")
def expireat(c, argv):
    """EXPIREAT key unix-time-seconds [NX | XX | GT | LT]"""
    return _expire_generic(c, argv, False, True, "expireat")


@command("pexpireat", arity=-3, flags="write fast", keys=(1, 1, 1), group="generic", traits="core")
def pexpireat(c, argv):
    """PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]"""
    return _expire_generic(c, argv, False, False, "pexpireat")


def _ttl_generic(c, key: bytes, output_ms: bool, output_abs: bool) -> int:
    now = c.now
    at = c.db.expire_time(key, now)
    if at < 0:
        return at  # -2 no key, -1 no expiry
    ttl = at if output_abs else max(0, at - now)
    return ttl if output_ms else (ttl + 500) // 1000


@command("ttl", arity=2, flags="readonly fast", keys=(1, 1, 1), group="generic")
def ttl(c, argv):
    """TTL key"""
    return _ttl_generic(c, argv[1], False, False)


@command("pttl", arity=2, flags="readonly fast", keys=(1, 1, 1), group="generic")
def pttl(c, argv):
    """PTTL key"""
    return _ttl_generic(c, argv[1], True, False)


@command("expiretime", arity=2, flags="readonly fast", keys=(1, 1, 1), group="generic")
def expiretime(c, argv):
    """EXPIRETIME key"""
    return _ttl_generic(c, argv[1], False, True)


@command("pexpiretime", arity=2, flags="readonly fast", keys=(1, 1, 1), group="generic")
def pexpiretime(c, argv):
    """PEXPIRETIME key"""
    return _ttl_generic(c, argv[1], True, True)


@command("persist", arity=2, flags="write fast", keys=(1, 1, 1), group="generic", traits="core")
def persist(c, argv):
    """PERSIST key"""
    return c.db.persist(argv[1], c.now)


# ---- OBJECT ----

container("object", arity=-2, group="generic")

_LFU_POLICIES = ("allkeys-lfu", "volatile-lfu")
_LRU_LFU_POLICIES = ("allkeys-lru", "volatile-lru", *_LFU_POLICIES)
_POLICY_SWITCH_NOTE = (
    "Please note that when switching between policies at runtime LRU and LFU data will "
    "take some time to adjust."
)
OBJ_SHARED_REFCOUNT = (1 << 31) - 1
OBJ_SHARED_INTEGERS = 10000


def _lfu_policy(c) -> bool:
    lfu = c.server.config.get("maxmemory-policy") in _LFU_POLICIES
    # The server keeps this in step with CONFIG SET; set here too so OBJECT never lies.
    c.server.engine.access.lfu_enabled = lfu
    return lfu


@command("object|encoding", arity=3, flags="readonly", keys=(2, 2, 1), group="generic")
def object_encoding(c, argv):
    """OBJECT ENCODING key"""
    enc = c.db.object_encoding(argv[2], c.now)
    return None if enc is None else enc.encode()


@command("object|freq", arity=3, flags="readonly", keys=(2, 2, 1), group="generic")
def object_freq(c, argv):
    """OBJECT FREQ key"""
    freq = c.db.lfu_freq(argv[2], c.now)
    if freq is None:
        return None
    if not _lfu_policy(c):
        raise errors.err(
            "An LFU maxmemory policy is not selected, access frequency not tracked. "
            + _POLICY_SWITCH_NOTE
        )
    return freq


@command("object|idletime", arity=3, flags="readonly", keys=(2, 2, 1), group="generic")
def object_idletime(c, argv):
    """OBJECT IDLETIME key"""
    idle = c.db.idle_ms(argv[2], c.now)
    if idle is None:
        return None
    if _lfu_policy(c):
        raise errors.err(
            "An LFU maxmemory policy is selected, idle time not tracked. " + _POLICY_SWITCH_NOTE
        )
    return idle // 1000


@command("object|refcount", arity=3, flags="readonly", keys=(2, 2, 1), group="generic")
def object_refcount(c, argv):
    """OBJECT REFCOUNT key"""
    meta = c.db.lookup(argv[2], c.now, touch=False)
    if meta is None:
        return None
    if meta.type == T_STRING and string_encoding(meta.value, meta.enc) == "int":
        # Redis shares the objects of small integers unless an LRU/LFU policy with a
        # maxmemory limit needs per-key access data.
        v = parse_int(meta.value)
        shared_ok = (
            c.server.config.get_int("maxmemory") == 0
            or c.server.config.get("maxmemory-policy") not in _LRU_LFU_POLICIES
        )
        if shared_ok and v is not None and 0 <= v < OBJ_SHARED_INTEGERS:
            return OBJ_SHARED_REFCOUNT
    return 1


_OBJECT_HELP = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
]


@command("object|help", arity=2, flags="loading stale", group="generic")
def object_help(c, argv):
    """OBJECT HELP"""
    return [Status(line) for line in _OBJECT_HELP]
