"""`kill -9` a connector process during a batch, in each guarantee mode (testing tier 4), and
exactly-once's documented window, shown deterministically with the test-only crash hook."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from connectors.runner import group_id
from tests.delivery.helpers import committed_offsets, eventually, load, pipeline_yaml, produce_events, quiet

pytestmark = pytest.mark.slow

TOTAL = 600


async def start(stack_factory, flaky, unique_name, kafka, mode: str, total: int = TOTAL, keys: int = 10,
                partitions: int = 3, env: dict[str, str] | None = None):
    stack = stack_factory(pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in", timeout: 2s}}""", f"""
  guarantees: {mode}
  maxInFlight: 10
  retry: {{maxAttempts: 10, initialDelay: 20, maxDelay: 200}}""", partitions=partitions))
    result = stack.run_cli("topics", "create", "-c", str(stack.config_path))
    assert result.returncode == 0, result.stderr
    ids = await produce_events(kafka, f"{unique_name}.out.r.s", total, keys=keys)
    stack.env.update(env or {})
    stack.start("connect")
    return stack, ids


async def kill_mid_stream(stack, flaky, after: int) -> int:
    await flaky.wait_for(after, timeout=60)
    stack.kill("connect")                    # SIGKILL: no chance to commit or finish
    seen = len(flaky.delivered)
    assert seen < TOTAL, "the kill landed after the stream finished: the test proved nothing"
    return seen


async def test_at_least_once_loses_nothing_and_duplicates_keep_their_key(
        stack_factory, flaky, unique_name, kafka) -> None:
    flaky.delay_s = 0.003
    stack, ids = await start(stack_factory, flaky, unique_name, kafka, "at-least-once")
    await kill_mid_stream(stack, flaky, 150)
    stack.start("connect")
    await eventually(lambda: {k.split(":")[0] for k in flaky.applied} == set(ids), 90, "every event delivered")
    keys = Counter(r.headers["Idempotency-Key"] for r in flaky.delivered)
    assert all(k == f"{k.split(':')[0]}:r.s" for k in keys)        # a duplicate is the same key


async def test_at_most_once_never_delivers_twice(stack_factory, flaky, unique_name, kafka) -> None:
    flaky.delay_s = 0.003
    stack, ids = await start(stack_factory, flaky, unique_name, kafka, "at-most-once")
    seen = await kill_mid_stream(stack, flaky, 150)
    stack.start("connect")
    await eventually(lambda: len(flaky.delivered) > seen + 50, 60, "delivery resumed after the restart")
    pipeline = load(stack.config_path.read_text(), kafka)
    destination = pipeline.destinations["r.s"]
    group = group_id(pipeline, destination)
    for _ in range(600):                      # the restarted connector took every batch (30 s at most)
        if sum(await committed_offsets(kafka, group, destination.topic, 3)) >= TOTAL:
            break
        await asyncio.sleep(0.05)
    await quiet(lambda: len(flaky.received))  # what is missing now was committed, never attempted
    keys = Counter(r.headers["Idempotency-Key"] for r in flaky.received)
    assert max(keys.values()) == 1           # committed before the attempt: nothing is repeated
    lost = TOTAL - len(keys)                 # committed but not attempted at the kill
    assert lost <= 3 * 50 + 10, lost         # ≤ one commit batch per partition + in flight
    assert {k.split(":")[0] for k in keys} <= set(ids)


async def test_exactly_once_applies_each_event_once_across_a_kill(stack_factory, flaky, unique_name, kafka) -> None:
    flaky.delay_s = 0.003
    stack, ids = await start(stack_factory, flaky, unique_name, kafka, "exactly-once")
    await kill_mid_stream(stack, flaky, 150)
    stack.start("connect")
    await eventually(lambda: {k.split(":")[0] for k in flaky.applied} == set(ids), 90, "every event delivered")
    await asyncio.sleep(1)
    # The receiver checks keys, so each event is applied once; the connector only repeats what
    # was in flight at the kill (the window: answered, not yet recorded) — at most maxInFlight,
    # where at-least-once repeats everything since its last commit.
    assert len(flaky.applied) == TOTAL
    assert sum(flaky.repeated.values()) <= 10, flaky.repeated


async def test_exactly_once_window_a_kill_between_the_2xx_and_the_record_redelivers_once(
        stack_factory, flaky, unique_name, kafka) -> None:
    stack, ids = await start(stack_factory, flaky, unique_name, kafka, "exactly-once", total=5, keys=1,
                             partitions=1, env={"EIS_TEST_CRASH_AFTER_DELIVERY": "1"})
    process = stack.processes["connect"]
    await eventually(lambda: process.poll() is not None, 60, "the crash hook fired")
    assert process.returncode == 9
    assert [r.headers["Idempotency-Key"] for r in flaky.delivered] == [f"{ids[0]}:r.s"]
    del stack.env["EIS_TEST_CRASH_AFTER_DELIVERY"]
    stack.start("connect")
    await flaky.wait_for(6, timeout=60)
    await asyncio.sleep(1)
    keys = [r.headers["Idempotency-Key"] for r in flaky.delivered]
    # Exactly one duplicate: the event whose 2xx came back but whose record was never written,
    # redelivered with the same idempotency key; every other event exactly once.
    assert keys == [f"{i}:r.s" for i in [ids[0], *ids]]
