"""A destination's circuit breaker: closed → open after consecutive failures → half-open after
`resetTimeout` (one probe event) → closed on its success, open again on its failure.

While the circuit is not closed, events *wait* (they are not failed and spend no attempts);
the runner also pauses the destination's partitions so nothing more is fetched meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from enum import IntEnum

from schemas.config.compiled import CircuitPolicy

log = logging.getLogger("eis.connect")


class State(IntEnum):
    """Gauge values of `eis_circuit_state`."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2

    @property
    def label(self) -> str:
        """`closed`, `half-open`, `open` (logs and the transitions counter's `to` label)."""
        return self.name.lower().replace("_", "-")


class CircuitBreaker:
    """Counts consecutive retriable failures; `admit()` waits while the circuit is open.

    Usage per attempt: `await breaker.admit()`, attempt, then `breaker.record(ok)` exactly once
    (`ok` is False only for failures the retry policy would retry: a 4xx the destination
    answered means it is up). In half-open state only one caller is admitted (the probe); the
    others wait until the probe's result closes or re-opens the circuit.
    """

    def __init__(self, policy: CircuitPolicy, name: str,
                 on_change: Callable[[State, State], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.name = name
        self.state = State.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.transitions: list[tuple[State, State]] = []
        self._on_change = on_change
        self._clock = clock
        self._probing = False
        self._changed = asyncio.Event()  # set (and replaced) on every change: wakes all waiters

    @property
    def closed(self) -> bool:
        """True when events go through without waiting."""
        return self.state is State.CLOSED

    def would_wait(self) -> bool:
        """Whether `admit()` would block now (for the `circuit_open` receipt)."""
        if self.state is State.CLOSED:
            return False
        return self._probing or self.state is State.OPEN and self._remaining() > 0

    async def admit(self) -> None:
        """Return when an attempt may start (at once while closed)."""
        while True:
            if self.state is State.CLOSED:
                return
            if self.state is State.OPEN and self._remaining() <= 0:
                self._move(State.HALF_OPEN)
            if self.state is State.HALF_OPEN and not self._probing:
                self._probing = True  # this caller is the single probe
                return
            wait = self._remaining() if self.state is State.OPEN else None
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), wait)
            except TimeoutError:
                pass

    def release(self) -> None:
        """An admitted attempt was abandoned (shutdown) without a result: let another probe."""
        if self._probing:
            self._probing = False
            self._notify()

    def record(self, ok: bool) -> None:
        """The result of an admitted attempt."""
        probe, self._probing = self._probing, False
        if ok:
            self.failures = 0
            if self.state is not State.CLOSED:
                self._move(State.CLOSED)
            elif probe:
                self._notify()
            return
        self.failures += 1
        if self.state is State.HALF_OPEN or (
                self.state is State.CLOSED and self.failures >= self.policy.failure_threshold):
            self.opened_at = self._clock()
            self._move(State.OPEN)
        elif probe:
            self._notify()

    def _remaining(self) -> float:
        return self.opened_at + self.policy.reset_timeout_ms / 1000 - self._clock()

    def _move(self, to: State) -> None:
        before, self.state = self.state, to
        self.transitions.append((before, to))
        if to is State.OPEN:
            log.warning("destination %s: circuit %s -> open after %d consecutive failure(s); "
                        "events wait %.1fs before a probe", self.name, before.label,
                        self.failures, self.policy.reset_timeout_ms / 1000)
        else:
            log.warning("destination %s: circuit %s -> %s", self.name, before.label, to.label)
        if self._on_change is not None:
            self._on_change(before, to)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
