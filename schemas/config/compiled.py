"""The loaded pipeline: every expression compiled, every id and topic resolved, ready for the hot path."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from schemas.config.delivery import DEFAULT_RETRY_ON, DeliverySpec, RetrySpec
from schemas.config.egress import EgressSpec
from schemas.config.pipeline import PipelineSpec
from schemas.config.routing import DestinationSpec
from schemas.config.sources import WebhookSpec
from schemas.expressions import CompiledMapping, Context, Expression
from schemas.topics import TopicNames

PUBLISH_SOURCE = "api"  # the source id of events sent to POST /v1/events
MAX_RETRY_TIERS = 8     # delay-tier topics per unordered destination; later attempts share the last


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try again: exponential backoff with full jitter, bounded by attempts and time."""

    max_attempts: int
    initial_delay_ms: int
    max_delay_ms: int
    multiplier: float
    max_timeframe_ms: int | None = None
    retry_on: frozenset[str] = frozenset(DEFAULT_RETRY_ON)

    @classmethod
    def from_spec(cls, spec: RetrySpec) -> RetryPolicy:
        """Build from the `retry:` section."""
        return cls(spec.max_attempts, spec.initial_delay, spec.max_delay,
                   spec.backoff_multiplier, spec.max_timeframe, frozenset(spec.retry_on))

    def retries(self, kind: str) -> bool:
        """Whether a failure of `kind` (`network`, `timeout`, or an HTTP status like `503`) may
        be retried under `retryOn`; `permanent` (the sink says no attempt can pass) never is."""
        if kind == "permanent":
            return False
        if kind in self.retry_on:
            return True
        return kind.isdigit() and f"{kind[0]}xx" in self.retry_on

    def ceiling_ms(self, attempt: int) -> float:
        """The largest wait after failed attempt `attempt` (1-based): min(max, initial·m^(n-1))."""
        return float(min(self.max_delay_ms, self.initial_delay_ms * self.multiplier ** (attempt - 1)))

    def backoff_ms(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full jitter (AWS architecture blog): uniform in [0, ceiling], so retries spread out."""
        return (rng or random).uniform(0.0, self.ceiling_ms(attempt))

    def gives_up(self, attempt: int, elapsed_ms: float) -> bool:
        """True when attempt `attempt` was the last allowed one."""
        if attempt >= self.max_attempts:
            return True
        return self.max_timeframe_ms is not None and elapsed_ms >= self.max_timeframe_ms


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    """Open after `failure_threshold` consecutive retriable failures; probe after `reset_timeout_ms`."""

    failure_threshold: int
    reset_timeout_ms: int


@dataclass(frozen=True, slots=True)
class RetryBudgetPolicy:
    """Retries in any `window_ms` may not exceed max(min_retries, ratio x first attempts)."""

    ratio: float
    window_ms: int
    min_retries: int


@dataclass(frozen=True, slots=True)
class RetryTier:
    """A delay-tier topic: retries handed off after a failed attempt wait here until due."""

    topic: str
    delay_ms: int   # the tier's backoff ceiling; each record carries its own not-before time


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How the runner delivers to one destination (delivery defaults, destination overrides)."""

    guarantees: str = "at-least-once"
    ordering: str | None = None          # `per-<key>`: in order per record key, retried in place
    max_in_flight: int = 100
    circuit: CircuitPolicy | None = None
    retry_budget: RetryBudgetPolicy | None = None
    retry_tiers: tuple[RetryTier, ...] = ()   # unordered at-least/exactly-once only
    delivered_topic: str | None = None        # exactly-once only

    @classmethod
    def resolve(cls, delivery: DeliverySpec, dest: DestinationSpec, retry: RetryPolicy,
                topics: TopicNames, destination_id: str) -> DeliveryPolicy:
        """The destination's own settings where it has them, else the `delivery:` defaults."""
        guarantees = dest.guarantees or delivery.guarantees
        ordering = dest.ordering if dest.ordering is not None else delivery.ordering
        ordering = None if ordering == "none" else ordering
        breaker = dest.circuit_breaker or delivery.circuit_breaker
        budget = dest.retry_budget or delivery.retry_budget
        tiers: tuple[RetryTier, ...] = ()
        if ordering is None and guarantees != "at-most-once" and retry.max_attempts > 1:
            tiers = tuple(RetryTier(topics.retry(destination_id, i + 1), delay)
                          for i, delay in enumerate(retry_tier_delays(retry)))
        return cls(
            guarantees=guarantees,
            ordering=ordering,
            max_in_flight=dest.max_in_flight or delivery.max_in_flight,
            circuit=CircuitPolicy(breaker.failure_threshold, breaker.reset_timeout) if breaker.enabled else None,
            retry_budget=RetryBudgetPolicy(budget.ratio, budget.window, budget.min_retries) if budget else None,
            retry_tiers=tiers,
            delivered_topic=topics.delivered(destination_id) if guarantees == "exactly-once" else None,
        )

    def tier_for(self, attempts: int) -> RetryTier:
        """The tier a retry goes to after `attempts` failed attempts (1-based)."""
        return self.retry_tiers[min(attempts, len(self.retry_tiers)) - 1]


def retry_tier_delays(retry: RetryPolicy) -> list[int]:
    """One tier per distinct backoff ceiling of attempts 1..max-1 (they grow until maxDelay),
    at most MAX_RETRY_TIERS: records in one tier are due at about the same delay, so a tier's
    consumer can wait for its head record without holding back records due much earlier."""
    delays: list[int] = []
    for attempt in range(1, retry.max_attempts):
        ceiling = int(retry.ceiling_ms(attempt))
        if not delays or ceiling != delays[-1]:
            delays.append(ceiling)
        if len(delays) == MAX_RETRY_TIERS:
            break
    return delays


@dataclass(frozen=True, slots=True)
class CompiledTransform:
    """A route's or destination's mapping: the output's shape is the mapping's shape."""

    mapping: CompiledMapping
    output_format: str | None = None

    def apply(self, context: Context) -> Any:
        """Build the transformed payload for one event."""
        return self.mapping.apply(context)


@dataclass(frozen=True, slots=True)
class CompiledDestination:
    """One destination of one route, with its own topics, policy and type-specific settings."""

    id: str                     # `<route>.<destination id or type-index>`: unique in the pipeline
    route: str
    type: str
    config_path: str            # e.g. `routing[0].destinations[1]`, for error messages
    condition: Expression | None
    transform: CompiledTransform | None
    settings: Mapping[str, Any]  # the type-specific keys, validated by the destination type
    timeout_ms: int
    retry: RetryPolicy
    topic: str
    dead_letter_topic: str
    spec: DestinationSpec
    # Pipeline-wide settings a sink needs but cannot see otherwise (it gets only its destination).
    egress: EgressSpec = field(default_factory=EgressSpec)  # the SSRF guard's allow-list
    signing_secret: SecretStr | None = None  # delivery.signingSecret: the outbound signing fallback
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)  # guarantees, ordering, breaker, …

    @property
    def target(self) -> str:
        """A human description of where it delivers (the URL, queue, channel, …)."""
        for key in ("url", "queueUrl", "connection", "channel", "to", "key"):
            value = self.settings.get(key)
            if isinstance(value, str):
                return value
        return self.type


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    """A route ready to evaluate: condition, optional source filter, transform, destinations."""

    name: str
    condition: Expression | None
    sources: frozenset[str] | None
    transform: CompiledTransform | None
    destinations: tuple[CompiledDestination, ...]


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A validated configuration. Built only by the loader; immutable."""

    spec: PipelineSpec
    topics: TopicNames
    routes: tuple[CompiledRoute, ...]
    partition_key: Expression | None
    source_keys: Mapping[str, Expression] = field(default_factory=dict)
    source: str | None = None

    @property
    def service(self) -> str:
        """The configuration's service name."""
        return self.spec.service

    @property
    def partitions(self) -> int:
        """Partitions of every EIS topic."""
        return self.spec.delivery.partitioning.partitions

    @property
    def destinations(self) -> dict[str, CompiledDestination]:
        """Every destination by id, in configuration order."""
        return {d.id: d for route in self.routes for d in route.destinations}

    @property
    def source_ids(self) -> list[str]:
        """Every source events can arrive through: the webhooks, then the publish API."""
        ids = [w.id for w in self.spec.webhooks]
        if self.spec.ingestion is not None and self.spec.ingestion.http() is not None:
            ids.append(PUBLISH_SOURCE)
        return ids

    def webhook(self, webhook_id: str) -> WebhookSpec | None:
        """The configured webhook with this id."""
        return next((w for w in self.spec.webhooks if w.id == webhook_id), None)

    def key_expression(self, source: str) -> Expression | None:
        """The partition-key expression for events of `source` (None: the event id)."""
        return self.source_keys.get(source, self.partition_key)
