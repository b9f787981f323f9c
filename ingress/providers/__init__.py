"""Provider adapters by `provider` name, imported on first use (STYLE.md item 1).

`get_provider(webhook.provider)` gives the adapter the ingress asks for an event's type,
provider id and time after verification; no provider set means `generic`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from ingress.providers.base import FieldAdapter, ProviderAdapter, ProviderFacts, parse_time_ms
from schemas.config.sources import WebhookSpec
from schemas.errors import ConfigProblem, UnknownComponentError

KNOWN_PROVIDERS: Mapping[str, str] = MappingProxyType({
    "generic": "ingress.providers.presets:GENERIC",
    "stripe": "ingress.providers.presets:STRIPE",
    "paypal": "ingress.providers.presets:PAYPAL",
    "github": "ingress.providers.presets:GITHUB",
    "shopify": "ingress.providers.presets:SHOPIFY",
    "square": "ingress.providers.presets:SQUARE",
    "twilio": "ingress.providers.presets:TWILIO",
})

DEFAULT_PROVIDER = "generic"

_loaded: dict[str, ProviderAdapter] = {}


def get_provider(name: str | None) -> ProviderAdapter:
    """The adapter for `name` (None: generic); `UnknownComponentError` lists the known ones."""
    key = DEFAULT_PROVIDER if name is None else name
    adapter = _loaded.get(key)
    if adapter is None:
        if key not in KNOWN_PROVIDERS:
            raise UnknownComponentError("provider", key, list(KNOWN_PROVIDERS))
        module_name, _, attr = KNOWN_PROVIDERS[key].partition(":")
        adapter = getattr(importlib.import_module(module_name), attr)
        _loaded[key] = adapter
    return adapter


def check_providers(webhooks: Sequence[WebhookSpec]) -> list[ConfigProblem]:
    """A problem for each webhook whose `provider` no adapter knows."""
    problems = []
    for i, webhook in enumerate(webhooks):
        try:
            get_provider(webhook.provider)
        except UnknownComponentError as exc:
            problems.append(ConfigProblem(f"webhooks[{i}].provider", str(exc)))
    return problems


__all__ = [
    "DEFAULT_PROVIDER",
    "KNOWN_PROVIDERS",
    "FieldAdapter",
    "ProviderAdapter",
    "ProviderFacts",
    "check_providers",
    "get_provider",
    "parse_time_ms",
]
