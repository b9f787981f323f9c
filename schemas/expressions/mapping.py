"""Mappings: a nested dict/list template whose expression strings are compiled in place.

The whole mapping compiles to one generated function that builds the output with dict and
list displays, so ``apply`` costs about what a hand-written dict literal costs. Which strings
are expressions is decided by ``is_expression_string`` (docs/expressions.md, "Mappings").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .codegen import Gen
from .context import Context
from .errors import ExpressionError, ExpressionSyntaxError
from .expression import compile_expression, expression_text, is_expression_string
from .limits import MAX_MAPPING_DEPTH
from .parser import parse

__all__ = ["Mapping", "compile_mapping"]

_INLINE_DEPTH = 12  # deeper expressions are called as their own function (Python nesting limit)


class Mapping:
    """A compiled mapping. ``apply(ctx) -> Any`` builds a new output (new dicts/lists) per call.

    ``source`` is the mapping object it was compiled from.
    """

    __slots__ = ("source", "apply", "_fields")

    source: Any
    apply: Callable[[Context], Any]

    def __init__(
        self, source: Any, apply: Callable[[Context], Any], fields: list[tuple[str, str]]
    ) -> None:
        self.source = source
        self.apply = apply
        self._fields = fields

    def __repr__(self) -> str:
        return f"Mapping({self.source!r})"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Builder:
    """Two passes: parse every expression field (so shared lookups are found), then generate."""

    def __init__(self) -> None:
        self.gen = Gen("<mapping>")
        self.fields: list[tuple[str, str]] = []
        self.parsed: dict[str, Any] = {}

    def collect(self, value: Any, path: str, depth: int) -> None:
        if depth > MAX_MAPPING_DEPTH:
            raise ExpressionSyntaxError(
                f"mapping nests deeper than {MAX_MAPPING_DEPTH} levels",
                source="",
                column=1,
                path=path,
            )
        if isinstance(value, dict):
            for k, v in value.items():
                self.collect(v, _join(path, str(k)), depth + 1)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                self.collect(v, _join(path, i), depth + 1)
        elif isinstance(value, str) and is_expression_string(value):
            try:
                self.parsed[path] = parse(expression_text(value))
            except ExpressionSyntaxError as err:
                raise err.at_path(path or "<root>") from None

    def code(self, value: Any, path: str, depth: int) -> str:
        if depth > MAX_MAPPING_DEPTH:
            raise ExpressionSyntaxError(
                f"mapping nests deeper than {MAX_MAPPING_DEPTH} levels",
                source="",
                column=1,
                path=path,
            )
        gen = self.gen
        if isinstance(value, dict):
            items = []
            for k, v in value.items():
                if not isinstance(k, str):
                    raise ExpressionSyntaxError(
                        f"mapping keys must be strings, got {type(k).__name__}",
                        source=repr(k),
                        column=1,
                        path=path or None,
                    )
                items.append(f"{gen.lit(k)}: {self.code(v, _join(path, k), depth + 1)}")
            return "{" + ", ".join(items) + "}"
        if isinstance(value, (list, tuple)):
            return (
                "["
                + ", ".join(self.code(v, _join(path, i), depth + 1) for i, v in enumerate(value))
                + "]"
            )
        if isinstance(value, str) and is_expression_string(value):
            return self.expression(expression_text(value), path)
        if value is None or isinstance(value, (str, bool, int, float)):
            return gen.lit(value)
        raise ExpressionSyntaxError(
            f"unsupported mapping value of type {type(value).__name__}",
            source=repr(value)[:200],
            column=1,
            path=path or None,
        )

    def expression(self, text: str, path: str) -> str:
        try:
            node = self.parsed[path]
            self.fields.append((path, text))
            if node.depth > _INLINE_DEPTH:
                fn = compile_expression(text).evaluate
                return f"{self.gen.const(fn)}(ctx)"
            self.gen.source = text  # so compile-time errors name the right expression
            return self.gen.expr(node)
        except ExpressionSyntaxError as err:
            raise err.at_path(path or "<root>") from None


def _diagnose(
    fields: list[tuple[str, str]],
) -> Callable[[Context, ExpressionError], ExpressionError]:
    """Find which field failed by evaluating them one by one (only runs after an error)."""

    def diagnose(ctx: Context, err: ExpressionError) -> ExpressionError:
        for path, text in fields:
            try:
                compile_expression(text).evaluate(ctx)
            except ExpressionError as located:
                located.path = path
                located.message = f"at {path}: {located.message}"
                located.args = (located.message,)
                return located
        return err

    return diagnose


def compile_mapping(obj: Any) -> Mapping:
    """Compile a nested dict/list whose expression strings become expressions.

    Raises ExpressionSyntaxError with ``.path`` (e.g. ``alert.threshold``) for invalid fields.
    """
    builder = _Builder()
    builder.collect(obj, "", 0)
    builder.gen.count_repeats(list(builder.parsed.values()))
    body = builder.code(obj, "", 0)
    gen = builder.gen
    gen.source = "<mapping>"
    source = gen.function("_apply", [], body)
    # Errors go through the diagnosis so they name the failing field.
    source = source.replace(
        "raise _located(_x, _SRC) from None", "raise _diagnose(ctx, _x) from None"
    ).replace("raise _wrap(_x, _SRC) from _x", "raise _diagnose(ctx, _wrap(_x, _SRC)) from _x")
    namespace = gen.build([source], {"_diagnose": _diagnose(builder.fields)})
    return Mapping(obj, namespace["_apply"], builder.fields)
