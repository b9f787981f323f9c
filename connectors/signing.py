"""Outbound signing with the Standard Webhooks scheme (issue 5, item 7).

Headers: `webhook-id` (the idempotency key, the same on every attempt), `webhook-timestamp`
(unix seconds of this attempt) and `webhook-signature`, a space-separated `v1,<base64
HMAC-SHA256>` per active secret over `"{id}.{timestamp}.{body}"`, so a receiver keeps verifying
while a secret rotates (two active secrets). A secret is `whsec_<base64>`; the HMAC key is the
base64-DECODED part after the prefix, as the reference library (standardwebhooks/webhooks.py)
and our ingress verifier read it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"


def decode_secret(secret: str) -> bytes:
    """The HMAC key of `whsec_<base64>`; ValueError saying what is wrong."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a signing secret starts with `whsec_` followed by base64")
    body = secret.removeprefix(SECRET_PREFIX)
    try:
        # Padded first, as the reference library does: dashboards often show it unpadded.
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a signing secret is `whsec_` followed by base64") from None
    if len(key) < 16:
        raise ValueError("a signing secret must decode to at least 16 bytes (24 base64 characters)")
    return key


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs request bodies with every active key."""

    keys: tuple[bytes, ...]

    @classmethod
    def from_secrets(cls, secrets: Sequence[str]) -> Signer | None:
        """A signer for these `whsec_…` secrets; None (unsigned) when there are none."""
        return cls(tuple(decode_secret(s) for s in secrets)) if secrets else None

    def signature(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The `webhook-signature` value: `v1,<sig>` per key, space-separated."""
        message = f"{msg_id}.{timestamp}.".encode() + body
        return " ".join(
            "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
            for key in self.keys
        )

    def headers(self, msg_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
        """The three Standard Webhooks headers of one attempt."""
        timestamp = int(time.time() if now is None else now)
        return {
            ID_HEADER: msg_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: self.signature(msg_id, timestamp, body),
        }
