"""A worker joining the group takes partitions over without routing their events again."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.reliability.harness import LoadGenerator
from tests.reliability.processes import http, launch, pipeline_config, until

pytestmark = pytest.mark.slow

# No timer or count commits in this test: only the rebalance's own commit can spare the
# partitions that move to the new worker from being routed again.
NO_ROUTINE_COMMITS = {"EIS_COMMIT_INTERVAL_S": "120", "EIS_COMMIT_EVERY_EVENTS": "1000000"}


async def test_partitions_moving_to_a_new_worker_are_not_routed_again(stack_factory, sinks) -> None:
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
    await until(lambda: len(sink.delivered_ids()) >= 300, 60, "all 300 delivered")
    assert len(load.acked) == 300 and sink.delivered_ids() >= set(load.acked)
    repeated = {event_id: n for event_id, n in Counter(a.event_id for a in sink.arrivals).items() if n > 1}
    assert repeated == {}
