"""REPLICAOF / SLAVEOF, ROLE, REPLCONF, PIKASYNC (pikadb's replica handshake), and the
refusal of Redis's PSYNC / SYNC; INFO replication's lines (replication_info).

The protocol itself is in pikadb.replication.master (streaming to replicas) and
pikadb.replication.replica (the link to a master, role changes).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pikadb import errors
from pikadb.commands.args import int_arg
from pikadb.commands.merge import to_reply
from pikadb.commands.table import Route, command
from pikadb.errors import CommandError
from pikadb.log import log
from pikadb.protocol import OK, RawReply, Status
from pikadb.replication.fullsync import start_full_sync

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
                c.repl_listening_port = int(val)
            except ValueError:
                raise CommandError(errors.NOT_INTEGER) from None
        elif opt == b"ip-address":
            c.repl_announce_ip = val.decode("utf-8", "replace")
        elif opt == b"capa":
            pass
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


def _diverged(engine, positions: dict[int, tuple[int, int, int]]) -> str:
    """Why the replica's history is not this master's ('' when every shard's last record
    is here with the same term and end offset)."""
    for index, (id_, term, offset) in positions.items():
        b = engine.slot_shards[index].binlog
        if b.first_id - 1 <= id_ <= b.durable_id and not b.matches(id_, term, offset):
            return (
                f"history diverged: shard {index} record {id_} (term {term}, "
                f"ending at offset {offset}) is not this master's"
            )
    return ""


def _parse_pikasync(argv: list[bytes]) -> tuple[int, int, dict[int, tuple[int, int, int]]]:
    try:
        term = int(argv[2])
        nshards = int(argv[3])
        nums = [int(a) for a in argv[4:]]
    except ValueError:
        raise CommandError("ERR PIKASYNC: term, shard count and ids must be integers") from None
    if not nums or len(nums) % 4:
        raise CommandError(errors.SYNTAX)
    positions = {nums[i]: (nums[i + 1], nums[i + 2], nums[i + 3]) for i in range(0, len(nums), 4)}
    if len(positions) * 4 != len(nums) or not all(0 <= i < nshards for i in positions):
        raise CommandError("ERR PIKASYNC: shard indexes must be distinct and below the count")
    return term, nshards, positions


def _owner_groups(server, indexes) -> dict[int, list[int]]:
    """The shards asked for, grouped by the worker owning them (one group: one worker)."""
    w = server.worker
    groups: dict[int, list[int]] = {}
    for i in indexes:
        groups.setdefault(0 if w is None else i % w.count, []).append(i)
    return groups


@command("pikasync", arity=-5, flags="admin noscript no_multi", group="server")
def pikasync(c, argv):
    """PIKASYNC <replid|?> <term> <nshards> <shard> <id> <term> <offset> ... (per shard
    asked for: its index, the last applied record, its term and end offset)"""
    server = c.server
    engine = server.engine
    if c.repl_link is not None:
        raise CommandError("ERR this connection is already a replica link")
    term, nshards, positions = _parse_pikasync(argv)
    peer = f"{c.peer.rsplit(':', 1)[0]}:{c.repl_listening_port}"
    if nshards != engine.nshards:
        # A checkpoint cannot help: keys are spread over the shards by count.
        reason = f"the replica has {nshards} shard(s), this master {engine.nshards}"
        log.warning(f"Replica {peer} asks for synchronization: full sync needed: {reason}")
        raise CommandError(f"FULLSYNC needed: {reason}")
    groups = _owner_groups(server, positions)
    if len(groups) > 1:
        # This server's workers own them apart: one connection per worker's group.
        raise CommandError("PIKASPLIT " + " ".join(",".join(map(str, g)) for g in groups.values()))
    (owner,) = groups
    if server.worker is not None and owner != server.worker.index:
        server.hand_off(c, owner, argv)  # to the worker owning the shards, with the connection
        return NO_REPLY
    reason = ""
    if term > max(s.binlog.term for s in engine.shards):
        reason = f"the replica's term {term} is newer than this master's (diverged history)"
    else:
        reason = _diverged(engine, positions)
    ids = {i: p[0] for i, p in positions.items()}
    if not reason:
        link = server.repl_master.attach(c, ids)
        if not isinstance(link, str):
            log.notice(
                f"Replica {peer} asks for synchronization: incremental sync accepted, "
                f"sending the records after ids {ids}"
            )
            # After this reply (a reply held for this turn's group commit goes out first).
            asyncio.get_running_loop().call_soon(link.catch_up)
            return Status(f"CONTINUE {server.replid}")
        reason = link
    log.warning(f"Replica {peer} asks for synchronization: full sync needed: {reason}")
    master_term = start_full_sync(server, c, peer, list(positions))
    log.notice(f"Starting full sync (checkpoint transfer) to replica {peer}")
    return Status(f"FULLRESYNC {server.replid} {master_term}")


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


# ---- WAIT (replication/syncmode.py) ----


@command("wait", arity=3, flags="noscript", group="connection", route=Route.WAIT)
def wait(c, argv):
    """WAIT numreplicas timeout"""
    from pikadb.commands.connection import timeout_ms_arg
    from pikadb.replication.syncmode import WAIT_ON_REPLICA

    if c.server.replica_of is not None:
        raise CommandError(WAIT_ON_REPLICA)
    numreplicas = int_arg(argv[1])
    timeout = timeout_ms_arg(argv[2])
    return c.server.syncmode.wait(c, numreplicas, timeout)
