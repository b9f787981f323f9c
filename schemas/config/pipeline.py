"""The whole configuration file's model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from schemas.config.base import ConfigModel, DurationMs
from schemas.config.delivery import DeliverySpec
from schemas.config.egress import EgressSpec
from schemas.config.routing import RouteSpec
from schemas.config.sources import IngestionSpec, WebhookSpec


class KafkaTopicsSpec(ConfigModel):
    """How EIS lays out its topics (an EIS extension of the spec's format)."""

    topic_prefix: str = Field("eis", pattern=r"^[A-Za-z0-9._-]+$", description="name prefix")
    replication_factor: int = Field(1, ge=1, le=7, description="3 in production")
    encoding: Literal["json", "avro"] = Field("json", description="envelope encoding on topics")
    receipts_partitions: int | None = Field(None, ge=1, description="default: as partitioning")


class MetricsSpec(ConfigModel):
    """Prometheus metrics (always served at /metrics)."""

    enabled: bool = True
    interval: DurationMs = 60_000
    dimensions: list[str] = Field(default_factory=list)
    provider: str | None = None


class MonitoringSpec(ConfigModel):
    """Metrics, alerts and tracing."""

    metrics: MetricsSpec | None = None
    alerts: list[dict[str, Any]] | None = None
    tracing: dict[str, Any] | None = None


class PipelineSpec(ConfigModel):
    """A pipeline configuration as the spec writes it."""

    service: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", description="service name")
    webhooks: list[WebhookSpec] = Field(default_factory=list)
    ingestion: IngestionSpec | None = None
    routing: list[RouteSpec] = Field(default_factory=list)
    delivery: DeliverySpec = Field(default_factory=DeliverySpec)
    monitoring: MonitoringSpec | None = None
    kafka: KafkaTopicsSpec = Field(default_factory=KafkaTopicsSpec)
    egress: EgressSpec = Field(default_factory=EgressSpec,
                               description="non-public addresses deliveries may reach (SSRF guard)")
    lookup_timeout: DurationMs = Field(5000, description="ingress → worker lookups (ms)")
