"""The SENTINEL command set, and the dispatcher every client command goes through.

Dispatch applies Redis 7.0's checks in its order (processCommand): command existence (unknown
command / unknown subcommand texts), arity, authentication, then the RESP2 subscribed-context
restriction. Replies are Python values encoded per the client's protocol: SENTINEL MASTER(S),
REPLICAS and SENTINELS are maps of bulk strings (RESP2: flat field/value arrays), exactly the
fields and order redis-sentinel 7.0 sends, which Sentinel-aware clients parse.

The connection-level commands (PING, INFO, ROLE, HELLO, AUTH, CLIENT, COMMAND, (P)SUBSCRIBE,
PUBLISH, SHUTDOWN) live in commands.py, which builds on this module: importing it registers
them (main.serve does, before it builds the Api).
"""

from __future__ import annotations

import os
import re
import traceback
from typing import TYPE_CHECKING, Any

from pikadb.glob import stringmatch
from pikadb.log import log
from pikadb.protocol import NULL_ARRAY, OK, ErrorReply, Status, encode
from pikadb.sentinel import detect, failover
from pikadb.sentinel.config import is_ip, resolve, yesno
from pikadb.sentinel.core import GENERATE_EVENT, Sentinel
from pikadb.sentinel.events import WARNING
from pikadb.sentinel.instance import Flag, Instance, InstanceError
from pikadb.sentinel.link import mstime
from pikadb.sentinel.pubsub import PubSub
from pikadb.sentinel.table import COMMANDS, command, container

if TYPE_CHECKING:
    from pikadb.sentinel.server import Client, SentinelServer


class CommandError(Exception):
    """A command failed; str() is the full error text ('ERR ...', 'NOGOODSLAVE ...')."""


def _err(text: str) -> CommandError:
    return CommandError(f"ERR {text}")


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


_LONG = re.compile(rb"-?[1-9][0-9]*|0")


def parse_long(raw: bytes, message: str | None = None) -> int:
    """getLongFromObjectOrReply: a strict signed 64-bit decimal (no sign '+', no leading
    zeros, no spaces)."""
    if _LONG.fullmatch(raw):
        value = int(raw)
        if -(1 << 63) <= value < (1 << 63):
            return value
    raise _err(message or "value is not an integer or out of range")


class Api:
    """Commands need the sentinel state, the pub/sub registry and the server's clients."""

    def __init__(self, sentinel: Sentinel) -> None:
        self.sentinel = sentinel
        self.pubsub = PubSub()
        self.server: SentinelServer | None = None
        self.error_replies = 0
        self.shutdown_requested = False
        sentinel.publisher = self.pubsub

    # ---- dispatch ----

    def dispatch(self, c: Client, argv: list[bytes]) -> bytes | None:
        try:
            reply = self._call(c, argv)
        except CommandError as e:
            self.error_replies += 1
            return encode(ErrorReply(str(e)), c.proto)
        except Exception as e:
            log.warning(f"Error executing {_s(argv[0])!r}: {traceback.format_exc()}")
            self.error_replies += 1
            return encode(ErrorReply(f"ERR internal error: {e}"), c.proto)
        if reply is NO_REPLY:
            return None
        if isinstance(reply, ErrorReply):
            self.error_replies += 1
        return encode(reply, c.proto)

    def _call(self, c: Client, argv: list[bytes]) -> Any:
        name = _s(argv[0])
        cmd = COMMANDS.get(name.lower())
        if cmd is not None and cmd.subcommands and len(argv) >= 2:
            sub = cmd.subcommands.get(_s(argv[1]).lower())
            if sub is None:
                raise _err(f"unknown subcommand '{_s(argv[1])[:128]}'. Try {name.upper()} HELP.")
            cmd = sub
        if cmd is None:
            args = ""
            for a in argv[1:]:
                if len(args) >= 128:
                    break
                args += f"'{_s(a)[: 128 - len(args)]}' "
            raise _err(f"unknown command '{name[:128]}', with args beginning with: {args}")
        if not cmd.arity_ok(len(argv)):
            raise _err(f"wrong number of arguments for '{cmd.name}' command")
        if not c.authenticated and not cmd.no_auth:
            raise CommandError("NOAUTH Authentication required.")
        if c.proto == 2 and (c.channels or c.patterns) and not cmd.pubsub_context_ok:
            raise _err(
                f"Can't execute '{cmd.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                "QUIT / RESET are allowed in this context"
            )
        c.last_cmd = cmd.name
        if cmd.handler is None:  # a container called without a subcommand
            raise _err(f"wrong number of arguments for '{cmd.name}' command")
        return cmd.handler(self, c, argv)

    # ---- helpers ----

    def master_or_error(self, name: bytes) -> Instance:
        ri = self.sentinel.get_master(_s(name))
        if ri is None:
            raise _err("No such master with that name")
        return ri

    def flush_and_reply(self) -> Any:
        if not self.sentinel.flush_config():
            return ErrorReply("ERR Failed to save config file. Check server logs.")
        return OK


NO_REPLY = object()  # a handler that already pushed its replies (SUBSCRIBE) or has none


# ---- instance description (addReplySentinelRedisInstance) ----


def describe_instance(s: Sentinel, ri: Instance) -> dict[str, str]:
    now = mstime()
    link = ri.link
    out: dict[str, str] = {
        "name": ri.name,
        "ip": s.announce_addr(ri.addr),
        "port": str(ri.addr.port),
        "runid": ri.runid or "",
        "flags": ri.flags_str(),
        "link-pending-commands": str(link.pending_commands),
        "link-refcount": str(link.refcount),
    }
    if ri.flags & Flag.FAILOVER_IN_PROGRESS:
        out["failover-state"] = ri.failover_state.text
    out["last-ping-sent"] = str(now - link.act_ping_time if link.act_ping_time else 0)
    out["last-ok-ping-reply"] = str(now - link.last_avail_time)
    out["last-ping-reply"] = str(now - link.last_pong_time)
    if ri.flags & Flag.S_DOWN:
        out["s-down-time"] = str(now - ri.s_down_since_time)
    if ri.flags & Flag.O_DOWN:
        out["o-down-time"] = str(now - ri.o_down_since_time)
    out["down-after-milliseconds"] = str(ri.down_after_period)
    if ri.flags & (Flag.MASTER | Flag.SLAVE):
        out["info-refresh"] = str(now - ri.info_refresh if ri.info_refresh else 0)
        out["role-reported"] = "master" if ri.role_reported == Flag.MASTER else "slave"
        out["role-reported-time"] = str(now - ri.role_reported_time)
    if ri.is_master:
        out["config-epoch"] = str(ri.config_epoch)
        out["num-slaves"] = str(len(ri.slaves))
        out["num-other-sentinels"] = str(len(ri.sentinels))
        out["quorum"] = str(ri.quorum)
        out["failover-timeout"] = str(ri.failover_timeout)
        out["parallel-syncs"] = str(ri.parallel_syncs)
        if ri.notification_script:
            out["notification-script"] = ri.notification_script
        if ri.client_reconfig_script:
            out["client-reconfig-script"] = ri.client_reconfig_script
    if ri.is_slave:
        out["master-link-down-time"] = str(ri.master_link_down_time)
        out["master-link-status"] = "ok" if ri.slave_master_link_up else "err"
        out["master-host"] = ri.slave_master_host or "?"
        out["master-port"] = str(ri.slave_master_port)
        out["slave-priority"] = str(ri.slave_priority)
        out["slave-repl-offset"] = str(ri.slave_repl_offset)
        out["replica-announced"] = str(ri.replica_announced)
    if ri.is_sentinel:
        out["last-hello-message"] = str(now - ri.last_hello_time)
        out["voted-leader"] = ri.leader or "?"
        out["voted-leader-epoch"] = str(ri.leader_epoch)
    return out


def _instances(s: Sentinel, instances: dict[str, Instance]) -> list[dict[str, str]]:
    return [
        describe_instance(s, ri)
        for ri in instances.values()
        if not (ri.is_slave and not ri.replica_announced)
    ]


# ---- SENTINEL ----

_ADMIN = "@admin @slow @dangerous"
container("sentinel", -2, "admin", _ADMIN)

_SENTINEL_HELP = [
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration parameters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
]


def help_reply(container_name: str, lines: list[str]) -> list[Status]:
    """addReplyHelp: a header, the lines, and the HELP entry, as status replies."""
    head = f"{container_name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    return [Status(x) for x in [head, *lines, "HELP", "    Prints this help."]]


@command("sentinel|help", 2, "loading stale", "@slow")
def sentinel_help(api: Api, c: Client, argv: list[bytes]) -> Any:
    return help_reply("SENTINEL", _SENTINEL_HELP)


@command("sentinel|masters", 2, "admin", _ADMIN)
def sentinel_masters(api: Api, c: Client, argv: list[bytes]) -> Any:
    return _instances(api.sentinel, api.sentinel.masters)


@command("sentinel|master", 3, "admin", _ADMIN)
def sentinel_master(api: Api, c: Client, argv: list[bytes]) -> Any:
    return describe_instance(api.sentinel, api.master_or_error(argv[2]))


def _replicas(api: Api, c: Client, argv: list[bytes]) -> Any:
    return _instances(api.sentinel, api.master_or_error(argv[2]).slaves)


command("sentinel|replicas", 3, "admin", _ADMIN)(_replicas)
command("sentinel|slaves", 3, "admin", _ADMIN)(_replicas)


@command("sentinel|sentinels", 3, "admin", _ADMIN)
def sentinel_sentinels(api: Api, c: Client, argv: list[bytes]) -> Any:
    return _instances(api.sentinel, api.master_or_error(argv[2]).sentinels)


@command("sentinel|myid", 2, "admin", _ADMIN)
def sentinel_myid(api: Api, c: Client, argv: list[bytes]) -> Any:
    return api.sentinel.myid.encode()


@command("sentinel|is-master-down-by-addr", 6, "admin", _ADMIN)
def sentinel_is_master_down_by_addr(api: Api, c: Client, argv: list[bytes]) -> Any:
    port = parse_long(argv[3])
    req_epoch = parse_long(argv[4])
    isdown, leader, leader_epoch = detect.is_master_down_by_addr(
        api.sentinel, _s(argv[2]), port, req_epoch, _s(argv[5])
    )
    return [isdown, leader.encode(), leader_epoch]


@command("sentinel|reset", 3, "admin", _ADMIN)
def sentinel_reset(api: Api, c: Client, argv: list[bytes]) -> Any:
    return api.sentinel.reset_masters_by_pattern(argv[2], GENERATE_EVENT)


@command("sentinel|get-master-addr-by-name", 3, "admin", _ADMIN)
def sentinel_get_master_addr_by_name(api: Api, c: Client, argv: list[bytes]) -> Any:
    ri = api.sentinel.get_master(_s(argv[2]))
    if ri is None:
        return NULL_ARRAY
    addr = ri.current_address()
    return [api.sentinel.announce_addr(addr).encode(), str(addr.port).encode()]


@command("sentinel|failover", 3, "admin", _ADMIN)
def sentinel_failover(api: Api, c: Client, argv: list[bytes]) -> Any:
    s = api.sentinel
    ri = api.master_or_error(argv[2])
    if ri.flags & Flag.FAILOVER_IN_PROGRESS:
        return ErrorReply("INPROG Failover already in progress")
    if failover.select_slave(s, ri) is None:
        return ErrorReply("NOGOODSLAVE No suitable replica to promote")
    log.warning(f"Executing user requested FAILOVER of '{ri.name}'")
    failover.start_failover(s, ri)
    ri.flags |= Flag.FORCE_FAILOVER
    return OK


@command("sentinel|pending-scripts", 2, "admin", _ADMIN)
def sentinel_pending_scripts(api: Api, c: Client, argv: list[bytes]) -> Any:
    return api.sentinel.events.pending_scripts()


@command("sentinel|monitor", 6, "admin", _ADMIN)
def sentinel_monitor(api: Api, c: Client, argv: list[bytes]) -> Any:
    s = api.sentinel
    quorum = parse_long(argv[5], "Invalid quorum")
    port = parse_long(argv[4], "Invalid port")
    if quorum <= 0:
        raise _err("Quorum must be 1 or greater.")
    host = _s(argv[3])
    if not is_ip(host) and resolve(host, s.resolve_hostnames) is None:
        raise _err("Invalid IP address or hostname specified")
    try:
        ri = s.create_instance(_s(argv[2]), Flag.MASTER, host, port, quorum, None)
    except InstanceError as e:
        raise _err(str(e)) from None
    reply = api.flush_and_reply()
    s.emit(WARNING, "+monitor", ri, f"%@ quorum {ri.quorum}")
    return reply


@command("sentinel|flushconfig", 2, "admin", _ADMIN)
def sentinel_flushconfig(api: Api, c: Client, argv: list[bytes]) -> Any:
    return api.flush_and_reply()


@command("sentinel|remove", 3, "admin", _ADMIN)
def sentinel_remove(api: Api, c: Client, argv: list[bytes]) -> Any:
    ri = api.master_or_error(argv[2])
    api.sentinel.emit(WARNING, "-monitor", ri)
    api.sentinel.remove_master(ri)
    return api.flush_and_reply()


@command("sentinel|ckquorum", 3, "admin", _ADMIN)
def sentinel_ckquorum(api: Api, c: Client, argv: list[bytes]) -> Any:
    ri = api.master_or_error(argv[2])
    voters = len(ri.sentinels) + 1
    usable = 1 + sum(
        1 for si in ri.sentinels.values() if not si.flags & (Flag.S_DOWN | Flag.O_DOWN)
    )
    noquorum = usable < ri.quorum
    noauth = usable < voters // 2 + 1
    if not noquorum and not noauth:
        return Status(
            f"OK {usable} usable Sentinels. Quorum and failover authorization can be reached"
        )
    text = f"NOQUORUM {usable} usable Sentinels. "
    if noquorum:
        text += "Not enough available Sentinels to reach the specified quorum for this master"
    if noauth:
        if noquorum:
            text += ". "
        text += "Not enough available Sentinels to reach the majority and authorize a failover"
    return ErrorReply(text)


# -- SENTINEL SET --

_SCRIPTS_DENIED = (
    "Reconfiguration of scripts path is denied for security reasons. Check the "
    "deny-scripts-reconfig configuration directive in your Sentinel configuration"
)


def _ll(raw: bytes) -> int | None:
    try:
        return parse_long(raw)
    except CommandError:
        return None


@command("sentinel|set", -5, "admin", _ADMIN)
def sentinel_set(api: Api, c: Client, argv: list[bytes]) -> Any:
    s = api.sentinel
    ri = api.master_or_error(argv[2])
    changes = 0
    j = 3
    error: Any = None
    while j < len(argv):
        moreargs = len(argv) - 1 - j
        option = _s(argv[j])
        opt = option.lower()
        old_j = j
        redacted = False
        badarg: int | None = None
        if opt in ("down-after-milliseconds", "failover-timeout", "parallel-syncs", "quorum") and (
            moreargs > 0
        ):
            j += 1
            ll = _ll(argv[j])
            if ll is None or ll <= 0:
                badarg = j
            elif opt == "down-after-milliseconds":
                ri.down_after_period = ll
                s.propagate_down_after_period(ri)
            elif opt == "failover-timeout":
                ri.failover_timeout = ll
            elif opt == "parallel-syncs":
                ri.parallel_syncs = ll
            else:
                ri.quorum = ll
        elif opt in ("notification-script", "client-reconfig-script") and moreargs > 0:
            j += 1
            value = _s(argv[j])
            if s.deny_scripts_reconfig:
                error = ErrorReply(f"ERR {_SCRIPTS_DENIED}")
                break
            if value and not os.access(value, os.X_OK):
                if opt == "notification-script":
                    error = _err_reply("Notification script seems non existing or non executable")
                else:
                    error = _err_reply(
                        "Client reconfiguration script seems non existing or non executable"
                    )
                break
            if opt == "notification-script":
                ri.notification_script = value or None
            else:
                ri.client_reconfig_script = value or None
        elif opt in ("auth-pass", "auth-user") and moreargs > 0:
            j += 1
            value = _s(argv[j])
            if opt == "auth-pass":
                ri.auth_pass = value or None
                redacted = True
            else:
                ri.auth_user = value or None
            # Reconnect with the new credentials.
            ri.link.close()
            for slave in ri.slaves.values():
                slave.link.close()
        elif opt == "rename-command" and moreargs > 1:
            old, new = _s(argv[j + 1]), _s(argv[j + 2])
            j += 2
            if not old or not new:
                badarg = j - 1 if new else j
            else:
                ri.renamed_commands.pop(old.lower(), None)
                if old.lower() != new.lower():
                    ri.renamed_commands[old.lower()] = new
        elif opt == "master-reboot-down-after-period" and moreargs > 0:
            j += 1
            ll = _ll(argv[j])
            if ll is None or ll < 0:
                badarg = j
            else:
                ri.master_reboot_down_after_period = ll
        else:
            error = _err_reply(f"Unknown option or number of arguments for SENTINEL SET '{option}'")
            break
        if badarg is not None:
            error = _err_reply(f"Invalid argument '{_s(argv[badarg])}' for SENTINEL SET '{option}'")
            break
        changes += 1
        numargs = j - old_j + 1
        if numargs == 2:
            value = "******" if redacted else _s(argv[old_j + 1])
            s.emit(WARNING, "+set", ri, f"%@ {_s(argv[old_j])} {value}")
        elif numargs == 3:
            s.emit(
                WARNING,
                "+set",
                ri,
                f"%@ {_s(argv[old_j])} {_s(argv[old_j + 1])} {_s(argv[old_j + 2])}",
            )
        else:
            s.emit(WARNING, "+set", ri, f"%@ {_s(argv[old_j])}")
        j += 1
    if error is not None:
        if changes:
            s.flush_config()
        return error
    return api.flush_and_reply() if changes else NO_REPLY


def _err_reply(text: str) -> ErrorReply:
    return ErrorReply(f"ERR {text}")


# -- SENTINEL CONFIG --


@command("sentinel|config", -3, "admin", _ADMIN)
def sentinel_config(api: Api, c: Client, argv: list[bytes]) -> Any:
    sub = argv[2].lower()
    if sub == b"set" and len(argv) == 5:
        return _config_set(api, argv[3], argv[4])
    if sub == b"get" and len(argv) == 4:
        return _config_get(api, argv[3])
    raise _err("Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.")


def _config_set(api: Api, name: bytes, raw: bytes) -> Any:
    s = api.sentinel
    option, value = _s(name), _s(raw)
    opt = option.lower()
    drop_conns = False
    if opt in ("resolve-hostnames", "announce-hostnames"):
        flag = yesno(value)
        if flag is None:
            raise _err(f"Invalid value '{value}' to SENTINEL CONFIG SET '{option}'")
        setattr(s, opt.replace("-", "_"), flag)
    elif opt == "announce-ip":
        s.announce_ip = value
    elif opt == "announce-port":
        port = _ll(raw)
        if port is None or not 0 <= port <= 65535:
            raise _err(f"Invalid value '{value}' to SENTINEL CONFIG SET '{option}'")
        s.announce_port = port
    elif opt == "sentinel-user":
        s.sentinel_auth_user = value
        drop_conns = True
    elif opt == "sentinel-pass":
        s.sentinel_auth_pass = value
        drop_conns = True
    else:
        raise _err(f"Invalid argument '{option}' to SENTINEL CONFIG SET")
    reply = api.flush_and_reply()
    if drop_conns:
        for master in s.masters.values():
            for si in master.sentinels.values():
                si.link.close()
    return reply


def _config_get(api: Api, pattern: bytes) -> Any:
    s = api.sentinel
    values = [
        ("resolve-hostnames", "yes" if s.resolve_hostnames else "no"),
        ("announce-hostnames", "yes" if s.announce_hostnames else "no"),
        ("announce-ip", s.announce_ip),
        ("announce-port", str(s.announce_port)),
        ("sentinel-user", s.sentinel_auth_user),
        ("sentinel-pass", s.sentinel_auth_pass),
    ]
    return {
        name.encode(): value.encode()
        for name, value in values
        if stringmatch(pattern, name.encode(), nocase=True)
    }


# -- INFO-CACHE, SIMULATE-FAILURE, DEBUG --


@command("sentinel|info-cache", -3, "admin", _ADMIN)
def sentinel_info_cache(api: Api, c: Client, argv: list[bytes]) -> Any:
    s = api.sentinel
    now = mstime()
    chosen: dict[str, Instance] = {}
    for raw in argv[2:]:
        ri = s.get_master(_s(raw))
        if ri is not None:
            chosen[ri.name] = ri
    out: list[Any] = []
    for ri in chosen.values():
        entries: list[Any] = [
            [now - ri.info_refresh if ri.info_refresh else 0, ri.info.encode() if ri.info else None]
        ]
        for slave in ri.slaves.values():
            # Redis tests the master's info_refresh here, not the replica's: kept.
            age = now - slave.info_refresh if ri.info_refresh else 0
            entries.append([age, slave.info.encode() if slave.info else None])
        out += [ri.name.encode(), entries]
    return out


@command("sentinel|simulate-failure", -3, "admin", _ADMIN)
def sentinel_simulate_failure(api: Api, c: Client, argv: list[bytes]) -> Any:
    s = api.sentinel
    s.simfailure_flags = 0
    for raw in argv[2:]:
        word = raw.lower()
        if word == b"crash-after-election":
            s.simfailure_flags |= 1
            log.warning(
                "Failure simulation: this Sentinel will crash after being successfully "
                "elected as failover leader"
            )
        elif word == b"crash-after-promotion":
            s.simfailure_flags |= 2
            log.warning(
                "Failure simulation: this Sentinel will crash after promoting the selected "
                "replica to master"
            )
        elif word == b"help":
            return [b"crash-after-election", b"crash-after-promotion"]
        else:
            raise _err("Unknown failure simulation specified")
    return OK


@command("sentinel|debug", -2, "admin", _ADMIN)
def sentinel_debug(api: Api, c: Client, argv: list[bytes]) -> Any:
    t = api.sentinel.timings
    if len(argv) == 2:
        return {name.encode(): str(value).encode() for name, value in t.items()}
    known = {name.lower() for name, _ in t.items()}
    j = 2
    while j < len(argv):
        option = _s(argv[j])
        if option.lower() not in known or len(argv) - 1 - j == 0:
            raise _err(f"Unknown option or number of arguments for SENTINEL DEBUG '{option}'")
        j += 1
        ll = _ll(argv[j])
        if ll is None or ll <= 0:
            raise _err(f"Invalid argument '{_s(argv[j])}' for SENTINEL DEBUG '{option}'")
        t.set(option, ll)
        j += 1
    return OK
