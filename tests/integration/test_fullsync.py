"""Full sync between real pikad processes: checkpoint transfer when a replica's position was
purged or its history diverged, the atomic swap (old data readable until then, kept when the
transfer fails), the throttled transfer's INFO fields, and the master's cleanup.

Every server is a child process on 127.0.0.1 with its own directory, stopped by PID by the
factories; every wait is bounded (wait_until).
"""

from __future__ import annotations

import os

from tests.helpers.servers import replication_info, start_replicated_group, wait_until
from tests.integration.test_replication import (
    assert_same_data,
    wait_caught_up,
    write_load,
)

from helpers import servers

# Small segments and one kept: a few thousand writes purge what an absent replica needs.
RETENTION = {"binlog_segment_size": 4096, "binlog_keep_segments": 1}


def first_id(server) -> int:
    return int(server.client().info("persistence")["binlog_shard0"]["first_id"])


def checkpoint_dirs(server) -> list[str]:
    return [
        os.path.join(root, d)
        for root, dirs, _files in os.walk(server.base)
        for d in dirs
        if d.startswith("fullsync-")
    ]


def test_replica_away_longer_than_retention(pikad_factory):
    master, replica = start_replicated_group(pikad_factory, replicas=1, **RETENTION)
    write_load(master, 3000, seed=11)
    wait_caught_up(master, replica)
    replica.kill()
    write_load(master, 6000, seed=12)
    wait_until(lambda: first_id(master) > 1000, 10, what="the cron to purge old segments")
    replica.start()
    wait_caught_up(master, replica)
    log = replica.log_text()
    assert "full sync from" in log and "full sync done" in log
    assert "Full sync to replica" in master.log_text()
    assert assert_same_data(master, replica) > 100
    # After the full sync the stream continues incrementally.
    write_load(master, 2000, seed=13)
    wait_caught_up(master, replica)
    assert_same_data(master, replica)
    wait_until(lambda: not checkpoint_dirs(master), 10, what="the checkpoint to be deleted")
    assert not checkpoint_dirs(replica)
    # A restart of the replica now resumes incrementally from the checkpoint's position
    # (retention raised so the cron does not purge what the absent replica needs).
    master.client().config_set("binlog-keep-segments", 1000)
    replica.kill()
    write_load(master, 200, seed=14)
    replica.start()
    wait_caught_up(master, replica)
    restarted = replica.log_text().rsplit("---- start #", 1)[1]
    assert "incremental sync from" in restarted and "full sync from" not in restarted
    assert_same_data(master, replica)


def test_new_empty_replica_of_purged_master(pikad_factory):
    master = pikad_factory(**RETENTION)
    write_load(master, 5000, seed=21)
    wait_until(lambda: first_id(master) > 1000, 10, what="the cron to purge old segments")
    replica = pikad_factory(replicaof=f"{master.host} {master.port}", **RETENTION)
    wait_caught_up(master, replica)
    assert "full sync done" in replica.log_text()
    assert assert_same_data(master, replica) > 100


def test_master_killed_mid_transfer_and_info_fields(pikad_factory):
    """A throttled transfer: INFO shows its progress with Redis's field names and the link
    down; the master dies mid-transfer: the replica keeps its old data readable, and once the
    master is back the full sync is retried and converges."""
    master, replica = start_replicated_group(pikad_factory, replicas=1, **RETENTION)
    m = master.client()
    m.set("old", "value")
    wait_caught_up(master, replica)
    replica.kill()
    for i in range(200):  # incompressible: the checkpoint is about 2 MB
        m.set(f"big:{i}", os.urandom(10_000))
    wait_until(lambda: first_id(master) > 10, 10, what="the cron to purge old segments")
    m.config_set("full-sync-max-bytes-per-sec", 200_000)
    replica.start()

    def transferring() -> dict[str, str] | None:
        info = replication_info(replica)
        if info.get("master_sync_in_progress") == "1" and int(info["master_sync_read_bytes"]):
            return info
        return None

    info = wait_until(transferring, 15, interval=0.05, what="the transfer to start")
    assert info["master_link_status"] == "down"
    total = int(info["master_sync_total_bytes"])
    read = int(info["master_sync_read_bytes"])
    assert total > 1_000_000 and 0 < read < total
    assert int(info["master_sync_left_bytes"]) == total - read
    assert 0 < float(info["master_sync_perc"]) < 100
    assert int(info["master_sync_last_io_seconds_ago"]) <= 1
    keys = list(info)
    i = keys.index("slave_repl_offset")
    assert keys[i + 1 : i + 6] == [
        "master_sync_total_bytes",
        "master_sync_read_bytes",
        "master_sync_left_bytes",
        "master_sync_perc",
        "master_sync_last_io_seconds_ago",
    ]
    assert checkpoint_dirs(master)
    wait_until(lambda: "full sync received" in replica.log_text(), 10, what="a progress line")

    master.kill()
    wait_until(
        lambda: replication_info(replica)["master_sync_in_progress"] == "0",
        10,
        what="the replica to notice",
    )
    r = replica.client()
    assert r.get("old") == b"value"
    assert r.get("big:0") is None
    assert "full sync interrupted" in replica.log_text()
    assert not checkpoint_dirs(replica)

    master.start()
    master.client().config_set("full-sync-max-bytes-per-sec", 0)
    wait_caught_up(master, replica)
    # One full sync per worker: each receives the shards it owns.
    assert replica.log_text().count("full sync done") == (servers.SETTINGS.workers or 1)
    assert r.get("big:199") == master.client().get("big:199")
    assert assert_same_data(master, replica) == 201
    wait_until(lambda: not checkpoint_dirs(master), 10, what="the checkpoint to be deleted")


def test_old_master_with_unreplicated_writes_gets_full_sync(pikad_factory):
    old, new = start_replicated_group(pikad_factory, replicas=1)
    write_load(old, 2000, seed=31, swap_and_flush=False)
    wait_caught_up(old, new)
    # Promotion while the old master still takes writes that never reach the new one.
    assert new.client().execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    o = old.client()
    for i in range(50):
        o.set(f"lost:{i}", i)
    n = new.client()
    for i in range(80):  # the same ids on the new master carry the new term
        n.set(f"new:{i}", i)
    before = new.log_text()
    assert o.execute_command("REPLICAOF", new.host, new.port) == b"OK"
    wait_caught_up(new, old)
    assert "history diverged" in new.log_text()[len(before) :]
    assert "full sync done" in old.log_text()
    info = replication_info(old)
    assert info["master_link_status"] == "up" and info["master_sync_in_progress"] == "0"
    assert o.get("lost:0") is None
    assert o.get("new:79") == b"79"
    assert_same_data(new, old)


def test_old_master_ahead_without_new_writes_gets_full_sync(pikad_factory):
    """The promoted replica wrote nothing: the old master's position is beyond its binlog."""
    old, new = start_replicated_group(pikad_factory, replicas=1)
    write_load(old, 1000, seed=41, swap_and_flush=False)
    wait_caught_up(old, new)
    assert new.client().execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    o = old.client()
    o.set("lost", "x")
    assert o.execute_command("REPLICAOF", new.host, new.port) == b"OK"
    wait_caught_up(new, old)
    assert "full sync done" in old.log_text()
    assert o.get("lost") is None
    assert_same_data(new, old)
