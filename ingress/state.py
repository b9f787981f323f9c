"""Typed application state of the ingress (aiohttp `AppKey`s), built once at startup."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from aiohttp import web

from ingress.providers import ProviderAdapter
from ingress.settings import IngressSettings
from ingress.verification import Verifier
from schemas.config import Pipeline
from schemas.config.sources import WebhookSpec
from schemas.kafka.producer import AsyncProducer
from schemas.metrics import Metrics


@dataclass(frozen=True, slots=True)
class WebhookSource:
    """A configured webhook with its verifier and provider adapter, ready for requests."""

    spec: WebhookSpec
    topic: str
    verifier: Verifier
    provider: ProviderAdapter
    allowed_types: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class IngressState:
    """Everything a handler needs."""

    pipeline: Pipeline
    settings: IngressSettings
    producer: AsyncProducer
    metrics: Metrics
    webhooks: dict[str, WebhookSource]
    api_keys: frozenset[str] | None   # None: the publish API is open (auth: none) or disabled
    lookups: aiohttp.ClientSession


STATE = web.AppKey("eis_ingress_state", IngressState)
