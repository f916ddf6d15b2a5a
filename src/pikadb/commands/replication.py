"""REPLICAOF / SLAVEOF, ROLE, REPLCONF, PIKASYNC (pikadb's replica handshake), and the
refusal of Redis's PSYNC / SYNC; INFO replication's lines (replication_info).

The protocol itself is in pikadb.replication.master (streaming to replicas) and
pikadb.replication.replica (the link to a master, role changes).
"""

from __future__ import annotations

import time
from typing import Any

from pikadb import errors
from pikadb.commands.args import int_arg
from pikadb.commands.merge import to_reply
from pikadb.commands.table import Route, command
from pikadb.errors import CommandError
from pikadb.protocol import OK, RawReply, Status
from pikadb.replication.handshake import answer, check_shard_count, parse_request

# ---- several workers: the workers' replies as one (Route.MERGE) ----


_LINK_STATES = ("connect", "connecting", "sync", "connected")  # the worst one wins


def merge_role(parts: list[Any]) -> Any:
    """ROLE: offsets summed over the workers' shards, a replica's links as one."""
    kinds = {p[0] for p in parts}
    if kinds == {b"master"}:
        replicas: dict[tuple[bytes, bytes], int] = {}
        for p in parts:
            for ip, port, off in p[2]:
                replicas[(ip, port)] = replicas.get((ip, port), 0) + int(off)
        rows = [[ip, port, b"%d" % off] for (ip, port), off in replicas.items()]
        return [b"master", sum(p[1] for p in parts), rows]
    if kinds == {b"slave"}:
        states = {p[3].decode() for p in parts}
        state = next(s for s in _LINK_STATES if s in states)
        offset = -1 if any(p[4] == -1 for p in parts) else sum(p[4] for p in parts)
        return [b"slave", parts[0][1], parts[0][2], state.encode(), offset]
    return to_reply(parts[0])  # a REPLICAOF reaching the workers one after the other


NO_REPLY = RawReply(b"")
_ALREADY = Status("OK Already connected to specified master")
_NOT_PIKADB = "ERR pikadb masters replicate to pikadb replicas only (PIKASYNC)"


def _replicaof(c, argv):
    server = c.server
    if c.repl_link is not None:
        raise CommandError("ERR Command is not valid when client is a replica.")
    if argv[1].lower() == b"no" and argv[2].lower() == b"one":
        if server.replica_of is not None:
            server.become_master()
        return OK
    try:
        port = int(argv[2])
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise CommandError("ERR Invalid master port")
    host = argv[1].decode("utf-8", "replace")
    side = server.replica_of
    if side is not None and side.host.lower() == host.lower() and side.port == port:
        return _ALREADY
    server.become_replica(host, port)
    return OK


@command(
    "replicaof",
    arity=3,
    flags="admin noscript stale no_async_loading",
    group="server",
    route=Route.ALL,
)
def replicaof(c, argv):
    """REPLICAOF host port | NO ONE"""
    return _replicaof(c, argv)


@command(
    "slaveof",
    arity=3,
    flags="admin noscript stale no_async_loading",
    group="server",
    route=Route.ALL,
)
def slaveof(c, argv):
    """SLAVEOF host port | NO ONE"""
    return _replicaof(c, argv)


@command(
    "role",
    arity=1,
    flags="noscript loading stale fast",
    group="server",
    route=Route.MERGE,
    merge=merge_role,
)
def role(c, argv):
    """ROLE"""
    server = c.server
    side = server.replica_of
    if side is None:
        return [
            b"master",
            server.engine.repl_offset,
            [
                [r.ip.encode(), str(r.port).encode(), str(r.offset).encode()]
                for r in server.repl_master.replicas()
            ],
        ]
    return [
        b"slave",
        side.host.encode(),
        side.port,
        side.state.encode(),
        side.offset if side.link_up else -1,
    ]


@command("replconf", arity=-1, flags="admin noscript loading stale allow_busy", group="server")
def replconf(c, argv):
    """REPLCONF <option> <value> [<option> <value> ...]"""
    if len(argv) % 2 == 0:
        raise CommandError(errors.SYNTAX)
    i = 1
    while i < len(argv):
        opt, val = argv[i].lower(), argv[i + 1]
        if opt == b"listening-port":
            try:
                c.announced.port = int(val)
            except ValueError:
                raise CommandError(errors.NOT_INTEGER) from None
        elif opt == b"ip-address":
            c.announced.ip = val.decode("utf-8", "replace")
        elif opt == b"capa":
            if val.lower() == b"recs":  # takes a turn's records of a shard in one frame
                c.announced.recs = True
        elif opt == b"ack":
            # REPLCONF ACK <shard> <id> [<offset>]: never answered (as Redis's ACK).
            link = c.repl_link
            if link is not None and len(argv) >= 4:
                try:
                    offset = int(argv[4]) if len(argv) >= 5 else None
                    link.ack(int(argv[2]), int(argv[3]), offset)
                except ValueError:
                    pass
            return NO_REPLY
        elif opt == b"getack":
            return NO_REPLY
        else:
            raise CommandError(
                f"ERR Unrecognized REPLCONF option: {argv[i].decode('utf-8', 'replace')}"
            )
        i += 2
    return OK


@command("pikasync", arity=-5, flags="admin noscript no_multi", group="server")
def pikasync(c, argv):
    """PIKASYNC <replid|?> <term> <nshards> <shard> <id> <term> <offset> ... (per shard
    asked for: its index, the last applied record, its term and end offset)"""
    server = c.server
    if c.repl_link is not None:
        raise CommandError("ERR this connection is already a replica link")
    request = parse_request(argv)
    check_shard_count(server.engine, c, request)
    w = server.worker
    owner = request.owner(w.count if w is not None else 1)  # -PIKASPLIT: several
    if w is not None and owner != w.index:
        server.hand_off(c, owner, argv)  # to the worker owning the shards, with the connection
        return NO_REPLY
    return Status(answer(server, c, request))


@command("psync", arity=-3, flags="admin noscript no_async_loading no_multi", group="server")
def psync(c, argv):
    """PSYNC replicationid offset"""
    raise CommandError(_NOT_PIKADB)


@command("sync", arity=1, flags="admin noscript no_async_loading no_multi", group="server")
def sync(c, argv):
    """SYNC"""
    raise CommandError(_NOT_PIKADB)


# ---- INFO replication ----


def _backlog_lines(server) -> list[str]:
    """The binlog plays Redis's backlog: what it holds, as stream offsets."""
    engine = server.engine
    first = sum(s.binlog.segments[0].first_offset for s in engine.shards if s.binlog.segments)
    held = sum(s.binlog.total_bytes for s in engine.shards)
    return [
        "repl_backlog_active:1",
        f"repl_backlog_size:{held}",
        f"repl_backlog_first_byte_offset:{first + 1}",
        f"repl_backlog_histlen:{engine.repl_offset - first}",
    ]


def replication_info(server) -> list[str]:
    """INFO replication, field for field as Redis 7.0 writes it."""
    engine = server.engine
    side = server.replica_of
    lines: list[str] = []
    if side is None:
        lines.append("role:master")
    else:
        now = time.monotonic()
        cfg = server.config
        lines += [
            "role:slave",
            f"master_host:{side.host}",
            f"master_port:{side.port}",
            f"master_link_status:{'up' if side.link_up else 'down'}",
            f"master_last_io_seconds_ago:{int(now - side.last_io) if side.link_up else -1}",
            f"master_sync_in_progress:{0 if side.fullsync is None else 1}",
            f"slave_read_repl_offset:{side.offset}",
            f"slave_repl_offset:{side.offset}",
        ]
        fs = side.fullsync
        if fs is not None:  # a full sync transfers the checkpoint (Redis: the RDB)
            perc = 100.0 * fs.read / fs.total if fs.total else 0.0
            lines += [
                f"master_sync_total_bytes:{fs.total}",
                f"master_sync_read_bytes:{fs.read}",
                f"master_sync_left_bytes:{fs.left}",
                f"master_sync_perc:{perc:.2f}",
                f"master_sync_last_io_seconds_ago:{int(now - fs.last_io)}",
            ]
        if not side.link_up:
            down = int(now - side.down_since) if side.ever_up else -1
            lines.append(f"master_link_down_since_seconds:{down}")
        lines += [
            f"slave_priority:{cfg.get('replica-priority')}",
            f"slave_read_only:{1 if cfg.get_bool('replica-read-only') else 0}",
            f"replica_announced:{1 if cfg.get_bool('replica-announced') else 0}",
        ]
    links = server.repl_master.replicas()  # a replica's links (one per worker) as one
    lines.append(f"connected_slaves:{len(links)}")
    mono = time.monotonic()
    lines += [
        f"slave{i}:ip={link.ip},port={link.port},state=online,offset={link.offset},"
        f"lag={int(mono - link.last_ack)}"
        for i, link in enumerate(links)
    ]
    replid = side.master_replid if side is not None and side.master_replid else server.replid
    lines += [
        "master_failover_state:no-failover",
        f"master_replid:{replid}",
        f"master_replid2:{server.replid2}",
        f"master_repl_offset:{engine.repl_offset}",
        f"second_repl_offset:{server.second_repl_offset}",
        *_backlog_lines(server),
        *server.syncmode.info_lines(),
    ]
    return lines


# ---- WAIT (server/syncmode.py) ----

WAIT_ON_REPLICA = (
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
    "if a replica is configured to be writable (which is not the default) writes to "
    "replicas are just local and are not propagated."
)


@command("wait", arity=3, flags="noscript", group="connection", route=Route.WAIT)
def wait(c, argv):
    """WAIT numreplicas timeout"""
    from pikadb.commands.connection import timeout_ms_arg

    if c.server.replica_of is not None:
        raise CommandError(WAIT_ON_REPLICA)
    numreplicas = int_arg(argv[1])
    timeout = timeout_ms_arg(argv[2])
    return c.server.syncmode.wait(c, numreplicas, timeout)
