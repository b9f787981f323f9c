"""Circuit breaker: opens after the threshold, half-opens after resetTimeout (one probe), closes
on success; while open events wait (status circuit-open) and the partitions are paused."""

from __future__ import annotations

import asyncio

import pytest

from connectors.circuit import CircuitBreaker, State
from schemas.config.compiled import CircuitPolicy
from schemas.records import Receipt
from tests.delivery.helpers import eventually, load, pipeline_yaml, produce_events, runner, sample
from tests.kafka_helpers import consume_all


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_transitions_closed_open_half_open_closed_with_a_single_probe() -> None:
    clock = Clock()
    changes: list[tuple[State, State]] = []
    breaker = CircuitBreaker(CircuitPolicy(3, 1000), "d", lambda a, b: changes.append((a, b)), clock)
    for _ in range(2):
        await breaker.admit()
        breaker.record(False)
    assert breaker.state is State.CLOSED
    await breaker.admit()
    breaker.record(False)
    assert breaker.state is State.OPEN and breaker.would_wait()
    waiter = asyncio.create_task(breaker.admit())
    await asyncio.sleep(0.05)
    assert not waiter.done()                      # open: events wait, they do not fail
    clock.now = 1.0
    await asyncio.wait_for(waiter, 2)             # resetTimeout passed: this one is the probe
    assert breaker.state is State.HALF_OPEN
    second = asyncio.create_task(breaker.admit())
    await asyncio.sleep(0.05)
    assert not second.done()                      # only one probe at a time
    breaker.record(False)                         # the probe failed: open again
    assert breaker.state is State.OPEN
    clock.now = 2.0
    await asyncio.wait_for(second, 2)
    breaker.record(True)                          # the next probe passes: closed
    assert breaker.state is State.CLOSED and not breaker.would_wait()
    assert changes == [(State.CLOSED, State.OPEN), (State.OPEN, State.HALF_OPEN),
                       (State.HALF_OPEN, State.OPEN), (State.OPEN, State.HALF_OPEN),
                       (State.HALF_OPEN, State.CLOSED)]


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker(CircuitPolicy(2, 1000), "d", clock=Clock())
    for ok in (False, True, False, True, False):
        breaker.record(ok)
    assert breaker.state is State.CLOSED


@pytest.mark.parametrize("ordering", ["per-device", "none"])
async def test_a_dead_destination_opens_the_circuit_and_events_wait_until_it_recovers(
        kafka, flaky, unique_name, ordering, caplog) -> None:
    flaky.default_status = 503
    pipeline = load(pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in", ordering: {ordering}}}""", """
  retry: {maxAttempts: 50, initialDelay: 20, maxDelay: 50}
  circuitBreaker: {enabled: true, failureThreshold: 3, resetTimeout: 600}""", partitions=1), kafka)
    ids = await produce_events(kafka, pipeline.destinations["r.s"].topic, 5, keys=1)
    async with runner(pipeline, "r.s", kafka) as r:
        await eventually(lambda: r.breaker is not None and r.breaker.state is State.OPEN, what="circuit open")
        assert len(flaky.received) == 3            # the threshold; nothing more while open
        await eventually(lambda: r.paused == set(r.lanes), what="partitions paused")
        assert sample(r.metrics, "eis_circuit_state", destination="r.s") == State.OPEN
        await eventually(lambda: len(flaky.received) == 4, 5, "half-open probe")
        await asyncio.sleep(0.2)
        assert len(flaky.received) == 4            # a single probe event, which failed: open again
        flaky.default_status = 200
        await flaky.wait_for(5, timeout=20)
        assert r.breaker.state is State.CLOSED
        await eventually(lambda: not r.paused, what="partitions resumed")
        metrics = r.metrics
    transitions = {to: sample(metrics, "eis_circuit_transitions_total", destination="r.s", to=to)
                   for to in ("open", "half-open", "closed")}
    assert transitions["open"] >= 2 and transitions["half-open"] >= 2 and transitions["closed"] == 1
    assert sorted(b["seq"] for b in flaky.bodies()) == [0, 1, 2, 3, 4]
    assert "circuit closed -> open" in caplog.text and "circuit half-open -> closed" in caplog.text
    receipts = [Receipt.decode(m.value()) for m in await consume_all(kafka, pipeline.topics.receipts, 100, 5)]
    waited = {x.event_id for x in receipts if x.outcome == "circuit_open"}
    assert waited and waited <= set(ids)
    assert not any(x.outcome == "dead_lettered" for x in receipts)   # waiting spent no attempts
