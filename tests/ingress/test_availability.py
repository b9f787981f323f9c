"""Kafka unreachable → 503 with Retry-After, never 2xx; health follows the broker; the delivery
lookup proxy says when no worker answers."""

from __future__ import annotations

import time

import orjson

from schemas.kafka import KafkaSettings
from tests.stack_helpers import free_port

from .conftest import Ingress, MakeIngress

CONFIG = """
service: avail
webhooks:
  - id: hook
    verification: {type: none}
ingestion:
  protocols:
    - http: {auth: none}
kafka: {topicPrefix: "{prefix}"}
"""

# Well inside the "few seconds" a sender may wait; the producer gives up after 1.5 s.
DEADLINE_S = 6.0


async def unreachable(make_ingress: MakeIngress) -> Ingress:
    return await make_ingress(CONFIG, producer_kafka=KafkaSettings(
        bootstrap=f"127.0.0.1:{free_port()}", message_timeout_ms=1500))


async def assert_kafka_unavailable(ingress: Ingress, path: str) -> None:
    started = time.monotonic()
    response = await ingress.client.post(path, data=orjson.dumps({"type": "t", "n": 1}),
                                         headers={"Content-Type": "application/json"})
    elapsed = time.monotonic() - started
    assert response.status == 503, await response.text()
    assert elapsed < DEADLINE_S, f"answered after {elapsed:.1f}s"
    assert int(response.headers["Retry-After"]) > 0
    assert (await response.json())["code"] == "kafka_unavailable"


async def test_publish_is_503_kafka_unavailable_with_retry_after_when_kafka_is_unreachable(
    make_ingress: MakeIngress,
) -> None:
    ingress = await unreachable(make_ingress)
    await assert_kafka_unavailable(ingress, "/v1/events")
    assert ingress.metric("eis_events_rejected_total", source="api", reason="kafka_unavailable") == 1
    assert ingress.metric("eis_events_produced_total", source="api") == 0


async def test_a_webhook_is_503_kafka_unavailable_with_retry_after_when_kafka_is_unreachable(
    make_ingress: MakeIngress,
) -> None:
    ingress = await unreachable(make_ingress)
    await assert_kafka_unavailable(ingress, "/webhooks/hook")
    assert ingress.metric("eis_events_rejected_total", source="hook", reason="kafka_unavailable") == 1


async def test_healthz_is_503_when_kafka_is_unreachable(make_ingress: MakeIngress) -> None:
    ingress = await unreachable(make_ingress)
    response = await ingress.client.get("/healthz")
    assert response.status == 503
    assert "Retry-After" in response.headers
    assert (await response.json())["code"] == "kafka_unavailable"


async def test_healthz_is_200_when_kafka_answers(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(CONFIG)
    response = await ingress.client.get("/healthz")
    assert response.status == 200, await response.text()


async def test_the_delivery_lookup_is_503_tracking_unavailable_when_no_worker_answers(
    make_ingress: MakeIngress,
) -> None:
    ingress = await make_ingress(CONFIG)  # the fixture points worker_url at a closed port
    response = await ingress.client.get("/v1/events/x/deliveries")
    assert response.status == 503
    assert "Retry-After" in response.headers
    assert (await response.json())["code"] == "tracking_unavailable"
