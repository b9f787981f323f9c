"""Documented provider examples: published test vectors and documented header/body shapes."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict

from ingress.providers import get_provider
from ingress.verification import VerificationFailed, VerificationRequest, build_verifier
from schemas.config.sources import WebhookSpec


def verifier(verification: dict, **extra: object):
    spec = WebhookSpec.model_validate({"id": "src", "verification": verification, **extra})
    return build_verifier(spec, "webhooks[0]")


def req(body: bytes, headers: dict[str, str], url: str = "https://hooks.acme.com/x",
        form: dict[str, list[str]] | None = None, now: float = 0) -> VerificationRequest:
    return VerificationRequest(body=body, headers=CIMultiDict(headers), url=url, form=form, now=now)


def test_github_published_test_vector() -> None:
    # docs.github.com "Validating webhook deliveries" → "Testing the webhook payload validation".
    v = verifier({"type": "github-signature", "secret": "It's a Secret to Everybody"})
    headers = {"X-Hub-Signature-256":
               "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
               "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "X-GitHub-Event": "push"}
    assert v.verify(req(b"Hello, World!", headers)).provider_event_id == (
        "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    with pytest.raises(VerificationFailed):
        v.verify(req(b"Hello, World?", headers))


TWILIO_PARAMS = {"CallSid": ["CA1234567890ABCDE"], "Caller": ["+12349013030"], "Digits": ["1234"],
                 "From": ["+12349013030"], "To": ["+18005551212"]}
TWILIO_BODY = (b"To=%2B18005551212&CallSid=CA1234567890ABCDE&Digits=1234"
               b"&From=%2B12349013030&Caller=%2B12349013030")


@pytest.mark.parametrize(("settings", "url"), [
    ({}, "https://mycompany.com/myapp.php?foo=1&bar=2"),
    ({}, "http://mycompany.com:8080/myapp.php?foo=1&bar=2"),            # behind a TLS proxy
    ({"publicUrl": "https://mycompany.com/myapp.php"}, "http://10.0.0.7:3000/tw?foo=1&bar=2"),
    ({}, "https://mycompany.com:443/myapp.php?foo=1&bar=2"),
])
def test_twilio_published_example(settings: dict, url: str) -> None:
    # twilio.com/docs/usage/webhooks/webhooks-security: auth token 12345 → 0/KCTR6DLpKmkAf8muzZqo1nDgQ=
    v = verifier({"type": "twilio", "secret": "12345", **settings})
    headers = {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
               "Content-Type": "application/x-www-form-urlencoded"}
    v.verify(req(TWILIO_BODY, headers, url, form=TWILIO_PARAMS))
    v.verify(req(TWILIO_BODY, headers, url, form=None))  # parses the raw body itself
    with pytest.raises(VerificationFailed):
        v.verify(req(TWILIO_BODY.replace(b"1234", b"9999"), headers, url))


def test_twilio_without_force_https_signs_the_url_as_received() -> None:
    v = verifier({"type": "twilio", "secret": "12345", "forceHttps": False})
    headers = {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}
    with pytest.raises(VerificationFailed):
        v.verify(req(TWILIO_BODY, headers, "http://mycompany.com/myapp.php?foo=1&bar=2",
                     form=TWILIO_PARAMS))


def test_stripe_documented_header_shape() -> None:
    # Stripe docs: "Stripe-Signature: t=1492774577,v1=5257a869…,v0=6ffbb59b…" (v0 ignored).
    import hashlib
    import hmac

    body = json.dumps({"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event",
                       "api_version": "2023-10-16", "created": 1492774577,
                       "type": "payment_intent.succeeded",
                       "data": {"object": {"id": "pi_3", "amount": 2000}}}, indent=2).encode()
    secret = "whsec_0a1b2c3d4e5f"
    v1 = hmac.new(secret.encode(), b"1492774577." + body, hashlib.sha256).hexdigest()
    header = f"t=1492774577,v1={v1},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    v = verifier({"type": "stripe-signature", "toleranceSeconds": 300}, signingSecret=secret)
    result = v.verify(req(body, {"Stripe-Signature": header}, now=1492774577 + 5))
    assert result.timestamp == 1492774577
    facts = get_provider("stripe").facts(CIMultiDict(), json.loads(body))
    assert (facts.type, facts.provider_event_id, facts.time_ms) == (
        "payment_intent.succeeded", "evt_1NG8Du2eZvKYlo2CUI79vXWy", 1492774577000)
    with pytest.raises(VerificationFailed) as info:
        v.verify(req(body, {"Stripe-Signature": header}, now=1492774577 + 301))
    assert info.value.reason == "stale_timestamp"


def test_shopify_documented_request_shape() -> None:
    import base64
    import hashlib
    import hmac

    body = b'{"id":820982911946154508,"email":"jon@example.com","total_price":"398.00"}'
    secret = "shpss_hush"
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": base64.b64encode(
            hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode(),
        "X-Shopify-Shop-Domain": "example.myshopify.com", "X-Shopify-API-Version": "2024-01",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Triggered-At": "2023-03-29T18:00:27.877041743Z",
    }
    v = verifier({"type": "hmac-sha256", "secret": secret})
    assert v.verify(req(body, headers)).provider_event_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    facts = get_provider("shopify").facts(CIMultiDict(headers), json.loads(body))
    assert facts.type == "orders/create"
    assert facts.time_ms is not None and facts.time_ms // 1000 == 1680112827
