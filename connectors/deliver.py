"""One event to a durable outcome under the destination's policy: delivered (and, exactly-once,
recorded), dead-lettered, handed to a delay tier, or — at-most-once — failed.

The runner's decisions live here (STYLE.md 5): which failures retry (`retryOn`), when
(backoff, Retry-After), whether the retry budget allows it, whether the circuit lets the attempt
through, and where a retry waits (in place for ordered destinations, a delay tier otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from typing import Any

from confluent_kafka import Message

from connectors.budget import RetryBudget
from connectors.circuit import CircuitBreaker
from connectors.dedup import DeliveredStore
from connectors.delays import RetryState, retry_headers
from connectors.outcomes import AttemptHistory, OutcomeWriter, now_ms
from connectors.sink import Delivered, DeliveryRequest, Failed, Outcome, Sink, is_transactional
from connectors.switch import Switch
from schemas import headers as h
from schemas.config import CompiledDestination
from schemas.destination_state import DestinationState
from schemas.envelope import Envelope, decode
from schemas.errors import DecodeError
from schemas.ids import idempotency_key
from schemas.kafka.consumer import record_headers
from schemas.metrics import Metrics

log = logging.getLogger("eis.connect")

# TEST-ONLY fault hook (tests/delivery/test_kill.py): die right after a destination's 2xx,
# before anything is recorded, to show exactly-once's documented window deterministically.
_CRASH_AFTER_DELIVERY = os.environ.get("EIS_TEST_CRASH_AFTER_DELIVERY") == "1"


def failure_kind(outcome: Failed) -> str:
    """`retryOn`'s word for a failure: its status code, `network`, `timeout`, or `permanent`."""
    if outcome.status_code is not None:
        return str(outcome.status_code)
    if outcome.kind:
        return outcome.kind
    if not outcome.retriable:
        return "permanent"       # e.g. a URL that cannot be rendered: no attempt can pass
    return "timeout" if outcome.error.startswith("timed out") else "network"


class Deliverer:
    """Takes events of one destination to their outcomes; shared by all its lanes."""

    def __init__(self, destination: CompiledDestination, sink: Sink, writer: OutcomeWriter,
                 metrics: Metrics, stopping: asyncio.Event, rng: random.Random,
                 breaker: CircuitBreaker | None = None, budget: RetryBudget | None = None,
                 store: DeliveredStore | None = None, switch: Switch | None = None) -> None:
        self.destination = destination
        self.policy = destination.policy
        self.sink = sink
        self.writer = writer
        self.metrics = metrics
        self.stopping = stopping
        self.rng = rng
        self.breaker = breaker
        self.budget = budget
        self.store = store
        self.switch = switch
        self._transactional = is_transactional(sink)

    async def handle(self, message: Message) -> bool:
        """Take one event to a durable outcome; False when stopping interrupted it (it stays
        uncommitted and is redelivered)."""
        try:
            envelope = decode(message.value() or b"", h.header_value(record_headers(message), h.CODEC))
        except DecodeError as exc:
            history = AttemptHistory()
            history.record(str(exc), now_ms())
            await (await self.writer.dead_letter(message, "decode", "undecodable", 0, history, None))
            return True
        key = idempotency_key(envelope.id, self.destination.id)
        if self.store is not None and await self._already_delivered(message.partition() or 0, key):
            self.metrics.deduplicated.labels(self.destination.id).inc()
            return True
        return await self._deliver(message, envelope, key)

    async def _already_delivered(self, partition: int, key: str) -> bool:
        assert self.store is not None
        await self.store.ready(partition)
        if self.store.seen(partition, key):
            return True
        if self._transactional and key in await self.sink.already_delivered([key]):  # type: ignore[attr-defined]
            await self.store.record(partition, key)
            return True
        return False

    async def _deliver(self, message: Message, envelope: Envelope, key: str) -> bool:
        destination, retry, dest_id = self.destination, self.destination.retry, self.destination.id
        state = RetryState.of(message)
        history = AttemptHistory(first_error=state.first_error, first_attempt_at=state.first_attempt_at)
        first_at = state.first_attempt_at or now_ms()
        pending: list[asyncio.Future[Any]] = []
        attempt = state.attempts

        async def settle(result: bool = True) -> bool:
            await asyncio.gather(*pending)
            return result

        while True:
            if self.breaker is not None and self.breaker.would_wait():
                pending.append(await self.writer.receipt(
                    envelope.id, key, attempt, "circuit_open", 0.0, envelope.received_at, None,
                    "waiting for the circuit breaker"))
            if not await self._admit():
                return await settle(False)
            attempt += 1
            if attempt == 1 and self.budget is not None:
                self.budget.first_attempt()
            request = DeliveryRequest(envelope, key, attempt, destination.timeout_ms / 1000)
            began = time.monotonic()
            outcome = await self._attempt(request)
            attempt_ms = (time.monotonic() - began) * 1000
            self.metrics.attempt_seconds.labels(dest_id).observe(attempt_ms / 1000)
            if attempt > 1:
                self.metrics.retried.labels(dest_id).inc()
            error = outcome.error if isinstance(outcome, Failed) else None
            history.record(error, now_ms())
            status = outcome.status_code

            if isinstance(outcome, Delivered):
                if _CRASH_AFTER_DELIVERY:
                    os._exit(9)
                self._record_result(True, "success")
                if self.store is not None:
                    await self.store.record(message.partition() or 0, key)
                pending.append(await self.writer.receipt(
                    envelope.id, key, attempt, "delivered", attempt_ms, envelope.received_at, status, None))
                self.metrics.delivered.labels(dest_id, "delivered").inc()
                self.metrics.ingest_to_delivery.labels(dest_id).observe(
                    max(0.0, (now_ms() - envelope.received_at) / 1000))
                return await settle()

            if isinstance(outcome, Failed) and outcome.gone and self.switch is not None:
                await self.switch.disable(DestinationState.gone(envelope.id, status or 410, outcome.error),
                                          self.stopping)
                if self.policy.guarantees != "at-most-once":   # at-most-once: never a second attempt
                    self._record_result(True, "permanent")      # it answered: up, just gone
                    # Held in place, not dead-lettered: attempted again once an operator enables
                    # the destination (the loop's `_admit` waits for that).
                    pending.append(await self.writer.receipt(
                        envelope.id, key, attempt, "retrying", attempt_ms, envelope.received_at, status,
                        f"{error}; destination disabled until an operator enables it"))
                    continue
            retriable = retry.retries(failure_kind(outcome))
            self._record_result(not retriable, "retriable" if retriable else "permanent")
            reason = None
            if not retriable:
                reason = "permanent_failure"
            elif self.policy.guarantees == "at-most-once":
                # Never a second attempt: the event is recorded `failed` and parked for operators.
                pending.append(await self.writer.receipt(
                    envelope.id, key, attempt, "failed", attempt_ms, envelope.received_at, status, error))
                pending.append(await self.writer.dead_letter(
                    message, "deliver", "at_most_once_failed", attempt, history, envelope.id))
                self.metrics.delivered.labels(dest_id, "failed").inc()
                return await settle()
            elif retry.gives_up(attempt, now_ms() - first_at):
                reason = "retries_exhausted"
            elif self.budget is not None and not self.budget.try_spend():
                reason = "retry_budget_exhausted"
            if reason is not None:
                pending.append(await self.writer.receipt(
                    envelope.id, key, attempt, "dead_lettered", attempt_ms, envelope.received_at, status, error))
                pending.append(await self.writer.dead_letter(message, "deliver", reason, attempt, history, envelope.id))
                self.metrics.delivered.labels(dest_id, "dead_lettered").inc()
                return await settle()

            pending.append(await self.writer.receipt(
                envelope.id, key, attempt, "retrying", attempt_ms, envelope.received_at, status, error))
            wait_s = retry.backoff_ms(attempt, self.rng) / 1000
            if isinstance(outcome, Failed) and outcome.retry_after_s is not None:
                wait_s = max(wait_s, outcome.retry_after_s)
            if self.policy.retry_tiers:
                # Unordered: hand the retry to a delay tier; this partition moves on.
                tier = self.policy.tier_for(attempt)
                headers = retry_headers(message, state, attempt, first_at, history.first_error,
                                        now_ms() + int(wait_s * 1000))
                pending.append(await self.writer.hand_off(message, tier.topic, headers))
                self.metrics.retry_handoffs.labels(dest_id, tier.topic.rsplit(".", 1)[-1]).inc()
                return await settle()
            if await self._sleep_unless_stopping(wait_s):  # ordered: retry in place
                return await settle(False)

    def _record_result(self, ok: bool, result: str) -> None:
        self.metrics.attempts.labels(self.destination.id, result).inc()
        if self.breaker is not None:
            self.breaker.record(ok)

    async def _admit(self) -> bool:
        """Wait while the destination is disabled, then for the circuit breaker (if any); False
        when stopping came first."""
        if self.switch is not None and not await self.switch.wait_enabled(self.stopping):
            return False
        breaker = self.breaker
        if breaker is None or breaker.closed:
            return True
        admit = asyncio.ensure_future(breaker.admit())
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({admit, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not admit.done():
                admit.cancel()
        return admit.done() and not admit.cancelled()

    async def _attempt(self, request: DeliveryRequest) -> Outcome:
        try:
            (outcome,) = await self.sink.send([request])
            return outcome
        except asyncio.CancelledError:
            if self.breaker is not None:
                self.breaker.release()
            raise
        except Exception as exc:  # a sink bug must not lose the event: retry it
            log.exception("sink %s raised", self.destination.id)
            return Failed(f"sink raised {type(exc).__name__}: {exc}", retriable=True, kind="network")

    async def _sleep_unless_stopping(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
            return True
        except TimeoutError:
            return False
