"""The destination admin API (`/v1/destinations/{id}`) answers what a caller can act on."""

from __future__ import annotations

import asyncio

from schemas.kafka import KafkaSettings
from tests.stack_helpers import free_port

from .conftest import EdgeFactory, admin, admin_call

CONFIG = """
service: gone
ingestion: {protocols: [{http: {auth: none}}]}
routing: [{name: r, destinations: [{id: crm, type: http, url: "http://127.0.0.1:1/"}]}]
kafka: {topicPrefix: "{prefix}"}
"""


async def test_an_unknown_destination_is_404_naming_the_known_ones(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    status, answer = await admin(app, "GET", "/v1/destinations/nope")
    assert status == 404
    assert answer["code"] == "unknown_destination" and "r.crm" in answer["detail"]


async def test_reading_or_enabling_a_destination_is_503_with_retry_after_while_kafka_is_unreachable(
        edge: EdgeFactory) -> None:
    pipeline = await edge.pipeline(CONFIG)
    app = await edge.start(pipeline, ready=False, kafka=KafkaSettings(
        bootstrap=f"127.0.0.1:{free_port()}", message_timeout_ms=1500))
    answers = await asyncio.gather(admin_call(app, "GET", "/v1/destinations/r.crm"),
                                   admin_call(app, "POST", "/v1/destinations/r.crm/enable", {}))
    for status, answer, headers in answers:
        assert (status, answer["code"]) == (503, "kafka_unavailable"), answer
        assert int(headers["Retry-After"]) > 0
