"""Fixtures for storage tests: an Engine on a temp dir, with 1 and with 3 shards, without a key
cache, with a big one and with one so small that it rotates every few records."""

from __future__ import annotations

import time

import pytest

from pikadb.storage.engine import Engine


@pytest.fixture(
    params=[(1, 0), (3, 0), (1, 1 << 20), (3, 3 * 2048)],
    ids=["1shard", "3shards", "1shard-cache", "3shards-smallcache"],
)
def engine(request, tmp_path):
    shards, cache = request.param
    eng = Engine.open(str(tmp_path / "data"), shards=shards, key_cache_size=cache)
    yield eng
    eng.close()


@pytest.fixture
def db(engine):
    return engine.db(0)


@pytest.fixture
def now() -> int:
    return time.time_ns() // 1_000_000
