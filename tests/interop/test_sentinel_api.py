"""pika-sentinel's command API against Debian's redis-sentinel 7.0, side by side.

One pika-sentinel and one redis-sentinel watch the same master (with two replicas), so they
see the same topology: every reply is compared byte for byte, except the fields that carry
times, run ids or process details, which are compared by name and position. Error texts,
help texts, SENTINEL DEBUG/CONFIG, ROLE, INFO sentinel, COMMAND INFO entries and event
messages must be identical.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from helpers.raw import RawConnection, parse
from helpers.servers import (
    PikaSentinelProcess,
    ServerProcess,
    start_redis,
    start_sentinel,
    wait_until,
)
from interop.support import MASTER

pytestmark = pytest.mark.slow


class Pair:
    def __init__(self, pika: PikaSentinelProcess, real: PikaSentinelProcess) -> None:
        self.pika = pika
        self.real = real
        self.rp = RawConnection(pika.port)
        self.rr = RawConnection(real.port)

    def both(self, *args: object) -> tuple[bytes, bytes]:
        self.rp.send(list(args))
        self.rr.send(list(args))
        return self.rp.read_reply(), self.rr.read_reply()

    def same(self, *args: object) -> bytes:
        p, r = self.both(*args)
        assert p == r, f"{args}: pika {p!r} != redis {r!r}"
        return p

    def close(self) -> None:
        self.rp.close()
        self.rr.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pair, list[ServerProcess]]]:
    servers: list[ServerProcess] = []
    try:
        master = start_redis(tmp_path_factory.mktemp("redis"), repl_diskless_sync_delay=0)
        servers.append(master)
        for _ in range(2):
            servers.append(
                start_redis(
                    tmp_path_factory.mktemp("redis"),
                    replicaof=f"{master.host} {master.port}",
                    repl_diskless_sync_delay=0,
                )
            )
        lines = [f"sentinel down-after-milliseconds {MASTER} 5000"]
        monitor = [f"{MASTER} {master.host} {master.port} 2"]
        base: Path = tmp_path_factory.mktemp("pika-sentinel")
        pika = start_sentinel(base, monitor, lines)
        servers.append(pika)
        real = start_sentinel(
            tmp_path_factory.mktemp("redis-sentinel"), monitor, lines, kind="redis"
        )
        servers.append(real)
        pair = Pair(pika, real)

        def settled() -> bool:
            for s in (pika, real):
                c = redis.Redis(port=s.port, decode_responses=True)
                try:
                    m = c.sentinel_master(MASTER)
                    slaves = c.sentinel_slaves(MASTER)
                finally:
                    c.close()
                if m["num-other-sentinels"] != 1 or m["num-slaves"] != 2:
                    return False
                if any(x["master-link-status"] != "ok" for x in slaves):
                    return False
            return True

        wait_until(settled, 30, what="both sentinels to see the whole topology")
        yield pair, servers
        pair.close()
    finally:
        for s in reversed(servers):
            s.stop()


def fields(raw: bytes) -> list[str]:
    """Field names of a flat field/value reply (one instance)."""
    value = parse(raw)
    return [bytes(k).decode() for k in value[::2]]


def as_dict(raw: bytes) -> dict[str, str]:
    value = parse(raw)
    return {
        bytes(k).decode(): bytes(v).decode() for k, v in zip(value[::2], value[1::2], strict=True)
    }


STABLE = (
    "name",
    "ip",
    "port",
    "flags",
    "down-after-milliseconds",
    "role-reported",
    "config-epoch",
    "num-slaves",
    "num-other-sentinels",
    "quorum",
    "failover-timeout",
    "parallel-syncs",
    "master-link-status",
    "master-host",
    "master-port",
    "slave-priority",
    "replica-announced",
)


def test_instance_descriptions_match(world):
    pair, _ = world
    p, r = pair.both("SENTINEL", "MASTER", MASTER)
    assert fields(p) == fields(r)
    dp, dr = as_dict(p), as_dict(r)
    assert {k: dp[k] for k in STABLE if k in dr} == {k: dr[k] for k in STABLE if k in dr}
    assert dp["runid"] == dr["runid"]  # the master's run id, from INFO

    p, r = pair.both("SENTINEL", "MASTERS")
    assert parse(p)[0][::2] == parse(r)[0][::2]

    for sub in ("REPLICAS", "SLAVES"):
        p, r = pair.both("SENTINEL", sub, MASTER)
        rp = sorted((as_dict_v(x) for x in parse(p)), key=lambda d: d["name"])
        rr = sorted((as_dict_v(x) for x in parse(r)), key=lambda d: d["name"])
        assert [list(d) for d in rp] == [list(d) for d in rr]
        for a, b in zip(rp, rr, strict=True):
            assert {k: a[k] for k in STABLE if k in b} == {k: b[k] for k in STABLE if k in b}
            assert a["runid"] == b["runid"]

    # Each sees the other: same field names for a sentinel entry.
    p, r = pair.both("SENTINEL", "SENTINELS", MASTER)
    assert parse(p)[0][::2] == parse(r)[0][::2]


def as_dict_v(value: list) -> dict[str, str]:
    return {
        bytes(k).decode(): bytes(v).decode() for k, v in zip(value[::2], value[1::2], strict=True)
    }


def test_myid_and_each_other(world):
    pair, _ = world
    p, r = pair.both("SENTINEL", "MYID")
    assert len(p) == len(r) == len(b"$40\r\n") + 40 + 2
    pid, rid = parse(p).decode(), parse(r).decode()
    _, _ = pair.both("PING")
    p, r = pair.both("SENTINEL", "SENTINELS", MASTER)
    assert as_dict_v(parse(p)[0])["runid"] == rid
    assert as_dict_v(parse(r)[0])["runid"] == pid


@pytest.mark.parametrize(
    "cmd",
    [
        ["PING"],
        ["PING", "hello"],
        ["PING", "a", "b"],
        ["ROLE"],
        ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER],
        ["SENTINEL", "get-master-addr-by-name", "nope"],
        ["SENTINEL", "CKQUORUM", MASTER],
        ["SENTINEL", "CKQUORUM", "nope"],
        ["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "1", "0", "*"],
        ["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "x", "0", "*"],
        ["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "1", "x", "*"],
        ["SENTINEL", "HELP"],
        ["SENTINEL", "DEBUG"],
        ["SENTINEL", "DEBUG", "foo"],
        ["SENTINEL", "DEBUG", "info-period", "-1"],
        ["SENTINEL", "DEBUG", "info-period"],
        ["SENTINEL", "CONFIG", "GET", "*"],
        ["SENTINEL", "CONFIG", "GET", "announce-*"],
        ["SENTINEL", "CONFIG", "GET", "nothing"],
        ["SENTINEL", "CONFIG", "GET"],
        ["SENTINEL", "CONFIG", "foo", "bar"],
        ["SENTINEL", "CONFIG", "SET", "foo", "bar"],
        ["SENTINEL", "CONFIG", "SET", "announce-port", "x"],
        ["SENTINEL", "CONFIG", "SET", "announce-port", "70000"],
        ["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "maybe"],
        ["SENTINEL", "PENDING-SCRIPTS"],
        ["SENTINEL", "SIMULATE-FAILURE", "help"],
        ["SENTINEL", "SIMULATE-FAILURE", "foo"],
        ["SENTINEL", "SIMULATE-FAILURE"],
        ["SENTINEL", "RESET", "nothing-matches-*"],
        ["SENTINEL", "INFO-CACHE", "nope"],
        ["SENTINEL", "INFO-CACHE"],
        ["SENTINEL", "FAILOVER", "nope"],
        ["SENTINEL", "MASTER", "nope"],
        ["SENTINEL", "REPLICAS", "nope"],
        ["SENTINEL", "SENTINELS", "nope"],
        ["SENTINEL", "REMOVE", "nope"],
        ["SENTINEL", "MASTERS", "x"],
        ["SENTINEL", "MASTER"],
        ["SENTINEL"],
        ["SENTINEL", "foo"],
        ["SENTINEL", "SET", "nope", "quorum", "2"],
        ["SENTINEL", "SET", MASTER, "quorum"],
        ["SENTINEL", "SET", MASTER, "quorum", "x"],
        ["SENTINEL", "SET", MASTER, "quorum", "0"],
        ["SENTINEL", "SET", MASTER, "foo", "1"],
        ["SENTINEL", "SET", MASTER, "notification-script", "/bin/true"],
        ["SENTINEL", "SET", MASTER, "client-reconfig-script", "/bin/true"],
        ["SENTINEL", "SET", MASTER, "rename-command", "", "x"],
        ["SENTINEL", "SET", MASTER, "master-reboot-down-after-period", "-1"],
        ["SENTINEL", "MONITOR", "a", "1.2.3.4", "x", "2"],
        ["SENTINEL", "MONITOR", "a", "1.2.3.4", "5", "x"],
        ["SENTINEL", "MONITOR", "a", "1.2.3.4", "5", "0"],
        ["SENTINEL", "MONITOR", "a", "not-an-ip", "5", "1"],
        ["SENTINEL", "MONITOR", MASTER, "1.2.3.4", "5", "1"],
        ["SENTINEL", "MONITOR", "a", "1.2.3.4", "70000", "1"],
        ["PUBLISH", "foo", "bar"],
        ["PUBLISH", "__sentinel__:hello", "not,a,hello"],
        ["GET", "x"],
        ["SET", "a", "b"],
        ["QUIT"],
        ["RESET"],
        ["CLIENT"],
        ["CLIENT", "foo"],
        ["CLIENT", "ID", "x"],
        ["CLIENT", "KILL", "1.2.3.4:5"],
        ["CLIENT", "KILL", "ID", "0"],
        ["CLIENT", "KILL", "ID", "x"],
        ["CLIENT", "KILL", "TYPE", "master"],
        ["CLIENT", "KILL", "TYPE", "foo"],
        ["CLIENT", "KILL", "foo", "bar"],
        ["CLIENT", "KILL", "USER", "nobody"],
        ["CLIENT", "LIST", "TYPE", "foo"],
        ["CLIENT", "LIST", "foo"],
        ["CLIENT", "LIST", "ID", "x"],
        ["CLIENT", "SETNAME", "a b"],
        ["CLIENT", "REPLY", "foo"],
        ["CLIENT", "GETNAME"],
        ["AUTH", "x"],
        ["AUTH", "a", "b"],
        ["AUTH", "a", "b", "c"],
        ["HELLO", "4"],
        ["HELLO", "x"],
        ["HELLO", "2", "foo"],
        ["SHUTDOWN", "foo"],
        ["SHUTDOWN", "ABORT"],
        ["SHUTDOWN", "SAVE", "NOSAVE"],
        ["SHUTDOWN", "ABORT", "NOW"],
        ["INFO", "foo"],
        ["INFO", "sentinel"],
        ["COMMAND", "GETKEYS", "ping", "x"],
        ["COMMAND", "GETKEYS", "foo", "x"],
        ["COMMAND", "GETKEYS", "sentinel", "x"],
        ["COMMAND", "GETKEYSANDFLAGS", "ping", "x"],
        ["COMMAND", "COUNT", "x"],
        ["COMMAND", "LIST", "x"],
        ["COMMAND", "LIST", "FILTERBY", "foo", "x"],
        ["COMMAND", "LIST", "FILTERBY", "MODULE", "x"],
        ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nothing"],
        [
            "COMMAND",
            "INFO",
            "ping",
            "info",
            "role",
            "auth",
            "hello",
            "publish",
            "subscribe",
            "psubscribe",
            "unsubscribe",
            "punsubscribe",
            "shutdown",
            "nope",
            "client|id",
            "client|kill",
            "client|list",
            "client|info",
            "client|setname",
            "client|getname",
            "client|reply",
            "client|help",
            "command|info",
            "command|count",
            "command|list",
            "command|getkeys",
            "command|help",
        ],
    ],
    ids=lambda c: " ".join(c)[:60],
)
def test_same_reply(world, cmd):
    pair, _ = world
    pair.same(*cmd)


def test_sentinel_subcommands_command_info(world):
    pair, _ = world
    p, r = pair.both("COMMAND", "INFO", "sentinel")
    # Same entries, in any order (Redis lists subcommands in hash order).
    ep, er = parse(p)[0], parse(r)[0]
    assert ep[:9] == er[:9]
    assert sorted(ep[9], key=repr) == sorted(er[9], key=repr)


def test_info_default_sections(world):
    pair, _ = world
    p, r = pair.both("INFO")
    heads = [re.findall(rb"# (\w+)", x) for x in (p, r)]
    assert heads[0] == heads[1] == [b"Server", b"Clients", b"Stats", b"CPU", b"Sentinel"]
    p, r = pair.both("INFO", "server")
    assert b"redis_mode:sentinel\r\n" in p and b"redis_mode:sentinel\r\n" in r


def test_resp3_shapes(world):
    pair, _ = world
    p, r = pair.both("HELLO", "3")
    keys_p, keys_r = parse(p).keys(), parse(r).keys()
    assert [k for k in keys_p if k != b"server"] == [k for k in keys_r if k != b"server"]
    for cmd in (
        ["SENTINEL", "MASTER", MASTER],
        ["SENTINEL", "DEBUG"],
        ["SENTINEL", "CONFIG", "GET", "*"],
    ):
        p, r = pair.both(*cmd)
        assert p[:1] == r[:1] == b"%"
        assert list(parse(p).keys()) == list(parse(r).keys())
    for cmd in (
        ["SENTINEL", "get-master-addr-by-name", "nope"],
        ["COMMAND", "INFO", "ping", "nope"],
        ["SENTINEL", "PENDING-SCRIPTS"],
        ["PING"],
    ):
        pair.same(*cmd)
    p, r = pair.both("HELLO", "2")
    assert p.startswith(b"*12\r\n") and r.startswith(b"*12\r\n")


def test_subscribed_context(world):
    pair, _ = world
    for cmd in (
        ["SUBSCRIBE", "a", "b"],
        ["PSUBSCRIBE", "x*"],
    ):
        pair.rp.send(cmd)
        pair.rr.send(cmd)
        n = len(cmd) - 1
        assert pair.rp.read_replies(n) == pair.rr.read_replies(n)
    for cmd in (["PING"], ["PING", "x"], ["SENTINEL", "MASTERS"], ["CLIENT", "LIST"], ["ROLE"]):
        pair.same(*cmd)
    # (UNSUBSCRIBE without arguments goes in Redis's hash-table order: name them instead.)
    for cmd, n in ((["UNSUBSCRIBE", "a", "b"], 2), (["PUNSUBSCRIBE"], 1), (["UNSUBSCRIBE"], 1)):
        pair.rp.send(cmd)
        pair.rr.send(cmd)
        assert pair.rp.read_replies(n) == pair.rr.read_replies(n)
    pair.same("PING")


def test_set_events_and_changes(world):
    pair, servers = world
    master = servers[0]
    subs = []
    for s in (pair.pika, pair.real):
        c = RawConnection(s.port)
        c.send(["SUBSCRIBE", "+set"])
        c.read_reply()
        subs.append(c)
    try:
        pair.same("SENTINEL", "SET", MASTER, "parallel-syncs", "2", "quorum", "2")
        pair.same("SENTINEL", "SET", MASTER, "auth-pass", "")
        pair.same("SENTINEL", "SET", MASTER, "rename-command", "CONFIG", "CONFIG")
        pair.same("SENTINEL", "SET", MASTER, "parallel-syncs", "1")
        got = [c.read_replies(5) for c in subs]
        assert got[0] == got[1]
        assert parse(got[0][0])[2] == (
            f"master {MASTER} 127.0.0.1 {master.port} parallel-syncs 2".encode()
        )
        assert parse(got[0][2])[2].endswith(b" auth-pass ******")
    finally:
        for c in subs:
            c.close()
    pair.same("SENTINEL", "SET", MASTER, "failover-timeout", "x")


def test_monitor_remove_and_role(world):
    pair, servers = world
    replica = servers[1]
    pair.same("SENTINEL", "MONITOR", "other", "127.0.0.1", str(replica.port), "1")
    # Redis lists masters in its hash table's order: compare as sets.
    p, r = pair.both("ROLE")
    assert parse(p)[0] == parse(r)[0] and sorted(parse(p)[1]) == sorted(parse(r)[1])
    p, r = pair.both("SENTINEL", "MASTER", "other")
    assert fields(p) == fields(r)
    pair.same("SENTINEL", "REMOVE", "other")
    pair.same("ROLE")
    pair.same("SENTINEL", "MASTER", "other")


def test_rewritten_config_has_the_same_state_lines(world):
    pair, _ = world
    pair.same("SENTINEL", "FLUSHCONFIG")

    def state(text: str) -> list[str]:
        out = []
        for line in text.splitlines():
            if not line.startswith("sentinel "):
                continue
            line = re.sub(r"\b[0-9a-f]{40}\b", "<id>", line)
            # Each knows the other sentinel, at the other's port.
            line = re.sub(r"^(sentinel known-sentinel \S+ \S+) \d+", r"\1 <port>", line)
            out.append(line)
        return sorted(out)

    assert state(pair.pika.conf_text()) == state(pair.real.conf_text())


def test_votes_match(world):
    pair, servers = world
    master = servers[0]
    ask = ["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", str(master.port)]
    # A vote request for an epoch well ahead of both: same vote, same epoch.
    pair.same(*ask, "100", "a" * 40)
    # Asked again in the same epoch for someone else: the vote stands.
    pair.same(*ask, "100", "b" * 40)
    # An older epoch does not change it either.
    pair.same(*ask, "99", "c" * 40)
    time.sleep(0.1)
    p, r = pair.both("SENTINEL", "MASTER", MASTER)
    assert as_dict(p)["config-epoch"] == as_dict(r)["config-epoch"]
