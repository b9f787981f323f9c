"""application/x-www-form-urlencoded bodies (Twilio, Slack) to dicts."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from .errors import BodyError
from .limits import BodyLimits
from .media import decode_text, first_byte

__all__ = ["parse_form", "add_field"]


def add_field(fields: dict[str, Any], name: str, value: Any) -> None:
    """Set ``name``; a repeated name collects its values in a list, in order."""
    if name not in fields:
        fields[name] = value
    elif isinstance(existing := fields[name], list):
        existing.append(value)
    else:
        fields[name] = [existing, value]


def parse_form(data: bytes, charset: str | None, limits: BodyLimits) -> dict[str, Any]:
    """Parse ``a=1&b=2&a=3`` into ``{"a": ["1", "3"], "b": "2"}``.

    Values stay strings: Slack's ``payload=<json>`` is left for the route to decode.
    More than ``max_form_fields`` fields -> 413, counted before any is decoded.
    """
    if first_byte(data) in (b"{", b"["):
        # Form encoders always percent-encode braces, so a raw one is a JSON body.
        raise BodyError(
            400,
            "content_type_mismatch",
            "Content-Type declares a form but the body looks like JSON",
        )
    text = decode_text(data, charset)
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding=charset or "utf-8",
            errors="strict",
            max_num_fields=limits.max_form_fields,
        )
    except UnicodeError:
        raise BodyError(
            400, "invalid_form", "a percent-encoded form value is not valid text"
        ) from None
    except ValueError:  # parse_qsl's only other ValueError is "Max number of fields"
        raise BodyError(
            413,
            "too_many_form_fields",
            f"form has more than {limits.max_form_fields} fields",
        ) from None
    fields: dict[str, Any] = {}
    for name, value in pairs:
        add_field(fields, name, value)
    return fields
