"""SQL LIKE matching without backtracking: ``%`` any run, ``_`` one character, ``\\`` escapes.

A pattern is split at ``%`` into fixed-length segments; matching the first segment at the
start, the last at the end and each middle one at its leftmost position is exact for such
patterns and costs O(len(text) × len(segment)) at worst, so hostile patterns like
``%a%a%a%a%b`` cannot blow up the way a translated regex ``.*a.*a.*a.*a.*b`` would.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .limits import MAX_STRING_LENGTH, charge

ANY_ONE = None  # marker for `_` inside a segment


class LikePattern:
    """A compiled LIKE pattern; ``match(text)`` is the whole-string match."""

    __slots__ = ("segments", "insensitive", "_finders", "simple")

    def __init__(self, pattern: str, insensitive: bool = False) -> None:
        if insensitive:
            pattern = pattern.lower()
        self.insensitive = insensitive
        self.segments = _split(pattern)
        # simple: no `_` anywhere, so plain string methods implement the match.
        self.simple = all(ANY_ONE not in seg for seg in self.segments)
        self._finders = [_finder(seg) for seg in self.segments]

    def literal_parts(self) -> list[str]:
        """The segments as strings (only meaningful when ``simple``)."""
        return ["".join(c for c in seg if c is not None) for seg in self.segments]

    def match(self, text: str) -> bool:
        if self.insensitive:
            text = text.lower()
        finders, n = self._finders, len(self.segments)
        if n == 1:
            return len(text) == len(self.segments[0]) and finders[0](text, 0, True, len(text)) == 0
        first, last = self.segments[0], self.segments[-1]
        if len(text) < len(first) + len(last):
            return False
        end = len(text) - len(last)
        if finders[0](text, 0, True, end) != 0 or finders[-1](text, end, True, len(text)) != end:
            return False
        pos = len(first)
        for i in range(1, n - 1):
            found = finders[i](text, pos, False, end)
            if found < 0:
                return False
            pos = found + len(self.segments[i])
        return True


def _split(pattern: str) -> list[tuple[str | None, ...]]:
    segments: list[tuple[str | None, ...]] = []
    current: list[str | None] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            current.append(pattern[i + 1])
            i += 2
            continue
        if ch == "%":
            segments.append(tuple(current))
            current = []
        else:
            current.append(ANY_ONE if ch == "_" else ch)
        i += 1
    segments.append(tuple(current))
    return segments


def _finder(seg: tuple[str | None, ...]):  # type: ignore[no-untyped-def]
    """A function (text, pos, anchored, end) -> match position or -1 for one segment."""
    if ANY_ONE not in seg:
        lit = "".join(c for c in seg if c is not None)

        def find_literal(text: str, pos: int, anchored: bool, end: int) -> int:
            if anchored:
                return pos if text.startswith(lit, pos, end) else -1
            return text.find(lit, pos, end)

        return find_literal
    # A quantifier-free regex: linear in the text for a fixed segment length.
    rx = re.compile("".join("." if c is None else re.escape(c) for c in seg), re.DOTALL)

    def find_wild(text: str, pos: int, anchored: bool, end: int) -> int:
        m = rx.match(text, pos, end) if anchored else rx.search(text, pos, end)
        return m.start() if m else -1

    return find_wild


@lru_cache(maxsize=256)
def compile_like(pattern: str, insensitive: bool) -> LikePattern:
    """Compile (and cache) a LIKE pattern that is only known at run time."""
    return LikePattern(pattern, insensitive)


def like(b: list[int], text: object, pattern: object, insensitive: bool) -> bool:
    """``text LIKE pattern`` for run-time values; false unless both are strings."""
    if type(text) is not str or type(pattern) is not str or len(pattern) > MAX_STRING_LENGTH:
        return False
    charge(b, len(text) >> 4)
    return compile_like(pattern, insensitive).match(text)


def like_general(b: list[int], compiled: LikePattern, text: object) -> bool:
    """Match a compile-time LIKE pattern that needs the general algorithm."""
    if type(text) is not str:
        return False
    charge(b, len(text) >> 4)
    return compiled.match(text)
