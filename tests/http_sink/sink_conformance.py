"""The sink conformance suite (STYLE.md 12): what every destination type must do, whatever it is.

A destination type's tests subclass `SinkConformance`, set `destination_type`, and provide a
`harness` fixture: a `SinkHarness` building that type's sink against a destination the test
can steer. `test_sink_conformance_coverage.py` fails when a registered type has no subclass.
The contract checked is the `Sink` docstring in connectors/sink.py: one outcome per request, in
order; delivery problems are reported, never raised; retry timing is reported, never slept.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar, Protocol

from connectors.sink import Delivered, DeliveryRequest, Failed, Sink
from schemas.envelope import Envelope

CLOSE_DURING_SEND_BOUND_S = 5.0


class SinkHarness(Protocol):
    """A destination type's sink plus a fake destination the suite can steer."""

    def build(self) -> Sink:
        """A new, unopened sink delivering to the fake destination."""

    def refuse(self, idempotency_key: str, *, retriable: bool, retry_after_s: int | None = None) -> None:
        """Make the destination refuse this request: permanently, or retriably (asking for a
        retry after `retry_after_s` seconds when given)."""

    def stall(self, seconds: float) -> None:
        """Make the destination take this long before answering from now on."""

    def arrivals(self) -> int:
        """Requests the destination has begun to receive."""

    def accepted(self) -> list[str]:
        """Idempotency keys of the requests the destination accepted, in arrival order."""


def conformance_request(n: int, timeout_s: float = 5.0) -> DeliveryRequest:
    """The delivery of event `evt_c<n>`."""
    envelope = Envelope(id=f"evt_c{n}", source="api", time=1, received_at=1, partition_key=f"k{n}",
                        content_type="application/json", type="conformance", data={"n": n})
    return DeliveryRequest(envelope, f"evt_c{n}:conformance", 1, timeout_s)


class SinkConformance:
    """Subclass as `Test<Type>SinkConformance` with `destination_type` and a `harness` fixture."""

    destination_type: ClassVar[str]

    async def test_open_then_close_without_sending(self, harness: SinkHarness) -> None:
        sink = harness.build()
        await sink.open()
        await sink.close()
        assert harness.arrivals() == 0

    async def test_one_event_is_delivered(self, harness: SinkHarness) -> None:
        sink = harness.build()
        await sink.open()
        try:
            outcomes = await sink.send([conformance_request(1)])
        finally:
            await sink.close()
        assert len(outcomes) == 1 and isinstance(outcomes[0], Delivered)
        assert harness.accepted() == ["evt_c1:conformance"]

    async def test_a_batch_gets_one_outcome_per_request_in_order(self, harness: SinkHarness) -> None:
        batch = [conformance_request(n) for n in range(5)]
        sink = harness.build()
        await sink.open()
        try:
            outcomes = await sink.send(batch)
        finally:
            await sink.close()
        assert [type(o) for o in outcomes] == [Delivered] * 5
        assert sorted(harness.accepted()) == sorted(r.idempotency_key for r in batch)

    async def test_a_partial_failure_is_reported_per_request(self, harness: SinkHarness) -> None:
        batch = [conformance_request(n) for n in range(3)]
        harness.refuse(batch[1].idempotency_key, retriable=False)
        sink = harness.build()
        await sink.open()
        try:
            outcomes = await sink.send(batch)
        finally:
            await sink.close()
        assert isinstance(outcomes[0], Delivered) and isinstance(outcomes[2], Delivered)
        assert isinstance(outcomes[1], Failed) and not outcomes[1].retriable
        assert sorted(harness.accepted()) == sorted([batch[0].idempotency_key, batch[2].idempotency_key])

    async def test_retry_after_is_carried_not_slept(self, harness: SinkHarness) -> None:
        request = conformance_request(1)
        harness.refuse(request.idempotency_key, retriable=True, retry_after_s=7)
        sink = harness.build()
        await sink.open()
        try:
            started = asyncio.get_running_loop().time()
            (outcome,) = await sink.send([request])
            elapsed = asyncio.get_running_loop().time() - started
        finally:
            await sink.close()
        assert isinstance(outcome, Failed) and outcome.retriable
        assert outcome.retry_after_s == 7
        assert elapsed < 5  # the runner waits, never the sink (STYLE.md 5)

    async def test_close_during_send_ends_the_send_with_an_outcome(self, harness: SinkHarness) -> None:
        harness.stall(3.0)
        sink = harness.build()
        await sink.open()
        sending = asyncio.create_task(sink.send([conformance_request(1)]))
        for _ in range(200):
            if harness.arrivals():
                break
            await asyncio.sleep(0.01)
        assert harness.arrivals() == 1
        await asyncio.wait_for(sink.close(), CLOSE_DURING_SEND_BOUND_S)
        (outcome,) = await asyncio.wait_for(sending, CLOSE_DURING_SEND_BOUND_S)
        # Either it finished, or it failed in a way the runner will retry: never lost, never raised.
        assert isinstance(outcome, Delivered) or (isinstance(outcome, Failed) and outcome.retriable)
