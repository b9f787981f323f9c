"""Number functions. Non-numbers (and booleans, which are not numbers) give null."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..limits import charge
from . import spec as fn

_NUM = (int, float)


def is_number(v: Any) -> bool:
    """True for int and float values, false for bool (True is not 1 here)."""
    return type(v) in _NUM


def round_(x: Any, digits: Any = 0) -> Any:
    """Half away from zero (2.5 → 3), unlike Python's banker's rounding."""
    if not is_number(x) or type(digits) is not int or not -20 <= digits <= 20:
        return None
    if isinstance(x, float) and not math.isfinite(x):
        return x
    try:
        q = Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    return int(q) if digits <= 0 else float(q)


def floor(x: Any) -> Any:
    return math.floor(x) if is_number(x) and math.isfinite(x) else None


def ceil(x: Any) -> Any:
    return math.ceil(x) if is_number(x) and math.isfinite(x) else None


def abs_(x: Any) -> Any:
    return abs(x) if is_number(x) else None


def numbers_of(b: list[int], values: tuple[Any, ...]) -> list[Any]:
    """The numbers among the arguments, or among the elements of a single list argument."""
    items: Any = values[0] if len(values) == 1 and type(values[0]) is list else values
    charge(b, len(items))
    return [v for v in items if type(v) in _NUM]


def min_(b: list[int], *values: Any) -> Any:
    nums = numbers_of(b, values)
    return min(nums) if nums else None


def max_(b: list[int], *values: Any) -> Any:
    nums = numbers_of(b, values)
    return max(nums) if nums else None


FUNCTIONS = (
    fn(
        "round",
        round_,
        (1, 2),
        "Round half away from zero to N decimal places (default 0).",
        "round(49.995, 2)",
        50.0,
    ),
    fn("floor", floor, (1, 1), "Largest integer not above the number.", "floor(4.7)", 4),
    fn("ceil", ceil, (1, 1), "Smallest integer not below the number.", "ceil(4.2)", 5),
    fn("abs", abs_, (1, 1), "Absolute value.", "abs(-3)", 3),
    fn(
        "min",
        min_,
        (1, None),
        "Smallest number among the arguments or in one list argument.",
        "min([3, 1, 2])",
        1,
        budget=True,
    ),
    fn(
        "max",
        max_,
        (1, None),
        "Largest number among the arguments or in one list argument.",
        "max(3, 9, 4)",
        9,
        budget=True,
    ),
)
