"""The body pipeline the ingress handlers call: read, decode, parse."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from aiohttp import hdrs, web

from .encodings import decode_off_loop
from .errors import BodyError
from .limits import BodyLimits
from .parsing import parse_body_typed
from .reading import read_wire_body

__all__ = ["ParsedBody", "read_parsed_body", "error_response", "SERVER_KWARGS"]

#: Pass to ``web.AppRunner(app, **SERVER_KWARGS)`` (or ``TestServer``): the pipeline does
#: its own bounded decoding and needs the wire bytes (see ``read_wire_body``).
SERVER_KWARGS: Final = MappingProxyType({"auto_decompress": False})


@dataclass(frozen=True, slots=True)
class ParsedBody:
    """A request body after the pipeline.

    ``wire`` is exactly what arrived (signatures are computed over it); ``raw`` is after
    Content-Encoding decoding (the same object as ``wire`` when there was none);
    ``content_type`` is the lower-cased media type without parameters, or the sniffed one
    (``application/json`` / ``application/octet-stream``) when the request had none.
    """

    data: Any
    content_type: str
    raw: bytes
    wire: bytes


async def read_parsed_body(request: web.Request, limits: BodyLimits) -> ParsedBody:
    """Read, decode and parse ``request``'s body; raises only :class:`BodyError`
    for anything the sender can fix."""
    wire = await read_wire_body(request, limits)
    headers = request.headers
    raw = await decode_off_loop(wire, headers.get(hdrs.CONTENT_ENCODING), limits)
    content_type, data = parse_body_typed(raw, headers.get(hdrs.CONTENT_TYPE), limits)
    return ParsedBody(data=data, content_type=content_type, raw=raw, wire=wire)


def error_response(error: BodyError) -> web.Response:
    """The HTTP answer for a :class:`BodyError`: its status and ``{"code", "detail"}``.

    A 413 closes the connection: the unread rest of the body may be huge, and without
    ``force_close`` aiohttp would keep reading and discarding it for ``lingering_time``.
    """
    response = web.Response(
        status=error.status, body=error.to_json(), content_type="application/json"
    )
    if error.status == 413:
        response.force_close()
    return response
