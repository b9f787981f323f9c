"""`delivery:` — guarantees, ordering, partitioning, retry, timeout, circuit breaker, dead letters."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from schemas.config.base import ConfigModel, DurationMs

Guarantee = Literal["at-least-once", "at-most-once", "exactly-once"]

# What retries unless `retryOn` says otherwise: the failures that may pass (issue 5, item 4).
DEFAULT_RETRY_ON: tuple[str, ...] = ("network", "timeout", "408", "425", "429", "5xx")
_RETRY_ON_WORDS = frozenset({"network", "timeout", "4xx", "5xx"})


def _retry_on_token(value: int | str) -> str:
    token = str(value).strip().lower()
    if token in _RETRY_ON_WORDS or (token.isdigit() and 100 <= int(token) <= 599):
        return token
    raise ValueError(f"retryOn: `{value}` is not one of network, timeout, 4xx, 5xx or an HTTP status")


class RetrySpec(ConfigModel):
    """Exponential backoff with full jitter: attempt n waits random(0, min(maxDelay, initial·m^(n-1)))."""

    max_attempts: int = Field(5, ge=1, le=100, description="attempts in all, the first included")
    initial_delay: DurationMs = Field(1000, description="backoff base (ms)")
    max_delay: DurationMs = Field(60_000, description="cap on one backoff (ms)")
    backoff_multiplier: float = Field(2.0, ge=1.0, le=10.0, description="growth per attempt")
    max_timeframe: DurationMs | None = Field(
        None, description="give up once this long has passed since the first attempt (ms)",
    )
    retry_on: tuple[str, ...] = Field(
        DEFAULT_RETRY_ON,
        description="failures that retry: `network`, `timeout`, `4xx`, `5xx` or a status (429); "
                    "anything else is dead-lettered at once",
    )

    @field_validator("retry_on", mode="before")
    @classmethod
    def _tokens(cls, value: object) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise ValueError("retryOn must be a list, e.g. [network, timeout, 429, 5xx]")
        return tuple(_retry_on_token(v) for v in value)


class RetryBudgetSpec(ConfigModel):
    """Retries may not exceed `ratio` x first attempts over `window`, so a broken destination
    cannot multiply its load; a retry over budget is dead-lettered (`retry_budget_exhausted`)."""

    ratio: float = Field(0.2, ge=0.0, le=10.0, description="retries allowed per first attempt")
    window: DurationMs = Field(60_000, ge=1000, description="sliding window the ratio is measured over (ms)")
    min_retries: int = Field(10, ge=0, description="retries always allowed per window (low traffic)")


class CircuitBreakerSpec(ConfigModel):
    """Per-destination circuit breaker."""

    enabled: bool = Field(False, description="open the circuit after consecutive failures")
    failure_threshold: int = Field(5, ge=1, description="consecutive failures that open it")
    reset_timeout: DurationMs = Field(60_000, description="open → half-open after this long (ms)")


class DeadLetterSpec(ConfigModel):
    """Dead-letter topics always exist; `destination` would copy them elsewhere."""

    enabled: bool = Field(True, description="park exhausted events in eis.dlq.<destination>")
    destination: str | None = Field(None, description="an external copy, e.g. s3://bucket/")


class PartitioningSpec(ConfigModel):
    """The Kafka key of raw and routed events: per-key order holds within it."""

    key: str | None = Field(None, description="expression, e.g. $.deviceId; default: the event id")
    partitions: int = Field(3, ge=1, le=10_000, description="partitions of each EIS topic")


class IdempotencySpec(ConfigModel):
    """Deduplicate by a key taken from the event."""

    enabled: bool = Field(False, description="drop repeats of the key within ttl")
    key: str = Field("$.id", description="expression giving the key")
    ttl: int = Field(86_400, ge=1, description="seconds a key is remembered")


class TrackingSpec(ConfigModel):
    """Engagement tracking for communication destinations."""

    opens: bool = False
    clicks: bool = False
    conversions: bool = False


class DeliverySpec(ConfigModel):
    """Defaults for every destination; a destination may override guarantees, ordering, retry,
    retryBudget, circuitBreaker, maxInFlight and timeout."""

    guarantees: Guarantee = Field(
        "at-least-once", description="delivery semantics (docs/delivery-guarantees.md)",
    )
    ordering: str | None = Field(
        None, pattern=r"^per-[A-Za-z][A-Za-z0-9_-]*$",
        description="`per-<key>`: events of one partition key are delivered strictly in order",
    )
    partitioning: PartitioningSpec = Field(default_factory=PartitioningSpec)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    timeout: DurationMs = Field(30_000, description="per-attempt timeout (ms)")
    circuit_breaker: CircuitBreakerSpec = Field(default_factory=CircuitBreakerSpec)
    retry_budget: RetryBudgetSpec | None = Field(None, description="cap retries per destination")
    max_in_flight: int = Field(100, ge=1, le=100_000,
                               description="events of one destination being delivered at once")
    dead_letter: DeadLetterSpec = Field(default_factory=DeadLetterSpec)
    idempotency: IdempotencySpec | None = None
    tracking: TrackingSpec | None = None
    signing_secret: SecretStr | None = Field(None, description="outbound signing secret")
