"""`type: paypal-transmission`: PayPal's self-verifiable webhook signature.

PayPal "Verify webhook signatures" (self-verification, the alternative to calling the
verify-webhook-signature API): the signed string is
`{PAYPAL-TRANSMISSION-ID}|{PAYPAL-TRANSMISSION-TIME}|{webhook id}|{crc32(raw body), decimal}`,
`PAYPAL-TRANSMISSION-SIG` is base64 RSA PKCS#1 v1.5 SHA-256 over it (`PAYPAL-AUTH-ALGO:
SHA256withRSA`) and the public key is in the X.509 certificate at `PAYPAL-CERT-URL`.
That URL comes from the request, so it is fetched only from an allow-listed host
(KAFKA-NOTES "Other traps"), over https, and cached. Trust in the certificate rests on TLS
to that PayPal host; we do not walk PayPal's chain, but we do check its validity period.
The event id for dedup is the body's `id` (provider adapter): transmissions are per attempt.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field, SecretStr

from ingress.verification.base import (
    SyncVerifier,
    VerificationFailed,
    VerificationRequest,
    VerificationUnavailable,
    Verified,
    VerifierConfigError,
    check_window,
    require_header,
)
from ingress.verification.remote import AllowListedCache
from schemas.config.base import ConfigModel
from schemas.errors import ConfigProblem

PAYPAL_CERT_HOSTS = (
    "api.paypal.com", "api.sandbox.paypal.com", "api-m.paypal.com", "api-m.sandbox.paypal.com",
)
ALGO = "SHA256withRSA"


class PayPalSettings(ConfigModel):
    """The PayPal webhook id (part of the signed string) and the certificate policy."""

    webhook_id: str = Field(
        min_length=1, max_length=100, description="the webhook's id in the PayPal dashboard",
    )
    allowed_cert_hosts: list[str] = Field(
        default_factory=lambda: list(PAYPAL_CERT_HOSTS), min_length=1, max_length=20,
        description="hosts PAYPAL-CERT-URL may name; any other host is refused unfetched",
    )
    tolerance_seconds: int | None = Field(
        300, ge=1, le=86_400,
        description="accepted |now - PAYPAL-TRANSMISSION-TIME|; null to skip the check",
    )
    cert_cache_seconds: int = Field(3600, ge=60, le=86_400, description="certificate cache life")
    fetch_timeout_seconds: float = Field(5.0, gt=0, le=30, description="certificate fetch timeout")
    cert_url: str | None = Field(
        None, description="accepted for the spec's example config; ignored: the URL is per request",
    )


def load_certificate(data: bytes) -> Any:
    """The certificate's RSA public key and validity; ValueError when it is not a PEM RSA cert."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    cert = x509.load_pem_x509_certificate(data)
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the certificate key is not RSA")
    return (key, cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp())


def _parse_time(value: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise VerificationFailed(
            "malformed_header", "`PAYPAL-TRANSMISSION-TIME` is not an ISO-8601 time",
        ) from None


class PayPalTransmission(SyncVerifier):
    """Verifies PayPal's RSA transmission signature with a cached, allow-listed certificate."""

    Settings: ClassVar[type[ConfigModel]] = PayPalSettings

    def __init__(self, settings: PayPalSettings) -> None:
        self._webhook_id = settings.webhook_id
        self._tolerance = settings.tolerance_seconds
        self.certs: AllowListedCache[Any] = AllowListedCache(
            settings.allowed_cert_hosts, load_certificate, ttl_seconds=settings.cert_cache_seconds,
            reason="untrusted_certificate_host", timeout_seconds=settings.fetch_timeout_seconds,
        )

    @classmethod
    def from_settings(
        cls, settings: PayPalSettings, fallback_secret: SecretStr | None, where: str,
    ) -> PayPalTransmission:
        try:
            import cryptography  # noqa: F401  (needed per request: fail at config time instead)
        except ImportError:  # pragma: no cover - depends on the environment
            raise VerifierConfigError([ConfigProblem(
                f"{where}.type", "paypal-transmission needs the `cryptography` package",
            )]) from None
        return cls(settings)

    async def verify_async(self, request: VerificationRequest) -> Verified:
        url = require_header(request, "PAYPAL-CERT-URL")
        await self.certs.get(url)  # checks the host before any network use
        return self.verify(request)

    def verify(self, request: VerificationRequest) -> Verified:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        transmission_id = require_header(request, "PAYPAL-TRANSMISSION-ID")
        sent_at = require_header(request, "PAYPAL-TRANSMISSION-TIME")
        sig_b64 = require_header(request, "PAYPAL-TRANSMISSION-SIG")
        url = require_header(request, "PAYPAL-CERT-URL")
        algo = require_header(request, "PAYPAL-AUTH-ALGO")
        if algo != ALGO:
            raise VerificationFailed("malformed_header", f"`PAYPAL-AUTH-ALGO` is not {ALGO}")
        try:
            signature = base64.b64decode(sig_b64, validate=True)
        except (binascii.Error, ValueError):
            raise VerificationFailed(
                "malformed_header", "`PAYPAL-TRANSMISSION-SIG` is not base64",
            ) from None
        timestamp = _parse_time(sent_at)
        self.certs.check_url(url)
        entry = self.certs.cached(url)
        if entry is None:
            raise VerificationUnavailable("certificate_not_cached", "call verify_async first")
        key, not_before, not_after = entry
        if not not_before <= request.now <= not_after:
            raise VerificationFailed("untrusted_certificate", "the certificate is not valid now")
        message = f"{transmission_id}|{sent_at}|{self._webhook_id}|{zlib.crc32(request.body)}"
        try:
            key.verify(signature, message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise VerificationFailed(
                "bad_signature", "`PAYPAL-TRANSMISSION-SIG` does not match the body",
            ) from None
        if self._tolerance is not None:
            check_window(timestamp, request.now, self._tolerance, "`PAYPAL-TRANSMISSION-TIME`")
        return Verified(provider_event_id=None, timestamp=timestamp)

    async def close(self) -> None:
        await self.certs.close()
