"""A raw RESP client for tests that must see the bytes a server sends.

redis-py decodes replies and hides framing; protocol tests and the differential harness need
the reply exactly as it went over the wire. RawConnection sends either a command (a list of
arguments, encoded as a RESP multibulk) or arbitrary bytes (inline commands, pipelines,
malformed frames) and reads back exactly one complete reply at a time, however the server's
writes were split across recv() calls.

Framing is decided by reply_end(), which walks the full RESP2 + RESP3 grammar without building
values: simple types (+ - : _ , # ( ), blobs ($ ! = with their lengths, $-1 null bulk),
aggregates (* ~ > with counts, *-1 null array, % maps with 2n elements, | attributes that
precede the reply they annotate), nested to any depth with an explicit stack. parse() turns a
reply into Python values for readable assertion messages; it never decides equality (the raw
bytes do).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Sequence

# ---- errors ----


class RespFramingError(ValueError):
    """The bytes received are not valid RESP (the server sent garbage)."""


class ReplyTimeout(TimeoutError):
    """No complete reply within the timeout; .received holds what did arrive."""

    def __init__(self, message: str, received: bytes) -> None:
        super().__init__(f"{message}; received so far ({len(received)} bytes): {received[:300]!r}")
        self.received = received


class ConnectionClosed(ConnectionError):
    """The server closed the connection before a complete reply; .received holds the rest."""

    def __init__(self, message: str, received: bytes) -> None:
        super().__init__(f"{message}; received so far ({len(received)} bytes): {received[:300]!r}")
        self.received = received


# ---- encoding ----


def _arg_bytes(arg: object) -> bytes:
    if isinstance(arg, bytes | bytearray | memoryview):
        return bytes(arg)
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, int | float):
        return repr(arg).encode()
    raise TypeError(f"cannot encode {type(arg).__name__} as a RESP argument: {arg!r}")


def encode_command(args: Iterable[object]) -> bytes:
    """Encode one command as a RESP multibulk: *<n> then $<len> <arg> for each argument."""
    parts = [_arg_bytes(a) for a in args]
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        out.append(b"$%d\r\n" % len(p))
        out.append(p)
        out.append(b"\r\n")
    return b"".join(out)


def encode_commands(commands: Iterable[Iterable[object]]) -> bytes:
    """Several commands back to back, as one pipeline write."""
    return b"".join(encode_command(c) for c in commands)


# ---- framing ----

_SIMPLE = frozenset(b"+-:_,#(")
_BLOB = frozenset(b"$!=")
_AGGREGATE = frozenset(b"*~>")


def _int_header(buf: bytes | bytearray, start: int, end: int) -> int:
    raw = bytes(buf[start:end])
    try:
        return int(raw)
    except ValueError:
        raise RespFramingError(f"bad length {raw!r} at offset {start - 1}") from None


def reply_end(buf: bytes | bytearray, pos: int = 0) -> int | None:
    """The offset just past the complete reply starting at buf[pos], or None if more bytes
    are needed. Raises RespFramingError if the bytes cannot be RESP."""
    remaining = 1  # replies still needed at the current aggregate level
    stack: list[int] = []  # the remaining counts of the enclosing levels
    n = len(buf)
    while True:
        if pos >= n:
            return None
        kind = buf[pos]
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            return None
        head_start = pos + 1
        pos = nl + 2
        children = 0
        if kind in _SIMPLE:
            remaining -= 1
        elif kind in _BLOB:
            length = _int_header(buf, head_start, nl)
            if length >= 0:
                if n < pos + length + 2:
                    return None
                if buf[pos + length : pos + length + 2] != b"\r\n":
                    raise RespFramingError(f"blob at offset {head_start - 1} not ended by CRLF")
                pos += length + 2
            elif not (length == -1 and kind == ord("$")):
                raise RespFramingError(f"bad blob length {length} at offset {head_start - 1}")
            remaining -= 1
        elif kind in _AGGREGATE or kind == ord("%"):
            count = _int_header(buf, head_start, nl)
            if count < -1 or (count == -1 and kind != ord("*")):
                raise RespFramingError(f"bad aggregate count {count} at offset {head_start - 1}")
            children = max(count, 0) * (2 if kind == ord("%") else 1)
            remaining -= 1
        elif kind == ord("|"):
            # An attribute map annotates the reply that follows it: it does not count as one.
            children = 2 * _int_header(buf, head_start, nl)
        else:
            raise RespFramingError(
                f"unknown RESP type byte {bytes([kind])!r} at offset {head_start - 1}"
            )
        if children > 0:
            stack.append(remaining)
            remaining = children
        while remaining == 0:
            if not stack:
                return pos
            remaining = stack.pop()


def split_replies(buf: bytes | bytearray) -> tuple[list[bytes], bytes]:
    """Cut buf into complete replies; returns (replies, incomplete rest)."""
    out: list[bytes] = []
    pos = 0
    while pos < len(buf):
        end = reply_end(buf, pos)
        if end is None:
            break
        out.append(bytes(buf[pos:end]))
        pos = end
    return out, bytes(buf[pos:])


# ---- parsing into Python values (for messages and loose comparisons) ----


class Simple(bytes):
    """A +simple string reply."""

    def __repr__(self) -> str:
        return f"+{bytes(self).decode('utf-8', 'backslashreplace')}"


class Error(bytes):
    """A -error (or RESP3 !blob error) reply."""

    def __repr__(self) -> str:
        return f"-{bytes(self).decode('utf-8', 'backslashreplace')}"


class Verbatim(bytes):
    """A RESP3 =verbatim string; .format is the three-letter type (txt, mkd)."""

    format: bytes = b"txt"

    def __new__(cls, data: bytes, fmt: bytes = b"txt") -> Verbatim:
        obj = super().__new__(cls, data)
        obj.format = fmt
        return obj

    def __repr__(self) -> str:
        return f"Verbatim({self.format.decode()}:{bytes(self)!r})"


class BigNumber(int):
    """A RESP3 (big number."""

    def __repr__(self) -> str:
        return f"({int(self)}"


class Double(float):
    """A RESP3 ,double."""

    def __repr__(self) -> str:
        return f",{float(self)!r}"


class RespSet(list):
    """A RESP3 ~set, order kept as sent."""

    def __repr__(self) -> str:
        return "~" + super().__repr__()


class Push(list):
    """A RESP3 >push message."""

    def __repr__(self) -> str:
        return ">" + super().__repr__()


class RespMap(list):
    """A RESP3 %map as a list of (key, value) pairs (keys may be unhashable)."""

    def get(self, key: object, default: object = None) -> object:
        for k, v in self:
            if k == key:
                return v
        return default

    def keys(self) -> list:
        return [k for k, _ in self]

    def __repr__(self) -> str:
        return "%{" + ", ".join(f"{k!r}: {v!r}" for k, v in self) + "}"


class Attributed:
    """A reply preceded by a RESP3 |attribute map."""

    def __init__(self, attributes: RespMap, value: object) -> None:
        self.attributes = attributes
        self.value = value

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Attributed)
            and self.attributes == other.attributes
            and self.value == other.value
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"|{self.attributes!r}{self.value!r}"


def _parse_at(buf: bytes, pos: int) -> tuple[object, int]:
    kind = chr(buf[pos])
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        raise RespFramingError(f"incomplete reply at offset {pos}")
    line = buf[pos + 1 : nl]
    pos = nl + 2
    if kind == "+":
        return Simple(line), pos
    if kind == "-":
        return Error(line), pos
    if kind == ":":
        return int(line), pos
    if kind == "_":
        return None, pos
    if kind == ",":
        return Double(float(line)), pos
    if kind == "#":
        return line == b"t", pos
    if kind == "(":
        return BigNumber(int(line)), pos
    if kind in "$!=":
        length = int(line)
        if length < 0:
            return None, pos
        data = buf[pos : pos + length]
        pos += length + 2
        if kind == "!":
            return Error(data), pos
        if kind == "=":
            return Verbatim(data[4:], data[:3]), pos
        return bytes(data), pos
    if kind in "*~>%|":
        count = int(line)
        if count < 0:
            return None, pos
        if kind in "%|":
            pairs = RespMap()
            for _ in range(count):
                k, pos = _parse_at(buf, pos)
                v, pos = _parse_at(buf, pos)
                pairs.append((k, v))
            if kind == "%":
                return pairs, pos
            value, pos = _parse_at(buf, pos)
            return Attributed(pairs, value), pos
        items = []
        for _ in range(count):
            item, pos = _parse_at(buf, pos)
            items.append(item)
        return {"*": list, "~": RespSet, ">": Push}[kind](items), pos
    raise RespFramingError(f"unknown RESP type byte {kind!r} at offset {pos}")


def parse(raw: bytes) -> object:
    """One complete reply as Python values: bulk -> bytes, +x -> Simple, -x -> Error,
    nulls -> None, arrays -> list, %map -> RespMap, ~set -> RespSet, >push -> Push."""
    raw = bytes(raw)
    if reply_end(raw) is None:
        raise RespFramingError(f"incomplete reply: {raw[:200]!r}")
    value, _ = _parse_at(raw, 0)
    return value


def parse_all(raw: bytes) -> list[object]:
    """Every complete reply in raw, parsed (an incomplete tail is ignored)."""
    replies, _ = split_replies(raw)
    return [parse(r) for r in replies]


def show(raw: bytes, limit: int = 400) -> str:
    """A reply for humans: the parsed value (or the bytes if unparseable), truncated."""
    try:
        text = repr(parse(raw))
    except (RespFramingError, ValueError, IndexError):
        text = f"<unparseable> {bytes(raw)!r}"
    if len(text) > limit:
        text = text[:limit] + f"... ({len(raw)} bytes)"
    return text


# ---- the connection ----


class RawConnection:
    """One TCP connection speaking raw RESP. Not thread-safe; one reader at a time."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.closed_by_peer = False

    # -- sending --

    def send(self, data: bytes | bytearray | Sequence[object]) -> None:
        """Send raw bytes as they are, or a command (list/tuple of args) as a multibulk."""
        if isinstance(data, bytes | bytearray | memoryview):
            payload = bytes(data)
        else:
            payload = encode_command(data)
        self.sock.sendall(payload)

    def send_commands(self, commands: Iterable[Sequence[object]]) -> None:
        """Several commands in one write (a pipeline)."""
        self.sock.sendall(encode_commands(commands))

    # -- receiving --

    def _recv_more(self, deadline: float, what: str) -> bool:
        """Receive into the buffer; False on EOF. Raises ReplyTimeout past the deadline."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise ReplyTimeout(
                f"timed out waiting for {what} from port {self.port}", bytes(self.buf)
            )
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 20)
        except TimeoutError:
            raise ReplyTimeout(
                f"timed out waiting for {what} from port {self.port}", bytes(self.buf)
            ) from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed_by_peer = True
            return False
        self.buf += chunk
        return True

    def read_reply(self, timeout: float | None = None) -> bytes:
        """Exactly one complete reply, raw bytes as received."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            end = reply_end(self.buf)
            if end is not None:
                reply = bytes(self.buf[:end])
                del self.buf[:end]
                return reply
            if self.closed_by_peer or not self._recv_more(deadline, "a reply"):
                raise ConnectionClosed(
                    f"port {self.port} closed the connection before a complete reply",
                    bytes(self.buf),
                )

    def read_replies(self, n: int, timeout: float | None = None) -> list[bytes]:
        """n complete replies (one overall deadline)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        out = []
        for _ in range(n):
            out.append(self.read_reply(timeout=max(0.0, deadline - time.monotonic())))
        return out

    def read_until_closed(self, timeout: float = 5.0) -> bytes:
        """Everything the server sends until it closes the connection. Raises ReplyTimeout
        (with what arrived) if it is still open after timeout seconds."""
        deadline = time.monotonic() + timeout
        while not self.closed_by_peer:
            self._recv_more(deadline, "the server to close the connection")
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def read_available(self, quiet: float = 0.3, timeout: float = 10.0) -> bytes:
        """Everything received until the server closes or stays silent for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while not self.closed_by_peer:
            if time.monotonic() >= deadline:
                break
            self.sock.settimeout(min(quiet, max(0.001, deadline - time.monotonic())))
            try:
                chunk = self.sock.recv(1 << 20)
            except TimeoutError:
                break
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed_by_peer = True
                break
            self.buf += chunk
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def is_closed(self, wait: float = 0.5) -> bool:
        """True if the server has closed the connection (waits up to `wait` seconds for it).
        Data that arrives meanwhile stays buffered."""
        deadline = time.monotonic() + wait
        while not self.closed_by_peer and time.monotonic() < deadline:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed_by_peer = True
            else:
                self.buf += chunk
        return self.closed_by_peer

    # -- both --

    def execute(self, *args: object, timeout: float | None = None) -> bytes:
        """Send one command, return its raw reply."""
        self.send(list(args))
        return self.read_reply(timeout)

    def call(self, *args: object, timeout: float | None = None) -> object:
        """Send one command, return its reply parsed."""
        return parse(self.execute(*args, timeout=timeout))

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
