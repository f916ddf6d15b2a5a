"""A sans-IO RESP2/RESP3 reply parser, for the places pikadb reads replies rather than
requests: the sentinel's links to the instances it watches, and a worker combining the
replies of other workers (server/routing.py). pikadb.protocol parses requests only."""

from __future__ import annotations

from typing import Any


class ReplyError(str):
    """An error reply ('-ERR ...'), returned as a value: the sentinel inspects errors
    (LOADING, MASTERDOWN, BUSY) rather than failing on them."""


class _Incomplete(Exception):
    pass


class ReplyReader:
    """Incremental RESP2/RESP3 reply parser: feed(bytes), then gets() until it returns
    NOT_READY. Simple strings come back as str, bulk strings as bytes, errors as ReplyError,
    integers as int, nulls as None, arrays/sets/pushes as list, maps as dict."""

    NOT_READY: Any = object()

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def gets(self) -> Any:
        try:
            value, pos = self._parse(self._pos)
        except _Incomplete:
            return self.NOT_READY
        self._pos = pos
        return value

    def _line(self, pos: int) -> tuple[bytes, int]:
        end = self._buf.find(b"\r\n", pos)
        if end < 0:
            raise _Incomplete
        return bytes(self._buf[pos:end]), end + 2

    def _parse(self, pos: int) -> tuple[Any, int]:
        if pos >= len(self._buf):
            raise _Incomplete
        kind = self._buf[pos : pos + 1]
        line, pos = self._line(pos + 1)
        if kind == b"+":
            return line.decode("utf-8", "replace"), pos
        if kind == b"-":
            return ReplyError(line.decode("utf-8", "replace")), pos
        if kind == b":":
            return int(line), pos
        if kind in (b"$", b"=", b"!"):
            n = int(line)
            if n < 0:
                return None, pos
            if len(self._buf) < pos + n + 2:
                raise _Incomplete
            data = bytes(self._buf[pos : pos + n])
            if kind == b"!":
                return ReplyError(data.decode("utf-8", "replace")), pos + n + 2
            return (data[4:] if kind == b"=" else data), pos + n + 2
        if kind in (b"*", b"~", b">"):
            n = int(line)
            if n < 0:
                return None, pos
            items = []
            for _ in range(n):
                item, pos = self._parse(pos)
                items.append(item)
            return items, pos
        if kind == b"%":
            out = {}
            for _ in range(int(line)):
                k, pos = self._parse(pos)
                v, pos = self._parse(pos)
                out[k if not isinstance(k, list) else tuple(k)] = v
            return out, pos
        if kind == b"_":
            return None, pos
        if kind == b"#":
            return line == b"t", pos
        if kind in (b",", b"("):
            return line.decode(), pos
        raise ValueError(f"bad RESP type byte {kind!r}")
