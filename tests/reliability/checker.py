"""The loss checker (issue 6): joins what the load generator saw acknowledged with what the
sink saw delivered and what the dead-letter topics hold.

`check()` waits until every acknowledged event is delivered or dead-lettered at each destination
(or a deadline passes), then reports `lost`, `duplicates`, `unexpected`, idempotency-key
mismatches, per-key ordering inversions and the dead-letter contents as JSON.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from schemas import headers as h
from schemas.envelope import decode
from schemas.errors import DecodeError
from schemas.kafka import AsyncConsumer, KafkaSettings
from schemas.records import DeadLetter
from tests.reliability.harness import Ack, Arrival, ChaosSink

REPORTS_ENV = "EIS_CHAOS_REPORTS"   # a directory: every report is also written there as JSON


# ---------------------------------------------------------------------------------------------
# dead letters
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parked:
    """A dead-letter record, reduced to what a report shows."""

    topic: str
    event_id: str | None
    reason: str
    stage: str
    attempts: int
    last_error: str | None
    origin_topic: str
    origin_offset: int
    original_size: int


def parked_of(topic: str, value: bytes) -> Parked:
    record = DeadLetter.decode(value)
    event_id = record.event_id
    if event_id is None:
        try:
            event_id = decode(record.original_value, record.original_headers.get(h.CODEC, b"").decode() or None).id
        except (DecodeError, UnicodeDecodeError):
            event_id = None
    return Parked(topic, event_id, record.reason, record.stage, record.attempts, record.last_error,
                  record.origin_topic, record.origin_offset, len(record.original_value))


class DeadLetterReader:
    """Reads dead-letter topics from the start (its own group) as they fill."""

    def __init__(self, kafka: KafkaSettings, topics: Iterable[str]) -> None:
        self.topics = list(topics)
        self.parked: list[Parked] = []
        self._consumer = AsyncConsumer(kafka, f"chaos-dlq-{time.monotonic_ns()}")
        self._consumer.subscribe(self.topics)

    async def poll(self, timeout: float = 0.3) -> None:  # noqa: ASYNC109 - one poll's wait
        for message in await self._consumer.getmany(max_records=5000, timeout=timeout):
            self.parked.append(parked_of(message.topic() or "", message.value() or b""))

    async def close(self) -> None:
        await self._consumer.close()

    def of(self, topic: str) -> list[Parked]:
        return [p for p in self.parked if p.topic == topic]


# ---------------------------------------------------------------------------------------------
# the checker
# ---------------------------------------------------------------------------------------------


@dataclass
class Destination:
    """A destination as the checker sees it: its sink, its dead-letter topic, which acknowledged
    events its routes select, and whether it promises per-key order."""

    id: str
    sink: ChaosSink
    dlq_topic: str
    selects: Callable[[Ack], bool] = lambda ack: True
    ordered: bool = False


def inversions(arrivals: Iterable[Arrival]) -> int:
    """Per key, first arrivals (of each sequence number, 2xx) whose sequence is below one that
    arrived earlier: the order the sender produced was not kept. Redeliveries are ignored."""
    seen: set[tuple[str, int]] = set()
    high: dict[str, int] = {}
    count = 0
    for a in arrivals:
        if a.key is None or a.seq is None or not 200 <= a.status < 300 or (a.key, a.seq) in seen:
            continue
        seen.add((a.key, a.seq))
        if a.seq < high.get(a.key, -1):
            count += 1
        high[a.key] = max(high.get(a.key, -1), a.seq)
    return count


def redeliveries_between(arrivals: Iterable[Arrival], kills: list[float],
                         slack_s: float = 0.5) -> dict[str, Any]:
    """Each redelivery (2xx) of an event against the kills (monotonic times): `unexplained` counts
    those with no kill between the event's previous delivery and this one — a duplicate no crash
    caused. `window_s` is the longest an event had been delivered before the kill that made it
    repeat: how far back a kill reaches (the in-flight window). `slack_s`: a request that reached
    the sink just before a kill may be recorded just after it (the sink shares the test's loop)."""
    last: dict[str, float] = {}
    unexplained, window = 0, 0.0
    for a in arrivals:
        if not a.event_id or not 200 <= a.status < 300:
            continue
        previous = last.get(a.event_id)
        if previous is not None:
            between = [k for k in kills if previous - slack_s <= k <= a.at]
            if between:
                window = max(window, between[0] - previous)
            else:
                unexplained += 1
        last[a.event_id] = a.at
    return {"unexplained": unexplained, "window_s": round(window, 3)}


def destination_report(dest: Destination, acked: dict[str, Ack], parked: list[Parked]) -> dict[str, Any]:
    """The figures of one destination (pure: tested without Kafka)."""
    expected = {i for i, ack in acked.items() if dest.selects(ack)}
    delivered = [a for a in dest.sink.arrivals if a.event_id and 200 <= a.status < 300]
    per_event = Counter(a.event_id for a in delivered)
    keys: dict[str, set[str | None]] = defaultdict(set)
    for a in delivered:
        keys[a.event_id or ""].add(a.idempotency_key)
    parked_ids = {p.event_id for p in parked if p.event_id}
    lost = sorted(expected - set(per_event) - parked_ids)
    mismatched = sorted(e for e, k in keys.items() if len(k) != 1 or k != {f"{e}:{dest.id}"})
    return {
        "destination": dest.id,
        "expected": len(expected),
        "delivered": len(expected & set(per_event)),
        "dead_lettered": len(expected & parked_ids - set(per_event)),
        "lost": len(lost),
        "lost_ids": lost[:50],
        "duplicates": sum(c - 1 for c in per_event.values()),
        "duplicate_events": sum(1 for c in per_event.values() if c > 1),
        "idempotency_key_mismatches": mismatched[:50],
        "unexpected": len(set(per_event) - set(acked)),
        "ordered": dest.ordered,
        "inversions": inversions(dest.sink.arrivals) if dest.ordered else None,
        "attempts": len(dest.sink.arrivals),
        "max_attempt": max((a.attempt or 0 for a in dest.sink.arrivals), default=0),
        "dead_letters": dead_letter_summary(parked),
    }


def dead_letter_summary(parked: list[Parked]) -> dict[str, Any]:
    """How many were parked, by `stage/reason` and by last error (the 20 most common), and the
    first 20 records."""
    reasons = Counter(f"{p.stage}/{p.reason}" for p in parked)
    errors = Counter(p.last_error or "" for p in parked)
    return {"count": len(parked), "by_reason": dict(reasons), "by_error": dict(errors.most_common(20)),
            "records": [asdict(p) for p in parked[:20]]}


@dataclass
class Report:
    """The checker's verdict; `data` is what goes to JSON."""

    data: dict[str, Any]

    @property
    def lost(self) -> int:
        return int(self.data["lost"])

    @property
    def duplicates(self) -> int:
        return int(self.data["duplicates"])

    def of(self, destination: str) -> dict[str, Any]:
        return next(d for d in self.data["destinations"] if d["destination"] == destination)

    def json(self) -> str:
        return json.dumps(self.data, indent=2, sort_keys=True, default=str)

    def __str__(self) -> str:
        return self.json()

    def save(self) -> None:
        """Write the report to `$EIS_CHAOS_REPORTS/<scenario>.json` when that is set (again after
        a scenario added figures of its own)."""
        directory = os.environ.get(REPORTS_ENV)
        if directory:
            path = Path(directory)
            path.mkdir(parents=True, exist_ok=True)
            (path / f"{self.data['scenario']}.json").write_text(self.json())


def build_report(scenario: str, acked: dict[str, Ack], destinations: list[Destination],
                 parked: list[Parked], duration_s: float, **extra: Any) -> Report:
    per = [destination_report(d, acked, [p for p in parked if p.topic == d.dlq_topic]) for d in destinations]
    data = {
        "scenario": scenario,
        "events": len(acked),
        "lost": sum(d["lost"] for d in per),
        "duplicates": sum(d["duplicates"] for d in per),
        "unexpected": sum(d["unexpected"] for d in per),
        "inversions": sum(d["inversions"] or 0 for d in per),
        "idempotency_key_mismatches": sum(len(d["idempotency_key_mismatches"]) for d in per),
        "duration_s": round(duration_s, 2),
        "destinations": per,
        **extra,
    }
    report = Report(data)
    report.save()
    return report


async def check(kafka: KafkaSettings, scenario: str, acked: dict[str, Ack],
                destinations: list[Destination], *, started: float, timeout: float = 60.0,  # noqa: ASYNC109
                settle_s: float = 1.0, extra_dlq_topics: Iterable[str] = (), **extra: Any) -> Report:
    """Wait until every acknowledged event reached each of its destinations or their
    dead-letter topics (or `timeout`), let late duplicates arrive for `settle_s`, and report.
    `started` (monotonic) is when the scenario began, for `duration_s`."""
    reader = DeadLetterReader(kafka, [*{d.dlq_topic for d in destinations}, *extra_dlq_topics])
    try:
        deadline = time.monotonic() + timeout
        while True:
            await reader.poll()
            pending = 0
            for d in destinations:
                resolved = d.sink.delivered_ids() | {p.event_id for p in reader.of(d.dlq_topic)}
                pending += sum(1 for i, ack in acked.items() if d.selects(ack) and i not in resolved)
            if pending == 0 or time.monotonic() > deadline:
                break
        settle_until = time.monotonic() + settle_s
        while time.monotonic() < settle_until:
            await reader.poll(0.2)
        duration = time.monotonic() - started
        return build_report(scenario, acked, destinations, reader.parked, duration, **extra)
    finally:
        await reader.close()
