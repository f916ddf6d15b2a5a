"""What the sentinel reads from the wire: RESP replies (ReplyReader), INFO (parse_info) and
hello messages (monitor.process_hello), and what a flag set prints as."""

from __future__ import annotations

from pathlib import Path

from sentinel_helpers import MYID, add_replica, add_sentinel

from pikadb.replies import ReplyError, ReplyReader
from pikadb.sentinel import monitor
from pikadb.sentinel.instance import Flag, parse_info

# ---- ReplyReader ----


def test_reply_reader_byte_by_byte():
    data = (
        b"+PONG\r\n-LOADING Redis is loading\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n"
        b"*3\r\n$7\r\nmessage\r\n$18\r\n__sentinel__:hello\r\n$3\r\na,b\r\n"
        b"%1\r\n+k\r\n:1\r\n_\r\n#t\r\n,1.5\r\n=8\r\ntxt:abcd\r\n>2\r\n+x\r\n+y\r\n"
    )
    r = ReplyReader()
    out = []
    for i in range(len(data)):
        r.feed(data[i : i + 1])
        while (v := r.gets()) is not ReplyReader.NOT_READY:
            out.append(v)
    assert out == [
        "PONG",
        "LOADING Redis is loading",
        42,
        b"hello",
        None,
        None,
        [b"message", b"__sentinel__:hello", b"a,b"],
        {"k": 1},
        None,
        True,
        "1.5",
        b"abcd",
        ["x", "y"],
    ]
    assert isinstance(out[1], ReplyError) and not isinstance(out[0], ReplyError)


# ---- INFO ----

MASTER_INFO = (
    "# Server\r\nrun_id:" + "f" * 40 + "\r\n\r\n# Replication\r\nrole:master\r\n"
    "connected_slaves:2\r\n"
    "slave0:ip=127.0.0.1,port=6380,state=online,offset=100,lag=0\r\n"
    "slave1:127.0.0.2,6381,online\r\n"
    "master_repl_offset:100\r\n"
)

REPLICA_INFO = (
    "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\n"
    "master_link_status:down\r\nmaster_link_down_since_seconds:7\r\n"
    "slave_repl_offset:99\r\nslave_priority:0\r\nreplica_announced:1\r\n"
)


def test_parse_master_info():
    rep = parse_info(MASTER_INFO)
    assert rep.run_id == "f" * 40
    assert rep.role == Flag.MASTER
    assert rep.replicas == [("127.0.0.1", 6380), ("127.0.0.2", 6381)]
    assert rep.master_repl_offset == 100


def test_parse_replica_info():
    rep = parse_info(REPLICA_INFO)
    assert rep.role == Flag.SLAVE
    assert (rep.master_host, rep.master_port, rep.master_link_up) == ("127.0.0.1", 6379, False)
    assert rep.master_link_down_time == 7000
    assert (rep.slave_repl_offset, rep.slave_priority, rep.replica_announced) == (99, 0, 1)


def test_info_discovers_replicas(sentinel):
    master = sentinel.masters["mymaster"]
    monitor.refresh_instance_info(sentinel, master, MASTER_INFO)
    assert sorted(master.slaves) == ["127.0.0.1:6380", "127.0.0.2:6381"]
    assert sentinel.publisher.names() == ["+slave", "+slave"]
    assert sentinel.publisher.events[0][1] == (
        "slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379"
    )
    assert (
        "sentinel known-replica mymaster 127.0.0.2 6381" in Path(sentinel.config_path).read_text()
    )


def test_flags_print_in_redis_order(sentinel):
    master = sentinel.masters["mymaster"]
    master.flags |= Flag.O_DOWN | Flag.S_DOWN | Flag.FAILOVER_IN_PROGRESS
    assert master.flags_str() == "s_down,o_down,master,disconnected,failover_in_progress"
    r = add_replica(sentinel, 6380)
    r.link.disconnected = False
    r.flags |= Flag.PROMOTED
    assert r.flags_str() == "slave,promoted"


# ---- hello ----


def hello(port: int, runid: str, epoch: int, master_port: int, config_epoch: int) -> str:
    return f"127.0.0.1,{port},{runid},{epoch},mymaster,127.0.0.1,{master_port},{config_epoch}"


def test_hello_adds_a_sentinel_and_learns_the_epoch(sentinel):
    runid = "b" * 40
    monitor.process_hello(sentinel, hello(26380, runid, 3, 6379, 0))
    master = sentinel.masters["mymaster"]
    assert list(master.sentinels) == [runid]
    assert sentinel.current_epoch == 3
    assert sentinel.publisher.names() == ["+sentinel", "+new-epoch"]
    text = Path(sentinel.config_path).read_text()
    assert f"sentinel known-sentinel mymaster 127.0.0.1 26380 {runid}" in text
    assert "sentinel current-epoch 3" in text


def test_hello_with_a_newer_config_switches_the_master(sentinel):
    runid = "b" * 40
    add_sentinel(sentinel, runid, 26380)
    add_replica(sentinel, 6380)
    add_replica(sentinel, 6381)
    monitor.process_hello(sentinel, hello(26380, runid, 4, 6380, 4))
    master = sentinel.masters["mymaster"]
    assert (master.addr.port, master.config_epoch) == (6380, 4)
    assert sorted(master.slaves) == ["127.0.0.1:6379", "127.0.0.1:6381"]
    names = sentinel.publisher.names()
    assert names[:3] == ["+new-epoch", "+config-update-from", "+switch-master"]
    assert sentinel.publisher.events[2][1] == "mymaster 127.0.0.1 6379 127.0.0.1 6380"
    # an older config does not move it back
    monitor.process_hello(sentinel, hello(26380, runid, 4, 6379, 3))
    assert master.addr.port == 6380


def test_switch_connects_to_the_new_master_at_once_and_forgets_old_votes(sentinel):
    """After +switch-master the link tries the new address at the next tick (not a ping
    period after its last attempt at the dead master), and the other sentinels' 'down' votes
    about the old master do not count for the new one: a healthy new master is not failed
    over again (Redis 7.0 does both, and with down-after 1000 ms fails over twice now and
    then)."""
    runid = "b" * 40
    other = add_sentinel(sentinel, runid, 26380)
    other.flags |= Flag.MASTER_DOWN
    other.leader = runid
    add_replica(sentinel, 6380)
    master = sentinel.masters["mymaster"]
    master.link.last_reconn_time = 10**15  # it just tried the dead master
    monitor.process_hello(sentinel, hello(26380, runid, 4, 6380, 4))
    assert master.addr.port == 6380
    assert master.link.last_reconn_time == 0
    assert not other.flags & Flag.MASTER_DOWN and other.leader is None
    assert master.sentinels == {runid: other}


def test_hello_for_an_unknown_master_or_malformed_is_ignored(sentinel):
    monitor.process_hello(sentinel, hello(26380, "b" * 40, 9, 6379, 9).replace("mymaster", "x"))
    monitor.process_hello(sentinel, "1,2,3")
    assert sentinel.current_epoch == 0
    assert sentinel.masters["mymaster"].sentinels == {}
    assert MYID  # our own hellos are dropped before this point (receive_hello_message)


def test_sentinel_changing_address_is_moved_not_duplicated(sentinel):
    runid = "b" * 40
    add_sentinel(sentinel, runid, 26380)
    monitor.process_hello(sentinel, hello(26390, runid, 0, 6379, 0))
    master = sentinel.masters["mymaster"]
    assert [(s.runid, s.addr.port) for s in master.sentinels.values()] == [(runid, 26390)]
    assert sentinel.publisher.names() == ["+sentinel-address-switch"]
