"""Many and misbehaving clients: 10,000 idle connections held without harm, and a client
that pipelines a gigabyte of replies without reading them does not make pikad buffer them
(it stops reading that client above 4 MB of unsent output; memory stays flat) while
other clients are served; once it reads, every reply arrives intact.
"""

from __future__ import annotations

import resource
import socket
import time

import pytest

from chaos.conftest import chaos_scale, rss_mb
from helpers.raw import encode_command
from helpers.servers import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.pikad_only]


def _ping_all(socks: list[socket.socket]) -> int:
    """PING on every connection (all sent first, then every reply read). -> PONGs."""
    for s in socks:
        s.sendall(b"PING\r\n")
    ok = 0
    for s in socks:
        if s.recv(64) == b"+PONG\r\n":
            ok += 1
    return ok


def test_ten_thousand_idle_connections(pikad_factory, figures):
    n = max(1000, int(10_000 * min(1.0, chaos_scale())))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n + 200:
        pytest.skip(f"the file limit ({hard}) is below {n + 200}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 1000)), hard))
    server = pikad_factory(maxclients=n + 100)
    rss_before = rss_mb(server)
    socks: list[socket.socket] = []
    start = time.monotonic()
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            socks.append(s)
        opened = time.monotonic() - start
        c = server.client()
        assert c.info("clients")["connected_clients"] >= n
        t = time.monotonic()
        assert c.set("k", "v") and c.get("k") == b"v"  # a busy server still answers at once
        answer_ms = (time.monotonic() - t) * 1000
        assert _ping_all(socks) == n
        rss_held = rss_mb(server)
    finally:
        for s in socks:
            s.close()
    assert server.alive
    figures.append(
        f"{n} connections opened in {opened:.1f} s; a command meanwhile {answer_ms:.1f} ms; "
        f"RSS {rss_before:.0f} -> {rss_held:.0f} MB "
        f"({(rss_held - rss_before) * 1024 / n:.1f} KB per connection)"
    )
    assert (rss_held - rss_before) * 1024 / n < 64  # KB per idle connection


def test_slow_reader_does_not_make_the_server_buffer(pikad_factory, figures):
    server: ServerProcess = pikad_factory()
    value = b"x" * 100_000
    server.client().set("big", value)
    count = int(10_000 * min(1.0, chaos_scale()))  # 1 GB of replies when all are read
    reply = b"$%d\r\n%s\r\n" % (len(value), value)
    rss_before = rss_mb(server)
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        request = encode_command(["GET", "big"]) * count
        slow.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 10
        while sent < len(request) and time.monotonic() < deadline:
            try:
                sent += slow.send(request[sent : sent + 65536])
            except BlockingIOError:
                time.sleep(0.01)  # the server stopped reading us: as intended
        time.sleep(1.0)
        rss_stuck = rss_mb(server)
        c = server.client()
        t = time.monotonic()
        assert c.get("big") == value  # others are served meanwhile
        other_ms = (time.monotonic() - t) * 1000
        # Now read everything: every reply arrives, whole.
        slow.setblocking(True)
        want = len(reply) * count
        got = 0
        buf = b""
        while got < want:
            if sent < len(request):
                slow.setblocking(False)
                try:
                    sent += slow.send(request[sent : sent + 65536])
                except BlockingIOError:
                    pass
                slow.setblocking(True)
            data = slow.recv(1 << 20)
            assert data, "the server closed the slow reader"
            buf = (buf + data)[-len(reply) * 2 :]
            got += len(data)
        assert got == want and buf.endswith(reply)
    finally:
        slow.close()
    figures.append(
        f"slow reader: {count} x 100 KB replies requested; server RSS {rss_before:.0f} -> "
        f"{rss_stuck:.0f} MB while it did not read; another client's GET {other_ms:.1f} ms; "
        f"{got / 1e6:.0f} MB read back intact"
    )
    assert rss_stuck - rss_before < 200
