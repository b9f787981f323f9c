"""A destination's retry budget: retries over a sliding window may not exceed
max(minRetries, ratio x first attempts), so a broken destination cannot multiply its load
(the retry-budget idea of Finagle and Envoy).

Decision (docs/delivery-guarantees.md): a retry the budget refuses is not queued to wait for
budget — the event is dead-lettered with reason `retry_budget_exhausted` (redrive-able). An
outage where events should wait instead is what the circuit breaker is for.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from schemas.config.compiled import RetryBudgetPolicy

BUCKETS = 10  # the window slides in tenths


class RetryBudget:
    """Counts first attempts and retries in time buckets; `try_spend()` admits one retry."""

    def __init__(self, policy: RetryBudgetPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._bucket_s = policy.window_ms / 1000 / BUCKETS
        self._buckets: deque[list[int]] = deque()  # [bucket index, first attempts, retries]

    def first_attempt(self) -> None:
        """Note a first attempt (it earns `ratio` retries)."""
        self._current()[1] += 1

    def try_spend(self) -> bool:
        """Admit one retry if the window's retries stay within budget (and count it)."""
        bucket = self._current()
        firsts = sum(b[1] for b in self._buckets)
        retries = sum(b[2] for b in self._buckets)
        if retries + 1 > max(self.policy.min_retries, self.policy.ratio * firsts):
            return False
        bucket[2] += 1
        return True

    def totals(self) -> tuple[int, int]:
        """(first attempts, retries) in the current window."""
        self._current()
        return sum(b[1] for b in self._buckets), sum(b[2] for b in self._buckets)

    def _current(self) -> list[int]:
        index = int(self._clock() / self._bucket_s)
        while self._buckets and self._buckets[0][0] <= index - BUCKETS:
            self._buckets.popleft()
        if not self._buckets or self._buckets[-1][0] != index:
            self._buckets.append([index, 0, 0])
        return self._buckets[-1]
