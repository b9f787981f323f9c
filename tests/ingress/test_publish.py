"""The publish API `POST /v1/events` against the real broker: one test per promise of the contract."""

from __future__ import annotations

import orjson

from ingress.settings import IngressSettings
from schemas import headers as h

from .conftest import Ingress, MakeIngress, closed_port_url

OPEN = """
service: publish
ingestion:
  protocols:
    - http: {auth: none}
delivery:
  partitioning: {key: $.deviceId, partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""

VALIDATED = """
service: publish
ingestion:
  protocols:
    - http: {auth: none}
  validation: {required: [deviceId, reading], maxSize: 200}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""

API_KEY = """
service: publish
ingestion:
  protocols:
    - http: {auth: api-key, apiKeys: [k-right-1, k-right-2]}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""

WEBHOOKS_ONLY = """
service: publish
webhooks:
  - id: shop
    verification: {type: none}
kafka: {topicPrefix: "{prefix}"}
"""


async def publish(ingress: Ingress, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    response = await ingress.client.post(
        "/v1/events", data=orjson.dumps(body), headers={"Content-Type": "application/json", **(headers or {})})
    return response.status, await response.json(content_type=None)


async def test_a_single_event_is_202_with_its_id_and_written_as_a_json_envelope(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(OPEN)
    event = {"deviceId": "dev-7", "type": "reading", "temp": 21.5}
    status, answer = await publish(ingress, event)
    assert status == 202, answer
    assert set(answer) >= {"id"} and answer["id"].startswith("evt_")
    message, envelope = await ingress.envelope("api")
    assert dict(message.headers() or [])[h.CODEC] == b"json"
    assert dict(message.headers() or [])[h.EVENT_ID] == answer["id"].encode()
    assert envelope["id"] == answer["id"]
    assert envelope["source"] == "api"
    assert envelope["data"] == event
    assert envelope["type"] == "reading"
    assert envelope["content_type"] == "application/json"


async def test_the_record_key_is_the_partition_key_expression_value(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(OPEN)
    status, answer = await publish(ingress, {"deviceId": "dev-42", "eventType": "sensor.read"})
    assert status == 202, answer
    message, envelope = await ingress.envelope("api")
    assert message.key() == b"dev-42"
    assert envelope["partition_key"] == "dev-42"
    assert envelope["type"] == "sensor.read"  # `eventType` names the type too


async def test_the_record_key_is_the_event_id_when_the_key_expression_finds_nothing(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(OPEN)
    status, answer = await publish(ingress, {"type": "no.device"})
    assert status == 202, answer
    message, envelope = await ingress.envelope("api")
    assert message.key() == answer["id"].encode()
    assert envelope["partition_key"] == answer["id"]


async def test_a_batch_is_202_with_ids_in_order_and_every_event_written(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(OPEN)
    batch = [{"deviceId": f"dev-{n}", "type": "reading", "n": n} for n in range(5)]
    status, answer = await publish(ingress, batch)
    assert status == 202, answer
    assert len(answer["ids"]) == 5 and len(set(answer["ids"])) == 5
    envelopes = [orjson.loads(m.value()) for m in await ingress.records("api", 5)]
    assert [e["id"] for e in envelopes] == answer["ids"]  # one partition: written in order
    assert [e["data"] for e in envelopes] == batch


async def test_an_empty_batch_is_400(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(OPEN)
    status, answer = await publish(ingress, [])
    assert status == 400
    assert answer["code"] == "empty_batch" and answer["detail"]
    assert await ingress.end_offsets("api") == 0


async def test_a_batch_over_the_limit_is_413_and_nothing_is_written(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(OPEN, settings=IngressSettings(worker_url=closed_port_url(), max_batch_events=3))
    status, answer = await publish(ingress, [{"n": n} for n in range(4)])
    assert status == 413
    assert answer["code"] == "batch_too_large"
    assert await ingress.end_offsets("api") == 0


async def test_a_non_object_item_rejects_the_whole_batch_with_400_and_nothing_is_written(
    make_ingress: MakeIngress,
) -> None:
    ingress = await make_ingress(OPEN)
    status, answer = await publish(ingress, [{"deviceId": "a"}, 5, {"deviceId": "b"}])
    assert status == 400
    assert answer["code"] == "invalid_event"
    assert any(p.startswith("events[1]") for p in answer["problems"]), answer
    assert await ingress.end_offsets("api") == 0


async def test_a_missing_required_field_is_400_naming_events_index_field_and_nothing_is_written(
    make_ingress: MakeIngress,
) -> None:
    ingress = await make_ingress(VALIDATED)
    batch = [{"deviceId": "a", "reading": 1}, {"deviceId": "b"}, {"reading": 3}]
    status, answer = await publish(ingress, batch)
    assert status == 400
    assert answer["code"] == "invalid_event"
    problems = " ".join(answer["problems"])
    assert "events[1].reading" in problems and "events[2].deviceId" in problems
    assert "events[0]" not in problems
    assert await ingress.end_offsets("api") == 0


async def test_an_event_over_max_size_is_400_and_nothing_is_written(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(VALIDATED)
    status, answer = await publish(ingress, {"deviceId": "a", "reading": 1, "note": "x" * 300})
    assert status == 400
    assert answer["code"] == "invalid_event"
    assert "200" in answer["detail"]
    assert await ingress.end_offsets("api") == 0


async def test_publish_without_or_with_a_wrong_api_key_is_401(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(API_KEY)
    for headers in ({}, {"Authorization": "Bearer k-wrong"}, {"X-API-Key": "k-wrong"},
                    {"Authorization": "k-right-1"}, {"Authorization": "Bearer "}):
        status, answer = await publish(ingress, {"deviceId": "a"}, headers)
        assert status == 401, headers
        assert answer["code"] == "unauthorized"
    assert await ingress.end_offsets("api") == 0


async def test_publish_with_a_right_api_key_as_bearer_or_x_api_key_is_accepted(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(API_KEY)
    status, first = await publish(ingress, {"n": 1}, {"Authorization": "Bearer k-right-1"})
    assert status == 202, first
    status, second = await publish(ingress, {"n": 2}, {"X-API-Key": "k-right-2"})
    assert status == 202, second
    envelopes = [orjson.loads(m.value()) for m in await ingress.records("api", 2)]
    assert [e["id"] for e in envelopes] == [first["id"], second["id"]]


async def test_publish_is_404_when_the_publish_api_is_not_configured(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(WEBHOOKS_ONLY)
    status, answer = await publish(ingress, {"n": 1})
    assert status == 404
    assert answer["code"] == "publish_disabled"
    assert ingress.metric("eis_events_rejected_total", source="api", reason="publish_disabled") == 1
