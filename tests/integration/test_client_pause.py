"""CLIENT PAUSE / CLIENT UNPAUSE against redis-server 7.0: the same scenario runs on both and
the transcripts (raw replies, which commands waited) must be equal.

A command "waits" when no reply arrives within QUIET seconds; every such command must be
answered once the pause ends.
"""

from __future__ import annotations

import time

from tests.helpers.servers import ServerProcess

QUIET = 0.3


def _blocked_clients(conn) -> bytes:
    conn.send(["INFO", "clients"])
    info = conn.read_reply()
    return next(line for line in info.split(b"\r\n") if line.startswith(b"blocked_clients:"))


def _flags(ctl, name: bytes) -> bytes:
    ctl.send(["CLIENT", "LIST"])
    listing = ctl.read_reply()
    line = next(x for x in listing.split(b"\n") if b" name=" + name + b" " in x)
    return line.split(b" flags=")[1].split(b" ")[0]


def _waits(conn) -> bool:
    return conn.read_available(quiet=QUIET) == b""


def scenario(server: ServerProcess) -> list[object]:
    ctl, a, b, c = (server.raw() for _ in range(4))
    out: list[object] = []
    for conn, name in ((a, "a"), (b, "b"), (c, "c")):
        conn.send(["CLIENT", "SETNAME", name])
        conn.read_reply()
    ctl.send(["DEL", "k", "hll"])
    ctl.read_reply()
    ctl.send(["PFADD", "hll", "x"])
    ctl.read_reply()

    # WRITE: reads and admin commands run, writes and may-replicate commands wait.
    ctl.send(["CLIENT", "PAUSE", "100000", "WRITE"])
    out.append(ctl.read_reply())
    a.send(["GET", "k"])
    out.append(a.read_reply())
    a.send(["MULTI"])
    a.send(["GET", "k"])
    a.send(["EXEC"])  # a read-only transaction is not paused
    out.append(a.read_replies(3))
    a.send(["SET", "k", "v"])
    a.send(["GET", "k"])  # pipelined behind the paused SET: waits with it
    out.append(("a set waits", _waits(a)))
    b.send(["PUBLISH", "ch", "m"])
    out.append(("publish waits", _waits(b)))
    c.send(["PFCOUNT", "hll"])
    out.append(("pfcount waits", _waits(c)))
    out.append(_blocked_clients(ctl))
    out.append(_flags(ctl, b"a"))
    ctl.send(["CLIENT", "UNPAUSE"])
    out.append(ctl.read_reply())
    out.append(a.read_replies(2))
    out.append(b.read_reply())
    out.append(c.read_reply())
    out.append(_blocked_clients(ctl))

    # A write queued in MULTI waits (Redis checks the pause before queueing).
    ctl.send(["CLIENT", "PAUSE", "100000", "WRITE"])
    out.append(ctl.read_reply())
    a.send(["MULTI"])
    out.append(a.read_reply())
    a.send(["INCR", "n"])
    out.append(("queued write waits", _waits(a)))
    ctl.send(["CLIENT", "UNPAUSE"])
    out.append(ctl.read_reply())
    out.append(a.read_reply())
    a.send(["EXEC"])
    out.append(a.read_reply())

    # ALL: every command waits, the pausing client's own too, until the deadline.
    ctl.send(["CLIENT", "PAUSE", "1200", "ALL"])
    out.append(ctl.read_reply())
    start = time.monotonic()
    b.send(["PING"])
    out.append(("ping waits", _waits(b)))
    ctl.send(["CLIENT", "UNPAUSE"])  # paused as well
    out.append(("unpause waits", _waits(ctl)))
    out.append(b.read_reply(timeout=5))
    out.append(ctl.read_reply(timeout=5))
    out.append(("waited for the deadline", time.monotonic() - start > 1.0))

    # A second pause keeps the stricter mode and the later deadline.
    ctl.send(["CLIENT", "PAUSE", "1200", "WRITE"])
    out.append(ctl.read_reply())
    ctl.send(["CLIENT", "PAUSE", "10", "ALL"])
    out.append(ctl.read_reply())
    time.sleep(0.1)
    b.send(["GET", "k"])
    out.append(("read waits under the merged pause", _waits(b)))
    out.append(b.read_reply(timeout=5))

    # A closed postponed client leaves no trace.
    ctl.send(["CLIENT", "PAUSE", "100000", "WRITE"])
    out.append(ctl.read_reply())
    c.send(["SET", "gone", "1"])
    out.append(("c waits", _waits(c)))
    c.sock.close()
    time.sleep(0.2)
    out.append(_blocked_clients(ctl))
    ctl.send(["CLIENT", "UNPAUSE"])
    out.append(ctl.read_reply())
    ctl.send(["GET", "gone"])
    out.append(ctl.read_reply())
    return out


def test_client_pause_like_redis(pikad_factory, redis_factory):
    assert scenario(pikad_factory()) == scenario(redis_factory())


def test_client_pause_errors(diff):
    diff(
        [
            ["CLIENT", "PAUSE"],
            ["CLIENT", "PAUSE", "abc"],
            ["CLIENT", "PAUSE", "-1"],
            ["CLIENT", "PAUSE", "-0"],
            ["CLIENT", "PAUSE", "1.5"],
            ["CLIENT", "PAUSE", "10", "foo"],
            ["CLIENT", "PAUSE", "abc", "foo"],
            ["CLIENT", "PAUSE", "-1", "write"],
            ["CLIENT", "PAUSE", "10", "write", "x"],
            ["CLIENT", "PAUSE", "0", "write"],
            ["CLIENT", "PAUSE", "0", "ALL"],
            ["CLIENT", "UNPAUSE", "x"],
            ["CLIENT", "UNPAUSE"],
            ["CLIENT", "UNPAUSE"],
        ]
    )
