"""The master side of replication: one ReplicaLink per connected pikadb replica.

A replica connects as an ordinary client and sends PIKASYNC with its last applied id per
shard (commands/replication.py). When every shard binlog still holds the records after
those ids, the connection becomes a link: the master streams each shard's durable records
as RESP arrays [b"rec", shard, raw record] in id order, pins each shard's binlog at what
the replica acknowledged (REPLCONF ACK) so retention keeps what it still needs, and PINGs it
every repl-ping-replica-period so the replica can tell a quiet master from a dead one.

Pushing is driven by events, never by polling: the engine reports every binlog write that
became durable (Shard._write -> Engine.on_durable), which schedules one push per event-loop
turn; a link whose transport buffer is above PUSH_HIGH_WATER stops reading the binlog and
continues when the transport drains (Client.resume_writing).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from pikadb.log import log
from pikadb.replication.binlog import BinlogReader

if TYPE_CHECKING:
    from pikadb.server.client import Client
    from pikadb.server.server import Server

# Stop reading the binlog for a replica while this much is unsent in its transport.
PUSH_HIGH_WATER = 4 << 20
# Binlog bytes read per shard per step (one step per shard per pass; passes repeat until
# the buffer is full or everything durable is sent).
PUSH_CHUNK = 256 << 10
PING_FRAME = b"*1\r\n$4\r\nPING\r\n"


def frame(shard: int, raw: bytes) -> bytes:
    s = b"%d" % shard
    return b"*3\r\n$3\r\nrec\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(s), s, len(raw), raw)


class ReplicaLink:
    """A connected replica: its readers, what it acknowledged, its announced address."""

    def __init__(self, master: MasterSide, client: Client, readers: list[BinlogReader]) -> None:
        self.master = master
        self.client = client
        self.readers = readers
        self.acked_ids = [r.last_id for r in readers]
        self.acked_offsets = [0] * len(readers)
        self.ip = client.peer.rsplit(":", 1)[0].strip("[]")
        self.port = client.repl_listening_port
        if client.repl_announce_ip:
            self.ip = client.repl_announce_ip
        self.last_ack = time.monotonic()
        self.closed = False
        for shard, r in zip(master.server.engine.shards, readers, strict=True):
            shard.binlog.pin(self, r.last_id)

    @property
    def offset(self) -> int:
        return sum(self.acked_offsets)

    def ack(self, shard: int, id_: int, offset: int | None) -> None:
        self.last_ack = time.monotonic()
        if not 0 <= shard < len(self.readers) or id_ < self.acked_ids[shard]:
            return
        self.acked_ids[shard] = id_
        if offset is not None:
            self.acked_offsets[shard] = offset
        self.master.server.engine.shards[shard].binlog.pin(self, id_)
        self.master.server.syncmode.on_ack()  # WAIT and sync-mode replies waiting on acks

    def push(self) -> None:
        """Send durable records until the transport buffer is above the high water mark."""
        client = self.client
        transport = client.transport
        if self.closed or transport is None or client.closed:
            return
        while transport.get_write_buffer_size() < PUSH_HIGH_WATER:
            frames: list[bytes] = []
            for index, reader in enumerate(self.readers):
                for _rec, raw in reader.read(PUSH_CHUNK):
                    frames.append(frame(index, raw))
            if not frames:
                return
            # send, not write: records are durable, nothing of this turn must hold them.
            client.send(b"".join(frames))

    def ping(self) -> None:
        if not self.closed:
            self.client.send(PING_FRAME)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for shard, reader in zip(self.master.server.engine.shards, self.readers, strict=True):
            shard.binlog.unpin(self)
            reader.close()
        self.master.links.remove(self)
        log.notice(f"Connection with replica {self.ip}:{self.port} lost.")


class MasterSide:
    """Every replica link of this server (a replica may have its own replicas too)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.links: list[ReplicaLink] = []
        self._scheduled = False
        self._last_ping = time.monotonic()

    def attach(self, client: Client, after_ids: list[int]) -> ReplicaLink | str:
        """A link for a replica whose shards applied up to after_ids, or why there is
        none (the reason a full sync is needed)."""
        shards = self.server.engine.shards
        readers: list[BinlogReader] = []
        for shard, after in zip(shards, after_ids, strict=True):
            reader = shard.binlog.reader(after)
            if reader is None:
                for r in readers:
                    r.close()
                b = shard.binlog
                return (
                    f"shard {shard.index} does not hold the records after id {after} "
                    f"(it holds ids {b.first_id}..{b.durable_id})"
                )
            readers.append(reader)
        link = ReplicaLink(self, client, readers)
        self.links.append(link)
        client.repl_link = link
        return link

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
