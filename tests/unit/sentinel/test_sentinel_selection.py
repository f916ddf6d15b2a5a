"""Which replica a failover promotes (pikadb.sentinel.failover.select_slave): Redis's
filters (down, disconnected, silent, stale INFO, long-disconnected from the master,
priority 0) and its order (priority, then replication offset, then run id); for the fenced
failover of a healthy master, replicas following it come first within a priority."""

from __future__ import annotations

import pytest
from sentinel_helpers import add_replica

from pikadb.sentinel.failover import promotion_key, select_slave
from pikadb.sentinel.instance import Flag
from pikadb.sentinel.link import mstime


def healthy(s, port: int, *, priority=100, offset=1000, runid: str | None = None):
    r = add_replica(s, port)
    now = mstime()
    r.link.disconnected = False
    r.link.last_avail_time = now
    r.info_refresh = now
    r.slave_priority = priority
    r.slave_repl_offset = offset
    r.runid = runid if runid is not None else f"{port:040d}"
    return r


def test_priority_first_then_offset_then_runid(sentinel):
    master = sentinel.masters["mymaster"]
    healthy(sentinel, 1, priority=100, offset=5000)
    best = healthy(sentinel, 2, priority=10, offset=10)
    assert select_slave(sentinel, master) is best
    best.slave_priority = 100
    # same priority: the larger offset wins
    assert select_slave(sentinel, master).addr.port == 1
    same = healthy(sentinel, 3, priority=100, offset=5000, runid="0" * 40)
    # same priority and offset: the smaller run id wins
    assert select_slave(sentinel, master) is same


def test_run_id_order_is_case_insensitive_and_unknown_last():
    class R:
        def __init__(self, runid):
            self.slave_priority = 100
            self.slave_repl_offset = 1
            self.runid = runid

    keys = sorted([R(None), R("B" * 40), R("a" * 40)], key=promotion_key)
    assert [k.runid for k in keys] == ["a" * 40, "B" * 40, None]


def test_priority_zero_is_never_chosen(sentinel):
    master = sentinel.masters["mymaster"]
    healthy(sentinel, 1, priority=0, offset=99999)
    assert select_slave(sentinel, master) is None
    other = healthy(sentinel, 2, priority=100, offset=1)
    assert select_slave(sentinel, master) is other


@pytest.mark.parametrize(
    "spoil",
    [
        lambda r: setattr(r, "flags", r.flags | Flag.S_DOWN),
        lambda r: setattr(r, "flags", r.flags | Flag.O_DOWN),
        lambda r: setattr(r.link, "disconnected", True),
        # no valid PING reply for more than 5 ping periods
        lambda r: setattr(r.link, "last_avail_time", mstime() - 5001),
        # INFO older than 3 info periods (master not down)
        lambda r: setattr(r, "info_refresh", mstime() - 30001),
        # disconnected from the master for more than 10 down-after periods
        lambda r: setattr(r, "master_link_down_time", 10001),
    ],
    ids=["sdown", "odown", "disconnected", "silent", "stale-info", "link-down-too-long"],
)
def test_unfit_replicas_are_skipped(sentinel, spoil):
    master = sentinel.masters["mymaster"]
    bad = healthy(sentinel, 1, priority=1, offset=99999)
    good = healthy(sentinel, 2)
    spoil(bad)
    assert select_slave(sentinel, master) is good


def test_info_must_be_fresher_while_the_master_is_down(sentinel):
    master = sentinel.masters["mymaster"]
    r = healthy(sentinel, 1)
    r.info_refresh = mstime() - 6000  # fine when the master is up (3 x 10 s)...
    assert select_slave(sentinel, master) is r
    master.flags |= Flag.S_DOWN  # ...but replicas are INFOed every second once it is down
    master.s_down_since_time = mstime()
    assert select_slave(sentinel, master) is None


def test_link_down_allowance_grows_with_the_master_outage(sentinel):
    master = sentinel.masters["mymaster"]
    r = healthy(sentinel, 1)
    r.master_link_down_time = 15000
    assert select_slave(sentinel, master) is None  # limit 10 x 1000 ms
    master.flags |= Flag.S_DOWN
    master.s_down_since_time = mstime() - 6000  # limit 6 s + 10 s
    assert select_slave(sentinel, master) is r


def test_a_healthy_master_prefers_replicas_that_follow_it(sentinel):
    master = sentinel.masters["mymaster"]
    # Waiting for a full sync: link down, the offset of another history (the highest).
    syncing = healthy(sentinel, 1, offset=99999)
    syncing.slave_master_host, syncing.slave_master_port = "127.0.0.1", 6379
    following = healthy(sentinel, 2, offset=10)
    following.slave_master_host, following.slave_master_port = "127.0.0.1", 6379
    following.slave_master_link_up = True
    assert select_slave(sentinel, master) is following
    following.slave_master_port = 6380  # up, but with another master
    assert select_slave(sentinel, master) is syncing
    following.slave_master_port = 6379
    syncing.slave_priority = 10  # the operator's choice still comes first
    assert select_slave(sentinel, master) is syncing
    syncing.slave_priority = 100
    # A dead master: every link is down or about to be; Redis's order (offset) decides.
    master.flags |= Flag.S_DOWN
    master.s_down_since_time = mstime()
    assert select_slave(sentinel, master) is syncing


def test_the_fence_waits_for_a_replica_that_follows_the_master(sentinel):
    from pikadb.sentinel import failover
    from pikadb.sentinel.instance import FailoverState

    master = sentinel.masters["mymaster"]
    r = healthy(sentinel, 1, offset=5000)
    r.slave_master_host, r.slave_master_port = "127.0.0.1", 6379
    master.flags |= Flag.FAILOVER_IN_PROGRESS
    master.promoted_slave = r
    master.fence_offset = 4000
    master.failover_state = FailoverState.WAIT_FENCE_SYNC
    master.failover_state_change_time = mstime() - 10
    r.info_refresh = mstime()
    # Past the offset, but its link is down: a position in some other history.
    failover.state_machine(sentinel, master)
    assert master.failover_state == FailoverState.WAIT_FENCE_SYNC
    r.slave_master_link_up = True
    failover.state_machine(sentinel, master)
    assert master.failover_state >= FailoverState.SEND_SLAVEOF_NOONE
    assert "+fence-synced" in sentinel.publisher.names()
