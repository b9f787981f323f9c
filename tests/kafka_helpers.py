"""Helpers for tests that talk to the dev broker (real records, never mocks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from confluent_kafka import Message

from schemas.kafka import (
    AsyncConsumer,
    AsyncProducer,
    Delivered,
    KafkaSettings,
    ProducerRecord,
    TopicSpec,
    ensure_topics,
    next_offsets,
)


def create_topics(settings: KafkaSettings, *names: str, partitions: int = 1, **config: str) -> None:
    """Create `names` with `partitions` each (topic config as keyword arguments)."""
    ensure_topics(settings, [TopicSpec(n, partitions, config=config) for n in names])


async def produce_json(
    settings: KafkaSettings,
    topic: str,
    records: Iterable[Mapping[str, Any]],
    *,
    key: str | None = None,
) -> list[Delivered]:
    """Produce each record as JSON (keyed by `record[key]` when given); all must be acked."""
    batch = [
        ProducerRecord(topic, orjson.dumps(r), str(r[key]).encode() if key else None)
        for r in records
    ]
    async with AsyncProducer(settings) as producer:
        outcomes = await producer.produce_many(batch)
    failed = [o for o in outcomes if not isinstance(o, Delivered)]
    assert not failed, failed[:3]
    return outcomes  # type: ignore[return-value]


async def consume_all(
    settings: KafkaSettings,
    topic: str,
    expected: int,
    timeout: float = 15.0,  # noqa: ASYNC109 - a deadline between polls, by design
    *,
    group: str | None = None,
) -> list[Message]:
    """Read `topic` from the start in a fresh group until `expected` records or `timeout`.

    Returns what arrived (possibly fewer: assert on it). Commits nothing, unless `group` is
    given, in which case it commits what it read so the group resumes after it.
    """
    group_id = group or f"consume-all-{time.monotonic_ns()}"
    out: list[Message] = []
    async with AsyncConsumer(settings, group_id) as consumer:
        consumer.subscribe([topic])
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < expected and asyncio.get_running_loop().time() < deadline:
            out.extend(await consumer.getmany(max_records=expected - len(out), timeout=0.5))
        if group is not None and out:
            await consumer.commit(next_offsets(out))
    return out


def values(messages: Iterable[Message]) -> list[Any]:
    """Decoded JSON values of `messages`, in order."""
    return [orjson.loads(m.value() or b"null") for m in messages]
