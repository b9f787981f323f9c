"""One conformance case per registered verifier configuration (STYLE.md item 12)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingress.verification import Verifier, build_verifier
from schemas.config.sources import WebhookSpec
from tests.verification import signers as s

SW_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-test-key-0001").decode()
SW_ROTATED = "whsec_" + base64.b64encode(b"standard-webhooks-test-key-0002").decode()
SW_WRONG = "whsec_" + base64.b64encode(b"standard-webhooks-wrong-key-003").decode()


@dataclass(frozen=True)
class Case:
    """How to configure one scheme and sign for it, and which properties it has."""

    id: str
    type: str
    sign: Callable[[s.Message, Any], s.Signed]
    good: Any
    wrong: Any | None
    settings: dict[str, Any] = field(default_factory=dict)
    rotated: Any | None = None       # a second accepted secret, when the scheme rotates
    missing_header: str | None = None
    timestamped: bool = False         # has a signed time checked against ±300 s
    binds_body: bool = True           # does the signature cover the body bytes?
    body: bytes = s.BODY
    content_type: str = "application/json"
    expected_id: str | None = None
    prepare: Callable[[Verifier], None] | None = None

    def message(self, **changes: Any) -> s.Message:
        return s.Message(body=self.body, content_type=self.content_type, **changes)

    def build(self, **extra: Any) -> Verifier:
        spec = WebhookSpec.model_validate({
            "id": "src", "verification": {"type": self.type, **self.settings, **extra},
        })
        verifier = build_verifier(spec, "webhooks[0]")
        if self.prepare is not None:
            self.prepare(verifier)
        return verifier

    def build_rotating(self) -> Verifier:
        return self.build(secret=None, secrets=[self.good, self.rotated])


def _seed_paypal_cert(verifier: Any) -> None:
    from ingress.verification.paypal import load_certificate

    verifier.certs.put(s.PAYPAL_CERT_URL, load_certificate(s.rsa_identity("paypal")[1]))


CASES: list[Case] = [
    Case("none", "none", lambda m, _k: s.Signed({}, m.url), None, None, binds_body=False),
    Case("stripe", "stripe-signature", s.stripe, "whsec_test_3f1c9a", "whsec_test_other",
         settings={"secret": "whsec_test_3f1c9a"}, rotated="whsec_test_rolled",
         missing_header="Stripe-Signature", timestamped=True),
    Case("github", "github-signature", s.github, "It's a Secret to Everybody", "wrong",
         settings={"secret": "It's a Secret to Everybody"}, rotated="next-secret",
         missing_header="X-Hub-Signature-256", expected_id="msg_2b7Nw0"),
    Case("shopify", "hmac-sha256", s.shopify, "shpss_test_secret", "shpss_wrong",
         settings={"secret": "shpss_test_secret"}, rotated="shpss_rotated",
         missing_header="X-Shopify-Hmac-Sha256", expected_id="msg_2b7Nw0"),
    Case("hmac-timestamped", "hmac-sha256", s.custom_hmac, "k1-secret", "k-wrong",
         settings={"secret": "k1-secret", "header": "X-Signature", "encoding": "hex",
                   "prefix": "sha256=", "timestampHeader": "X-Timestamp",
                   "signedPayload": "timestamp.body", "idHeader": None},
         rotated="k2-secret", missing_header="X-Signature", timestamped=True),
    Case("standard-webhooks", "standard-webhooks", s.standard_webhooks, SW_SECRET, SW_WRONG,
         settings={"secret": SW_SECRET}, rotated=SW_ROTATED, missing_header="webhook-signature",
         timestamped=True, expected_id="msg_2b7Nw0"),
    Case("api-key", "api-key", s.api_key, "key-live-1", "key-wrong",
         settings={"secrets": ["key-live-1"]}, rotated="key-live-2",
         missing_header="X-API-Key", binds_body=False),
    Case("api-key-bearer", "api-key", s.api_key_bearer, "key-live-1", "key-wrong",
         settings={"secret": "key-live-1"}, rotated="key-live-2",
         missing_header="Authorization", binds_body=False),
    Case("twilio-form", "twilio", s.twilio_form, "12345", "54321",
         settings={"secret": "12345"}, rotated="secondary-token",
         missing_header="X-Twilio-Signature", body=s.FORM_BODY,
         content_type="application/x-www-form-urlencoded", expected_id="msg_2b7Nw0"),
    Case("twilio-json", "twilio", s.twilio_json, "12345", "54321",
         settings={"secret": "12345"}, rotated="secondary-token",
         missing_header="X-Twilio-Signature"),
    Case("jwt-hs256", "jwt", s.jwt_hs256, "jwt-hmac-secret", "jwt-wrong",
         settings={"secret": "jwt-hmac-secret", "issuer": "https://issuer.example",
                   "audience": ["eis"], "leewaySeconds": 0, "algorithms": ["HS256"]},
         rotated="jwt-hmac-next", missing_header="Authorization", timestamped=True,
         binds_body=False, expected_id="msg_2b7Nw0"),
    Case("paypal", "paypal-transmission", s.paypal, "paypal", "attacker",
         settings={"webhookId": s.PAYPAL_WEBHOOK_ID, "allowedCertHosts": ["127.0.0.1"]},
         missing_header="PAYPAL-TRANSMISSION-SIG", timestamped=True, prepare=_seed_paypal_cert),
]
