"""`type: hmac-sha256`: a configurable header HMAC; the defaults are Shopify's.

Shopify sends `X-Shopify-Hmac-Sha256: base64(HMAC-SHA256(app secret, raw body))` and the
delivery id in `X-Shopify-Webhook-Id` (shopify.dev "Verify webhook deliveries").
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator

from ingress.verification.base import (
    SecretSettings,
    SyncVerifier,
    VerificationRequest,
    Verified,
    resolve_secrets,
)
from ingress.verification.hmac_engine import HmacEngine, HmacPreset
from schemas.config.base import ConfigModel

HEADER_NAME = r"^[A-Za-z0-9-]{1,100}$"


class HmacSha256Settings(SecretSettings):
    """Where a sender puts its HMAC-SHA256 signature."""

    header: str = Field(
        "X-Shopify-Hmac-Sha256", pattern=HEADER_NAME, description="header carrying the signature",
    )
    encoding: Literal["hex", "base64"] = Field("base64", description="how the digest is written")
    prefix: str = Field("", max_length=20, description="text before the digest, e.g. `sha256=`")
    id_header: str | None = Field(
        "X-Shopify-Webhook-Id", pattern=HEADER_NAME,
        description="header with the delivery id used for replay dedup; null for none",
    )
    timestamp_header: str | None = Field(
        None, pattern=HEADER_NAME, description="header with the send time in unix seconds",
    )
    tolerance_seconds: int = Field(
        300, ge=1, le=86_400, description="accepted clock difference for `timestampHeader`",
    )
    signed_payload: Literal["body", "timestamp.body"] = Field(
        "body",
        description="what is signed: the raw body, or `{timestamp}.{body}` (needs timestampHeader)",
    )

    @model_validator(mode="after")
    def _timestamp_signed_needs_header(self) -> HmacSha256Settings:
        if self.signed_payload == "timestamp.body" and not self.timestamp_header:
            raise ValueError("signedPayload `timestamp.body` needs `timestampHeader`")
        return self


class HmacSha256(SyncVerifier):
    """The generic HMAC-SHA256 header scheme over the raw body."""

    Settings: ClassVar[type[ConfigModel]] = HmacSha256Settings

    def __init__(self, engine: HmacEngine) -> None:
        self._engine = engine

    @classmethod
    def from_settings(
        cls, settings: HmacSha256Settings, fallback_secret: SecretStr | None, where: str,
    ) -> HmacSha256:
        preset = HmacPreset(
            header=settings.header, encoding=settings.encoding, prefix=settings.prefix,
            id_header=settings.id_header, timestamp_header=settings.timestamp_header,
            tolerance_seconds=settings.tolerance_seconds, signed_payload=settings.signed_payload,
        )
        return cls(HmacEngine(preset, resolve_secrets(settings, fallback_secret, where)))

    def verify(self, request: VerificationRequest) -> Verified:
        return self._engine.verify(request)
