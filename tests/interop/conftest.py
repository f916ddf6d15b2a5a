"""Fixtures for the sentinel interop tests: replicated groups and sentinels, all real processes
on 127.0.0.1 in temporary directories, stopped by PID at the end of each test.

    group            master + 2 replicas, synced; parametrized: [redis] redis-server with
                     replicaof, [pikad] pikad replicating over its binlog
    sentinels        sentinels(group[0], n=3, kind="pika"|"redis", ...) starts sentinels
                     monitoring the group's master as 'mymaster'; sentinels.client(s) is a
                     redis-py client to one of them (decode_responses=True)

The group is built by tests/helpers/servers.start_replicated_group over conftest's
redis_factory or pikad_factory, so every test using it runs against both servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from helpers.servers import (
    PikaSentinelProcess,
    ServerProcess,
    start_replicated_group,
    start_sentinel,
)
from interop.support import MASTER, PIKAD_GROUP_CONFIG


class SentinelFactory:
    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self.tmp = tmp
        self.started: list[PikaSentinelProcess] = []
        self.clients: list[redis.Redis] = []

    def __call__(
        self,
        master: ServerProcess,
        n: int = 3,
        *,
        kind: str = "pika",
        quorum: int = 2,
        down_after: int | None = None,
        failover_timeout: int = 6000,
        lines: list[str] | None = None,
    ) -> list[PikaSentinelProcess]:
        if down_after is None:
            # Redis 7.0's sentinel retries a lost link once per second at most and keeps
            # that throttle when a failover moves the master's address: its first attempt at
            # the new master can come after down-after 1000 ms has run out, and it marks the
            # healthy new master down in that very tick (stale 'down' votes of the other
            # sentinels make it +odown at once): a second failover, with redis-server groups
            # too (5 of 15 drills under load). Redis's own sentinel tests use 2000 ms.
            # pika-sentinel reconnects to a new address at once (sentinel/link.py).
            down_after = 2000 if kind == "redis" else 1000
        out = []
        for _ in range(n):
            base: Path = self.tmp.mktemp(f"{kind}-sentinel")
            conf = [
                f"sentinel down-after-milliseconds {MASTER} {down_after}",
                f"sentinel failover-timeout {MASTER} {failover_timeout}",
                *(lines or []),
            ]
            s = start_sentinel(
                base, [f"{MASTER} {master.host} {master.port} {quorum}"], conf, kind=kind
            )
            self.started.append(s)
            out.append(s)
        return out

    def client(self, sentinel: ServerProcess) -> redis.Redis:
        c = redis.Redis(
            host=sentinel.host, port=sentinel.port, decode_responses=True, socket_timeout=10
        )
        self.clients.append(c)
        return c

    def stop_all(self) -> None:
        for c in self.clients:
            c.close()
        for s in self.started:
            s.stop()


@pytest.fixture(params=["redis", "pikad"])
def group(request: pytest.FixtureRequest) -> list[ServerProcess]:
    """[master, replica, replica], synced: redis-server instances ([redis]) or pikad ones
    ([pikad], replication over the binlog). DEBUG is allowed from 127.0.0.1 on both, so
    tests may compare data sets with DEBUG DIGEST."""
    if request.param == "redis":
        # No diskless-sync delay: replicas sync at once instead of after 5 s.
        factory = request.getfixturevalue("redis_factory")
        return start_replicated_group(
            factory, replicas=2, repl_diskless_sync_delay=0, enable_debug_command="local"
        )
    factory = request.getfixturevalue("pikad_factory")
    return start_replicated_group(factory, replicas=2, **PIKAD_GROUP_CONFIG)


@pytest.fixture
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelFactory]:
    factory = SentinelFactory(tmp_path_factory)
    try:
        yield factory
    finally:
        factory.stop_all()
