"""Typing for the compiled RESP codec (cext/resp.pyx). Import it only through pikadb.protocol."""

from typing import Any, Final

class ProtocolError(ValueError):
    """Bad client frame. str(e) is Redis's text after '-ERR ', e.g.
    'Protocol error: invalid multibulk length'."""

class Status(str):
    """A RESP simple string reply: +<text>\\r\\n."""

class ErrorReply(str):
    """A RESP error reply, full text including the prefix: 'ERR syntax error' -> -ERR syntax error\\r\\n."""

class Verbatim(str):
    """Verbatim text (RESP3 '=' with 'txt:' prefix; RESP2 bulk string)."""

class Push(list[Any]):
    """Out-of-band push (RESP3 '>'; RESP2 plain array)."""

class BigNumber(int):
    """RESP3 '(' big number (RESP2: bulk string of the digits)."""

class RawReply(bytes):
    """Already-encoded reply bytes, written as they are."""

NULL_ARRAY: Final[object]  # RESP2 *-1 / RESP3 _

class Parser:
    """Incremental request parser (multibulk and inline), sans-IO.

    feed(data) appends bytes; gets() returns the next complete command as a list of bytes
    arguments, or None when more input is needed. A malformed frame raises ProtocolError;
    commands before it were already returned by earlier gets() calls.
    Empty inline lines and '*0' / '*-1' multibulks are skipped (as Redis does).
    """

    def __init__(
        self,
        max_bulk: int = 512 * 1024 * 1024,
        max_multibulk: int = 1024 * 1024 * 1024,
        max_inline: int = 64 * 1024,
    ) -> None: ...
    max_bulk: int
    def feed(self, data: bytes) -> None: ...
    def gets(self) -> list[bytes] | None: ...
    def buffered(self) -> int:
        """Bytes fed but not yet consumed into returned commands (for client query-buffer stats)."""

def encode(obj: Any, proto: int = 2) -> bytes:
    """Encode a reply value. bytes/bytearray/memoryview -> bulk; str -> bulk (utf-8); int -> integer;
    bool -> RESP3 #t/#f, RESP2 :1/:0; None -> RESP2 $-1, RESP3 _; float -> RESP3 ',<double>',
    RESP2 bulk of the same text (Redis 7.0 '%.17g', 'inf', '-inf', 'nan');
    list/tuple -> array; dict -> RESP3 map '%', RESP2 flat array;
    set/frozenset -> RESP3 '~', RESP2 array; Status -> '+'; ErrorReply -> '-'; Verbatim;
    Push -> RESP3 '>', RESP2 '*'; BigNumber; RawReply as is; NULL_ARRAY -> RESP2 *-1, RESP3 _.
    Anything else raises TypeError."""

def encode_command(args: list[bytes | str | int]) -> bytes:
    """Encode a command as a RESP multibulk (what clients, replication and tests send)."""

def format_double(d: float) -> bytes:
    """Redis 7.0's addReplyDouble text: b'inf', b'-inf', b'nan' or '%.17g'."""

def ld_add(a: bytes, incr: bytes) -> bytes:
    """INCRBYFLOAT arithmetic exactly as Redis: parse both as C long double (strtold, rejecting
    spaces, empty, nan/inf inputs -> ValueError), add, reject nan/inf result (OverflowError), and
    format like Redis's ld2string(LD_STR_HUMAN): '%.17Lf' with trailing zeros (and a trailing '.')
    removed, '-0' -> '0'."""

def parse_ld(s: bytes) -> bool:
    """True if s is a valid long double string the way Redis's string2ld accepts it."""
