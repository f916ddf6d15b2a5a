"""PIKASYNC on the master: a replica asks for the records after its last applied position
of each shard (index, id, term, end offset). The master answers

    +CONTINUE <replid>            it holds the records after every position, and the
                                  replica's last records are its own: they stream from the
                                  binlog (master.py) after this reply
    +FULLRESYNC <replid> <term>   a checkpoint follows (fullsync.py)
    -FULLSYNC needed: <why>       no sync can help (a different shard count)
    -PIKASPLIT <g1> <g2> ...      this server's workers own the shards in these groups: one
                                  connection per group (the command hands a group's
                                  connection to the worker owning it)

The PIKASYNC command (commands/replication.py) is a thin entry to this module.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pikadb import errors
from pikadb.errors import CommandError
from pikadb.log import log
from pikadb.replication.fullsync import FullSyncServer, start_full_sync
from pikadb.replication.master import ReplicaConnection

if TYPE_CHECKING:
    from pikadb.storage.engine import Engine


class SyncServer(FullSyncServer, Protocol):
    """What answering PIKASYNC needs of the server: a full sync's, and the replication id."""

    replid: str


@dataclass
class SyncRequest:
    term: int
    nshards: int
    positions: dict[int, tuple[int, int, int]]  # shard -> (id, term, end offset)

    def owner(self, workers: int) -> int:
        """The worker owning every shard asked for; -PIKASPLIT when they are apart."""
        groups: dict[int, list[int]] = {}
        for i in self.positions:
            groups.setdefault(i % workers, []).append(i)
        if len(groups) > 1:
            # This server's workers own them apart: one connection per worker's group.
            raise CommandError(
                "PIKASPLIT " + " ".join(",".join(map(str, g)) for g in groups.values())
            )
        (owner,) = groups
        return owner


def parse_request(argv: list[bytes]) -> SyncRequest:
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
    return SyncRequest(term, nshards, positions)


def _diverged(engine: Engine, positions: dict[int, tuple[int, int, int]]) -> str:
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


def _peer(c: ReplicaConnection) -> str:
    return f"{c.peer.rsplit(':', 1)[0]}:{c.announced.port}"


def check_shard_count(engine: Engine, c: ReplicaConnection, request: SyncRequest) -> None:
    """-FULLSYNC needed when the shard counts differ: a checkpoint cannot help (keys are
    spread over the shards by count). Asked first, before anything else."""
    if request.nshards != engine.nshards:
        reason = f"the replica has {request.nshards} shard(s), this master {engine.nshards}"
        log.warning(f"Replica {_peer(c)} asks for synchronization: full sync needed: {reason}")
        raise CommandError(f"FULLSYNC needed: {reason}")


def answer(server: SyncServer, c: ReplicaConnection, request: SyncRequest) -> str:
    """The status line of the reply (CONTINUE or FULLRESYNC), on the worker owning the
    shards, once check_shard_count passed."""
    engine = server.engine
    term, positions = request.term, request.positions
    peer = _peer(c)
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
            return f"CONTINUE {server.replid}"
        reason = link
    log.warning(f"Replica {peer} asks for synchronization: full sync needed: {reason}")
    master_term = start_full_sync(server, c, peer, list(positions))
    log.notice(f"Starting full sync (checkpoint transfer) to replica {peer}")
    return f"FULLRESYNC {server.replid} {master_term}"
