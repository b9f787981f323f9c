"""Webhook verification: one engine, one module per scheme, selected by `verification.type`.

The ingress handler builds a verifier per webhook at startup (`build_verifier`) and calls
`await verifier.verify_async(VerificationRequest(...))` per request; see `Verifier` for the
lifecycle. `check_webhooks` reports config problems without building anything network-side.
"""

from __future__ import annotations

from ingress.verification.base import (
    SyncVerifier,
    VerificationFailed,
    VerificationRequest,
    VerificationUnavailable,
    Verified,
    Verifier,
    VerifierConfigError,
)
from ingress.verification.registry import (
    KNOWN_VERIFIERS,
    build_verifier,
    check_webhooks,
    verifier_class,
)

__all__ = [
    "KNOWN_VERIFIERS",
    "SyncVerifier",
    "VerificationFailed",
    "VerificationRequest",
    "VerificationUnavailable",
    "Verified",
    "Verifier",
    "VerifierConfigError",
    "build_verifier",
    "check_webhooks",
    "verifier_class",
]
