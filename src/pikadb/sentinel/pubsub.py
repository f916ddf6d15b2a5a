"""The sentinel's own pub/sub: clients SUBSCRIBE to event names (+switch-master, +sdown, ...)
or PSUBSCRIBE to patterns, and every event is published here (events.py).

Subscribers are the server's client objects; a message is queued on each matching client as
a RESP push (RESP3 '>', RESP2 array), in Redis's order: channel subscribers first, then
pattern subscribers, each pattern once per client.
"""

from __future__ import annotations

from typing import Protocol

from pikadb.glob import stringmatch
from pikadb.protocol import Push


class Subscriber(Protocol):
    channels: set[bytes]
    patterns: set[bytes]

    def push(self, message: Push) -> None: ...


class PubSub:
    def __init__(self) -> None:
        self.channels: dict[bytes, dict[int, Subscriber]] = {}
        self.patterns: dict[bytes, dict[int, Subscriber]] = {}

    def subscribe(self, client: Subscriber, channel: bytes) -> None:
        client.channels.add(channel)
        self.channels.setdefault(channel, {})[id(client)] = client

    def unsubscribe(self, client: Subscriber, channel: bytes) -> bool:
        if channel not in client.channels:
            return False
        client.channels.discard(channel)
        subs = self.channels.get(channel)
        if subs is not None:
            subs.pop(id(client), None)
            if not subs:
                del self.channels[channel]
        return True

    def psubscribe(self, client: Subscriber, pattern: bytes) -> None:
        client.patterns.add(pattern)
        self.patterns.setdefault(pattern, {})[id(client)] = client

    def punsubscribe(self, client: Subscriber, pattern: bytes) -> bool:
        if pattern not in client.patterns:
            return False
        client.patterns.discard(pattern)
        subs = self.patterns.get(pattern)
        if subs is not None:
            subs.pop(id(client), None)
            if not subs:
                del self.patterns[pattern]
        return True

    def drop(self, client: Subscriber) -> None:
        for channel in list(client.channels):
            self.unsubscribe(client, channel)
        for pattern in list(client.patterns):
            self.punsubscribe(client, pattern)

    def publish(self, channel: bytes, message: bytes) -> int:
        receivers = 0
        for client in list(self.channels.get(channel, {}).values()):
            client.push(Push([b"message", channel, message]))
            receivers += 1
        for pattern, subs in list(self.patterns.items()):
            if not stringmatch(pattern, channel):
                continue
            for client in list(subs.values()):
                client.push(Push([b"pmessage", pattern, channel, message]))
                receivers += 1
        return receivers
