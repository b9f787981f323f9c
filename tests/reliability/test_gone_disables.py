"""Issue 6's matrix, "410 disabling the destination": a 410 Gone holds the destination's events
in Kafka (nothing delivered, nothing dead-lettered) in every `eis connect` process of the group
and across a connector SIGKILL, until an operator enables it; then every acknowledged event is
delivered, the 410'd one attempted again.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from tests.reliability.checker import DeadLetterReader, check
from tests.reliability.harness import LoadGenerator
from tests.reliability.processes import http, launch, metrics_text, pipeline_config, sample, until
from tests.reliability.scripted_sink import ScriptedSink
from tests.stack_helpers import free_port

pytestmark = pytest.mark.slow

ADMIN_KEY = "gone-admin-key-for-tests"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
GONE_SEQ = 100          # the event the sink answers 410 (then 200, once the destination is enabled)
AFTER_SEQ = 200         # events sent while it is disabled: seq 200…
HELD_WAIT_S = 4.0       # "a few seconds" in which nothing may reach the sink or the DLQ


def shifted(offset: int):  # noqa: ANN201 - LoadGenerator's `extra`
    return lambda key, seq: {"seq": offset + seq}


async def admin(session: aiohttp.ClientSession, method: str, url: str) -> tuple[int, dict[str, object]]:
    async with session.request(method, url, headers=AUTH) as response:
        return response.status, orjson.loads(await response.read())


async def test_a_410_disables_the_destination_until_an_operator_enables_it(stack_factory, kafka) -> None:
    began = time.monotonic()
    sink = ScriptedSink(plan={GONE_SEQ: [410, 200]})
    await sink.start()
    metrics_port, other_port = free_port(), free_port()
    try:
        config = pipeline_config([{"name": "r", "destinations": [http("s", f"{sink.url}/in")]}],
                                 retry={"maxAttempts": 3, "initialDelay": 50, "maxDelay": 200})
        running = await launch(stack_factory, config, env={
            "EIS_ADMIN_KEY": ADMIN_KEY, "EIS_CONNECT_METRICS_PORT": str(metrics_port)})
        stack = running.stack
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        state_url = f"{stack.ingress_url}/v1/destinations/r.s"
        disabled = lambda text: sample(text, "eis_destination_disabled", destination="r.s")  # noqa: E731
        # A second `eis connect` of the group: it learns of the 410 from the state topic only.
        running.start("connect-2", "connect", env={"EIS_CONNECT_METRICS_PORT": str(other_port)})
        other_url = f"http://127.0.0.1:{other_port}/metrics"
        await stack.wait_http(other_url, timeout=60)

        before = LoadGenerator(lambda: stack.ingress_url, keys=3, batch=1)
        await before.run(6)
        await until(lambda: set(before.acked) <= sink.delivered_ids(), 60, "events before the 410 delivered")
        assert disabled(await metrics_text(metrics_url)) == 0 == disabled(await metrics_text(other_url))

        gone = LoadGenerator(lambda: stack.ingress_url, keys=1, batch=1, extra=shifted(GONE_SEQ))
        await gone.run(1)
        (gone_id,) = gone.acked
        await until(lambda: len(sink.attempts.get(GONE_SEQ, [])) == 1, 60, "the 410 answered")
        # Ingress keeps accepting events for a disabled destination: they queue in Kafka.
        after = LoadGenerator(lambda: stack.ingress_url, keys=3, batch=1, extra=shifted(AFTER_SEQ))
        await after.run(9)
        assert after.acked_count == 9 and not after.gave_up

        async with aiohttp.ClientSession() as session:
            async with session.get(state_url) as anonymous:
                assert anonymous.status == 401
            assert (await admin(session, "GET", f"{stack.ingress_url}/v1/destinations/nope"))[0] == 404
            await asyncio.sleep(HELD_WAIT_S)
            held_check(sink, after.acked, gone_id)
            await assert_no_dead_letters(kafka, running.pipeline.destinations["r.s"].dead_letter_topic)
            status, state = await admin(session, "GET", state_url)
            assert status == 200 and state["state"] == "disabled", state
            assert state["eventId"] == gone_id and state["status"] == 410, state
            assert disabled(await metrics_text(metrics_url)) == 1
            assert disabled(await metrics_text(other_url)) == 1
            logs = stack.log("connect") + stack.log("connect-2")
            assert logs.count("destination r.s disabled") == 2, logs     # once per process
            shown = stack.run_cli("destinations", "show", "r.s", "-c", str(stack.config_path))
            assert orjson.loads(shown.stdout)["state"] == "disabled", shown.stderr

            # A restarted connector reads the state before delivering anything: still disabled.
            stack.kill("connect")
            stack.start("connect")
            await stack.wait_http(metrics_url, timeout=60)
            assert disabled(await metrics_text(metrics_url)) == 1
            await asyncio.sleep(HELD_WAIT_S)
            held_check(sink, after.acked, gone_id)

            status, state = await admin(session, "POST", f"{state_url}/enable")
            assert status == 200 and state["state"] == "enabled", state
            acked = {**before.acked, **gone.acked, **after.acked}
            report = await check(kafka, "gone_disables", acked, [running.destination("r.s", sink)],
                                 started=began, timeout=60, settle_s=1)
            assert (await admin(session, "GET", state_url))[1]["state"] == "enabled"
    finally:
        await sink.stop()
    assert report.lost == 0, report
    assert report.of("r.s")["dead_lettered"] == 0, report
    assert len(sink.attempts[GONE_SEQ]) == 2, "the 410'd event is attempted again after enable"
    assert gone_id in sink.delivered_ids()
    assert disabled(await metrics_text(metrics_url)) == 0
    assert disabled(await metrics_text(other_url)) == 0


def held_check(sink: ScriptedSink, held: dict[str, object], gone_id: str) -> None:
    """Nothing sent after the 410 reached the sink, and the 410'd event was not retried."""
    assert not set(held) & {a.event_id for a in sink.arrivals}, "an event reached a disabled destination"
    assert not [s for s in sink.attempts if s >= AFTER_SEQ]
    assert len(sink.attempts[GONE_SEQ]) == 1, sink.attempts[GONE_SEQ]
    assert gone_id not in sink.delivered_ids()


async def assert_no_dead_letters(kafka, topic: str) -> None:  # noqa: ANN001 - KafkaSettings fixture
    reader = DeadLetterReader(kafka, [topic])
    try:
        for _ in range(5):
            await reader.poll(0.3)
    finally:
        await reader.close()
    assert reader.parked == [], reader.parked
