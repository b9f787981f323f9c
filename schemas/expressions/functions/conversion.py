"""Conversions between strings, numbers and booleans."""

from __future__ import annotations

import math
from typing import Any

from ..runtime import to_text
from . import spec as fn


def to_string(value: Any) -> str:
    """The template text of a value: null → '', objects/lists → compact JSON."""
    return to_text(value)


def to_number(value: Any) -> Any:
    t = type(value)
    if t in (int, float):
        return value
    if t is bool:
        return 1 if value else 0
    if t is str and len(value) <= 100:
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def to_boolean(value: Any) -> Any:
    """true/false for booleans, 'true'/'false'/'yes'/'no'/'1'/'0' strings and numbers."""
    t = type(value)
    if t is bool:
        return value
    if t in (int, float):
        return value != 0
    if t is str:
        text = value.strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off", ""):
            return False
    return None


FUNCTIONS = (
    fn(
        "to_string",
        to_string,
        (1, 1),
        "Text of a value (null → '', objects → JSON).",
        "to_string({a: 1})",
        '{"a":1}',
    ),
    fn(
        "to_number",
        to_number,
        (1, 1),
        "Number from a string/number/bool, else null.",
        "to_number('49.99')",
        49.99,
    ),
    fn(
        "to_boolean",
        to_boolean,
        (1, 1),
        "Boolean from a bool, number or yes/no/true/false string.",
        "to_boolean('yes')",
        True,
    ),
)
