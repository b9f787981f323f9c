"""One pipeline end to end on the real broker: webhook in, routed and transformed, delivered over
HTTP, tracked — with every role as its own OS process."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import aiohttp
import orjson
import pytest

from schemas.records import DeadLetter
from tests.kafka_helpers import consume_all
from tests.sink_helpers import RecordingSink

PIPELINE = """
service: {service}
webhooks:
  - id: shop
    provider: shopify
    verification: {{type: none}}
ingestion:
  protocols:
    - http: {{auth: none}}
routing:
  - name: orders
    condition: event.type == 'orders/create' AND $.total_price > 10
    transform:
      order:
        id: $.id
        total: $.total_price
        email: $.customer.email
    destinations:
      - id: sink
        type: http
        url: {sink_url}/orders
        timeout: 2s
delivery:
  partitioning: {{key: $.id, partitions: 3}}
  retry: {{maxAttempts: {attempts}, initialDelay: 50, maxDelay: 200}}
kafka: {{topicPrefix: {{prefix}}}}
egress: {{allow: ["127.0.0.0/8"]}}
"""


def pipeline(sink: RecordingSink, attempts: int = 5) -> str:
    return PIPELINE.format(service="{service}", sink_url=sink.url, attempts=attempts)


async def post_webhook(stack, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{stack.ingress_url}/webhooks/shop", data=body,
            headers={"Content-Type": "application/json", "X-Shopify-Topic": "orders/create", **(headers or {})},
        ) as response:
            return response.status, await response.json(content_type=None)


def order(n: int, total: float = 50.0) -> bytes:
    return orjson.dumps({"id": f"ord_{n}", "total_price": total, "customer": {"email": f"c{n}@example.com"}})


@pytest.fixture
async def running(stack_factory, sink):
    async def start(attempts: int = 5, roles: tuple[str, ...] = ("ingress", "worker", "connect")):
        stack = stack_factory(pipeline(sink, attempts))
        result = stack.run_cli("topics", "create", "-c", str(stack.config_path))
        assert result.returncode == 0, result.stderr
        for role in roles:
            stack.start(role, *(["--port", str(stack.ingress_port)] if role == "ingress" else []))
        if "ingress" in roles:
            await stack.wait_http(f"{stack.ingress_url}/healthz")
        if "worker" in roles:
            await stack.wait_http(f"{stack.worker_url}/healthz")
        return stack
    return start


async def test_a_webhook_is_routed_transformed_delivered_and_tracked(running, sink) -> None:
    stack = await running()
    status, answer = await post_webhook(stack, order(1))
    assert status == 200 and answer["accepted"] is True
    (request,) = await sink.wait_for(1, timeout=60)
    assert request.path == "/orders"
    assert request.json() == {"order": {"id": "ord_1", "total": 50.0, "email": "c1@example.com"}}
    assert request.headers["Idempotency-Key"] == f"{answer['id']}:orders.sink"
    entries = await stack.wait_status(answer["id"], lambda e: e and e[0]["status"] == "delivered")
    assert entries[0]["attempts"] == 1
    assert entries[0]["destination"] == f"{sink.url}/orders"
    assert entries[0]["destinationId"] == "orders.sink"


async def test_an_event_no_route_selects_is_accepted_but_not_delivered(running, sink) -> None:
    stack = await running()
    status, _ = await post_webhook(stack, order(2, total=5))
    assert status == 200
    status, _ = await post_webhook(stack, order(3, total=20))
    await sink.wait_for(1, timeout=60)
    await asyncio.sleep(1)
    assert [r.json()["order"]["id"] for r in sink.delivered] == ["ord_3"]


async def test_a_failing_destination_is_retried_until_it_accepts(running, sink) -> None:
    sink.answer(500, 500)
    stack = await running()
    _, answer = await post_webhook(stack, order(4))
    await sink.wait_for(1, timeout=60)
    assert [r.status for r in sink.received] == [500, 500, 200]
    assert len({r.headers["Idempotency-Key"] for r in sink.received}) == 1
    entries = await stack.wait_status(answer["id"], lambda e: e and e[0]["status"] == "delivered")
    assert entries[0]["attempts"] == 3


async def test_an_event_that_exhausts_its_retries_is_dead_lettered_with_the_error(
        running, sink, kafka, unique_name) -> None:
    sink.default_status = 500
    stack = await running(attempts=3)
    _, answer = await post_webhook(stack, order(5))
    (message,) = await consume_all(kafka, f"{unique_name}.dlq.orders.sink", 1, timeout=60)
    record = DeadLetter.decode(message.value())
    assert record.event_id == answer["id"]
    assert record.attempts == 3 and record.reason == "retries_exhausted"
    assert record.last_error is not None and "HTTP 500" in record.last_error
    assert orjson.loads(record.original_value)["id"] == answer["id"]
    assert message.key() == b"ord_5"
    assert len(sink.received) == 3
    entries = await stack.wait_status(answer["id"], lambda e: e and e[0]["status"] == "dead-lettered")
    assert entries[0]["attempts"] == 3


async def test_a_permanent_4xx_is_dead_lettered_without_retrying(running, sink, kafka, unique_name) -> None:
    sink.default_status = 422
    stack = await running()
    await post_webhook(stack, order(6))
    (message,) = await consume_all(kafka, f"{unique_name}.dlq.orders.sink", 1, timeout=60)
    assert DeadLetter.decode(message.value()).reason == "permanent_failure"
    assert len(sink.received) == 1


BAD_REQUESTS = [
    pytest.param(b'{"id": ', {}, 400, "invalid_json", id="invalid-json"),
    pytest.param(b'{"id": 1}', {"Content-Type": "application/xml"}, 400, "content_type_mismatch", id="type-mismatch"),
    pytest.param(b"x" * (1024 * 1024 + 1), {}, 413, "body_too_large", id="oversized"),
    pytest.param(gzip.compress(b"[" * 10 + b"0" * (20 * 1024 * 1024)), {"Content-Encoding": "gzip"}, 413,
                 "decoded_body_too_large", id="gzip-bomb"),
    pytest.param(zlib.compress(b"{}"), {"Content-Encoding": "zstd"}, 415, "unsupported_content_encoding",
                 id="unknown-encoding"),
]


@pytest.mark.parametrize(("body", "headers", "status", "code"), BAD_REQUESTS)
async def test_bad_input_gets_the_right_4xx_and_nothing_is_produced(running, kafka, unique_name,
                                                                    body, headers, status, code) -> None:
    stack = await running(roles=("ingress",))
    got, answer = await post_webhook(stack, body, headers)
    assert (got, answer["code"]) == (status, code)
    assert await consume_all(kafka, f"{unique_name}.in.shop", 1, timeout=4) == []


async def test_an_unknown_webhook_id_is_404(running) -> None:
    stack = await running(roles=("ingress",))
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{stack.ingress_url}/webhooks/nope", data=b"{}") as response:
            assert response.status == 404
            assert (await response.json())["code"] == "unknown_webhook"


async def test_an_unknown_event_id_lookup_is_404(running) -> None:
    stack = await running(roles=("ingress", "worker"))
    status, body = await stack.deliveries("evt_nope")
    assert status == 404 and body["code"] == "unknown_event"
