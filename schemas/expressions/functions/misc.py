"""Null handling, identifiers, the clock and percentiles for metric alert conditions."""

from __future__ import annotations

import uuid as _uuid
from typing import Any

from ..limits import charge
from . import NO_RESULT
from . import spec as fn
from .dates import now

_NUM = (int, float)


def coalesce(*values: Any) -> Any:
    for v in values:
        if v is not None:
            return v
    return None


def default(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def uuid() -> str:
    return str(_uuid.uuid4())


def _ranked(b: list[int], samples: list[Any], q: float) -> Any:
    # Linear interpolation between closest ranks (numpy's default "linear" method).
    b[0] -= len(samples) * 4
    if b[0] < 0:
        charge(b, 0)
    data = [x for x in samples if type(x) in _NUM]
    if not data:
        return None
    data.sort()
    pos = (len(data) - 1) * q
    lo = int(pos)
    hi = lo + 1 if lo + 1 < len(data) else lo
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def percentile(b: list[int], samples: Any, q: Any) -> Any:
    """The q-th percentile (0–100) of the numbers in a list."""
    if type(samples) is not list or type(q) not in _NUM or not 0 <= q <= 100:
        return None
    return _ranked(b, samples, q / 100)


def p50(b: list[int], samples: Any) -> Any:
    return _ranked(b, samples, 0.5) if type(samples) is list else None


def p95(b: list[int], samples: Any) -> Any:
    return _ranked(b, samples, 0.95) if type(samples) is list else None


def p99(b: list[int], samples: Any) -> Any:
    return _ranked(b, samples, 0.99) if type(samples) is list else None


FUNCTIONS = (
    fn(
        "coalesce",
        coalesce,
        (1, None),
        "The first non-null argument.",
        "coalesce(null, 'fallback')",
        "fallback",
    ),
    fn(
        "default",
        default,
        (2, 2),
        "The value, or the fallback when it is null.",
        "default(null, 0)",
        0,
    ),
    fn("now", now, (0, 0), "The current time as an ISO-8601 UTC string.", "now()", NO_RESULT),
    fn("uuid", uuid, (0, 0), "A random UUID (version 4) string.", "uuid()", NO_RESULT),
    fn(
        "percentile",
        percentile,
        (2, 2),
        "The q-th percentile (0–100) of a list of numbers.",
        "percentile([1, 2, 3, 4], 50)",
        2.5,
        budget=True,
    ),
    fn("p50", p50, (1, 1), "The median of a list of numbers.", "p50([1, 2, 3])", 2.0, budget=True),
    fn(
        "p95",
        p95,
        (1, 1),
        "The 95th percentile of a list of numbers.",
        "p95([100, 200, 300, 400, 500])",
        480.0,
        budget=True,
    ),
    fn(
        "p99",
        p99,
        (1, 1),
        "The 99th percentile of a list of numbers.",
        "p99([100, 200, 300, 400, 500])",
        496.0,
        budget=True,
    ),
)
