"""Signed webhooks through the HTTP server to the real broker; signatures are built here with
`hmac`, from each provider's public format, never with the code under test."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import time
import uuid

import orjson

from .conftest import MakeIngress, closed_port_url

SHOPIFY_SECRET = "shpss_0a1b2c3d4e5f"
STRIPE_SECRET = "whsec_test_5f4e3d2c1b0a"
GITHUB_SECRET = "gh-hook-secret"

SIGNED = f"""
service: hooks
webhooks:
  - id: shop
    provider: shopify
    signingSecret: {SHOPIFY_SECRET}
    verification: {{type: hmac-sha256}}
  - id: stripe
    provider: stripe
    signingSecret: {STRIPE_SECRET}
    verification: {{type: stripe-signature}}
  - id: gh
    provider: github
    signingSecret: {GITHUB_SECRET}
    verification: {{type: github-signature}}
delivery:
  partitioning: {{partitions: 1}}
kafka: {{topicPrefix: "{{prefix}}"}}
"""

ALLOW_LIST = """
service: hooks
webhooks:
  - id: shop
    provider: shopify
    events: [orders/create, orders/paid]
    verification: {type: none}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""

ORDER = b'{"id": 820982911946154508, "email": "jon@example.com",  "total_price": "199.00"}'


def shopify_headers(body: bytes, topic: str = "orders/create", webhook_id: str | None = None) -> dict[str, str]:
    """Shopify: base64(HMAC-SHA256(secret, raw body)) in X-Shopify-Hmac-Sha256."""
    digest = hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
    }


async def test_a_shopify_webhook_with_a_valid_signature_is_accepted_and_written(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(SIGNED)
    webhook_id = str(uuid.uuid4())
    response = await ingress.client.post(
        "/webhooks/shop", data=ORDER, headers=shopify_headers(ORDER, webhook_id=webhook_id))
    answer = await response.json()
    assert response.status == 200, answer
    assert answer["accepted"] is True and answer["id"].startswith("evt_")
    _, envelope = await ingress.envelope("shop")
    assert envelope["id"] == answer["id"]
    assert envelope["source"] == "shop"
    assert envelope["type"] == "orders/create"
    assert envelope["provider_event_id"] == webhook_id
    assert envelope["data"] == orjson.loads(ORDER)
    assert envelope["headers"]["x-shopify-topic"] == "orders/create"
    assert "x-shopify-hmac-sha256" not in envelope["headers"]  # credentials are not kept


async def test_a_tampered_shopify_body_is_401_bad_signature_and_nothing_is_written(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(SIGNED)
    tampered = ORDER.replace(b"199.00", b"1.00")
    response = await ingress.client.post("/webhooks/shop", data=tampered, headers=shopify_headers(ORDER))
    assert response.status == 401
    assert (await response.json())["code"] == "bad_signature"
    assert await ingress.end_offsets("shop") == 0


async def test_a_real_format_stripe_webhook_is_accepted_with_type_and_time_from_the_event(
    make_ingress: MakeIngress,
) -> None:
    ingress = await make_ingress(SIGNED)
    created = int(time.time()) - 5
    body = orjson.dumps({
        "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event", "api_version": "2023-10-16",
        "created": created, "type": "payment_intent.succeeded", "livemode": False,
        "data": {"object": {"id": "pi_3NG8", "object": "payment_intent", "amount": 2000}},
    })
    t = str(int(time.time()))
    # Stripe signs "{t}.{raw body}" with the whole endpoint secret, whsec_ prefix included.
    v1 = hmac.new(STRIPE_SECRET.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
               "Stripe-Signature": f"t={t},v1={v1},v0={'0' * 64}"}
    response = await ingress.client.post("/webhooks/stripe", data=body, headers=headers)
    assert response.status == 200, await response.text()
    _, envelope = await ingress.envelope("stripe")
    assert envelope["type"] == "payment_intent.succeeded"
    assert envelope["time"] == created * 1000
    assert envelope["provider_event_id"] == "evt_1NG8Du2eZvKYlo2CUI79vXWy"
    assert envelope["data"]["data"]["object"]["amount"] == 2000


async def test_a_github_push_webhook_is_accepted_with_type_push(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(SIGNED)
    body = b'{"ref":"refs/heads/main","before":"6113728f","after":"59b20b8d","repository":{"full_name":"octo/hello"}}'
    delivery = str(uuid.uuid4())
    signature = "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
               "X-Hub-Signature-256": signature, "User-Agent": "GitHub-Hookshot/044aadd"}
    response = await ingress.client.post("/webhooks/gh", data=body, headers=headers)
    assert response.status == 200, await response.text()
    _, envelope = await ingress.envelope("gh")
    assert envelope["type"] == "push"
    assert envelope["provider_event_id"] == delivery
    assert envelope["data"]["repository"]["full_name"] == "octo/hello"


async def test_a_gzip_body_signed_over_its_wire_bytes_verifies(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(SIGNED)
    wire = gzip.compress(ORDER)
    headers = {**shopify_headers(wire), "Content-Encoding": "gzip"}
    response = await ingress.client.post("/webhooks/shop", data=wire, headers=headers)
    assert response.status == 200, await response.text()
    _, envelope = await ingress.envelope("shop")
    assert envelope["data"] == orjson.loads(ORDER)  # parsed from the decoded body
    assert envelope["content_type"] == "application/json"


async def test_a_gzip_body_signed_over_its_decoded_bytes_is_401(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(SIGNED)
    headers = {**shopify_headers(ORDER), "Content-Encoding": "gzip"}
    response = await ingress.client.post("/webhooks/shop", data=gzip.compress(ORDER), headers=headers)
    assert response.status == 401
    assert (await response.json())["code"] == "bad_signature"
    assert await ingress.end_offsets("shop") == 0


async def test_a_type_outside_the_events_allow_list_is_acknowledged_filtered_and_not_written(
    make_ingress: MakeIngress,
) -> None:
    ingress = await make_ingress(ALLOW_LIST)
    response = await ingress.client.post("/webhooks/shop", data=ORDER, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": "orders/delete"})
    assert response.status == 200
    answer = await response.json()
    assert answer["accepted"] is False and answer["filtered"] is True
    assert ingress.metric("eis_events_filtered_total", source="shop") == 1
    assert await ingress.end_offsets("shop") == 0
    # The control: a listed type is written, so the empty topic above means "dropped".
    response = await ingress.client.post("/webhooks/shop", data=ORDER, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": "orders/paid"})
    assert response.status == 200 and (await response.json())["accepted"] is True
    _, envelope = await ingress.envelope("shop")
    assert envelope["type"] == "orders/paid"
    assert ingress.metric("eis_events_filtered_total", source="shop") == 1


async def test_key_material_that_cannot_be_fetched_is_503_with_retry_after_not_401(make_ingress: MakeIngress) -> None:
    ingress = await make_ingress(f"""
service: hooks
webhooks:
  - id: idp
    verification: {{type: jwt, jwksUrl: "{closed_port_url()}/jwks.json"}}
kafka: {{topicPrefix: "{{prefix}}"}}
""")
    def b64(value: dict) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()
    token = f"{b64({'alg': 'RS256', 'kid': 'k1', 'typ': 'JWT'})}.{b64({'sub': 'x', 'exp': int(time.time()) + 60})}.c2ln"
    response = await ingress.client.post("/webhooks/idp", data=b"{}", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    assert response.status == 503, await response.text()
    assert response.headers["Retry-After"].isdigit()
    assert (await response.json())["code"] == "key_fetch_failed"
    assert await ingress.end_offsets("idp") == 0


PAYPAL_EVENT = (b'{"id":"WH-2WR32451HC0233532-67976317FL4543714","event_version":"1.0",'
                b'"create_time":"2023-11-14T22:13:20.000Z","resource_type":"capture",'
                b'"event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment completed",'
                b'"resource":{"id":"42311647XV020574X","status":"COMPLETED","amount":{"value":"10.00"}}}')


async def test_a_real_format_paypal_webhook_is_verified_with_its_fetched_certificate_and_accepted(
        make_ingress: MakeIngress) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from tests.verification import signers

    fetched: list[str] = []

    async def certificate(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return web.Response(body=signers.rsa_identity("paypal")[1])

    app = web.Application()
    app.router.add_get("/v1/notifications/certs/{name}", certificate)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        ingress = await make_ingress(f"""
service: hooks
webhooks:
  - id: pp
    provider: paypal
    verification: {{type: paypal-transmission, webhookId: {signers.PAYPAL_WEBHOOK_ID},
                   allowedCertHosts: ["127.0.0.1"]}}
delivery:
  partitioning: {{partitions: 1}}
kafka: {{topicPrefix: "{{prefix}}"}}
""")
        message = signers.Message(body=PAYPAL_EVENT, timestamp=int(time.time()))
        signed = signers.paypal(message, "paypal", str(server.make_url("/v1/notifications/certs/CERT-360caa42")))
        headers = {"Content-Type": "application/json", **signed.headers}
        response = await ingress.client.post("/webhooks/pp", data=PAYPAL_EVENT, headers=headers)
        assert response.status == 200, await response.text()
        _, envelope = await ingress.envelope("pp")
        assert envelope["type"] == "PAYMENT.CAPTURE.COMPLETED"
        assert envelope["provider_event_id"] == "WH-2WR32451HC0233532-67976317FL4543714"
        tampered = await ingress.client.post("/webhooks/pp", data=PAYPAL_EVENT.replace(b"10.00", b"99.00"),
                                             headers=headers)
        assert tampered.status == 401
        assert fetched == ["/v1/notifications/certs/CERT-360caa42"]    # fetched once, then cached
    finally:
        await server.close()
