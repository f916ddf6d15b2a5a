"""LATENCY LATEST / HISTORY / RESET / HELP: the latency monitor (server/latency.py).

Replies are Redis 7.0's: LATEST is [event, time of the latest sample, its ms, all-time max
ms] per event, HISTORY is [time, ms] per sample, RESET the number of events dropped. Besides
Redis's 'command' and 'fast-command' events pikadb records 'eventloop': a whole event-loop
turn over latency-monitor-threshold ms (server/loopstats.py). LATENCY DOCTOR, GRAPH and
HISTOGRAM are not implemented: they answer Redis's unknown-subcommand error.
"""

from __future__ import annotations

from typing import Any

from pikadb.commands.merge import merge_max
from pikadb.commands.table import Route, command, container
from pikadb.protocol import Status

# ---- several workers: the workers' replies as one (Route.MERGE) ----


def merge_latency_latest(parts: list[Any]) -> Any:
    """LATENCY LATEST of every worker: per event the newest sample and the highest max."""
    by: dict[bytes, list[Any]] = {}
    for p in parts:
        for event, t, ms, top in p:
            have = by.get(event)
            if have is None:
                by[event] = [event, t, ms, top]
                continue
            if (t, ms) > (have[1], have[2]):
                have[1], have[2] = t, ms
            have[3] = max(have[3], top)
    return list(by.values())


def merge_latency_history(parts: list[Any]) -> Any:
    """LATENCY HISTORY of every worker: one sample per second, the worst."""
    by: dict[int, int] = {}
    for p in parts:
        for t, ms in p:
            by[t] = max(ms, by.get(t, 0))
    return [[t, by[t]] for t in sorted(by)][-160:]


container("latency", group="server")


def _name(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@command(
    "latency|latest",
    arity=2,
    flags="admin noscript loading stale",
    group="server",
    route=Route.MERGE,
    merge=merge_latency_latest,
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
    route=Route.MERGE,
    merge=merge_latency_history,
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
    route=Route.MERGE,
    merge=merge_max,
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
