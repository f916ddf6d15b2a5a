"""Connection commands: PING, ECHO, QUIT, SELECT, SWAPDB, AUTH, HELLO, RESET and CLIENT."""

from __future__ import annotations

import hmac
import re
from typing import Any

from pikadb import errors
from pikadb.commands.args import int32_arg, int_arg
from pikadb.commands.table import COMMANDS, Route, command, container
from pikadb.commands.transactions import discard
from pikadb.errors import CommandError
from pikadb.protocol import OK, PONG, ErrorReply, Status, Verbatim
from pikadb.replies import ReplyError

# ---- several workers: the workers' replies as one (Route.MERGE) ----


def merge_client_list(parts: list[Any]) -> Any:
    """CLIENT LIST: every worker's clients, by id as Redis lists them."""
    lines = [ln for p in parts for ln in p.decode("utf-8", "replace").splitlines() if ln]
    lines.sort(key=lambda ln: int(ln[3 : ln.index(" ")]) if ln.startswith("id=") else 0)
    return Verbatim("".join(ln + "\n" for ln in lines))


def merge_client_kill(parts: list[Any]) -> Any:
    """CLIENT KILL: the filter form counts kills everywhere; the old addr form succeeds
    where the client is."""
    if all(isinstance(p, int) for p in parts):
        return sum(parts)
    for p in parts:
        if p == "OK":
            return Status("OK")
    return ErrorReply(str(next(p for p in parts if isinstance(p, ReplyError))))


_NAME_OK = re.compile(rb"^[!-~]*$")  # Redis: printable, no spaces (chars '!'..'~')


def parse_db_index(c, raw: bytes, bad_int_error: str | None = None) -> int:
    """getIntFromObjectOrReply: a custom message, when given, replaces both int errors."""
    try:
        n = int32_arg(raw)
    except CommandError:
        if bad_int_error is None:
            raise
        raise CommandError(bad_int_error) from None
    if not 0 <= n < len_dbs(c):
        raise CommandError(errors.DB_INDEX)
    return n


def len_dbs(c) -> int:
    return c.server.config.get_int("databases")


@command("ping", arity=-1, flags="fast", group="connection", traits="overtakes")
def ping(c, argv):
    """PING [message]"""
    if len(argv) > 2:
        raise errors.wrong_arity("ping")
    if c.subscribed and c.proto == 2:
        # RESP2 subscribers can only read frames: Redis answers with a pong frame.
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return PONG if len(argv) == 1 else argv[1]


@command("echo", arity=2, flags="loading stale fast", group="connection", traits="overtakes")
def echo(c, argv):
    """ECHO message"""
    return argv[1]


@command(
    "quit",
    arity=-1,
    flags="fast stale noscript loading allow_busy no_auth",
    group="connection",
    traits="not-queued not-pipelined tx-local",
)
def quit_(c, argv):
    """QUIT"""
    c.close_after_reply = True
    return OK


@command(
    "select",
    arity=2,
    flags="fast stale loading",
    group="connection",
    traits="client-state overtakes",
)
def select(c, argv):
    """SELECT index"""
    n = parse_db_index(c, argv[1])
    c.dbindex = n
    c.db = c.server.database(n)
    return OK


@command("swapdb", arity=3, flags="write fast", group="server", route=Route.ALL)
def swapdb(c, argv):
    """SWAPDB index1 index2"""
    a = parse_db_index(c, argv[1], "ERR invalid first DB index")
    b = parse_db_index(c, argv[2], "ERR invalid second DB index")
    watches = c.server.watches
    watches.touch_swapdb(a, b, c.now)
    c.server.engine.swapdb(a, b)
    watches.after_swapdb(a, b)
    c.server.blocking.after_swapdb(a, b)
    return OK


def _check_password(c, user: bytes, password: bytes) -> None:
    required = c.server.requirepass
    if user.lower() != b"default" or not hmac.compare_digest(
        password, required.encode() if required else password
    ):
        raise CommandError(errors.WRONGPASS)


@command(
    "auth",
    arity=-2,
    flags="fast stale loading noscript no_auth allow_busy",
    group="connection",
    traits="client-state",
)
def auth(c, argv):
    """AUTH [username] password"""
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    if len(argv) == 2:
        if not c.server.requirepass:
            raise CommandError(
                "ERR AUTH <password> called without any password configured for the default "
                "user. Are you sure your configuration is correct?"
            )
        user, password = b"default", argv[1]
    else:
        user, password = argv[1], argv[2]
    _check_password(c, user, password)
    c.authenticated = True
    return OK


@command(
    "hello",
    arity=-1,
    flags="fast stale loading noscript no_auth allow_busy",
    group="connection",
    traits="client-state",
)
def hello(c, argv):
    """HELLO [protover [AUTH username password] [SETNAME clientname]]"""
    proto = c.proto
    if len(argv) >= 2:
        try:
            proto = int(argv[1])
        except ValueError:
            raise CommandError("ERR Protocol version is not an integer or out of range") from None
        if proto not in (2, 3):
            raise CommandError(errors.NOPROTO)
    i = 2
    auth_pair = None
    setname = None
    while i < len(argv):
        opt = argv[i].lower()
        more = len(argv) - i - 1
        if opt == b"auth" and more >= 2:
            auth_pair = (argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"setname" and more >= 1:
            setname = argv[i + 1]
            i += 2
        else:
            raise CommandError(
                f"ERR Syntax error in HELLO option '{argv[i].decode('utf-8', 'replace')}'"
            )
    if auth_pair is not None:
        _check_password(c, *auth_pair)
        c.authenticated = True
    if not c.authenticated:
        raise CommandError(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
            "select the RESP protocol version at the same time"
        )
    if setname is not None:
        _validate_name(setname)
        c.name = setname or None
    c.proto = proto
    return {
        b"server": b"pikadb",
        b"version": b"7.0.15",
        b"proto": proto,
        b"id": c.id,
        b"mode": b"standalone",
        b"role": b"replica" if c.server.replica_of is not None else b"master",
        b"modules": [],
    }


@command(
    "reset",
    arity=1,
    flags="fast stale loading noscript no_auth allow_busy",
    group="connection",
    traits="not-queued not-pipelined tx-local",
)
def reset(c, argv):
    """RESET"""
    c.dbindex = 0
    c.db = c.server.database(0)
    c.proto = 2
    c.name = None
    c.authenticated = not c.server.requirepass
    if c.monitor:
        c.server.remove_monitor(c)
    discard(c)  # MULTI and WATCHed keys
    c.server.pubsub.unsubscribe_everything(c)  # silently, and out of the subscribed context
    return Status("RESET")


# ---- CLIENT ----

container("client", group="connection")


def _validate_name(name: bytes) -> None:
    if not _NAME_OK.match(name):
        raise CommandError(
            "ERR Client names cannot contain spaces, newlines or special characters."
        )


@command("client|id", arity=2, flags="noscript loading stale", group="connection")
def client_id(c, argv):
    """CLIENT ID"""
    return c.id


@command(
    "client|setname",
    arity=3,
    flags="noscript loading stale",
    group="connection",
    traits="client-state",
)
def client_setname(c, argv):
    """CLIENT SETNAME connection-name"""
    _validate_name(argv[2])
    c.name = argv[2] or None
    return OK


@command("client|getname", arity=2, flags="noscript loading stale", group="connection")
def client_getname(c, argv):
    """CLIENT GETNAME"""
    return c.name


@command("client|info", arity=2, flags="noscript loading stale", group="connection")
def client_info(c, argv):
    """CLIENT INFO"""
    return Verbatim(c.describe() + "\n")


_TYPES = {
    b"normal": "normal",
    b"master": "master",
    b"replica": "replica",
    b"slave": "replica",
    b"pubsub": "pubsub",
}


@command(
    "client|list",
    arity=-2,
    flags="admin noscript loading stale",
    group="connection",
    route=Route.MERGE,
    merge=merge_client_list,
)
def client_list(c, argv):
    """CLIENT LIST [TYPE normal|master|replica|pubsub] [ID client-id [client-id ...]]"""
    clients = list(c.server.clients.values())
    if len(argv) == 4 and argv[2].lower() == b"type":
        kind = _TYPES.get(argv[3].lower())
        if kind is None:
            raise CommandError(f"ERR Unknown client type '{argv[3].decode('utf-8', 'replace')}'")
        clients = [x for x in clients if x.kind() == kind]
    elif len(argv) >= 4 and argv[2].lower() == b"id":
        ids = []
        for raw in argv[3:]:
            try:
                n = int(raw)
            except ValueError:
                raise CommandError("ERR Invalid client ID") from None
            ids.append(n)  # ids <= 0 match nobody, as in Redis
        wanted = set(ids)
        clients = [x for x in clients if x.id in wanted]
    elif len(argv) != 2:
        raise CommandError(errors.SYNTAX)
    return Verbatim("".join(x.describe() + "\n" for x in sorted(clients, key=lambda x: x.id)))


@command(
    "client|kill",
    arity=-3,
    flags="admin noscript loading stale",
    group="connection",
    route=Route.CLIENT_KILL,
    merge=merge_client_kill,
)
def client_kill(c, argv):
    """CLIENT KILL ip:port | CLIENT KILL [ID id] [TYPE type] [USER user] [ADDR ip:port]
    [LADDR ip:port] [SKIPME yes|no]"""
    clients = list(c.server.clients.values())
    if len(argv) == 3:
        addr = argv[2].decode("utf-8", "replace")
        for x in clients:
            if x.peer == addr:
                _kill(c, x)
                return OK
        raise CommandError("ERR No such client")
    if len(argv) % 2 != 0:
        raise CommandError(errors.SYNTAX)
    want_id = want_type = want_user = want_addr = want_laddr = None
    skipme = True
    for i in range(2, len(argv), 2):
        opt, val = argv[i].lower(), argv[i + 1]
        if opt == b"id":
            try:
                want_id = int(val)
            except ValueError:
                want_id = 0
            if want_id <= 0:
                raise CommandError("ERR client-id should be greater than 0")
        elif opt == b"type":
            want_type = _TYPES.get(val.lower())
            if want_type is None:
                raise CommandError(f"ERR Unknown client type '{val.decode('utf-8', 'replace')}'")
        elif opt == b"user":
            want_user = val.decode("utf-8", "replace")
            if want_user != "default":
                raise CommandError(f"ERR No such user '{want_user}'")
        elif opt == b"addr":
            want_addr = val.decode("utf-8", "replace")
        elif opt == b"laddr":
            want_laddr = val.decode("utf-8", "replace")
        elif opt == b"skipme":
            v = val.lower()
            if v not in (b"yes", b"no"):
                raise CommandError(errors.SYNTAX)
            skipme = v == b"yes"
        else:
            raise CommandError(errors.SYNTAX)
    killed = 0
    for x in clients:
        if want_id is not None and x.id != want_id:
            continue
        if want_type is not None and x.kind() != want_type:
            continue
        if want_user is not None and x.user != want_user:
            continue
        if want_addr is not None and x.peer != want_addr:
            continue
        if want_laddr is not None and x.local != want_laddr:
            continue
        if x is c and skipme:
            continue
        _kill(c, x)
        killed += 1
    return killed


def _kill(c, target) -> None:
    if target is c:
        c.close_after_reply = True  # the reply still reaches the caller, then it closes
    else:
        target.close()


_PAUSE_MODES = {b"write": "write", b"all": "all"}


def timeout_ms_arg(raw: bytes) -> int:
    """getTimeoutFromObjectOrReply in milliseconds: a 64-bit integer, not negative."""
    ms = int_arg(raw, "ERR timeout is not an integer or out of range")
    if ms < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    return ms


@command(
    "client|pause",
    arity=-3,
    flags="admin noscript loading stale",
    group="connection",
    route=Route.ALL,
)
def client_pause(c, argv):
    """CLIENT PAUSE timeout [WRITE|ALL]"""
    if len(argv) > 4:
        raise errors.subcommand_syntax(argv[1], "client")
    kind = "all"
    if len(argv) == 4:  # Redis reads the mode before the timeout
        kind = _PAUSE_MODES.get(argv[3].lower(), "")
        if not kind:
            raise CommandError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    ms = timeout_ms_arg(argv[2])
    c.server.syncmode.pause(ms, kind)
    return OK


@command(
    "client|unpause",
    arity=2,
    flags="admin noscript loading stale",
    group="connection",
    route=Route.ALL,
)
def client_unpause(c, argv):
    """CLIENT UNPAUSE"""
    c.server.syncmode.unpause()
    return OK


@command("client|help", arity=2, flags="loading stale", group="connection")
def client_help(c, argv):
    """CLIENT HELP"""
    lines = ["CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"]
    for name in sorted(COMMANDS[b"client"].subcommands):
        sub = COMMANDS[b"client"].subcommands[name]
        lines.append(f"{name.decode().upper()}")
        if sub.doc:
            lines.append(f"    {sub.doc}")
    return [Status(x) for x in lines]
