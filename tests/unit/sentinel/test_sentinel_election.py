"""Votes and leader election (pikadb.sentinel.election), Redis Sentinel's rules:
one vote per epoch, first come first served; a leader needs an absolute majority of the
known sentinels and at least the quorum."""

from __future__ import annotations

from pathlib import Path

from sentinel_helpers import MYID, add_sentinel

from pikadb.sentinel import election
from pikadb.sentinel.link import mstime

X = "x" * 40
Y = "y" * 40
Z = "z" * 40


def test_first_request_of_an_epoch_gets_the_vote(sentinel):
    master = sentinel.masters["mymaster"]
    leader, epoch = election.vote_leader(sentinel, master, 5, X)
    assert (leader, epoch) == (X, 5)
    assert sentinel.current_epoch == 5
    assert sentinel.publisher.names() == ["+new-epoch", "+vote-for-leader"]
    assert sentinel.publisher.events[1][1] == f"{X} 5"
    # The vote is persisted with the epoch.
    text = Path(sentinel.config_path).read_text()
    assert "sentinel leader-epoch mymaster 5\n" in text
    assert "sentinel current-epoch 5\n" in text


def test_one_vote_per_epoch(sentinel):
    master = sentinel.masters["mymaster"]
    election.vote_leader(sentinel, master, 5, X)
    assert election.vote_leader(sentinel, master, 5, Y) == (X, 5)
    # an older epoch gets the current vote back
    assert election.vote_leader(sentinel, master, 4, Y) == (X, 5)
    # a newer epoch may vote again
    assert election.vote_leader(sentinel, master, 6, Y) == (Y, 6)


def test_voting_for_another_delays_our_own_failover(sentinel):
    master = sentinel.masters["mymaster"]
    before = mstime()
    election.vote_leader(sentinel, master, 1, X)
    assert master.failover_start_time >= before
    master.failover_start_time = 0
    election.vote_leader(sentinel, master, 2, MYID)
    assert master.failover_start_time == 0


def _votes(sentinel, votes: list[str | None], epoch: int) -> None:
    for i, v in enumerate(votes):
        si = add_sentinel(sentinel, f"{i:040d}", 26380 + i)
        si.leader = v
        si.leader_epoch = epoch


def test_majority_of_known_sentinels_wins(sentinel):
    master = sentinel.masters["mymaster"]
    sentinel.current_epoch = 3
    _votes(sentinel, [X, X, None], 3)  # 4 voters: majority is 3
    # we vote for the most voted one: X has 3 votes
    assert election.get_leader(sentinel, master, 3) == X
    assert master.leader == X


def test_no_majority_no_leader(sentinel):
    master = sentinel.masters["mymaster"]
    sentinel.current_epoch = 3
    _votes(sentinel, [X, Y, None], 3)
    assert election.get_leader(sentinel, master, 3) is None


def test_votes_of_other_epochs_do_not_count(sentinel):
    master = sentinel.masters["mymaster"]
    sentinel.current_epoch = 3
    _votes(sentinel, [X, X, X], 2)
    # nobody voted in epoch 3: we vote for ourselves, one vote of four
    assert election.get_leader(sentinel, master, 3) is None
    assert master.leader == MYID


def test_alone_we_win_only_if_quorum_and_majority_allow(sentinel):
    master = sentinel.masters["mymaster"]
    sentinel.current_epoch = 1
    # no other sentinel known: 1 voter, majority 1, but quorum is 2
    assert election.get_leader(sentinel, master, 1) is None
    master.quorum = 1
    sentinel.current_epoch = 2
    assert election.get_leader(sentinel, master, 2) == MYID


def test_quorum_above_majority_is_required_too(sentinel):
    master = sentinel.masters["mymaster"]
    master.quorum = 4
    sentinel.current_epoch = 7
    _votes(sentinel, [MYID, MYID, None, None], 7)  # 5 voters, majority 3
    # 3 votes for us (two others + ours): a majority, but below the quorum of 4
    assert election.get_leader(sentinel, master, 7) is None
