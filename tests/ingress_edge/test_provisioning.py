"""The admin API: create, list, delete webhook sources at run time; path and host routing."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from schemas.kafka import describe_topics

from .conftest import EdgeFactory, admin, end_offsets, envelopes

CONFIG = """
service: tenants
webhooks:
  - id: fixed
    tenant: acme
    verification: {type: none}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""

def definition(source_id: str, tenant: str = "acme", **extra: Any) -> dict[str, Any]:
    return {"id": source_id, "tenant": tenant, "verification": {"type": "api-key", "secret": "k_live_123"},
            **extra}


async def test_the_admin_api_is_404_without_an_admin_key_and_401_with_a_wrong_one(edge: EdgeFactory) -> None:
    from ingress.settings import IngressSettings

    pipeline = await edge.pipeline(CONFIG)
    disabled = await edge.start(pipeline, IngressSettings())
    assert (await admin(disabled, "GET", "/v1/webhooks"))[0] == 404
    enabled = await edge.start(pipeline)
    status, _ = await admin(enabled, "POST", "/v1/webhooks", definition("x"), {"Authorization": "Bearer nope"})
    assert status == 401


async def test_an_invalid_definition_is_400_with_the_path_of_each_problem(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    status, answer = await admin(app, "POST", "/v1/webhooks", {
        "id": "bad", "tenant": "acme", "verification": {"type": "stripe-signature"},
        "ipAllow": ["10.0.0.1/8"], "provider": "nosuch", "colour": "red"})
    assert status == 400 and answer["code"] == "invalid_webhook"
    paths = {p["path"] for p in answer["problems"]}
    assert {"ipAllow", "colour"} <= paths, answer
    status, answer = await admin(app, "POST", "/v1/webhooks", {
        "id": "bad", "tenant": "acme", "provider": "nosuch", "verification": {"type": "stripe-signature"}})
    paths = {p["path"] for p in answer["problems"]}
    assert status == 400 and {"provider", "verification.secret"} <= paths, answer
    status, answer = await admin(app, "POST", "/v1/webhooks", {"id": "notenant", "verification": {"type": "none"}})
    assert status == 400 and answer["problems"][0]["path"] == "tenant"


async def test_a_config_file_source_cannot_be_replaced_or_deleted_over_the_api(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    assert (await admin(app, "POST", "/v1/webhooks", definition("fixed")))[0] == 409
    assert (await admin(app, "DELETE", "/v1/webhooks/fixed"))[0] == 409


async def test_a_created_source_has_its_topic_before_201_and_accepts_requests(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    status, answer = await admin(app, "POST", "/v1/webhooks", definition("orders"))
    assert status == 201, answer
    topic = app.pipeline.topics.inbound("orders")
    assert answer["topic"] == topic
    assert topic in await asyncio.to_thread(describe_topics, app.kafka, [topic])
    status, accepted, _ = await app.post("/webhooks/orders", {"type": "order.created"}, {"X-API-Key": "k_live_123"})
    assert status == 200, accepted
    (envelope,) = await envelopes(app.kafka, topic, 1)
    assert envelope["id"] == accepted["id"] and envelope["tenant"] == "acme"


async def test_listing_masks_secrets(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    await admin(app, "POST", "/v1/webhooks", definition("orders", signingSecret="whsec_abc"))
    status, answer = await admin(app, "GET", "/v1/webhooks?tenant=acme")
    assert status == 200
    listed = {w["id"]: w for w in answer["webhooks"]}
    assert set(listed) == {"fixed", "orders"} and listed["orders"]["origin"] == "api"
    assert "k_live_123" not in str(answer) and "whsec_abc" not in str(answer)


async def test_a_deleted_source_answers_404(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    await admin(app, "POST", "/v1/webhooks", definition("orders"))
    assert (await admin(app, "DELETE", "/v1/webhooks/orders"))[0] == 204
    status, answer, _ = await app.post("/webhooks/orders", {"type": "t"}, {"X-API-Key": "k_live_123"})
    assert status == 404 and answer["code"] == "unknown_webhook"
    assert (await admin(app, "DELETE", "/v1/webhooks/orders"))[0] == 404


async def test_another_tenant_cannot_take_over_a_source_id(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    await admin(app, "POST", "/v1/webhooks", definition("orders"))
    assert (await admin(app, "POST", "/v1/webhooks", definition("orders", tenant="evil")))[0] == 409
    assert (await admin(app, "POST", "/v1/webhooks", definition("orders", rateLimit={"rate": 5})))[0] == 200


async def test_a_wildcard_path_under_tenant_and_source_is_kept_as_x_eis_path(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    topic = app.pipeline.topics.inbound("fixed")
    status, answer, _ = await app.post("/webhooks/acme/fixed/stores/42/orders", {"type": "t"},
                                       {"x-eis-path": "forged"})
    assert status == 200, answer
    (envelope,) = await envelopes(app.kafka, topic, 1)
    assert envelope["headers"]["x-eis-path"] == "stores/42/orders"
    status, _, _ = await app.post("/webhooks/other/fixed/x", {"type": "t"})   # wrong tenant
    assert status == 404
    status, _, _ = await app.post("/webhooks/fixed/extra", {"type": "t"})     # extra path needs the tenant
    assert status == 404


async def test_a_host_routes_to_its_tenants_sources_only(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    await admin(app, "POST", "/v1/webhooks", definition("shop", hosts=["hooks.acme.example"]))
    await admin(app, "POST", "/v1/webhooks", definition("other", tenant="globex"))
    key = {"X-API-Key": "k_live_123"}
    status, answer, _ = await app.post("/webhooks/shop/inbound", {"type": "t"}, {**key, "Host": "hooks.acme.example"})
    assert status == 200, answer
    (envelope,) = await envelopes(app.kafka, app.pipeline.topics.inbound("shop"), 1)
    assert envelope["headers"]["x-eis-path"] == "inbound"
    status, _, _ = await app.post("/webhooks/other", {"type": "t"}, {**key, "Host": "hooks.acme.example:443"})
    assert status == 404   # globex's source is not reachable through acme's domain
    assert await end_offsets(app.kafka, app.pipeline.topics.inbound("other")) == 0
    status, _ = await admin(app, "POST", "/v1/webhooks", definition("grab", tenant="globex",
                                                                     hosts=["hooks.acme.example"]))
    assert status == 409


def test_a_write_of_this_process_read_back_late_never_undoes_a_later_one() -> None:
    from ingress.settings import IngressSettings
    from ingress.sources import SourceRegistry, parse_definition
    from schemas.config import load_pipeline_text

    pipeline = load_pipeline_text(CONFIG.replace("{prefix}", "late"), environ={})
    registry = SourceRegistry(pipeline, IngressSettings(), lambda: 1)
    raw = definition("orders")
    created = orjson.dumps({"definition": raw, "updatedAt": 1})
    registry.put_written(registry.build(parse_definition(raw), "", "api", raw), created)
    registry.remove_written("orders")
    registry.apply_record("orders", created)       # the tail was behind: the creation arrives now
    assert registry.get("orders") is None
    registry.apply_record("orders", None)          # then our tombstone
    assert registry.get("orders") is None
    registry.apply_record("orders", created)       # a write we did not make this time: served
    assert registry.get("orders") is not None
