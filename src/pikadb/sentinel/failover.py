"""The failover state machine: one function per state, stepped by the sentinel's tick
(timer.py); a state is entered with Instance.set_failover_state.

Redis Sentinel's states, with their events (sentinel.c):

  wait_start          elected? -> +elected-leader; not elected within the election timeout
                      (10 s, or failover-timeout if smaller) -> -failover-abort-not-elected.
                      A forced failover (SENTINEL FAILOVER) needs no election.
  select_slave        the best replica (select_slave) -> +selected-slave; none ->
                      -failover-abort-no-good-slave
  send_slaveof_noone  MULTI / SLAVEOF NO ONE / CONFIG REWRITE / CLIENT KILL TYPE normal /
                      CLIENT KILL TYPE pubsub / EXEC to it
  wait_promotion      until its INFO says role:master (then, in monitor.promotion_observed,
                      +promoted-slave, the master's config epoch becomes the failover epoch,
                      clients may be told the new address) or failover-timeout ->
                      -failover-abort-slave-timeout
  reconf_slaves       SLAVEOF <new master> to the other replicas, parallel-syncs at a time;
                      ends when all reachable ones are reconfigured (+failover-end) or after
                      failover-timeout (+failover-end-for-timeout, best-effort SLAVEOF to the
                      rest)
  update_config       +switch-master <name> <old-ip> <old-port> <new-ip> <new-port>: the
                      master entry takes the new address, the old master becomes a replica
                      entry (it is converted when it comes back: +convert-to-slave)

pika-sentinel adds two states between select_slave and send_slaveof_noone, entered only when
the old master is still reachable (a manual SENTINEL FAILOVER, or an automatic one caused by
something other than the master dying), so that promoting a replica loses no acknowledged
write:

  fence_master        CLIENT PAUSE <ms> WRITE on the old master, then INFO replication on the
                      same connection: writes stop, and master_repl_offset is final
                      (+fence-master). No answer within half of down-after-milliseconds: go
                      on unfenced, as Redis would.
  wait_fence_sync     poll the chosen replica's INFO until it reports its link up with this
                      master and its slave_repl_offset reaches that offset (+fence-synced);
                      not within half of down-after-milliseconds -> CLIENT UNPAUSE and
                      -failover-abort-fence-timeout (a replica that cannot catch up is not
                      promoted at the price of writes)

An offset only counts in the master's history: a replica waiting for a full sync, or refused
one, reports the offset of its own data (Redis's previous offset; pikad's binlog positions,
which after a promotion and writes of its own may well exceed the master's). Hence the link
condition above, and, for the failover of a healthy master, select_slave's preference (after
priority, before offset) for replicas that report their link up with it: one that does not
could only end in a fence timeout.

Once the promotion is seen (monitor.promotion_observed), the fenced old master is pointed at
the new one at once with the same SLAVEOF transaction (+demote-old-master): its clients are
disconnected, and as a replica it refuses writes with -READONLY, so no client can write to
it again. An aborted fenced failover unpauses the old master.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from pikadb.log import log
from pikadb.replies import ReplyError
from pikadb.sentinel import election, monitor
from pikadb.sentinel.events import NOTICE, WARNING
from pikadb.sentinel.instance import FailoverState, Flag, Instance, parse_info
from pikadb.sentinel.link import mstime

if TYPE_CHECKING:
    from pikadb.sentinel.core import Sentinel

S = FailoverState


# ---- starting ----


def start_failover(s: Sentinel, master: Instance) -> None:
    master.set_failover_state(S.WAIT_START)
    master.flags |= Flag.FAILOVER_IN_PROGRESS
    s.current_epoch += 1
    master.failover_epoch = s.current_epoch
    s.emit(WARNING, "+new-epoch", master, str(s.current_epoch))
    s.emit(WARNING, "+try-failover", master)
    master.failover_start_time = mstime() + random.randrange(election.MAX_DESYNC)
    master.failover_state_change_time = mstime()


def start_failover_if_needed(s: Sentinel, master: Instance) -> bool:
    """Start when the master is ODOWN, no failover runs, and the last attempt is older than
    twice the failover timeout."""
    if not master.flags & Flag.O_DOWN:
        return False
    if master.flags & Flag.FAILOVER_IN_PROGRESS:
        return False
    if mstime() - master.failover_start_time < master.failover_timeout * 2:
        if master.failover_delay_logged != master.failover_start_time:
            when = (master.failover_start_time + master.failover_timeout * 2) / 1000
            master.failover_delay_logged = master.failover_start_time
            log.warning(
                "Next failover delay: I will not start a failover before "
                f"{time.strftime('%a %b %d %H:%M:%S %Y', time.localtime(when))}"
            )
        return False
    start_failover(s, master)
    return True


# ---- replica selection ----


def promotion_key(slave: Instance) -> tuple:
    """Sort key, best first: lower priority, larger replication offset, smaller run id
    (case-insensitively; an unknown run id sorts last)."""
    runid = slave.runid
    return (
        slave.slave_priority,
        -slave.slave_repl_offset,
        runid is None,
        runid.lower() if runid is not None else "",
    )


def select_slave(s: Sentinel, master: Instance) -> Instance | None:
    """The replica to promote: not down or disconnected, answered PING in the last five ping
    periods, INFO fresh enough, not disconnected from the master for much longer than the
    master has been down, priority not 0; then by promotion_key, except that a healthy
    master's replicas with their link up to it come before the others of the same priority
    (the failover fences that master and needs a replica that follows it)."""
    t = s.timings
    now = mstime()
    max_master_down_time = 0
    if master.flags & Flag.S_DOWN:
        max_master_down_time += now - master.s_down_since_time
    max_master_down_time += master.down_after_period * 10
    # While the master is SDOWN replicas are INFOed every second, else every info period.
    info_validity = t.ping_period * 5 if master.flags & Flag.S_DOWN else t.info_period * 3
    candidates = []
    for slave in master.slaves.values():
        if slave.flags & (Flag.S_DOWN | Flag.O_DOWN):
            continue
        if slave.link.disconnected:
            continue
        if now - slave.link.last_avail_time > t.ping_period * 5:
            continue
        if slave.slave_priority == 0:
            continue
        if now - slave.info_refresh > info_validity:
            continue
        if slave.master_link_down_time > max_master_down_time:
            continue
        candidates.append(slave)
    if not candidates:
        return None
    if master.flags & Flag.S_DOWN:
        return min(candidates, key=promotion_key)

    def fenced_key(slave: Instance) -> tuple:
        priority, *rest = promotion_key(slave)
        return (priority, not follows_master(s, slave, master), *rest)

    return min(candidates, key=fenced_key)


def follows_master(s: Sentinel, slave: Instance, master: Instance) -> bool:
    """Its last INFO: a replica of this master with the link up, so that its offset is a
    position in this master's history."""
    return (
        slave.slave_master_link_up
        and slave.slave_master_port == master.addr.port
        and monitor.addr_equals_hostname(s, master.addr, slave.slave_master_host)
    )


# ---- the states ----


def state_machine(s: Sentinel, master: Instance) -> None:
    """Run the current state; when it moves on to a state that need not wait for a reply,
    run that one too within this tick (Redis runs one state per tick, ~100 ms each)."""
    for _ in range(len(S)):
        before = master.failover_state
        _step(s, master)
        if master.failover_state == before or not master.flags & Flag.FAILOVER_IN_PROGRESS:
            return


def _step(s: Sentinel, master: Instance) -> None:
    if not master.flags & Flag.FAILOVER_IN_PROGRESS:
        return
    state = master.failover_state
    if state == S.WAIT_START:
        _wait_start(s, master)
    elif state == S.SELECT_SLAVE:
        _select_slave(s, master)
    elif state == S.FENCE_MASTER:
        _fence_master(s, master)
    elif state == S.WAIT_FENCE_SYNC:
        _wait_fence_sync(s, master)
    elif state == S.SEND_SLAVEOF_NOONE:
        _send_slaveof_noone(s, master)
    elif state == S.WAIT_PROMOTION:
        _wait_promotion(s, master)
    elif state == S.RECONF_SLAVES:
        _reconf_next_slave(s, master)


def _wait_start(s: Sentinel, master: Instance) -> None:
    leader = election.get_leader(s, master, master.failover_epoch)
    isleader = leader is not None and leader.lower() == s.myid.lower()
    if not isleader and not master.flags & Flag.FORCE_FAILOVER:
        election_timeout = min(s.timings.election_timeout, master.failover_timeout)
        if mstime() - master.failover_start_time > election_timeout:
            s.emit(WARNING, "-failover-abort-not-elected", master)
            abort_failover(s, master)
        return
    s.emit(WARNING, "+elected-leader", master)
    if s.simfailure_flags & 1:  # crash-after-election
        s.sim_failure_crash()
    master.set_failover_state(S.SELECT_SLAVE)
    s.emit(WARNING, "+failover-state-select-slave", master)


def _select_slave(s: Sentinel, master: Instance) -> None:
    slave = select_slave(s, master)
    if slave is None:
        s.emit(WARNING, "-failover-abort-no-good-slave", master)
        abort_failover(s, master)
        return
    s.emit(WARNING, "+selected-slave", slave)
    slave.flags |= Flag.PROMOTED
    master.promoted_slave = slave
    if _master_reachable(master):
        master.set_failover_state(S.FENCE_MASTER)
        s.emit(NOTICE, "+failover-state-fence-master", master)
        _send_fence(s, master)
    else:
        # A hung (not dead) master may come back: paused, it cannot take writes meanwhile.
        if master.link.cc is not None and not master.link.cc.closed:
            master.link.command(
                [master.map_command("CLIENT"), "PAUSE", str(_pause_ms(master)), "WRITE"]
            )
            master.flags |= Flag.FENCED  # so that an abort unpauses it
        master.set_failover_state(S.SEND_SLAVEOF_NOONE)
        s.emit(NOTICE, "+failover-state-send-slaveof-noone", slave)


def _master_reachable(master: Instance) -> bool:
    """Fence unless the master looks dead: a master we do not see down (a manual failover;
    its link may be reconnecting, the fence commands then wait for it), or one down for
    another reason than silence (it answers, e.g. it reports itself a replica)."""
    if not master.flags & Flag.S_DOWN:
        return True
    link = master.link
    return (
        link.cc is not None
        and link.cc.connected
        and mstime() - link.last_pong_time < master.down_after_period
    )


def _pause_ms(master: Instance) -> int:
    """How long the old master stays write-paused if nothing lifts the pause. Normally the
    demotion (or an abort) ends it well before: this only bounds the write outage when the
    leader dies mid-failover. It covers the catch-up budget and the promotion with room."""
    return min(master.failover_timeout * 2, max(master.down_after_period * 2, 5000))


def _fence_budget(master: Instance) -> int:
    """How long the fence may take to be acknowledged, and then the replica to catch up.
    Other sentinels' hello PUBLISH to the paused master blocks their link to it (PUBLISH is
    paused too): past down-after-milliseconds they would see it down and could start a
    failover of their own. Half of it leaves the promotion time to finish first."""
    return min(master.failover_timeout, master.down_after_period // 2)


def _send_fence(s: Sentinel, master: Instance) -> None:
    """CLIENT PAUSE then INFO replication on the master's command link; fence_offset: -3 not
    sent yet (no link), -1 sent, -2 refused, >= 0 the offset once paused."""
    if master.link.cc is None or master.link.cc.closed:
        master.fence_offset = -3
        return
    master.fence_offset = -1
    # Set now, not on the reply: no hello (PUBLISH, which the pause blocks) may be queued
    # behind the pause on this link.
    master.flags |= Flag.FENCED

    def paused(reply: Any) -> None:
        if isinstance(reply, ReplyError):
            log.warning(f"CLIENT PAUSE WRITE refused by {master.name}: {reply}; not fenced")
            master.fence_offset = -2

    def info(reply: Any) -> None:
        if master.fence_offset == -1 and isinstance(reply, bytes):
            offset = parse_info(reply.decode("utf-8", "replace")).master_repl_offset
            master.fence_offset = offset if offset is not None else -2

    master.link.command(
        [master.map_command("CLIENT"), "PAUSE", str(_pause_ms(master)), "WRITE"], paused
    )
    master.link.command([master.map_command("INFO"), "replication"], info)


def _fence_master(s: Sentinel, master: Instance) -> None:
    slave = master.promoted_slave
    assert slave is not None
    if master.fence_offset >= 0:
        s.emit(
            WARNING,
            "+fence-master",
            master,
            f"%@ #paused {_pause_ms(master)}ms offset {master.fence_offset}",
        )
        master.set_failover_state(S.WAIT_FENCE_SYNC)
        s.emit(NOTICE, "+failover-state-wait-fence-sync", slave)
        monitor.send_info(s, slave)
        return
    if master.fence_offset == -3:
        _send_fence(s, master)  # the link was down; it reconnects once per ping period
    timed_out = mstime() - master.failover_state_change_time > _fence_budget(master)
    if master.fence_offset == -2 or timed_out:
        # Not fenceable (old server, or it stopped answering): proceed as Redis does. After a
        # timeout the pause may still land later, so FENCED stays: the failover's end (or
        # abort) lifts it.
        if master.fence_offset == -2:
            master.flags &= ~Flag.FENCED
        master.set_failover_state(S.SEND_SLAVEOF_NOONE)
        s.emit(NOTICE, "+failover-state-send-slaveof-noone", slave)


def _wait_fence_sync(s: Sentinel, master: Instance) -> None:
    slave = master.promoted_slave
    assert slave is not None
    if (
        slave.info_refresh > master.failover_state_change_time
        and follows_master(s, slave, master)
        and slave.slave_repl_offset >= master.fence_offset
    ):
        s.emit(NOTICE, "+fence-synced", slave, f"%@ #offset {slave.slave_repl_offset}")
        master.set_failover_state(S.SEND_SLAVEOF_NOONE)
        s.emit(NOTICE, "+failover-state-send-slaveof-noone", slave)
        return
    if mstime() - master.failover_state_change_time > _fence_budget(master):
        s.emit(WARNING, "-failover-abort-fence-timeout", master)
        abort_failover(s, master)
        return
    _poll_info(s, slave)


def _send_slaveof_noone(s: Sentinel, master: Instance) -> None:
    slave = master.promoted_slave
    assert slave is not None
    # Redis waits for both links; the command link is the one SLAVEOF needs.
    cc = slave.link.cc
    if cc is None or cc.closed:
        if mstime() - master.failover_state_change_time > master.failover_timeout:
            s.emit(WARNING, "-failover-abort-slave-timeout", master)
            abort_failover(s, master)
        return
    if not monitor.send_slaveof(s, slave, None):
        return
    s.emit(NOTICE, "+failover-state-wait-promotion", slave)
    master.set_failover_state(S.WAIT_PROMOTION)


def _poll_info(s: Sentinel, ri: Instance) -> None:
    """INFO now if nothing is pending on its link. Redis relies on the 1 s INFO period of
    replicas during a failover; polling every tick while we wait for a role change or a
    resync makes each of those steps take one round trip instead of up to a second, which
    is most of a failover's duration (and, when fenced, of the clients' write outage)."""
    # Only the command link matters: our own SLAVEOF transaction (CLIENT KILL TYPE pubsub)
    # has just dropped the pub/sub one, which reconnects at most once per second.
    cc = ri.link.cc
    if ri.link.pending_commands == 0 and cc is not None and not cc.closed:
        monitor.send_info(s, ri)


def _wait_promotion(s: Sentinel, master: Instance) -> None:
    # The switch to reconf_slaves happens when INFO shows the promotion
    # (monitor.promotion_observed).
    if mstime() - master.failover_state_change_time > master.failover_timeout:
        s.emit(WARNING, "-failover-abort-slave-timeout", master)
        abort_failover(s, master)
        return
    if master.promoted_slave is not None:
        _poll_info(s, master.promoted_slave)


def _detect_end(s: Sentinel, master: Instance) -> None:
    elapsed = mstime() - master.failover_state_change_time
    promoted = master.promoted_slave
    if promoted is None or promoted.flags & Flag.S_DOWN:
        return
    not_reconfigured = 0
    for slave in master.slaves.values():
        if slave.flags & (Flag.PROMOTED | Flag.RECONF_DONE):
            continue
        if slave.flags & Flag.S_DOWN:
            continue
        not_reconfigured += 1
    timeout = False
    if elapsed > master.failover_timeout:
        not_reconfigured = 0
        timeout = True
        s.emit(WARNING, "+failover-end-for-timeout", master)
    if not_reconfigured == 0:
        s.emit(WARNING, "+failover-end", master)
        master.set_failover_state(S.UPDATE_CONFIG)
    if timeout:
        for slave in master.slaves.values():
            if slave.flags & (Flag.PROMOTED | Flag.RECONF_DONE | Flag.RECONF_SENT):
                continue
            if slave.link.disconnected:
                continue
            if monitor.send_slaveof(s, slave, promoted.addr):
                s.emit(NOTICE, "+slave-reconf-sent-be", slave)
                slave.flags |= Flag.RECONF_SENT


def _reconf_next_slave(s: Sentinel, master: Instance) -> None:
    promoted = master.promoted_slave
    assert promoted is not None
    in_progress = sum(
        1 for sl in master.slaves.values() if sl.flags & (Flag.RECONF_SENT | Flag.RECONF_INPROG)
    )
    for slave in master.slaves.values():
        if in_progress >= master.parallel_syncs:
            break
        if slave.flags & (Flag.PROMOTED | Flag.RECONF_DONE):
            continue
        # Stuck for too long: count it as done; its config is fixed later if needed.
        if (
            slave.flags & Flag.RECONF_SENT
            and mstime() - slave.slave_reconf_sent_time > s.timings.slave_reconf_timeout
        ):
            s.emit(NOTICE, "-slave-reconf-sent-timeout", slave)
            slave.flags &= ~Flag.RECONF_SENT
            slave.flags |= Flag.RECONF_DONE
        if slave.flags & (Flag.RECONF_SENT | Flag.RECONF_INPROG):
            continue
        if slave.link.disconnected:
            continue
        if monitor.send_slaveof(s, slave, promoted.addr):
            slave.flags |= Flag.RECONF_SENT
            slave.slave_reconf_sent_time = mstime()
            s.emit(NOTICE, "+slave-reconf-sent", slave)
            in_progress += 1
    for slave in master.slaves.values():
        if slave.flags & (Flag.RECONF_SENT | Flag.RECONF_INPROG):
            _poll_info(s, slave)
    _detect_end(s, master)


def switch_to_promoted(s: Sentinel, master: Instance) -> None:
    """update_config: the master entry now describes the promoted replica."""
    ref = master.promoted_slave if master.promoted_slave is not None else master
    s.emit(
        WARNING,
        "+switch-master",
        master,
        f"{master.name} {s.announce_addr(master.addr)} {master.addr.port} "
        f"{s.announce_addr(ref.addr)} {ref.addr.port}",
    )
    s.reset_master_and_change_address(master, ref.addr.hostname, ref.addr.port)


def abort_failover(s: Sentinel, master: Instance) -> None:
    """Only before the promotion is acknowledged; later a failover runs to its end."""
    assert master.flags & Flag.FAILOVER_IN_PROGRESS
    assert master.failover_state <= S.WAIT_PROMOTION
    if master.flags & Flag.FENCED:
        master.link.command([master.map_command("CLIENT"), "UNPAUSE"])
    master.flags &= ~(Flag.FAILOVER_IN_PROGRESS | Flag.FORCE_FAILOVER | Flag.FENCED)
    master.set_failover_state(S.NONE)
    if master.promoted_slave is not None:
        master.promoted_slave.flags &= ~Flag.PROMOTED
        master.promoted_slave = None
