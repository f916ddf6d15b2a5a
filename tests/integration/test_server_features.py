"""Server behaviour that a single request/reply diff does not cover: MONITOR's stream, the
background expire cycle, CONFIG REWRITE through the command, idle-client timeout, maxclients
and requirepass gating. MONITOR is compared with redis-server line for line."""

from __future__ import annotations

import re
import socket
import time

import pytest

from helpers.ports import free_port
from helpers.raw import Error
from helpers.servers import SETTINGS, ArgvServer, pikad_command

pytestmark = pytest.mark.pikad_only

MONITOR_LINE = re.compile(rb"^\+(\d+\.\d{6}) \[(\d+) ([^\]]+)\] (.*)$")


def _monitor_lines(server, commands: list[list[bytes]], expect: int) -> list[bytes]:
    """Run `commands` on one connection while a MONITOR connection watches; return the
    monitor's lines with timestamp and client address removed."""
    with server.raw() as mon, server.raw() as cl:
        assert mon.call("MONITOR") == b"OK"
        for cmd in commands:
            cl.call(*cmd)
        lines = []
        for _ in range(expect):
            raw = mon.read_reply()
            m = MONITOR_LINE.match(raw.rstrip(b"\r\n"))
            assert m, raw
            lines.append(b"[" + m.group(2) + b"] " + m.group(4))
        return lines


def test_monitor_stream_matches_redis(pikad, redis_oracle):
    commands = [
        [b"SET", b"plain", b"value with spaces"],
        [b"SELECT", b"2"],
        [b"GET", b'quote"and\\slash'],
        [b"SET", b"bin", b"\x00\x01\xff\n\r\t"],
        [b"SELECT", b"0"],
    ]
    ours = _monitor_lines(pikad, commands, len(commands))
    theirs = _monitor_lines(redis_oracle, commands, len(commands))
    if (SETTINGS.workers or 1) > 1:
        # Each worker feeds MONITOR the commands it runs: a line from the worker owning a
        # key can reach the monitor after the next command's line from another worker.
        ours, theirs = sorted(ours), sorted(theirs)
    assert ours == theirs


def test_active_expiry_deletes_without_access(pikad_factory):
    server = pikad_factory(hz=50)
    c = server.client()
    pipe = c.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"short:{i}", "v", px=50)
    pipe.set("long", "v")
    pipe.execute()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        keyspace = c.info("keyspace").get("db0", {})
        if keyspace.get("keys") == 1:
            break
        time.sleep(0.05)
    assert c.info("keyspace")["db0"]["keys"] == 1, c.info("keyspace")
    assert c.info("keyspace")["db0"]["expires"] == 0
    assert c.info("stats")["expired_keys"] >= 300
    assert c.get("long") == b"v"


def test_config_rewrite_persists_across_restart(tmp_path):
    port = free_port()
    conf = tmp_path / "pikad.conf"
    conf.write_text(f"# kept comment\nport {port}\nbind 127.0.0.1\ndir {tmp_path}\n")
    server = ArgvServer(tmp_path / "run", [*pikad_command(), str(conf)], port=port)
    try:
        server.start()
        with server.raw() as r:
            assert r.call("CONFIG", "SET", "maxmemory", "3mb", "slowlog-max-len", "7") == b"OK"
            assert r.call("CONFIG", "REWRITE") == b"OK"
        text = conf.read_text()
        assert "# kept comment" in text
        assert "maxmemory 3145728" in text
        server.restart()
        with server.raw() as r:
            assert r.call("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"3145728"]
            assert r.call("CONFIG", "GET", "slowlog-max-len") == [b"slowlog-max-len", b"7"]
    finally:
        server.stop()


def test_idle_clients_are_closed_after_timeout(pikad_factory):
    server = pikad_factory(timeout=1)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"PING\r\n")
        assert s.recv(64) == b"+PONG\r\n"
        start = time.monotonic()
        assert s.recv(64) == b""  # closed by the server
        assert 0.5 < time.monotonic() - start < 8


def test_maxclients_refuses_extra_connections(pikad_factory):
    server = pikad_factory(maxclients=2)
    a = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    b = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        for s in (a, b):
            s.sendall(b"PING\r\n")
            assert s.recv(64) == b"+PONG\r\n"
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as extra:
            assert extra.recv(128) == b"-ERR max number of clients reached\r\n"
    finally:
        a.close()
        b.close()


def test_requirepass_gates_commands(pikad_factory):
    server = pikad_factory(requirepass="pw")
    with server.raw() as r:
        assert isinstance(r.call("GET", "a"), Error)
        assert r.call("GET", "a") == b"NOAUTH Authentication required."
        assert r.call("PING") == b"NOAUTH Authentication required."
        assert r.call("AUTH", "wrong").startswith(b"WRONGPASS")
        assert r.call("AUTH", "pw") == b"OK"
        assert r.call("SET", "a", "1") == b"OK"
    with server.raw() as r:
        assert r.call("AUTH", "default", "pw") == b"OK"
        assert r.call("GET", "a") == b"1"


def test_info_memory_reports_rocksdb_cache_and_memtables(pikad_factory):
    server = pikad_factory(rocksdb_block_cache_size="8mb", rocksdb_write_buffer_size="1mb")
    c = server.client()
    mem = c.info("memory")
    assert mem["rocksdb_block_cache_size"] == 8 << 20
    assert mem["rocksdb_write_buffer_size"] == 1 << 20
    # 5 MB of values: memtables of 1 MB fill and flush to SST files, whose blocks the GETs
    # below then bring into the block cache.
    pipe = c.pipeline(transaction=False)
    for i in range(5000):
        pipe.set(f"mem:{i}", b"%04d" % i * 250)
    pipe.execute()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pipe = c.pipeline(transaction=False)
        for i in range(0, 5000, 7):
            pipe.get(f"mem:{i}")
        assert pipe.execute()[:2] == [b"0000" * 250, b"0007" * 250]
        mem = c.info("memory")
        if mem["rocksdb_block_cache_usage"] > 0:
            break
        time.sleep(0.1)
    assert 0 < mem["rocksdb_block_cache_usage"] <= 8 << 20, mem
    assert mem["rocksdb_memtables_bytes"] > 0, mem
