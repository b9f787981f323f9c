"""Compiled expressions: ``compile_expression`` and the literal-vs-expression string rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .codegen import Gen
from .context import Context
from .errors import ExpressionSyntaxError
from .operators import is_bool
from .parser import parse

__all__ = ["Expression", "compile_expression", "is_expression_string", "expression_text"]

_CALL_START = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\(")


class Expression:
    """A compiled expression. Compile with ``compile_expression``; evaluate many times.

    ``evaluate(ctx) -> Any``: the value; raises ExpressionLimitError / ExpressionEvaluationError.
    ``matches(ctx) -> bool``: condition semantics, True only when the value ``is True``.
    Both are the generated functions themselves (instance attributes, not methods), so a call
    costs exactly one Python call on the hot path.
    """

    __slots__ = ("source", "evaluate", "matches")

    source: str
    evaluate: Callable[[Context], Any]
    matches: Callable[[Context], bool]

    def __init__(
        self, source: str, evaluate: Callable[[Context], Any], matches: Callable[[Context], bool]
    ) -> None:
        self.source = source
        self.evaluate = evaluate
        self.matches = matches

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def compile_expression(text: str) -> Expression:
    """Parse and compile ``text`` once; raise ExpressionSyntaxError (with column) when invalid.

    Results are cached by source text: compiled expressions are immutable.
    """
    if not isinstance(text, str):
        raise ExpressionSyntaxError("an expression must be a string", source=repr(text), column=1)
    return _compile(text)


@lru_cache(maxsize=4096)
def _compile(text: str) -> Expression:
    tree = parse(text)
    gen = Gen(text)
    gen.count_repeats([tree])
    body = gen.expr(tree)
    test = body if is_bool(tree) else f"({body} is True)"
    namespace = gen.build([gen.function("_evaluate", [], body), gen.function("_matches", [], test)])
    return Expression(text, namespace["_evaluate"], namespace["_matches"])


def is_expression_string(s: str) -> bool:
    """Whether a mapping string value is an expression (else it is a literal string).

    After stripping whitespace, a string is an expression iff it starts with ``$``, a quote
    (``'`` or ``"``), ``(`` or ``=`` (a leading ``=`` is dropped: ``=lower($.name)``), or it
    is a function call ``name(…`` with no space before the parenthesis. So ``staging`` and
    ``order-confirmation`` stay literal strings while ``$.image`` and ``lower($.x)`` compile.
    """
    if not isinstance(s, str):
        return False
    text = s.strip()
    if not text:
        return False
    return text[0] in "$'\"(=" or _CALL_START.match(text) is not None


def expression_text(s: str) -> str:
    """The expression source of a mapping string that ``is_expression_string``: ``=`` dropped."""
    text = s.strip()
    return text[1:] if text.startswith("=") else text
