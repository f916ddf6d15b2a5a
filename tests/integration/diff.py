"""Differential testing: the same commands to pikad and to redis-server, replies compared.

    def test_select(diff):
        diff([["SET", "k", "v"], ["SELECT", "1"], ["GET", "k"], ["SELECT", "99"]])

Each diff() call first sends FLUSHALL to both servers, then every command in turn on one
connection to each server, and compares the two raw replies byte for byte: a client sees the
bytes, so "the same value" in another encoding (an integer sent as a bulk string, a map that
should be a flat array in RESP2) is a real difference. The connections are kept for the whole
test, so client state (SELECT, CLIENT SETNAME, HELLO 3) carries from one command to the next
and from one diff() call to the next, except what a call's setup resets: the keyspace, the
protocol (`proto=`) and the selected db (`db=`).

A command entry is a list of arguments, or `(args, normalizer)` for a reply that may differ
legitimately; the normalizers below say how much of it must still agree (ignore the content
but not the type, sort an unordered array, accept a TTL one second apart, compare only some
fields of CLIENT INFO...). `normalize=` gives one for all entries of a call. Arguments may
also come from a function of the side (`lambda side: [...]`), for commands that need
something only that server knows, e.g. its own client id.

diff.stream(raw_bytes) sends raw bytes (pipelines, inline commands, malformed frames) to both
and compares every reply and whether each server closed the connection.

A mismatch raises DiffMismatch (an AssertionError) naming the command, its index, both replies
parsed and raw, and the normalizer that judged them. Nothing is skipped silently: a reply that
must differ (server name, version, ids, timings) is normalized in the open, in the test.
"""

from __future__ import annotations

import math
import select
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from helpers import servers
from helpers.keytags import tag_keys
from helpers.raw import (
    ConnectionClosed,
    Error,
    RawConnection,
    ReplyTimeout,
    RespFramingError,
    RespMap,
    Simple,
    Verbatim,
    encode_command,
    parse,
    show,
    split_replies,
)


class DiffMismatch(AssertionError):
    """pikad and redis-server answered differently."""


# ---- outcomes: what one server did with one command ----


def _crossslot(left: Outcome) -> bool:
    return bool(
        servers.SETTINGS.workers
        and servers.SETTINGS.workers > 1
        and left.status == "reply"
        and left.raw.startswith(b"-CROSSSLOT")
    )


def skip_if_crossslot(left: Outcome, shown: str) -> None:
    """With several workers, a command whose keys belong to different workers answers
    -CROSSSLOT where Redis runs it (documented; tests/integration/test_workers.py has the
    tests of its own): the case stops there, as a skip that says why."""
    if (
        servers.SETTINGS.workers
        and servers.SETTINGS.workers > 1
        and left.status == "reply"
        and left.raw.startswith(b"-CROSSSLOT")
    ):
        pytest.skip(f"CROSSSLOT with {servers.SETTINGS.workers} workers: {shown[:120]}")


@dataclass
class Outcome:
    """A reply (raw bytes), or the connection closed / timed out before one arrived."""

    status: str  # "reply" | "closed" | "timeout"
    raw: bytes = b""

    def describe(self, limit: int = 600) -> str:
        if self.status != "reply":
            tail = f" after receiving {self.raw[:200]!r}" if self.raw else ""
            return f"<{self.status}>{tail}"
        raw = self.raw if len(self.raw) <= 200 else self.raw[:200] + b"..."
        return f"{show(self.raw, limit)}\n{'':17}raw: {raw!r}"


# ---- normalizers ----


class Normalizer:
    """Decides whether two replies agree. compare() returns None if they do, else a reason."""

    name = "normalizer"

    def compare(self, left: bytes, right: bytes) -> str | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class Exact(Normalizer):
    name = "exact bytes"

    def compare(self, left: bytes, right: bytes) -> str | None:
        return None if left == right else "raw bytes differ"


class Transform(Normalizer):
    """Parse both replies, apply fn to each, compare the results with ==."""

    def __init__(self, fn: Callable[[object], object], name: str) -> None:
        self.fn = fn
        self.name = name

    def compare(self, left: bytes, right: bytes) -> str | None:
        a, b = self.fn(parse(left)), self.fn(parse(right))
        if a == b:
            return None
        return f"after {self.name}: {a!r} != {b!r}"


class Pairwise(Normalizer):
    """fn(left_parsed, right_parsed) -> True/None if acceptable, False or a reason if not."""

    def __init__(self, fn: Callable[[object, object], object], name: str) -> None:
        self.fn = fn
        self.name = name

    def compare(self, left: bytes, right: bytes) -> str | None:
        verdict = self.fn(parse(left), parse(right))
        if verdict is None or verdict is True:
            return None
        return verdict if isinstance(verdict, str) else f"{self.name} rejected the pair"


def _type_byte(raw: bytes) -> bytes:
    return raw[:1]


class _Ignore(Normalizer):
    """Content ignored; both replies must still be of the same RESP type (an error where a
    bulk is expected is never fine)."""

    name = "ignore (same RESP type only)"

    def compare(self, left: bytes, right: bytes) -> str | None:
        if _type_byte(left) == _type_byte(right):
            return None
        return f"RESP types differ: {_type_byte(left)!r} vs {_type_byte(right)!r}"


class _Anything(Normalizer):
    name = "anything"

    def compare(self, left: bytes, right: bytes) -> str | None:
        return None


exact = Exact()
ignore = _Ignore()
anything = _Anything()


def _sort_key(v: object) -> str:
    return repr(v)


def _unordered(v: object) -> object:
    if isinstance(v, list):
        return (type(v).__name__, sorted(v, key=_sort_key))
    return v


unordered = Transform(_unordered, "unordered (array sorted)")
sorted_ = unordered  # the name the brief uses


def _shape(v: object) -> object:
    if isinstance(v, RespMap):
        return ("map", [(_shape(k), _shape(x)) for k, x in v])
    if isinstance(v, list):
        return (type(v).__name__, [_shape(x) for x in v])
    if isinstance(v, Error):
        return "error"
    return type(v).__name__


shape = Transform(_shape, "shape (types and lengths, not values)")


def ints_close(tol: int | float) -> Normalizer:
    """Integers (or arrays of them) equal within tol, e.g. TTL/PTTL a tick apart."""

    def close(a: object, b: object) -> object:
        if isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return f"lengths differ: {len(a)} vs {len(b)}"
            for x, y in zip(a, b, strict=True):
                verdict = close(x, y)
                if verdict is not True:
                    return verdict
            return True
        if type(a) is not type(b):
            return f"types differ: {type(a).__name__} vs {type(b).__name__}"
        if isinstance(a, int | float) and isinstance(b, int | float):
            return True if abs(a - b) <= tol else f"{a} and {b} differ by more than {tol}"
        return True if a == b else f"{a!r} != {b!r}"

    return Pairwise(close, f"ints_close({tol})")


ttl_close = ints_close(1)


def floats_close(rel: float = 1e-9) -> Normalizer:
    """Numeric bulk strings / doubles equal to a relative tolerance."""

    def close(a: object, b: object) -> object:
        try:
            fa, fb = float(a), float(b)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return a == b
        return math.isclose(fa, fb, rel_tol=rel) or f"{fa} vs {fb}"

    return Pairwise(close, f"floats_close({rel})")


def error_prefix(prefix: str | None = None) -> Normalizer:
    """Both replies are errors; with a prefix both start with it, else their first word
    (the error code: ERR, WRONGTYPE, ...) is the same. For texts that may legitimately
    word things differently."""

    def check(a: object, b: object) -> object:
        if not (isinstance(a, Error) and isinstance(b, Error)):
            return "not both errors"
        if prefix is not None:
            p = prefix.encode()
            return (a.startswith(p) and b.startswith(p)) or f"not both starting with {prefix!r}"
        return a.split(b" ", 1)[0] == b.split(b" ", 1)[0] or "error codes differ"

    return Pairwise(check, f"error_prefix({prefix!r})")


def _unordered_pairs(v: object) -> object:
    if isinstance(v, Error) or v is None:
        return v
    return (type(v).__name__, sorted(_pairs(v), key=_sort_key))


# CONFIG GET with several names or a glob: Redis lists pairs in its table's order.
unordered_pairs = Transform(_unordered_pairs, "unordered key/value pairs")


def _pairs(v: object) -> list[tuple[object, object]]:
    if isinstance(v, RespMap):
        return list(v)
    if isinstance(v, list) and len(v) % 2 == 0:
        return [(v[i], v[i + 1]) for i in range(0, len(v), 2)]
    raise AssertionError(f"not a map or a flat key/value array: {v!r}")


def fields(ignore: Sequence[str] = (), *, extra_ok: bool = False) -> Normalizer:
    """A map (RESP3) or flat key/value array (RESP2), e.g. HELLO: same keys in the same order
    and the same values, except the values of the keys in `ignore` (their type must match).
    extra_ok=True accepts keys only pikad (the left side) has, after all of Redis's."""
    skip = {k.encode() for k in ignore}

    def view(v: object, pairs: list) -> object:
        return (
            type(v).__name__,
            [(k, type(x).__name__ if k in skip else x) for k, x in pairs],
        )

    def check(a: object, b: object) -> object:
        if isinstance(a, Error) or isinstance(b, Error):
            return a == b or "error replies differ"
        pa, pb = _pairs(a), _pairs(b)
        if extra_ok and len(pa) > len(pb):
            pa = pa[: len(pb)]
        va, vb = view(a, pa), view(b, pb)
        return va == vb or f"{va!r} != {vb!r}"

    return Pairwise(check, f"fields(ignoring values of {sorted(ignore)})")


# CLIENT LIST / CLIENT INFO fields whose values do not depend on timing, sockets or memory.
CLIENT_STABLE_FIELDS = ("name", "flags", "db", "sub", "psub", "multi", "cmd", "user", "resp")


def _client_lines(v: object) -> list[list[tuple[str, str]]]:
    if isinstance(v, Error):
        return [[("error", bytes(v).decode())]]
    if not isinstance(v, bytes):
        raise AssertionError(f"CLIENT LIST/INFO reply is not a string: {v!r}")
    text = bytes(v).decode()
    out = []
    for line in text.split("\n"):
        if not line:
            continue
        out.append([tuple(kv.split("=", 1)) if "=" in kv else (kv, "") for kv in line.split(" ")])
    return out


def client_info(
    keep: Sequence[str] = CLIENT_STABLE_FIELDS, *, line_count: bool = True
) -> Normalizer:
    """CLIENT INFO / CLIENT LIST text: every line has the same field names in the same order;
    the values of `keep` agree. The reply type (bulk in RESP2, verbatim in RESP3) and the
    trailing newline must match too."""
    keep_set = set(keep)

    def view(v: object) -> object:
        lines = _client_lines(v)
        shaped = [[(k, val if k in keep_set else "*") for k, val in line] for line in lines]
        ends_nl = isinstance(v, bytes) and bytes(v).endswith(b"\n")
        return (type(v).__name__, ends_nl, shaped if line_count else shaped[:1])

    return Transform(view, f"client_info(keep={list(keep)})")


def lines_sorted(v: object) -> object:
    """A text reply whose lines come in no particular order."""
    if isinstance(v, bytes) and not isinstance(v, Error):
        return (type(v).__name__, sorted(bytes(v).split(b"\n")))
    return v


def transform(fn: Callable[[object], object], name: str | None = None) -> Normalizer:
    """Any function of the parsed reply; the results must be equal."""
    return Transform(fn, name or getattr(fn, "__name__", "transform"))


def pairwise(fn: Callable[[object, object], object], name: str | None = None) -> Normalizer:
    """Any judgement of the two parsed replies (True/None = fine, str = why not)."""
    return Pairwise(fn, name or getattr(fn, "__name__", "pairwise"))


def both(*normalizers: Normalizer) -> Normalizer:
    """All of these must accept the pair."""

    class _All(Normalizer):
        name = " and ".join(n.name for n in normalizers)

        def compare(self, left: bytes, right: bytes) -> str | None:
            for n in normalizers:
                reason = n.compare(left, right)
                if reason:
                    return f"{n.name}: {reason}"
            return None

    return _All()


# ---- the harness ----


@dataclass
class Side:
    """One server as seen by a diff call; passed to argument functions."""

    name: str
    port: int
    conn: RawConnection | None = None
    replies: list[object] = field(default_factory=list)  # parsed, this call, in order

    @property
    def local_port(self) -> int:
        assert self.conn is not None
        return self.conn.sock.getsockname()[1]

    @property
    def addr(self) -> str:
        """This connection's address as the server sees it (CLIENT KILL ip:port)."""
        return f"127.0.0.1:{self.local_port}"


@dataclass
class StreamResult:
    left: list[bytes]
    right: list[bytes]
    left_rest: bytes
    right_rest: bytes
    left_closed: bool
    right_closed: bool


# Commands after which the connection state (db, protocol, name, MULTI...) is not what the
# harness last set up.
_STATEFUL = frozenset(
    {
        b"SELECT",
        b"HELLO",
        b"RESET",
        b"QUIT",
        b"CLIENT",
        b"MULTI",
        b"AUTH",
        b"SUBSCRIBE",
        b"PSUBSCRIBE",
        b"SSUBSCRIBE",
        b"MONITOR",
        b"WATCH",
        b"EXEC",
        b"DISCARD",
    }
)


def _may_close(args: Sequence[object]) -> bool:
    """Commands after which we look whether the server closed the connection."""
    name = _name_of(args)
    if name in (b"QUIT", b"SHUTDOWN"):
        return True
    return name == b"CLIENT" and len(args) > 1 and _name_of(args[1:]) == b"KILL"


def _could_close(outcome: Outcome) -> bool:
    """An error or ':0' (nobody killed) never comes with a closed connection; skip the wait."""
    return outcome.status == "reply" and not outcome.raw.startswith((b"-", b":0\r\n"))


def _name_of(args: Sequence[object]) -> bytes:
    if not args:
        return b""
    a = args[0]
    return (a.encode() if isinstance(a, str) else bytes(a)).upper()  # type: ignore[arg-type]


def _fmt_args(args: Sequence[object], limit: int = 200) -> str:
    parts = []
    for a in args:
        b = a.encode() if isinstance(a, str) else a if isinstance(a, bytes) else str(a).encode()
        text = b.decode("utf-8", "backslashreplace")
        if len(text) > 40:
            text = text[:40] + f"...({len(b)} bytes)"
        parts.append(text if text and " " not in text else repr(text))
    s = " ".join(parts)
    return s if len(s) <= limit else s[:limit] + "..."


class Diff:
    """Compares a subject server (pikad) with an oracle (redis-server)."""

    def __init__(
        self,
        subject: object,
        oracle: object,
        *,
        names: tuple[str, str] = ("pikad", "redis-server"),
        timeout: float = 10.0,
    ) -> None:
        self.servers = (subject, oracle)
        self.names = names
        self.timeout = timeout
        self.sides = [Side(names[0], subject.port), Side(names[1], oracle.port)]  # type: ignore[attr-defined]
        self._state: tuple[int, int] | None = None  # (proto, db) both connections are in

    # -- connections --

    def _connect(self) -> None:
        for side in self.sides:
            if side.conn is not None:
                side.conn.close()
            side.conn = RawConnection(side.port, timeout=self.timeout)
        self._state = (2, 0)

    def close(self) -> None:
        for side in self.sides:
            if side.conn is not None:
                side.conn.close()
                side.conn = None
        self._state = None

    def conns(self) -> tuple[RawConnection, RawConnection]:
        """The two live connections (subject, oracle), for checks a test makes itself."""
        if any(s.conn is None or s.conn.closed_by_peer for s in self.sides):
            self._connect()
        return self.sides[0].conn, self.sides[1].conn  # type: ignore[return-value]

    def _setup_command(self, args: list[object]) -> bool:
        ok = True
        for side in self.sides:
            assert side.conn is not None
            side.conn.send(args)
        for side in self.sides:
            assert side.conn is not None
            try:
                reply = side.conn.read_reply()
            except (ReplyTimeout, ConnectionClosed) as e:
                raise DiffMismatch(
                    f"setup command {_fmt_args(args)} failed on {side.name}: {e}"
                ) from e
            if reply[:1] == b"-":
                raise DiffMismatch(
                    f"setup command {_fmt_args(args)} failed on {side.name}: {show(reply)}"
                )
            if reply[:1] == b"+" and reply not in (b"+OK\r\n",):
                ok = False  # e.g. +QUEUED: the connection is in a state we cannot use
        return ok

    def setup(self, proto: int = 2, db: int = 0, flush: bool = True) -> None:
        """FLUSHALL, then the protocol and db this call asks for, on both connections."""
        for attempt in range(2):
            self.conns()
            try:
                fine = self._setup_command(["FLUSHALL"]) if flush else True
            except DiffMismatch:
                if attempt:
                    raise
                fine = False
            if fine:
                break
            self._connect()  # a connection in MULTI or pubsub state: start afresh
        if self._state is None or self._state[0] != proto:
            self._setup_command(["HELLO", str(proto)])
        if self._state is None or self._state[1] != db:
            self._setup_command(["SELECT", str(db)])
        self._state = (proto, db)
        for side in self.sides:
            side.replies = []

    # -- one command on both --

    def _outcome(self, side: Side, timeout: float | None) -> Outcome:
        assert side.conn is not None
        try:
            return Outcome("reply", side.conn.read_reply(timeout))
        except ConnectionClosed as e:
            return Outcome("closed", e.received)
        except ReplyTimeout as e:
            side.conn.close()
            side.conn.closed_by_peer = True  # unusable: a late reply would be misattributed
            return Outcome("timeout", e.received)

    def query(
        self,
        args: Sequence[object] | Callable[[Side], Sequence[object]],
        timeout: float | None = None,
    ) -> tuple[Outcome, Outcome]:
        """Send one command to both (no setup, no comparison); both outcomes."""
        for side in self.sides:
            if side.conn is None or side.conn.closed_by_peer:
                side.conn = RawConnection(side.port, timeout=self.timeout)
            a = args(side) if callable(args) else args
            try:
                side.conn.send(list(a))
            except OSError:
                side.conn.closed_by_peer = True
        out = []
        for side in self.sides:
            outcome = self._outcome(side, timeout)
            if outcome.status == "reply":
                try:
                    side.replies.append(parse(outcome.raw))
                except RespFramingError:
                    side.replies.append(outcome.raw)
            else:
                side.replies.append(outcome)
            out.append(outcome)
        return out[0], out[1]

    def _closed_after(self, wait: float = 0.3) -> tuple[bool, bool]:
        """Whether each server closed its connection within `wait` seconds (both watched at
        once, so a connection that stays open costs `wait` only once)."""
        conns = [s.conn for s in self.sides]
        assert conns[0] is not None and conns[1] is not None
        deadline = time.monotonic() + wait
        while True:
            pending = [c for c in conns if not c.closed_by_peer]
            left = deadline - time.monotonic()
            if not pending or left <= 0:
                break
            readable, _, _ = select.select([c.sock for c in pending], [], [], left)
            for c in pending:
                if c.sock in readable:
                    c.is_closed(wait=0.01)
        return conns[0].closed_by_peer, conns[1].closed_by_peer

    # -- the public calls --

    def __call__(
        self,
        commands: Sequence[object],
        *,
        normalize: Normalizer | None = None,
        proto: int = 2,
        db: int = 0,
        flush: bool = True,
        timeout: float | None = None,
        _tagged: bool = False,
    ) -> list[tuple[Outcome, Outcome]]:
        """Run commands on both servers and compare every reply; returns the outcomes.

        With several workers, a call stopped by -CROSSSLOT (keys of several workers) runs
        again from a flushed start with every key tagged {t} on both servers: the case is
        about the command, not about where its keys live."""
        __tracebackhide__ = True
        self.setup(proto, db, flush)
        results: list[tuple[Outcome, Outcome]] = []
        history: list[str] = []
        for index, entry in enumerate(commands):
            args, norm = self._split_entry(entry, normalize)
            per_side = [list(args(s) if callable(args) else args) for s in self.sides]
            if _tagged:
                per_side = [tag_keys(p) for p in per_side]
            concrete = per_side[0]
            left, right = self.query(
                lambda s, p=per_side: p[0] if s is self.sides[0] else p[1], timeout
            )
            shown = _fmt_args(concrete)
            if per_side[1] != concrete:
                shown += f"  ({self.names[1]}: {_fmt_args(per_side[1])})"
            results.append((left, right))
            reason = self._judge(left, right, norm)
            if reason is None and _may_close(concrete) and _could_close(left):
                lc, rc = self._closed_after()
                if lc != rc:
                    reason = (
                        f"after the reply, {self.names[0]} "
                        f"{'closed' if lc else 'kept'} the connection, {self.names[1]} "
                        f"{'closed' if rc else 'kept'} it"
                    )
            if reason is not None:
                if flush and not _tagged and _crossslot(left):
                    return self(
                        commands,
                        normalize=normalize,
                        proto=proto,
                        db=db,
                        flush=flush,
                        timeout=timeout,
                        _tagged=True,
                    )
                skip_if_crossslot(left, shown)
                raise DiffMismatch(
                    self._message(index, len(commands), shown, left, right, norm, reason, history)
                )
            history.append(shown)
            if _name_of(concrete) in _STATEFUL:
                self._state = None
        return results

    def stream(
        self,
        data: bytes,
        *,
        replies: int | None = None,
        normalize: Normalizer | None = None,
        proto: int = 2,
        db: int = 0,
        flush: bool = True,
        quiet: float = 0.3,
        timeout: float | None = None,
    ) -> StreamResult:
        """Send raw bytes to both, compare all replies and whether each closed the connection.
        With replies=n, exactly n replies are read (fast, for pipelines); otherwise everything
        until the server closes or stays quiet for `quiet` seconds."""
        __tracebackhide__ = True
        self.setup(proto, db, flush)
        for side in self.sides:
            assert side.conn is not None
            side.conn.send(data)
        got: list[tuple[list[bytes], bytes, bool]] = []
        deadline_s = self.timeout if timeout is None else timeout
        for side in self.sides:
            conn = side.conn
            assert conn is not None
            if replies is not None:
                try:
                    rs = conn.read_replies(replies, timeout=deadline_s)
                    rest = b""
                except (ReplyTimeout, ConnectionClosed) as e:
                    done, rest = split_replies(bytes(e.received))
                    rs = done
                    conn.closed_by_peer = True  # unusable now
                got.append((rs, rest, conn.is_closed(wait=0.05)))
            else:
                got.append(([], b"", False))  # filled below, both sides read at once
        if replies is None:
            for i, data_in in enumerate(self._read_both_until_quiet(quiet, deadline_s)):
                rs, rest = split_replies(data_in)
                got[i] = (rs, rest, bool(self.sides[i].conn.closed_by_peer))  # type: ignore[union-attr]
        self._state = None
        result = StreamResult(got[0][0], got[1][0], got[0][1], got[1][1], got[0][2], got[1][2])
        norm = normalize or exact
        shown = repr(data[:120]) + (f"...({len(data)} bytes)" if len(data) > 120 else "")
        for i in range(max(len(result.left), len(result.right))):
            left = Outcome("reply", result.left[i]) if i < len(result.left) else Outcome("closed")
            right = (
                Outcome("reply", result.right[i]) if i < len(result.right) else Outcome("closed")
            )
            reason = self._judge(left, right, norm)
            if reason is not None:
                skip_if_crossslot(left, shown)
                raise DiffMismatch(
                    self._message(
                        i,
                        max(len(result.left), len(result.right)),
                        f"reply #{i} to stream {shown}",
                        left,
                        right,
                        norm,
                        reason + f" ({len(result.left)} vs {len(result.right)} replies)",
                        [],
                    )
                )
        if result.left_rest != result.right_rest:
            raise DiffMismatch(
                f"after stream {shown}: incomplete trailing data differs: "
                f"{self.names[0]} {result.left_rest[:200]!r} vs {self.names[1]} {result.right_rest[:200]!r}"
            )
        if result.left_closed != result.right_closed:
            raise DiffMismatch(
                f"after stream {shown}: {self.names[0]} "
                f"{'closed' if result.left_closed else 'kept'} the connection, {self.names[1]} "
                f"{'closed' if result.right_closed else 'kept'} it; replies: "
                f"{[show(r, 200) for r in result.left]}"
            )
        return result

    def _read_both_until_quiet(self, quiet: float, timeout: float) -> list[bytes]:
        """Everything each server sends until it closes or both stay silent for `quiet` s."""
        conns = [s.conn for s in self.sides]
        received = [bytearray(), bytearray()]
        deadline = time.monotonic() + timeout
        while True:
            open_ = [c for c in conns if c is not None and not c.closed_by_peer]
            left = min(quiet, deadline - time.monotonic())
            if not open_ or left <= 0:
                break
            readable, _, _ = select.select([c.sock for c in open_], [], [], left)
            if not readable:
                break  # quiet period over
            for i, c in enumerate(conns):
                if c is not None and c.sock in readable:
                    try:
                        chunk = c.sock.recv(1 << 20)
                    except ConnectionResetError:
                        chunk = b""
                    if chunk:
                        received[i] += chunk
                    else:
                        c.closed_by_peer = True
        out = []
        for i, c in enumerate(conns):
            assert c is not None
            out.append(bytes(c.buf) + bytes(received[i]))
            c.buf.clear()
        return out

    # -- judging and reporting --

    @staticmethod
    def _split_entry(entry: object, default: Normalizer | None) -> tuple[object, Normalizer]:
        if (
            isinstance(entry, tuple)
            and len(entry) == 2
            and (isinstance(entry[1], Normalizer) or entry[1] is None)
            and (callable(entry[0]) or isinstance(entry[0], list | tuple))
        ):
            return entry[0], entry[1] or default or exact
        return entry, default or exact

    @staticmethod
    def _judge(left: Outcome, right: Outcome, norm: Normalizer) -> str | None:
        if left.status != right.status:
            return f"outcomes differ: {left.status} vs {right.status}"
        if left.status != "reply":
            return None
        try:
            return norm.compare(left.raw, right.raw)
        except (RespFramingError, ValueError, IndexError, AssertionError) as e:
            return f"{norm.name} could not judge: {e}"

    def _message(
        self,
        index: int,
        total: int,
        shown: str,
        left: Outcome,
        right: Outcome,
        norm: Normalizer,
        reason: str,
        history: list[str],
    ) -> str:
        w = max(len(n) for n in self.names)
        lines = [
            f"{self.names[0]} and {self.names[1]} differ at command #{index} of {total}: {shown}",
            f"  compared by: {norm.name}",
            f"  {self.names[0]:<{w}} : {left.describe()}",
            f"  {self.names[1]:<{w}} : {right.describe()}",
            f"  why: {reason}",
        ]
        if history:
            lines.append("  commands before it in this call: " + "; ".join(history[-8:]))
        return "\n".join(lines)


# Convenience for tests that build big pipelines.
def pipeline_bytes(commands: Sequence[Sequence[object]]) -> bytes:
    return b"".join(encode_command(c) for c in commands)


def wait_until(
    predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.05
) -> object:
    """Poll predicate until truthy (returned) or raise after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


__all__ = [
    "CLIENT_STABLE_FIELDS",
    "Diff",
    "DiffMismatch",
    "Error",
    "Normalizer",
    "Outcome",
    "Side",
    "Simple",
    "StreamResult",
    "Verbatim",
    "anything",
    "both",
    "client_info",
    "error_prefix",
    "exact",
    "fields",
    "floats_close",
    "ignore",
    "ints_close",
    "lines_sorted",
    "pairwise",
    "pipeline_bytes",
    "shape",
    "sorted_",
    "transform",
    "ttl_close",
    "unordered",
    "unordered_pairs",
    "wait_until",
]
