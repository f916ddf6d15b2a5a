"""Redis-style log lines: `<pid>:<role> <dd Mon yyyy hh:mm:ss.mmm> <level-char> <message>`.

Level characters are Redis's: '.' debug, '-' verbose, '*' notice, '#' warning. The role
character is 'M' for a master, 'S' for a replica, 'X' for a sentinel.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

DEBUG, VERBOSE, NOTICE, WARNING = 0, 1, 2, 3
LEVELS = {"debug": DEBUG, "verbose": VERBOSE, "notice": NOTICE, "warning": WARNING}
_CHARS = ".-*#"


class Logger:
    def __init__(self) -> None:
        self.level = NOTICE
        self.role = "M"
        self._out: TextIO = sys.stdout
        self._path = ""

    def configure(self, level: str, path: str) -> None:
        self.level = LEVELS[level]
        if path != self._path:
            if self._path and self._out is not sys.stdout:
                self._out.close()
            # Kept open for the life of the process: every log line appends to it.
            self._out = open(path, "a", buffering=1, encoding="utf-8") if path else sys.stdout  # noqa: SIM115
            self._path = path

    def log(self, level: int, msg: str) -> None:
        if level < self.level:
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now))
        line = f"{os.getpid()}:{self.role} {stamp}.{int(now * 1000) % 1000:03d} {_CHARS[level]} {msg}\n"
        try:
            self._out.write(line)
            self._out.flush()
        except (OSError, ValueError):
            pass  # a full disk or closed stdout must not take the server down

    def debug(self, msg: str) -> None:
        self.log(DEBUG, msg)

    def verbose(self, msg: str) -> None:
        self.log(VERBOSE, msg)

    def notice(self, msg: str) -> None:
        self.log(NOTICE, msg)

    def warning(self, msg: str) -> None:
        self.log(WARNING, msg)


log = Logger()
