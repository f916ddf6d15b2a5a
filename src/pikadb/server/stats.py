"""Server-wide counters behind INFO stats, with Redis's instantaneous_* sampling."""

from __future__ import annotations

import time
from collections import defaultdict

_SAMPLES = 16  # Redis STATS_METRIC_SAMPLES


class _Metric:
    """Per-second rate from samples taken by the cron (Redis trackInstantaneousMetric)."""

    def __init__(self) -> None:
        self.samples = [0.0] * _SAMPLES
        self.idx = 0
        self.last_value = 0
        self.last_time = time.monotonic()

    def track(self, value: int) -> None:
        now = time.monotonic()
        dt = now - self.last_time
        if dt <= 0:
            return
        self.samples[self.idx] = (value - self.last_value) / dt
        self.idx = (self.idx + 1) % _SAMPLES
        self.last_value = value
        self.last_time = now

    def rate(self) -> float:
        return sum(self.samples) / _SAMPLES


class Stats:
    def __init__(self) -> None:
        self.reset()
        self.total_connections_received = 0
        self.rejected_connections = 0

    def reset(self) -> None:
        """CONFIG RESETSTAT: every counter back to zero, as Redis's resetServerStats."""
        self.total_commands_processed = 0
        self.total_net_input_bytes = 0
        self.total_net_output_bytes = 0
        self.total_error_replies = 0
        self.total_reads_processed = 0
        self.total_writes_processed = 0
        self.expired_keys = 0
        self.lazy_expired_base = 0
        self.keyspace_hits = 0
        self.keyspace_misses = 0
        self.errors: dict[str, int] = defaultdict(int)  # error prefix -> count (INFO errorstats)
        self.ops = _Metric()
        self.net_in = _Metric()
        self.net_out = _Metric()
        self.total_connections_received = 0
        self.rejected_connections = 0

    def sample(self) -> None:
        self.ops.track(self.total_commands_processed)
        self.net_in.track(self.total_net_input_bytes)
        self.net_out.track(self.total_net_output_bytes)
