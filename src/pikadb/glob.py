"""Redis glob matching (util.c stringmatchlen), for KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE.

    stringmatch(pattern, string, nocase=False) -> bool

Semantics copied from Redis 7.0, quirks included:
  * `*` any run of bytes, `?` one byte, `\\x` a literal x, a trailing `\\` is a literal `\\`;
  * `[...]` one byte from a set: `^` first negates, `a-z` ranges (reversed ranges such as
    `z-a` work, bounds compare as C *signed* chars), `\\x` inside is a literal x compared
    case-sensitively even with nocase; an unterminated `[` takes the rest of the pattern as
    its set; `[a-]` is the range a..`]`, so it is unterminated too;
  * nocase lowercases ASCII only (C locale tolower);
  * an empty string matches only the empty pattern (Redis never lets `*` match an empty
    string on its own: KEYS/SCAN special-case the pattern "*" to include the empty key);
  * more than 1000 `*` groups followed by more pattern never match (Redis's recursion
    limit against abusive patterns).

Implementation: a pattern compiles once (LRU cache) into fixed-width segments split at the
`*` groups, each segment a bytes regex of single-byte classes. A string matches when the
first segment matches its start, the last its end, and the middle ones, searched
left-to-right without overlap, fit in between: leftmost placement of fixed-width segments
is optimal, so this is exact and linear, where a backtracking regex for `*a*a*a...` is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

_STAR = None
_MAX_STAR_NESTING = 1000


def _tolower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c


def _signed(c: int) -> int:
    return c - 256 if c >= 128 else c


def _bracket_set(items: list[tuple[str, int, int]], negate: bool, nocase: bool) -> frozenset[int]:
    """Evaluate Redis's bracket loop for every possible byte."""
    out = set()
    for v in range(256):
        sv = _signed(v)
        match = False
        for kind, a, b in items:
            if kind == "esc":
                if a == v:
                    match = True
            elif kind == "range":
                start, end, c = _signed(a), _signed(b), sv
                if start > end:
                    start, end = end, start
                if nocase:
                    start, end, c = _tolower(start), _tolower(end), _tolower(c)
                if start <= c <= end:
                    match = True
            elif (a == v) if not nocase else (_tolower(a) == _tolower(v)):
                match = True
        if match != negate:
            out.add(v)
    return frozenset(out)


def _tokens(pat: bytes, nocase: bool) -> list[frozenset[int] | None]:
    """The pattern as a list of _STAR and one-byte sets, parsed as stringmatchlen does."""
    n = len(pat)

    def at(j: int) -> int:
        return pat[j] if j < n else 0  # the C string's NUL terminator

    toks: list[frozenset[int] | None] = []
    i = 0
    while i < n:
        c = pat[i]
        if c == 0x2A:  # *
            while at(i + 1) == 0x2A and i + 1 < n:
                i += 1
            toks.append(_STAR)
            i += 1
        elif c == 0x3F:  # ?
            toks.append(frozenset(range(256)))
            i += 1
        elif c == 0x5B:  # [
            i += 1
            negate = at(i) == 0x5E and i < n
            if negate:
                i += 1
            items: list[tuple[str, int, int]] = []
            while True:
                left = n - i
                if at(i) == 0x5C and left >= 2:
                    i += 1
                    items.append(("esc", pat[i], 0))
                elif at(i) == 0x5D and left > 0:
                    break
                elif left == 0:
                    i -= 1
                    break
                elif left >= 3 and at(i + 1) == 0x2D:
                    items.append(("range", pat[i], pat[i + 2]))
                    i += 2
                else:
                    items.append(("lit", pat[i], 0))
                i += 1
            i += 1
            toks.append(_bracket_set(items, negate, nocase))
        else:
            if c == 0x5C and n - i >= 2:  # backslash escape
                i += 1
                c = pat[i]
            if nocase:
                lc = _tolower(c)
                toks.append(frozenset(v for v in range(256) if _tolower(v) == lc))
            else:
                toks.append(frozenset((c,)))
            i += 1
    return toks


def _class_regex(s: frozenset[int]) -> bytes:
    if len(s) == 256:
        return b"."
    if not s:
        return b"(?!)"
    if len(s) == 1:
        return re.escape(bytes(s))
    vals = sorted(s)
    parts = []
    start = prev = vals[0]
    for v in [*vals[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(b"\\x%02x" % start if start == prev else b"\\x%02x-\\x%02x" % (start, prev))
        if v is not None:
            start = prev = v
    return b"[" + b"".join(parts) + b"]"


def _never(s: bytes) -> bool:
    return False


@lru_cache(maxsize=512)
def compile_pattern(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A predicate string -> bool equivalent to stringmatch(pattern, string, nocase)."""
    if pattern == b"*":
        return bool  # every non-empty string
    toks = _tokens(pattern, nocase)
    segments: list[list[frozenset[int]]] = [[]]
    for t in toks:
        if t is _STAR:
            segments.append([])
        else:
            segments[-1].append(t)
    nstars = len(segments) - 1
    # Star groups followed by more pattern are Redis recursion levels.
    inner_stars = nstars - (1 if toks and toks[-1] is _STAR else 0)
    if inner_stars > _MAX_STAR_NESTING:
        return _never
    regs = [re.compile(b"".join(_class_regex(c) for c in seg), re.DOTALL) for seg in segments]
    widths = [len(seg) for seg in segments]

    if nstars == 0:
        full = regs[0].fullmatch
        return lambda s: bool(s) and full(s) is not None if pattern else not s

    first, last = regs[0], regs[-1]
    w_first, w_last = widths[0], widths[-1]
    middle = list(zip(regs[1:-1], widths[1:-1], strict=True))
    min_len = max(1, sum(widths))

    def match(s: bytes) -> bool:
        n = len(s)
        if n < min_len:
            return False
        if w_first and first.match(s) is None:
            return False
        end = n - w_last
        if w_last and last.match(s, end) is None:
            return False
        pos = w_first
        for reg, w in middle:
            if w == 0:
                continue
            m = reg.search(s, pos, end)
            if m is None:
                return False
            pos = m.end()
        return True

    return match


def stringmatch(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    return compile_pattern(pattern, nocase)(string)


def literal_prefix(pattern: bytes) -> bytes:
    """The bytes every match must start with (KEYS/SCAN seek there), for case-sensitive use."""
    out = bytearray()
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c in b"*?[":
            break
        if c == 0x5C:
            if i + 1 >= n:
                out.append(c)
                break
            i += 1
            c = pattern[i]
        out.append(c)
        i += 1
    return bytes(out)
