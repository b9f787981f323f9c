"""The checker itself: its arithmetic (no Kafka), and the negative control that proves it has
teeth — a receiver that answers 200 to a known subset without keeping it must show exactly
those events as lost."""

from __future__ import annotations

import time

import pytest

from tests.reliability.checker import (
    REPORTS_ENV,
    Destination,
    Parked,
    build_report,
    check,
    inversions,
    redeliveries_between,
)
from tests.reliability.harness import Ack, Arrival, ChaosSink, LoadGenerator
from tests.reliability.processes import http, launch, pipeline_config, until


def arrival(event_id: str, key: str, seq: int, status: int = 200, idem: str | None = None) -> Arrival:
    return Arrival(event_id, idem or f"{event_id}:r.s", 1, time.monotonic(), key, seq, status)


def test_the_report_counts_lost_duplicates_unexpected_and_inversions(monkeypatch) -> None:
    monkeypatch.delenv(REPORTS_ENV, raising=False)   # arithmetic only: no report file for `make chaos`
    acked = {f"e{i}": Ack(f"e{i}", "k", i, 0.0) for i in range(6)}
    sink = ChaosSink()
    sink.arrivals = [
        arrival("e0", "k", 0), arrival("e2", "k", 2), arrival("e1", "k", 1),   # one inversion
        arrival("e2", "k", 2),                                                  # one duplicate
        arrival("e3", "k", 3, status=500),                                       # not a delivery
        arrival("e4", "k", 4, idem="e4:other"),                                 # wrong key
        arrival("x9", "k", 9),                                                  # never acknowledged
    ]
    parked = [Parked("dlq", "e5", "permanent_failure", "deliver", 1, "HTTP 422", "out", 5, 10)]
    report = build_report("unit", acked, [Destination("r.s", sink, "dlq", ordered=True)], parked, 0.0)
    figures = report.of("r.s")
    assert (report.lost, figures["lost_ids"]) == (1, ["e3"])
    assert report.duplicates == 1 and report.data["unexpected"] == 1
    assert report.data["inversions"] == 1
    assert figures["idempotency_key_mismatches"] == ["e4"]
    assert figures["dead_lettered"] == 1 and figures["dead_letters"]["by_reason"] == {"deliver/permanent_failure": 1}


def test_redeliveries_of_a_suffix_are_not_inversions() -> None:
    seqs = [0, 1, 2, 3, 1, 2, 3, 4]   # a replay after a crash re-sends 1..3: order kept
    assert inversions([arrival(f"e{s}", "k", s) for s in seqs]) == 0
    assert inversions([arrival(f"e{s}", "k", s) for s in (0, 2, 1)]) == 1


def test_a_redelivery_is_explained_only_by_a_kill_after_the_previous_delivery() -> None:
    def at(event_id: str, when: float) -> Arrival:
        return Arrival(event_id, f"{event_id}:r.s", 1, when, "k", 0, 200)

    arrivals = [at("e1", 1.0), at("e2", 2.0), at("e3", 3.1), at("e1", 3.5), at("e2", 4.0),
                at("e3", 4.2), at("e2", 4.5)]
    found = redeliveries_between(arrivals, kills=[3.0], slack_s=0.2)
    # e1 and e2's first repeats follow the kill at 3.0 (delivered 2.0 and 1.0 s before it); e3
    # was recorded 0.1 s after the kill (within the slack); e2's third delivery follows no kill.
    assert found == {"unexplained": 1, "window_s": 2.0}


@pytest.mark.slow
async def test_negative_control_a_receiver_that_drops_accepted_requests_shows_exactly_those_lost(
        stack_factory, sinks, kafka, chaos_events) -> None:
    """The checker has teeth: the sink answers 200 to every event whose seq % 7 == 3 and keeps
    nothing of it; the report must list exactly the acknowledged ids of those events as lost."""

    began = time.monotonic()
    sink = await sinks(drop=lambda body: body.get("seq", 0) % 7 == 3)
    running = await launch(stack_factory, pipeline_config([
        {"name": "r", "destinations": [http("s", f"{sink.url}/in")]}]))
    load = LoadGenerator(lambda: running.stack.ingress_url)
    await load.run(min(chaos_events, 1000))
    expected_lost = {a.event_id for a in load.acked.values() if a.seq % 7 == 3}
    await until(lambda: len(sink.delivered_ids()) + len(sink.dropped) >= load.acked_count, 60,
                "every acknowledged event reached the sink")
    report = await check(kafka, "negative_control", load.acked,
                         [running.destination("r.s", sink)], started=began, timeout=1)
    assert report.lost > 0, report
    assert report.lost == len(expected_lost), report
    assert set(report.of("r.s")["lost_ids"]) == set(sorted(expected_lost)[:50]), report
    assert len(sink.dropped) >= len(expected_lost)
