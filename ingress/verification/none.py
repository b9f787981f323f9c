"""`type: none`: the explicit opt-out. Never a default: a webhook must say it wants no check."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from ingress.verification.base import SyncVerifier, VerificationRequest, Verified, header
from schemas.config.base import ConfigModel


class NoVerificationSettings(ConfigModel):
    """`{type: none}` takes one optional key; anything else (a stray `secret`) is refused."""

    id_header: str | None = Field(
        None, min_length=1, max_length=100,
        description="header whose value is the provider's event id, for replay dedup",
    )


class NoVerification(SyncVerifier):
    """Accepts every request. Use only for sources authenticated elsewhere (mTLS, a private network)."""

    Settings: ClassVar[type[ConfigModel]] = NoVerificationSettings

    def __init__(self, id_header: str | None) -> None:
        self._id_header = id_header

    @classmethod
    def from_settings(
        cls, settings: NoVerificationSettings, fallback_secret: SecretStr | None, where: str,
    ) -> NoVerification:
        # A configured `signingSecret` is ignored on purpose: `none` is the explicit choice.
        return cls(settings.id_header)

    def verify(self, request: VerificationRequest) -> Verified:
        event_id = header(request, self._id_header) if self._id_header else None
        return Verified(provider_event_id=event_id, timestamp=None)
