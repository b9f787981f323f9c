"""Durations as the spec writes them: a number is milliseconds; a string may carry a unit."""

from __future__ import annotations

import re

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)


def parse_duration_ms(value: int | float | str) -> int:
    """`5000`, `"5000"`, `"500ms"`, `"5s"`, `"1m"`, `"2h"`, `"7d"` → milliseconds."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of milliseconds or a string like '5s'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return int(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"invalid duration {value!r}: expected e.g. 500, '500ms', '5s', '1m', '2h'")
    return int(float(match.group(1)) * _UNITS[match.group(2) or "ms"])


def parse_size_bytes(value: int | str) -> int:
    """`10240`, `"10KB"`, `"1MB"` → bytes (KB = 1024 bytes)."""
    if isinstance(value, bool):
        raise ValueError("a size must be a number of bytes or a string like '10KB'")
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"invalid size {value!r}: expected e.g. 10240, '10KB', '1MB'")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
