"""`type: standard-webhooks`: the Standard Webhooks spec (Svix and others).

Headers `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`, a
space-separated list of `v1,<base64 HMAC-SHA256>` over `"{id}.{timestamp}.{raw body}"`.
The secret is `whsec_<base64>`: the key is the base64-DECODED part after the prefix
(unlike Stripe, KAFKA-NOTES "Other traps"). Other versions (`v1a` asymmetric) are ignored.
Follows the reference library standardwebhooks/webhooks.py: ±5 min window both directions.
"""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from ingress.verification.base import (
    SecretSettings,
    SyncVerifier,
    VerificationFailed,
    VerificationRequest,
    Verified,
    VerifierConfigError,
    any_equal,
    check_window,
    hmac_digest,
    parse_unix_seconds,
    require_header,
    resolve_secrets,
)
from schemas.config.base import ConfigModel
from schemas.errors import ConfigProblem

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
MAX_SIGNATURES = 8


class StandardWebhooksSettings(SecretSettings):
    """Secret(s) `whsec_…`, the window, and the header family."""

    tolerance_seconds: int = Field(
        300, ge=1, le=86_400, description="accepted |now - webhook-timestamp| in seconds",
    )
    header_prefix: Literal["webhook", "svix"] = Field(
        "webhook", description="`webhook-*` headers (the spec) or Svix's older `svix-*` names",
    )


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; ValueError when it is not base64."""
    body = secret.removeprefix(SECRET_PREFIX)
    try:
        # The reference library pads first: some dashboards show the secret unpadded.
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64 after `whsec_`") from None
    if not key:
        raise ValueError("decodes to an empty key")
    return key


def parse_signatures(value: str, name: str) -> list[bytes]:
    """The v1 signatures of a `webhook-signature` header."""
    found: list[bytes] = []
    for token in value.split():
        version, sep, sig = token.partition(",")
        if not sep or version != "v1":
            continue
        try:
            found.append(base64.b64decode(sig, validate=True))
        except (binascii.Error, ValueError):
            continue  # one garbled entry must not hide a valid one beside it
    if not found:
        raise VerificationFailed("malformed_header", f"`{name}` has no `v1,` signature")
    return found[:MAX_SIGNATURES]


class StandardWebhooks(SyncVerifier):
    """Verifies a Standard Webhooks request; the replay id is `webhook-id`."""

    Settings: ClassVar[type[ConfigModel]] = StandardWebhooksSettings

    def __init__(self, keys: list[bytes], tolerance_seconds: int, prefix: str) -> None:
        self._keys = keys
        self._tolerance = tolerance_seconds
        self._id, self._ts, self._sig = (f"{prefix}-id", f"{prefix}-timestamp", f"{prefix}-signature")

    @classmethod
    def from_settings(
        cls, settings: StandardWebhooksSettings, fallback_secret: SecretStr | None, where: str,
    ) -> StandardWebhooks:
        keys = []
        for secret in resolve_secrets(settings, fallback_secret, where):
            try:
                keys.append(decode_secret(secret))
            except ValueError as exc:
                raise VerifierConfigError(
                    [ConfigProblem(f"{where}.secret", f"a Standard Webhooks secret is {exc}")],
                ) from None
        return cls(keys, settings.tolerance_seconds, settings.header_prefix)

    def verify(self, request: VerificationRequest) -> Verified:
        msg_id = require_header(request, self._id)
        raw_ts = require_header(request, self._ts)
        provided = parse_signatures(require_header(request, self._sig), self._sig)
        timestamp = parse_unix_seconds(raw_ts, self._ts)
        message = f"{msg_id}.{raw_ts}.".encode() + request.body
        expected = [hmac_digest(key, message) for key in self._keys]
        if not any_equal(expected, provided):
            raise VerificationFailed("bad_signature", f"no `{self._sig}` v1 matches the body")
        check_window(timestamp, request.now, self._tolerance, f"`{self._ts}`")
        return Verified(provider_event_id=msg_id, timestamp=float(timestamp))
