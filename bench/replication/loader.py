"""A fast loader of incompressible data: SET key <random bytes> over one raw connection,
pipelined in batches of about BATCH_BYTES, with one batch in flight while the next is built.

Values are os.urandom, MIN_VALUE..MAX_VALUE bytes each (no compression, RocksDB's or the
RDB's LZF, can shrink them), keys `fs:<n>`. Every reply is checked to be +OK.
"""

from __future__ import annotations

import os
import random
import socket
import time
from dataclasses import dataclass

MIN_VALUE = 4 << 10
MAX_VALUE = 16 << 10
BATCH_BYTES = 4 << 20
OK = b"+OK\r\n"


@dataclass
class Loaded:
    keys: int
    value_bytes: int
    seconds: float

    @property
    def mb_per_s(self) -> float:
        return self.value_bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


def _set(key: bytes, value: bytes) -> bytes:
    return b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value)


def _expect_ok(sock: socket.socket, n: int, buf: bytearray) -> None:
    """Consume n replies (+OK each) from buf, reading more as needed; replies of the next
    batch, already sent, may arrive in the same read and stay in buf."""
    want = len(OK) * n
    while len(buf) < want:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection while loading")
        buf += chunk
    if buf[:want] != OK * n:
        bad = bytes(buf[:want]).replace(OK, b"")[:200]
        raise RuntimeError(f"loading: a SET was refused: {bad!r}")
    del buf[:want]


def load(port: int, total_bytes: int, timeout: float, seed: int = 1) -> Loaded:
    """SETs random values until total_bytes of values are written (at most timeout s)."""
    rnd = random.Random(seed)
    start = time.perf_counter()
    deadline = start + timeout
    written = keys = 0
    in_flight = 0
    replies = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=max(60.0, timeout)) as sock:
        while written < total_bytes:
            if time.perf_counter() > deadline:
                raise TimeoutError(
                    f"loading took longer than {timeout:.0f} s ({written / 1e6:.0f} MB written)"
                )
            parts = []
            batch = n = 0
            while batch < BATCH_BYTES and written + batch < total_bytes:
                size = min(rnd.randint(MIN_VALUE, MAX_VALUE), total_bytes - written - batch)
                parts.append(_set(b"fs:%d" % (keys + n), os.urandom(max(1, size))))
                batch += max(1, size)
                n += 1
            sock.sendall(b"".join(parts))
            if in_flight:
                _expect_ok(sock, in_flight, replies)
            in_flight = n
            written += batch
            keys += n
        if in_flight:
            _expect_ok(sock, in_flight, replies)
    return Loaded(keys, written, time.perf_counter() - start)
