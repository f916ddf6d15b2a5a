"""Pub/Sub: who listens to which channel or pattern, and delivery of PUBLISH (Redis pubsub.c).

Three namespaces, each a map name -> subscribers (an insertion-ordered dict used as an ordered
set, so delivery follows subscription order): channels (SUBSCRIBE), patterns (PSUBSCRIBE) and
shard channels (SSUBSCRIBE; without cluster mode they are just a separate namespace). Every
client keeps its own ordered sets (`c.subs.channels`, `c.subs.patterns`, `c.subs.shard_channels`) for the
counts in the confirmation frames, UNSUBSCRIBE without arguments and cleanup when it goes.
`c.subscribed` is Redis's CLIENT_PUBSUB flag: set by any subscribe, cleared when the client's
last subscription of any kind is gone; the dispatcher reads it for the RESP2 subscribed context.

Delivery: PUBLISH encodes a frame once per protocol (RESP2 array, RESP3 push) and hands it
to each subscriber's output path, Client.push(): when the subscriber is the client running
the command, the frame joins the replies being built (Redis puts it before PUBLISH's own
reply); otherwise it goes straight to the subscriber's transport. The event loop runs one
command at a time, so every subscriber sees messages in publish order, whichever connection
published them. A subscriber that does not read is never waited for: its transport buffers,
reading from it pauses (flow control), and past the pubsub class of client-output-buffer-limit
(hard limit at once, soft limit after its seconds) it is disconnected, as Redis does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pikadb.config import parse_memory
from pikadb.glob import compile_pattern
from pikadb.log import log
from pikadb.protocol import Push, encode

if TYPE_CHECKING:
    from pikadb.server.client import Client
    from pikadb.server.server import Server

Subscribers = dict["Client", None]


class Kind:
    """One namespace: its registry, the client attribute holding a client's own set, and
    the words of its frames."""

    __slots__ = ("attr", "message", "registry", "subscribe", "unsubscribe")

    def __init__(self, attr: str, subscribe: bytes, unsubscribe: bytes, message: bytes) -> None:
        self.attr = attr
        self.subscribe = subscribe
        self.unsubscribe = unsubscribe
        self.message = message
        self.registry: dict[bytes, Subscribers] = {}


# Redis's default "pubsub 32mb 8mb 60", used when the configured value names no pubsub class.
_DEFAULT_LIMITS = (32 * 1024 * 1024, 8 * 1024 * 1024, 60)


def parse_pubsub_limits(value: str) -> tuple[int, int, int]:
    """The (hard bytes, soft bytes, soft seconds) of the pubsub class in a
    client-output-buffer-limit value such as 'normal 0 0 0 pubsub 32mb 8mb 60'."""
    words = value.split()
    for i in range(0, len(words) - 3, 4):
        if words[i].lower() == "pubsub":
            hard = parse_memory(words[i + 1])
            soft = parse_memory(words[i + 2])
            try:
                secs = int(words[i + 3])
            except ValueError:
                secs = None
            if hard is not None and soft is not None and secs is not None:
                return hard, soft, secs
    return _DEFAULT_LIMITS


class PubSub:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.channels = Kind("channels", b"subscribe", b"unsubscribe", b"message")
        self.patterns = Kind("patterns", b"psubscribe", b"punsubscribe", b"pmessage")
        self.shard = Kind("shard_channels", b"ssubscribe", b"sunsubscribe", b"smessage")
        self._matchers: dict[bytes, Callable[[bytes], bool]] = {}  # pattern -> compiled glob
        self._soft_since: dict[Client, float] = {}  # over the soft limit since (monotonic s)
        config = server.config
        self.limits = parse_pubsub_limits(config.get("client-output-buffer-limit"))
        config.on_change(
            "client-output-buffer-limit", lambda v: setattr(self, "limits", parse_pubsub_limits(v))
        )

    # ---- subscriptions ----

    @staticmethod
    def _count(c: Client, kind: Kind) -> int:
        """The count in a confirmation frame: shard channels are counted on their own."""
        if kind.attr == "shard_channels":
            return len(c.subs.shard_channels)
        return len(c.subs.channels) + len(c.subs.patterns)

    def subscribe(self, c: Client, kind: Kind, names: list[bytes]) -> bytes:
        """(P|S)SUBSCRIBE: one confirmation frame per name, encoded for c."""
        mine: dict[bytes, None] = getattr(c.subs, kind.attr)
        registry = kind.registry
        frames = []
        for name in names:
            if name not in mine:
                mine[name] = None
                subs = registry.get(name)
                if subs is None:
                    subs = registry[name] = {}
                    if kind is self.patterns:
                        self._matchers[name] = compile_pattern(name)
                subs[c] = None
            frames.append(encode(Push([kind.subscribe, name, self._count(c, kind)]), c.proto))
        c.subscribed = True
        return b"".join(frames)

    def unsubscribe(self, c: Client, kind: Kind, names: list[bytes]) -> bytes:
        """(P|S)UNSUBSCRIBE: one frame per name (every subscription of this kind when no
        names are given, or a single frame with a null name when there is none)."""
        mine: dict[bytes, None] = getattr(c.subs, kind.attr)
        frames = []
        if not names:
            names = list(mine)
            if not names:
                frames.append(encode(Push([kind.unsubscribe, None, self._count(c, kind)]), c.proto))
        for name in names:
            self._drop(c, kind, mine, name)
            frames.append(encode(Push([kind.unsubscribe, name, self._count(c, kind)]), c.proto))
        if not (c.subs.channels or c.subs.patterns or c.subs.shard_channels):
            c.subscribed = False
        return b"".join(frames)

    def _drop(self, c: Client, kind: Kind, mine: dict[bytes, None], name: bytes) -> None:
        if name not in mine:
            return
        del mine[name]
        subs = kind.registry[name]
        del subs[c]
        if not subs:
            del kind.registry[name]
            if kind is self.patterns:
                self._matchers.pop(name, None)

    def unsubscribe_everything(self, c: Client) -> None:
        """RESET and disconnection: leave every channel, pattern and shard channel silently."""
        for kind in (self.channels, self.patterns, self.shard):
            mine: dict[bytes, None] = getattr(c.subs, kind.attr)
            for name in list(mine):
                self._drop(c, kind, mine, name)
        c.subscribed = False
        self._soft_since.pop(c, None)

    # ---- delivery ----

    def publish(self, channel: bytes, message: bytes) -> int:
        """PUBLISH: deliver to the channel's subscribers, then to every matching pattern's;
        returns the number of deliveries (a client matching twice counts twice)."""
        receivers = 0
        over: list[Client] = []
        subs = self.channels.registry.get(channel)
        if subs:
            receivers += self._deliver(subs, [b"message", channel, message], over)
        if self.patterns.registry:
            for pattern, psubs in self.patterns.registry.items():
                if self._matchers[pattern](channel):
                    receivers += self._deliver(
                        psubs, [b"pmessage", pattern, channel, message], over
                    )
        if over:
            self._disconnect(over)
        return receivers

    def spublish(self, channel: bytes, message: bytes) -> int:
        """SPUBLISH: shard channel subscribers only (patterns never see shard messages)."""
        subs = self.shard.registry.get(channel)
        if not subs:
            return 0
        over: list[Client] = []
        n = self._deliver(subs, [b"smessage", channel, message], over)
        if over:
            self._disconnect(over)
        return n

    def _deliver(self, subs: Subscribers, frame: list[bytes], over: list[Client]) -> int:
        resp2 = encode(frame, 2)
        resp3 = b">" + resp2[1:]  # the same frame as a RESP3 push
        hard, soft, soft_secs = self.limits
        for cl in subs:
            cl.push(resp3 if cl.proto == 3 else resp2)
            if (hard or soft) and cl.out_batch is None and cl.transport is not None:
                used = cl.transport.get_write_buffer_size()
                if (hard and used >= hard) or (soft and self._soft_exceeded(cl, used, soft_secs)):
                    over.append(cl)
                elif soft and used < soft:
                    self._soft_since.pop(cl, None)
        return len(subs)

    def _soft_exceeded(self, cl: Client, used: int, secs: int) -> bool:
        if used < self.limits[1]:
            return False
        now = time.monotonic()
        since = self._soft_since.setdefault(cl, now)
        return now - since > secs

    def _disconnect(self, clients: list[Client]) -> None:
        for cl in clients:
            if cl.closed:
                continue
            log.warning(
                f"Client {cl.describe()} scheduled to be closed ASAP for overcoming of output "
                "buffer limits."
            )
            self.unsubscribe_everything(cl)
            cl.closed = True  # no more output: the buffered backlog is dropped with it
            if cl.transport is not None:
                cl.transport.abort()

    # ---- introspection (PUBSUB, INFO) ----

    def active(self, kind: Kind, pattern: bytes | None) -> list[bytes]:
        """PUBSUB CHANNELS / SHARDCHANNELS: names with at least one subscriber."""
        if pattern is None:
            return list(kind.registry)
        match = compile_pattern(pattern)
        return [name for name in kind.registry if match(name)]

    def numsub(self, kind: Kind, names: list[bytes]) -> list[object]:
        """PUBSUB NUMSUB / SHARDNUMSUB: flat name, count pairs in the order asked."""
        registry = kind.registry
        out: list[object] = []
        for name in names:
            subs = registry.get(name)
            out.append(name)
            out.append(len(subs) if subs else 0)
        return out

    def numpat(self) -> int:
        """PUBSUB NUMPAT and INFO pubsub_patterns: distinct patterns with subscribers."""
        return len(self.patterns.registry)

    def pattern_list(self) -> list[bytes]:
        return list(self.patterns.registry)
