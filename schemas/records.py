"""Receipt and dead-letter records (contracts `receipt.v1.avsc`, `dead_letter.v1.avsc`), JSON-encoded."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

from schemas.errors import DecodeError

# `failed`: an at-most-once attempt that did not pass (never retried); `circuit_open`: the event
# waits for its destination's circuit breaker to let it through (docs/delivery-guarantees.md).
Outcome = Literal["pending", "delivered", "retrying", "failed", "dead_lettered", "circuit_open"]


@dataclass(frozen=True, slots=True)
class Receipt:
    """One delivery attempt; the tracker folds these into per-destination status."""

    event_id: str
    destination: str
    target: str
    attempt: int
    outcome: Outcome
    attempt_ms: float
    latency_ms: float
    timestamp: int
    idempotency_key: str
    status_code: int | None = None
    error: str | None = None

    def encode(self) -> bytes:
        """JSON encoding for the receipts topic (orjson serialises the dataclass itself, skipping
        `asdict`'s deep copy: ~6 % of the router's time in a profile)."""
        return orjson.dumps(self)

    @classmethod
    def decode(cls, value: bytes) -> Receipt:
        """Decode; DecodeError for anything that is not a receipt."""
        try:
            return cls(**orjson.loads(value))
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise DecodeError(f"not a receipt v1: {exc}") from exc


# The largest original a dead-letter record also shows inline as JSON.
INLINE_ORIGINAL_MAX = 64 * 1024


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event parked with its origin, its original bytes and its attempt history."""

    destination: str
    stage: str
    reason: str
    attempts: int
    dead_lettered_at: int
    origin_topic: str
    origin_partition: int
    origin_offset: int
    original_value: bytes
    original_key: bytes | None = None
    original_headers: dict[str, bytes] = field(default_factory=dict)
    event_id: str | None = None
    first_error: str | None = None
    last_error: str | None = None
    first_attempt_at: int | None = None
    last_attempt_at: int | None = None

    def encode(self) -> bytes:
        """JSON encoding; byte fields are base64 (`original_value`, …) and, when the
        original is JSON of at most `INLINE_ORIGINAL_MAX` bytes, `original` repeats it inline so
        kcat shows it readably (a large one would double a record that must fit the broker)."""
        record: dict[str, Any] = asdict(self)
        record["original_value"] = _b64(self.original_value)
        record["original_key"] = _b64(self.original_key)
        record["original_headers"] = {k: _b64(v) for k, v in self.original_headers.items()}
        record["original"] = None
        if len(self.original_value) <= INLINE_ORIGINAL_MAX:
            try:
                record["original"] = orjson.loads(self.original_value)
            except (orjson.JSONDecodeError, RecursionError):
                pass
        return orjson.dumps(record)

    @classmethod
    def decode(cls, value: bytes) -> DeadLetter:
        """Decode the JSON encoding back into a record with the original bytes."""
        try:
            record = orjson.loads(value)
            record.pop("original", None)
            record["original_value"] = base64.b64decode(record["original_value"])
            key = record.get("original_key")
            record["original_key"] = None if key is None else base64.b64decode(key)
            record["original_headers"] = {
                k: base64.b64decode(v) for k, v in (record.get("original_headers") or {}).items()
            }
            return cls(**record)
        except (orjson.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
            raise DecodeError(f"not a dead-letter record v1: {exc}") from exc
