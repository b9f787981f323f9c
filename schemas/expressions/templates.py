"""Templates: text with ``{{ expr }}`` and ``${ expr }`` placeholders, compiled to one function.

Rendering: null → empty, strings as-is, numbers as in JSON (``10``, ``99.99``, ``10.0``),
booleans ``true``/``false``, objects and lists as compact JSON. A placeholder's value is
inserted as text and never rendered again, so event data cannot inject placeholders.
``\\{{`` and ``\\${`` write the characters literally.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from . import nodes as n
from .codegen import Gen
from .context import Context
from .errors import ExpressionSyntaxError
from .limits import MAX_SOURCE_LENGTH, MAX_STRING_LENGTH
from .parser import parse

__all__ = ["Template", "compile_template"]

_FEW = 16  # up to this many placeholders the size check is inlined


class Template:
    """A compiled template. ``render(ctx) -> str`` is the generated function itself.

    ``source`` is the template text; ``is_constant`` is true when it has no placeholders
    (``render`` then returns the text with escapes applied, without evaluating anything).
    """

    __slots__ = ("source", "render", "is_constant")

    source: str
    render: Callable[[Context], str]
    is_constant: bool

    def __init__(self, source: str, render: Callable[[Context], str], is_constant: bool) -> None:
        self.source = source
        self.render = render
        self.is_constant = is_constant

    def __repr__(self) -> str:
        return f"Template({self.source!r})"


def _line_col(text: str, pos: int) -> tuple[int, int]:
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _find_end(text: str, start: int, closer: str) -> int:
    """Index of ``closer`` ending the placeholder body at ``start`` (skips strings, braces)."""
    depth, quote, i = 0, "", start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif depth == 0 and text.startswith(closer, i):
            return i
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        i += 1
    return -1


def split_template(text: str) -> list[str | tuple[int, str]]:
    """Literal text pieces and (offset, expression text) placeholders, in order."""
    parts: list[str | tuple[int, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith(("\\{{", "\\${"), i):
            literal.append(text[i + 1 : i + 3])
            i += 3
            continue
        opener = "{{" if text.startswith("{{", i) else "${" if text.startswith("${", i) else ""
        if not opener:
            literal.append(text[i])
            i += 1
            continue
        closer = "}}" if opener == "{{" else "}"
        end = _find_end(text, i + 2, closer)
        if end < 0:
            line, col = _line_col(text, i)
            raise ExpressionSyntaxError(
                f"unterminated placeholder: {opener} has no closing {closer}",
                source=text,
                column=col,
                line=line,
                expected=[repr(closer)],
            )
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append((i + 2, text[i + 2 : end]))
        i = end + len(closer)
    if literal:
        parts.append("".join(literal))
    return parts


def _parse_at(text: str, offset: int, body: str) -> n.Node:
    """Parse a placeholder body, reporting errors at their position in the whole template."""
    try:
        return parse(body)
    except ExpressionSyntaxError as err:
        lines = body.split("\n")
        pos = sum(len(x) + 1 for x in lines[: err.line - 1]) + err.column - 1
        line, col = _line_col(text, offset + pos)
        raise ExpressionSyntaxError(
            err.message, source=text, column=col, line=line, expected=err.expected
        ) from None


def compile_template(text: str) -> Template:
    """Compile a template once; raise ExpressionSyntaxError (column in the template) if invalid."""
    if not isinstance(text, str):
        raise ExpressionSyntaxError("a template must be a string", source=repr(text), column=1)
    if len(text) > MAX_SOURCE_LENGTH:
        raise ExpressionSyntaxError(
            f"template is {len(text)} characters long, the limit is {MAX_SOURCE_LENGTH}",
            source=text[:200],
            column=1,
        )
    return _compile(text)


@lru_cache(maxsize=4096)
def _compile(text: str) -> Template:
    parts = split_template(text)
    nodes = [(_parse_at(text, p[0], p[1]), p[0]) for p in parts if isinstance(p, tuple)]
    literals = "".join(p for p in parts if isinstance(p, str))
    if not nodes:

        def constant(ctx: Context) -> str:
            return literals

        return Template(text, constant, True)
    gen = Gen(text)
    gen.count_repeats([node for node, _ in nodes])
    body: list[str] = []
    names: list[str] = []
    for node, offset in nodes:
        try:
            code = gen.expr(node)
        except ExpressionSyntaxError as err:  # unknown function etc.: locate it in the template
            line, col = _line_col(text, offset + err.column - 1)
            raise ExpressionSyntaxError(
                err.message, source=text, column=col, line=line, expected=err.expected
            ) from None
        b, t = gen.bind(code)
        name = gen.tmp("_p")
        body.append(f"{name} = {t} if type({b}) is str else _text({t})")
        names.append(name)
    room = MAX_STRING_LENGTH - len(literals)
    if len(names) <= _FEW:
        total = " + ".join(f"len({p})" for p in names)
        body.append(f"if {total} > {room}: _tlong({total} + {len(literals)})")
    else:  # a flat tuple: a long `+` chain would nest too deeply for Python's compiler
        total = "sum(map(len, (" + ", ".join(names) + ",)))"
        body.append(f"if {total} > {room}: _tlong({total} + {len(literals)})")
    fmt = "".join(p.replace("%", "%%") if isinstance(p, str) else "%s" for p in parts)
    returns = f"{gen.const(fmt)} % ({', '.join(names)},)"
    namespace = gen.build([gen.function("_render", body, returns)], {"sum": sum, "map": map})
    return Template(text, namespace["_render"], False)
