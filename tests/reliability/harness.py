"""The loss checker's two ends (issue 6): a provider-like load generator and a recording sink.

- `LoadGenerator` posts events to the ingress like a webhook provider would: one sender per
  key, each waiting for its request's answer before the next (so Kafka's per-key order is the
  sequence order), retrying non-2xx answers and connection errors with capped backoff for a
  bounded total time. An event counts as acknowledged only when a 2xx carried its id.
- `ChaosSink` is `tests.sink_helpers.RecordingSink` that also records, per request, the event
  id, idempotency key, attempt, arrival time, key and sequence (`Arrival`), can be stopped and
  restarted on its port, and can drop chosen requests (answer 200, record nothing: the
  negative control).
- The checker that joins both with the dead-letter topics is tests/reliability/checker.py.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from tests.sink_helpers import RecordingSink

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
        return await self._reply(request, raw)

    def record(self, request: web.Request, body: bytes, status: int) -> None:
        """Keep the request as an `Arrival` too (what the checker joins on)."""
        fields = self._body(body)
        attempt = request.headers.get("X-EIS-Attempt")
        seq = fields.get("seq")
        self.arrivals.append(Arrival(
            request.headers.get("X-EIS-Event-Id"), request.headers.get("Idempotency-Key"),
            int(attempt) if attempt and attempt.isdigit() else None, time.monotonic(),
            fields.get("deviceId") if isinstance(fields.get("deviceId"), str) else None,
            seq if isinstance(seq, int) else None, status))
        super().record(request, body, status)

    def delivered_ids(self) -> set[str]:
        return {a.event_id for a in self.arrivals if a.event_id and 200 <= a.status < 300}
