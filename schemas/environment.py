"""Numbers read from EIS_* environment variables: a value that cannot be used is an error that
names the variable, the value and what was expected, before any role starts."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from schemas.errors import EisError


class SettingError(EisError):
    """An EIS_* environment variable whose value cannot be used."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"{name}={value!r}: expected {expected}")
        self.name = name


def env_int(name: str, default: int, *, low: int = 1, high: int | None = None,
            environ: Mapping[str, str] | None = None) -> int:
    """The integer in `name` (or `default` when unset), between `low` and `high` inclusive."""
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None:
        return default
    expected = f"an integer from {low}" + (f" to {high}" if high is not None else " up")
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(name, raw, expected) from None
    if value < low or (high is not None and value > high):
        raise SettingError(name, raw, expected)
    return value


def env_port(name: str, default: int, *, environ: Mapping[str, str] | None = None) -> int:
    """A TCP port number in `name` (1 to 65535)."""
    return env_int(name, default, low=1, high=65535, environ=environ)


def env_seconds(name: str, default: float, *, environ: Mapping[str, str] | None = None) -> float:
    """A positive, finite number of seconds in `name` (or `default` when unset)."""
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SettingError(name, raw, "a number of seconds above 0")
    return value
