"""read_parsed_body through a real aiohttp server: limits on the wire, decoding, echo."""

from __future__ import annotations

import gzip

import brotli
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.abuse_helpers import EndlessBody

from .conftest import LIMITS, echo_app

Client = TestClient[web.Request, web.Application]


async def test_json_body_parses_through_server(client: Client) -> None:
    resp = await client.post("/", data=b'{"a": 1}', headers={"Content-Type": "application/json"})
    assert resp.status == 200
    assert await resp.json() == {
        "data": {"a": 1}, "content_type": "application/json", "raw": 8, "wire": 8
    }


async def test_compressed_body_keeps_wire_and_raw_bytes(client: Client) -> None:
    wire = brotli.compress(gzip.compress(b'{"a": [1, 2, 3]}'))
    resp = await client.post(
        "/", data=wire,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip, br"},
    )
    assert resp.status == 200
    assert await resp.json() == {
        "data": {"a": [1, 2, 3]}, "content_type": "application/json", "raw": 16,
        "wire": len(wire),
    }


async def test_content_length_over_limit_is_413_before_reading(client: Client) -> None:
    resp = await client.post(
        "/", data=bytes(LIMITS.max_body_bytes + 1), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert (await resp.json())["code"] == "body_too_large"


async def test_chunked_body_past_limit_is_413_without_reading_everything(client: Client) -> None:
    body = EndlessBody()  # far more than the test would ever want to push

    resp = await client.post("/", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["code"] == "body_too_large"
    assert "Content-Length" not in resp.request_info.headers  # it really was chunked
    assert body.sent < 16 * LIMITS.max_body_bytes, f"client pushed {body.sent} bytes"


async def test_body_error_answers_status_and_json(client: Client) -> None:
    resp = await client.post("/", data=b'{"a":', headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert await resp.json() == {
        "code": "invalid_json", "detail": "invalid JSON at byte 5: unexpected end of data"
    }


async def test_unknown_content_encoding_is_415_through_server(client: Client) -> None:
    resp = await client.post("/", data=b"x", headers={"Content-Encoding": "zstd"})
    assert resp.status == 415


async def test_auto_decompressing_server_is_caught_as_a_server_bug() -> None:
    # With aiohttp's default auto_decompress=True the wire bytes never reach us; the
    # Content-Length check turns that misconfiguration into a loud 500, not 400s.
    async with TestClient(TestServer(echo_app())) as plain:
        resp = await plain.post(
            "/", data=gzip.compress(b"{}" * 100),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert resp.status == 500
