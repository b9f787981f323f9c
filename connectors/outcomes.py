"""Make an event's outcome durable: receipts for every attempt, dead-letter records for the rest."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from confluent_kafka import Message

from connectors.delays import RetryState, original_headers
from schemas.config import CompiledDestination, Pipeline
from schemas.kafka.producer import AsyncProducer, Delivered
from schemas.metrics import Metrics
from schemas.records import DeadLetter, Outcome, Receipt


def now_ms() -> int:
    """Wall-clock epoch milliseconds."""
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class AttemptHistory:
    """What the runner remembers of one event's attempts (for the dead-letter record)."""

    first_error: str | None = None
    last_error: str | None = None
    first_attempt_at: int | None = None
    last_attempt_at: int | None = None

    def record(self, error: str | None, at: int) -> None:
        """Note one attempt."""
        if self.first_attempt_at is None:
            self.first_attempt_at = at
        self.last_attempt_at = at
        if error is not None:
            self.first_error = self.first_error or error
            self.last_error = error


class OutcomeWriter:
    """Writes receipts and dead letters of one destination through the shared producer."""

    def __init__(self, pipeline: Pipeline, destination: CompiledDestination, target: str,
                 producer: AsyncProducer, metrics: Metrics) -> None:
        self.pipeline = pipeline
        self.destination = destination
        self.target = target
        self.producer = producer
        self.metrics = metrics

    async def receipt(self, event_id: str, key: str, attempt: int, outcome: Outcome,
                      attempt_ms: float, received_at: int, status_code: int | None,
                      error: str | None) -> asyncio.Future[Delivered]:
        """Enqueue the receipt of one attempt; the caller awaits the future before committing."""
        at = now_ms()
        receipt = Receipt(
            event_id=event_id, destination=self.destination.id, target=self.target,
            attempt=attempt, outcome=outcome, attempt_ms=attempt_ms,
            latency_ms=float(at - received_at), timestamp=at, idempotency_key=key,
            status_code=status_code, error=error,
        )
        return await self.producer.send(self.pipeline.topics.receipts, receipt.encode(), event_id.encode())

    async def dead_letter(self, message: Message, stage: str, reason: str, attempts: int,
                          history: AttemptHistory, event_id: str | None) -> asyncio.Future[Delivered]:
        """Enqueue the dead-letter record of `message`, keeping its key and original bytes.

        A record from a delay tier is parked as the destination topic's original: its origin
        and headers without the connector-internal retry headers."""
        state = RetryState.of(message)
        origin_topic, origin_partition, origin_offset = state.origin_of(message)
        headers = dict(original_headers(message))
        record = DeadLetter(
            destination=self.destination.id, stage=stage, reason=reason, attempts=attempts,
            dead_lettered_at=now_ms(), origin_topic=origin_topic,
            origin_partition=origin_partition, origin_offset=origin_offset,
            original_value=message.value() or b"", original_key=message.key(),
            original_headers=headers, event_id=event_id, first_error=history.first_error,
            last_error=history.last_error, first_attempt_at=history.first_attempt_at,
            last_attempt_at=history.last_attempt_at,
        )
        self.metrics.dead_lettered.labels(self.destination.id, reason).inc()
        return await self.producer.send(self.destination.dead_letter_topic, record.encode(), message.key())

    async def hand_off(self, message: Message, topic: str,
                       headers: list[tuple[str, bytes]]) -> asyncio.Future[Delivered]:
        """Enqueue the event's original bytes and key on a delay tier, in the same partition
        number (exactly-once's delivered keys are kept per partition number)."""
        return await self.producer.send(topic, message.value() or b"", message.key(), headers,
                                        partition=message.partition())
