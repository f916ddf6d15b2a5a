"""Typing for the compiled RESP codec (cext/resp.pyx). Import it only through pikadb.protocol."""

from typing import Any, Final

class ProtocolError(ValueError):
    """Bad client frame. str(e) is Redis's text after '-ERR ', e.g.
    'Protocol error: invalid multibulk length'. The only text quoting client input is
    "expected '$', got 'c'", where c is the raw byte as a latin-1 character (Redis sends the raw
    byte): str(e).encode('latin-1') reproduces Redis's reply exactly; every other text is ASCII."""

class Status(str):
    """A RESP simple string reply: +<text>\\r\\n ('\\r'/'\\n' in the text become spaces)."""

class ErrorReply(str):
    """A RESP error reply, full text including the prefix: 'ERR syntax error' -> -ERR syntax error\\r\\n.
    '\\r'/'\\n' become spaces (as Redis does); a text already starting with '-' is not given a second."""

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
    After a ProtocolError the parser is dead: every later gets() raises it again.

    Limits are Redis 7.0's: max_bulk is proto-max-bulk-len (a bulk length above it is
    'invalid bulk length'), max_multibulk is INT_MAX (a count above it is 'invalid multibulk
    length'), max_inline is PROTO_INLINE_MAX_SIZE (more than that many bytes buffered without a
    line end is 'too big inline request' / 'too big mbulk count string' / 'too big bulk count
    string'; like Redis, this is judged on what has been fed when gets() runs).
    """

    def __init__(
        self,
        max_bulk: int = 512 * 1024 * 1024,
        max_multibulk: int = 2147483647,
        max_inline: int = 64 * 1024,
    ) -> None: ...
    max_bulk: int
    """proto-max-bulk-len; may be changed at any time (CONFIG SET)."""
    auth_required: bool
    """Set while the client is not authenticated: like Redis 7.0, a multibulk count > 10 is then
    'Protocol error: unauthenticated multibulk length' and a bulk length > 16384 'Protocol error:
    unauthenticated bulk length'. Update it between gets() calls (after AUTH/HELLO succeeds)."""
    def feed(self, data: bytes) -> None:
        """Append received bytes (other bytes-like objects are accepted, with one extra copy)."""
    def gets(self) -> list[bytes] | None: ...
    def buffered(self) -> int:
        """Bytes fed but not yet consumed into returned commands (for client query-buffer stats)."""

def encode(obj: Any, proto: int = 2) -> bytes:
    """Encode a reply value. bytes/bytearray/memoryview -> bulk; str -> bulk (utf-8; lone
    surrogates from a surrogateescape decode become their original bytes); int -> integer
    (':<digits>' even beyond 64 bits);
    bool -> RESP3 #t/#f, RESP2 :1/:0; None -> RESP2 $-1, RESP3 _; float -> RESP3 ',<double>',
    RESP2 bulk of the same text (Redis 7.0 '%.17g', 'inf', '-inf', 'nan');
    list/tuple -> array; dict -> RESP3 map '%', RESP2 flat array;
    set/frozenset -> RESP3 '~', RESP2 array; Status -> '+'; ErrorReply -> '-'; Verbatim;
    Push -> RESP3 '>', RESP2 '*'; BigNumber; RawReply as is; NULL_ARRAY -> RESP2 *-1, RESP3 _.
    Anything else raises TypeError."""

def encode_command(args: list[bytes | str | int] | tuple[bytes | str | int, ...]) -> bytes:
    """Encode a command as a RESP multibulk (what clients, replication and tests send).
    str is utf-8, int decimal, float repr(); bool and anything else raise TypeError."""

def format_double(d: float) -> bytes:
    """Redis 7.0's addReplyDouble text: b'inf', b'-inf', b'nan' or '%.17g'
    (0.1 -> b'0.10000000000000001', 1e16 -> b'10000000000000000', 1e17 -> b'1e+17',
    -0.0 -> b'-0')."""

def ld_add(a: bytes, incr: bytes) -> bytes:
    """INCRBYFLOAT arithmetic exactly as Redis 7.0: parse both as C long double like string2ld
    (strtold; empty, >= 5120 bytes, leading/trailing space, trailing garbage, nan, overflow and
    underflow to 0 -> ValueError('ERR value is not a valid float')), add, reject a nan/inf result
    (OverflowError('ERR increment would produce NaN or Infinity')), and format like
    ld2string(LD_STR_HUMAN): '%.17Lf' with trailing zeros (and a trailing '.') removed,
    '-0' -> '0'. 'inf' is a valid operand for string2ld, so INCRBYFLOAT k inf is the
    OverflowError, as in Redis. Hex ('0x10'), '+1', '.5', '1.' are accepted. A missing key is a=b'0'."""

def parse_ld(s: bytes) -> bool:
    """True if s is a valid long double string the way Redis's string2ld accepts it."""
