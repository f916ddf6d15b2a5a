"""The latency monitor (Redis's latency.c): events that took latency-monitor-threshold
milliseconds or more, kept per event name as a history of 160 one-per-second samples and an
all-time maximum. LATENCY LATEST / HISTORY / RESET read it (commands/latency.py).

Events: 'command' (a slow command) and 'fast-command' (a slow command flagged fast), as in
Redis, and pikadb's 'eventloop': one whole event-loop turn (server/loopstats.py), which is
what every client waited for.
"""

from __future__ import annotations

import time

HISTORY_LEN = 160  # Redis LATENCY_TS_LEN


class EventSeries:
    __slots__ = ("max", "samples")

    def __init__(self) -> None:
        self.samples: list[tuple[int, int]] = []  # (unix seconds, ms), oldest first
        self.max = 0


class LatencyMonitor:
    def __init__(self) -> None:
        self.threshold_ms = 0  # latency-monitor-threshold; 0: off
        self.events: dict[str, EventSeries] = {}

    def add_if_needed(self, event: str, ms: float) -> None:
        if self.threshold_ms and ms >= self.threshold_ms:
            self.add(event, int(ms))

    def add(self, event: str, ms: int, now: int | None = None) -> None:
        series = self.events.get(event)
        if series is None:
            series = self.events[event] = EventSeries()
        t = int(time.time()) if now is None else now
        series.max = max(series.max, ms)
        samples = series.samples
        if samples and samples[-1][0] == t:
            # One sample per second: the worst of that second (Redis latencyAddSample).
            if ms > samples[-1][1]:
                samples[-1] = (t, ms)
            return
        samples.append((t, ms))
        if len(samples) > HISTORY_LEN:
            del samples[0]

    def reset(self, events: list[str] | None = None) -> int:
        """-> how many event series were dropped."""
        if not events:
            n = len(self.events)
            self.events.clear()
            return n
        return sum(self.events.pop(e, None) is not None for e in events)
