"""A worker joining the group takes partitions over without routing their events again."""

from __future__ import annotations

import time

import pytest

from tests.reliability.checker import check
from tests.reliability.harness import LoadGenerator
from tests.reliability.processes import http, launch, pipeline_config, until

pytestmark = pytest.mark.slow

# No timer or count commits in this test: only the rebalance's own commit can spare the
# partitions that move to the new worker from being routed again.
NO_ROUTINE_COMMITS = {"EIS_COMMIT_INTERVAL_S": "120", "EIS_COMMIT_EVERY_EVENTS": "1000000"}


async def test_partitions_moving_to_a_new_worker_are_not_routed_again(stack_factory, sinks, kafka) -> None:
    began = time.monotonic()
    sink = await sinks()
    config = pipeline_config([{"name": "r", "destinations": [http("s", f"{sink.url}/in")]}])
    running = await launch(stack_factory, config, env=NO_ROUTINE_COMMITS)
    load = LoadGenerator(lambda: running.stack.ingress_url, keys=12)
    await load.run(150)
    await until(lambda: len(sink.delivered_ids()) >= 150, 60, "the first 150 delivered")
    _, port = running.start_worker("w2")
    # Ready: it holds partitions (one of the three inbound ones among them) and the group is stable.
    await running.stack.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
    await load.run(150)
    report = await check(kafka, "worker_joins", load.acked, [running.destination("r.s", sink)],
                         started=began)
    assert len(load.acked) == 300 and report.lost == 0, report
    assert report.duplicates == 0, report
