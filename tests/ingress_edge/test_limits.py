"""Listener limits against abuse: header size and count, slow clients, connections per process."""

from __future__ import annotations

import asyncio
import time

import pytest

from ingress.settings import IngressSettings, ServerLimits
from tests.abuse_helpers import raw_exchange, request_head, trickle

from .conftest import ADMIN_KEY, App, EdgeFactory, end_offsets

CONFIG = """
service: limits
ingestion:
  protocols: [{http: {auth: none}}]
webhooks:
  - id: hook
    verification: {type: none}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""

LIMITS = ServerLimits(max_field_size=1024, max_line_size=2048, max_headers=20, idle_timeout_s=1.0,
                      body_timeout_s=0.5, max_connections=4)


async def start(edge: EdgeFactory) -> App:
    return await edge.start(await edge.pipeline(CONFIG), IngressSettings(admin_key=ADMIN_KEY, server=LIMITS))


async def raw(app: App, data: bytes, wait: float = 3.0) -> bytes:  # noqa: ASYNC109
    """Send bytes on a fresh connection; what came back before the server closed (or `wait`)."""
    return await raw_exchange(app.url, data, wait)


def head(extra: str = "", body: bytes = b'{"type": "t"}') -> bytes:
    return request_head("/webhooks/hook", extra, body)


async def test_a_header_value_over_max_field_size_is_refused_400(edge: EdgeFactory) -> None:
    app = await start(edge)
    answer = await raw(app, head(f"X-Big: {'a' * 1500}\r\n"))
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.0 400")), answer[:200]
    assert await end_offsets(app.kafka, app.pipeline.topics.inbound("hook")) == 0


async def test_more_headers_than_max_headers_is_refused_400(edge: EdgeFactory) -> None:
    app = await start(edge)
    answer = await raw(app, head("".join(f"X-H{i}: v\r\n" for i in range(30))))
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.0 400")), answer[:200]
    status, _, _ = await app.post("/webhooks/hook", {"type": "t"})   # within limits: fine
    assert status == 200


async def test_a_slow_client_does_not_block_a_legitimate_one_and_is_cut_off(edge: EdgeFactory) -> None:
    app = await start(edge)
    host, port = app.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    started = time.monotonic()

    slow_head = b"POST /webhooks/hook HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    task = asyncio.create_task(trickle(writer, slow_head, 0.2))   # slow-loris, never finishing
    status, answer, _ = await app.post("/webhooks/hook", {"type": "t"})
    assert status == 200, answer
    assert await asyncio.wait_for(reader.read(), 5.0) == b""   # the server closed it
    assert time.monotonic() - started < LIMITS.idle_timeout_s + 1.5
    task.cancel()
    writer.close()


@pytest.mark.parametrize(("path", "source"), [("/webhooks/hook", "hook"), ("/v1/events", "api")])
async def test_a_body_slower_than_the_body_timeout_is_408(edge: EdgeFactory, path: str, source: str) -> None:
    app = await start(edge)
    host, port = app.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = b'{"type": "t", "pad": "' + b"x" * 100 + b'"}'
    writer.write(request_head(path, body=body)[: -len(body)])
    writer.write(body[:10])
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 5.0)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"body_timeout" in answer
    assert await end_offsets(app.kafka, app.pipeline.topics.inbound(source)) == 0


async def test_connections_over_max_connections_are_answered_503(edge: EdgeFactory) -> None:
    app = await start(edge)
    host, port = app.url.removeprefix("http://").split(":")
    idle = [await asyncio.open_connection(host, int(port)) for _ in range(LIMITS.max_connections)]
    await asyncio.sleep(0.05)
    answer = await raw(app, head())
    assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
    assert b"too_many_connections" in answer
    for _, writer in idle:
        writer.close()
    await asyncio.sleep(0.1)
    status, _, _ = await app.post("/webhooks/hook", {"type": "t"})
    assert status == 200


def test_server_limits_come_from_the_environment_with_safe_defaults() -> None:
    default = IngressSettings.from_env({}).server
    assert default == ServerLimits()
    assert default.idle_timeout_s <= 30 and default.max_headers <= 128 and default.max_connections >= 100
    tuned = IngressSettings.from_env({"EIS_MAX_HEADERS": "50", "EIS_MAX_FIELD_SIZE": "4096",
                                      "EIS_IDLE_TIMEOUT_S": "5", "EIS_BODY_TIMEOUT_S": "10",
                                      "EIS_MAX_CONNECTIONS": "200", "EIS_MAX_LINE_SIZE": "4096"}).server
    assert tuned == ServerLimits(max_line_size=4096, max_field_size=4096, max_headers=50,
                                 idle_timeout_s=5, body_timeout_s=10, max_connections=200)
    with pytest.raises(ValueError):
        ServerLimits(max_connections=0)
