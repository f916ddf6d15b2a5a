"""Helpers of the sentinel interop tests (a module, so tests import it without importing
the conftest a second time)."""

from __future__ import annotations

import time

import redis

from helpers.servers import wait_until

MASTER = "mymaster"
# pikad groups: DEBUG DIGEST allowed, and a stalled event loop logs its stack
# (watchdog-period): a failover test that fails because a server stopped answering shows
# where that server was.
PIKAD_GROUP_CONFIG = {"enable_debug_command": "local", "watchdog_period": 250}


def events_of(client: redis.Redis, pattern: str = "*") -> redis.client.PubSub:
    """A pattern subscription the sentinel has confirmed: an event published after this
    returns reaches it (psubscribe alone only sends the command, and a sentinel stopped at
    once may read it after the event it was meant to see)."""
    events = client.pubsub()
    events.psubscribe(pattern)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        msg = events.get_message(timeout=0.2)
        if msg and msg["type"] == "psubscribe":
            return events
    raise AssertionError(f"no psubscribe confirmation for {pattern!r}")


def master_addr(client: redis.Redis) -> tuple[str, int] | None:
    reply = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
    if not reply:
        return None
    return reply[0], int(reply[1])


def wait_all_agree(
    clients: list[redis.Redis], addr: tuple[str, int], timeout: float = 20.0
) -> None:
    """Until every sentinel reports addr as the master's address."""
    wait_until(
        lambda: all(master_addr(c) == addr for c in clients),
        timeout,
        what=f"all sentinels to report {addr}",
    )


def wait_discovered(clients: list[redis.Redis], sentinels: int, replicas: int = 2) -> None:
    """Until every sentinel knows the others and the replicas."""

    def ok() -> bool:
        for c in clients:
            info = c.sentinel_master(MASTER)
            if int(info["num-other-sentinels"]) != sentinels - 1:
                return False
            if int(info["num-slaves"]) != replicas:
                return False
        return True

    wait_until(ok, 20.0, what="sentinel and replica discovery")


def switch_master_counts(sentinels: list) -> list[int]:
    """How many +switch-master events each sentinel logged (all its starts)."""
    return [s.log_text().count("+switch-master") for s in sentinels]


# How long a failover's outcome is watched for a second, unwanted one: a new master marked
# down comes down-after (1-2 s) after the switch.
SETTLE_S = 2.5


def assert_failovers(sentinels: list, n: int) -> None:
    """Every sentinel saw exactly n failovers: one per kill or SENTINEL FAILOVER, never a
    second one because the new master seemed down (a failover is a write outage). The
    leader logs +switch-master when its failover ends, after the others may already report
    the new master: wait for every sentinel's, then watch SETTLE_S longer."""
    wait_until(
        lambda: min(switch_master_counts(sentinels)) >= n,
        20,
        what=f"{n} +switch-master in every sentinel's log",
    )
    time.sleep(SETTLE_S)
    counts = switch_master_counts(sentinels)
    assert counts == [n] * len(sentinels), f"+switch-master per sentinel: {counts}, want {n}"
