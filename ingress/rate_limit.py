"""Per-source token buckets whose rate is this process's share of the cluster-wide limit."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens a second up to `capacity`; one request takes one token.

    Not thread-safe and not meant to be: the ingress runs one event loop per process.
    """

    rate: float
    capacity: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, capacity: float, now: float) -> TokenBucket:
        return cls(rate, capacity, capacity, now)

    def take(self, now: float) -> float:
        """0.0 when a token was taken; otherwise the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def resize(self, rate: float, capacity: float) -> None:
        """Change the share (the process count changed); tokens held are kept up to the new cap."""
        self.rate = rate
        self.capacity = capacity
        self.tokens = min(self.tokens, capacity)


class RateLimiter:
    """One source's limit (`rateLimit: {rate, burst}`) split across the ingress processes.

    `replicas()` says how many processes share the limit right now (configured, or counted from
    heartbeats); each process admits `rate / n` per second with a bucket of `burst / n` (at
    least one request, so a small burst split many ways still lets requests through). No
    request waits on the network: the cost is that the split is even only when the load
    balancer spreads requests evenly (docs/webhook-sources.md).
    """

    def __init__(self, rate: float, burst: int | None, replicas: Callable[[], int],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst if burst is not None else max(1, math.ceil(rate)))
        self._replicas = replicas
        self._clock = clock
        self._shares = 0
        self._bucket = TokenBucket.full(rate, self.burst, clock())
        self._reshare()

    def _reshare(self) -> None:
        shares = max(1, self._replicas())
        if shares != self._shares:
            self._shares = shares
            self._bucket.resize(self.rate / shares, max(1.0, self.burst / shares))

    def check(self) -> int | None:
        """None when the request may pass; otherwise the Retry-After seconds (at least 1)."""
        self._reshare()
        wait = self._bucket.take(self._clock())
        if wait == 0.0:
            return None
        return max(1, math.ceil(wait))

    @property
    def shares(self) -> int:
        """How many processes the limit was last split across."""
        return self._shares
