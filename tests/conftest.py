"""Suite-wide fixtures: real pikad and redis-server processes, and the differential harness.

Fixtures
    pikad            module-scoped pikad (enable-debug-command local), stopped at module end
    redis_oracle     module-scoped redis-server (no persistence, enable-debug-command local)
    pikad_factory    function-scoped: pikad_factory(**config) starts one more pikad;
                     pikad_factory.make(**config) only configures one (CLI tests spawn it)
    redis_factory    function-scoped, the same for redis-server
    diff             function-scoped differential harness over pikad and redis_oracle
    diff_stream      diff.stream, for raw byte streams

Options (or environment variables)
    --shards N       / PIKADB_TEST_SHARDS=N      every pikad gets `--shards N`
    --core no        / PIKADB_TEST_CORE=no       every pikad gets `--command-core no`: every
                                                 command through the dispatcher (the suite
                                                 runs both ways)
    --target redis   / PIKADB_TEST_TARGET=redis  start redis-server wherever a pikad is asked
                                                 for: validates the harness and the
                                                 differential cases (pikad_only tests skip)

Every server is stopped by PID when its fixture ends, whatever the test's outcome, and a
session-end hook kills any straggler.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/ on sys.path: `helpers` and `integration.diff` import the same way whatever pytest's
# rootdir/import mode is.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import servers
from helpers.servers import (
    PikadServer,
    RedisServer,
    make_pikad,
    start_pikad,
    start_redis,
)
from integration.diff import Diff

# Servers the differential fixtures run: DEBUG (SLEEP, SET-ACTIVE-EXPIRE) is allowed from
# 127.0.0.1 on both, so cases with DEBUG compare like with like.
DIFF_SERVER_CONFIG = {"enable-debug-command": "local"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pikadb")
    group.addoption(
        "--shards",
        type=int,
        default=int(os.environ["PIKADB_TEST_SHARDS"])
        if os.environ.get("PIKADB_TEST_SHARDS")
        else None,
        help="pass --shards N to every pikad the fixtures start (env PIKADB_TEST_SHARDS)",
    )
    group.addoption(
        "--workers",
        type=int,
        default=int(os.environ["PIKADB_TEST_WORKERS"])
        if os.environ.get("PIKADB_TEST_WORKERS")
        else None,
        help="pass --workers N to every pikad the fixtures start (env PIKADB_TEST_WORKERS)",
    )
    group.addoption(
        "--core",
        choices=("yes", "no"),
        default=os.environ.get("PIKADB_TEST_CORE") or None,
        help="pass --command-core yes|no to every pikad the fixtures start "
        "(env PIKADB_TEST_CORE; default: pikad's own default, yes)",
    )
    group.addoption(
        "--target",
        choices=("pikad", "redis"),
        default=os.environ.get("PIKADB_TEST_TARGET", "pikad") or "pikad",
        help="'redis' starts redis-server in place of pikad, to validate the differential "
        "harness and cases (env PIKADB_TEST_TARGET)",
    )


def pytest_configure(config: pytest.Config) -> None:
    servers.SETTINGS.shards = config.getoption("--shards")
    servers.SETTINGS.workers = config.getoption("--workers")
    servers.SETTINGS.core = config.getoption("--core")
    servers.SETTINGS.target = config.getoption("--target")
    config.addinivalue_line(
        "markers", "pikad_only: needs pikad itself (skipped when --target redis stands in)"
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    # Servers run `python -m pikadb` with this interpreter and environment: they import the
    # pikadb this process would import (the installed package unless PYTHONPATH says else).
    spec = importlib.util.find_spec("pikadb")
    where = os.path.dirname(spec.origin) if spec and spec.origin else "NOT IMPORTABLE"
    return [
        f"pikadb: target={servers.SETTINGS.target} shards={servers.SETTINGS.shards} "
        f"workers={servers.SETTINGS.workers} core={servers.SETTINGS.core} "
        f"server command={' '.join(servers.pikad_command())}",
        f"pikadb package: {where}",
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if servers.SETTINGS.target != "redis":
        return
    skip = pytest.mark.skip(reason="pikad_only: --target redis runs redis-server instead of pikad")
    for item in items:
        if "pikad_only" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    servers.stop_all()


# ---- factories ----


class _Factory:
    """Starts servers of one kind in fresh temporary directories; stops them all at the end."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, kind: str) -> None:
        self.tmp = tmp_path_factory
        self.kind = kind
        self.started: list[servers.ServerProcess] = []

    def make(self, **config: object) -> servers.ServerProcess:
        """Configured, not started (call .start() or .spawn())."""
        base = self.tmp.mktemp(self.kind)
        if self.kind == "pikad":
            server = make_pikad(base, **config)
        else:
            server = RedisServer(base, {k.replace("_", "-"): v for k, v in config.items()})
        self.started.append(server)
        return server

    def __call__(self, **config: object) -> servers.ServerProcess:
        server = self.make(**config)
        server.start()
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def pikad_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Factory]:
    factory = _Factory(tmp_path_factory, "pikad")
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def redis_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Factory]:
    factory = _Factory(tmp_path_factory, "redis")
    try:
        yield factory
    finally:
        factory.stop_all()


# ---- shared servers ----


@pytest.fixture(scope="module")
def pikad(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PikadServer]:
    server = start_pikad(tmp_path_factory.mktemp("pikad"), **DIFF_SERVER_CONFIG)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis_oracle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"), **DIFF_SERVER_CONFIG)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def diff(pikad: PikadServer, redis_oracle: RedisServer) -> Iterator[Diff]:
    left = "pikad" if servers.SETTINGS.target == "pikad" else "redis(as pikad)"
    harness = Diff(pikad, redis_oracle, names=(left, "redis-server"))
    try:
        yield harness
    finally:
        harness.close()
        # A crash must fail the test that caused it, not the next one: restart and report.
        for server in (pikad, redis_oracle):
            if not server.alive:
                tail = server.log_tail(30)
                code = server.returncode
                server.start()
                pytest.fail(
                    f"{server.kind} died during this test (exit status {code}); "
                    f"restarted for the next test. Log tail:\n{tail}",
                    pytrace=False,
                )


@pytest.fixture
def diff_stream(diff: Diff):
    return diff.stream


@pytest.fixture
def diff_factory(pikad_factory: _Factory, redis_factory: _Factory):
    """diff_factory(**config): a fresh pikad and redis-server, both with this config, and a
    Diff over them (for cases needing e.g. requirepass). Stopped at the end of the test."""
    made: list[Diff] = []

    def make(**config: object) -> Diff:
        left = "pikad" if servers.SETTINGS.target == "pikad" else "redis(as pikad)"
        harness = Diff(
            pikad_factory(**config), redis_factory(**config), names=(left, "redis-server")
        )
        made.append(harness)
        return harness

    try:
        yield make
    finally:
        for harness in made:
            harness.close()
