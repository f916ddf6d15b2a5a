"""Pub/Sub delivery between connections: order, framing per protocol, patterns, many
subscribers, and a subscriber that stops reading.

Sentinel relies on this: every sentinel publishes hellos on one channel from its own
connection and every subscriber must see them all, in the order the server accepted them.
Where the outcome is deterministic the same scenario runs on redis-server and the bytes
each subscriber received must be identical.
"""

from __future__ import annotations

import socket
import time

from helpers.raw import RawConnection, encode_command, parse, split_replies
from integration.diff import wait_until


def _subscriber(port: int, *commands: list[object], rcvbuf: int | None = None) -> RawConnection:
    conn = RawConnection(port)
    if rcvbuf is not None:
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    for cmd in commands:
        conn.send(cmd)
        conn.read_replies(max(1, len(cmd) - 1))
    return conn


def _read_frames(conn: RawConnection, n: int, timeout: float = 20.0) -> list[bytes]:
    return conn.read_replies(n, timeout=timeout)


def _interleaved_publishers(server) -> dict[str, bytes]:
    """Two publishers taking turns; a RESP2 channel subscriber, a RESP3 one and a pattern
    subscriber; returns what each subscriber received, raw."""
    port = server.port
    with RawConnection(port) as admin:
        admin.execute("FLUSHALL")
    subs = {
        "resp2": _subscriber(port, ["SUBSCRIBE", "__sentinel__:hello", "other"]),
        "resp3": _subscriber(port, ["HELLO", "3"], ["SUBSCRIBE", "__sentinel__:hello"]),
        "pattern": _subscriber(port, ["PSUBSCRIBE", "__sentinel__:*"]),
        "both": _subscriber(port, ["SUBSCRIBE", "other"], ["PSUBSCRIBE", "oth?r"]),
    }
    pubs = [RawConnection(port), RawConnection(port)]
    expected = {"resp2": 0, "resp3": 0, "pattern": 0, "both": 0}
    try:
        for i in range(60):
            pub = pubs[i % 2]
            if i % 3 == 2:
                assert pub.execute("PUBLISH", "other", f"o{i}") == b":3\r\n"
                expected["resp2"] += 1
                expected["both"] += 2
            else:
                msg = f"hello from {i % 2} #{i}".encode() + b"\x00\xff"
                assert pub.execute("PUBLISH", "__sentinel__:hello", msg) == b":3\r\n"
                for name in ("resp2", "resp3", "pattern"):
                    expected[name] += 1
        return {name: b"".join(_read_frames(conn, expected[name])) for name, conn in subs.items()}
    finally:
        for conn in (*subs.values(), *pubs):
            conn.close()


def test_delivery_order_and_framing_match_redis(pikad, redis_oracle):
    ours = _interleaved_publishers(pikad)
    theirs = _interleaved_publishers(redis_oracle)
    assert ours == theirs
    frames, rest = split_replies(ours["resp3"])
    assert not rest and all(f.startswith(b">3\r\n$7\r\nmessage\r\n") for f in frames)


def test_pipelined_publishes_keep_order_for_every_subscriber(pikad):
    """Many subscribers, publishes pipelined from three connections at once: each subscriber
    sees every message, each publisher's messages in its order, and all subscribers agree."""
    port = pikad.port
    nsubs, per_pub = 40, 100
    subs = [_subscriber(port, ["SUBSCRIBE", "ch"]) for _ in range(nsubs)]
    pubs = [RawConnection(port) for _ in range(3)]
    try:
        for p, pub in enumerate(pubs):
            pub.send(
                b"".join(encode_command(["PUBLISH", "ch", f"{p}:{i}"]) for i in range(per_pub))
            )
        for pub in pubs:
            assert set(pub.read_replies(per_pub)) == {b":%d\r\n" % nsubs}
        total = 3 * per_pub
        seen = []
        for conn in subs:
            msgs = [parse(f)[2] for f in _read_frames(conn, total)]
            for p in range(3):
                mine = [m for m in msgs if m.startswith(b"%d:" % p)]
                assert mine == [b"%d:%d" % (p, i) for i in range(per_pub)]
            seen.append(msgs)
        assert all(s == seen[0] for s in seen)
    finally:
        for conn in (*subs, *pubs):
            conn.close()


def test_slow_subscriber_does_not_stall_others(pikad):
    """A subscriber that never reads: publishing and the other subscribers go on."""
    port = pikad.port
    slow = _subscriber(port, ["SUBSCRIBE", "ch"], rcvbuf=4096)
    fast = _subscriber(port, ["SUBSCRIBE", "ch"])
    pub = RawConnection(port)
    payload = b"x" * 16384
    n = 300  # ~5 MB: well past the socket buffers, under the 8 MB soft limit
    try:
        start = time.monotonic()
        got = 0
        for _ in range(n // 50):
            pub.send(b"".join(encode_command(["PUBLISH", "ch", payload]) for _ in range(50)))
            assert set(pub.read_replies(50, timeout=10)) == {b":2\r\n"}
            frames = _read_frames(fast, 50, timeout=10)
            got += sum(1 for f in frames if f.endswith(payload + b"\r\n"))
        assert got == n
        assert time.monotonic() - start < 20
        # The server still answers everyone else at once.
        with RawConnection(port) as other:
            assert other.execute("PING", timeout=2) == b"+PONG\r\n"
            assert other.execute("PUBSUB", "NUMSUB", "ch") == b"*2\r\n$2\r\nch\r\n:2\r\n"
    finally:
        for conn in (slow, fast, pub):
            conn.close()


def _overflow(server) -> tuple[bytes, bytes]:
    """A non-reading subscriber past a 1 MB pubsub output limit is disconnected."""
    port = server.port
    with RawConnection(port) as admin:
        admin.execute("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 256kb 60")
    slow = _subscriber(port, ["SUBSCRIBE", "ch"], rcvbuf=4096)
    fast = _subscriber(port, ["SUBSCRIBE", "ch"])
    pub = RawConnection(port)
    payload = b"y" * 65536
    try:
        for _ in range(12):  # 16 chunks of 64 KB each: 12 MB, far past 1 MB plus socket buffers
            pub.send(b"".join(encode_command(["PUBLISH", "ch", payload]) for _ in range(16)))
            pub.read_replies(16, timeout=10)
            _read_frames(fast, 16, timeout=10)

        def numsub() -> bytes:
            return pub.execute("PUBSUB", "NUMSUB", "ch")

        wait_until(lambda: numsub() == b"*2\r\n$2\r\nch\r\n:1\r\n", timeout=5)
        after = pub.execute("PUBLISH", "ch", "still there")
        fast_frame = fast.read_reply(timeout=5)
        return after, fast_frame
    finally:
        with RawConnection(port) as admin:
            admin.execute("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
        for conn in (slow, fast, pub):
            conn.close()


def test_output_buffer_limit_disconnects_a_slow_subscriber(pikad, redis_oracle):
    ours = _overflow(pikad)
    theirs = _overflow(redis_oracle)
    assert (
        ours
        == theirs
        == (
            b":1\r\n",
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$11\r\nstill there\r\n",
        )
    )


def test_subscriber_disconnect_and_reset_clean_up(pikad):
    port = pikad.port
    a = _subscriber(port, ["SUBSCRIBE", "ch"], ["PSUBSCRIBE", "c*"])
    b = _subscriber(port, ["SUBSCRIBE", "ch"])
    pub = RawConnection(port)
    try:
        assert pub.execute("PUBLISH", "ch", "1") == b":3\r\n"
        a.close()
        wait_until(lambda: pub.execute("PUBSUB", "NUMSUB", "ch") == b"*2\r\n$2\r\nch\r\n:1\r\n")
        assert pub.execute("PUBSUB", "NUMPAT") == b":0\r\n"
        assert b.read_reply() == b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\n1\r\n"
        assert b.execute("RESET") == b"+RESET\r\n"
        assert pub.execute("PUBLISH", "ch", "2") == b":0\r\n"
        assert b.execute("GET", "x") == b"$-1\r\n"
    finally:
        for conn in (a, b, pub):
            conn.close()
