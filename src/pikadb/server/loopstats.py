"""Event-loop turn latency: how long the loop ran before it could wait for I/O again.

A client's request waits for whatever the loop is doing when it arrives, so the length of a
turn is the latency floor of every client. A turn opens at the first callback of ours that
runs after the previous turn closed (Server.begin_turn: a client's read, a replica link's
push, a cron tick, a deferred step) and closes in the end-of-turn callback that the opening
scheduled (call_soon: it runs once the loop has run every callback already due). Turns are
summed as Redis 7.2's eventloop metrics (INFO stats eventloop_cycles, eventloop_duration_sum
in microseconds), with pikadb's eventloop_max_turn_ms and eventloop_turns_over_100ms so that
a stall shows in INFO, and as LATENCY's 'eventloop' event (latency-monitor-threshold).

The watchdog (Redis's watchdog-period, CONFIG SET watchdog-period <ms>) is a thread that logs
the event loop's Python stack when a turn has run longer than the period, or when the loop
has not reached a turn boundary nor its cron for that long: it names the code that stalls.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable

from pikadb.log import log

LONG_TURN_S = 0.1  # eventloop_turns_over_100ms
_SAMPLES = 16  # Redis STATS_METRIC_SAMPLES (instantaneous_eventloop_* figures)


class LoopStats:
    """Turn counters of one event loop (one pikad process)."""

    def __init__(self) -> None:
        self.reset()
        # Set by the latency monitor: called with a turn's milliseconds.
        self.on_turn: Callable[[float], None] | None = None

    def reset(self) -> None:
        """CONFIG RESETSTAT: the instantaneous samples too (as Redis's resetServerStats;
        kept, they would count from figures no longer there, and go negative)."""
        self.cycles = 0
        self.duration_sum_us = 0
        self.max_turn_ms = 0.0
        self.turns_over_100ms = 0
        self._samples = [(0, 0)] * _SAMPLES
        self._sample_idx = 0
        self._last = (0, 0, time.monotonic())

    def record(self, seconds: float) -> None:
        self.cycles += 1
        self.duration_sum_us += int(seconds * 1_000_000)
        ms = seconds * 1000.0
        if ms > self.max_turn_ms:
            self.max_turn_ms = ms
        if seconds >= LONG_TURN_S:
            self.turns_over_100ms += 1
        if self.on_turn is not None:
            self.on_turn(ms)

    def sample(self) -> None:
        """From the cron, 10 times a second: the instantaneous figures."""
        cycles, dur, then = self._last
        now = time.monotonic()
        dt = now - then
        if dt <= 0:
            return
        self._samples[self._sample_idx] = (
            int((self.cycles - cycles) / dt),
            (self.duration_sum_us - dur) // max(1, self.cycles - cycles),
        )
        self._sample_idx = (self._sample_idx + 1) % _SAMPLES
        self._last = (self.cycles, self.duration_sum_us, now)

    def info_lines(self) -> list[str]:
        per_sec = sum(s[0] for s in self._samples) // _SAMPLES
        usec = sum(s[1] for s in self._samples) // _SAMPLES
        return [
            f"eventloop_cycles:{self.cycles}",
            f"eventloop_duration_sum:{self.duration_sum_us}",
            f"eventloop_max_turn_ms:{int(self.max_turn_ms)}",
            f"eventloop_turns_over_100ms:{self.turns_over_100ms}",
            f"instantaneous_eventloop_cycles_per_sec:{per_sec}",
            f"instantaneous_eventloop_duration_usec:{usec}",
        ]


class Watchdog:
    """A thread that logs the loop thread's stack while the loop is stalled."""

    def __init__(self, turn_start: Callable[[], float], tick_due: Callable[[], float]) -> None:
        # turn_start(): perf_counter of the open turn (0: none); tick_due(): when the cron
        # is due to tick next (0: not running). Plain attribute reads of the loop's side.
        self._turn_start = turn_start
        self._tick_due = tick_due
        self._loop_thread = threading.get_ident()
        self.period_s = 0.0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported = 0.0  # the stall (its start) already logged

    def set_period(self, ms: int) -> None:
        self.period_s = ms / 1000.0
        if ms > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            period = self.period_s
            if period <= 0:
                self._wake.wait()
                self._wake.clear()
                continue
            self._wake.wait(max(0.005, period / 4))
            self._wake.clear()
            self._check(period)

    def _check(self, period: float) -> None:
        now = time.perf_counter()
        start = self._turn_start()
        due = self._tick_due()
        if start and now - start >= period:
            since, key = now - start, start
        elif due and now - due >= period:  # the loop did not even get to its cron
            since, key = now - due, due
        else:
            return
        if key == self._reported:  # one report per stall
            return
        self._reported = key
        frame = sys._current_frames().get(self._loop_thread)
        stack = "".join(traceback.format_stack(frame)) if frame is not None else "(no frame)\n"
        log.warning(
            f"--- WATCHDOG TIMER EXPIRED ({since * 1000:.0f} ms into an event-loop turn) ---\n"
            f"{stack}--------"
        )
