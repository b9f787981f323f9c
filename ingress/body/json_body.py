"""JSON bodies: orjson, a cheap nesting bound, and errors that name the byte at fault."""

from __future__ import annotations

from typing import Any

import orjson

from .errors import BodyError
from .limits import BodyLimits
from .media import decode_text, first_byte, is_utf8

__all__ = ["parse_json", "exceeds_depth"]

_BOM = b"\xef\xbb\xbf"
# Map { } to [ ] and delete every byte but brackets and quotes: the skeleton of the document.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_SKELETON = bytes(b for b in range(256) if b not in b'[]{}"')


def _skeleton(data: bytes) -> bytes:
    """The brackets of valid JSON ``data`` outside strings, ``{}`` written as ``[]``.

    No regex (a per-string match costs more than orjson's whole parse): drop escaped
    backslashes, then escaped quotes (left to right this pairs escapes exactly as JSON
    does), keep brackets and quotes, and split on quotes: even pieces are outside strings.
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(data.translate(_BRACKETS, _NOT_SKELETON).split(b'"')[::2])


def exceeds_depth(data: bytes, max_depth: int) -> bool:
    """True when valid JSON ``data`` nests arrays/objects deeper than ``max_depth``.

    Cheap where it can be: a body with at most ``max_depth`` opening brackets (counted at
    memchr speed, strings included) cannot be too deep. Otherwise reduce the bracket
    skeleton: each ``replace(b"[]", b"")`` pass removes exactly one level of nesting, so
    anything left after ``max_depth`` passes is deeper. All work stays in C; no recursion.
    """
    if len(data) <= 2 * max_depth or data.count(b"[") + data.count(b"{") <= max_depth:
        return False
    skeleton = _skeleton(data)
    for done in range(max_depth):
        # Exceeding needs max_depth - done + 1 more levels, i.e. at least that many pairs.
        if len(skeleton) < 2 * (max_depth - done + 1):
            return False
        skeleton = skeleton.replace(b"[]", b"")
    return bool(skeleton)


def _byte_offset(data: bytes, char_pos: int) -> int:
    """orjson reports a character index; senders count bytes. Only used on the error path."""
    prefix = data[: 4 * char_pos].decode("utf-8", "surrogateescape")[:char_pos]
    return len(prefix.encode("utf-8", "surrogateescape"))


def _invalid(data: bytes, exc: orjson.JSONDecodeError, max_depth: int) -> BodyError:
    if "depth" in exc.msg or "recursion" in exc.msg:
        return _too_deep(max_depth)
    if not data.strip():
        return BodyError(400, "invalid_json", "empty body; expected a JSON document")
    if first_byte(data) == b"<":
        return BodyError(
            400,
            "content_type_mismatch",
            "Content-Type declares JSON but the body looks like XML or HTML",
        )
    at = _byte_offset(data, exc.pos)
    return BodyError(400, "invalid_json", f"invalid JSON at byte {at}: {exc.msg}")


def _too_deep(max_depth: int) -> BodyError:
    return BodyError(
        400, "json_too_deep", f"JSON nests deeper than {max_depth} arrays/objects"
    )


def parse_json(data: bytes, charset: str | None, limits: BodyLimits) -> Any:
    """Parse a JSON body; UTF-8 (the common case) goes straight to orjson, no copy.

    Another declared charset is decoded first. A UTF-8 byte order mark is tolerated
    (RFC 8259 §8.1 lets parsers ignore it; orjson refuses it), on the error path only.
    """
    if not is_utf8(charset):
        data = decode_text(data, charset).encode("utf-8")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if data.startswith(_BOM):
            return parse_json(data[len(_BOM) :], None, limits)
        raise _invalid(data, exc, limits.max_json_depth) from None
    except RecursionError:  # orjson has its own limit; belt and braces (KAFKA-NOTES)
        raise _too_deep(limits.max_json_depth) from None
    if exceeds_depth(data, limits.max_json_depth):
        raise _too_deep(limits.max_json_depth)
    return value
