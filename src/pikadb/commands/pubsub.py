"""Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB.

The registry and delivery are the server's (server.pubsub, reached as c.server.pubsub);
these handlers parse arguments and shape replies. Subscription commands answer with one
frame per channel (a RESP2 array or a RESP3 push), already encoded for the client. Which
commands a RESP2 client may still run once subscribed is the dispatcher's check, from
Command.allowed_in_subscribe, set below for Redis's list.
"""

from __future__ import annotations

from typing import Any

from pikadb import errors
from pikadb.commands import connection as _connection  # noqa: F401  (PING, QUIT, RESET)
from pikadb.commands.merge import merge_distinct
from pikadb.commands.table import COMMANDS, Route, command, container
from pikadb.protocol import RawReply, Status

# ---- several workers: the workers' replies as one (Route.MERGE) ----


def merge_numsub(parts: list[Any]) -> Any:
    """PUBSUB NUMSUB: channel, count pairs summed over workers, in the asked order."""
    out = list(parts[0])
    for p in parts[1:]:
        for i in range(1, len(out), 2):
            out[i] += p[i]
    return out


def merge_numpat(parts: list[Any]) -> Any:
    """PUBSUB NUMPAT: patterns subscribed anywhere, each once (the pieces list theirs)."""
    return len({p for part in parts for p in part})


@command(
    "subscribe",
    arity=-2,
    flags="pubsub noscript loading stale",
    group="pubsub",
    traits="client-state",
)
def subscribe(c, argv):
    """SUBSCRIBE channel [channel ...]"""
    ps = c.server.pubsub
    return RawReply(ps.subscribe(c, ps.channels, argv[1:]))


@command(
    "psubscribe",
    arity=-2,
    flags="pubsub noscript loading stale",
    group="pubsub",
    traits="client-state",
)
def psubscribe(c, argv):
    """PSUBSCRIBE pattern [pattern ...]"""
    ps = c.server.pubsub
    return RawReply(ps.subscribe(c, ps.patterns, argv[1:]))


@command(
    "ssubscribe",
    arity=-2,
    flags="pubsub noscript loading stale",
    keys=(1, -1, 1),
    group="pubsub",
    route=Route.HERE,
    traits="client-state",
)
def ssubscribe(c, argv):
    """SSUBSCRIBE shardchannel [shardchannel ...]"""
    ps = c.server.pubsub
    return RawReply(ps.subscribe(c, ps.shard, argv[1:]))


@command(
    "unsubscribe",
    arity=-1,
    flags="pubsub noscript loading stale",
    group="pubsub",
    traits="client-state",
)
def unsubscribe(c, argv):
    """UNSUBSCRIBE [channel [channel ...]]"""
    ps = c.server.pubsub
    return RawReply(ps.unsubscribe(c, ps.channels, argv[1:]))


@command(
    "punsubscribe",
    arity=-1,
    flags="pubsub noscript loading stale",
    group="pubsub",
    traits="client-state",
)
def punsubscribe(c, argv):
    """PUNSUBSCRIBE [pattern [pattern ...]]"""
    ps = c.server.pubsub
    return RawReply(ps.unsubscribe(c, ps.patterns, argv[1:]))


@command(
    "sunsubscribe",
    arity=-1,
    flags="pubsub noscript loading stale",
    keys=(1, -1, 1),
    group="pubsub",
    route=Route.HERE,
    traits="client-state",
)
def sunsubscribe(c, argv):
    """SUNSUBSCRIBE [shardchannel [shardchannel ...]]"""
    ps = c.server.pubsub
    return RawReply(ps.unsubscribe(c, ps.shard, argv[1:]))


@command(
    "publish",
    arity=3,
    flags="pubsub loading stale fast",
    group="pubsub",
    route=Route.PUBLISH,
    traits="may-replicate",
)
def publish(c, argv):
    """PUBLISH channel message"""
    return c.server.pubsub.publish(argv[1], argv[2])


@command(
    "spublish",
    arity=3,
    flags="pubsub loading stale fast",
    keys=(1, 1, 1),
    group="pubsub",
    route=Route.PUBLISH,
    traits="may-replicate",
)
def spublish(c, argv):
    """SPUBLISH shardchannel message"""
    return c.server.pubsub.spublish(argv[1], argv[2])


# ---- PUBSUB ----

container("pubsub", group="pubsub")


def _pattern_arg(argv: list[bytes]) -> bytes | None:
    """CHANNELS / SHARDCHANNELS [pattern]: at most one pattern."""
    if len(argv) > 3:
        raise errors.subcommand_syntax(argv[1], "pubsub")
    return argv[2] if len(argv) == 3 else None


@command(
    "pubsub|channels",
    arity=-2,
    flags="pubsub loading stale",
    group="pubsub",
    route=Route.MERGE,
    merge=merge_distinct,
)
def pubsub_channels(c, argv):
    """PUBSUB CHANNELS [pattern]"""
    ps = c.server.pubsub
    return ps.active(ps.channels, _pattern_arg(argv))


@command(
    "pubsub|shardchannels",
    arity=-2,
    flags="pubsub loading stale",
    group="pubsub",
    route=Route.MERGE,
    merge=merge_distinct,
)
def pubsub_shardchannels(c, argv):
    """PUBSUB SHARDCHANNELS [pattern]"""
    ps = c.server.pubsub
    return ps.active(ps.shard, _pattern_arg(argv))


@command(
    "pubsub|numsub",
    arity=-2,
    flags="pubsub loading stale",
    group="pubsub",
    route=Route.MERGE,
    merge=merge_numsub,
)
def pubsub_numsub(c, argv):
    """PUBSUB NUMSUB [channel [channel ...]]"""
    ps = c.server.pubsub
    return ps.numsub(ps.channels, argv[2:])


@command(
    "pubsub|shardnumsub",
    arity=-2,
    flags="pubsub loading stale",
    group="pubsub",
    route=Route.MERGE,
    merge=merge_numsub,
)
def pubsub_shardnumsub(c, argv):
    """PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]"""
    ps = c.server.pubsub
    return ps.numsub(ps.shard, argv[2:])


@command(
    "pubsub|numpat",
    arity=2,
    flags="pubsub loading stale",
    group="pubsub",
    route=Route.MERGE,
    merge=merge_numpat,
)
def pubsub_numpat(c, argv):
    """PUBSUB NUMPAT"""
    if c.quiet:  # one worker's piece (server/routing.py): its patterns, counted once
        return c.server.pubsub.pattern_list()
    return c.server.pubsub.numpat()


_HELP = (
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
)


@command("pubsub|help", arity=2, flags="loading stale", group="pubsub")
def pubsub_help(c, argv):
    """PUBSUB HELP"""
    return [Status(line) for line in _HELP]


# Redis processCommand: the only commands a RESP2 client in the subscribed context may send.
for _name in (
    b"subscribe",
    b"ssubscribe",
    b"psubscribe",
    b"unsubscribe",
    b"sunsubscribe",
    b"punsubscribe",
    b"ping",
    b"quit",
    b"reset",
):
    COMMANDS[_name].allowed_in_subscribe = True
