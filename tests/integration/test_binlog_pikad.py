"""The binlog of a real pikad: every acknowledged write is in the data AND in the binlog after
kill -9, ids continue across restarts, INFO shows the binlog and master_repl_offset."""

from __future__ import annotations

import itertools
import os
import threading
import time

import pytest

from helpers.raw import ConnectionClosed, RawConnection, ReplyTimeout
from pikadb.server.dispatch import shorten_args
from pikadb.storage.binlog import ShardBinlog

pytestmark = pytest.mark.pikad_only


def _info(server, section: str) -> dict[str, str]:
    raw = server.raw().execute(b"INFO", section.encode())
    text = raw.split(b"\r\n", 1)[1].decode()  # after the bulk length line
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _binlog_records(server, shards: int) -> list[list]:
    """Every shard's records, read from the files of a stopped server."""
    out = []
    for i in range(shards):
        b = ShardBinlog(os.path.join(server.dir, "binlog", str(i)))
        try:
            out.append([rec for rec, _ in b.records_after(b.first_id - 1)])
        finally:
            b.close()
    return out


@pytest.mark.parametrize("group_commit", ["yes", "no"])
def test_kill9_every_acknowledged_write_is_in_data_and_binlog(pikad_factory, group_commit):
    server = pikad_factory(shards=2, group_commit=group_commit)
    acked: dict[bytes, bytes] = {}
    in_flight: dict[int, tuple[bytes, bytes]] = {}
    stop = threading.Event()

    def writer(w: int) -> None:
        r = RawConnection(server.port, timeout=10)
        try:
            for i in range(20_000):
                if stop.is_set():
                    return
                key, value = b"w%d-%d" % (w, i % 300), b"value-%d" % i
                in_flight[w] = (key, value)
                try:
                    reply = r.execute(b"SET", key, value)
                except (ConnectionClosed, ReplyTimeout, OSError):
                    return
                assert reply == b"+OK\r\n"
                acked[key] = value
                in_flight.pop(w, None)
        finally:
            r.close()

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    server.kill()
    stop.set()
    for t in threads:
        t.join(15)
        assert not t.is_alive()
    assert acked
    server.start()
    c = server.client()
    keys = sorted(acked)
    got = dict(zip(keys, c.mget(keys), strict=True))
    for key in keys:
        ok = [acked[key]] + [v for k, v in in_flight.values() if k == key]
        assert got[key] in ok, f"{key!r}: {got[key]!r}, acknowledged {acked[key]!r}"
    before = _info(server, "persistence")
    c.set(b"after-restart", b"1")
    server.stop()
    per_shard = _binlog_records(server, 2)
    last_set: dict[bytes, bytes] = {}
    for recs in per_shard:
        # Contiguous ids from 1 across the kill and the restart (the reader checks it too).
        assert [r.id for r in recs] == list(range(1, len(recs) + 1))
        for a, b in itertools.pairwise(recs):
            assert b.offset == a.offset + a.size
        for r in recs:
            if r.argv[:1] == [b"SET"]:
                last_set[r.argv[1]] = r.argv[2]
    for key in keys:
        # The binlog's last SET of the key is what the data holds.
        assert last_set[key] == got[key], key
    assert last_set[b"after-restart"] == b"1"
    assert sum(len(r) for r in per_shard) == int(before["binlog_records"]) + 1


def test_info_fields_and_ids_continue_after_restart(pikad_factory):
    server = pikad_factory(shards=3)
    c = server.client()
    repl0 = int(_info(server, "replication")["master_repl_offset"])
    for i in range(50):
        c.set(b"k%d" % i, b"v")
    c.lpush(b"list", b"a", b"b")
    c.flushall()
    repl = _info(server, "replication")
    assert repl["role"] == "master"
    assert int(repl["master_repl_offset"]) > repl0
    pers = _info(server, "persistence")
    shards = [dict(kv.split("=") for kv in pers[f"binlog_shard{i}"].split(",")) for i in range(3)]
    assert sum(int(s["offset"]) for s in shards) == int(repl["master_repl_offset"])
    assert int(pers["binlog_segments"]) == 3
    assert int(pers["binlog_bytes"]) == sum(int(s["bytes"]) for s in shards)
    # 50 SETs + LPUSH + FLUSHALL (one record per shard) + the dbmap record per shard.
    assert int(pers["binlog_records"]) == 50 + 1 + 3 + 3
    last_ids = [int(s["last_id"]) for s in shards]
    server.restart(kill=True)
    c = server.client()
    c.set(b"again", b"1")
    pers = _info(server, "persistence")
    after = [int(pers[f"binlog_shard{i}"].split("last_id=")[1].split(",")[0]) for i in range(3)]
    assert sum(after) == sum(last_ids) + 1
    assert all(a >= b for a, b in zip(after, last_ids, strict=True))
    assert c.config_get("binlog-*") == {
        "binlog-segment-size": "67108864",
        "binlog-keep-segments": "10",
        "binlog-max-size": "1073741824",
    }


def test_records_carry_the_commands_with_long_arguments_shortened(pikad_factory):
    """A record's argv is the command as sent, arguments past 128 bytes cut as SLOWLOG
    cuts them, whichever path ran it (the command core encodes from its parse)."""
    server = pikad_factory()
    c = server.client()
    long_value = b"v" * 300
    sent = [
        [b"SET", b"k", b"short"],
        [b"SET", b"k" * 200, long_value],
        [b"INCRBY", b"n", b"5"],
        [b"RPUSH", b"list", b"a", long_value],
        [b"HSET", b"h", b"f", b"x" * 129],
        [b"ZADD", b"z", b"1.5", b"m"],
    ]
    for argv in sent:
        c.execute_command(*argv)
    server.stop()
    shards = len(os.listdir(os.path.join(server.dir, "binlog")))  # (several with workers)
    records = [
        r.argv
        for shard in _binlog_records(server, shards)
        for r in shard
        if not r.argv[0].startswith(b"DBMAP")
    ]
    assert sorted(records) == sorted(shorten_args(argv) for argv in sent)


def test_segments_rotate_and_the_cron_purges(pikad_factory):
    server = pikad_factory(binlog_segment_size=4096, binlog_keep_segments=3, hz=50)
    c = server.client()
    # Many round trips: with group commit a segment takes a whole turn's records, so one big
    # pipeline could fill only a segment or two.
    for batch in range(40):
        p = c.pipeline(transaction=False)
        for i in range(batch * 25, batch * 25 + 25):
            p.set(b"key:%d" % i, b"x" * 40)
        p.execute()
    binlog_dir = os.path.join(server.dir, "binlog")

    def segments_per_shard() -> list[int]:
        return [
            len([f for f in os.listdir(os.path.join(binlog_dir, d)) if f.startswith("write2file")])
            for d in sorted(os.listdir(binlog_dir))
        ]

    deadline = time.monotonic() + 10
    while max(segments_per_shard()) > 3:  # every shard keeps its own 3 (also with --shards N)
        assert time.monotonic() < deadline, f"retention did not run: {segments_per_shard()}"
        time.sleep(0.1)
    assert set(segments_per_shard()) == {3}
    assert int(_info(server, "persistence")["binlog_segments"]) == 3 * len(segments_per_shard())
    assert c.get(b"key:0") == b"x" * 40
