"""The command table: every command declares its name, arity, flags and key positions here.

Handlers register with the `command` decorator:

    @command("mset", arity=-3, flags="write denyoom", keys=(1, -1, 2), group="string", traits="core")
    def mset(c: Client, argv: list[bytes]) -> object:
        "MSET key value [key value ...]"

Arity follows Redis: n means exactly n tokens including the name, -n means at least n.
Key positions are (first, last, step) with a negative last counting from the end, or a
function argv -> list of key indexes for commands whose keys depend on their arguments.
A container command such as CONFIG has subcommands registered as "config|get"; the
dispatcher routes on the second token and reports 'config|get' in arity errors as Redis does.

The dispatcher, COMMAND (INFO/COUNT/GETKEYS/DOCS), replication and worker routing read
this table; nothing else keeps its own list of commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Closed vocabulary (Redis 7.0 command flags), in Redis's order (server.h CMD_* bits), which
# is the order COMMAND INFO lists them. An unknown word fails at import time.
FLAG_ORDER = (
    "write",
    "readonly",
    "denyoom",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "fast",
    "no_auth",
    "may_replicate",
    "no_mandatory_keys",
    "no_async_loading",
    "no_multi",
    "movablekeys",
    "allow_busy",
)
FLAGS = frozenset(FLAG_ORDER)

# pikadb's own traits of a command (COMMAND INFO does not show them), read by the
# dispatcher, transactions, CLIENT PAUSE and worker routing. An unknown word fails at import.
TRAITS = frozenset(
    {
        "not-queued",  # runs at once inside MULTI instead of being queued (EXEC, WATCH, ...)
        "may-replicate",  # Redis's CMD_MAY_REPLICATE without write: a write pause holds it
        "client-state",  # changes the connection: a transaction holding it runs where it is
        "overtakes",  # keyless, may run while the client's earlier commands are elsewhere
        "not-pipelined",  # never pipelined to another worker (changes how the next run)
        "tx-local",  # answered where the client is, never sent to another worker
        # a data command with no policy of its own: the command core (cext/core.pyx) hands
        # it straight to its handler when the client's state lets the core run
        "core",
    }
)


class Route(StrEnum):
    """How a command runs with several workers (server/routing.py). Keys on one worker: it
    runs there, whatever the route."""

    LOCAL = ""  # keys on one worker only (else -CROSSSLOT); keyless: where the client is
    HERE = "here"  # where the client is, keys or not (shard channel subscriptions)
    SUM = "sum"  # keys split by worker, integer replies added (DEL, EXISTS)
    GATHER = "gather"  # keys split by worker, array replies put back in key order (MGET)
    PAIRS = "pairs"  # key-value pairs split by worker (MSET)
    ALL = "all"  # keyless, about the server: run everywhere, this worker's reply
    MERGE = "merge"  # keyless: run everywhere, the command's `merge` combines the replies
    CONCAT = "concat"  # keyless: run everywhere, the arrays joined as they came (KEYS)
    SCAN = "scan"  # SCAN walks the workers' keyspaces one after the other
    CLIENT_KILL = "client-kill"  # everywhere, errors merged too, broadcast from a transaction
    CLIENT_ID = "client-id"  # CLIENT UNBLOCK id: the worker that client is on
    PUBLISH = "publish"  # worker 0 sends to every worker (one order for every subscriber)
    MONITOR = "monitor"  # every worker learns of the new monitor
    WAIT = "wait"  # the replicas of every worker's shards
    SLOWLOG = "slowlog"  # every worker's log, the newest entries
    DEBUG = "debug"  # DEBUG DIGEST from every worker's share, DIGEST-VALUE by key


# Routes whose command must declare how the workers' replies combine.
MERGED_ROUTES = frozenset({Route.MERGE, Route.CLIENT_KILL})

Handler = Callable[[Any, list[bytes]], Any]
Merge = Callable[[list[Any]], Any]
KeySpec = tuple[int, int, int] | Callable[[list[bytes]], list[int]] | None


@dataclass(eq=False)
class Command:
    name: str  # lower case; "config|get" for a subcommand
    handler: Handler | None
    arity: int
    flags: frozenset[str]
    keys: KeySpec
    group: str
    doc: str = ""
    subcommands: dict[bytes, Command] = field(default_factory=dict)
    parent: Command | None = None
    # Dispatcher hot-path booleans, precomputed from flags.
    is_write: bool = False
    no_auth: bool = False
    allowed_in_subscribe: bool = False
    # With several workers (server/routing.py): how a command whose keys span workers, or
    # a keyless command about the whole server, is spread (Route), and for Route.MERGE how
    # the workers' replies (parsed, in worker order) become the server's reply.
    route: Route = Route.LOCAL
    merge: Merge | None = None
    traits: frozenset[str] = frozenset()  # TRAITS

    def key_indexes(self, argv: list[bytes]) -> list[int]:
        """Positions of the key arguments in argv (COMMAND GETKEYS, routing, replication)."""
        spec = self.keys
        if spec is None:
            return []
        if callable(spec):
            return spec(argv)
        first, last, step = spec
        if first == 0:
            return []
        if last < 0:
            last = len(argv) + last
        return list(range(first, min(last, len(argv) - 1) + 1, step))

    def arity_ok(self, argc: int) -> bool:
        a = self.arity
        return argc == a if a >= 0 else argc >= -a


# lower-case name bytes -> Command. Subcommands hang off their container command.
COMMANDS: dict[bytes, Command] = {}


def _words(text: str, vocabulary: frozenset[str], what: str) -> frozenset[str]:
    words = frozenset(text.split())
    unknown = words - vocabulary
    if unknown:
        raise ValueError(f"unknown command {what}: {sorted(unknown)}")
    return words


def _flags(text: str) -> frozenset[str]:
    return _words(text, FLAGS, "flags")


def command(
    name: str,
    *,
    arity: int,
    flags: str = "",
    keys: KeySpec = None,
    group: str = "generic",
    route: Route | str = Route.LOCAL,
    merge: Merge | None = None,
    traits: str = "",
) -> Callable[[Handler], Handler]:
    """Register a handler (or a subcommand with 'parent|sub') in the table."""
    route = Route(route)  # an unknown route fails at import time
    traitset = _words(traits, TRAITS, "traits")
    if (route in MERGED_ROUTES) != (merge is not None):
        raise ValueError(f"{name!r}: route {route.name} and merge={merge!r} do not go together")

    def register(fn: Handler) -> Handler:
        flagset = _flags(flags)
        if callable(keys):
            flagset = flagset | {"movablekeys"}
        cmd = Command(
            name=name.lower(),
            handler=fn,
            arity=arity,
            flags=flagset,
            keys=keys,
            group=group,
            doc=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "",
            is_write="write" in flagset,
            no_auth="no_auth" in flagset,
            route=route,
            merge=merge,
            traits=traitset,
        )
        if "|" in cmd.name:
            parent_name, sub = cmd.name.split("|", 1)
            parent = COMMANDS.get(parent_name.encode())
            if parent is None:
                raise ValueError(f"container command {parent_name!r} must be declared first")
            if sub.encode() in parent.subcommands:
                raise ValueError(f"duplicate subcommand {cmd.name!r}")
            cmd.parent = parent
            parent.subcommands[sub.encode()] = cmd
        else:
            if cmd.name.encode() in COMMANDS:
                raise ValueError(f"duplicate command {cmd.name!r}")
            COMMANDS[cmd.name.encode()] = cmd
        return fn

    return register


def container(name: str, *, arity: int = -2, flags: str = "", group: str = "generic") -> None:
    """Declare a command that only has subcommands (CONFIG, CLIENT, OBJECT, ...)."""
    cmd = Command(
        name=name.lower(),
        handler=None,
        arity=arity,
        flags=_flags(flags),
        keys=None,
        group=group,
    )
    if cmd.name.encode() in COMMANDS:
        raise ValueError(f"duplicate command {cmd.name!r}")
    COMMANDS[cmd.name.encode()] = cmd


def lookup(argv: list[bytes]) -> Command | None:
    """Find the command (or subcommand) for argv; None if the top-level name is unknown.

    For a container with an unknown subcommand this returns the container itself; the
    dispatcher reports Redis's 'unknown subcommand' error when handler is None.
    """
    name = argv[0]
    cmd = COMMANDS.get(name)
    if cmd is None:
        cmd = COMMANDS.get(name.lower())
        if cmd is None:
            return None
    if cmd.subcommands and len(argv) > 1:
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is not None:
            return sub
    return cmd
