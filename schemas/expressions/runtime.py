"""Helpers called by generated code: typed comparison, arithmetic, membership, paths, text.

Generated code inlines the common cases (a key lookup, a comparison with a literal); these
helpers cover the general ones. They implement the value semantics of docs/expressions.md:
mismatched types compare false, arithmetic on non-numbers is null, bool is not a number.
Functions taking ``b`` charge the evaluation's work budget, because their cost grows with input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import orjson

from .errors import ExpressionError, ExpressionEvaluationError, ExpressionLimitError
from .limits import MAX_LIST_LENGTH, MAX_STRING_LENGTH, charge, check_int, check_list

NUM = (int, float)
_SCALARS = (str, int, float, bool, type(None))


def deep_eq(b: list[int], x: Any, y: Any) -> bool:
    """Structural equality where bool is not a number (iterative: payloads may nest deeply)."""
    stack = [(x, y)]
    while stack:
        a, c = stack.pop()
        if a is c:
            continue
        ta, tc = type(a), type(c)
        if ta in NUM and tc in NUM:
            if a != c:
                return False
        elif ta is not tc and not (isinstance(a, dict) and isinstance(c, dict)):
            return False
        elif isinstance(a, dict):
            if len(a) != len(c) or a.keys() != c.keys():
                return False
            charge(b, len(a))
            stack.extend((a[k], c[k]) for k in a)
        elif ta is list:
            if len(a) != len(c):
                return False
            charge(b, len(a))
            stack.extend(zip(a, c, strict=True))
        elif a != c:
            return False
    return True


def eq(b: list[int], x: Any, y: Any) -> bool:
    tx, ty = type(x), type(y)
    if tx is ty and tx in _SCALARS:
        return bool(x == y)
    if tx in NUM and ty in NUM:
        return bool(x == y)
    if tx in _SCALARS or ty in _SCALARS:
        return False
    return deep_eq(b, x, y)


def ne(b: list[int], x: Any, y: Any) -> bool:
    return not eq(b, x, y)


def _ordered(x: Any, y: Any) -> bool:
    tx, ty = type(x), type(y)
    return (tx in NUM and ty in NUM) or (tx is str and ty is str)


def lt(x: Any, y: Any) -> bool:
    return _ordered(x, y) and x < y


def le(x: Any, y: Any) -> bool:
    return _ordered(x, y) and x <= y


def gt(x: Any, y: Any) -> bool:
    return _ordered(x, y) and x > y


def ge(x: Any, y: Any) -> bool:
    return _ordered(x, y) and x >= y


def _int_result(v: Any) -> Any:
    return check_int(v) if type(v) is int else v


def add(b: list[int], x: Any, y: Any) -> Any:
    tx, ty = type(x), type(y)
    if tx in NUM and ty in NUM:
        return _int_result(x + y)
    if tx is str and ty is str:
        if len(x) + len(y) > MAX_STRING_LENGTH:
            raise ExpressionLimitError(f"string result exceeds the limit of {MAX_STRING_LENGTH}")
        charge(b, (len(x) + len(y)) >> 6)
        return x + y
    if tx is list and ty is list:
        if len(x) + len(y) > MAX_LIST_LENGTH:
            raise ExpressionLimitError(f"list result exceeds the limit of {MAX_LIST_LENGTH}")
        charge(b, len(x) + len(y))
        return x + y
    return None


def sub(x: Any, y: Any) -> Any:
    return _int_result(x - y) if type(x) in NUM and type(y) in NUM else None


def mul(x: Any, y: Any) -> Any:
    if type(x) in NUM and type(y) in NUM:
        if type(x) is int and type(y) is int and x.bit_length() + y.bit_length() > 4200:
            raise ExpressionLimitError("integer result too large")
        return x * y
    return None


def div(x: Any, y: Any) -> Any:
    if type(x) in NUM and type(y) in NUM and y != 0:
        try:
            return x / y
        except OverflowError:
            return None
    return None


def mod(x: Any, y: Any) -> Any:
    if type(x) in NUM and type(y) in NUM and y != 0:
        return x % y
    return None


def neg(x: Any) -> Any:
    return -x if type(x) in NUM else None


def contains(b: list[int], item: Any, container: Any) -> bool:
    """``item IN container``: list element, substring of a string, or key of an object."""
    tc = type(container)
    if tc is list:
        charge(b, len(container))
        if type(item) in _SCALARS and type(item) is not bool and type(item) not in NUM:
            return item in container  # str/None: Python equality is already type-strict
        return any(eq(b, item, e) for e in container)
    if tc is str:
        return type(item) is str and item in container
    if isinstance(container, dict):
        return type(item) is str and item in container
    return False


def index(obj: Any, key: Any) -> Any:
    """``obj[key]`` with missing-is-null semantics (negative list indexes count from the end)."""
    if type(obj) is list:
        if type(key) is int and -len(obj) <= key < len(obj):
            return obj[key]
        return None
    if isinstance(obj, dict) and type(key) is str:
        return obj.get(key)
    return None


def project(b: list[int], value: Any, fn: Callable[[Any], Any] | None) -> Any:
    """``value[*]…``: apply ``fn`` to each element of a list, dropping null results."""
    if type(value) is not list:
        return None
    b[0] -= len(value)
    if b[0] < 0:
        charge(b, 0)  # raises the budget error
    if fn is None:
        return [x for x in value if x is not None]
    return check_list([r for x in value if (r := fn(x)) is not None])


def to_text(value: Any) -> str:
    """How a value renders in a template: null → '', strings as-is, others as compact JSON."""
    t = type(value)
    if t is str:
        return cast(str, value)
    if value is None:
        return ""
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return str(value)
    if t is float:
        return repr(value)
    return to_json(value)


def to_json(value: Any) -> str:
    """Compact JSON of ``value``, refusing results over the string limit before building them."""
    _bounded_size(value)
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise ExpressionEvaluationError(f"value cannot be rendered as JSON: {exc}") from None


def _bounded_size(value: Any) -> None:
    # Walk before serialising: a list holding the same big list 100k times is cheap in memory
    # but would serialise to gigabytes.
    total, stack = 0, [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str:
            total += len(v) + 2
        elif isinstance(v, dict):
            total += 2 + len(v)
            for k, x in v.items():
                total += len(k) + 3 if type(k) is str else 8
                stack.append(x)
        elif t is list:
            total += 2 + len(v)
            stack.extend(v)
        else:
            total += 5
        if total > MAX_STRING_LENGTH:
            raise ExpressionLimitError(
                f"rendered value exceeds the string limit of {MAX_STRING_LENGTH} characters"
            )


def template_too_long(total: int) -> None:
    raise ExpressionLimitError(
        f"rendered template of {total} characters exceeds the limit of {MAX_STRING_LENGTH}"
    )


def located(err: ExpressionError, source: str) -> ExpressionError:
    """Attach the expression source to an error raised by a helper that did not know it."""
    if err.source is None:
        err.source = source
        err.message = f"{err.message} (in {source[:200]!r})"
        err.args = (err.message,)
    return err


def wrap(exc: BaseException, source: str) -> ExpressionError:
    """Turn an unexpected Python error inside evaluation into an ExpressionEvaluationError."""
    kind = "recursion too deep" if isinstance(exc, RecursionError) else type(exc).__name__
    return located(ExpressionEvaluationError(f"evaluation failed: {kind}: {exc}"), source)
