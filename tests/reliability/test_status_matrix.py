"""The status-code matrix: what each answer of a destination leads to, event by event."""

from __future__ import annotations

import time

import pytest

from tests.reliability.checker import check
from tests.reliability.harness import LoadGenerator
from tests.reliability.processes import http, launch, pipeline_config
from tests.reliability.scripted_sink import RESET, TIMEOUT, ScriptedSink

pytestmark = pytest.mark.slow

# seq → the answers its attempts get, and the outcome the README promises for them.
MATRIX: dict[int, tuple[list[object], str, int]] = {
    0: ([200], "delivered", 1),
    1: ([204], "delivered", 1),
    2: ([301], "dead-lettered", 1),                      # redirects are not followed
    3: ([404], "dead-lettered", 1),                      # other 4xx: permanent
    4: ([422], "dead-lettered", 1),
    5: ([408, 200], "delivered", 2),
    6: ([425, 200], "delivered", 2),
    7: ([(429, 1), 200], "delivered", 2),                # Retry-After in seconds
    8: ([(503, "date+2"), 200], "delivered", 2),         # Retry-After as an HTTP date
    9: ([500, 502, 200], "delivered", 3),
    10: ([TIMEOUT, 200], "delivered", 2),
    11: ([RESET, 200], "delivered", 2),
    12: ([500], "dead-lettered", 4),                     # retries exhausted
}


async def test_each_status_code_leads_to_its_documented_outcome(stack_factory, kafka) -> None:
    began = time.monotonic()
    sink = ScriptedSink(plan={seq: steps for seq, (steps, _, _) in MATRIX.items()}, hang_s=1.5)
    await sink.start()
    try:
        retry = {"maxAttempts": 4, "initialDelay": 50, "maxDelay": 200}
        config = pipeline_config([{"name": "r", "destinations": [
            http("s", f"{sink.url}/in", timeout="500ms")]}], retry=retry)
        running = await launch(stack_factory, config)
        load = LoadGenerator(lambda: running.stack.ingress_url, keys=len(MATRIX), batch=1)
        await load.run(len(MATRIX))
        report = await check(kafka, "status_matrix", load.acked, [running.destination("r.s", sink)],
                             started=began, timeout=60, settle_s=2)
    finally:
        await sink.stop()
    assert report.lost == 0, report
    seq_of = {event_id: ack.seq for event_id, ack in load.acked.items()}
    reasons = {seq_of[p["event_id"]]: p["reason"] for p in report.of("r.s")["dead_letters"]["records"]}
    assert reasons == {2: "permanent_failure", 3: "permanent_failure", 4: "permanent_failure",
                       12: "retries_exhausted"}, reasons
    delivered = {seq_of[i] for i in sink.delivered_ids() if i in seq_of}
    for seq, (_, outcome, attempts) in MATRIX.items():
        assert len(sink.attempts.get(seq, [])) == attempts, (seq, sink.attempts.get(seq))
        assert (seq in delivered) == (outcome == "delivered"), (seq, outcome)
    assert report.of("r.s")["dead_lettered"] == sum(1 for _, o, _ in MATRIX.values() if o == "dead-lettered")
    assert not [r for r in sink.received if r.path.startswith("/redirected")], "a redirect was followed"
    # Retry-After is a floor under the backoff (50–200 ms here).
    for seq, floor in ((7, 1.0), (8, 1.0)):
        first, second = sink.attempts[seq][:2]
        assert second - first >= floor * 0.95, (seq, second - first)
