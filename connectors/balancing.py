"""Load balancing across the instances of one HTTP destination (issue 5, item 10).

A `Balancer` answers "in which order should this request try the instances?": the strategy
picks the first, the others follow in configuration order (rotated to start after it), so a
connection failure fails over to the next instance within the same attempt. Strategies:

- `round-robin`: each request starts at the next instance.
- `weighted`: smooth weighted round-robin (nginx's algorithm): over any run of sum(weights)
  requests each instance is first exactly `weight` times, interleaved rather than in bursts.
- `least-outstanding`: the instance with the fewest requests in flight from this sink; ties
  go round-robin so idle instances share the load.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

Strategy = Literal["round-robin", "weighted", "least-outstanding"]
T = TypeVar("T")


@dataclass(slots=True)
class _Slot(Generic[T]):
    target: T
    weight: int
    current: int = 0       # smooth weighted round-robin state
    outstanding: int = 0   # requests in flight


class Balancer(Generic[T]):
    """Orders instances per request and counts requests in flight (single event loop: no locks)."""

    def __init__(self, targets: list[tuple[T, int]], strategy: Strategy) -> None:
        if not targets:
            raise ValueError("a balancer needs at least one instance")
        self.strategy = strategy
        self._slots = [_Slot(target, weight) for target, weight in targets]
        self._next = 0

    def order(self) -> list[T]:
        """The instances to try for one request, the strategy's choice first."""
        first = self._pick()
        n = len(self._slots)
        return [self._slots[(first + i) % n].target for i in range(n)]

    @contextmanager
    def outstanding(self, target: T) -> Iterator[None]:
        """Count one request in flight to `target` for as long as the block runs."""
        slot = next(s for s in self._slots if s.target is target)
        slot.outstanding += 1
        try:
            yield
        finally:
            slot.outstanding -= 1

    def in_flight(self) -> list[int]:
        """Requests in flight per instance, in configuration order."""
        return [s.outstanding for s in self._slots]

    def _pick(self) -> int:
        n = len(self._slots)
        if n == 1:
            return 0
        if self.strategy == "weighted":
            total = 0
            for slot in self._slots:
                slot.current += slot.weight
                total += slot.weight
            best = max(range(n), key=lambda i: self._slots[i].current)
            self._slots[best].current -= total
            return best
        start, self._next = self._next, (self._next + 1) % n
        if self.strategy == "least-outstanding":
            rotated = [(start + i) % n for i in range(n)]
            return min(rotated, key=lambda i: self._slots[i].outstanding)
        return start
