"""Two real `eis ingress` processes over one Kafka: a source provisioned through one is served
by the other within seconds, a deletion reaches it, and a provider id accepted by one is a
duplicate at the other (also after the other restarts)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from ingress.cluster import state_topics
from schemas.config import load_pipeline_text
from schemas.config.topic_plan import topic_plan
from schemas.kafka import KafkaSettings, ensure_topics

from .conftest import ADMIN_KEY, IngressProcess, start_process

CONFIG = """
service: pair
webhooks:
  - id: hook
    verification: {type: none}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
PICKUP_S = 5.0   # "within seconds"


@dataclass
class Pair:
    one: IngressProcess
    two: IngressProcess
    config: Path
    logs: Path


async def request(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.request(
            method, url, data=orjson.dumps(body) if body is not None else None,
            headers={"Content-Type": "application/json", **(headers or {})}) as response:
        raw = await response.read()
        return response.status, orjson.loads(raw) if raw else None


async def eventually(method: str, url: str, status: int, body: Any = None,
                     headers: dict[str, str] | None = None) -> Any:
    deadline = time.monotonic() + PICKUP_S
    last: Any = None
    while time.monotonic() < deadline:
        last = await request(method, url, body, headers)
        if last[0] == status:
            return last[1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered {status}; last {last}")


@pytest.fixture(scope="module")
async def pair(kafka: KafkaSettings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Pair]:
    folder = tmp_path_factory.mktemp("pair")
    config = folder / "pipeline.yaml"
    config.write_text(CONFIG.replace("{prefix}", f"t{uuid.uuid4().hex[:10]}"))
    pipeline = load_pipeline_text(config.read_text(), environ={})
    plan = {s.name: s for s in topic_plan(pipeline) + state_topics(pipeline.topics.seen, pipeline.topics.sources, 1)}
    await asyncio.to_thread(ensure_topics, kafka, list(plan.values()))
    one, two = await asyncio.gather(start_process(config, kafka, folder, "one"),
                                    start_process(config, kafka, folder, "two"))
    processes = Pair(one, two, config, folder)
    yield processes
    # Through the pair: a test may have replaced a process (the restarted one would outlive us).
    processes.one.stop()
    processes.two.stop()


async def test_a_source_created_over_the_api_is_accepted_by_a_second_ingress_process(pair: Pair) -> None:
    status, created = await request("POST", pair.one.url + "/v1/webhooks", {
        "id": "late", "tenant": "acme", "verification": {"type": "none"}}, AUTH)
    assert status == 201, created
    accepted = await eventually("POST", pair.two.url + "/webhooks/acme/late", 200, {"type": "t"})
    assert accepted["accepted"] is True


async def test_a_deleted_source_is_404_at_the_second_ingress_process(pair: Pair) -> None:
    await request("POST", pair.one.url + "/v1/webhooks", {
        "id": "brief", "tenant": "acme", "verification": {"type": "none"}}, AUTH)
    await eventually("POST", pair.two.url + "/webhooks/brief", 200, {"type": "t"})
    status, _ = await request("DELETE", pair.one.url + "/v1/webhooks/brief", headers=AUTH)
    assert status == 204
    answer = await eventually("POST", pair.two.url + "/webhooks/brief", 404, {"type": "t"})
    assert answer["code"] == "unknown_webhook"


async def test_an_id_accepted_by_one_process_is_a_duplicate_at_the_other(pair: Pair) -> None:
    body = {"id": f"evt_{uuid.uuid4().hex[:10]}", "type": "invoice.paid"}
    status, first = await request("POST", pair.one.url + "/webhooks/hook", body)
    assert status == 200, first
    await asyncio.sleep(0.3)   # propagation: one produce + one fetch (docs/webhook-sources.md)
    status, again = await request("POST", pair.two.url + "/webhooks/hook", body)
    assert status == 200 and again == {"accepted": True, "duplicate": True, "id": first["id"]}


async def test_a_restarted_process_still_knows_provisioned_sources_and_seen_ids(
    pair: Pair, kafka: KafkaSettings,
) -> None:
    body = {"id": f"evt_{uuid.uuid4().hex[:10]}", "type": "invoice.paid"}
    _, first = await request("POST", pair.one.url + "/webhooks/hook", body)
    await request("POST", pair.one.url + "/v1/webhooks", {
        "id": "kept", "tenant": "acme", "verification": {"type": "none"}}, AUTH)
    pair.two.process.kill()   # SIGKILL: no clean shutdown
    pair.two.process.wait(10)
    pair.two = await start_process(pair.config, kafka, pair.logs, "two-again")
    status, again = await request("POST", pair.two.url + "/webhooks/hook", body)
    assert status == 200 and again.get("duplicate") is True and again["id"] == first["id"]
    status, answer = await request("POST", pair.two.url + "/webhooks/kept", {"type": "t"})
    assert status == 200, answer
