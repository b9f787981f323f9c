"""Shared fixtures: a tiny aiohttp app that runs the body pipeline, served for real."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ingress.body import SERVER_KWARGS, BodyError, BodyLimits, error_response, read_parsed_body

LIMITS = BodyLimits(max_body_bytes=1024 * 1024)


async def _echo(request: web.Request) -> web.Response:
    """Parse the body and echo what the pipeline produced, or map BodyError to its answer."""
    try:
        body = await read_parsed_body(request, LIMITS)
    except BodyError as exc:
        return error_response(exc)
    return web.Response(
        body=orjson.dumps(
            {"data": body.data, "content_type": body.content_type,
             "raw": len(body.raw), "wire": len(body.wire)}
        ),
        content_type="application/json",
    )


def echo_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/", _echo)
    return app


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    server = TestServer(echo_app())
    # TestServer(**kwargs) drops server options; start_server(**kwargs) passes them on.
    await server.start_server(**SERVER_KWARGS)
    async with TestClient(server) as test_client:
        yield test_client
