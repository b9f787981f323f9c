"""Date and time functions: ISO-8601 strings and epoch seconds/milliseconds, zones via zoneinfo."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ExpressionEvaluationError
from . import spec as fn

# Epoch numbers above this are taken as milliseconds (1e11 s is the year 5138).
_MILLIS_THRESHOLD = 100_000_000_000
_TZ_NAME = re.compile(r"[A-Za-z0-9_+\-]{1,40}(?:/[A-Za-z0-9_+\-]{1,40}){0,3}")
_MAX_PATTERN = 200


def parse_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO-8601 string or epoch seconds/millis; else None."""
    t = type(value)
    try:
        if t in (int, float):
            seconds = value / 1000 if abs(value) >= _MILLIS_THRESHOLD else value
            return datetime.fromtimestamp(seconds, tz=UTC)
        if t is str and 0 < len(value) <= 64:
            text = value.strip()
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)  # naive timestamps are UTC by convention
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def iso(dt: datetime) -> str:
    """ISO-8601 UTC with a Z suffix and millisecond precision when there are fractions."""
    dt = dt.astimezone(UTC)
    spec = "milliseconds" if dt.microsecond else "seconds"
    return dt.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


@lru_cache(maxsize=128)
def zone(name: str) -> ZoneInfo:
    """The named zone; the name is validated first so it can never be a file path."""
    if not _TZ_NAME.fullmatch(name) or ".." in name:
        raise ExpressionEvaluationError(f"invalid time zone name {name[:50]!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ExpressionEvaluationError(f"unknown time zone {name[:50]!r}") from None


def to_date(value: Any) -> str | None:
    dt = parse_datetime(value)
    return iso(dt) if dt else None


def format_date(value: Any, pattern: Any, tz: Any = "UTC") -> str | None:
    """strftime formatting in a zone; the pattern is length-capped (its output is bounded)."""
    dt = parse_datetime(value)
    if dt is None or type(pattern) is not str or type(tz) is not str:
        return None
    if len(pattern) > _MAX_PATTERN:
        raise ExpressionEvaluationError(f"format_date pattern longer than {_MAX_PATTERN}")
    try:
        return dt.astimezone(zone(tz)).strftime(pattern)
    except ValueError as exc:
        raise ExpressionEvaluationError(f"format_date: {exc}") from None


def to_epoch_seconds(value: Any) -> Any:
    dt = parse_datetime(value)
    if dt is None:
        return None
    ts = dt.timestamp()
    return int(ts) if ts == int(ts) else ts


def to_epoch_millis(value: Any) -> int | None:
    dt = parse_datetime(value)
    return None if dt is None else round(dt.timestamp() * 1000)


def now() -> str:
    return iso(datetime.now(UTC))


FUNCTIONS = (
    fn(
        "to_date",
        to_date,
        (1, 1),
        "ISO-8601 UTC string from an ISO string or epoch s/ms.",
        "to_date(1700000000)",
        "2023-11-14T22:13:20Z",
    ),
    fn(
        "parse_date",
        to_date,
        (1, 1),
        "Alias of to_date.",
        "parse_date('2024-03-01T10:00:00+01:00')",
        "2024-03-01T09:00:00Z",
    ),
    fn(
        "format_date",
        format_date,
        (2, 3),
        "strftime-format a date, optionally in a time zone.",
        "format_date('2024-03-01T09:00:00Z', '%Y-%m-%d %H:%M', 'Europe/Paris')",
        "2024-03-01 10:00",
    ),
    fn(
        "to_epoch_seconds",
        to_epoch_seconds,
        (1, 1),
        "Epoch seconds of a date.",
        "to_epoch_seconds('2023-11-14T22:13:20Z')",
        1700000000,
    ),
    fn(
        "to_epoch_millis",
        to_epoch_millis,
        (1, 1),
        "Epoch milliseconds of a date.",
        "to_epoch_millis('2023-11-14T22:13:20.5Z')",
        1700000000500,
    ),
)
