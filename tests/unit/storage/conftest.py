"""Fixtures for storage tests: an Engine on a temp dir, with 1 and with 3 shards."""

from __future__ import annotations

import time

import pytest

from pikadb.storage.engine import Engine


@pytest.fixture(params=[1, 3], ids=["1shard", "3shards"])
def engine(request, tmp_path):
    eng = Engine.open(str(tmp_path / "data"), shards=request.param)
    yield eng
    eng.close()


@pytest.fixture
def db(engine):
    return engine.db(0)


@pytest.fixture
def now() -> int:
    return time.time_ns() // 1_000_000
