"""Read a request body off the wire with a byte bound, chunk by chunk."""

from __future__ import annotations

from aiohttp import web

from .errors import BodyError
from .limits import BodyLimits

__all__ = ["read_wire_body"]


def _too_large(limit: int) -> BodyError:
    return BodyError(413, "body_too_large", f"request body is larger than {limit} bytes")


async def read_wire_body(request: web.Request, limits: BodyLimits) -> bytes:
    """Read the raw body, refusing it (413 ``body_too_large``) once it passes the limit.

    ``request.content`` bypasses aiohttp's ``client_max_size``, hence the count here. A
    declared Content-Length over the limit is refused before reading; a chunked body is
    refused at the first chunk that crosses it, without reading the rest. The handler that
    answers should ``force_close()`` so aiohttp does not linger draining the unread body
    (see :func:`ingress.body.error_response`).

    The server must run with ``auto_decompress=False`` (:data:`SERVER_KWARGS`): otherwise
    aiohttp inflates the body before we see it, the wire bytes are lost for signature
    checks and ``max_decoded_bytes`` is bypassed. A Content-Length that differs from the
    bytes read reveals that misconfiguration and raises ``RuntimeError`` (a server bug,
    deliberately not a ``BodyError``). Transport errors (client went away) propagate.
    """
    limit = limits.max_body_bytes
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    content = request.content
    chunks: list[bytes] = []
    total = 0
    while chunk := await content.readany():
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    if declared is not None and total != declared:
        raise RuntimeError(
            f"read {total} body bytes but Content-Length is {declared}: is the server "
            "running with auto_decompress=True? ingress.body needs auto_decompress=False"
        )
    # b"".join returns a lone bytes item itself, so the one-chunk case costs no copy.
    return b"".join(chunks)
