"""PayPal certificates and JWKS served by a local aiohttp server: allow-list, cache, failures."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from functools import cache

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ingress.verification import VerificationFailed, VerificationUnavailable, build_verifier
from schemas.config.sources import WebhookSpec
from tests.verification import signers as s

pytest.importorskip("cryptography")

PAYPAL_BODY = (b'{"id":"WH-2WR32451HC0233532-67976317FL4543714","event_version":"1.0",'
               b'"create_time":"2023-11-14T22:13:20.000Z","resource_type":"capture",'
               b'"event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment completed",'
               b'"resource":{"id":"42311647XV020574X","status":"COMPLETED"}}')


class KeyServer:
    """Serves a PEM certificate and a JWKS; counts hits; can be told to fail or redirect."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.status = 200
        self.jwks: dict = {"keys": []}
        app = web.Application()
        app.router.add_get("/certs/{name}", self._cert)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/redirect", self._redirect)
        self.server = TestServer(app, host="127.0.0.1")

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def _cert(self, request: web.Request) -> web.Response:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        if self.status != 200:
            return web.Response(status=self.status)
        return web.Response(body=s.rsa_identity(request.match_info["name"])[1])

    async def _jwks(self, request: web.Request) -> web.Response:
        self.hits["/jwks"] = self.hits.get("/jwks", 0) + 1
        return web.json_response(self.jwks)

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(self.url("/certs/paypal"))


@pytest.fixture
async def keys() -> AsyncIterator[KeyServer]:
    ks = KeyServer()
    await ks.server.start_server()
    yield ks
    await ks.server.close()


def paypal_verifier(**extra: object):
    spec = WebhookSpec.model_validate({"id": "pp", "provider": "paypal", "verification": {
        "type": "paypal-transmission", "webhookId": s.PAYPAL_WEBHOOK_ID,
        "allowedCertHosts": ["127.0.0.1"], **extra}})
    return build_verifier(spec, "webhooks[0]")


async def test_paypal_fetches_the_certificate_once_and_verifies(keys: KeyServer) -> None:
    v = paypal_verifier()
    m = s.Message(body=PAYPAL_BODY)
    cert_url = keys.url("/certs/paypal")
    for _ in range(3):
        result = await v.verify_async(s.request(m, s.paypal(m, "paypal", cert_url)))
    assert result.timestamp == s.NOW
    assert keys.hits == {"/certs/paypal": 1}
    with pytest.raises(VerificationFailed) as info:
        await v.verify_async(s.request(m, s.paypal(m, "paypal", cert_url), body=PAYPAL_BODY + b" "))
    assert info.value.reason == "bad_signature"
    await v.close()


async def test_paypal_signature_from_another_certificate_fails(keys: KeyServer) -> None:
    # The attacker serves its own certificate from an allow-listed host it does not control?
    # It cannot; but a valid PayPal cert with a signature by another key must still fail.
    v = paypal_verifier()
    m = s.Message(body=PAYPAL_BODY)
    with pytest.raises(VerificationFailed) as info:
        await v.verify_async(s.request(m, s.paypal(m, "attacker", keys.url("/certs/paypal"))))
    assert info.value.reason == "bad_signature"
    await v.close()


@pytest.mark.parametrize("cert_url", [
    "https://api.paypal.com.evil.example/certs/x",
    "https://evil.example/certs/x?h=api.paypal.com",
    "https://user:pw@127.0.0.1/certs/x",
])
async def test_paypal_untrusted_cert_host_is_never_fetched(cert_url: str) -> None:
    v = paypal_verifier()
    m = s.Message(body=PAYPAL_BODY)
    with pytest.raises(VerificationFailed) as info:
        await v.verify_async(s.request(m, s.paypal(m, "paypal", cert_url)))
    assert info.value.reason == "untrusted_certificate_host"


async def test_paypal_default_allow_list_requires_https() -> None:
    spec = WebhookSpec.model_validate({"id": "pp", "verification": {
        "type": "paypal-transmission", "webhookId": s.PAYPAL_WEBHOOK_ID}})
    v = build_verifier(spec, "webhooks[0]")
    m = s.Message(body=PAYPAL_BODY)
    with pytest.raises(VerificationFailed) as info:
        await v.verify_async(s.request(m, s.paypal(m, "paypal", "http://api.paypal.com/certs/x")))
    assert info.value.reason == "untrusted_certificate_host"
    with pytest.raises(VerificationFailed) as info:
        await v.verify_async(s.request(m, s.paypal(m, "paypal", "http://127.0.0.1/certs/x")))
    assert info.value.reason == "untrusted_certificate_host"  # loopback is not on the default list


async def test_paypal_fetch_failure_is_retriable_and_redirects_are_not_followed(
    keys: KeyServer,
) -> None:
    v = paypal_verifier()
    m = s.Message(body=PAYPAL_BODY)
    keys.status = 500
    with pytest.raises(VerificationUnavailable) as info:
        await v.verify_async(s.request(m, s.paypal(m, "paypal", keys.url("/certs/paypal"))))
    assert info.value.retriable
    keys.status = 200
    with pytest.raises(VerificationUnavailable):
        await v.verify_async(s.request(m, s.paypal(m, "paypal", keys.url("/redirect"))))
    assert "/certs/paypal" not in keys.hits or keys.hits["/certs/paypal"] == 1
    await v.close()


# --- JWT with asymmetric keys --------------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@cache
def _ec_key(name: str):
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def sign_jwt(alg: str, key, claims: dict, kid: str | None = None) -> str:
    """A JWS written from RFC 7515/7518, independent of ingress.verification.jose."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    head = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {})}
    signing = f"{_b64url(json.dumps(head).encode())}.{_b64url(json.dumps(claims).encode())}"
    if alg == "RS256":
        sig = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s_ = decode_dss_signature(key.sign(signing.encode(), ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s_.to_bytes(32, "big")
    return f"{signing}.{_b64url(sig)}"


CLAIMS = {"iss": "https://idp.example", "aud": ["eis", "other"], "jti": "tok-1",
          "iat": s.NOW - 10, "exp": s.NOW + 300}


def jwt_verifier(**settings: object):
    spec = WebhookSpec.model_validate({"id": "j", "verification": {
        "type": "jwt", "issuer": "https://idp.example", "audience": ["eis"], **settings}})
    return build_verifier(spec, "webhooks[0]")


def bearer(token: str):
    return s.request(s.Message(body=b"{}"), s.Signed({"Authorization": f"Bearer {token}"}, "x"))


async def test_jwt_rs256_with_inline_pem_and_alg_confusion_refused() -> None:
    from cryptography.hazmat.primitives import serialization

    key, cert_pem = s.rsa_identity("idp")
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    for source in (pem.decode(), cert_pem.decode()):
        v = jwt_verifier(publicKeys=[source])
        assert (await v.verify_async(bearer(sign_jwt("RS256", key, CLAIMS)))).provider_event_id == "tok-1"
    # HS256 "signed" with the public key bytes as the HMAC secret: must not verify.
    import hashlib
    import hmac
    head = _b64url(json.dumps({"alg": "HS256"}).encode())
    body = _b64url(json.dumps(CLAIMS).encode())
    forged = f"{head}.{body}." + _b64url(hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    with pytest.raises(VerificationFailed) as info:
        await v.verify_async(bearer(forged))
    assert info.value.reason == "bad_signature"
    none_token = f"{_b64url(json.dumps({'alg': 'none'}).encode())}.{body}."
    with pytest.raises(VerificationFailed) as info:
        await v.verify_async(bearer(none_token))
    assert info.value.reason == "malformed_header"


@pytest.mark.parametrize(("claims", "reason"), [
    ({**CLAIMS, "aud": "someone-else"}, "bad_claim"),
    ({**CLAIMS, "iss": "https://evil.example"}, "bad_claim"),
    ({k: v for k, v in CLAIMS.items() if k != "exp"}, "missing_claim"),
    ({**CLAIMS, "exp": s.NOW - 61}, "stale_timestamp"),
    ({**CLAIMS, "nbf": s.NOW + 61}, "future_timestamp"),
    ({**CLAIMS, "exp": "soon"}, "malformed_header"),
])
async def test_jwt_claim_checks(claims: dict, reason: str) -> None:
    key, cert_pem = s.rsa_identity("idp")
    v = jwt_verifier(publicKeys=[cert_pem.decode()])
    with pytest.raises(VerificationFailed) as info:
        await v.verify_async(bearer(sign_jwt("RS256", key, claims)))
    assert info.value.reason == reason


async def test_jwt_es256_from_jwks_with_issuer_key_rotation(keys: KeyServer) -> None:
    def jwk(name: str) -> dict:
        n = _ec_key(name).public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "kid": name, "use": "sig",
                "x": _b64url(n.x.to_bytes(32, "big")), "y": _b64url(n.y.to_bytes(32, "big"))}

    keys.jwks = {"keys": [jwk("k1"), {"kty": "oct", "k": "c2VjcmV0"}]}
    v = jwt_verifier(jwksUrl=keys.url("/jwks"), jwksRefreshSeconds=1)
    token = sign_jwt("ES256", _ec_key("k1"), CLAIMS, kid="k1")
    for _ in range(3):
        await v.verify_async(bearer(token))
    assert keys.hits["/jwks"] == 1
    keys.jwks = {"keys": [jwk("k1"), jwk("k2")]}  # the issuer rotates in k2
    await v.verify_async(bearer(sign_jwt("ES256", _ec_key("k2"), CLAIMS, kid="k2")))
    assert keys.hits["/jwks"] == 2
    # Unknown kids force at most one refresh per jwksRefreshSeconds: k2's was just now.
    for _ in range(3):
        with pytest.raises(VerificationFailed):
            await v.verify_async(bearer(sign_jwt("ES256", _ec_key("k3"), CLAIMS, kid="k3")))
    assert keys.hits["/jwks"] == 2
    await v.close()
