"""`routing:` — routes, their conditions, transforms and destinations."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from schemas.config.base import ConfigModel, DurationMs, OpenConfigModel
from schemas.config.delivery import CircuitBreakerSpec, Guarantee, RetryBudgetSpec, RetrySpec

DESTINATION_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"


class DestinationSpec(OpenConfigModel):
    """`{type, …}`: common keys here; the destination type's own model validates the rest."""

    type: str = Field(description="destination type, e.g. http")
    id: str | None = Field(None, pattern=DESTINATION_ID, description="unique within its route")
    condition: str | None = Field(None, description="extra condition on the original event")
    transform: dict[str, Any] | None = Field(None, description="replaces the route's transform")
    timeout: DurationMs | None = Field(None, description="per-attempt timeout (ms)")
    retry: RetrySpec | None = Field(None, description="overrides delivery.retry")
    guarantees: Guarantee | None = Field(None, description="overrides delivery.guarantees")
    ordering: str | None = Field(
        None, pattern=r"^(per-[A-Za-z][A-Za-z0-9_-]*|none)$",
        description="overrides delivery.ordering (`none` turns it off for this destination)",
    )
    retry_budget: RetryBudgetSpec | None = Field(None, description="overrides delivery.retryBudget")
    circuit_breaker: CircuitBreakerSpec | None = Field(None, description="overrides delivery.circuitBreaker")
    max_in_flight: int | None = Field(None, ge=1, le=100_000, description="overrides delivery.maxInFlight")
    delay: DurationMs | None = Field(None, description="deliver this long after the event (ms)")
    depends_on: list[str] | None = Field(None, description="workflow: steps that must finish first")
    parallel: bool | None = Field(None, description="workflow: run beside other steps")
    best_effort: bool | None = Field(None, description="workflow: failure does not fail the run")
    ignore_failure: bool | None = Field(None, description="workflow: failure is ignored")
    enrich: dict[str, Any] | None = Field(None, description="lookups merged into the event")


class BatchingSpec(ConfigModel):
    """Window events into batches per destination."""

    enabled: bool = False
    size: int = Field(100, ge=1, le=100_000)
    flush_interval: DurationMs = 5000


class RouteSpec(ConfigModel):
    """A route: when `condition` holds, the (transformed) event goes to every destination."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$", description="route name")
    condition: str | None = Field(None, description="expression; absent matches every event")
    sources: list[str] | None = Field(None, description="only events of these sources")
    destinations: list[DestinationSpec] = Field(min_length=1)
    transform: dict[str, Any] | None = Field(None, description="mapping applied before delivery")
    batching: BatchingSpec | None = None
    preferences: dict[str, Any] | None = None
    channel_ordering: list[str] | None = None
    deduplication: dict[str, Any] | None = None
    cancellation: dict[str, Any] | None = None
    compensation: dict[str, Any] | None = None
