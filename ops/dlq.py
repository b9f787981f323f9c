"""`eis dlq list|show|redrive DESTINATION [--event ID | --since T --until T]`: operate on a
destination's dead letters (`eis.dlq.<destination>`).

`redrive` re-produces each selected record's ORIGINAL bytes, key and headers to the
destination topic, adding `eis-redrive-count` (1 more than the original carried), so the event
re-enters delivery in its key's partition. The dead-letter topic is append-only: a redriven
record stays listed (with a redrive, the same event id shows up again if it fails again).
Under exactly-once, an event already delivered is skipped by its idempotency key.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import confluent_kafka
import orjson
from confluent_kafka import TopicPartition

from schemas import headers as h
from schemas.config import CompiledDestination, Pipeline
from schemas.config.durations import parse_duration_ms
from schemas.errors import DecodeError
from schemas.kafka.settings import KafkaSettings, consumer_config, producer_config
from schemas.records import DeadLetter

IDLE_S = 0.5  # the dev broker's end offset may lag by a batch: keep reading until quiet


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


def read_dead_letters(settings: KafkaSettings, topic: str,
                      timeout_s: float = 30.0) -> Iterator[tuple[int, int, DeadLetter]]:
    """Every record of `topic` as (partition, offset, record), partition by partition in order."""
    consumer = confluent_kafka.Consumer(consumer_config(settings, f"eis-dlq-reader-{uuid.uuid4().hex}"))
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            raise SystemExit(f"eis dlq: topic {topic} not found")
        partitions = sorted(info.partitions)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in partitions])
        found: list[tuple[int, int, DeadLetter]] = []
        positions = dict.fromkeys(partitions, 0)
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.consume(500, 0.1)
            for message in batch:
                if message.error() is not None:
                    continue
                positions[message.partition()] = message.offset() + 1
                try:
                    found.append((message.partition(), message.offset(), DeadLetter.decode(message.value() or b"")))
                except DecodeError as exc:
                    print(f"eis dlq: skipping undecodable record {message.partition()}/{message.offset()}: {exc}",
                          file=sys.stderr)
            if batch:
                quiet_since = time.monotonic()
            elif all(positions[p] >= ends[p] for p in partitions) and time.monotonic() - quiet_since >= IDLE_S:
                break
        yield from sorted(found, key=lambda f: (f[0], f[1]))
    finally:
        consumer.close()


def select(records: Iterator[tuple[int, int, DeadLetter]], event: str | None, since: int | None,
           until: int | None) -> list[tuple[int, int, DeadLetter]]:
    """Filter by event id and by when the record was dead-lettered (`since` ≤ t < `until`)."""
    return [(p, o, r) for p, o, r in records
            if (event is None or r.event_id == event)
            and (since is None or r.dead_lettered_at >= since)
            and (until is None or r.dead_lettered_at < until)]


def _iso(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def show_record(partition: int, offset: int, record: DeadLetter) -> dict[str, object]:
    """A dead letter as JSON for `show`: byte fields decoded where they are text."""
    try:
        original: object = orjson.loads(record.original_value)
    except orjson.JSONDecodeError:
        original = record.original_value.decode("utf-8", "replace")
    return {
        "dlqPartition": partition, "dlqOffset": offset, "destination": record.destination,
        "eventId": record.event_id, "stage": record.stage, "reason": record.reason,
        "attempts": record.attempts, "deadLetteredAt": _iso(record.dead_lettered_at),
        "firstAttemptAt": _iso(record.first_attempt_at), "lastAttemptAt": _iso(record.last_attempt_at),
        "firstError": record.first_error, "lastError": record.last_error,
        "origin": {"topic": record.origin_topic, "partition": record.origin_partition,
                   "offset": record.origin_offset},
        "key": None if record.original_key is None else record.original_key.decode("utf-8", "replace"),
        "headers": {k: v.decode("utf-8", "replace") for k, v in record.original_headers.items()},
        "original": original,
    }


def redrive(settings: KafkaSettings, destination: CompiledDestination, records: list[DeadLetter]) -> int:
    """Re-produce the originals to the destination topic; returns how many were acknowledged."""
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
        raise SystemExit(f"eis dlq: {len(failures) + left} record(s) not acknowledged: {failures[:3]}")
    return len(records)


def run_dlq(pipeline: Pipeline, action: str, destination_id: str, event: str | None,
            since: str | None, until: str | None, settings: KafkaSettings | None = None) -> int:
    """Entry point of `eis dlq`."""
    destination = pipeline.destinations.get(destination_id)
    if destination is None:
        print(f"eis dlq: unknown destination {destination_id}; known: {', '.join(pipeline.destinations)}",
              file=sys.stderr)
        return 2
    if action == "show" and event is None:
        print("eis dlq show: --event ID is required", file=sys.stderr)
        return 2
    settings = settings or KafkaSettings.from_env()
    chosen = select(read_dead_letters(settings, destination.dead_letter_topic), event,
                    parse_time_ms(since) if since else None, parse_time_ms(until) if until else None)
    if action == "list":
        for partition, offset, r in chosen:
            error = (r.last_error or "").replace("\n", " ")[:80]
            print(f"{partition}/{offset}\t{_iso(r.dead_lettered_at)}\t{r.event_id or '-'}\t{r.reason}\t"
                  f"attempts={r.attempts}\t{error}")
        print(f"{len(chosen)} dead letter(s) in {destination.dead_letter_topic}", file=sys.stderr)
        return 0
    if action == "show":
        if not chosen:
            print(f"eis dlq: no dead letter for event {event}", file=sys.stderr)
            return 1
        for partition, offset, r in chosen:
            print(orjson.dumps(show_record(partition, offset, r), option=orjson.OPT_INDENT_2).decode())
        return 0
    if action == "redrive":
        if event is None and since is None and until is None:
            print("eis dlq redrive: select with --event ID or --since/--until", file=sys.stderr)
            return 2
        # Records the worker parked (a transform raised) hold the raw inbound event, not a
        # routed one: they cannot re-enter the destination topic as they are.
        own = {destination.topic, *(t.topic for t in destination.policy.retry_tiers)}
        foreign = [r for _, _, r in chosen if r.origin_topic not in own]
        for r in foreign:
            print(f"eis dlq: skipping {r.event_id or '-'} (stage {r.stage}, from {r.origin_topic}): "
                  f"produce it to {r.origin_topic} again to re-route it", file=sys.stderr)
        count = redrive(settings, destination, [r for _, _, r in chosen if r.origin_topic in own])
        print(f"redriven {count} event(s) to {destination.topic}")
        return 0
    raise AssertionError(action)
