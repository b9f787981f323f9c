"""Verification schemes by `type` name, imported on first use, and config checking for them."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from ingress.verification.base import SyncVerifier, Verifier, VerifierConfigError
from schemas.config.sources import WebhookSpec
from schemas.errors import ConfigProblem

# One line per scheme (STYLE.md item 1): nothing registers itself by being imported.
KNOWN_VERIFIERS: Mapping[str, str] = MappingProxyType({
    "none": "ingress.verification.none:NoVerification",
    "stripe-signature": "ingress.verification.stripe:StripeSignature",
    "github-signature": "ingress.verification.github:GitHubSignature",
    "hmac-sha256": "ingress.verification.hmac_sha256:HmacSha256",
    "standard-webhooks": "ingress.verification.standard_webhooks:StandardWebhooks",
    "api-key": "ingress.verification.api_key:ApiKey",
    "twilio": "ingress.verification.twilio:TwilioSignature",
    "jwt": "ingress.verification.jwt_bearer:JwtBearer",
    "paypal-transmission": "ingress.verification.paypal:PayPalTransmission",
})

_loaded: dict[str, type[SyncVerifier]] = {}


def verifier_class(type_name: str) -> type[SyncVerifier]:
    """The class registered under `type_name`, imported on first use; KeyError when unknown."""
    cls = _loaded.get(type_name)
    if cls is None:
        module_name, _, attr = KNOWN_VERIFIERS[type_name].partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        _loaded[type_name] = cls
    return cls


def _problems(error: ValidationError, where: str) -> list[ConfigProblem]:
    """Pydantic errors as config problems, located by the key the user wrote."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"])
        # Messages from our own validators arrive as "Value error, …": keep only the sentence.
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(ConfigProblem(f"{where}{loc}", message))
    return problems


def build_verifier(webhook: WebhookSpec, path: str) -> Verifier:
    """The verifier for one webhook; `path` locates the webhook in the config (`webhooks[0]`).

    Raises `VerifierConfigError` listing every problem; an unknown type lists the known ones.
    """
    where = f"{path}.verification"
    type_name = webhook.verification.type
    if type_name not in KNOWN_VERIFIERS:
        raise VerifierConfigError([ConfigProblem(
            f"{where}.type",
            f"unknown verification type `{type_name}`, expected one of: "
            + ", ".join(KNOWN_VERIFIERS),
        )])
    cls = verifier_class(type_name)
    raw: dict[str, Any] = webhook.verification.component_settings()
    try:
        settings = cls.Settings.model_validate(raw)
    except ValidationError as exc:
        raise VerifierConfigError(_problems(exc, where)) from None
    verifier: Verifier = cls.from_settings(settings, webhook.signing_secret, where)
    return verifier


def check_webhooks(webhooks: Sequence[WebhookSpec]) -> list[ConfigProblem]:
    """Every verification problem of every webhook, for config validation (nothing is opened)."""
    problems: list[ConfigProblem] = []
    for i, webhook in enumerate(webhooks):
        try:
            build_verifier(webhook, f"webhooks[{i}]")
        except VerifierConfigError as exc:
            problems.extend(exc.problems)
    return problems
