"""Content-Type parsing and charset handling shared by the body parsers."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import Literal

from .errors import BodyError, shorten

__all__ = ["MediaType", "Kind", "parse_media_type", "is_utf8", "decode_text", "first_byte"]

Kind = Literal["json", "xml", "form", "multipart", "text", "binary"]

# One `; name=value` parameter, value a token or a quoted string with backslash escapes
# (RFC 9110 §5.6.6). Also used for Content-Disposition in multipart parts.
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', re.S)
_UNESCAPE = re.compile(r"\\(.)", re.S)
_FIRST = re.compile(rb"[ \t\r\n]*(.)", re.S)


@dataclass(frozen=True, slots=True)
class MediaType:
    """A parsed Content-Type: lower-cased ``type/subtype`` and its parameters."""

    type: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> Kind:
        """Which parser handles this media type."""
        t = self.type
        if t == "application/json" or t.endswith("+json"):
            return "json"
        if t in ("application/xml", "text/xml") or t.endswith("+xml"):
            return "xml"
        if t == "application/x-www-form-urlencoded":
            return "form"
        if t == "multipart/form-data":
            return "multipart"
        if t.startswith("text/"):
            return "text"
        return "binary"

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter, lower-cased, or None."""
        value = self.params.get("charset")
        return value.lower() if value else None


def parse_params(rest: str) -> dict[str, str]:
    """Parse ``; a=b; c="d"`` into a dict with lower-cased names (first occurrence wins)."""
    params: dict[str, str] = {}
    for name, raw in _PARAM.findall(rest):
        value = raw.strip()
        if value.startswith('"'):
            value = _UNESCAPE.sub(r"\1", value[1:-1])
        params.setdefault(name.lower(), value)
    return params


def parse_media_type(header: str) -> MediaType:
    """Split a Content-Type header into media type and parameters.

    The fast path (no parameters, the common ``application/json``) is two string calls.
    A value that is not ``type/subtype`` is kept as-is and ends up treated as binary.
    """
    head, sep, rest = header.partition(";")
    media = head.strip().lower()
    return MediaType(media, parse_params(sep + rest) if sep else {})


def is_utf8(charset: str | None) -> bool:
    """True when ``charset`` is absent or names UTF-8 (so bytes can go to the parser as-is).

    Raises 415 ``unsupported_charset`` for names Python does not know.
    """
    if charset is None or charset in ("utf-8", "utf8"):
        return True
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        raise BodyError(
            415, "unsupported_charset", f"charset {shorten(charset)} is not supported"
        ) from None


def decode_text(data: bytes, charset: str | None) -> str:
    """Decode ``data`` strictly with ``charset`` (default UTF-8).

    400 ``invalid_charset`` when the bytes are not valid in it; 415 ``unsupported_charset``
    when the charset is unknown or not a text encoding (``base64``, ``rot13``: codecs that
    Python knows but that do not turn bytes into text).
    """
    name = charset or "utf-8"
    is_utf8(name)  # raises 415 for unknown names
    try:
        return data.decode(name)
    except LookupError:
        raise BodyError(
            415, "unsupported_charset", f"charset {shorten(name)} is not a text encoding"
        ) from None
    except UnicodeError as exc:
        pos = getattr(exc, "start", 0)
        raise BodyError(
            400, "invalid_charset", f"body is not valid {name} at byte {pos}"
        ) from None


def first_byte(data: bytes) -> bytes:
    """The first non-whitespace byte of ``data`` (b"" if none), without copying it."""
    match = _FIRST.match(data)
    return match.group(1) if match else b""
