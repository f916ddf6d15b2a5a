"""`python -m bench.replication --quick` completes and prints its three sections, each with
figures for pikad and redis-server. A benchmark measures: nothing here asserts a time or a
ratio. Marked slow (about half a minute).

The bench runs as a child process; on a timeout it gets SIGTERM first, which it turns into
stopping its servers by PID (they run in their own sessions), before anything harsher.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300
NUMBER = r"\d[\d,]*(?:\.\d+)?"


def run_quick_bench() -> str:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.replication", "--quick"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        pytest.fail(f"the quick bench did not finish in {TIMEOUT} s:\n{out[-3000:]}")
    assert proc.returncode == 0, out[-3000:]
    return out


def rows(section: str, start: str) -> list[str]:
    """The table rows of a section whose first cells match `start` (a regex)."""
    return [line for line in section.splitlines() if re.match(start, line)]


@pytest.mark.slow
def test_quick_replication_bench_prints_three_sections():
    if shutil.which("redis-benchmark") is None or shutil.which("redis-server") is None:
        pytest.skip("redis-server and redis-benchmark are needed")
    out = run_quick_bench()
    sys.stdout.write("\n" + out)
    assert out.startswith("command: python -m bench.replication --quick\n")
    sections = re.split(r"^== ", out, flags=re.M)[1:]
    assert [s.split()[0] for s in sections] == ["1.", "2.", "3."], out

    fullsync, lag, syncmode = sections
    sync_rows = rows(fullsync, r"\s+(pikad|redis)\s+(cap|defaults|diskless|disk-based)")
    assert len(sync_rows) == 4, fullsync
    for row in sync_rows:  # MB sent, seconds, MB/s
        assert re.search(rf"\s{NUMBER}\s+{NUMBER}\s+{NUMBER}\b", row), row
        assert "TIMEOUT" not in row

    lag_rows = rows(lag, r"\s+\d+\s+(pikad|redis)\s")
    assert len(lag_rows) == 4, lag  # -P 1 and 16, each server
    for row in lag_rows:  # master rps, probes, lag p50, p99, max, unseen, catch-up
        assert len(re.findall(rf"\s{NUMBER}", row)) >= 8, row

    mode_rows = rows(syncmode, r"\s+\d+\s+\d")
    assert len(mode_rows) == 2, syncmode  # -P 1 and 16
    for row in mode_rows:  # pikad async, sync, ratio, redis, ratios
        assert len(re.findall(rf"\s{NUMBER}", row)) >= 7, row
    assert re.search(r"^done in \d+ s", out, flags=re.M)
