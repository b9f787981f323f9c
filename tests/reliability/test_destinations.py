"""Destinations that fail for a while: nothing acknowledged is lost, a neighbour is unaffected."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.reliability.checker import check
from tests.reliability.harness import LoadGenerator
from tests.reliability.processes import http, launch, metrics_text, pipeline_config, sample, until
from tests.stack_helpers import free_port

pytestmark = pytest.mark.slow


async def test_a_destination_down_for_a_while_gets_everything_after_it_returns_and_its_neighbour_is_unaffected(
        stack_factory, sinks, kafka, chaos_events) -> None:
    began = time.monotonic()
    healthy, down = await sinks(), await sinks()
    await down.stop()                                   # connections refused from the start
    breaker = {"enabled": True, "failureThreshold": 3, "resetTimeout": "1s"}
    config = pipeline_config([{"name": "r", "destinations": [
        http("ok", f"{healthy.url}/in"),
        http("down", f"{down.url}/in", circuitBreaker=breaker)]}])
    metrics_port = free_port()
    running = await launch(stack_factory, config, env={"EIS_CONNECT_METRICS_PORT": str(metrics_port)})
    load = LoadGenerator(lambda: running.stack.ingress_url, spread_s=max(6.0, chaos_events / 1000))
    task = asyncio.create_task(load.run(chaos_events))
    await until(lambda: load.acked_count >= chaos_events // 2, 60, "half the load acknowledged")
    acked_midway = set(load.acked)
    await until(lambda: acked_midway <= healthy.delivered_ids(), 30,
                "the healthy neighbour delivered what was acknowledged while the other was down")
    metrics = metrics_text(f"http://127.0.0.1:{metrics_port}/metrics")
    opened = sample(await metrics, "eis_circuit_transitions_total", destination="r.down", to="open")
    assert opened >= 1, "the dead destination's circuit never opened"
    assert not down.arrivals
    await down.start()                                  # back, on the same port
    await task
    report = await check(kafka, "destination_down_then_back", load.acked,
                         [running.destination("r.ok", healthy), running.destination("r.down", down)],
                         started=began, timeout=90, circuit_opened=opened)
    assert report.lost == 0, report
    for destination in ("r.ok", "r.down"):
        figures = report.of(destination)
        assert figures["delivered"] == len(load.acked) and figures["dead_lettered"] == 0, report
    after = await metrics_text(f"http://127.0.0.1:{metrics_port}/metrics")
    assert sample(after, "eis_circuit_transitions_total", destination="r.down", to="half-open") >= 1, after
    assert sample(after, "eis_circuit_transitions_total", destination="r.down", to="closed") >= 1, after
    assert sample(after, "eis_circuit_state", destination="r.down") == 0
