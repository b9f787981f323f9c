"""Replay protection: a provider event id seen again is answered 200 `duplicate` and not produced
again — within one process, across a restart (the seen ids live in Kafka), inside the window."""

from __future__ import annotations

import asyncio
import uuid

from ingress.replay import SeenIds

from .conftest import EdgeFactory, end_offsets, envelopes, wait_until

CONFIG = """
service: replay
webhooks:
  - id: hook
    verification: {type: none}
  - id: gh
    provider: github
    verification: {type: none}
  - id: short
    replayWindow: 1s
    verification: {type: none}
  - id: nodedup
    replayWindow: 0
    verification: {type: none}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""


def event(provider_id: str | None = None) -> dict[str, object]:
    return {"id": provider_id or f"evt_{uuid.uuid4().hex[:12]}", "type": "invoice.paid", "amount": 42}


async def test_a_replayed_provider_event_id_is_answered_200_duplicate_and_produced_once(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    body = event()
    status, first, _ = await app.post("/webhooks/hook", body)
    assert status == 200, first
    status, again, _ = await app.post("/webhooks/hook", body)
    assert status == 200, again
    assert again == {"accepted": True, "duplicate": True, "id": first["id"]}
    topic = app.pipeline.topics.inbound("hook")
    (only,) = await envelopes(app.kafka, topic, 2, timeout=2.0)
    assert only["id"] == first["id"] and only["provider_event_id"] == body["id"]
    assert app.metric("eis_events_produced_total", source="hook") == 1
    assert app.metric("eis_events_rejected_total", source="hook", reason="duplicate") == 1


async def test_a_github_redelivery_with_the_same_delivery_id_is_deduplicated(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4())}
    _, first, _ = await app.post("/webhooks/gh", {"ref": "refs/heads/main"}, headers)
    status, again, _ = await app.post("/webhooks/gh", {"ref": "refs/heads/main", "zen": "x"}, headers)
    assert status == 200 and again["duplicate"] is True and again["id"] == first["id"]
    assert app.metric("eis_events_produced_total", source="gh") == 1


async def test_replay_protection_survives_an_ingress_restart(edge: EdgeFactory) -> None:
    pipeline = await edge.pipeline(CONFIG)
    before = await edge.start(pipeline)
    body = event()
    _, first, _ = await before.post("/webhooks/hook", body)
    await before.stop()
    after = await edge.start(pipeline)   # a new process: its map comes only from the seen topic
    status, again, _ = await after.post("/webhooks/hook", body)
    assert status == 200 and again == {"accepted": True, "duplicate": True, "id": first["id"]}
    assert after.metric("eis_events_produced_total", source="hook") == 0


async def test_a_second_ingress_process_deduplicates_an_id_the_first_accepted(edge: EdgeFactory) -> None:
    pipeline = await edge.pipeline(CONFIG)
    one, two = await edge.start(pipeline), await edge.start(pipeline)
    body = event()
    _, first, _ = await one.post("/webhooks/hook", body)
    # Propagation: the id reaches the other process one produce + one fetch later.
    await wait_until(lambda: len(two.state.replay.seen) > 0 if two.state.replay else False, 5.0, "propagation")
    status, again, _ = await two.post("/webhooks/hook", body)
    assert status == 200 and again["duplicate"] is True and again["id"] == first["id"]
    assert two.metric("eis_events_produced_total", source="hook") == 0


async def test_concurrent_requests_with_one_id_in_one_process_produce_once(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    body = event()
    answers = await asyncio.gather(*(app.post("/webhooks/hook", body) for _ in range(5)))
    assert {status for status, _, _ in answers} == {200}
    assert len({answer["id"] for _, answer, _ in answers}) == 1
    assert sum(1 for _, answer, _ in answers if answer.get("duplicate")) == 4
    assert app.metric("eis_events_produced_total", source="hook") == 1


async def test_an_id_outside_the_replay_window_is_accepted_again(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    body = event()
    _, first, _ = await app.post("/webhooks/short", body)
    await asyncio.sleep(1.1)
    status, later, _ = await app.post("/webhooks/short", body)
    assert status == 200 and "duplicate" not in later and later["id"] != first["id"]


async def test_replay_window_zero_turns_deduplication_off(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    body = event()
    await app.post("/webhooks/nodedup", body)
    _, again, _ = await app.post("/webhooks/nodedup", body)
    assert "duplicate" not in again
    assert await end_offsets(app.kafka, app.pipeline.topics.inbound("nodedup")) >= 1
    assert app.metric("eis_events_produced_total", source="nodedup") == 2


async def test_events_without_a_provider_id_are_never_deduplicated(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    await app.post("/webhooks/hook", {"type": "ping"})
    _, again, _ = await app.post("/webhooks/hook", {"type": "ping"})
    assert "duplicate" not in again
    assert app.metric("eis_events_produced_total", source="hook") == 2


def test_the_seen_map_is_bounded_and_expires() -> None:
    seen = SeenIds(max_entries=2, horizon_ms=1000)
    seen.put("s/a", "evt_a", 0, 0)
    seen.put("s/b", "evt_b", 10, 10)
    seen.put("s/c", "evt_c", 20, 20)
    assert seen.get("s/a", 1000, 30) is None         # evicted: over max_entries
    assert seen.get("s/b", 1000, 30) == "evt_b"
    assert seen.get("s/b", 15, 30) is None           # outside a shorter window
    seen.put("s/d", "evt_d", 1500, 1500)             # older than the horizon are dropped
    assert len(seen) == 1 and seen.get("s/d", 1000, 1500) == "evt_d"
    seen.put("s/d", "evt_old", 1400, 1500)           # an older record never replaces a newer one
    assert seen.get("s/d", 1000, 1500) == "evt_d"
