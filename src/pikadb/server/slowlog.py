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


class SlowLog:
    def __init__(self) -> None:
        self.entries: deque[Entry] = deque()
        self.next_id = 0

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
        self.entries.appendleft(
            Entry(self.next_id, int(time.time()), duration_us, shown, peer, name)
        )
        self.next_id += 1
        while len(self.entries) > maxlen:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()
