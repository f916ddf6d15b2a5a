"""The sentinel's timer: the tick that drives it all (sentinel.c's sentinelTimer).

Like Redis Sentinel, everything happens from one periodic tick, 10-19 times a second with a
random period so that sentinels started together do not stay in lock-step and split their
votes forever. Each tick:

  1. checks the clock (TILT: a tick that came more than tilt-trigger ms late, or a clock that
     went backwards, means timings cannot be trusted; the sentinel keeps monitoring but does
     not act for tilt-period ms);
  2. for every master, then its replicas and sentinels: the monitoring half (reconnect links,
     send PING / INFO / hello when due; monitor.py) and, outside TILT, the acting half (SDOWN,
     ODOWN, start a failover, step the failover state machine, ask the other sentinels;
     detect.py, election.py, failover.py);
  3. runs queued scripts and reaps finished ones (events.py).

Replies arrive between ticks on the links' callbacks and only update state; decisions are
taken by the next tick. There is no task per state and nothing blocks.

These are functions of the Sentinel (core.py), which holds the state; main.py runs run() as
a task.
"""

from __future__ import annotations

import asyncio
import random
import traceback
from typing import TYPE_CHECKING

from pikadb.log import log
from pikadb.sentinel import detect, failover, monitor
from pikadb.sentinel.events import WARNING
from pikadb.sentinel.instance import FailoverState, Instance
from pikadb.sentinel.link import mstime

if TYPE_CHECKING:
    from pikadb.sentinel.core import Sentinel


async def run(s: Sentinel) -> None:
    """Tick until Sentinel.stop()."""
    while not s.stopping:
        try:
            tick(s)
        except Exception:
            # Keep monitoring: a sentinel that stops ticking fails silently, the worst way.
            log.warning(f"Error in the sentinel timer: {traceback.format_exc()}")
        # Redis changes hz to 10 + rand() % 10 on every timer call.
        await asyncio.sleep(1.0 / (10 + random.randrange(10)))


def tick(s: Sentinel) -> None:
    """sentinelTimer."""
    check_tilt(s)
    switch_to_promoted: Instance | None = None
    for master in list(s.masters.values()):
        handle_instance(s, master)
        for slave in list(master.slaves.values()):
            handle_instance(s, slave)
        for si in list(master.sentinels.values()):
            handle_instance(s, si)
        if master.failover_state == FailoverState.UPDATE_CONFIG:
            switch_to_promoted = master
    if switch_to_promoted is not None:
        failover.switch_to_promoted(s, switch_to_promoted)
    s.events.run_pending()
    s.events.kill_timed_out()


def handle_instance(s: Sentinel, ri: Instance) -> None:
    """sentinelHandleRedisInstance: monitor always, act outside TILT (and leave TILT once
    tilt-period has passed)."""
    monitor.reconnect_instance(s, ri)
    monitor.send_periodic_commands(s, ri)
    if s.tilt:
        if mstime() - s.tilt_start_time < s.timings.tilt_period:
            return
        s.tilt = False
        s.emit(WARNING, "-tilt", None, "#tilt mode exited")
    detect.check_subjectively_down(s, ri)
    if ri.is_master:
        detect.check_objectively_down(s, ri)
        if failover.start_failover_if_needed(s, ri):
            detect.ask_master_state_to_other_sentinels(s, ri, forced=True)
        failover.state_machine(s, ri)
        detect.ask_master_state_to_other_sentinels(s, ri, forced=False)


def check_tilt(s: Sentinel) -> None:
    """sentinelCheckTiltCondition: enter TILT on a late tick or a clock gone backwards."""
    now = mstime()
    delta = now - s.previous_time
    if delta < 0 or delta > s.timings.tilt_trigger:
        s.tilt = True
        s.tilt_start_time = mstime()
        s.emit(WARNING, "+tilt", None, "#tilt mode entered")
    s.previous_time = mstime()
