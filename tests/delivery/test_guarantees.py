"""Guarantee modes in-process on the real broker: at-most-once commits before the attempt and
never retries; exactly-once remembers completed deliveries in Kafka across restarts; the
transactional hook lets a destination answer for its own writes."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest

from connectors import registry
from connectors import runner as runner_module
from connectors.http import HttpSink
from connectors.runner import group_id
from schemas.destination_state import DestinationState
from schemas.kafka.destination_states import write_state
from schemas.records import DeadLetter, Receipt
from tests.delivery.helpers import committed_offsets, eventually, load, pipeline_yaml, produce_events, runner, sample
from tests.kafka_helpers import consume_all


async def test_at_most_once_commits_before_the_attempt_and_records_a_failure_without_retrying(
        kafka, flaky, unique_name) -> None:
    flaky.delay_s = 1.5                      # the attempt is in flight while we look at the offset
    flaky.fail_events = {"1": 5}
    pipeline = load(pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in"}}""", """
  guarantees: at-most-once
  retry: {maxAttempts: 5, initialDelay: 10}""", partitions=1), kafka)
    destination = pipeline.destinations["r.s"]
    assert destination.policy.retry_tiers == ()     # nothing to retry into
    ids = await produce_events(kafka, destination.topic, 2, keys=2)
    async with runner(pipeline, "r.s", kafka):
        await eventually(lambda: flaky.started == 2, 10, "both attempts started")
        assert not flaky.received            # … and neither answered yet
        assert await committed_offsets(kafka, group_id(pipeline, destination), destination.topic) == [2]
        await flaky.wait_for(2, timeout=10, delivered_only=False)
        await asyncio.sleep(0.3)
    assert sorted(r.status for r in flaky.received) == [200, 500]   # one attempt each, no retry
    receipts = [Receipt.decode(m.value()) for m in await consume_all(kafka, pipeline.topics.receipts, 2, 10)]
    assert sorted(x.outcome for x in receipts) == ["delivered", "failed"]
    (parked,) = await consume_all(kafka, destination.dead_letter_topic, 1, 10)
    record = DeadLetter.decode(parked.value())
    assert record.reason == "at_most_once_failed" and record.event_id == ids[1] and record.attempts == 1


async def test_at_most_once_parks_the_410d_event_and_holds_the_others_until_an_operator_enables(
        kafka, flaky, unique_name) -> None:
    flaky.fail_status = 410
    flaky.fail_events = {"0": 1}
    pipeline = load(pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in"}}""", """
  guarantees: at-most-once""", partitions=1), kafka)
    destination = pipeline.destinations["r.s"]
    (gone_id,) = await produce_events(kafka, destination.topic, 1, keys=1)
    async with runner(pipeline, "r.s", kafka) as r:
        await eventually(lambda: r.switch.disabled, 10, "the destination disabled by the 410")
        await produce_events(kafka, destination.topic, 3, keys=1, start=1)
        await asyncio.sleep(1.5)
        assert [x.status for x in flaky.received] == [410], "attempted while disabled"
        write_state(kafka, pipeline.topics.destination_state, "r.s", DestinationState.enabled())
        await flaky.wait_for(3, timeout=15)
        await asyncio.sleep(0.3)
    assert [x.status for x in flaky.received] == [410, 200, 200, 200]   # never a second attempt
    (parked,) = await consume_all(kafka, destination.dead_letter_topic, 1, 10)
    record = DeadLetter.decode(parked.value())
    assert (record.event_id, record.reason, record.attempts) == (gone_id, "permanent_failure", 1)


async def test_exactly_once_skips_deliveries_it_completed_before_a_restart(kafka, flaky, unique_name) -> None:
    pipeline = load(pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in"}}""", """
  guarantees: exactly-once""", partitions=2), kafka)
    destination = pipeline.destinations["r.s"]
    assert destination.policy.delivered_topic == f"{unique_name}.delivered.r.s"
    ids = await produce_events(kafka, destination.topic, 40)
    async with runner(pipeline, "r.s", kafka):
        await flaky.wait_for(40, timeout=30)
    # The same events again (an upstream at-least-once repeat), then new ones, to a fresh
    # process state that must read what was delivered from Kafka.
    await produce_events(kafka, destination.topic, 40, ids=ids)
    fresh = await produce_events(kafka, destination.topic, 10, start=100)
    async with runner(pipeline, "r.s", kafka) as r:
        await flaky.wait_for(50, timeout=30)
        await eventually(lambda: sample(r.metrics, "eis_deliveries_deduplicated_total", destination="r.s") == 40,
                         10, "40 duplicates skipped")
        await asyncio.sleep(0.5)
    assert not flaky.repeated and len(flaky.delivered) == 50
    assert {k.split(":")[0] for k in flaky.applied} == set(ids) | set(fresh)


class RememberingSink(HttpSink):
    """An HTTP sink that also 'stores' keys transactionally with its writes (test double of the
    PostgreSQL use of the hook): it claims every key in `done` as already applied."""

    transactional: ClassVar[bool] = True
    done: ClassVar[set[str]] = set()

    async def already_delivered(self, keys: list[str]) -> set[str]:
        return {k for k in keys if k in self.done}


async def test_a_transactional_sink_is_asked_before_delivering(kafka, flaky, unique_name, monkeypatch) -> None:
    monkeypatch.setitem(registry.KNOWN_DESTINATIONS, "remembering", f"{__name__}:RememberingSink")
    pipeline = load(pipeline_yaml(unique_name, f"""
      - {{id: s, type: remembering, url: "{flaky.url}/in"}}""", """
  guarantees: exactly-once""", partitions=1), kafka)
    ids = await produce_events(kafka, pipeline.destinations["r.s"].topic, 6)
    RememberingSink.done = {f"{i}:r.s" for i in ids[:3]}
    async with runner(pipeline, "r.s", kafka):
        await flaky.wait_for(3, timeout=20)
        await asyncio.sleep(0.5)
    assert {k.split(":")[0] for k in flaky.applied} == set(ids[3:])


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
async def test_every_attempt_of_one_event_carries_the_same_idempotency_key(kafka, flaky, unique_name, mode) -> None:
    flaky.fail_events = {"0": 2}
    pipeline = load(pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in"}}""", f"""
  guarantees: {mode}
  retry: {{maxAttempts: 5, initialDelay: 10, maxDelay: 20}}""", partitions=1), kafka)
    (event_id,) = await produce_events(kafka, pipeline.destinations["r.s"].topic, 1)
    async with runner(pipeline, "r.s", kafka):
        await flaky.wait_for(1, timeout=20)
    assert [r.status for r in flaky.received] == [500, 500, 200]
    assert {r.headers["Idempotency-Key"] for r in flaky.received} == {f"{event_id}:r.s"}
    assert [r.headers["X-EIS-Attempt"] for r in flaky.received] == ["1", "2", "3"]


async def test_a_connector_commits_every_fifty_finished_events_not_only_on_its_timer(
        kafka, flaky, unique_name, monkeypatch) -> None:
    # A connector killed outright delivers again what it finished since its last commit.
    monkeypatch.setattr(runner_module, "COMMIT_INTERVAL_S", 3600.0)
    pipeline = load(pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in"}}""", partitions=1), kafka)
    destination = pipeline.destinations["r.s"]
    await produce_events(kafka, destination.topic, 60, keys=1)
    async with runner(pipeline, "r.s", kafka):
        await flaky.wait_for(60, timeout=20)
        committed = [-1]
        for _ in range(100):
            committed = await committed_offsets(kafka, group_id(pipeline, destination), destination.topic)
            if committed[0] >= 50:
                break
            await asyncio.sleep(0.1)
        assert committed[0] >= 50, committed
