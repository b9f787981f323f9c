"""`type: github-signature`: GitHub's `X-Hub-Signature-256: sha256=<hex>` over the raw body.

GitHub docs, "Validating webhook deliveries": HMAC-SHA256 of the payload with the webhook
secret, hex, prefixed `sha256=`; `X-GitHub-Delivery` is a GUID per delivery (kept on
redelivery), which makes it the replay-dedup id. The legacy SHA-1 `X-Hub-Signature` is
deliberately not accepted.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from ingress.verification.base import (
    SecretSettings,
    SyncVerifier,
    VerificationRequest,
    Verified,
    resolve_secrets,
)
from ingress.verification.hmac_engine import HmacEngine, HmacPreset
from schemas.config.base import ConfigModel

GITHUB = HmacPreset(
    header="X-Hub-Signature-256", encoding="hex", prefix="sha256=", id_header="X-GitHub-Delivery",
)


class GitHubSettings(SecretSettings):
    """Only the secret(s): everything else is fixed by GitHub."""


class GitHubSignature(SyncVerifier):
    """The GitHub preset of the HMAC engine."""

    Settings: ClassVar[type[ConfigModel]] = GitHubSettings

    def __init__(self, engine: HmacEngine) -> None:
        self._engine = engine

    @classmethod
    def from_settings(
        cls, settings: GitHubSettings, fallback_secret: SecretStr | None, where: str,
    ) -> GitHubSignature:
        return cls(HmacEngine(GITHUB, resolve_secrets(settings, fallback_secret, where)))

    def verify(self, request: VerificationRequest) -> Verified:
        return self._engine.verify(request)
