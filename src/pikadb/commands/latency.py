"""LATENCY LATEST / HISTORY / RESET / HELP: the latency monitor (server/latency.py).

Replies are Redis 7.0's: LATEST is [event, time of the latest sample, its ms, all-time max
ms] per event, HISTORY is [time, ms] per sample, RESET the number of events dropped. Besides
Redis's 'command' and 'fast-command' events pikadb records 'eventloop': a whole event-loop
turn over latency-monitor-threshold ms (server/loopstats.py). LATENCY DOCTOR, GRAPH and
HISTOGRAM are not implemented: they answer Redis's unknown-subcommand error.
"""

from __future__ import annotations

from pikadb.commands.table import command, container
from pikadb.protocol import Status

container("latency", group="server")


def _name(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@command(
    "latency|latest",
    arity=2,
    flags="admin noscript loading stale",
    group="server",
    route="latency-latest",
)
def latency_latest(c, argv):
    """LATENCY LATEST"""
    out = []
    for event, series in c.server.latency.events.items():
        t, ms = series.samples[-1]
        out.append([event.encode(), t, ms, series.max])
    return out


@command(
    "latency|history",
    arity=3,
    flags="admin noscript loading stale",
    group="server",
    route="latency-history",
)
def latency_history(c, argv):
    """LATENCY HISTORY event"""
    series = c.server.latency.events.get(_name(argv[2]))
    if series is None:
        return []
    return [[t, ms] for t, ms in series.samples]


@command(
    "latency|reset",
    arity=-2,
    flags="admin noscript loading stale",
    group="server",
    route="max",
)
def latency_reset(c, argv):
    """LATENCY RESET [event [event ...]]"""
    return c.server.latency.reset([_name(a) for a in argv[2:]])


_HELP = [
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HELP",
    "    Prints this help.",
]


@command("latency|help", arity=2, flags="loading stale", group="server")
def latency_help(c, argv):
    """LATENCY HELP"""
    return [Status(line) for line in _HELP]
