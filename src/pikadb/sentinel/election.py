"""Leader election: which sentinel performs the failover of a master, one vote per epoch.

A sentinel that starts a failover bumps the current epoch and asks the others for their vote
(is-master-down-by-addr with its run id). vote_leader() grants a vote to the first sentinel
asking in an epoch newer than our last vote, and answers every later request of that epoch
with the same choice; voting for someone else delays our own next attempt (so the sentinels
do not all keep starting elections).

get_leader() counts, for an epoch, the votes the other sentinels reported plus our own (we
vote for the most voted sentinel, or for ourselves if nobody has votes yet). The winner
needs an absolute majority of all the sentinels we know (ever seen since the last reset, not
just the reachable ones: two partitions can never both win) and at least `quorum` votes.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from pikadb.sentinel.events import WARNING
from pikadb.sentinel.link import mstime

if TYPE_CHECKING:
    from pikadb.sentinel.core import Sentinel
    from pikadb.sentinel.instance import Instance

MAX_DESYNC = 1000  # ms of random delay added to failover start times


def vote_leader(
    s: Sentinel, master: Instance, req_epoch: int, req_runid: str
) -> tuple[str | None, int]:
    """Vote for req_runid in req_epoch, or return the vote already given in that epoch (or a
    newer one). Returns (leader run id or None, epoch of that vote)."""
    if req_epoch > s.current_epoch:
        s.current_epoch = req_epoch
        s.flush_config()
        s.emit(WARNING, "+new-epoch", master, str(s.current_epoch))
    if master.leader_epoch < req_epoch and s.current_epoch <= req_epoch:
        master.leader = req_runid
        master.leader_epoch = s.current_epoch
        s.flush_config()
        s.emit(WARNING, "+vote-for-leader", master, f"{master.leader} {master.leader_epoch}")
        if master.leader.lower() != s.myid.lower():
            # We voted for another sentinel: do not compete with it right away.
            master.failover_start_time = mstime() + random.randrange(MAX_DESYNC)
    return master.leader, master.leader_epoch


def get_leader(s: Sentinel, master: Instance, epoch: int) -> str | None:
    """The sentinel elected for `epoch`, or None if nobody has the majority and the quorum."""
    counters: dict[str, int] = {}
    voters = len(master.sentinels) + 1  # the others and us
    for ri in master.sentinels.values():
        if ri.leader is not None and ri.leader_epoch == s.current_epoch:
            counters[ri.leader] = counters.get(ri.leader, 0) + 1
    winner: str | None = None
    max_votes = 0
    for runid, votes in counters.items():
        if votes > max_votes:
            max_votes = votes
            winner = runid
    # Our own vote: for the most voted sentinel, or for ourselves if none has votes.
    myvote, leader_epoch = vote_leader(s, master, epoch, winner if winner else s.myid)
    if myvote and leader_epoch == epoch:
        votes = counters.get(myvote, 0) + 1
        counters[myvote] = votes
        if votes > max_votes:
            max_votes = votes
            winner = myvote
    if winner is not None and (max_votes < voters // 2 + 1 or max_votes < master.quorum):
        winner = None
    return winner
