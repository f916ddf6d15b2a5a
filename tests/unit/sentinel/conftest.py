"""A Sentinel object built from a config file in a temp dir, without its event loop: the
election, selection and hello logic work on its state directly."""

from __future__ import annotations

import pytest
from sentinel_helpers import MYID, Recorder

from pikadb.sentinel import config as cfg
from pikadb.sentinel.core import Sentinel


@pytest.fixture
def sentinel(tmp_path) -> Sentinel:
    path = tmp_path / "sentinel.conf"
    path.write_text(
        "port 26379\n"
        "sentinel monitor mymaster 127.0.0.1 6379 2\n"
        "sentinel down-after-milliseconds mymaster 1000\n"
        f"sentinel myid {MYID}\n"
    )
    s = Sentinel(cfg.load(str(path)), str(path))
    s.publisher = Recorder()
    return s
