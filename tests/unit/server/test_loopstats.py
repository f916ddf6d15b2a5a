"""The event-loop turn figures of INFO stats (server/loopstats.py)."""

from __future__ import annotations

from pikadb.server.loopstats import LoopStats


def _figures(stats: LoopStats) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split(":") for line in stats.info_lines())}


def test_resetstat_starts_the_instantaneous_figures_afresh():
    stats = LoopStats()
    for _ in range(1000):
        stats.record(0.0005)
    stats.sample()
    stats.reset()  # CONFIG RESETSTAT
    stats.record(0.0002)
    stats.sample()
    got = _figures(stats)
    assert got["eventloop_cycles"] == 1
    assert got["instantaneous_eventloop_cycles_per_sec"] >= 0
    assert got["instantaneous_eventloop_duration_usec"] >= 0
