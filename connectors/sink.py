"""The sink interface: what a destination type implements. The runner owns everything else.

A sink only delivers. Retry, backoff, dead-lettering, receipts, metrics and offset commits are
the runner's (connectors/runner.py); a sink that sleeps, retries or writes to our topics is a
design bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from schemas.config import CompiledDestination
from schemas.envelope import Envelope


@dataclass(frozen=True, slots=True)
class DeliveryRequest:
    """One event for one destination, with what a receiver needs to deduplicate."""

    envelope: Envelope
    idempotency_key: str
    attempt: int           # 1 for the first attempt
    timeout_s: float


@dataclass(frozen=True, slots=True)
class Delivered:
    """The destination accepted the event."""

    status_code: int | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """The destination did not accept the event.

    `retriable`: another attempt may succeed (network error, timeout, 408/425/429/5xx).
    `retry_after_s`: the destination said when to come back (Retry-After), if it did.
    `kind`: what failed, for the destination's `retryOn` list: `network` or `timeout` (no
    response), or None to let the runner infer it (a status code speaks for itself; without
    one, a retriable failure counts as `network`, and a non-retriable one can never pass).
    The runner, not the sink, decides whether to retry: `retryOn` may widen or narrow
    `retriable` for status codes.
    `gone`: the destination said it no longer exists (HTTP 410 Gone): the runner disables the
    destination and holds this event and the ones after it until an operator enables it.
    """

    error: str
    retriable: bool
    status_code: int | None = None
    retry_after_s: float | None = None
    kind: str | None = None
    gone: bool = False


Outcome = Delivered | Failed


class Sink(Protocol):
    """A destination type.

    Lifecycle: the runner constructs the sink with its validated config model and the compiled
    destination, awaits `open()` once before the first `send`, calls `send` with batches (in
    partition order; never two overlapping calls for events of the same partition), and
    awaits `close()` once at shutdown, after the last `send` returned. `send` returns exactly
    one outcome per request, in order, and never raises for a delivery problem: it reports
    it as `Failed`. An exception escaping `send` is treated as a retriable failure of the
    whole batch.
    """

    Config: ClassVar[type[BaseModel]]

    async def open(self) -> None:
        """Acquire connections; called once before the first send."""

    async def send(self, batch: list[DeliveryRequest]) -> list[Outcome]:
        """Deliver each request; one outcome per request, in order."""

    async def close(self) -> None:
        """Release connections; called once after the last send."""

    def describe(self) -> str:
        """Where it delivers, for receipts and logs (e.g. the URL)."""


class TransactionalSink(Sink, Protocol):
    """A sink that records each request's idempotency key atomically with its own write (e.g.
    a PostgreSQL destination inserting the key in the same transaction as the row).

    Used only under `guarantees: exactly-once`. Set `transactional = True` and implement
    `already_delivered`: before delivering, the runner asks it about every key its own
    Kafka-backed record (`eis.delivered.<destination>`) does not know yet, and skips the keys
    it returns, so a crash between the sink's commit and the runner's record redelivers
    nothing. Without this hook exactly-once has a window (docs/delivery-guarantees.md).
    `already_delivered` runs between `open` and `close`, never concurrently with a `send` of
    the same keys; it raises (the runner retries) rather than guess.
    """

    transactional: ClassVar[bool]

    async def already_delivered(self, keys: list[str]) -> set[str]:
        """The subset of `keys` this destination has already durably applied."""


def is_transactional(sink: Sink) -> bool:
    """Whether `sink` offers the TransactionalSink hook (sinks that do not simply lack it)."""
    return bool(getattr(sink, "transactional", False)) and hasattr(sink, "already_delivered")


class SinkFactory(Protocol):
    """A sink class: `Config` validates the destination's settings; the class builds the sink."""

    Config: ClassVar[type[BaseModel]]

    def __call__(self, config: Any, destination: CompiledDestination) -> Sink: ...
