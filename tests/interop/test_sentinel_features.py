"""pika-sentinel features beyond the basic failover: scripts, TILT, a hung (SIGSTOPped)
master, and the event stream seen by a subscriber."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from helpers.servers import replication_info, sigcont, sigstop, wait_until
from interop.support import MASTER, events_of, master_addr, wait_all_agree, wait_discovered

pytestmark = pytest.mark.slow


def addr_of(server) -> tuple[str, int]:
    return (server.host, server.port)


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_notification_and_client_reconfig_scripts(group, sentinels, tmp_path):
    master, _, _ = group
    out = tmp_path / "calls.log"
    notify = script(tmp_path / "notify.sh", f'echo "notify|$1|$2" >> {out}\n')
    reconf = script(tmp_path / "reconf.sh", f'echo "reconf|$*" >> {out}\n')
    lines = [
        f"sentinel notification-script {MASTER} {notify}",
        f"sentinel client-reconfig-script {MASTER} {reconf}",
    ]
    procs = sentinels(master, 3, lines=lines)
    clients = [sentinels.client(s) for s in procs]
    wait_discovered(clients, 3)
    assert clients[0].sentinel_failover(MASTER) is True
    wait_until(lambda: master_addr(clients[0]) != addr_of(master), 20, what="failover")
    new = master_addr(clients[0])
    wait_all_agree(clients, new)
    start = f"start {master.host} {master.port} {new[0]} {new[1]}"
    wait_until(
        lambda: out.exists() and out.read_text().count(f"{MASTER} observer {start}") == 2,
        15,
        what="reconfig scripts of the leader and both observers",
    )
    calls = out.read_text().splitlines()
    assert f"reconf|{MASTER} leader {start}" in calls
    switch = f"notify|+switch-master|{MASTER} {master.host} {master.port} {new[0]} {new[1]}"
    wait_until(lambda: out.read_text().splitlines().count(switch) == 3, 10, what="3 switches")
    calls = out.read_text().splitlines()
    assert f"notify|+try-failover|master {MASTER} {master.host} {master.port}" in calls
    for c in clients:
        assert c.execute_command("SENTINEL", "PENDING-SCRIPTS") == []


def test_failing_script_is_retried(group, sentinels, tmp_path):
    master, _, _ = group
    marker = tmp_path / "failed-once"
    out = tmp_path / "calls.log"
    # For +set: fails (exit 1: "retry") the first time, succeeds afterwards.
    notify = script(
        tmp_path / "notify.sh",
        f'if [ "$1" = "+set" ] && [ ! -e {marker} ]; then touch {marker}; exit 1; fi\n'
        f'echo "$1" >> {out}\n',
    )
    (s,) = sentinels(master, 1, quorum=1, lines=[f"sentinel notification-script {MASTER} {notify}"])
    c = sentinels.client(s)
    c.execute_command("SENTINEL", "DEBUG", "script-retry-delay", "300")
    c.execute_command("SENTINEL", "SET", MASTER, "quorum", "1")  # a warning event: +set
    wait_until(marker.exists, 10, what="the first, failing run")
    pending = c.execute_command("SENTINEL", "PENDING-SCRIPTS")
    if pending:  # the retry may already be done
        assert pending[0]["argv"] == [
            str(notify),
            "+set",
            f"master {MASTER} {master.host} {master.port} quorum 1",
        ]
        assert pending[0]["retry-num"] == "1"
    wait_until(lambda: out.exists() and "+set" in out.read_text(), 10, what="the retry")
    assert out.read_text().splitlines() == ["+monitor", "+set"]
    wait_until(
        lambda: c.execute_command("SENTINEL", "PENDING-SCRIPTS") == [], 5, what="empty queue"
    )


def test_tilt_after_the_process_was_stopped(group, sentinels):
    master, _, _ = group
    (s,) = sentinels(master, 1, quorum=1)
    c = sentinels.client(s)
    c.execute_command("SENTINEL", "DEBUG", "tilt-period", "1500")
    events = events_of(c, "*tilt")
    sigstop(s)
    time.sleep(2.5)  # longer than tilt-trigger (2 s) between two ticks
    sigcont(s)
    wait_until(lambda: c.info("sentinel")["sentinel_tilt"] == 1, 5, what="+tilt")
    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and len(seen) < 2:
        msg = events.get_message(timeout=0.2)
        if msg and msg["type"] == "pmessage":
            seen.append((msg["channel"], msg["data"]))
    assert seen == [("+tilt", "#tilt mode entered"), ("-tilt", "#tilt mode exited")]
    assert c.info("sentinel")["sentinel_tilt"] == 0
    events.close()


def test_hung_master_is_failed_over_and_fenced_when_it_wakes_up(group, sentinels):
    master, r1, r2 = group
    procs = sentinels(master, 3)
    clients = [sentinels.client(s) for s in procs]
    wait_discovered(clients, 3)
    sigstop(master)
    try:
        wait_until(
            lambda: master_addr(clients[0]) in (addr_of(r1), addr_of(r2)), 20, what="failover"
        )
        new = master_addr(clients[0])
        wait_all_agree(clients, new)
    finally:
        sigcont(master)
    # The leader queued a write pause and then the demotion on its link to the hung master:
    # it is a replica of the new master as soon as it runs again, without the wait Redis
    # Sentinel has before +convert-to-slave.
    wait_until(
        lambda: (
            replication_info(master).get("role") == "slave"
            and replication_info(master).get("master_port") == str(new[1])
        ),
        3,
        what="the woken master to be a replica already",
    )
    with pytest.raises(redis.ReadOnlyError):
        redis.Redis(port=master.port, socket_timeout=5).set("late", "write")


def test_fence_times_out_when_the_replica_cannot_catch_up(group, sentinels):
    master, r1, _ = group
    redis.Redis(port=r1.port).config_set("replica-priority", 1)  # r1 will be chosen
    procs = sentinels(master, 3)
    clients = [sentinels.client(s) for s in procs]
    wait_discovered(clients, 3)
    wait_until(
        lambda: any(s["slave-priority"] == 1 for s in clients[0].sentinel_slaves(MASTER)),
        15,
        what="r1's priority seen",
    )
    events = events_of(clients[0])
    sigstop(r1)  # chosen (it answered a moment ago), but it will not answer INFO now
    try:
        assert clients[0].sentinel_failover(MASTER) is True
        seen: list[str] = []
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and "-failover-abort-fence-timeout" not in seen:
            msg = events.get_message(timeout=0.2)
            if msg and msg["type"] == "pmessage":
                seen.append(msg["channel"])
    finally:
        sigcont(r1)
        events.close()
    assert "+fence-master" in seen and "-failover-abort-fence-timeout" in seen
    assert "+promoted-slave" not in seen
    # The pause was lifted: the old master takes writes at once, and stays the master.
    started = time.monotonic()
    redis.Redis(port=master.port, socket_timeout=5).set("after-abort", "1")
    assert time.monotonic() - started < 1
    assert all(master_addr(c) == addr_of(master) for c in clients)


def test_requirepass_protects_and_authenticates_between_sentinels(group, sentinels):
    master, _, _ = group
    lines = ["requirepass s3cret"]
    procs = sentinels(master, 1, lines=lines) + sentinels(master, 1, kind="redis", lines=lines)
    for s in procs:
        anon = redis.Redis(port=s.port, decode_responses=True)
        with pytest.raises(redis.AuthenticationError):
            anon.execute_command("SENTINEL", "MYID")
        anon.close()
    clients = [redis.Redis(port=s.port, password="s3cret", decode_responses=True) for s in procs]
    try:
        # Each reaches the other with requirepass as its password (Redis's old-config rule).
        wait_discovered(clients, 2)
        for c in clients:
            reply = c.execute_command("SENTINEL", "CKQUORUM", MASTER)
            assert str(reply).startswith("OK 2 usable Sentinels")
    finally:
        for c in clients:
            c.close()
