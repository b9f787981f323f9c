"""One lane per assigned partition: events of a partition are handled strictly in order, each to
a durable outcome (delivered, or dead-lettered) before the next, while partitions run side by side."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from confluent_kafka import Message

from connectors.outcomes import AttemptHistory, OutcomeWriter, now_ms
from connectors.sink import Delivered, DeliveryRequest, Failed, Outcome, Sink
from schemas import headers as h
from schemas.config import CompiledDestination
from schemas.envelope import Envelope, decode
from schemas.errors import DecodeError
from schemas.ids import idempotency_key
from schemas.metrics import Metrics

log = logging.getLogger("eis.connect")


def _header(message: Message, name: str) -> str | None:
    for key, value in message.headers() or ():
        if key == name and value is not None:
            return value.decode()
    return None


class Lane:
    """Delivers one partition's events in order. `done` is the next offset to commit."""

    def __init__(self, destination: CompiledDestination, sink: Sink, writer: OutcomeWriter,
                 metrics: Metrics, stopping: asyncio.Event, rng: random.Random) -> None:
        self.destination = destination
        self.sink = sink
        self.writer = writer
        self.metrics = metrics
        self.stopping = stopping
        self.rng = rng
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.done: int | None = None
        self.task: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()  # set while waiting for the next event

    def start(self, on_error: Callable[[BaseException], Awaitable[None]]) -> None:
        """Run the lane until cancelled; an unexpected error is handed to `on_error`."""
        async def run() -> None:
            try:
                while True:
                    self.idle.set()
                    message = await self.queue.get()
                    self.idle.clear()
                    if await self.handle(message):
                        self.done = message.offset() + 1
                    else:
                        self.idle.set()
                        return  # stopping mid-retry: the event stays uncommitted, redelivered later
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001 - surfaced to the runner, which stops
                await on_error(exc)
        self.task = asyncio.create_task(run())

    async def finish(self, timeout: float) -> None:
        """Graceful stop: drop what is queued (the partition's next owner gets it), let the
        event in flight reach its outcome (retry waits end at once), then stop."""
        while not self.queue.empty():
            self.queue.get_nowait()
        try:
            await asyncio.wait_for(self.idle.wait(), timeout)
        except TimeoutError:
            log.warning("destination %s: in-flight delivery did not finish in %ss", self.destination.id, timeout)
        await self.stop()

    async def stop(self) -> None:
        """Cancel the lane and wait for it; `done` stays what was finished."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def handle(self, message: Message) -> bool:
        """Take one event to a durable outcome; False when stopping interrupted it."""
        try:
            envelope = decode(message.value() or b"", _header(message, h.CODEC))
        except DecodeError as exc:
            history = AttemptHistory()
            history.record(str(exc), now_ms())
            await (await self.writer.dead_letter(message, "decode", "undecodable", 0, history, None))
            return True
        return await self._deliver(message, envelope)

    async def _deliver(self, message: Message, envelope: Envelope) -> bool:
        destination, policy = self.destination, self.destination.retry
        key = idempotency_key(envelope.id, destination.id)
        history = AttemptHistory()
        started = time.monotonic()
        pending: list[asyncio.Future[object]] = []
        attempt = 0
        while True:
            attempt += 1
            request = DeliveryRequest(envelope, key, attempt, destination.timeout_ms / 1000)
            began = time.monotonic()
            outcome = await self._attempt(request)
            attempt_ms = (time.monotonic() - began) * 1000
            self.metrics.attempt_seconds.labels(destination.id).observe(attempt_ms / 1000)
            if attempt > 1:
                self.metrics.retried.labels(destination.id).inc()
            error = outcome.error if isinstance(outcome, Failed) else None
            history.record(error, now_ms())
            status = outcome.status_code
            if isinstance(outcome, Delivered):
                pending.append(await self.writer.receipt(
                    envelope.id, key, attempt, "delivered", attempt_ms, envelope.received_at, status, None))
                self.metrics.delivered.labels(destination.id, "delivered").inc()
                self.metrics.ingest_to_delivery.labels(destination.id).observe(
                    max(0.0, (now_ms() - envelope.received_at) / 1000))
                await asyncio.gather(*pending)
                return True
            elapsed_ms = (time.monotonic() - started) * 1000
            if not outcome.retriable or policy.gives_up(attempt, elapsed_ms):
                reason = "permanent_failure" if not outcome.retriable else "retries_exhausted"
                pending.append(await self.writer.receipt(
                    envelope.id, key, attempt, "dead_lettered", attempt_ms, envelope.received_at, status, error))
                pending.append(await self.writer.dead_letter(message, "deliver", reason, attempt, history, envelope.id))
                self.metrics.delivered.labels(destination.id, "dead_lettered").inc()
                await asyncio.gather(*pending)
                return True
            pending.append(await self.writer.receipt(
                envelope.id, key, attempt, "retrying", attempt_ms, envelope.received_at, status, error))
            wait_s = policy.backoff_ms(attempt, self.rng) / 1000
            if outcome.retry_after_s is not None:
                wait_s = max(wait_s, outcome.retry_after_s)
            if await self._sleep_unless_stopping(wait_s):
                await asyncio.gather(*pending)
                return False

    async def _attempt(self, request: DeliveryRequest) -> Outcome:
        try:
            (outcome,) = await self.sink.send([request])
            return outcome
        except Exception as exc:  # a sink bug must not lose the event: retry it
            log.exception("sink %s raised", self.destination.id)
            return Failed(f"sink raised {type(exc).__name__}: {exc}", retriable=True)

    async def _sleep_unless_stopping(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
            return True
        except TimeoutError:
            return False
