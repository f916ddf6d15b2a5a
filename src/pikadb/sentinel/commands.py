"""The sentinel's connection-level commands: PING, INFO, ROLE, HELLO, AUTH, CLIENT, COMMAND,
SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE, PUBLISH and SHUTDOWN, with Redis 7.0's
sentinel-mode replies and error texts.

PUBLISH only accepts `__sentinel__:hello`: it is how other sentinels hand us their hello
messages (they PUBLISH to every instance they know, sentinels included).

Importing this module registers these commands in table.COMMANDS, after api.py's SENTINEL
ones: main.serve imports it before it builds the Api.
"""

from __future__ import annotations

import hmac
import os
import platform
import re
import resource
import sys
import time
from typing import TYPE_CHECKING, Any

from pikadb import __version__
from pikadb.glob import stringmatch
from pikadb.log import log
from pikadb.protocol import OK, Push, Status, Verbatim
from pikadb.sentinel import monitor
from pikadb.sentinel.api import NO_REPLY, Api, CommandError, _err, _s, help_reply, parse_long
from pikadb.sentinel.config import REDIS_VERSION
from pikadb.sentinel.table import COMMANDS, all_names, command, container, entry, find

if TYPE_CHECKING:
    from pikadb.sentinel.server import Client

_START = time.time()
_RUN_ID = os.urandom(20).hex()
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


# ---- PING / ROLE / PUBLISH ----


@command(
    "ping",
    -1,
    "fast",
    "@fast @connection",
    "request_policy:all_shards response_policy:all_succeeded",
)
def ping(api: Api, c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        raise _err("wrong number of arguments for 'ping' command")
    if c.proto == 2 and (c.channels or c.patterns):
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return argv[1] if len(argv) == 2 else Status("PONG")


@command("role", 1, "noscript loading stale fast", "@admin @fast @dangerous")
def role(api: Api, c: Client, argv: list[bytes]) -> Any:
    return [b"sentinel", [name.encode() for name in api.sentinel.masters]]


@command("publish", 3, "pubsub loading stale fast", "@pubsub @fast")
def publish(api: Api, c: Client, argv: list[bytes]) -> Any:
    if argv[1] != monitor.HELLO_CHANNEL.encode():
        raise _err("Only HELLO messages are accepted by Sentinel instances.")
    monitor.process_hello(api.sentinel, _s(argv[2]))
    return 1


# ---- AUTH / HELLO ----


def _check_password(api: Api, user: bytes, password: bytes) -> None:
    required = api.sentinel.requirepass.encode()
    if user.lower() != b"default" or (required and not hmac.compare_digest(password, required)):
        raise CommandError(WRONGPASS)


def _authenticated(c: Client) -> None:
    c.authenticated = True
    c.parser.auth_required = False


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", "@fast @connection")
def auth(api: Api, c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise _err("syntax error")
    if len(argv) == 2:
        if not api.sentinel.requirepass:
            raise _err(
                "AUTH <password> called without any password configured for the default user. "
                "Are you sure your configuration is correct?"
            )
        user, password = b"default", argv[1]
    else:
        user, password = argv[1], argv[2]
    _check_password(api, user, password)
    _authenticated(c)
    return OK


_NAME_OK = re.compile(rb"[!-~]*")


def _validate_name(name: bytes) -> None:
    if not _NAME_OK.fullmatch(name):
        raise _err("Client names cannot contain spaces, newlines or special characters.")


@command("hello", -1, "noscript loading stale fast no_auth allow_busy", "@fast @connection")
def hello(api: Api, c: Client, argv: list[bytes]) -> Any:
    proto = c.proto
    if len(argv) >= 2:
        try:
            proto = parse_long(argv[1])
        except CommandError:
            raise _err("Protocol version is not an integer or out of range") from None
        if proto not in (2, 3):
            raise CommandError("NOPROTO unsupported protocol version")
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
            raise _err(f"Syntax error in HELLO option '{_s(argv[i])}'")
    if auth_pair is not None:
        _check_password(api, *auth_pair)
        _authenticated(c)
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
        b"version": REDIS_VERSION.encode(),
        b"proto": proto,
        b"id": c.id,
        b"mode": b"sentinel",
        b"modules": [],
    }


# ---- pub/sub ----


def _count(c: Client) -> int:
    return len(c.channels) + len(c.patterns)


@command("subscribe", -2, "pubsub noscript loading stale", "@pubsub @slow")
def subscribe(api: Api, c: Client, argv: list[bytes]) -> Any:
    for channel in argv[1:]:
        if channel not in c.channels:
            api.pubsub.subscribe(c, channel)
        c.push(Push([b"subscribe", channel, _count(c)]))
    return NO_REPLY


@command("psubscribe", -2, "pubsub noscript loading stale", "@pubsub @slow")
def psubscribe(api: Api, c: Client, argv: list[bytes]) -> Any:
    for pattern in argv[1:]:
        if pattern not in c.patterns:
            api.pubsub.psubscribe(c, pattern)
        c.push(Push([b"psubscribe", pattern, _count(c)]))
    return NO_REPLY


@command("unsubscribe", -1, "pubsub noscript loading stale", "@pubsub @slow")
def unsubscribe(api: Api, c: Client, argv: list[bytes]) -> Any:
    channels = argv[1:] if len(argv) > 1 else sorted(c.channels)
    if not channels:
        c.push(Push([b"unsubscribe", None, _count(c)]))
    for channel in channels:
        api.pubsub.unsubscribe(c, channel)
        c.push(Push([b"unsubscribe", channel, _count(c)]))
    return NO_REPLY


@command("punsubscribe", -1, "pubsub noscript loading stale", "@pubsub @slow")
def punsubscribe(api: Api, c: Client, argv: list[bytes]) -> Any:
    patterns = argv[1:] if len(argv) > 1 else sorted(c.patterns)
    if not patterns:
        c.push(Push([b"punsubscribe", None, _count(c)]))
    for pattern in patterns:
        api.pubsub.punsubscribe(c, pattern)
        c.push(Push([b"punsubscribe", pattern, _count(c)]))
    return NO_REPLY


# ---- SHUTDOWN ----


@command(
    "shutdown", -1, "admin noscript loading stale no_multi allow_busy", "@admin @slow @dangerous"
)
def shutdown(api: Api, c: Client, argv: list[bytes]) -> Any:
    flags: set[bytes] = set()
    for raw in argv[1:]:
        word = raw.lower()
        if word not in (b"nosave", b"save", b"now", b"force", b"abort"):
            raise _err("syntax error")
        flags.add(word)
    if (b"abort" in flags and len(flags) > 1) or {b"nosave", b"save"} <= flags:
        raise _err("syntax error")
    if b"abort" in flags:
        raise _err("No shutdown in progress.")
    log.warning("User requested shutdown...")
    api.sentinel.flush_config()
    log.warning("Sentinel is now ready to exit, bye bye...")
    api.shutdown_requested = True
    c.close_after_reply = True
    return NO_REPLY


# ---- INFO ----

# Redis's output order (genRedisInfoString), not the order of its sentinel section list.
_SECTIONS = ("server", "clients", "stats", "cpu", "sentinel")


def _section_server(api: Api) -> list[str]:
    now = time.time()
    uptime = int(now - _START)
    return [
        "# Server",
        f"redis_version:{REDIS_VERSION}",
        f"pikadb_version:{__version__}",
        "redis_mode:sentinel",
        f"os:{platform.system()} {platform.release()} {platform.machine()}",
        f"arch_bits:{64 if sys.maxsize > 2**32 else 32}",
        f"process_id:{os.getpid()}",
        f"run_id:{_RUN_ID}",
        f"tcp_port:{api.sentinel.port}",
        f"server_time_usec:{int(now * 1_000_000)}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}",
        "hz:10",
        "configured_hz:10",
        f"executable:{os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ''}",
        f"config_file:{api.sentinel.config_path}",
    ]


def _section_clients(api: Api) -> list[str]:
    clients = api.server.clients.values() if api.server else []
    return [
        "# Clients",
        f"connected_clients:{len(list(clients))}",
        "cluster_connections:0",
        "maxclients:10000",
        "blocked_clients:0",
        "tracking_clients:0",
    ]


def _section_cpu(api: Api) -> list[str]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return [
        "# CPU",
        f"used_cpu_sys:{me.ru_stime:.6f}",
        f"used_cpu_user:{me.ru_utime:.6f}",
        f"used_cpu_sys_children:{kids.ru_stime:.6f}",
        f"used_cpu_user_children:{kids.ru_utime:.6f}",
    ]


def _section_stats(api: Api) -> list[str]:
    server = api.server
    return [
        "# Stats",
        f"total_connections_received:{server.stats_connections if server else 0}",
        f"total_commands_processed:{server.stats_commands if server else 0}",
        f"pubsub_channels:{len(api.pubsub.channels)}",
        f"pubsub_patterns:{len(api.pubsub.patterns)}",
        f"total_error_replies:{api.error_replies}",
    ]


def _section_sentinel(api: Api) -> list[str]:
    s = api.sentinel
    from pikadb.sentinel.instance import Flag
    from pikadb.sentinel.link import mstime

    lines = [
        "# Sentinel",
        f"sentinel_masters:{len(s.masters)}",
        f"sentinel_tilt:{1 if s.tilt else 0}",
        f"sentinel_tilt_since_seconds:{(mstime() - s.tilt_start_time) // 1000 if s.tilt else -1}",
        f"sentinel_running_scripts:{s.events.running}",
        f"sentinel_scripts_queue_length:{len(s.events.queue)}",
        f"sentinel_simulate_failure_flags:{s.simfailure_flags}",
    ]
    for i, ri in enumerate(s.masters.values()):
        status = "ok"
        if ri.flags & Flag.O_DOWN:
            status = "odown"
        elif ri.flags & Flag.S_DOWN:
            status = "sdown"
        lines.append(
            f"master{i}:name={ri.name},status={status},"
            f"address={s.announce_addr(ri.addr)}:{ri.addr.port},"
            f"slaves={len(ri.slaves)},sentinels={len(ri.sentinels) + 1}"
        )
    return lines


_BUILDERS = {
    "server": _section_server,
    "clients": _section_clients,
    "cpu": _section_cpu,
    "stats": _section_stats,
    "sentinel": _section_sentinel,
}


@command(
    "info",
    -1,
    "loading stale",
    "@slow @dangerous",
    "nondeterministic_output request_policy:all_shards response_policy:special",
)
def info(api: Api, c: Client, argv: list[bytes]) -> Any:
    wanted: set[str] = set()
    if len(argv) == 1:
        wanted = set(_SECTIONS)
    for raw in argv[1:]:
        name = _s(raw).lower()
        if name in ("all", "default", "everything"):
            wanted = set(_SECTIONS)
        elif name in _SECTIONS:
            wanted.add(name)
    parts = ["\r\n".join(_BUILDERS[name](api)) + "\r\n" for name in _SECTIONS if name in wanted]
    return "\r\n".join(parts).encode()


# ---- CLIENT ----

container("client", -2, "", "@slow")

_CLIENT_HELP = [
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
]

_CONN = "noscript loading stale"
_CONN_ADMIN = "admin noscript loading stale"
_ACL_CONN = "@slow @connection"
_ACL_CONN_ADMIN = "@admin @slow @dangerous @connection"


@command("client|help", 2, "loading stale", _ACL_CONN)
def client_help(api: Api, c: Client, argv: list[bytes]) -> Any:
    return help_reply("CLIENT", _CLIENT_HELP)


@command("client|id", 2, _CONN, _ACL_CONN)
def client_id(api: Api, c: Client, argv: list[bytes]) -> Any:
    return c.id


@command("client|setname", 3, _CONN, _ACL_CONN)
def client_setname(api: Api, c: Client, argv: list[bytes]) -> Any:
    _validate_name(argv[2])
    c.name = argv[2] or None
    return OK


@command("client|getname", 2, _CONN, _ACL_CONN)
def client_getname(api: Api, c: Client, argv: list[bytes]) -> Any:
    return c.name


@command("client|info", 2, _CONN, _ACL_CONN, "nondeterministic_output")
def client_info(api: Api, c: Client, argv: list[bytes]) -> Any:
    return Verbatim(c.describe() + "\n")


_TYPES = {
    b"normal": "normal",
    b"master": "master",
    b"replica": "replica",
    b"slave": "replica",
    b"pubsub": "pubsub",
}


def _clients(api: Api) -> list[Client]:
    return list(api.server.clients.values()) if api.server else []


@command("client|list", -2, _CONN_ADMIN, _ACL_CONN_ADMIN, "nondeterministic_output")
def client_list(api: Api, c: Client, argv: list[bytes]) -> Any:
    clients = _clients(api)
    if len(argv) == 4 and argv[2].lower() == b"type":
        kind = _TYPES.get(argv[3].lower())
        if kind is None:
            raise _err(f"Unknown client type '{_s(argv[3])}'")
        clients = [x for x in clients if x.kind() == kind]
    elif len(argv) >= 4 and argv[2].lower() == b"id":
        wanted = set()
        for raw in argv[3:]:
            try:
                wanted.add(parse_long(raw))
            except CommandError:
                raise _err("Invalid client ID") from None
        clients = [x for x in clients if x.id in wanted]
    elif len(argv) != 2:
        raise _err("syntax error")
    return Verbatim("".join(x.describe() + "\n" for x in sorted(clients, key=lambda x: x.id)))


@command("client|kill", -3, _CONN_ADMIN, _ACL_CONN_ADMIN)
def client_kill(api: Api, c: Client, argv: list[bytes]) -> Any:
    clients = _clients(api)
    if len(argv) == 3:
        addr = _s(argv[2])
        for x in clients:
            if x.peer == addr:
                _kill(c, x)
                return OK
        raise _err("No such client")
    if len(argv) % 2 != 0:
        raise _err("syntax error")
    want: dict[str, Any] = {}
    skipme = True
    for i in range(2, len(argv), 2):
        opt, val = argv[i].lower(), argv[i + 1]
        if opt == b"id":
            try:
                cid = parse_long(val)
            except CommandError:
                cid = 0
            if cid <= 0:
                raise _err("client-id should be greater than 0")
            want["id"] = cid
        elif opt == b"type":
            kind = _TYPES.get(val.lower())
            if kind is None:
                raise _err(f"Unknown client type '{_s(val)}'")
            want["type"] = kind
        elif opt == b"user":
            if _s(val) != "default":
                raise _err(f"No such user '{_s(val)}'")
        elif opt == b"addr":
            want["addr"] = _s(val)
        elif opt == b"laddr":
            want["laddr"] = _s(val)
        elif opt == b"skipme":
            if val.lower() not in (b"yes", b"no"):
                raise _err("syntax error")
            skipme = val.lower() == b"yes"
        else:
            raise _err("syntax error")
    killed = 0
    for x in clients:
        if "id" in want and x.id != want["id"]:
            continue
        if "type" in want and x.kind() != want["type"]:
            continue
        if "addr" in want and x.peer != want["addr"]:
            continue
        if "laddr" in want and x.local != want["laddr"]:
            continue
        if x is c and skipme:
            continue
        _kill(c, x)
        killed += 1
    return killed


def _kill(c: Client, target: Client) -> None:
    if target is c:
        c.close_after_reply = True  # the caller still gets its reply
    else:
        target.close()


@command("client|reply", 3, _CONN, _ACL_CONN)
def client_reply(api: Api, c: Client, argv: list[bytes]) -> Any:
    mode = argv[2].lower()
    if mode == b"on":
        c.reply_mode = "on"
        return OK
    if mode == b"off":
        c.reply_mode = "off"
        return NO_REPLY
    if mode == b"skip":
        if c.reply_mode != "off":
            c.reply_mode = "skip_next"
        return NO_REPLY
    raise _err("syntax error")


# ---- COMMAND ----

_ACL_CMD = "@slow @connection"
_command_container = container(
    "command", -1, "loading stale", _ACL_CMD, "nondeterministic_output_order"
)


def _command_all(api: Api, c: Client, argv: list[bytes]) -> Any:
    return [entry(cmd, c.proto) for cmd in COMMANDS.values()]


_command_container.handler = _command_all

_COMMAND_HELP = [
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
]


@command("command|help", 2, "loading stale", _ACL_CMD)
def command_help(api: Api, c: Client, argv: list[bytes]) -> Any:
    return help_reply("COMMAND", _COMMAND_HELP)


@command("command|count", 2, "loading stale", _ACL_CMD)
def command_count(api: Api, c: Client, argv: list[bytes]) -> Any:
    return len(COMMANDS)


@command("command|list", -2, "loading stale", _ACL_CMD, "nondeterministic_output_order")
def command_list(api: Api, c: Client, argv: list[bytes]) -> Any:
    names = all_names()
    if len(argv) == 2:
        return [n.encode() for n in names]
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        raise _err("syntax error")
    kind, arg = argv[3].lower(), argv[4]
    if kind == b"module":
        return []
    if kind == b"aclcat":
        cat = "@" + _s(arg).lower()
        return [n.encode() for n in names if cat in (find(n).acl if find(n) else ())]
    if kind == b"pattern":
        return [n.encode() for n in names if stringmatch(arg, n.encode(), nocase=True)]
    raise _err("syntax error")


@command("command|info", -2, "loading stale", _ACL_CMD, "nondeterministic_output_order")
def command_info(api: Api, c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        return _command_all(api, c, argv)
    out = []
    for raw in argv[2:]:
        cmd = find(_s(raw))
        out.append(entry(cmd, c.proto) if cmd is not None else None)
    return out


def _getkeys(api: Api, argv: list[bytes]) -> Any:
    target = argv[2:]
    cmd = COMMANDS.get(_s(target[0]).lower())
    if cmd is not None and cmd.subcommands and len(target) >= 2:
        cmd = cmd.subcommands.get(_s(target[1]).lower())
    if cmd is None:
        raise _err("Invalid command specified")
    if not cmd.arity_ok(len(target)):
        raise _err("Invalid number of arguments specified for command")
    # No sentinel command takes keys.
    raise _err("The command has no key arguments")


@command("command|getkeys", -4, "loading stale", _ACL_CMD)
def command_getkeys(api: Api, c: Client, argv: list[bytes]) -> Any:
    return _getkeys(api, argv)


@command("command|getkeysandflags", -4, "loading stale", _ACL_CMD)
def command_getkeysandflags(api: Api, c: Client, argv: list[bytes]) -> Any:
    return _getkeys(api, argv)
