"""Argument parsing shared by command handlers, so errors are uniform (Redis's texts).

* int_arg / int32_arg / uint_arg: Redis's string2ll-based getters with their error texts.
* ArgCursor: walks optional arguments (`eat("NX")`, `take_int()`), for commands with free
  options.
* parse_options: a declarative table of options (name, takes a value, conflicts), the way
  Redis's parseExtendedStringArgumentsOrReply works: a conflicting option, an unknown word
  or a missing value is "ERR syntax error"; repeating an option is allowed (last wins).
"""

from __future__ import annotations

from dataclasses import dataclass

from pikadb import errors
from pikadb.errors import CommandError
from pikadb.storage.strings import parse_int

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

__all__ = [
    "ArgCursor",
    "Option",
    "int32_arg",
    "int_arg",
    "parse_int",
    "parse_options",
    "syntax_error",
]


def syntax_error() -> CommandError:
    return CommandError(errors.SYNTAX)


def int_arg(b: bytes, error: str = errors.NOT_INTEGER) -> int:
    """getLongLongFromObjectOrReply: a signed 64-bit integer or `error`."""
    v = parse_int(b)
    if v is None:
        raise CommandError(error)
    return v


INT32_RANGE = f"ERR value is out of range, value must between {INT32_MIN} and {INT32_MAX}"


def int32_arg(b: bytes, error: str | None = None) -> int:
    """getIntFromObjectOrReply (DB indexes and other C ints). Like Redis, a custom `error`
    text replaces both failures; without one, a non-integer and an out-of-range value get
    their own texts."""
    v = parse_int(b)
    if v is None:
        raise CommandError(error or errors.NOT_INTEGER)
    if not INT32_MIN <= v <= INT32_MAX:
        raise CommandError(error or INT32_RANGE)
    return v


class ArgCursor:
    """Optional arguments argv[start:], consumed left to right."""

    __slots__ = ("argv", "i")

    def __init__(self, argv: list[bytes], start: int) -> None:
        self.argv = argv
        self.i = start

    def __bool__(self) -> bool:
        return self.i < len(self.argv)

    def remaining(self) -> int:
        return len(self.argv) - self.i

    def eat(self, word: bytes) -> bool:
        """Consume the next argument if it is `word` (case-insensitive)."""
        if self.i < len(self.argv) and self.argv[self.i].upper() == word:
            self.i += 1
            return True
        return False

    def next_upper(self) -> bytes:
        w = self.take()
        return w.upper()

    def take(self) -> bytes:
        if self.i >= len(self.argv):
            raise syntax_error()
        a = self.argv[self.i]
        self.i += 1
        return a

    def take_int(self, error: str = errors.NOT_INTEGER) -> int:
        return int_arg(self.take(), error)


@dataclass(frozen=True)
class Option:
    takes_value: bool = False
    conflicts: frozenset[bytes] = frozenset()


def options(**spec: tuple[bool, str]) -> dict[bytes, Option]:
    """options(EX=(True, "PX EXAT"), NX=(False, "XX")): the table parse_options reads."""
    return {
        name.encode(): Option(takes_value, frozenset(w.encode() for w in conflicts.split()))
        for name, (takes_value, conflicts) in spec.items()
    }


def parse_options(
    argv: list[bytes], start: int, table: dict[bytes, Option]
) -> dict[bytes, bytes | None]:
    """-> {OPTION: value or None}. Unknown, conflicting or value-less options: syntax error."""
    seen: dict[bytes, bytes | None] = {}
    i, n = start, len(argv)
    while i < n:
        name = argv[i].upper()
        opt = table.get(name)
        if opt is None or not opt.conflicts.isdisjoint(seen):
            raise syntax_error()
        if opt.takes_value:
            if i + 1 >= n:
                raise syntax_error()
            seen[name] = argv[i + 1]
            i += 2
        else:
            seen[name] = None
            i += 1
    return seen
