"""The loss checker (issue 6): a provider-like load generator, a recording sink, and a checker
that joins what was acknowledged with what was delivered or dead-lettered.

- `LoadGenerator` posts events to the ingress like a webhook provider would: one sender per
  key, each waiting for its request's answer before the next (so Kafka's per-key order is the
  sequence order), retrying non-2xx answers and connection errors with capped backoff for a
  bounded total time. An event counts as acknowledged only when a 2xx carried its id.
- `ChaosSink` is `tests.sink_helpers.RecordingSink` that also records, per request, the event
  id, idempotency key, attempt, arrival time, key and sequence (`Arrival`), can be stopped and
  restarted on its port, and can drop chosen requests (answer 200, record nothing: the
  negative control).
- `check()` waits until every acknowledged event is delivered or dead-lettered at each
  destination (or a deadline passes), then reports `lost`, `duplicates`, `unexpected`,
  idempotency-key mismatches, per-key ordering inversions and the dead-letter contents as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from schemas import headers as h
from schemas.envelope import decode
from schemas.errors import DecodeError
from schemas.kafka import AsyncConsumer, KafkaSettings
from schemas.records import DeadLetter
from tests.sink_helpers import Received, RecordingSink

REPORTS_ENV = "EIS_CHAOS_REPORTS"   # a directory: every report is also written there as JSON


# ---------------------------------------------------------------------------------------------
# the load generator
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledged event: its id as the ingress answered it, and what the sender sent."""

    event_id: str
    key: str
    seq: int
    at: float   # monotonic time of the 2xx


@dataclass(frozen=True, slots=True)
class Answer:
    """One request's outcome: when it was sent and answered (monotonic), its status (or error
    kind) and its Retry-After header."""

    sent_at: float
    at: float
    status: int | str
    retry_after: str | None


@dataclass
class LoadGenerator:
    """Sends `total` events over `keys` keys to `url()` (a callable: the ingress may move).

    `mode="events"`: POST /v1/events with arrays of `batch` events; `mode="webhook"`: POST
    /webhooks/<webhook_id>, one event a request. `spread_s` paces the senders so the load lasts
    about that long; `give_up_s` bounds the time one request is retried (like a provider's
    retry window). `extra(key, seq)` adds fields to an event.
    """

    url: Callable[[], str]
    mode: str = "events"
    webhook_id: str = "hooks"
    keys: int = 10
    batch: int = 5
    spread_s: float = 0.0
    give_up_s: float = 60.0
    max_backoff_s: float = 1.0
    extra: Callable[[str, int], dict[str, Any]] | None = None
    acked: dict[str, Ack] = field(default_factory=dict)
    statuses: Counter[int | str] = field(default_factory=Counter)   # every answer (or error kind)
    answers: list[Answer] = field(default_factory=list)             # … each with its times
    gave_up: list[tuple[str, int]] = field(default_factory=list)
    sent_seqs: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(6))  # noqa: S311 - jitter

    @property
    def acked_count(self) -> int:
        return len(self.acked)

    def latency_ms(self) -> dict[str, float]:
        """Median, 99th percentile and maximum of the acknowledged requests' latencies (ms)."""
        ordered = sorted(a.at - a.sent_at for a in self.answers
                         if isinstance(a.status, int) and 200 <= a.status < 300) or [0.0]
        p50, p99 = (ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.5, 0.99))
        return {"p50": round(1000 * p50, 1), "p99": round(1000 * p99, 1), "max": round(1000 * ordered[-1], 1)}

    def event(self, key: str, seq: int) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "reading", "deviceId": key, "seq": seq}
        if self.extra is not None:
            body.update(self.extra(key, seq))
        return body

    async def run(self, total: int) -> None:
        """Send every event (or give up on it after `give_up_s` of retrying)."""
        per_key: dict[str, list[int]] = defaultdict(list)
        for i in range(total):
            per_key[f"d{i % self.keys}"].append(i)
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await asyncio.gather(*(self._sender(session, key, seqs) for key, seqs in per_key.items()))

    async def _sender(self, session: aiohttp.ClientSession, key: str, seqs: list[int]) -> None:
        step = self.batch if self.mode == "events" else 1
        chunks = [seqs[i:i + step] for i in range(0, len(seqs), step)]
        pause = self.spread_s / max(1, len(chunks))
        for chunk in chunks:
            started = time.monotonic()
            await self._send_until_acked(session, key, chunk)
            self.sent_seqs += len(chunk)
            if pause:
                await asyncio.sleep(max(0.0, pause - (time.monotonic() - started)))

    async def _send_until_acked(self, session: aiohttp.ClientSession, key: str, seqs: list[int]) -> None:
        deadline = time.monotonic() + self.give_up_s
        backoff = 0.05
        while True:
            wait = await self._post_once(session, key, seqs)
            if wait is None:
                return
            if time.monotonic() + backoff > deadline:
                self.gave_up.extend((key, s) for s in seqs)
                return
            await asyncio.sleep(max(wait, self._rng.uniform(0, backoff)))
            backoff = min(self.max_backoff_s, backoff * 2)

    async def _post_once(self, session: aiohttp.ClientSession, key: str, seqs: list[int]) -> float | None:
        """One request; None when it was acknowledged, else how long to wait at least."""
        events = [self.event(key, s) for s in seqs]
        if self.mode == "events":
            url, payload = f"{self.url()}/v1/events", orjson.dumps(events)
        else:
            url, payload = f"{self.url()}/webhooks/{self.webhook_id}", orjson.dumps(events[0])
        sent_at = time.monotonic()
        try:
            async with session.post(url, data=payload, headers={"Content-Type": "application/json"}) as r:
                self.statuses[r.status] += 1
                self.answers.append(Answer(sent_at, time.monotonic(), r.status, r.headers.get("Retry-After")))
                body = await r.read()
                if 200 <= r.status < 300:
                    answer = orjson.loads(body)
                    ids = answer.get("ids") or [answer["id"]]
                    now = time.monotonic()
                    for event_id, seq in zip(ids, seqs, strict=True):
                        self.acked[event_id] = Ack(event_id, key, seq, now)
                    return None
                retry_after = r.headers.get("Retry-After", "")
                return min(self.max_backoff_s, float(retry_after)) if retry_after.isdigit() else 0.0
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            self.statuses[type(exc).__name__] += 1
            self.answers.append(Answer(sent_at, time.monotonic(), type(exc).__name__, None))
            return 0.0


# ---------------------------------------------------------------------------------------------
# the recording sink
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Arrival:
    """One request as the sink saw it, with the fields the checker joins on."""

    event_id: str | None
    idempotency_key: str | None
    attempt: int | None
    at: float            # monotonic arrival time
    key: str | None      # the event's deviceId
    seq: int | None
    status: int


@dataclass
class ChaosSink(RecordingSink):
    """A RecordingSink that records `Arrival`s, restarts on its own port and can drop requests.

    `drop(body)` true: answer 200 and record nothing (a receiver that loses what it accepted).
    `path_delays` adds a delay per path prefix. `stop()` closes the port (connections are
    refused); `start()` again re-binds the same port.
    """

    drop: Callable[[dict[str, Any]], bool] | None = None
    arrivals: list[Arrival] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    started_requests: int = 0

    async def start(self) -> ChaosSink:
        self._arrived = self._arrived or asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _body(self, raw: bytes) -> dict[str, Any]:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}
        return body if isinstance(body, dict) else {}

    async def _handle(self, request: web.Request) -> web.Response:
        self.started_requests += 1
        raw = await request.read()
        body = self._body(raw)
        if self.drop is not None and self.drop(body):
            self.dropped.append(body)
            return web.json_response({"status": 200})
        return await self._handle_recorded(request, raw)

    async def _handle_recorded(self, request: web.Request, raw: bytes) -> web.Response:
        """RecordingSink's answer logic on an already read body, plus the Arrival."""
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status = self.script.popleft() if self.script else self.default_status
        self.record(request, raw, status)
        headers = {"Retry-After": self.retry_after} if self.retry_after and status in (429, 503) else None
        return web.json_response({"status": status}, status=status, headers=headers)

    def record(self, request: web.Request, raw: bytes, status: int) -> None:
        body = self._body(raw)
        attempt = request.headers.get("X-EIS-Attempt")
        seq = body.get("seq")
        self.arrivals.append(Arrival(
            request.headers.get("X-EIS-Event-Id"), request.headers.get("Idempotency-Key"),
            int(attempt) if attempt and attempt.isdigit() else None, time.monotonic(),
            body.get("deviceId") if isinstance(body.get("deviceId"), str) else None,
            seq if isinstance(seq, int) else None, status))
        self.received.append(Received(request.method, request.path_qs, dict(request.headers), raw, status))
        assert self._arrived is not None
        self._notify()

    def _notify(self) -> None:
        arrived = self._arrived
        assert arrived is not None

        async def wake() -> None:
            async with arrived:
                arrived.notify_all()
        asyncio.get_running_loop().create_task(wake())

    def delivered_ids(self) -> set[str]:
        return {a.event_id for a in self.arrivals if a.event_id and 200 <= a.status < 300}


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
