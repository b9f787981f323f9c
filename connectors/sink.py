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
    """

    error: str
    retriable: bool
    status_code: int | None = None
    retry_after_s: float | None = None


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


class SinkFactory(Protocol):
    """A sink class: `Config` validates the destination's settings; the class builds the sink."""

    Config: ClassVar[type[BaseModel]]

    def __call__(self, config: Any, destination: CompiledDestination) -> Sink: ...
