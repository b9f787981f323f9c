"""An in-process ingress app per test, served for real on loopback, producing to the session broker.

Each app gets its own `topicPrefix`, so "nothing was produced" is a statement about topics no
other test writes to.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from confluent_kafka import Message
from prometheus_client import CollectorRegistry

from ingress.app import create_app
from ingress.body import SERVER_KWARGS
from ingress.settings import IngressSettings
from schemas.config import Pipeline, load_pipeline_text
from schemas.config.topic_plan import topic_plan
from schemas.kafka import AsyncProducer, KafkaSettings, describe_topics, ensure_topics
from schemas.metrics import Metrics
from tests.kafka_helpers import consume_all
from tests.stack_helpers import free_port

Client = TestClient[web.Request, web.Application]


@dataclass
class Ingress:
    """One running ingress app: its client, config, metrics and the broker it writes to."""

    client: Client
    pipeline: Pipeline
    metrics: Metrics
    kafka: KafkaSettings

    def topic(self, source: str) -> str:
        return self.pipeline.topics.inbound(source)

    async def records(self, source: str, expected: int, timeout: float = 15.0) -> list[Message]:  # noqa: ASYNC109
        """The first `expected` records of the source's topic (fails when fewer arrive)."""
        messages = await consume_all(self.kafka, self.topic(source), expected, timeout)
        assert len(messages) == expected, f"{len(messages)} of {expected} records in {self.topic(source)}"
        return messages

    async def envelope(self, source: str) -> tuple[Message, dict[str, Any]]:
        """The one record of the source's topic and its decoded JSON envelope."""
        (message,) = await self.records(source, 1)
        return message, orjson.loads(message.value() or b"null")

    async def end_offsets(self, source: str) -> int:
        """Sum of the topic's end offsets: 0 while nothing was written, and it moves with every
        batch written (Tansu reports the last batch's base offset + 1, see PartitionInfo)."""
        described = await asyncio.to_thread(describe_topics, self.kafka, [self.topic(source)], offsets=True)
        return sum(p.high or 0 for p in described[self.topic(source)].partitions)

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


MakeIngress = Callable[..., Awaitable[Ingress]]


def closed_port_url() -> str:
    """An http URL nobody listens on."""
    return f"http://127.0.0.1:{free_port()}"


class IngressFactory:
    """Builds apps whose YAML `{prefix}` becomes a prefix unique to each call; closes them all."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.clients: list[Client] = []

    async def __call__(self, config: str, *, producer_kafka: KafkaSettings | None = None,
                       settings: IngressSettings | None = None) -> Ingress:
        """`producer_kafka` points the app's producer elsewhere (an unreachable broker); topics
        are then not created. `settings` defaults to the built-in limits with no worker."""
        prefix = f"t{uuid.uuid4().hex[:10]}"
        pipeline = load_pipeline_text(config.replace("{prefix}", prefix), environ={})
        if producer_kafka is None:
            await asyncio.to_thread(ensure_topics, self.kafka, topic_plan(pipeline))
        metrics = Metrics(CollectorRegistry())
        app = create_app(pipeline, AsyncProducer(producer_kafka or self.kafka), metrics,
                         settings or IngressSettings(worker_url=closed_port_url()))
        server = TestServer(app)
        # TestServer(**kwargs) drops server options; start_server(**kwargs) passes them on.
        await server.start_server(**SERVER_KWARGS)
        client = TestClient(server)
        await client.start_server()
        self.clients.append(client)
        return Ingress(client, pipeline, metrics, self.kafka)

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


@pytest.fixture
async def make_ingress(kafka: KafkaSettings) -> AsyncIterator[MakeIngress]:
    """`await make_ingress(yaml)`: an app for this test only."""
    factory = IngressFactory(kafka)
    yield factory
    await factory.close()


@pytest.fixture(scope="module")
async def make_module_ingress(kafka: KafkaSettings) -> AsyncIterator[MakeIngress]:
    """Like `make_ingress`, for an app a module's tests share (each still has its own topics)."""
    factory = IngressFactory(kafka)
    yield factory
    await factory.close()
