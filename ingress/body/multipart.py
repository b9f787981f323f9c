"""multipart/form-data bodies (RFC 7578) split synchronously over the bytes already read.

aiohttp's MultipartReader wants a stream; the body is already in memory and bounded, so a
boundary split with ``bytes.find`` is simpler and runs at C speed.
"""

from __future__ import annotations

import base64
from typing import Any

from .errors import BodyError
from .form_body import add_field
from .limits import BodyLimits
from .media import parse_params

__all__ = ["parse_multipart"]


def _invalid(why: str) -> BodyError:
    return BodyError(400, "invalid_multipart", f"invalid multipart body: {why}")


def _headers(block: bytes) -> dict[str, str]:
    """Part headers; browsers send UTF-8 file names raw, so decode leniently."""
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            raise _invalid(f"malformed part header line {line[:40]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def _part(data: bytes, start: int, end: int, fields: dict[str, Any]) -> None:
    """Add the part ``data[start:end]`` (headers, blank line, content) to ``fields``."""
    if data.startswith(b"\r\n", start):  # a part with no headers at all
        head, body_at = b"", start + 2
    else:
        blank = data.find(b"\r\n\r\n", start, end)
        if blank < 0:
            raise _invalid("part headers do not end with a blank line")
        head, body_at = data[start:blank], blank + 4
    content = memoryview(data)[body_at:end]  # no copy: base64/str read the buffer directly
    headers = _headers(head) if head else {}
    disposition = headers.get("content-disposition", "")
    kind, _, rest = disposition.partition(";")
    params = parse_params(";" + rest) if rest else {}
    name = params.get("name")
    if kind.strip().lower() != "form-data" or name is None:
        raise _invalid("a part lacks Content-Disposition: form-data; name=…")
    filename = params.get("filename", params.get("filename*"))
    content_type, _, ct_rest = headers.get("content-type", "").partition(";")
    if filename is not None:
        add_field(
            fields,
            name,
            {
                "filename": filename,
                "content_type": content_type.strip().lower() or "application/octet-stream",
                "size": len(content),
                "base64": base64.b64encode(content).decode("ascii"),
            },
        )
        return
    charset = parse_params(";" + ct_rest).get("charset", "utf-8") if ct_rest else "utf-8"
    try:
        add_field(fields, name, str(content, charset))
    except (UnicodeError, LookupError):
        raise _invalid(f"field {name[:40]!r} is not valid {charset[:40]} text") from None


def parse_multipart(
    data: bytes, params: dict[str, str], limits: BodyLimits
) -> dict[str, Any]:
    """Parse a multipart/form-data body into fields; file parts become base64 records.

    Repeated names become lists. More than ``max_multipart_parts`` parts -> 413, found
    before the extra parts are decoded.
    """
    boundary = params.get("boundary", "")
    if not 1 <= len(boundary) <= 70 or not boundary.isascii():
        raise _invalid("Content-Type needs a boundary parameter of 1-70 ASCII characters")
    delimiter = b"--" + boundary.encode("ascii")
    separator = b"\r\n" + delimiter
    if data.startswith(delimiter):
        pos = len(delimiter)
    else:  # a preamble before the first delimiter is allowed and ignored
        found = data.find(separator)
        if found < 0:
            raise _invalid("the boundary does not occur in the body")
        pos = found + len(separator)
    fields: dict[str, Any] = {}
    count = 0
    while not data.startswith(b"--", pos):  # "--" after a delimiter closes the body
        eol = data.find(b"\r\n", pos)
        if eol < 0 or data[pos:eol].strip(b" \t"):
            raise _invalid("a boundary line is not followed by CRLF")
        end = data.find(separator, eol + 2)
        if end < 0:
            raise _invalid("the closing boundary is missing")
        count += 1
        if count > limits.max_multipart_parts:
            raise BodyError(
                413,
                "too_many_multipart_parts",
                f"multipart body has more than {limits.max_multipart_parts} parts",
            )
        _part(data, eol + 2, end, fields)
        pos = end + len(separator)
    return fields
