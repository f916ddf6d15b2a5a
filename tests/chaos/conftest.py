"""Chaos tests: pikad under faults (kill -9, hostile bytes, a full disk, partitions).

Each test prints its figures (writes acknowledged, lost, recovery times) through the
`figures` fixture; they are shown in the terminal summary of every run, pass or fail, so
CI logs carry them. Sizes are bounded; PIKADB_CHAOS_SCALE (default 1) multiplies the
counts for a longer run outside CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

_FIGURES: list[str] = []


def chaos_scale() -> float:
    return float(os.environ.get("PIKADB_CHAOS_SCALE", "1"))


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    lines: list[str] = []
    yield lines
    if lines:
        _FIGURES.append(f"{request.node.nodeid}:")
        _FIGURES.extend(f"    {line}" for line in lines)


def rss_mb(server: object) -> float:
    """Resident memory of a server process (Linux), in MB."""
    with open(f"/proc/{server.pid}/status") as f:  # type: ignore[attr-defined]
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _FIGURES:
        terminalreporter.section("chaos figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
