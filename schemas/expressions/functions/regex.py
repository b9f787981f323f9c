"""Safe regular expressions: a syntax guard, then google-re2 when installed, else Python ``re``.

The guard always runs, so the accepted patterns are the same with either engine: no
backreferences, lookarounds, atomic groups or possessive quantifiers (RE2 has none), no
nested variable quantifiers such as ``(a+)+`` and no repeated alternation whose branches can
start with the same character such as ``(a|ab)*`` (the classic catastrophic-backtracking
shapes). With google-re2 matching is linear-time; without it the text a regex may scan is
capped at MAX_REGEX_INPUT_BACKTRACKING characters, because even guarded patterns such as
``\\w+\\s+\\w+x`` are quadratic under backtracking.
"""

from __future__ import annotations

import re
import re._constants as C  # noqa: N812 - the sre opcode table
import re._parser as sre_parse
from functools import lru_cache
from typing import Any

from ..errors import ExpressionEvaluationError, ExpressionLimitError
from ..limits import MAX_REGEX_INPUT_BACKTRACKING, MAX_REGEX_INPUT_RE2, MAX_REGEX_LENGTH

try:  # pragma: no cover - depends on the environment
    import re2 as _re2
except ImportError:  # pragma: no cover
    _re2 = None

ENGINE = "re2" if _re2 is not None else "re"
MAX_INPUT = MAX_REGEX_INPUT_RE2 if _re2 is not None else MAX_REGEX_INPUT_BACKTRACKING

_REPEATS = {C.MAX_REPEAT, C.MIN_REPEAT}
_FORBIDDEN = {
    C.GROUPREF: "backreferences",
    C.GROUPREF_EXISTS: "conditional groups",
    C.ASSERT: "lookaround assertions",
    C.ASSERT_NOT: "lookaround assertions",
    C.ATOMIC_GROUP: "atomic groups",
    C.POSSESSIVE_REPEAT: "possessive quantifiers",
}
_ALLOWED_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.UNICODE


class UnsafePattern(ValueError):
    """The pattern is refused by the guard (message says why)."""


def check_pattern(pattern: str) -> None:
    """Raise UnsafePattern unless ``pattern`` is short, RE2-compatible and backtracking-safe."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise UnsafePattern(f"regex is longer than {MAX_REGEX_LENGTH} characters")
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise UnsafePattern(f"invalid regex: {exc}") from None
    if parsed.state.flags & ~_ALLOWED_FLAGS:
        raise UnsafePattern("only the i, m and s regex flags are allowed")
    _walk(list(parsed), in_repeat=False)


def _walk(items: list[tuple[Any, Any]], in_repeat: bool) -> None:
    for op, av in items:
        if op in _FORBIDDEN:
            raise UnsafePattern(f"{_FORBIDDEN[op]} are not allowed in regexes")
        if op in _REPEATS:
            lo, hi, sub = av
            repeats = hi is C.MAXREPEAT or hi > 1
            if repeats and in_repeat and lo != hi:
                raise UnsafePattern("nested quantifiers such as (a+)+ are not allowed")
            if repeats:
                _check_branches(list(sub))
            _walk(list(sub), in_repeat or (repeats and lo != hi))
        elif op == C.SUBPATTERN:
            _walk(list(av[3]), in_repeat)
        elif op == C.BRANCH:
            for branch in av[1]:
                _walk(list(branch), in_repeat)


def _check_branches(items: list[tuple[Any, Any]]) -> None:
    # A repeated alternation whose branches can start alike backtracks exponentially.
    for op, av in items:
        if op == C.SUBPATTERN:
            _check_branches(list(av[3]))
        elif op == C.BRANCH:
            seen: set[Any] = set()
            for branch in av[1]:
                first = _first_chars(list(branch))
                if first is None or first & seen:
                    raise UnsafePattern(
                        "a repeated alternation whose branches can start with the same "
                        "character, such as (a|ab)*, is not allowed"
                    )
                seen |= first


def _first_chars(items: list[tuple[Any, Any]]) -> set[Any] | None:
    """The set of characters a sequence can start with, or None when unknown/any."""
    if not items:
        return None
    op, av = items[0]
    if op == C.LITERAL:
        return {av}
    if op == C.SUBPATTERN:
        return _first_chars(list(av[3]))
    if op == C.IN and all(o == C.LITERAL for o, _ in av):
        return {v for _, v in av}
    return None


@lru_cache(maxsize=512)
def compile_regex(pattern: str) -> Any:
    """Check and compile ``pattern`` (cached); raise ExpressionEvaluationError when refused."""
    try:
        check_pattern(pattern)
    except UnsafePattern as exc:
        raise ExpressionEvaluationError(str(exc)) from None
    try:
        return _re2.compile(pattern) if _re2 is not None else re.compile(pattern)
    except Exception as exc:  # noqa: BLE001 - each engine has its own error type
        raise ExpressionEvaluationError(f"invalid regex: {exc}") from None


def check_input(text: str) -> None:
    """Refuse texts longer than the engine's input cap (see the module docstring)."""
    if len(text) > MAX_INPUT:
        raise ExpressionLimitError(
            f"regex input of {len(text)} characters exceeds the limit of {MAX_INPUT} "
            f"(engine: {ENGINE})"
        )
