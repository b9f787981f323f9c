"""Which HTTP outcomes retry, when, and the backoff schedule."""

from __future__ import annotations

import email.utils
import random

import pytest

from connectors.http_outcomes import outcome_of_status, parse_retry_after
from connectors.sink import Delivered, Failed
from schemas.config import RetryPolicy


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_delivered(status: int) -> None:
    assert outcome_of_status(status, None, "") == Delivered(status)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_timeouts_throttling_and_server_errors_retry(status: int) -> None:
    outcome = outcome_of_status(status, None, "busy")
    assert isinstance(outcome, Failed) and outcome.retriable


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 301, 302, 307])
def test_other_4xx_and_redirects_are_permanent(status: int) -> None:
    outcome = outcome_of_status(status, None, "")
    assert isinstance(outcome, Failed) and not outcome.retriable


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    now = 1_700_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after("999999") == 3600.0


def test_a_429_carries_its_retry_after() -> None:
    outcome = outcome_of_status(429, "12", "")
    assert isinstance(outcome, Failed) and outcome.retry_after_s == 12.0


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    policy = RetryPolicy(max_attempts=6, initial_delay_ms=1000, max_delay_ms=60_000, multiplier=2.0)
    assert [policy.ceiling_ms(n) for n in range(1, 8)] == [1000, 2000, 4000, 8000, 16000, 32000, 60000]
    rng = random.Random(7)
    waits = [policy.backoff_ms(3, rng) for _ in range(2000)]
    assert 0 <= min(waits) < 200 and 3800 < max(waits) <= 4000


def test_retrying_stops_at_max_attempts_or_max_timeframe() -> None:
    policy = RetryPolicy(3, 100, 1000, 2.0, max_timeframe_ms=5000)
    assert not policy.gives_up(2, elapsed_ms=100)
    assert policy.gives_up(3, elapsed_ms=100)
    assert policy.gives_up(1, elapsed_ms=5000)
