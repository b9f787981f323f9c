"""Every refused request is counted in `eis_events_rejected_total{source, reason}` and writes
nothing: the topics' end offsets are the same before and after it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

import orjson
import pytest

from ingress.body import BodyLimits
from ingress.settings import IngressSettings

from .conftest import Ingress, MakeIngress, closed_port_url

SECRET = "shpss_rejections"
KEY = "k-publisher"
CONFIG = f"""
service: rejections
webhooks:
  - id: shop
    provider: shopify
    signingSecret: {SECRET}
    verification: {{type: hmac-sha256}}
ingestion:
  protocols:
    - http: {{auth: api-key, apiKeys: [{KEY}]}}
  validation: {{required: [deviceId]}}
delivery:
  partitioning: {{partitions: 1}}
kafka: {{topicPrefix: "{{prefix}}"}}
"""
SETTINGS = IngressSettings(worker_url=closed_port_url(), max_batch_events=2,
                           limits=BodyLimits(max_body_bytes=4096))
JSON = "application/json"


def signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return {"Content-Type": JSON, "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode()}


@dataclass(frozen=True)
class Rejection:
    source: str
    reason: str
    status: int
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


API = "/v1/events"
AUTH = {"Content-Type": JSON, "X-API-Key": KEY}
REJECTIONS = [
    Rejection("api", "unauthorized", 401, API, b'{"deviceId": "a"}', {"Content-Type": JSON}),
    Rejection("api", "invalid_event", 400, API, b'[{"deviceId": "a"}, {"other": 1}]', AUTH),
    Rejection("api", "invalid_json", 400, API, b'{"deviceId": ', AUTH),
    Rejection("api", "empty_batch", 400, API, b"[]", AUTH),
    Rejection("api", "batch_too_large", 413, API, orjson.dumps([{"deviceId": str(n)} for n in range(3)]), AUTH),
    Rejection("api", "unsupported_media_type", 415, API, b"deviceId=a",
              {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}),
    Rejection("api", "body_too_large", 413, API, orjson.dumps({"deviceId": "a", "pad": "x" * 5000}), AUTH),
    Rejection("shop", "bad_signature", 401, "/webhooks/shop", b'{"id": 2}', signed(b'{"id": 1}')),
    Rejection("shop", "missing_header", 401, "/webhooks/shop", b'{"id": 1}', {"Content-Type": JSON}),
    Rejection("shop", "invalid_json", 400, "/webhooks/shop", b'{"id": ', signed(b'{"id": ')),
    Rejection("unknown", "unknown_webhook", 404, "/webhooks/nope", b'{"id": 1}', {"Content-Type": JSON}),
]


async def accept_one_each(ingress: Ingress) -> None:
    """Write one valid event per topic first, so the before/after offsets are not both 0."""
    response = await ingress.client.post(API, data=b'{"deviceId": "ok"}', headers=AUTH)
    assert response.status == 202, await response.text()
    response = await ingress.client.post("/webhooks/shop", data=b'{"id": 0}', headers=signed(b'{"id": 0}'))
    assert response.status == 200, await response.text()


@pytest.mark.parametrize("case", REJECTIONS, ids=[f"{r.source}-{r.reason}" for r in REJECTIONS])
async def test_a_rejection_is_counted_by_source_and_reason_and_writes_nothing(
    make_ingress: MakeIngress, case: Rejection,
) -> None:
    ingress = await make_ingress(CONFIG, settings=SETTINGS)
    await accept_one_each(ingress)
    before = {source: await ingress.end_offsets(source) for source in ("api", "shop")}
    assert all(before.values()), before
    response = await ingress.client.post(case.path, data=case.body, headers=case.headers)
    assert response.status == case.status, await response.text()
    assert (await response.json())["code"] == case.reason
    assert ingress.metric("eis_events_rejected_total", source=case.source, reason=case.reason) == 1
    assert {source: await ingress.end_offsets(source) for source in ("api", "shop")} == before
