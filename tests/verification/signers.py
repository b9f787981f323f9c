"""Test-side signers written from each provider's public format, independent of the code under test.

Each signer takes a `Message` (what the provider is about to send) and the signing material,
and returns the headers and URL of the request the provider would make.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass, replace
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from multidict import CIMultiDict

from ingress.verification import VerificationRequest

NOW = 1_700_000_000
# Spacing on purpose: json.dumps(json.loads(BODY)) differs, which the re-serialization test needs.
BODY = b'{"id": "evt_1NG8Du2eZvKYlo2C",  "type":"payment_intent.succeeded","created":1699999990,' \
       b'"data":{"object":{"amount":2000,"note":"caf\xc3\xa9"}}}'
FORM_BODY = urlencode({
    "MessageSid": "SM123", "From": "+15551234567", "To": "+15557654321", "Body": "Hi there",
}).encode()
PUBLIC_URL = "https://hooks.example.com/webhooks/src?tenant=a"


@dataclass(frozen=True)
class Message:
    """What a provider sends: body, content type, its public URL and its send time."""

    body: bytes
    url: str = PUBLIC_URL
    timestamp: int = NOW
    content_type: str = "application/json"
    event_id: str = "msg_2b7Nw0"


@dataclass(frozen=True)
class Signed:
    """The request as it arrives: headers and the URL the ingress sees."""

    headers: dict[str, str]
    url: str


def request(message: Message, signed: Signed, *, body: bytes | None = None,
            now: float = NOW, drop: str | None = None) -> VerificationRequest:
    """A VerificationRequest as the ingress builds it (form parsed for form posts)."""
    raw = message.body if body is None else body
    headers = CIMultiDict({"Content-Type": message.content_type, **signed.headers})
    if drop is not None:
        headers.popall(drop, None)
    form = None
    if message.content_type == "application/x-www-form-urlencoded":
        form = parse_qs(raw.decode(), keep_blank_values=True)
    return VerificationRequest(body=raw, headers=headers, url=signed.url, form=form, now=now)


def reserialized(message: Message) -> Message:
    """The same JSON value with different bytes (what a framework's re-dump produces)."""
    return replace(message, body=json.dumps(json.loads(message.body)).encode())


def _mac(key: bytes, data: bytes, algo: Any = hashlib.sha256) -> bytes:
    return hmac.new(key, data, algo).digest()


def stripe(m: Message, secret: str) -> Signed:
    sig = _mac(secret.encode(), f"{m.timestamp}.".encode() + m.body).hex()
    # A v0 and an unknown scheme ride along, as Stripe documents; both must be ignored.
    return Signed({"Stripe-Signature": f"t={m.timestamp},v1={sig},v0=6ffbb59b2300aae6"}, m.url)


def github(m: Message, secret: str) -> Signed:
    sig = "sha256=" + _mac(secret.encode(), m.body).hex()
    return Signed({"X-Hub-Signature-256": sig, "X-GitHub-Delivery": m.event_id,
                   "X-GitHub-Event": "push"}, m.url)


def shopify(m: Message, secret: str) -> Signed:
    sig = base64.b64encode(_mac(secret.encode(), m.body)).decode()
    return Signed({"X-Shopify-Hmac-Sha256": sig, "X-Shopify-Webhook-Id": m.event_id,
                   "X-Shopify-Topic": "orders/create"}, m.url)


def custom_hmac(m: Message, secret: str) -> Signed:
    """hmac-sha256 configured as `X-Signature: sha256=<hex of "{ts}.{body}">` + X-Timestamp."""
    sig = _mac(secret.encode(), f"{m.timestamp}.".encode() + m.body).hex()
    return Signed({"X-Signature": f"sha256={sig}", "X-Timestamp": str(m.timestamp)}, m.url)


def standard_webhooks(m: Message, secret: str) -> Signed:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(_mac(key, f"{m.event_id}.{m.timestamp}.".encode() + m.body)).decode()
    return Signed({"webhook-id": m.event_id, "webhook-timestamp": str(m.timestamp),
                   "webhook-signature": f"v1a,bm90LWEta2V5 v1,{sig}"}, m.url)


def api_key(m: Message, secret: str) -> Signed:
    return Signed({"X-API-Key": secret}, m.url)


def api_key_bearer(m: Message, secret: str) -> Signed:
    return Signed({"Authorization": f"Bearer {secret}"}, m.url)


def _internal(url: str) -> str:
    """The URL as seen behind a TLS-terminating proxy: http on an internal port."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="http", netloc=f"{parts.hostname}:8080"))


def twilio_form(m: Message, token: str) -> Signed:
    params = parse_qs(m.body.decode(), keep_blank_values=True)
    data = m.url + "".join(k + v for k in sorted(params) for v in sorted(params[k]))
    sig = base64.b64encode(_mac(token.encode(), data.encode(), hashlib.sha1)).decode()
    return Signed({"X-Twilio-Signature": sig, "I-Twilio-Idempotency-Token": m.event_id},
                  _internal(m.url))


def twilio_json(m: Message, token: str) -> Signed:
    url = f"{m.url}&bodySHA256={hashlib.sha256(m.body).hexdigest()}"
    sig = base64.b64encode(_mac(token.encode(), url.encode(), hashlib.sha1)).decode()
    return Signed({"X-Twilio-Signature": sig}, _internal(url))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_hs256(m: Message, secret: str) -> Signed:
    """A JWT valid from ts-300 to ts+300 (so the suite's ±300 s window applies)."""
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"iss": "https://issuer.example", "aud": "eis", "jti": m.event_id,
              "iat": m.timestamp - 300, "nbf": m.timestamp - 300, "exp": m.timestamp + 300}
    body = _b64url(json.dumps(claims).encode())
    sig = _b64url(_mac(secret.encode(), f"{head}.{body}".encode()))
    return Signed({"Authorization": f"Bearer {head}.{body}.{sig}"}, m.url)


@cache
def rsa_identity(name: str) -> tuple[Any, bytes]:
    """A test RSA key and its self-signed certificate (PEM), made once per name."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.test")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
            .not_valid_after(dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


PAYPAL_CERT_URL = "http://127.0.0.1:9/v1/notifications/certs/CERT-360caa42-fca2a594-test"
PAYPAL_WEBHOOK_ID = "1JE4291016473214C"


def paypal(m: Message, identity: str, cert_url: str = PAYPAL_CERT_URL) -> Signed:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key, _ = rsa_identity(identity)
    when = dt.datetime.fromtimestamp(m.timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    transmission = "69cd13f0-d67a-11e5-baa3-778b53f4ae55"
    signed = f"{transmission}|{when}|{PAYPAL_WEBHOOK_ID}|{zlib.crc32(m.body)}".encode()
    sig = base64.b64encode(key.sign(signed, padding.PKCS1v15(), hashes.SHA256())).decode()
    return Signed({
        "PAYPAL-TRANSMISSION-ID": transmission, "PAYPAL-TRANSMISSION-TIME": when,
        "PAYPAL-TRANSMISSION-SIG": sig, "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }, m.url)
