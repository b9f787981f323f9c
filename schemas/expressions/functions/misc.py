"""Null handling, identifiers, the clock and percentiles for metric alert conditions."""

from __future__ import annotations

import math
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


def percentile(b: list[int], samples: Any, q: Any) -> Any:
    """The q-th percentile (0–100) with linear interpolation between closest ranks."""
    if type(samples) is not list or type(q) not in _NUM or not 0 <= q <= 100:
        return None
    charge(b, len(samples) * max(1, len(samples).bit_length()))
    data = sorted(x for x in samples if type(x) in _NUM and math.isfinite(x))
    if not data:
        return None
    pos = (len(data) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def p50(b: list[int], samples: Any) -> Any:
    return percentile(b, samples, 50)


def p95(b: list[int], samples: Any) -> Any:
    return percentile(b, samples, 95)


def p99(b: list[int], samples: Any) -> Any:
    return percentile(b, samples, 99)


FUNCTIONS = (
    fn("coalesce", coalesce, (1, None), "The first non-null argument.",
       "coalesce(null, 'fallback')", "fallback"),
    fn("default", default, (2, 2), "The value, or the fallback when it is null.",
       "default(null, 0)", 0),
    fn("now", now, (0, 0), "The current time as an ISO-8601 UTC string.", "now()", NO_RESULT),
    fn("uuid", uuid, (0, 0), "A random UUID (version 4) string.", "uuid()", NO_RESULT),
    fn("percentile", percentile, (2, 2), "The q-th percentile (0–100) of a list of numbers.",
       "percentile([1, 2, 3, 4], 50)", 2.5, budget=True),
    fn("p50", p50, (1, 1), "The median of a list of numbers.", "p50([1, 2, 3])", 2, budget=True),
    fn("p95", p95, (1, 1), "The 95th percentile of a list of numbers.",
       "p95([100, 200, 300, 400, 500])", 480.0, budget=True),
    fn("p99", p99, (1, 1), "The 99th percentile of a list of numbers.",
       "p99([100, 200, 300, 400, 500])", 496.0, budget=True),
)
