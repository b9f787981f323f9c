"""Load balancing across instances: strategies, failover on connection errors only, config."""

from __future__ import annotations

import asyncio

import pytest

from connectors.balancing import Balancer
from connectors.registry import check_destinations
from connectors.sink import Delivered, Failed
from schemas.config import load_pipeline_text
from tests.http_sink.helpers import ALLOW_LOOPBACK, closed_port, http_sink, request


async def run(sink, n: int):
    await sink.open()
    try:
        return [(await sink.send([request(i)]))[0] for i in range(n)]
    finally:
        await sink.close()


async def test_round_robin_spreads_requests_evenly_in_turn(receivers) -> None:
    a, b, c = [await receivers() for _ in range(3)]
    sink = http_sink({"urls": [f"{r.url}/{name}" for r, name in ((a, "a"), (b, "b"), (c, "c"))]},
                     ALLOW_LOOPBACK)
    outcomes = await run(sink, 9)
    assert all(isinstance(o, Delivered) for o in outcomes)
    assert [len(r.received) for r in (a, b, c)] == [3, 3, 3]
    assert [r.headers["Idempotency-Key"] for r in a.received] == ["evt_0:r.d", "evt_3:r.d", "evt_6:r.d"]


async def test_weighted_follows_the_weights_interleaved(receivers) -> None:
    heavy, light = await receivers(), await receivers()
    sink = http_sink({"strategy": "weighted",
                      "urls": [{"url": heavy.url, "weight": 3}, {"url": light.url, "weight": 1}]},
                     ALLOW_LOOPBACK)
    await run(sink, 40)
    assert (len(heavy.received), len(light.received)) == (30, 10)
    order = Balancer([("h", 3), ("l", 1)], "weighted")
    picks = "".join(order.order()[0] for _ in range(8))
    assert picks == "hhlhhhlh"  # smooth: never a burst of all the heavy picks


async def test_least_outstanding_prefers_the_idle_instance(receivers) -> None:
    slow, idle = await receivers(), await receivers()
    slow.delay_s = 1.0
    sink = http_sink({"strategy": "least-outstanding", "urls": [slow.url, idle.url]}, ALLOW_LOOPBACK)
    await sink.open()
    try:
        stuck = asyncio.create_task(sink.send([request(0)]))  # first pick: `slow`, a tie broken in order
        await asyncio.wait_for(slow.arrived.wait(), 5)
        assert sink.balancer.in_flight() == [1, 0]
        later = [(await sink.send([request(i)]))[0] for i in range(1, 5)]
        (first,) = await stuck
    finally:
        await sink.close()
    assert isinstance(first, Delivered) and all(isinstance(o, Delivered) for o in later)
    assert (len(slow.received), len(idle.received)) == (1, 4)  # round-robin would have sent 2 more


async def test_a_refused_connection_fails_over_to_the_next_instance(receivers) -> None:
    alive = await receivers()
    dead = f"http://127.0.0.1:{closed_port()}"
    sink = http_sink({"urls": [dead, alive.url]}, ALLOW_LOOPBACK)
    outcomes = await run(sink, 4)
    assert all(isinstance(o, Delivered) for o in outcomes)  # within the same attempt
    assert len(alive.received) == 4
    assert all(r.headers["X-EIS-Attempt"] == "1" for r in alive.received)


async def test_when_every_instance_is_unreachable_the_attempt_fails_retriably() -> None:
    sink = http_sink({"urls": [f"http://127.0.0.1:{closed_port()}", f"http://127.0.0.1:{closed_port()}"]},
                     ALLOW_LOOPBACK)
    (outcome,) = await run(sink, 1)
    assert isinstance(outcome, Failed) and outcome.retriable
    assert outcome.error.startswith("no instance reachable: ") and outcome.error.count("ClientConnectorError") == 2


async def test_an_http_error_does_not_fail_over(receivers) -> None:
    failing, healthy = await receivers(), await receivers()
    failing.default_status = 503
    sink = http_sink({"urls": [failing.url, healthy.url]}, ALLOW_LOOPBACK)
    (outcome,) = await run(sink, 1)
    assert isinstance(outcome, Failed) and outcome.retriable and outcome.status_code == 503
    assert len(healthy.received) == 0  # the runner retries; the sink does not try elsewhere


async def test_an_egress_denial_does_not_fail_over(receivers) -> None:
    healthy = await receivers()
    sink = http_sink({"urls": ["http://10.0.0.1/", healthy.url]}, ALLOW_LOOPBACK)
    (outcome,) = await run(sink, 1)
    assert isinstance(outcome, Failed) and not outcome.retriable and "egress_denied" in outcome.error
    assert len(healthy.received) == 0  # a policy refusal is loud, not routed around


def test_the_receipt_target_lists_every_instance() -> None:
    rr = http_sink({"urls": ["https://a/h", "https://b/h"]})
    assert rr.describe() == "round-robin: https://a/h, https://b/h"
    weighted = http_sink({"strategy": "weighted", "urls": [{"url": "https://a/h", "weight": 3}, "https://b/h"]})
    assert weighted.describe() == "weighted: https://a/h (weight 3), https://b/h (weight 1)"
    assert http_sink({"url": "https://a/{{id}}"}).describe() == "https://a/{{id}}"


def problems(destination: str) -> list[str]:
    pipeline = load_pipeline_text(f"service: s\nrouting: [{{name: r, destinations: [{destination}]}}]\n",
                                  environ={})
    return [str(p) for p in check_destinations(pipeline)]


@pytest.mark.parametrize(("destination", "expected"), [
    ("{type: http, url: 'https://a', urls: ['https://b']}", "set either `url` or `urls`"),
    ("{type: http}", "set either `url` or `urls`"),
    ("{type: http, urls: []}", "at least 1 item"),
    ("{type: http, urls: [{url: 'https://a', weight: 2}]}", "`weight` needs strategy: weighted"),
    ("{type: http, urls: [{url: 'https://a', weight: 0}], strategy: weighted}", "urls[0].weight"),
    ("{type: http, urls: ['https://a'], strategy: random}", "strategy"),
    ("{type: http, urls: [{url: 'https://a', wieght: 2}]}", "urls[0].wieght: unknown key"),
    ("{type: http, urls: ['https://a/{{x']}", "urls[0].url"),
])
def test_balancing_settings_are_validated_with_their_path(destination, expected) -> None:
    found = problems(destination)
    assert any(expected in p for p in found), found


def test_valid_balancing_settings_load() -> None:
    assert problems("{type: http, urls: ['https://a', {url: 'https://b', weight: 5}], strategy: weighted,"
                    " followRedirects: true, connectTimeout: 2s}") == []
