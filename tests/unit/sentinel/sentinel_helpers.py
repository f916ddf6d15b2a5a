"""Helpers shared by the sentinel unit tests (importable: this directory is on sys.path)."""

from __future__ import annotations

from pikadb.sentinel.core import Sentinel
from pikadb.sentinel.instance import Flag, Instance

MYID = "a" * 40


class Recorder:
    """Stands in for the pub/sub registry: records every published event."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def publish(self, channel: bytes, message: bytes) -> int:
        self.events.append((channel.decode(), message.decode()))
        return 0

    def names(self) -> list[str]:
        return [c for c, _ in self.events]


def add_sentinel(s: Sentinel, runid: str, port: int) -> Instance:
    master = s.masters["mymaster"]
    si = s.create_instance(runid, Flag.SENTINEL, "127.0.0.1", port, master.quorum, master)
    si.runid = runid
    return si


def add_replica(s: Sentinel, port: int) -> Instance:
    master = s.masters["mymaster"]
    return s.create_instance(None, Flag.SLAVE, "127.0.0.1", port, master.quorum, master)
