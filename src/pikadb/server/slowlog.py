"""SLOWLOG: the last slowlog-max-len commands slower than slowlog-log-slower-than µs."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

_MAX_ARGC = 32  # Redis SLOWLOG_ENTRY_MAX_ARGC
_MAX_STRING = 128  # Redis SLOWLOG_ENTRY_MAX_STRING


@dataclass
class Entry:
    id: int
    time: int
    duration_us: int
    argv: list[bytes]
    peer: bytes
    name: bytes
    time_us: int  # merging the workers' logs in time order (server/routing.py)


class SlowLog:
    def __init__(self, stride: int = 1, offset: int = 0) -> None:
        self.entries: deque[Entry] = deque()
        self.next_id = 0
        # Several workers: worker i of N numbers its entries i, N + i, 2N + i, ... so the
        # ids of the server's log (merged) stay unique.
        self.stride = stride
        self.offset = offset

    def add(
        self, argv: list[bytes], duration_us: int, peer: bytes, name: bytes, maxlen: int
    ) -> None:
        shown = []
        argc = len(argv)
        for i, a in enumerate(argv[: min(argc, _MAX_ARGC)]):
            if i == _MAX_ARGC - 1 and argc > _MAX_ARGC:
                shown.append(b"... (%d more arguments)" % (argc - _MAX_ARGC + 1))
                break
            if len(a) > _MAX_STRING:
                a = a[:_MAX_STRING] + b"... (%d more bytes)" % (len(a) - _MAX_STRING)
            shown.append(a)
        now_us = time.time_ns() // 1000
        entry_id = self.next_id * self.stride + self.offset
        self.entries.appendleft(
            Entry(entry_id, now_us // 1_000_000, duration_us, shown, peer, name, now_us)
        )
        self.next_id += 1
        while len(self.entries) > maxlen:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()
