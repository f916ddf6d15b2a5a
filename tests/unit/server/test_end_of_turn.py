"""The one end of a turn (Server.end_turn), driven in-process: clients are Client objects on
recording transports that log every write in one list, so the order of effects across
connections is what the test asserts. In a turn with writes: the records reach the replica
link before any reply of the turn; a blocked client is served in the same turn; a sync-mode
reply and a WAIT are released in the turn their replica's ack arrives."""

from __future__ import annotations

import asyncio
import time

import pytest

from pikadb.binlog_codec import decode_record
from pikadb.config import Config
from pikadb.protocol import Parser, encode_command
from pikadb.server.client import Client
from pikadb.server.server import Server
from pikadb.storage import lists


class Wire:
    """Every write of every connection, in order: (connection name, bytes)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []

    def take(self) -> list[tuple[str, bytes]]:
        out, self.events = self.events, []
        return out


class RecordingTransport(asyncio.Transport):
    def __init__(self, wire: Wire, name: str, port: int) -> None:
        super().__init__()
        self.wire = wire
        self.name = name
        self.port = port
        self.closing = False

    def write(self, data) -> None:
        self.wire.events.append((self.name, bytes(data)))

    def get_extra_info(self, name, default=None):
        if name in ("peername", "sockname"):
            return ("127.0.0.1", self.port)
        return default

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True


def cmd(*args) -> bytes:
    return encode_command(list(args))


async def turns(n: int = 5) -> None:
    """Let the loop run its due callbacks (each end of turn is one)."""
    for _ in range(n):
        await asyncio.sleep(0)


def records_in(data: bytes) -> int:
    """Records in the frames a replica link got: one per "rec" frame, those back to back
    in a "recs" frame (REPLCONF capa recs)."""
    parser = Parser(max_bulk=1 << 30)
    parser.feed(data)
    n = 0
    while (frame := parser.gets()) is not None:
        if frame[0] == b"rec":
            n += 1
        elif frame[0] == b"recs":
            pos = 0
            while pos < len(frame[2]):
                pos = decode_record(frame[2], pos)[1]
                n += 1
    return n


@pytest.fixture
def server(tmp_path):
    config = Config.load(None, [("dir", [str(tmp_path / "data")]), ("port", ["0"])])
    s = Server(config)
    s.open_storage()
    yield s
    s.engine.close()


async def connect(server: Server, wire: Wire, name: str, port: int) -> Client:
    c = Client(server)
    c.connection_made(RecordingTransport(wire, name, port))
    return c


@pytest.mark.parametrize("capa", [[], ["capa", "recs"]], ids=["rec-frames", "recs-frames"])
def test_a_turn_pushes_records_before_replies_and_serves_blocked_clients(server, capa):
    async def scenario() -> None:
        server.attach_loop()
        wire = Wire()
        writer = await connect(server, wire, "writer", 50001)
        blocked = await connect(server, wire, "blocked", 50002)
        waiter = await connect(server, wire, "waiter", 50003)
        replica = await connect(server, wire, "replica", 50004)

        # The replica attaches after the last record (REPLCONF + PIKASYNC, as pikad's).
        b = server.engine.shards[0].binlog
        replica.data_received(
            cmd("REPLCONF", "listening-port", "7000", *capa)
            + cmd("PIKASYNC", "?", b.term, 1, 0, b.durable_id, b.last_term, b.durable_offset)
        )
        await turns()
        assert wire.take() == [("replica", b"+OK\r\n+CONTINUE %s\r\n" % server.replid.encode())]
        blocked.data_received(cmd("BLPOP", "queue", "0"))
        await turns()
        assert wire.take() == []

        # One turn: a SET, and an LPUSH that serves the blocked client (its pop is a write).
        writer.data_received(cmd("SET", "k", "v") + cmd("LPUSH", "queue", "job"))
        assert wire.events == []  # every reply waits for the end of the turn
        await turns()
        events = wire.take()
        assert [n for n, _d in events] == ["replica", "blocked", "writer"]
        assert records_in(events[0][1]) == 3  # SET, LPUSH, and the blocked client's pop
        assert events[1][1] == b"*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n"
        assert events[2][1] == b"+OK\r\n:1\r\n"

        # WAIT: the write's reply at the end of its turn, WAIT's when the replica acked.
        waiter.data_received(cmd("SET", "w", "1") + cmd("WAIT", "1", "0"))
        await turns()
        events = wire.take()
        assert [n for n, _d in events] == ["replica", "waiter"]
        assert events[1][1] == b"+OK\r\n"
        replica.data_received(cmd("REPLCONF", "ACK", 0, b.durable_id, b.durable_offset))
        assert wire.events == []  # released by the end of the turn, not by the ACK itself
        await turns()
        assert wire.take() == [("waiter", b":1\r\n")]

        # Sync mode: the write's reply waits for the replica's ack of its record.
        writer.data_received(
            cmd("CONFIG", "SET", "replication-mode", "sync", "min-replicas-to-ack", "1")
        )
        await turns()
        assert wire.take() == [("writer", b"+OK\r\n")]
        writer.data_received(cmd("INCR", "counter"))
        await turns()
        events = wire.take()
        assert [(n, records_in(d)) for n, d in events] == [("replica", 1)]
        replica.data_received(cmd("REPLCONF", "ACK", 0, b.durable_id, b.durable_offset))
        await turns()
        assert wire.take() == [("writer", b":1\r\n")]

    asyncio.run(scenario())


def test_keys_readied_without_a_command_are_served_at_the_end_of_the_turn(server):
    """A write no client command made (here: the engine written directly, as a replica's
    applied records or active expiry do) readies a blocked client's key; the end of that
    turn serves it, its pop's record reaching the replica before the reply."""

    async def scenario() -> None:
        server.attach_loop()
        wire = Wire()
        blocked = await connect(server, wire, "blocked", 50002)
        replica = await connect(server, wire, "replica", 50004)
        b = server.engine.shards[0].binlog
        replica.data_received(
            cmd("REPLCONF", "listening-port", "7000")
            + cmd("PIKASYNC", "?", b.term, 1, 0, b.durable_id, b.last_term, b.durable_offset)
        )
        blocked.data_received(cmd("BRPOP", "q", "0"))
        await turns()
        assert wire.take() == [("replica", b"+OK\r\n+CONTINUE %s\r\n" % server.replid.encode())]
        server.begin_turn()
        server.engine.db(0).rpush(b"q", [b"a"]) if hasattr(server.engine.db(0), "rpush") else _push(
            server, b"q", b"a"
        )
        await turns()
        events = wire.take()
        # The push's record, then (served in step 3) the pop's record, then the reply.
        assert [(n, records_in(d)) for n, d in events[:2]] == [("replica", 1), ("replica", 1)]
        assert events[2:] == [("blocked", b"*2\r\n$1\r\nq\r\n$1\r\na\r\n")]

    asyncio.run(scenario())


def _push(server: Server, key: bytes, value: bytes) -> None:
    lists.push(server.engine.db(0), key, [value], time.time_ns() // 1_000_000, left=False)
