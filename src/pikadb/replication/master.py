"""The master side of replication: one ReplicaLink per connected pikadb replica.

A replica connects as an ordinary client and sends PIKASYNC with its last applied id per
shard (commands/replication.py). When every shard binlog still holds the records after
those ids, the connection becomes a link: the master streams each shard's durable records
in id order as RESP arrays [b"recs", shard, the raw records back to back] (one frame per
shard per turn; [b"rec", shard, raw record] per record to a replica that did not announce
REPLCONF capa recs), pins each shard's binlog at what the replica acknowledged (REPLCONF
ACK) so retention keeps what it still needs, and PINGs it every repl-ping-replica-period
so the replica can tell a quiet master from a dead one.

Pushing happens at the end of every event-loop turn (Server.end_turn, after the turn's
writes and before its replies): the records that became durable in the turn go to every
link that is caught up, from memory (push_turn; the same frame bytes for every link). A link
behind (just attached, or its transport above PUSH_HIGH_WATER) catches up from the binlog
file instead, PUSH_SLICE bytes per shard per turn (catch_up; the rest in the next turn,
after the other clients), and goes back to the in-memory records once it reached them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pikadb.log import log
from pikadb.storage.binlog import BinlogReader, Fresh

if TYPE_CHECKING:
    from pikadb.config import Config
    from pikadb.storage.engine import Engine


class ReplicaConnection(Protocol):
    """The connection of a replica that sent PIKASYNC (the server's client object)."""

    transport: asyncio.Transport | None
    closed: bool
    peer: str
    announced: Any  # REPLCONF's announcements: port, ip, recs
    repl_link: Any

    def send(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class MasterServer(Protocol):
    """What the master side needs of the server that runs it."""

    engine: Engine
    config: Config

    def begin_turn(self) -> None:
        """Work starts running on the event loop (the end of the turn follows)."""
        ...

    def replicas_acked(self) -> None:
        """REPLCONF ACKs arrived: waiters on acks are looked at by the end of the turn."""
        ...


# Stop reading the binlog for a replica while this much is unsent in its transport.
PUSH_HIGH_WATER = 4 << 20
# Binlog bytes read per shard per push (one push per event-loop turn while there is more):
# about a millisecond of reading and framing.
PUSH_SLICE = 64 << 10
PING_FRAME = b"*1\r\n$4\r\nPING\r\n"


def frame(shard: int, raw: bytes) -> bytes:
    s = b"%d" % shard
    return b"*3\r\n$3\r\nrec\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(s), s, len(raw), raw)


def frames(shard: int, records: list[bytes], batched: bool) -> bytes:
    """The records of one shard for a replica: one "recs" frame carrying them back to back
    (a replica that announced REPLCONF capa recs), else one "rec" frame each."""
    if not batched:
        return b"".join([frame(shard, raw) for raw in records])
    s = b"%d" % shard
    blob = records[0] if len(records) == 1 else b"".join(records)
    return b"*3\r\n$4\r\nrecs\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(s), s, len(blob), blob)


class ReplicaLink:
    """A connected replica (or one of its connections, when its shards come in groups):
    its readers and what it acknowledged, by shard index, its announced address."""

    def __init__(
        self, master: MasterSide, client: ReplicaConnection, readers: dict[int, BinlogReader]
    ) -> None:
        self.master = master
        self.client = client
        self.readers = readers
        self.acked_ids = {i: r.last_id for i, r in readers.items()}
        self.acked_offsets = dict.fromkeys(readers, 0)
        self.ip = client.peer.rsplit(":", 1)[0].strip("[]")
        self.port = client.announced.port
        self.batched = bool(client.announced.recs)
        if client.announced.ip:
            self.ip = client.announced.ip
        self.last_ack = time.monotonic()
        self.closed = False
        # Behind the turn's records (just attached, or paused by PUSH_HIGH_WATER): catch_up
        # reads the file until it reached them; _again: a catch_up is scheduled.
        self._behind = True
        self._again = False
        self.replica = f"{self.ip}:{self.port}"  # one replica may hold several links
        shards = master.server.engine.slot_shards
        for i, r in readers.items():
            shards[i].binlog.pin(self, r.last_id)

    @property
    def offset(self) -> int:
        return sum(self.acked_offsets.values())

    def ack(self, shard: int, id_: int, offset: int | None) -> None:
        self.last_ack = time.monotonic()
        if shard not in self.acked_ids or id_ < self.acked_ids[shard]:
            return
        self.acked_ids[shard] = id_
        if offset is not None:
            self.acked_offsets[shard] = offset
        self.master.server.engine.slot_shards[shard].binlog.pin(self, id_)
        self.master.server.replicas_acked()

    def push_fresh(self, fresh: dict[int, Fresh], shared: dict[tuple[int, bool], bytes]) -> None:
        """The end of a turn: send the turn's new records (shared: the frames by shard and
        kind, built once for every link) to a link that is caught up; a link behind catches
        up from the file."""
        if self.closed or self._behind:
            return
        client = self.client
        transport = client.transport
        if transport is None or client.closed:
            return
        if transport.get_write_buffer_size() >= PUSH_HIGH_WATER:
            self._behind = True  # resume_writing -> catch_up
            return
        out: list[bytes] = []
        readers = self.readers
        for index, f in fresh.items():
            reader = readers.get(index)
            if reader is None:
                continue
            if not reader.take(f):
                self._behind = True
                self._schedule_catch_up()
                continue
            key = (index, self.batched)
            data = shared.get(key)
            if data is None:
                data = shared[key] = frames(index, f.records, self.batched)
            out.append(data)
        if out:
            client.send(b"".join(out) if len(out) > 1 else out[0])

    def catch_up(self) -> None:
        """Send a slice of the durable records this link has not had yet; the next slice
        in the next turn. Caught up, the link gets each turn's records from memory."""
        self._again = False
        client = self.client
        transport = client.transport
        if self.closed or transport is None or client.closed:
            return
        self.master.server.begin_turn()
        if transport.get_write_buffer_size() >= PUSH_HIGH_WATER:
            self._behind = True
            return  # resume_writing catches up again once the replica has read
        out: list[bytes] = []
        more = False
        for index, reader in self.readers.items():
            recs = reader.read(PUSH_SLICE)
            if recs:
                out.append(frames(index, [raw for _rec, raw in recs], self.batched))
            if reader.last_id < reader.binlog.durable_id:
                more = True
        if out:
            # send, not write: the records are durable, nothing of this turn must hold them.
            client.send(b"".join(out))
        self._behind = more
        if more:
            self._schedule_catch_up()

    def _schedule_catch_up(self) -> None:
        if not self._again:
            self._again = True
            asyncio.get_running_loop().call_soon(self.catch_up)

    def ping(self) -> None:
        if not self.closed:
            self.client.send(PING_FRAME)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        shards = self.master.server.engine.slot_shards
        for index, reader in self.readers.items():
            shards[index].binlog.unpin(self)
            reader.close()
        self.master.links.remove(self)
        log.notice(f"Connection with replica {self.ip}:{self.port} lost.")


@dataclass
class ReplicaView:
    """A replica whose shards came over several links, as one."""

    ip: str
    port: int
    offset: int
    last_ack: float
    acked_ids: dict[int, int]


class MasterSide:
    """Every replica link of this server (a replica may have its own replicas too)."""

    def __init__(self, server: MasterServer) -> None:
        self.server = server
        self.links: list[ReplicaLink] = []
        self._last_ping = time.monotonic()

    def attach(self, client: ReplicaConnection, after_ids: dict[int, int]) -> ReplicaLink | str:
        """A link for a replica whose shards (index -> id) applied up to those ids, or
        why there is none (the reason a full sync is needed)."""
        shards = self.server.engine.slot_shards
        readers: dict[int, BinlogReader] = {}
        for index, after in after_ids.items():
            shard = shards[index]
            reader = shard.binlog.reader(after)
            if reader is None:
                for r in readers.values():
                    r.close()
                b = shard.binlog
                return (
                    f"shard {shard.index} does not hold the records after id {after} "
                    f"(it holds ids {b.first_id}..{b.durable_id})"
                )
            readers[index] = reader
        link = ReplicaLink(self, client, readers)
        self.links.append(link)
        client.repl_link = link
        return link

    def replicas(self) -> list[ReplicaLink | ReplicaView]:
        """One entry per replica: its links summed when its shards came in groups."""
        links = self.links
        if len({link.replica for link in links}) == len(links):
            return links  # type: ignore[return-value]
        by: dict[str, ReplicaView] = {}
        for link in links:
            v = by.get(link.replica)
            if v is None:
                by[link.replica] = ReplicaView(
                    link.ip, link.port, link.offset, link.last_ack, dict(link.acked_ids)
                )
            else:
                v.offset += link.offset
                v.last_ack = min(v.last_ack, link.last_ack)
                v.acked_ids.update(link.acked_ids)
        return list(by.values())

    def push_turn(self, fresh: dict[int, Fresh]) -> None:
        """The end of a turn: the records that became durable in it, to every link."""
        shared: dict[tuple[int, bool], bytes] = {}
        for link in self.links:
            link.push_fresh(fresh, shared)

    def cron(self) -> None:
        """Once a second: PING the replicas every repl-ping-replica-period seconds."""
        if not self.links:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.server.config.get_int("repl-ping-replica-period"):
            self._last_ping = now
            for link in self.links:
                link.ping()

    def stop(self) -> None:
        """Disconnect every replica (shutdown)."""
        for link in list(self.links):
            link.client.close()
            link.close()
