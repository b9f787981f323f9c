"""Retry policy: `retryOn` chooses which failures retry; the retry budget caps retries at a
share of first attempts and dead-letters the rest (`retry_budget_exhausted`)."""

from __future__ import annotations

import pytest

from connectors.budget import RetryBudget
from connectors.deliver import failure_kind
from connectors.sink import Failed
from schemas.config import load_pipeline_text
from schemas.config.compiled import RetryBudgetPolicy, RetryPolicy
from schemas.errors import ConfigError
from schemas.records import DeadLetter
from tests.delivery.helpers import load, pipeline_yaml, produce_events, runner, sample
from tests.kafka_helpers import consume_all


@pytest.mark.parametrize(("outcome", "kind"), [
    (Failed("HTTP 503", True, 503), "503"),
    (Failed("timed out after 2s", True), "timeout"),
    (Failed("ClientConnectorError: refused", True), "network"),
    (Failed("cannot render request", False), "permanent"),
    (Failed("reset", True, kind="network"), "network"),
])
def test_failure_kinds(outcome: Failed, kind: str) -> None:
    assert failure_kind(outcome) == kind


def test_retry_on_defaults_and_overrides() -> None:
    default = RetryPolicy(5, 10, 100, 2.0)
    assert [default.retries(k) for k in ("network", "timeout", "408", "425", "429", "500", "503")] == [True] * 7
    assert [default.retries(k) for k in ("400", "404", "422", "permanent")] == [False] * 4
    narrow = RetryPolicy(5, 10, 100, 2.0, retry_on=frozenset({"429", "network"}))
    assert narrow.retries("429") and narrow.retries("network")
    assert not narrow.retries("503") and not narrow.retries("timeout")
    wide = RetryPolicy(5, 10, 100, 2.0, retry_on=frozenset({"4xx"}))
    assert wide.retries("409") and not wide.retries("permanent")


def test_retry_on_is_validated_with_its_path() -> None:
    text = pipeline_yaml("p", '      - {id: s, type: http, url: "http://127.0.0.1:1/x"}',
                         "  retry: {retryOn: [network, 5xx, teapot]}")
    with pytest.raises(ConfigError) as caught:
        load_pipeline_text(text, environ={})
    assert "delivery.retry.retryOn" in str(caught.value)
    ok = text.replace(", teapot", ", 418")
    policy = load_pipeline_text(ok, environ={}).destinations["r.s"].retry
    assert policy.retry_on == frozenset({"network", "5xx", "418"})


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_allows_ratio_times_first_attempts_over_a_sliding_window() -> None:
    clock = Clock()
    budget = RetryBudget(RetryBudgetPolicy(ratio=0.2, window_ms=10_000, min_retries=1), clock)
    for _ in range(10):
        budget.first_attempt()
    assert [budget.try_spend() for _ in range(3)] == [True, True, False]   # 0.2 x 10
    clock.now = 5.0
    assert not budget.try_spend()
    clock.now = 10.5                     # the first attempts slid out; min_retries still allows one
    assert budget.try_spend() and not budget.try_spend()


async def test_a_destination_over_its_retry_budget_dead_letters_instead_of_retrying(kafka, flaky, unique_name) -> None:
    flaky.default_status = 500
    pipeline = load(pipeline_yaml(unique_name, f"""
      - id: s
        type: http
        url: "{flaky.url}/in"
        retryBudget: {{ratio: 0.2, window: 60s, minRetries: 0}}
        retry: {{maxAttempts: 3, initialDelay: 5, maxDelay: 10, retryOn: [5xx]}}""", partitions=1), kafka)
    destination = pipeline.destinations["r.s"]
    await produce_events(kafka, destination.topic, 20, keys=20)
    async with runner(pipeline, "r.s", kafka) as r:
        parked = await consume_all(kafka, destination.dead_letter_topic, 20, 30)
        metrics = r.metrics
    reasons = sorted(DeadLetter.decode(m.value()).reason for m in parked)
    retries = len(flaky.received) - 20
    assert len(parked) == 20 and retries <= 4                       # ≤ 0.2 x 20 first attempts
    assert reasons.count("retry_budget_exhausted") >= 16
    assert set(reasons) <= {"retry_budget_exhausted", "retries_exhausted"}
    assert sample(metrics, "eis_dead_lettered_total", destination="r.s", reason="retry_budget_exhausted") >= 16


async def test_a_status_outside_retry_on_is_dead_lettered_at_once(kafka, flaky, unique_name) -> None:
    flaky.default_status = 503
    pipeline = load(pipeline_yaml(unique_name, f"""
      - id: s
        type: http
        url: "{flaky.url}/in"
        retry: {{maxAttempts: 5, initialDelay: 5, retryOn: [network, timeout, 429]}}""", partitions=1), kafka)
    destination = pipeline.destinations["r.s"]
    await produce_events(kafka, destination.topic, 1)
    async with runner(pipeline, "r.s", kafka):
        (parked,) = await consume_all(kafka, destination.dead_letter_topic, 1, 20)
    assert DeadLetter.decode(parked.value()).reason == "permanent_failure" and len(flaky.received) == 1
