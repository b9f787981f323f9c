"""Helpers of the delivery tests: a flaky, idempotency-checking sink; envelopes produced straight
to destination topics; connectors run in-process or as processes."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry

from connectors.process import serve_connectors
from connectors.runner import DestinationRunner
from schemas import headers as h
from schemas.config import Pipeline, load_pipeline_text
from schemas.config.topic_plan import topic_plan
from schemas.envelope import Envelope, encode
from schemas.ids import new_event_id
from schemas.kafka import AsyncConsumer, AsyncProducer, KafkaSettings, ProducerRecord, ensure_topics
from schemas.metrics import Metrics
from tests.sink_helpers import RecordingSink


@dataclass
class FlakySink(RecordingSink):
    """A RecordingSink that also fails a share of requests (seeded), fails chosen events, and
    checks idempotency keys the way a careful receiver would (`applied`: first 2xx per key)."""

    fail_ratio: float = 0.0
    seed: int = 7
    fail_status: int = 500
    fail_events: dict[str, int] = field(default_factory=dict)  # body["seq"] → failures left
    applied: Counter[str] = field(default_factory=Counter)   # keys applied (once each: checked)
    repeated: Counter[str] = field(default_factory=Counter)  # 2xx answered to a known key, not re-applied
    started: int = 0   # requests that arrived (answered or not yet)
    delivered_at: list[float] = field(default_factory=list)  # monotonic time of each 2xx
    _rng: random.Random | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        if self._rng is None:
            self._rng = random.Random(self.seed)  # noqa: S311 - test fault injection
        body = await request.read()
        self.started += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status = self.script.popleft() if self.script else self.default_status
        try:
            seq = str(orjson.loads(body).get("seq"))
        except (orjson.JSONDecodeError, AttributeError):
            seq = ""
        if self.fail_events.get(seq, 0) > 0:
            self.fail_events[seq] -= 1
            status = self.fail_status
        elif status < 300 and self.fail_ratio and self._rng.random() < self.fail_ratio:
            status = self.fail_status
        key = request.headers.get("Idempotency-Key", "")
        if 200 <= status < 300:
            self.delivered_at.append(time.monotonic())
            if key in self.applied:
                self.repeated[key] += 1
            else:
                self.applied[key] += 1
        return await self._answer(request, body, status)

    def bodies(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.delivered]


def pipeline_yaml(prefix: str, destinations: str, delivery: str = "", partitions: int = 3) -> str:
    """A pipeline with one route `r` whose destinations are the given YAML list items."""
    return f"""
service: {prefix}
ingestion: {{protocols: [{{http: {{auth: none}}}}]}}
routing:
  - name: r
    destinations:
{destinations}
delivery:
  partitioning: {{key: $.deviceId, partitions: {partitions}}}
{delivery}
kafka: {{topicPrefix: {prefix}}}
egress: {{allow: ["127.0.0.0/8"]}}
"""


def load(text: str, kafka: KafkaSettings) -> Pipeline:
    """Load a pipeline and create its topics."""
    pipeline = load_pipeline_text(text, environ={})
    ensure_topics(kafka, topic_plan(pipeline))
    return pipeline


def envelope_record(topic: str, device: str, seq: int, route: str = "r",
                    event_id: str | None = None) -> tuple[ProducerRecord, str]:
    now = time.time_ns() // 1_000_000
    envelope = Envelope(id=event_id or new_event_id(), source="api", time=now, received_at=now,
                        partition_key=device, content_type="application/json",
                        data={"deviceId": device, "seq": seq}, route=route)
    headers = [(h.CODEC, b"json"), (h.EVENT_ID, envelope.id.encode())]
    return ProducerRecord(topic, encode(envelope), device.encode(), headers), envelope.id


async def produce_events(kafka: KafkaSettings, topic: str, count: int, keys: int = 10,
                         start: int = 0, ids: list[str] | None = None) -> list[str]:
    """`count` routed events (`seq` start…, device d0…d<keys-1>) straight onto a destination
    topic; returns their event ids. With `ids`, re-produces those events (same ids)."""
    records, out = [], []
    for i in range(count):
        record, event_id = envelope_record(topic, f"d{(start + i) % keys}", start + i,
                                           event_id=ids[i] if ids else None)
        records.append(record)
        out.append(event_id)
    async with AsyncProducer(kafka) as producer:
        for chunk in range(0, len(records), 1000):
            results = await producer.produce_many(records[chunk:chunk + 1000])
            assert all(not isinstance(r, Exception) for r in results), results[:3]
    return out


@asynccontextmanager
async def connectors(pipeline: Pipeline, kafka: KafkaSettings,
                     metrics: Metrics | None = None) -> AsyncIterator[Metrics]:
    """Every destination's runner in this process (real broker, real consumer groups)."""
    metrics = metrics or Metrics(CollectorRegistry())
    stop = asyncio.Event()
    task = asyncio.create_task(serve_connectors(pipeline, [], kafka, metrics, stop, None))
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


@asynccontextmanager
async def runner(pipeline: Pipeline, destination_id: str, kafka: KafkaSettings,
                 metrics: Metrics | None = None) -> AsyncIterator[DestinationRunner]:
    """One destination's runner in this process, for tests that look inside it."""
    metrics = metrics or Metrics(CollectorRegistry())
    async with AsyncProducer(kafka) as producer:
        r = DestinationRunner(pipeline, pipeline.destinations[destination_id], kafka, producer, metrics)
        task = asyncio.create_task(r.run())
        try:
            yield r
        finally:
            r.stop()
            await asyncio.wait_for(task, 60)


async def eventually(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s")
        await asyncio.sleep(0.05)


async def committed_offsets(kafka: KafkaSettings, group: str, topic: str, partitions: int = 1) -> list[int]:
    """The offsets `group` committed on `topic` (negative: none yet), partition by partition."""
    from confluent_kafka import TopicPartition

    consumer = AsyncConsumer(kafka, group)        # never subscribes: reads the group's offsets only
    try:
        found = await consumer.committed([TopicPartition(topic, p) for p in range(partitions)])
        return [tp.offset for tp in found]
    finally:
        await consumer.close()


async def quiet(count: Callable[[], int], quiet_s: float = 1.5, timeout: float = 30.0) -> None:
    """Wait until `count()` stops growing for `quiet_s` (a stream has drained), `timeout` at most."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() - since < quiet_s and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if (now := count()) != last:
            last, since = now, time.monotonic()


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value
