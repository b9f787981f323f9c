"""Ordering: `ordering: per-<key>` delivers each key strictly in order, retrying in place, and a
failing key holds back only its own later events; without ordering, a failed event moves to a
delay tier and its partition keeps flowing."""

from __future__ import annotations

import os
from collections import defaultdict

from schemas.records import Receipt
from tests.delivery.helpers import load, pipeline_yaml, produce_events, runner
from tests.kafka_helpers import consume_all

# The size (about 18 s here); EIS_DELIVERY_CHAOS_EVENTS=2000 for a quicker run.
CHAOS_EVENTS = int(os.environ.get("EIS_DELIVERY_CHAOS_EVENTS", "10000"))


def seqs_by_device(bodies: list[dict]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for body in bodies:
        out[body["deviceId"]].append(body["seq"])
    return out


async def test_per_device_order_holds_with_a_sink_failing_a_fifth_of_attempts(kafka, flaky, unique_name) -> None:
    flaky.fail_ratio, flaky.seed = 0.2, 20240501
    pipeline = load(pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in"}}""", """
  ordering: per-device
  retry: {maxAttempts: 30, initialDelay: 2, maxDelay: 10}""", partitions=3), kafka)
    destination = pipeline.destinations["r.s"]
    assert destination.policy.retry_tiers == ()      # ordered: retries happen in place
    await produce_events(kafka, destination.topic, CHAOS_EVENTS, keys=10)
    async with runner(pipeline, "r.s", kafka):
        await flaky.wait_for(CHAOS_EVENTS, timeout=180)
    failed = [r for r in flaky.received if r.status == 500]
    assert 0.15 < len(failed) / len(flaky.received) < 0.25       # the fault really was injected
    by_device = seqs_by_device(flaky.bodies())
    assert len(by_device) == 10
    for device, seqs in by_device.items():
        expected = list(range(int(device[1:]), CHAOS_EVENTS, 10))
        assert seqs == expected, f"{device}: out of order or lost"   # in order, none lost, no repeats


async def test_a_failing_key_holds_back_only_its_own_later_events(kafka, flaky, unique_name) -> None:
    flaky.fail_events = {"0": 3}          # d0's first event fails three times
    pipeline = load(pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in"}}""", """
  ordering: per-device
  retry: {maxAttempts: 10, initialDelay: 300, maxDelay: 300, backoffMultiplier: 1}""", partitions=1), kafka)
    await produce_events(kafka, pipeline.destinations["r.s"].topic, 20, keys=2)   # d0: even, d1: odd
    async with runner(pipeline, "r.s", kafka):
        await flaky.wait_for(20, timeout=30)
    order = [b["seq"] for b in flaky.bodies()]
    first_d0 = order.index(0)
    assert sorted(order[:first_d0]) == list(range(1, 20, 2))     # d1 flowed past the blocked d0 …
    assert order[first_d0:] == list(range(0, 20, 2))             # … d0 stayed in order behind it


async def test_unordered_a_failed_event_waits_in_a_delay_tier_while_its_partition_flows(
        kafka, flaky, unique_name) -> None:
    flaky.fail_events, flaky.fail_status, flaky.retry_after = {"0": 1}, 503, "1"
    pipeline = load(pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in"}}""", """
  retry: {maxAttempts: 5, initialDelay: 10, maxDelay: 40}""", partitions=1), kafka)
    destination = pipeline.destinations["r.s"]
    tiers = [t.topic for t in destination.policy.retry_tiers]
    assert tiers == [f"{unique_name}.retry.r.s.{i}" for i in (1, 2, 3)]   # ceilings 10, 20, 40 ms
    ids = await produce_events(kafka, destination.topic, 10, keys=1)       # one key, one partition
    async with runner(pipeline, "r.s", kafka):
        await flaky.wait_for(10, timeout=30)
    order = [b["seq"] for b in flaky.bodies()]
    assert order == [*range(1, 10), 0]       # Retry-After: 1 held it ≥ 1 s; nothing waited for it
    retried = flaky.delivered[-1]
    assert retried.headers["X-EIS-Attempt"] == "2"
    assert "eis-retry-attempts" not in {k.lower() for k in retried.headers}
    (handoff,) = await consume_all(kafka, tiers[0], 1, 10)
    headers = dict(handoff.headers())
    assert handoff.key() == b"d0" and headers[b"eis-event-id".decode()] == ids[0].encode()
    assert headers["eis-retry-attempts"] == b"1" and int(headers["eis-retry-first-attempt-at"]) > 0
    assert int(headers["eis-retry-not-before"]) - int(headers["eis-retry-first-attempt-at"]) >= 900
    assert headers["eis-retry-origin"] == f"{destination.topic}/0/0".encode()
    receipts = [Receipt.decode(m.value()) for m in await consume_all(kafka, pipeline.topics.receipts, 11, 10)]
    assert [(x.attempt, x.outcome) for x in receipts if x.event_id == ids[0]] == [(1, "retrying"), (2, "delivered")]
