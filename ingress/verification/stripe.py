"""`type: stripe-signature`: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`.

Stripe's "Verify webhook signatures manually": split the header on `,` and each item on
the first `=`; `t` is the timestamp, each `v1` an HMAC-SHA256 (hex) of `"{t}.{raw body}"`
keyed with the whole endpoint secret, `whsec_` prefix included (KAFKA-NOTES "Other traps").
Several `v1` appear while a secret is being rolled; `v0` and unknown schemes are ignored.
The tolerance applies in both directions, like Stripe's libraries (`abs(now - t)`).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from ingress.verification.base import (
    SecretSettings,
    SyncVerifier,
    VerificationFailed,
    VerificationRequest,
    Verified,
    any_equal,
    check_window,
    hmac_digest,
    parse_unix_seconds,
    require_header,
    resolve_secrets,
)
from schemas.config.base import ConfigModel

HEADER = "Stripe-Signature"
# A real header carries one or two v1 values; a cap keeps a hostile header from costing more.
MAX_SIGNATURES = 8


class StripeSettings(SecretSettings):
    """Stripe endpoint secret(s) (`whsec_…`) and the accepted clock difference."""

    tolerance_seconds: int = Field(
        300, ge=1, le=86_400, description="accepted |now - t| in seconds (Stripe's default: 300)",
    )


def parse_header(value: str) -> tuple[str, list[bytes]]:
    """The `t` value as sent and the v1 signatures as bytes; `malformed_header` otherwise."""
    timestamps: list[str] = []
    signatures: list[bytes] = []
    for item in value.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            continue  # Stripe's libraries skip items without `=` too
        if key == "t":
            timestamps.append(val)
        elif key == "v1":
            try:
                signatures.append(bytes.fromhex(val))
            except ValueError:
                raise VerificationFailed("malformed_header", f"a `{HEADER}` v1 is not hex") from None
    if len(timestamps) != 1:
        raise VerificationFailed("malformed_header", f"`{HEADER}` needs exactly one `t=`")
    if not signatures:
        raise VerificationFailed("malformed_header", f"`{HEADER}` has no `v1=` signature")
    if len(signatures) > MAX_SIGNATURES:
        raise VerificationFailed("malformed_header", f"`{HEADER}` has too many signatures")
    parse_unix_seconds(timestamps[0], f"{HEADER} t")
    return timestamps[0], signatures


class StripeSignature(SyncVerifier):
    """Verifies Stripe's signature header; the event id comes from the body (provider adapter)."""

    Settings: ClassVar[type[ConfigModel]] = StripeSettings

    def __init__(self, secrets: list[str], tolerance_seconds: int) -> None:
        self._keys = [s.encode("utf-8") for s in secrets]
        self._tolerance = tolerance_seconds

    @classmethod
    def from_settings(
        cls, settings: StripeSettings, fallback_secret: SecretStr | None, where: str,
    ) -> StripeSignature:
        return cls(resolve_secrets(settings, fallback_secret, where), settings.tolerance_seconds)

    def verify(self, request: VerificationRequest) -> Verified:
        t, provided = parse_header(require_header(request, HEADER))
        # Sign the timestamp exactly as sent: re-formatting it would change the signed bytes.
        message = t.encode("ascii") + b"." + request.body
        expected = [hmac_digest(key, message) for key in self._keys]
        if not any_equal(expected, provided):
            raise VerificationFailed("bad_signature", f"no `{HEADER}` v1 matches the body")
        check_window(int(t), request.now, self._tolerance, f"`{HEADER}` t")
        return Verified(provider_event_id=None, timestamp=float(t))
