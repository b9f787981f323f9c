"""Reading, selecting and redriving a destination's dead letters (`eis.dlq.<destination>`).

Shared by `eis dlq` (ops/) and the admin API (ingress/): both only format what these return.
The calls block (librdkafka); async callers run them in a thread.

Redrive re-produces each selected record's ORIGINAL bytes, key and headers to the destination
topic, adding `eis-redrive-count` (1 more than the original carried), so the event re-enters
delivery in its key's partition. The dead-letter topic is append-only: a redriven record stays
listed. Records the worker parked (a transform raised) hold the raw inbound event, not a routed
one: they cannot re-enter the destination topic as they are, and are returned as skipped.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import confluent_kafka
import orjson
from confluent_kafka import TopicPartition

from schemas import headers as h
from schemas.config import CompiledDestination
from schemas.config.durations import parse_duration_ms
from schemas.errors import DecodeError
from schemas.kafka.admin import topic_partitions
from schemas.kafka.errors import KafkaDeliveryError, KafkaTopicError
from schemas.kafka.settings import KafkaSettings, consumer_config, producer_config
from schemas.records import DeadLetter

IDLE_S = 0.5  # a broker's end offset may lag by a batch: keep reading until quiet


@dataclass(frozen=True, slots=True)
class Parked:
    """One dead letter and where it sits in the dead-letter topic."""

    partition: int
    offset: int
    record: DeadLetter


@dataclass(frozen=True, slots=True)
class Selection:
    """Which dead letters: one event id and/or a dead-lettered-at window (`since` ≤ t < `until`)."""

    event: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    @property
    def empty(self) -> bool:
        """True when nothing narrows the selection (redrive refuses that)."""
        return self.event is None and self.since_ms is None and self.until_ms is None

    def matches(self, record: DeadLetter) -> bool:
        """Whether `record` is selected."""
        return ((self.event is None or record.event_id == self.event)
                and (self.since_ms is None or record.dead_lettered_at >= self.since_ms)
                and (self.until_ms is None or record.dead_lettered_at < self.until_ms))


def parse_time_ms(value: str, now_ms: int | None = None) -> int:
    """`2024-05-01T12:00:00Z`, epoch milliseconds, or a duration ago (`30m`, `2h`, `7d`)."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    text = value.strip()
    if text.isdigit() and len(text) >= 12:
        return int(text)
    try:
        return now_ms - parse_duration_ms(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"cannot read time {value!r}: use ISO-8601, epoch ms or an age like 30m") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def read_dead_letters(settings: KafkaSettings, topic: str, timeout_s: float = 30.0,
                      skipped: list[str] | None = None) -> list[Parked]:
    """Every record of `topic`, partition by partition in offset order. Undecodable records are
    described in `skipped` (when given) and left out."""
    consumer = confluent_kafka.Consumer(consumer_config(settings, f"eis-dlq-reader-{uuid.uuid4().hex}"))
    try:
        partitions = topic_partitions(consumer, topic)
        if partitions is None:
            raise KafkaTopicError(f"dead-letter topic {topic} not found")
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in partitions])
        found: list[Parked] = []
        positions = dict.fromkeys(partitions, 0)
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.consume(500, 0.1)
            for message in batch:
                partition, offset = message.partition(), message.offset()
                if message.error() is not None or partition is None or offset is None:
                    continue
                positions[partition] = offset + 1
                try:
                    found.append(Parked(partition, offset, DeadLetter.decode(message.value() or b"")))
                except DecodeError as exc:
                    if skipped is not None:
                        skipped.append(f"undecodable record {partition}/{offset}: {exc}")
            if batch:
                quiet_since = time.monotonic()
            elif all(positions[p] >= ends[p] for p in partitions) and time.monotonic() - quiet_since >= IDLE_S:
                break
        return sorted(found, key=lambda f: (f.partition, f.offset))
    finally:
        consumer.close()


def select(parked: list[Parked], selection: Selection) -> list[Parked]:
    """The dead letters `selection` picks, in topic order."""
    return [p for p in parked if selection.matches(p.record)]


def iso(ms: int | None) -> str | None:
    """Epoch ms as an ISO-8601 UTC instant (None stays None)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe(parked: Parked) -> dict[str, object]:
    """A dead letter as JSON: byte fields decoded where they are text."""
    record = parked.record
    try:
        original: object = orjson.loads(record.original_value)
    except orjson.JSONDecodeError:
        original = record.original_value.decode("utf-8", "replace")
    return {
        "dlqPartition": parked.partition, "dlqOffset": parked.offset, "destination": record.destination,
        "eventId": record.event_id, "stage": record.stage, "reason": record.reason,
        "attempts": record.attempts, "deadLetteredAt": iso(record.dead_lettered_at),
        "firstAttemptAt": iso(record.first_attempt_at), "lastAttemptAt": iso(record.last_attempt_at),
        "firstError": record.first_error, "lastError": record.last_error,
        "origin": {"topic": record.origin_topic, "partition": record.origin_partition,
                   "offset": record.origin_offset},
        "key": None if record.original_key is None else record.original_key.decode("utf-8", "replace"),
        "headers": {k: v.decode("utf-8", "replace") for k, v in record.original_headers.items()},
        "original": original,
    }


def split_redrivable(destination: CompiledDestination,
                     parked: list[Parked]) -> tuple[list[DeadLetter], list[DeadLetter]]:
    """(records that can re-enter `destination`'s topic, records parked before routing)."""
    own = {destination.topic, *(t.topic for t in destination.policy.retry_tiers)}
    redrivable = [p.record for p in parked if p.record.origin_topic in own]
    foreign = [p.record for p in parked if p.record.origin_topic not in own]
    return redrivable, foreign


def redrive(settings: KafkaSettings, destination: CompiledDestination, records: list[DeadLetter]) -> int:
    """Re-produce the originals to the destination topic; returns how many were acknowledged.
    Raises `KafkaDeliveryError` when any was not (re-running the same redrive is then safe:
    a repeat carries the same event id and idempotency key)."""
    producer = confluent_kafka.Producer(producer_config(settings))
    failures: list[str] = []

    def on_delivery(err: confluent_kafka.KafkaError | None, _msg: object) -> None:
        if err is not None:
            failures.append(err.str())

    for record in records:
        headers = dict(record.original_headers)
        count = int(headers.get(h.REDRIVE_COUNT, b"0") or b"0") + 1
        headers[h.REDRIVE_COUNT] = str(count).encode()
        producer.produce(destination.topic, record.original_value, record.original_key,
                         headers=list(headers.items()), on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(30)
    if failures or left:
        raise KafkaDeliveryError(f"{len(failures) + left} of {len(records)} redriven record(s) not "
                                 f"acknowledged: {failures[:3]}", topic=destination.topic, retriable=True)
    return len(records)
