"""Every metric EIS exports, declared in one container (dashboards and alerts depend on these names).

Labels are fixed, bounded sets — source, route, destination, outcome, reason — never an event id.
A test passes a fresh `CollectorRegistry`; a process uses the default one.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """The metric objects of all roles; a role only touches its own."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        # ingress
        self.requests = Counter("eis_ingress_requests_total", "HTTP requests answered",
                                ["source", "status"], registry=registry)
        self.received = Counter("eis_events_received_total", "events accepted by ingress",
                                ["source"], registry=registry)
        self.produced = Counter("eis_events_produced_total", "events acknowledged by Kafka",
                                ["source"], registry=registry)
        self.rejected = Counter("eis_events_rejected_total", "requests refused, by reason",
                                ["source", "reason"], registry=registry)
        self.filtered = Counter("eis_events_filtered_total",
                                "events acknowledged but dropped (type not in `events`)",
                                ["source"], registry=registry)
        # worker
        self.routed = Counter("eis_events_routed_total", "events written to a destination topic",
                              ["route", "destination"], registry=registry)
        self.unrouted = Counter("eis_events_unrouted_total", "events no route selected",
                                ["source"], registry=registry)
        self.routing_failures = Counter("eis_routing_failures_total",
                                        "events a condition or transform could not handle",
                                        ["destination", "stage"], registry=registry)
        self.invalid = Counter("eis_events_invalid_total", "records that are not events",
                               ["source"], registry=registry)
        # connectors
        self.delivered = Counter("eis_deliveries_total", "delivery outcomes",
                                 ["destination", "outcome"], registry=registry)
        self.retried = Counter("eis_delivery_retries_total", "attempts after the first",
                               ["destination"], registry=registry)
        self.dead_lettered = Counter("eis_dead_lettered_total", "events parked in a DLQ",
                                     ["destination", "reason"], registry=registry)
        self.attempt_seconds = Histogram("eis_delivery_attempt_seconds", "one attempt's duration",
                                         ["destination"], buckets=LATENCY_BUCKETS, registry=registry)
        self.ingest_to_delivery = Histogram(
            "eis_ingest_to_delivery_seconds", "from ingress acceptance to delivery",
            ["destination"], buckets=LATENCY_BUCKETS, registry=registry,
        )

        # connectors: delivery policy (issue 5)
        self.attempts = Counter("eis_delivery_attempts_total", "attempts by result",
                                ["destination", "result"], registry=registry)  # success|retriable|permanent
        self.in_flight = Gauge("eis_delivery_in_flight", "events being delivered (backpressure bound)",
                               ["destination"], registry=registry)
        self.retry_handoffs = Counter("eis_retry_handoffs_total", "retries handed to a delay-tier topic",
                                      ["destination", "tier"], registry=registry)
        self.deduplicated = Counter("eis_deliveries_deduplicated_total",
                                    "exactly-once: deliveries skipped, already done",
                                    ["destination"], registry=registry)
        self.circuit_state = Gauge("eis_circuit_state", "circuit breaker: 0 closed, 1 half-open, 2 open",
                                   ["destination"], registry=registry)
        self.circuit_transitions = Counter("eis_circuit_transitions_total", "circuit breaker state changes",
                                           ["destination", "to"], registry=registry)
        self.destination_disabled = Gauge(
            "eis_destination_disabled",
            "1 while a destination is disabled (it answered 410 Gone; an operator enables it), else 0",
            ["destination"], registry=registry)

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type, for a `/metrics` handler."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


_process_metrics: Metrics | None = None


def process_metrics() -> Metrics:
    """The process-wide container on the default registry (created on first use)."""
    global _process_metrics
    if _process_metrics is None:
        _process_metrics = Metrics()
    return _process_metrics
