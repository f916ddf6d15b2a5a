"""Failure detection: SDOWN from our own pings, ODOWN from the other sentinels' opinions.

SDOWN (subjectively down), for any instance: no valid PING reply (PONG, -LOADING,
-MASTERDOWN) for down-after-milliseconds, counted from the oldest unanswered PING, or from the
last valid reply while the link is down. A master that keeps reporting role:slave for
down-after + 2 INFO periods is SDOWN too, and so is a master seen rebooting for longer than
master-reboot-down-after-period when that is set. Links that look stuck are recycled here.

ODOWN (objectively down), for masters only: we see it SDOWN and, counting ourselves, at least
`quorum` sentinels answered `SENTINEL is-master-down-by-addr` with 1 in the last five ask
periods. ODOWN is a weak agreement (replies may be stale by a few seconds); the election
that follows is what makes the failover safe.

is_master_down_by_addr() is the answering side of that question, and also where a vote is
requested: with a run id instead of '*' the asking sentinel wants our vote for the epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pikadb.log import log
from pikadb.sentinel import election
from pikadb.sentinel.events import WARNING
from pikadb.sentinel.instance import FailoverState, Flag, Instance
from pikadb.sentinel.link import mstime

if TYPE_CHECKING:
    from pikadb.sentinel.core import Sentinel


def check_subjectively_down(s: Sentinel, ri: Instance) -> None:
    link = ri.link
    now = mstime()
    t = s.timings
    elapsed = 0
    if link.act_ping_time:
        elapsed = now - link.act_ping_time
    elif link.disconnected:
        elapsed = now - link.last_avail_time
    # A command link connected long enough, with a ping pending for more than half the
    # down-after period and no reply of any kind: reconnect it.
    if (
        link.cc is not None
        and now - link.cc_conn_time > t.min_link_reconnect_period
        and link.act_ping_time != 0
        and now - link.act_ping_time > ri.down_after_period / 2
        and now - link.last_pong_time > ri.down_after_period / 2
    ):
        link.close_cc()
    # A pub/sub link silent for three publish periods (we hear our own hellos): reconnect.
    if (
        link.pc is not None
        and now - link.pc_conn_time > t.min_link_reconnect_period
        and now - link.pc_last_activity > t.publish_period * 3
    ):
        link.close_pc()
    if (
        elapsed > ri.down_after_period
        or (
            ri.is_master
            and ri.role_reported == Flag.SLAVE
            and now - ri.role_reported_time > ri.down_after_period + t.info_period * 2
        )
        or (
            ri.flags & Flag.MASTER_REBOOT
            and now - ri.master_reboot_since_time > ri.master_reboot_down_after_period
        )
    ):
        if not ri.flags & Flag.S_DOWN:
            s.emit(WARNING, "+sdown", ri)
            ri.s_down_since_time = mstime()
            ri.flags |= Flag.S_DOWN
    elif ri.flags & Flag.S_DOWN:
        s.emit(WARNING, "-sdown", ri)
        ri.flags &= ~(Flag.S_DOWN | Flag.SCRIPT_KILL_SENT)


def check_objectively_down(s: Sentinel, master: Instance) -> None:
    quorum = 0
    odown = False
    if master.flags & Flag.S_DOWN:
        quorum = 1 + sum(1 for ri in master.sentinels.values() if ri.flags & Flag.MASTER_DOWN)
        odown = quorum >= master.quorum
    if odown:
        if not master.flags & Flag.O_DOWN:
            s.emit(WARNING, "+odown", master, f"%@ #quorum {quorum}/{master.quorum}")
            master.flags |= Flag.O_DOWN
            master.o_down_since_time = mstime()
    elif master.flags & Flag.O_DOWN:
        s.emit(WARNING, "-odown", master)
        master.flags &= ~Flag.O_DOWN


def ask_master_state_to_other_sentinels(s: Sentinel, master: Instance, forced: bool) -> None:
    """While we see the master down, ask every connected sentinel once per ask period (at once
    when forced, i.e. right after starting a failover); during a failover the question
    carries our run id, which is a vote request."""
    t = s.timings
    for ri in master.sentinels.values():
        elapsed = mstime() - ri.last_master_down_reply_time
        if elapsed > t.ask_period * 5:
            # Their opinion is too old to count.
            ri.flags &= ~Flag.MASTER_DOWN
            ri.leader = None
        if not master.flags & Flag.S_DOWN:
            continue
        if ri.link.disconnected:
            continue
        if not forced and mstime() - ri.last_master_down_reply_time < t.ask_period:
            continue

        def on_reply(reply: Any, ri: Instance = ri) -> None:
            _is_master_down_reply(ri, reply)

        runid = s.myid if master.failover_state > FailoverState.NONE else "*"
        ri.link.command(
            [
                ri.map_command("SENTINEL"),
                "is-master-down-by-addr",
                s.announce_addr(master.addr),
                str(master.addr.port),
                str(s.current_epoch),
                runid,
            ],
            on_reply,
        )


def _is_master_down_reply(ri: Instance, r: Any) -> None:
    # Anything but [int, bulk, int] is ignored; MASTER_DOWN then expires by itself.
    if not (
        isinstance(r, list)
        and len(r) == 3
        and isinstance(r[0], int)
        and isinstance(r[1], bytes)
        and isinstance(r[2], int)
    ):
        return
    ri.last_master_down_reply_time = mstime()
    if r[0] == 1:
        ri.flags |= Flag.MASTER_DOWN
    else:
        ri.flags &= ~Flag.MASTER_DOWN
    leader = r[1].decode("utf-8", "replace")
    if leader != "*":
        if ri.leader_epoch != r[2]:
            log.warning(f"{ri.name} voted for {leader} {r[2]}")
        ri.leader = leader
        ri.leader_epoch = r[2]


def is_master_down_by_addr(
    s: Sentinel, ip: str, port: int, req_epoch: int, req_runid: str
) -> tuple[int, str, int]:
    """SENTINEL IS-MASTER-DOWN-BY-ADDR: (down?, voted leader or '*', vote epoch)."""
    ri = s.sentinel_by_addr_and_runid(s.masters, ip, port, None)
    isdown = 0
    if not s.tilt and ri is not None and ri.flags & Flag.S_DOWN and ri.is_master:
        isdown = 1
    leader: str | None = None
    leader_epoch = 0
    if ri is not None and ri.is_master and req_runid != "*":
        leader, leader_epoch = election.vote_leader(s, ri, req_epoch % (1 << 64), req_runid)
    return isdown, leader if leader is not None else "*", leader_epoch
