"""The one HMAC engine behind the header-signature presets (Shopify, GitHub, custom senders).

Like Convoy's verifier presets: a preset names the header, hash, encoding and prefix; the
engine decodes the header, computes one HMAC per secret over the raw body and compares in
constant time. Schemes with their own header grammar (Stripe, Standard Webhooks) reuse the
primitives in `base` instead.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Literal

from ingress.verification.base import (
    VerificationFailed,
    VerificationRequest,
    Verified,
    any_equal,
    check_window,
    header,
    hmac_digest,
    parse_unix_seconds,
    require_header,
)

Encoding = Literal["hex", "base64"]
SignedPayload = Literal["body", "timestamp.body"]


@dataclass(frozen=True, slots=True)
class HmacPreset:
    """Where the signature is and how it is written."""

    header: str
    encoding: Encoding
    prefix: str = ""
    digest: str = "sha256"
    id_header: str | None = None
    timestamp_header: str | None = None
    tolerance_seconds: int = 300
    # "timestamp.body" signs f"{timestamp}.{body}" so the timestamp cannot be swapped; with
    # "body" the timestamp header is only a freshness hint (anyone can edit it).
    signed_payload: SignedPayload = "body"


def decode_signature(value: str, encoding: Encoding, name: str) -> bytes:
    """The signature bytes, or `malformed_header` (never echoing the value)."""
    try:
        if encoding == "hex":
            return bytes.fromhex(value)
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise VerificationFailed("malformed_header", f"`{name}` is not {encoding}") from None


class HmacEngine:
    """Verifies `preset.header` against HMACs of the raw body under each secret."""

    __slots__ = ("_keys", "_preset")

    def __init__(self, preset: HmacPreset, secrets: list[str]) -> None:
        self._preset = preset
        self._keys = [s.encode("utf-8") for s in secrets]

    def verify(self, request: VerificationRequest) -> Verified:
        p = self._preset
        raw = require_header(request, p.header)
        if p.prefix:
            if not raw.startswith(p.prefix):
                raise VerificationFailed(
                    "malformed_header", f"`{p.header}` does not start with `{p.prefix}`",
                )
            raw = raw[len(p.prefix):]
        provided = decode_signature(raw, p.encoding, p.header)
        timestamp: int | None = None
        message = request.body
        if p.timestamp_header:
            timestamp = parse_unix_seconds(require_header(request, p.timestamp_header),
                                           p.timestamp_header)
            if p.signed_payload == "timestamp.body":
                message = f"{timestamp}.".encode() + request.body
        expected = [hmac_digest(key, message, p.digest) for key in self._keys]
        if not any_equal(expected, [provided]):
            raise VerificationFailed("bad_signature", f"`{p.header}` does not match the body")
        # The window is checked after the signature: a stale error then means "authentic but
        # replayed", which is worth alerting on; forgeries all read bad_signature.
        if timestamp is not None:
            check_window(timestamp, request.now, p.tolerance_seconds, f"`{p.timestamp_header}`")
        event_id = header(request, p.id_header) if p.id_header else None
        return Verified(provider_event_id=event_id,
                        timestamp=float(timestamp) if timestamp is not None else None)
