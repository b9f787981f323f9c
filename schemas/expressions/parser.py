"""Parse expression text into the syntax tree of ``nodes`` (at compile time only)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import nodes as n
from .errors import ExpressionSyntaxError
from .grammar import GRAMMAR
from .limits import MAX_NESTING, MAX_SOURCE_LENGTH

__all__ = ["parse"]

# How terminals are named in "expected one of …" messages.
_DISPLAY = {
    "NAME": "name",
    "NUMBER": "number",
    "STRING": "string",
    "COMPOP": "comparison",
    "AND": "AND",
    "OR": "OR",
    "NOT": "NOT",
    "IN": "IN",
    "LIKE": "LIKE",
    "ILIKE": "ILIKE",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "LAMBDA_HEAD": "lambda",
    "$END": "end of input",
}


class _Limit(Exception):
    """Raised inside tree callbacks when the tree gets too deep (converted by ``parse``)."""


def _depth(*children: Any) -> int:
    depth = 1 + max((c.depth for c in children if isinstance(c, n.Node)), default=0)
    if depth > MAX_NESTING:
        raise _Limit
    return depth


def _unescape(body: str) -> str:
    """Decode the escapes of a string literal body; unknown escapes stay as written (``\\%``)."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "/": "/", "0": "\0"}
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "u" and i + 6 <= len(body):
            try:
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
            except ValueError:
                out.append("\\u")
                i += 2
        else:
            out.append("\\" + nxt)
            i += 2
    return "".join(out)


def _steps_have_project(path: n.Path) -> bool:
    return any(isinstance(s, n.Project) for s in path.steps)


def _extend(base: n.Node, steps: tuple[n.Step, ...]) -> n.Node:
    """Append path steps to ``base`` (steps after a ``[*]`` apply to each element).

    Parentheses and pipes wrap a projection in ``Path(node, ())`` first, so what follows them
    applies to the projected list instead (JMESPath semantics).
    """
    if not steps:
        return base
    inner = [s.expr for s in steps if isinstance(s, n.Index)]
    inner += [v for s in steps if isinstance(s, n.MultiHash) for _, v in s.pairs]
    # Each projection / multiselect becomes a nested function in the generated code: count it.
    nested = sum(isinstance(s, (n.Project, n.MultiHash)) for s in steps)
    if isinstance(base, n.Path):  # plain key steps add no nesting: `$.a.a.a…` stays flat
        depth = max(base.depth, _depth(*inner) if inner else 0) + nested
    else:
        depth = _depth(base, *inner) + nested
    if depth > MAX_NESTING:
        raise _Limit
    if isinstance(base, n.Path):
        return n.Path(base.base, base.steps + steps, depth=depth)
    return n.Path(base, steps, depth=depth)


class _Build(Transformer):  # type: ignore[type-arg]
    """Tree callbacks, run by the LALR parser as it reduces (no recursion over the tree)."""

    def string(self, c: list[Token]) -> n.Node:
        return n.Literal(_unescape(c[0][1:-1]))

    def number(self, c: list[Token]) -> n.Node:
        text = str(c[0])
        return n.Literal(float(text) if any(ch in text for ch in ".eE") else int(text))

    def true(self, c: list[Any]) -> n.Node:
        return n.Literal(True)

    def false(self, c: list[Any]) -> n.Node:
        return n.Literal(False)

    def null(self, c: list[Any]) -> n.Node:
        return n.Literal(None)

    def payload(self, c: list[Any]) -> n.Node:
        return n.Payload()

    def current(self, c: list[Any]) -> n.Node:
        return n.Current()

    def name(self, c: list[Token]) -> n.Node:
        return n.Name(str(c[0]))

    def call(self, c: list[Any]) -> n.Node:
        args = tuple(c[1] or ())
        return n.Call(str(c[0]), args, column=c[0].column, depth=_depth(*args))

    def paren(self, c: list[Any]) -> n.Node:
        node = c[0]
        # Parentheses end a projection: `($.a[*].b)[0]` indexes the projected list.
        if isinstance(node, n.Path) and _steps_have_project(node):
            return n.Path(node, (), depth=_depth(node))
        assert isinstance(node, n.Node)
        return node

    def list_lit(self, c: list[Any]) -> n.Node:
        items = tuple(c[0] or ())
        return n.ListLit(items, depth=_depth(*items))

    def object_lit(self, c: list[Any]) -> n.Node:
        pairs = tuple(c[0] or ())
        return n.ObjectLit(pairs, depth=_depth(*[v for _, v in pairs]))

    def items(self, c: list[Any]) -> list[n.Node]:
        return [x for x in c if x is not None]

    def pairs(self, c: list[Any]) -> list[tuple[str, n.Node]]:
        return [x for x in c if x is not None]

    def pair(self, c: list[Any]) -> tuple[str, n.Node]:
        key = str(c[0])
        if c[0].type == "STRING":
            key = _unescape(key[1:-1])
        return (key, c[1])

    def args(self, c: list[Any]) -> list[n.Node]:
        return list(c)

    def lambda_(self, c: list[Any]) -> n.Node:
        head = str(c[0]).rstrip()[:-2].strip().strip("()")
        params = tuple(p.strip() for p in head.split(",") if p.strip())
        return n.Lambda(params, c[1], depth=_depth(c[1]))

    # Paths ---------------------------------------------------------------------------------
    def step_key(self, c: list[Token]) -> n.Step:
        return n.Key(str(c[0]))

    def step_project(self, c: list[Any]) -> n.Step:
        return n.Project()

    def step_index(self, c: list[Any]) -> n.Step:
        expr = c[0]
        if isinstance(expr, n.Literal) and isinstance(expr.value, str):
            return n.Key(expr.value)
        return n.Index(expr)

    def step_hash(self, c: list[Any]) -> n.Step:
        return n.MultiHash(tuple(c[0]))

    def path(self, c: list[Any]) -> n.Node:
        return _extend(c[0], (c[1],))

    def rel_at(self, c: list[Any]) -> n.Node:
        return _extend(n.Current(), tuple(c))

    def rel_dot(self, c: list[Any]) -> n.Node:
        return _extend(n.Current(), tuple(c))

    # Pipes: `x | f(a)` is f(x, a); `x | .path` is a path on x --------------------------------
    def pipe_call(self, c: list[Any]) -> Any:
        return ("call", c[0], tuple(c[1] or ()))

    def pipe_name(self, c: list[Any]) -> Any:
        return ("call", c[0], ())

    def pipe(self, c: list[Any]) -> n.Node:
        value, target = c
        if isinstance(target, tuple):
            _, name, args = target
            all_args = (value, *args)
            return n.Call(str(name), all_args, column=name.column, depth=_depth(*all_args))
        assert isinstance(value, n.Node)
        if isinstance(target, n.Current):
            return value
        assert isinstance(target, n.Path) and isinstance(target.base, n.Current)
        if isinstance(value, n.Path) and _steps_have_project(value):
            value = n.Path(
                value, (), depth=_depth(value)
            )  # a pipe ends a projection, as in JMESPath
        return _extend(value, target.steps)

    # Operators -----------------------------------------------------------------------------
    def ternary(self, c: list[Any]) -> n.Node:
        return n.Ternary(c[0], c[1], c[2], depth=_depth(*c))

    def _logic(self, op: str, left: n.Node, right: n.Node) -> n.Node:
        # Flatten chains so `a OR b OR c …` stays one shallow node.
        operands: list[n.Node] = []
        for side in (left, right):
            if isinstance(side, n.Logic) and side.op == op:
                operands.extend(side.operands)
            else:
                operands.append(side)
        return n.Logic(op, tuple(operands), depth=_depth(*operands))

    def or_(self, c: list[Any]) -> n.Node:
        return self._logic("or", c[0], c[2])

    def and_(self, c: list[Any]) -> n.Node:
        return self._logic("and", c[0], c[2])

    def not_(self, c: list[Any]) -> n.Node:
        return n.Unary("not", c[1], depth=_depth(c[1]))

    def neg(self, c: list[Any]) -> n.Node:
        operand = c[1]
        if isinstance(operand, n.Literal) and type(operand.value) in (int, float):
            return n.Literal(-operand.value)
        return n.Unary("-", operand, depth=_depth(operand))

    def compare(self, c: list[Any]) -> n.Node:
        return n.Binary(str(c[1]), c[0], c[2], depth=_depth(c[0], c[2]))

    def binop(self, c: list[Any]) -> n.Node:
        return n.Binary(str(c[1]), c[0], c[2], depth=_depth(c[0], c[2]))

    def coalesce(self, c: list[Any]) -> n.Node:
        return n.Binary("??", c[0], c[1], depth=_depth(c[0], c[1]))

    def in_(self, c: list[Any]) -> n.Node:
        negate = len(c) == 4
        return n.InOp(negate, c[0], c[-1], depth=_depth(c[0], c[-1]))

    def like(self, c: list[Any]) -> n.Node:
        negate = len(c) == 4
        insensitive = c[-2].type == "ILIKE"
        return n.LikeOp(negate, insensitive, c[0], c[-1], depth=_depth(c[0], c[-1]))


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", transformer=_Build(), start="start")


def _display(terminal: str, parser: Lark) -> str:
    if terminal in _DISPLAY:
        return _DISPLAY[terminal]
    for term in parser.terminals:
        if term.name == terminal and term.pattern.type == "str":
            return repr(term.pattern.value)
    return terminal.lower()


def _prescan(source: str) -> None:
    """Reject oversized or over-nested text before lark sees it (fast, no recursion)."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionSyntaxError(
            f"expression is {len(source)} characters long, the limit is {MAX_SOURCE_LENGTH}",
            source=source[:200],
            column=1,
        )
    depth, quote, i = 0, "", 0
    while i < len(source):
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise ExpressionSyntaxError(
                    f"brackets nest deeper than {MAX_NESTING} levels", source=source, column=i + 1
                )
        elif ch in ")]}":
            depth -= 1
        i += 1


def _line_col(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    return line, pos - (source.rfind("\n", 0, pos) + 1) + 1


def _convert(err: UnexpectedInput, source: str) -> ExpressionSyntaxError:
    parser = _parser()
    pos = getattr(err, "pos_in_stream", None) or 0
    if isinstance(err, UnexpectedToken):
        expected = sorted({_display(t, parser) for t in err.expected if not t.startswith("__")})
        got = "end of input" if err.token.type == "$END" else repr(str(err.token))
        if err.token.type == "$END":
            pos = len(source)
        else:
            pos = err.token.start_pos or 0
    elif isinstance(err, UnexpectedCharacters):
        expected = sorted({_display(t, parser) for t in err.allowed or ()})
        got = repr(source[pos])
        if source[pos] in "'\"":
            line, col = _line_col(source, pos)
            return ExpressionSyntaxError(
                "unterminated string literal", source=source, column=col, expected=[], line=line
            )
    else:  # UnexpectedEOF
        expected = sorted({_display(t, parser) for t in getattr(err, "expected", ())})
        got, pos = "end of input", len(source)
    line, col = _line_col(source, pos)
    wanted = ", ".join(expected) if expected else "something else"
    message = f"expected one of {wanted} — got {got}"
    return ExpressionSyntaxError(message, source=source, column=col, expected=expected, line=line)


def parse(source: str) -> n.Node:
    """Parse ``source`` into a syntax tree; raise ExpressionSyntaxError with column and expected."""
    if not isinstance(source, str):
        raise ExpressionSyntaxError("an expression must be a string", source=repr(source), column=1)
    _prescan(source)
    if not source.strip():
        raise ExpressionSyntaxError("empty expression", source=source, column=1, expected=[])
    try:
        tree = _parser().parse(source)
    except _Limit:
        raise ExpressionSyntaxError(
            f"expression nests deeper than {MAX_NESTING} levels", source=source, column=1
        ) from None
    except (UnexpectedToken, UnexpectedCharacters, UnexpectedEOF) as err:
        raise _convert(err, source) from None
    assert isinstance(tree, n.Node)
    return tree
