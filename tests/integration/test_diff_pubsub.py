"""Pub/Sub commands, pikad against redis-server 7.0: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE,
PUBLISH, SPUBLISH, PUBSUB, the RESP2 subscribed context, PING and RESET in it, RESP3 pushes,
INFO and CLIENT LIST fields.

A subscription command answers one frame per channel, so multi-channel commands go through
diff.stream (every frame compared). Redis lists a client's channels, and the server's active
channels, in its hash table's order, which is seeded at random: those replies are compared
as sets, patterns (a list in Redis) in order. Delivery between connections is in
test_pubsub_delivery.py.
"""

from __future__ import annotations

import re
import time

import pytest

from helpers.raw import RawConnection, parse
from integration.diff import anything, client_info, pipeline_bytes, transform, unordered


def _frames(
    diff_stream, commands: list[list[object]], replies: int | None = None, proto: int = 2
) -> None:
    """A pipeline of commands; every frame compared (all of them until the servers go
    quiet when the count is not given)."""
    diff_stream(pipeline_bytes(commands), replies=replies, proto=proto)


# ---- subscribe / unsubscribe frames ----


def test_unsubscribe_without_subscriptions(diff):
    diff(
        [
            ["UNSUBSCRIBE"],
            ["PUNSUBSCRIBE"],
            ["SUNSUBSCRIBE"],
            ["UNSUBSCRIBE", "x"],
            ["PUNSUBSCRIBE", "x*"],
            ["SUNSUBSCRIBE", "x"],
            ["GET", "x"],  # none of that entered the subscribed context
        ]
    )
    diff([["UNSUBSCRIBE"], ["PUNSUBSCRIBE"], ["SUNSUBSCRIBE"], ["UNSUBSCRIBE", "x"]], proto=3)


@pytest.mark.parametrize("proto", [2, 3])
def test_subscription_frames_and_counts(diff_stream, proto):
    _frames(
        diff_stream,
        [
            ["SUBSCRIBE", "a", "b", "a"],  # 3 frames, counts 1 2 2
            ["PSUBSCRIBE", "a*", "b?", "a*"],  # counts go on from the channels
            ["SSUBSCRIBE", "s1", "s2"],  # shard channels are counted apart
            ["UNSUBSCRIBE", "zz"],
            ["UNSUBSCRIBE", "b"],
            ["PUNSUBSCRIBE"],  # every pattern, in subscription order
            ["SUNSUBSCRIBE", "s2", "nope"],
            ["UNSUBSCRIBE"],  # the last channel
            ["SUNSUBSCRIBE"],
            ["UNSUBSCRIBE"],  # nothing left: one frame with a null channel
            [b"SUBSCRIBE", b"\x00bin\xff", b""],
            ["UNSUBSCRIBE", b"\x00bin\xff", ""],
        ],
        replies=3 + 3 + 2 + 1 + 1 + 2 + 2 + 1 + 1 + 1 + 2 + 2,
        proto=proto,
    )


def _names_and_counts(frames: list[bytes]) -> tuple[list[object], list[object]]:
    parsed = [parse(f) for f in frames]
    return sorted(p[1] for p in parsed), [(p[0], p[2]) for p in parsed]


@pytest.mark.parametrize("proto", [2, 3])
def test_unsubscribe_all_channels(diff_stream, proto):
    # Redis walks its channel dict (random order): same channels, same counts, any order.
    result = diff_stream(
        pipeline_bytes(
            [
                ["SUBSCRIBE", "c1", "c2", "c3", "c4"],
                ["PSUBSCRIBE", "p*"],
                ["SSUBSCRIBE", "s1", "s2", "s3"],
                ["UNSUBSCRIBE"],
                ["SUNSUBSCRIBE"],
            ]
        ),
        replies=4 + 1 + 3 + 4 + 3,
        proto=proto,
        normalize=anything,
    )
    assert _names_and_counts(result.left) == _names_and_counts(result.right)
    assert _names_and_counts(result.left[8:12])[1] == [(b"unsubscribe", n) for n in (4, 3, 2, 1)]


# ---- the RESP2 subscribed context ----


def test_only_some_commands_in_subscribed_context(diff):
    diff(
        [
            ["SUBSCRIBE", "a"],
            ["PING"],
            ["PING", "hello"],
            ["PING", "a", "b"],
            ["ping"],
            ["GET", "x"],
            ["SET", "x", "1"],
            ["PUBLISH", "a", "m"],
            ["PUBSUB", "NUMPAT"],
            ["PUBSUB", "CHANNELS"],
            ["CLIENT", "KILL", "1.2.3.4:5"],
            ["HELLO", "3"],
            ["SELECT", "1"],
            ["MONITOR"],
            ["MULTI"],
            ["WATCH", "x"],
            ["EXEC"],  # refused EXEC: worded as an aborted transaction
            ["DISCARD"],
            ["NOSUCHCOMMAND"],  # unknown and wrong arity are reported first
            ["GET"],
            ["PUBSUB", "NOSUCH"],
            ["PSUBSCRIBE", "x*"],
            ["UNSUBSCRIBE", "a"],
            ["GET", "x"],  # still in the context: one pattern left
            ["PUNSUBSCRIBE", "x*"],
            ["GET", "x"],
            ["SSUBSCRIBE", "s"],
            ["GET", "x"],  # shard channels count as subscriptions too
            ["SUNSUBSCRIBE", "s"],
            ["GET", "x"],
        ]
    )


def test_subscribed_context_survives_hello_2(diff):
    diff(
        [
            ["SUBSCRIBE", "a"],
            ["PING"],
            ["GET", "x"],
            ["SET", "x", "1"],
            ["PUBSUB", "NUMSUB", "a"],
            (["HELLO", "2"], transform(lambda v: v[4:6], "HELLO proto")),
            ["GET", "x"],
            ["PING"],
            ["UNSUBSCRIBE"],
            ["GET", "x"],
        ],
        proto=3,
    )


def test_reset_leaves_every_subscription(diff):
    diff(
        [
            ["SUBSCRIBE", "a"],
            ["PSUBSCRIBE", "p*"],
            ["SSUBSCRIBE", "s"],
            ["RESET"],
            ["GET", "x"],
            ["PUBSUB", "NUMSUB", "a"],
            ["PUBSUB", "NUMPAT"],
            ["PUBSUB", "SHARDNUMSUB", "s"],
            ["UNSUBSCRIBE"],
            ["PUNSUBSCRIBE"],
        ]
    )
    diff([["SUBSCRIBE", "a"], ["RESET"], ["GET", "x"], ["PING"]], proto=3)


def test_quit_in_subscribed_context(diff):
    diff([["SUBSCRIBE", "a"], ["QUIT"]])


def test_subscribe_inside_multi(diff_stream):
    _frames(
        diff_stream,
        [
            ["MULTI"],
            ["SUBSCRIBE", "x"],
            ["PING"],
            ["GET", "k"],
            ["EXEC"],  # all ran: the context only applies to commands as they arrive
            ["GET", "k"],
            ["UNSUBSCRIBE"],
        ],
    )


def test_resp3_publish_to_self_and_inside_exec(diff_stream):
    # The message frame comes before PUBLISH's own reply, inside EXEC's array too.
    _frames(
        diff_stream,
        [
            ["SUBSCRIBE", "x"],
            ["PSUBSCRIBE", "*"],
            ["PUBLISH", "x", "hello"],
            ["MULTI"],
            ["PUBLISH", "x", "in-exec"],
            ["SET", "k", "v"],
            ["EXEC"],
            ["PING"],
        ],
        proto=3,
    )


# ---- PUBLISH and PUBSUB from the publishing side ----


@pytest.fixture
def subscribers(pikad, redis_oracle):
    """subscribers(*commands): one more connection to each server running these
    (P|S)SUBSCRIBE commands; returns the (pikad, redis) connection pairs."""
    made: list[RawConnection] = []

    def make(*commands: list[object]) -> tuple[RawConnection, RawConnection]:
        pair = []
        for server in (pikad, redis_oracle):
            conn = RawConnection(server.port)
            made.append(conn)
            for cmd in commands:
                conn.send(cmd)
                conn.read_replies(max(1, len(cmd) - 1))
            pair.append(conn)
        return pair[0], pair[1]

    yield make
    for conn in made:
        conn.close()


def test_publish_counts_receivers(diff, subscribers):
    subscribers(["SUBSCRIBE", "ch1", "ch2", "foo"], ["PSUBSCRIBE", "ch*", "f?o"])
    subscribers(["SUBSCRIBE", "ch1"])
    subscribers(["SSUBSCRIBE", "sh1"], ["PSUBSCRIBE", "*"])
    diff(
        [
            ["PUBLISH", "ch1", "hello"],  # 2 channel + 1 pattern + 1 '*'
            ["PUBLISH", "foo", "x"],
            ["PUBLISH", "nobody", "x"],
            ["PUBLISH", "", "empty channel"],  # '*' never matches an empty name
            ["SPUBLISH", "sh1", "m"],  # shard channels: no patterns
            ["SPUBLISH", "ch1", "m"],
            ["PUBLISH", "sh1", "m"],
            ["PUBLISH", "a"],
            ["SPUBLISH", "a", "b", "c"],
        ]
    )


def test_pubsub_introspection(diff, subscribers):
    subscribers(["SUBSCRIBE", "ch1", "ch2", "foo", ""], ["PSUBSCRIBE", "ch*", "f?o"])
    subscribers(["SUBSCRIBE", "ch1"], ["PSUBSCRIBE", "ch*"], ["SSUBSCRIBE", "sh1", "sh2"])
    diff(
        [
            (["PUBSUB", "CHANNELS"], unordered),
            (["PUBSUB", "CHANNELS", "ch*"], unordered),
            (["PUBSUB", "CHANNELS", "*"], unordered),
            (["PUBSUB", "CHANNELS", "f[aeo]o"], unordered),
            ["PUBSUB", "CHANNELS", "nomatch*"],
            ["PUBSUB", "CHANNELS", "a", "b"],
            ["PUBSUB", "NUMSUB"],
            ["PUBSUB", "NUMSUB", "ch1", "ch2", "zz", "ch1", ""],
            ["PUBSUB", "NUMPAT"],
            ["PUBSUB", "NUMPAT", "x"],
            (["PUBSUB", "SHARDCHANNELS"], unordered),
            (["PUBSUB", "SHARDCHANNELS", "*1"], unordered),
            ["PUBSUB", "SHARDCHANNELS", "a", "b"],
            ["PUBSUB", "SHARDNUMSUB", "sh1", "x"],
            ["PUBSUB", "SHARDNUMSUB"],
            ["PUBSUB"],
            ["PUBSUB", "NOSUCH"],
            ["PUBSUB", "HELP"],
            ["pubsub", "help"],
            ["PUBSUB", "HELP", "x"],
        ]
    )
    diff(
        [
            ["PUBSUB", "NUMSUB", "ch1"],
            ["PUBSUB", "NUMPAT"],
            ["PUBSUB", "SHARDNUMSUB", "sh2"],
            ["PUBSUB", "HELP"],
        ],
        proto=3,
    )


def test_pubsub_counts_follow_disconnects(diff, subscribers):
    gone = subscribers(["SUBSCRIBE", "ch"], ["PSUBSCRIBE", "p*"])
    subscribers(["SUBSCRIBE", "ch"])
    diff([["PUBSUB", "NUMSUB", "ch"], ["PUBSUB", "NUMPAT"]])
    for conn in gone:
        conn.close()
    time.sleep(0.3)  # both servers notice the disconnection
    diff([["PUBSUB", "NUMSUB", "ch"], ["PUBSUB", "NUMPAT"], ["PUBLISH", "ch", "m"]])


_PUBSUB_INFO = re.compile(rb"^pubsub\w*:\d+$", re.M)


def _pubsub_info(v: object) -> object:
    return _PUBSUB_INFO.findall(bytes(v)) if isinstance(v, bytes) else v  # type: ignore[arg-type]


def test_info_stats_pubsub_fields(diff, subscribers):
    pubsub_info = transform(_pubsub_info, "INFO stats pubsub_* lines")
    diff([(["INFO", "stats"], pubsub_info)])
    subscribers(["SUBSCRIBE", "a", "b"], ["PSUBSCRIBE", "x*", "y*"], ["SSUBSCRIBE", "s"])
    subscribers(["SUBSCRIBE", "a", "c"], ["PSUBSCRIBE", "x*"])
    diff([(["INFO", "stats"], pubsub_info), (["INFO"], pubsub_info)])


def test_client_info_of_a_subscriber(diff):
    diff(
        [
            (["CLIENT", "INFO"], client_info()),
            ["SUBSCRIBE", "a"],
            ["SUBSCRIBE", "b"],
            ["PSUBSCRIBE", "p*"],
            ["SSUBSCRIBE", "s"],
            (["CLIENT", "INFO"], client_info()),
            ["UNSUBSCRIBE", "a"],
            ["UNSUBSCRIBE", "b"],
            ["PUNSUBSCRIBE", "p*"],
            (["CLIENT", "INFO"], client_info()),
            ["SUNSUBSCRIBE", "s"],
            (["CLIENT", "INFO"], client_info()),
        ],
        proto=3,
    )


def test_client_kill_type_pubsub(diff, subscribers):
    a, b = subscribers(["SUBSCRIBE", "a"])
    diff(
        [
            ["CLIENT", "KILL", "TYPE", "pubsub"],
            ["PUBSUB", "NUMSUB", "a"],
            ["CLIENT", "KILL", "TYPE", "pubsub"],
        ]
    )
    assert a.is_closed(wait=1.0) and b.is_closed(wait=1.0)


def test_publish_argument_errors(diff):
    diff(
        [
            ["PUBLISH"],
            ["PUBLISH", "ch"],
            ["PUBLISH", "ch", "m", "extra"],
            ["SUBSCRIBE"],
            ["PSUBSCRIBE"],
            ["SSUBSCRIBE"],
            ["PUBLISH", "ch", "m"],
            ["SPUBLISH", "ch", "m"],
        ]
    )
