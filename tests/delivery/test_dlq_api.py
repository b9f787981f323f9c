"""`/v1/dlq/{destination}` on the ingress: the CLI's list and redrive, over the admin API."""

from __future__ import annotations

import aiohttp

from tests.delivery.helpers import load, pipeline_yaml, produce_events, runner
from tests.kafka_helpers import consume_all

ADMIN_KEY = "dlq-admin-key-for-tests"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def test_dead_letters_are_listed_and_redriven_over_the_admin_api(
        kafka, flaky, unique_name, stack_factory) -> None:
    flaky.default_status = 422            # permanent: parked at once
    text = pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in"}}""", partitions=2)
    pipeline = load(text, kafka)
    destination = pipeline.destinations["r.s"]
    stack = stack_factory(text)
    stack.env["EIS_ADMIN_KEY"] = ADMIN_KEY
    stack.start("ingress")
    await stack.wait_http(f"{stack.ingress_url}/healthz")
    ids = await produce_events(kafka, destination.topic, 3, keys=3)
    base = f"{stack.ingress_url}/v1/dlq/r.s"
    async with runner(pipeline, "r.s", kafka), aiohttp.ClientSession() as http:
        await consume_all(kafka, destination.dead_letter_topic, 3, 20)

        async with http.get(base) as anonymous:
            assert anonymous.status == 401
        async with http.get(f"{stack.ingress_url}/v1/dlq/nope", headers=AUTH) as unknown:
            assert unknown.status == 404 and "r.s" in (await unknown.json())["detail"]

        async with http.get(base, headers=AUTH) as listed:
            assert listed.status == 200
            body = await listed.json()
        assert body["count"] == 3 and {d["eventId"] for d in body["deadLetters"]} == set(ids)
        assert all(d["reason"] == "permanent_failure" for d in body["deadLetters"])
        async with http.get(base, headers=AUTH, params={"event": ids[1]}) as one:
            (record,) = (await one.json())["deadLetters"]
        assert record["key"] == "d1" and record["original"]["data"] == {"deviceId": "d1", "seq": 1}
        assert "HTTP 422" in record["lastError"]
        async with http.get(base, headers=AUTH, params={"until": "1h"}) as old:
            assert (await old.json())["count"] == 0      # none dead-lettered an hour ago
        async with http.get(base, headers=AUTH, params={"since": "yesterday-ish"}) as bad:
            assert bad.status == 400 and (await bad.json())["code"] == "invalid_selection"

        async with http.post(f"{base}/redrive", headers=AUTH, json={}) as unselected:
            assert unselected.status == 400      # a whole topic is never redriven by accident
        flaky.default_status = 200               # the receiver is fixed: redrive one event
        async with http.post(f"{base}/redrive", headers=AUTH, json={"event": ids[1]}) as redriven:
            assert redriven.status == 200, await redriven.text()
            assert (await redriven.json())["redriven"] == 1
        await flaky.wait_for(1, timeout=20)
        assert flaky.delivered[0].json() == {"deviceId": "d1", "seq": 1}
        assert flaky.delivered[0].headers["Idempotency-Key"] == f"{ids[1]}:r.s"
