"""JSON answers of the ingress: `{"code", "detail"}` for errors (the svix convention)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Serialise with orjson."""
    return web.Response(body=orjson.dumps(payload), status=status, headers=headers,
                        content_type="application/json")


def error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    """An error answer with a stable machine code and a human detail."""
    return json_response({"code": code, "detail": detail}, status, headers)


def kafka_unavailable(retry_after_s: int, detail: str) -> web.Response:
    """503 with Retry-After: nothing was accepted, the sender should try again."""
    return error(503, "kafka_unavailable", f"event not accepted, retry later: {detail}",
                 {"Retry-After": str(retry_after_s)})


def body_timeout() -> web.Response:
    """408 for a body that did not arrive within EIS_BODY_TIMEOUT_S; the connection is closed
    (a slow sender holding a connection slot is a slow-loris, not a client to keep talking to)."""
    response = error(408, "body_timeout", "the request body did not arrive in time")
    response.force_close()
    return response
