"""redis-benchmark's default test list runs against pikad to the end, without an error reply.

The same run that `redis-benchmark -p PORT -q` does (PING, SET/GET/INCR, list, set, hash
and sorted-set commands, LRANGE_100..600, MSET), with fewer requests to stay short in CI;
INFO errorstats afterwards proves no command was answered with an error.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

DEFAULT_TESTS = [
    "PING_INLINE",
    "PING_MBULK",
    "SET",
    "GET",
    "INCR",
    "LPUSH",
    "RPUSH",
    "LPOP",
    "RPOP",
    "SADD",
    "HSET",
    "SPOP",
    "ZADD",
    "ZPOPMIN",
    "LRANGE_100",
    "LRANGE_300",
    "LRANGE_500",
    "LRANGE_600",
    "MSET",
]


@pytest.mark.skipif(shutil.which("redis-benchmark") is None, reason="needs redis-benchmark")
def test_default_benchmark_list_runs_clean(pikad_factory):
    server = pikad_factory()
    out = subprocess.run(
        ["redis-benchmark", "-p", str(server.port), "-q", "-n", "2000", "-c", "20"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    finished = {
        m.group(1)
        for m in re.finditer(r"(?:^|\r|\n)([A-Z_0-9]+)[^:\r\n]*: [0-9.]+ requests per second", out)
    }
    missing = [t for t in DEFAULT_TESTS if t not in finished]
    assert not missing, f"tests that did not finish: {missing}\n{out[-2000:]}"
    # A raw connection: redis-py's own handshake (CLIENT SETINFO, new in 7.2) would add
    # errors of its own.
    r = server.raw()
    try:
        assert r.call("INFO", "errorstats") == b"# Errorstats\r\n"
        assert r.call("DBSIZE") > 0
    finally:
        r.close()
