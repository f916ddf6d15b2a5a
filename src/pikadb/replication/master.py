"""The master side of replication: one ReplicaLink per connected pikadb replica.

A replica connects as an ordinary client and sends PIKASYNC with its last applied id per
shard (commands/replication.py). When every shard binlog still holds the records after
those ids, the connection becomes a link: the master streams each shard's durable records
as RESP arrays [b"rec", shard, raw record] in id order, pins each shard's binlog at what
the replica acknowledged (REPLCONF ACK) so retention keeps what it still needs, and PINGs it
every repl-ping-replica-period so the replica can tell a quiet master from a dead one.

Pushing is driven by events, never by polling: the engine reports every binlog write that
became durable (Shard._write -> Engine.on_durable), which schedules one push per event-loop
turn. One push sends at most PUSH_SLICE bytes of records per shard and goes on in the next
turn while there is more (a replica far behind is served in slices, so the other clients
wait for a slice at most, not for the whole catch-up); a link whose transport buffer is
above PUSH_HIGH_WATER stops reading the binlog and continues when the transport drains
(Client.resume_writing).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pikadb.log import log
from pikadb.replication.binlog import BinlogReader

if TYPE_CHECKING:
    from pikadb.server.client import Client
    from pikadb.server.server import Server

# Stop reading the binlog for a replica while this much is unsent in its transport.
PUSH_HIGH_WATER = 4 << 20
# Binlog bytes read per shard per push (one push per event-loop turn while there is more):
# about a millisecond of reading and framing.
PUSH_SLICE = 64 << 10
PING_FRAME = b"*1\r\n$4\r\nPING\r\n"


def frame(shard: int, raw: bytes) -> bytes:
    s = b"%d" % shard
    return b"*3\r\n$3\r\nrec\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(s), s, len(raw), raw)


class ReplicaLink:
    """A connected replica (or one of its connections, when its shards come in groups):
    its readers and what it acknowledged, by shard index, its announced address."""

    def __init__(
        self, master: MasterSide, client: Client, readers: dict[int, BinlogReader]
    ) -> None:
        self.master = master
        self.client = client
        self.readers = readers
        self.acked_ids = {i: r.last_id for i, r in readers.items()}
        self.acked_offsets = dict.fromkeys(readers, 0)
        self.ip = client.peer.rsplit(":", 1)[0].strip("[]")
        self.port = client.repl_listening_port
        if client.repl_announce_ip:
            self.ip = client.repl_announce_ip
        self.last_ack = time.monotonic()
        self.closed = False
        self._again = False  # a push of the next slice is scheduled
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
        self.master.server.syncmode.on_ack()  # WAIT and sync-mode replies waiting on acks

    def push(self) -> None:
        """Send a slice of the durable records; the next slice in the next turn."""
        client = self.client
        transport = client.transport
        if self.closed or transport is None or client.closed:
            return
        self.master.server.begin_turn()
        if transport.get_write_buffer_size() >= PUSH_HIGH_WATER:
            return  # resume_writing pushes again once the replica has read
        frames: list[bytes] = []
        more = False
        for index, reader in self.readers.items():
            recs = reader.read(PUSH_SLICE)
            for _rec, raw in recs:
                frames.append(frame(index, raw))
            if recs and reader.last_id < reader.binlog.durable_id:
                more = True
        if frames:
            # send, not write: records are durable, nothing of this turn must hold them.
            client.send(b"".join(frames))
        if more and not self._again:
            self._again = True
            asyncio.get_running_loop().call_soon(self._push_again)

    def _push_again(self) -> None:
        self._again = False
        self.push()

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

    def __init__(self, server: Server) -> None:
        self.server = server
        self.links: list[ReplicaLink] = []
        self._scheduled = False
        self._last_ping = time.monotonic()

    def attach(self, client: Client, after_ids: dict[int, int]) -> ReplicaLink | str:
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

    def notify(self) -> None:
        """A binlog write became durable: push once this event-loop turn ends."""
        if self.links and not self._scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # a write while the server closes, after its loop
                return
            self._scheduled = True
            loop.call_soon(self._push_all)

    def _push_all(self) -> None:
        self._scheduled = False
        self.server.begin_turn()
        for link in list(self.links):
            link.push()

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
