"""A hash and a sorted set with a million elements each: point and range reads stay fast
(the figures are bench/big_collections.py's job), DEL is one metadata write (< 50 ms), and
the background reclaim gives the disk space back.

Marked slow; PIKADB_BIG_N sets the size (default 1,000,000, what CI runs).
"""

from __future__ import annotations

import os
import sys

import pytest
from bench.big_collections import measure

N = int(os.environ.get("PIKADB_BIG_N", "1000000"))


@pytest.mark.slow
def test_million_element_hash_and_zset(pikad_factory):
    server = pikad_factory()
    rep = measure(server.port, str(server.dir), N, probes=500)
    sys.stdout.write("\n" + "\n".join(rep.lines()) + "\n")
    assert rep.del_ms["hash"] < 50, rep.lines()
    assert rep.del_ms["zset"] < 50, rep.lines()
    # Dropped element records are reclaimed: most of the space comes back.
    assert rep.disk["after reclaim + compaction"] < rep.disk["before DEL"] / 2, rep.lines()
    r = server.client()
    assert r.exists("bighash", "bigzset") == 0
    assert r.dbsize() == 0
