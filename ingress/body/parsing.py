"""Dispatch a decoded body to the parser its Content-Type names (or sniff when none)."""

from __future__ import annotations

import base64
from typing import Any

from .errors import BodyError
from .form_body import parse_form
from .json_body import parse_json
from .limits import BodyLimits
from .media import decode_text, parse_media_type
from .multipart import parse_multipart
from .xml_body import parse_xml

__all__ = ["parse_body", "parse_body_typed", "binary"]

JSON = "application/json"
OCTET_STREAM = "application/octet-stream"


def binary(data: bytes) -> dict[str, Any]:
    """The JSON-safe form of opaque bytes."""
    return {"base64": base64.b64encode(data).decode("ascii"), "size": len(data)}


def _sniff(data: bytes, limits: BodyLimits) -> tuple[str, Any]:
    """No Content-Type: JSON if the body is JSON within the limits, otherwise binary."""
    if data:
        try:
            return JSON, parse_json(data, None, limits)
        except BodyError:
            pass
    return OCTET_STREAM, binary(data)


def parse_body_typed(
    decoded: bytes, content_type_header: str | None, limits: BodyLimits
) -> tuple[str, Any]:
    """Like :func:`parse_body`, also returning the normalised (or sniffed) media type."""
    if content_type_header is None or not content_type_header.strip():
        return _sniff(decoded, limits)
    media = parse_media_type(content_type_header)
    kind = media.kind
    if kind == "json":  # first: the hot path
        return media.type, parse_json(decoded, media.charset, limits)
    if kind == "xml":
        return media.type, parse_xml(decoded, media.charset, limits)
    if kind == "form":
        return media.type, parse_form(decoded, media.charset, limits)
    if kind == "multipart":
        return media.type, parse_multipart(decoded, media.params, limits)
    if kind == "text":
        return media.type, decode_text(decoded, media.charset)
    return media.type, binary(decoded)


def parse_body(decoded: bytes, content_type_header: str | None, limits: BodyLimits) -> Any:
    """Turn a decoded body into a JSON value according to its Content-Type.

    JSON (``application/json``, ``*+json``) -> its value; XML (``application/xml``,
    ``text/xml``, ``*+xml``) -> ``{root: …}``; urlencoded and multipart forms -> dicts of
    fields; other ``text/*`` -> str; anything else -> ``{"base64", "size"}``. Without a
    Content-Type the body is JSON if it parses as such, else binary. Raises only
    :class:`BodyError`.
    """
    return parse_body_typed(decoded, content_type_header, limits)[1]
