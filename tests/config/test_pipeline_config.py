"""The pipeline configuration: the spec's format loads, every problem is reported with its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.config import load_pipeline, load_pipeline_text
from schemas.errors import ConfigError
from schemas.expressions import Context

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPEC_ENV = {
    "STRIPE_WEBHOOK_SECRET": "whsec_test", "API_KEY": "k", "SQS_PAYMENTS_QUEUE": "https://sqs/q",
    "SHOPIFY_WEBHOOK_SECRET": "s", "GITHUB_WEBHOOK_SECRET": "g", "ON_CALL_NUMBERS": "+15550001",
}

MINIMAL = """
service: shop
webhooks:
  - id: shop
    verification: {type: none}
routing:
  - name: big-orders
    condition: event.type == 'order.placed' AND $.total > 50
    transform:
      order:
        id: $.orderId
        total: $.total
    destinations:
      - type: http
        url: http://127.0.0.1:1/x
"""


def problems_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_pipeline_text(text, environ=environ or {})
    return [str(p) for p in caught.value.problems]


# Which parts of each spec example a later release implements; everything else must load.
SPEC_NOT_SUPPORTED = {
    "spec-1-payment-webhooks.json": {
        "routing[1].transform.enrich",
    },
    "spec-2-iot-devices.yaml": {
        "ingestion.protocols[0].mqtt", "ingestion.protocols[2].websocket",
        "ingestion.validation.schema", "routing[1].batching", "delivery.deadLetter.destination",
        "monitoring.alerts", "monitoring.metrics.dimensions",
    },
    "spec-3-order-workflow.json": {
        "routing[0].destinations[2].dependsOn", "routing[0].destinations[3].dependsOn",
        "routing[0].destinations[1].parallel", "routing[0].destinations[4].parallel",
        "routing[0].destinations[4].bestEffort", "routing[1].destinations[2].ignoreFailure",
        "routing[1].compensation", "delivery.idempotency",
    },
    "spec-4-cicd-pipeline.yaml": {
        "routing[3].destinations[1].dependsOn", "monitoring.tracing",
    },
    "spec-5-customer-comms.json": {
        "routing[0].destinations[1].delay", "routing[0].destinations[2].delay",
        "routing[0].preferences", "routing[1].channelOrdering", "routing[1].deduplication",
        "routing[2].destinations[0].delay", "routing[2].destinations[1].delay",
        "routing[2].destinations[1].enrich", "routing[2].cancellation", "delivery.tracking",
    },
}


@pytest.mark.parametrize("name", sorted(SPEC_NOT_SUPPORTED))
def test_every_spec_example_parses_and_only_later_features_are_refused(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_pipeline(EXAMPLES / name, environ=SPEC_ENV)
    error = caught.value
    assert error.only_not_supported, str(error)
    assert {p.path for p in error.problems} == SPEC_NOT_SUPPORTED[name]


def test_a_minimal_pipeline_compiles_routes_and_topics() -> None:
    pipeline = load_pipeline_text(MINIMAL, environ={})
    (route,) = pipeline.routes
    (destination,) = route.destinations
    assert destination.id == "big-orders.http-0"
    assert destination.topic == "eis.out.big-orders.http-0"
    assert destination.dead_letter_topic == "eis.dlq.big-orders.http-0"
    assert pipeline.source_ids == ["shop"]
    context = Context(payload={"total": 60, "orderId": "o1"}, envelope={"type": "order.placed"})
    assert route.condition is not None and route.condition.matches(context)
    assert route.transform is not None
    assert route.transform.apply(context) == {"order": {"id": "o1", "total": 60}}


def test_unknown_keys_are_errors_with_their_path() -> None:
    text = MINIMAL.replace("        url: http://127.0.0.1:1/x", "        url: http://x\n    retries: 3")
    assert problems_of(text) == ["routing[0].retries: unknown key"]


def test_a_missing_environment_variable_is_a_load_error_naming_it() -> None:
    text = MINIMAL.replace("http://127.0.0.1:1/x", "${SINK_URL}")
    (problem,) = problems_of(text)
    assert problem.startswith("routing[0].destinations[0].url: environment variable SINK_URL is not set")


def test_environment_values_and_fallbacks_are_substituted_at_load() -> None:
    text = MINIMAL.replace("http://127.0.0.1:1/x", "${SINK_URL:-http://fallback/}${SINK_PATH}")
    pipeline = load_pipeline_text(text, environ={"SINK_PATH": "p"})
    assert pipeline.routes[0].destinations[0].settings["url"] == "http://fallback/p"


def test_lowercase_placeholders_are_event_fields_not_environment() -> None:
    text = MINIMAL.replace("http://127.0.0.1:1/x", "http://h/${deviceId}")
    pipeline = load_pipeline_text(text, environ={})
    assert pipeline.routes[0].destinations[0].settings["url"] == "http://h/${deviceId}"


def test_a_bad_condition_reports_its_path_and_column() -> None:
    text = MINIMAL.replace("$.total > 50", "$.total >")
    (problem,) = problems_of(text)
    assert problem.startswith("routing[0].condition:")
    assert "column" in problem


def test_every_problem_is_reported_at_once() -> None:
    text = MINIMAL.replace("$.total > 50", "$.total >").replace("http://127.0.0.1:1/x", "${NOPE}")
    assert len(problems_of(text)) == 2


def test_durations_accept_units() -> None:
    text = MINIMAL + "delivery:\n  timeout: 5s\n  retry: {initialDelay: 500ms, maxDelay: 1m}\n"
    pipeline = load_pipeline_text(text, environ={})
    destination = pipeline.routes[0].destinations[0]
    assert destination.timeout_ms == 5000
    assert (destination.retry.initial_delay_ms, destination.retry.max_delay_ms) == (500, 60_000)


def test_verification_is_required_never_defaulted() -> None:
    text = MINIMAL.replace("    verification: {type: none}\n", "")
    assert problems_of(text) == ["webhooks[0].verification: Field required"]


def test_a_named_output_format_is_reused_by_another_route() -> None:
    text = """
service: s
routing:
  - name: a
    transform: {outputFormat: unified, mapping: {id: $.id}}
    destinations: [{type: http, url: "http://h/"}]
  - name: b
    transform: {outputFormat: unified}
    destinations: [{type: http, url: "http://h/"}]
"""
    loaded = load_pipeline_text(text, environ={})
    transform = loaded.routes[1].transform
    assert transform is not None and transform.apply(Context(payload={"id": 7})) == {"id": 7}
