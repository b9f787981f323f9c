"""List functions. Lambdas are written ``x => expr`` (``(acc, x) => expr`` for reduce)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson

from ..errors import ExpressionLimitError
from ..limits import MAX_LIST_LENGTH, charge, check_list
from . import spec as fn

LAMBDA_COST = 8  # budget units per lambda call: a Python call costs ~10× a C-level element step
_NUM = (int, float)
Fn1 = Callable[[Any], Any]


def map_(b: list[int], items: Any, f: Fn1) -> list[Any] | None:
    if type(items) is not list:
        return None
    charge(b, LAMBDA_COST * len(items))
    return [f(x) for x in items]


def filter_(b: list[int], items: Any, f: Fn1) -> list[Any] | None:
    if type(items) is not list:
        return None
    charge(b, LAMBDA_COST * len(items))
    return [x for x in items if f(x) is True]


def reduce_(b: list[int], items: Any, initial: Any, f: Callable[[Any, Any], Any]) -> Any:
    if type(items) is not list:
        return None
    charge(b, LAMBDA_COST * len(items))
    acc = initial
    for x in items:
        acc = f(acc, x)
    return acc


def count(b: list[int], items: Any, f: Fn1 | None = None) -> int | None:
    if type(items) is not list:
        return None
    if f is None:
        return len(items)
    charge(b, LAMBDA_COST * len(items))
    return sum(1 for x in items if f(x) is True)


def _numbers(b: list[int], items: Any) -> list[Any] | None:
    if type(items) is not list:
        return None
    charge(b, len(items))
    return [x for x in items if type(x) in _NUM]


def sum_(b: list[int], items: Any) -> Any:
    nums = _numbers(b, items)
    if nums is None:
        return None
    total = math.fsum(nums) if any(type(x) is float for x in nums) else sum(nums)
    return total


def avg(b: list[int], items: Any) -> Any:
    nums = _numbers(b, items)
    return math.fsum(nums) / len(nums) if nums else None


def first(items: Any) -> Any:
    return items[0] if type(items) is list and items else None


def last(items: Any) -> Any:
    return items[-1] if type(items) is list and items else None


def flatten(b: list[int], value: Any) -> Any:
    """A list: one level of nested lists spliced in. An object: nested keys joined by dots."""
    if isinstance(value, dict):
        from .objects import flatten_object

        return flatten_object(b, value)
    if type(value) is not list:
        return None
    out: list[Any] = []
    for x in value:
        if type(x) is list:
            out.extend(x)
        else:
            out.append(x)
        if len(out) > MAX_LIST_LENGTH:
            raise ExpressionLimitError(f"flatten result exceeds {MAX_LIST_LENGTH} elements")
    charge(b, len(out))
    return out


def _sort_key(v: Any) -> tuple[int, Any]:
    # Numbers, then strings, then everything else in its original order; bool is not a number.
    t = type(v)
    if t in _NUM:
        return (0, v)
    if t is str:
        return (1, v)
    return (2, 0)


def sort(b: list[int], items: Any, key: Fn1 | None = None) -> list[Any] | None:
    if type(items) is not list:
        return None
    charge(
        b, len(items) * max(1, len(items).bit_length()) + (LAMBDA_COST * len(items) if key else 0)
    )
    if key is None:
        return sorted(items, key=_sort_key)
    keyed = [(_sort_key(key(x)), i, x) for i, x in enumerate(items)]
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [x for _, _, x in keyed]


def reverse(items: Any) -> Any:
    if type(items) is list:
        return items[::-1]
    return items[::-1] if type(items) is str else None


def unique_key(v: Any) -> Any:
    """A hashable identity for a JSON value where 1, 1.0 are equal but true is not 1."""
    t = type(v)
    if t is bool:
        return ("b", v)
    if t in _NUM:
        return ("n", v)
    if t is str or v is None:
        return ("s", v)
    return ("j", orjson.dumps(v, option=orjson.OPT_SORT_KEYS))


def unique(b: list[int], items: Any) -> list[Any] | None:
    if type(items) is not list:
        return None
    charge(b, len(items))
    seen: set[Any] = set()
    out = []
    for x in items:
        k = unique_key(x)
        if k not in seen:
            seen.add(k)
            out.append(x)
    return out


def slice_(value: Any, start: Any, end: Any = None) -> Any:
    if type(value) not in (list, str) or type(start) is not int:
        return None
    if end is not None and type(end) is not int:
        return None
    return value[start:end]


def range_(start: Any, end: Any = None) -> list[int] | None:
    if end is None:
        start, end = 0, start
    if type(start) is not int or type(end) is not int:
        return None
    return check_list(list(range(start, min(end, start + MAX_LIST_LENGTH + 1))))


FUNCTIONS = (
    fn(
        "map",
        map_,
        (2, 2),
        "Apply a lambda to every element.",
        "map([1, 2, 3], x => x * 2)",
        [2, 4, 6],
        lambdas=((1, 1),),
        budget=True,
    ),
    fn(
        "filter",
        filter_,
        (2, 2),
        "Keep the elements for which the lambda is true.",
        "filter([1, 5, 10], x => x > 3)",
        [5, 10],
        lambdas=((1, 1),),
        budget=True,
    ),
    fn(
        "reduce",
        reduce_,
        (3, 3),
        "Fold the list with (acc, x) => …, starting from an initial value.",
        "reduce([1, 2, 3], 0, (acc, x) => acc + x)",
        6,
        lambdas=((2, 2),),
        budget=True,
    ),
    fn(
        "count",
        count,
        (1, 2),
        "Number of elements (for which the optional lambda is true).",
        "count([1, 5, 10], x => x > 3)",
        2,
        lambdas=((1, 1),),
        budget=True,
    ),
    fn("sum", sum_, (1, 1), "Sum of the numbers in a list.", "sum([1, 2, 3.5])", 6.5, budget=True),
    fn(
        "avg",
        avg,
        (1, 1),
        "Mean of the numbers in a list (null when none).",
        "avg([1, 2, 3])",
        2.0,
        budget=True,
    ),
    fn("first", first, (1, 1), "First element, or null.", "first(['a', 'b'])", "a"),
    fn("last", last, (1, 1), "Last element, or null.", "last(['a', 'b'])", "b"),
    fn(
        "flatten",
        flatten,
        (1, 1),
        "A list: splice nested lists one level. An object: dotted keys (see expand).",
        "flatten([[1, 2], [3], 4])",
        [1, 2, 3, 4],
        budget=True,
    ),
    fn(
        "sort",
        sort,
        (1, 2),
        "Sort (numbers, then strings), optionally by a key lambda; stable.",
        "sort([{n: 2}, {n: 1}], x => x.n)",
        [{"n": 1}, {"n": 2}],
        lambdas=((1, 1),),
        budget=True,
    ),
    fn("reverse", reverse, (1, 1), "Reverse a list or string.", "reverse([1, 2, 3])", [3, 2, 1]),
    fn(
        "unique",
        unique,
        (1, 1),
        "Drop repeated elements, keeping the first.",
        "unique(['a', 'b', 'a'])",
        ["a", "b"],
        budget=True,
    ),
    fn(
        "slice",
        slice_,
        (2, 3),
        "Elements (or characters) from start to end (exclusive).",
        "slice([1, 2, 3, 4], 1, 3)",
        [2, 3],
    ),
    fn(
        "range",
        range_,
        (1, 2),
        "Integers from start (default 0) to end (exclusive).",
        "range(3)",
        [0, 1, 2],
    ),
)
