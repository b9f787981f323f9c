"""Per-source rate limits: token bucket, 429 with Retry-After, recovery, and the rate split
across the live ingress processes (counted from their heartbeats)."""

from __future__ import annotations

import asyncio

from ingress.rate_limit import RateLimiter
from ingress.settings import IngressSettings

from .conftest import ADMIN_KEY, EdgeFactory, end_offsets, wait_until

CONFIG = """
service: rates
webhooks:
  - id: limited
    rateLimit: {rate: 4, burst: 2}
    verification: {type: none}
  - id: shared
    rateLimit: {rate: 1, burst: 4}
    verification: {type: none}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""


async def test_over_the_rate_limit_is_429_with_retry_after_and_recovers(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    topic = app.pipeline.topics.inbound("limited")
    first = [await app.post("/webhooks/limited", {"type": "t", "n": n}) for n in range(2)]
    assert [status for status, _, _ in first] == [200, 200]
    produced = await end_offsets(app.kafka, topic)
    status, answer, headers = await app.post("/webhooks/limited", {"type": "t", "n": 3})
    assert status == 429 and answer["code"] == "rate_limited"
    assert int(headers["Retry-After"]) >= 1
    assert await end_offsets(app.kafka, topic) == produced        # the refused one wrote nothing
    assert app.metric("eis_events_rejected_total", source="limited", reason="rate_limited") == 1
    await asyncio.sleep(0.3)   # 4/s: one token back after 250 ms
    status, answer, _ = await app.post("/webhooks/limited", {"type": "t", "n": 4})
    assert status == 200, answer


async def test_the_rate_is_split_across_live_ingress_processes(edge: EdgeFactory) -> None:
    pipeline = await edge.pipeline(CONFIG)
    one, two = await edge.start(pipeline), await edge.start(pipeline)
    for app in (one, two):
        await wait_until(lambda app=app: app.state.cluster.live_instances() == 2, 5.0, "two heartbeats")
    # burst 4 over two processes: each admits 2 at once (rate 1/s refills slowly).
    statuses = [(await one.post("/webhooks/shared", {"type": "t"}))[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert one.state.sources is not None
    limiter = one.state.sources.get("shared").limiter  # type: ignore[union-attr]
    assert limiter is not None and limiter.shares == 2
    await two.stop()   # its heartbeat is tombstoned: the survivor gets the whole rate back
    await wait_until(lambda: one.state.cluster.live_instances() == 1, 5.0, "tombstone")


async def test_ingress_replicas_fixes_the_split_instead_of_heartbeats(edge: EdgeFactory) -> None:
    pipeline = await edge.pipeline(CONFIG)
    app = await edge.start(pipeline, IngressSettings(admin_key=ADMIN_KEY, replicas=4))
    status, _, _ = await app.post("/webhooks/shared", {"type": "t"})   # burst 4 / 4 = 1
    assert status == 200
    status, _, _ = await app.post("/webhooks/shared", {"type": "t"})
    assert status == 429


def test_token_bucket_refills_at_the_share_of_the_rate() -> None:
    now = [0.0]
    replicas = [1]
    limiter = RateLimiter(10, 10, lambda: replicas[0], clock=lambda: now[0])
    assert all(limiter.check() is None for _ in range(10))
    assert limiter.check() == 1
    now[0] = 0.1
    assert limiter.check() is None          # 10/s → one token per 100 ms
    replicas[0] = 5                          # five processes: 2/s, bucket of 2
    now[0] = 10.0
    assert [limiter.check() for _ in range(3)][:2] == [None, None]
    assert limiter.check() == 1
