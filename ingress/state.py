"""Typed application state of the ingress (aiohttp `AppKey`s), built once at startup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
from aiohttp import web

from ingress.ip_rules import IpRules
from ingress.providers import ProviderAdapter
from ingress.rate_limit import RateLimiter
from ingress.settings import IngressSettings
from ingress.verification import Verifier
from schemas.config import Pipeline
from schemas.config.sources import WebhookSpec
from schemas.expressions import Expression
from schemas.kafka.producer import AsyncProducer
from schemas.kafka.settings import KafkaSettings
from schemas.metrics import Metrics

if TYPE_CHECKING:
    from ingress.cluster import ClusterState
    from ingress.replay import ReplayGuard
    from ingress.sources import SourceRegistry


@dataclass(frozen=True, slots=True)
class WebhookSource:
    """A configured webhook with its verifier and provider adapter, ready for requests."""

    spec: WebhookSpec
    topic: str
    verifier: Verifier
    provider: ProviderAdapter
    allowed_types: frozenset[str] | None
    ip_rules: IpRules | None = None
    limiter: RateLimiter | None = None
    # The partition-key expression of a provisioned source (config sources use the pipeline's).
    key_expression: Expression | None = None
    origin: Literal["config", "api"] = "config"
    definition: dict[str, Any] | None = None   # a provisioned source's stored definition


@dataclass(frozen=True, slots=True)
class IngressState:
    """Everything a handler needs."""

    pipeline: Pipeline
    settings: IngressSettings
    producer: AsyncProducer
    metrics: Metrics
    webhooks: dict[str, WebhookSource]   # the config file's sources (see `sources` for all)
    api_keys: frozenset[str] | None   # None: the publish API is open (auth: none) or disabled
    lookups: aiohttp.ClientSession
    kafka: KafkaSettings | None = None      # for the admin API's topic creation
    sources: SourceRegistry | None = None   # config + provisioned sources, with routing
    replay: ReplayGuard | None = None
    cluster: ClusterState | None = None


STATE = web.AppKey("eis_ingress_state", IngressState)
