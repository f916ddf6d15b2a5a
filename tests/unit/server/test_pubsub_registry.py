"""server.pubsub.PubSub with fake clients: registries, counts, delivery and output limits."""

from __future__ import annotations

import pytest

from pikadb.config import Config
from pikadb.protocol import Push, encode
from pikadb.server.client import Subscriptions
from pikadb.server.pubsub import PubSub, parse_pubsub_limits


class FakeTransport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.aborted = False
        self.drained = False  # False: nothing is ever read by the peer

    def write(self, data: bytes) -> None:
        if not self.drained:
            self.data += data

    def get_write_buffer_size(self) -> int:
        return len(self.data)

    def abort(self) -> None:
        self.aborted = True


class FakeClient:
    def __init__(self, proto: int = 2) -> None:
        self.proto = proto
        self.subs = Subscriptions()
        self.subscribed = False
        self.out_batch: list[bytes] | None = None
        self.transport = FakeTransport()
        self.closed = False

    def push(self, data: bytes) -> None:
        if self.out_batch is not None:
            self.out_batch.append(data)
        else:
            self.transport.write(data)

    def describe(self) -> str:
        return "fake"


class FakeServer:
    def __init__(self, limits: str = "normal 0 0 0 pubsub 32mb 8mb 60") -> None:
        self.config = Config()
        self.config.set_many([("client-output-buffer-limit", limits)])


@pytest.fixture
def ps() -> PubSub:
    return PubSub(FakeServer())


def _frame(proto: int, *items: object) -> bytes:
    return encode(Push(list(items)), proto)


def test_subscribe_counts_and_flag(ps):
    c = FakeClient()
    out = ps.subscribe(c, ps.channels, [b"a", b"b", b"a"])
    assert out == _frame(2, b"subscribe", b"a", 1) + _frame(2, b"subscribe", b"b", 2) + _frame(
        2, b"subscribe", b"a", 2
    )
    assert ps.subscribe(c, ps.patterns, [b"p*"]) == _frame(2, b"psubscribe", b"p*", 3)
    assert ps.subscribe(c, ps.shard, [b"s"]) == _frame(2, b"ssubscribe", b"s", 1)
    assert c.subscribed
    assert ps.unsubscribe(c, ps.channels, []) == _frame(2, b"unsubscribe", b"a", 2) + _frame(
        2, b"unsubscribe", b"b", 1
    )
    assert ps.unsubscribe(c, ps.patterns, []) == _frame(2, b"punsubscribe", b"p*", 0)
    assert c.subscribed  # the shard channel is left
    assert ps.unsubscribe(c, ps.shard, [b"s"]) == _frame(2, b"sunsubscribe", b"s", 0)
    assert not c.subscribed
    assert ps.unsubscribe(c, ps.channels, []) == _frame(2, b"unsubscribe", None, 0)
    assert ps.channels.registry == {} and ps.patterns.registry == {} and ps.shard.registry == {}


def test_publish_counts_and_framing(ps):
    r2, r3, pat = FakeClient(2), FakeClient(3), FakeClient(2)
    ps.subscribe(r2, ps.channels, [b"news"])
    ps.subscribe(r3, ps.channels, [b"news"])
    ps.subscribe(pat, ps.patterns, [b"n*", b"*s"])
    assert ps.publish(b"news", b"hi") == 4
    assert bytes(r2.transport.data) == b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    assert bytes(r3.transport.data) == b">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    assert bytes(pat.transport.data) == _frame(2, b"pmessage", b"n*", b"news", b"hi") + _frame(
        2, b"pmessage", b"*s", b"news", b"hi"
    )
    assert ps.publish(b"", b"x") == 0  # '*s' and 'n*' need a byte
    assert ps.spublish(b"news", b"x") == 0


def test_publisher_subscribed_to_itself_gets_the_frame_in_its_batch(ps):
    c = FakeClient(3)
    ps.subscribe(c, ps.channels, [b"x"])
    c.out_batch = [b"earlier reply"]
    assert ps.publish(b"x", b"m") == 1
    assert c.out_batch == [b"earlier reply", _frame(3, b"message", b"x", b"m")]


def test_hard_limit_disconnects_and_unsubscribes():
    ps = PubSub(FakeServer("pubsub 100 0 0"))
    slow, fast = FakeClient(), FakeClient()
    fast.transport.drained = True
    ps.subscribe(slow, ps.channels, [b"ch"])
    ps.subscribe(fast, ps.channels, [b"ch"])
    assert ps.publish(b"ch", b"x" * 200) == 2
    assert slow.transport.aborted and slow.closed and not slow.subscribed
    assert not fast.transport.aborted
    assert ps.publish(b"ch", b"y") == 1


def test_soft_limit_needs_its_seconds(monkeypatch):
    ps = PubSub(FakeServer("pubsub 0 100 10"))
    slow = FakeClient()
    ps.subscribe(slow, ps.channels, [b"ch"])
    clock = [1000.0]
    monkeypatch.setattr("pikadb.server.pubsub.time.monotonic", lambda: clock[0])
    ps.publish(b"ch", b"x" * 200)  # over the soft limit: the clock starts
    clock[0] += 5
    ps.publish(b"ch", b"x")
    assert not slow.transport.aborted
    clock[0] += 6
    ps.publish(b"ch", b"x")
    assert slow.transport.aborted


def test_parse_pubsub_limits():
    assert parse_pubsub_limits("normal 0 0 0 slave 1 2 3 pubsub 32mb 8mb 60") == (
        32 * 1024 * 1024,
        8 * 1024 * 1024,
        60,
    )
    assert parse_pubsub_limits("pubsub 0 0 0") == (0, 0, 0)
    assert parse_pubsub_limits("normal 0 0 0") == (32 * 1024 * 1024, 8 * 1024 * 1024, 60)
