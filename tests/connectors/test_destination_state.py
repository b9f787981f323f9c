"""The destination-state record (410 Gone disables a destination) and a switch, without Kafka."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry

from connectors.http_outcomes import outcome_of_status
from connectors.sink import Failed
from connectors.switch import Switch
from schemas.destination_state import FENCE_KEY, DestinationState
from schemas.errors import DecodeError
from schemas.kafka.destination_states import apply_record
from schemas.metrics import Metrics


def test_a_410_is_gone_and_not_retried() -> None:
    outcome = outcome_of_status(410, None, "no such hook")
    assert isinstance(outcome, Failed) and outcome.gone and not outcome.retriable
    assert outcome.status_code == 410
    other = outcome_of_status(404, None, "")
    assert isinstance(other, Failed) and not other.gone


def test_a_state_record_round_trips() -> None:
    gone = DestinationState.gone("evt_1", 410, "HTTP 410: gone")
    assert DestinationState.decode(gone.encode()) == gone
    assert gone.disabled and gone.event_id == "evt_1" and gone.status == 410
    enabled = DestinationState.enabled()
    assert DestinationState.decode(enabled.encode()) == enabled and not enabled.disabled
    assert set(DestinationState.decode(gone.encode()).describe("r.s")) == {
        "destination", "state", "reason", "eventId", "status", "at"}


@pytest.mark.parametrize(("value", "says"), [
    (b"not json", "not a destination-state record"),
    (b"[]", "expected a JSON object"),
    (b'{"state": "paused", "at": 1}', "'paused' is not one of enabled, disabled"),
    (b'{"state": "enabled"}', "`at` must be epoch milliseconds"),
    (b'{"state": "disabled", "at": 1, "status": "410"}', "`status` must be an integer"),
])
def test_a_bad_record_says_what_is_wrong(value: bytes, says: str) -> None:
    with pytest.raises(DecodeError, match=says):
        DestinationState.decode(value)


def test_records_fold_into_the_latest_state_per_destination() -> None:
    states: dict[str, DestinationState] = {}
    assert apply_record(states, b"r.s", DestinationState.gone("evt_1", 410, "gone").encode()) == "r.s"
    assert apply_record(states, FENCE_KEY, b"") is None
    assert apply_record(states, b"r.t", b"garbage") is None          # logged, ignored
    assert states["r.s"].disabled and "r.t" not in states
    apply_record(states, b"r.s", DestinationState.enabled().encode())
    assert not states["r.s"].disabled
    assert apply_record(states, b"r.s", None) == "r.s" and states == {}


async def test_a_switch_holds_until_enabled_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics(CollectorRegistry())
    switch = Switch("r.s", metrics)
    stopping = asyncio.Event()
    gauge = ("eis_destination_disabled", {"destination": "r.s"})
    assert await switch.wait_enabled(stopping) and metrics.registry.get_sample_value(*gauge) == 0
    with caplog.at_level(logging.WARNING, logger="eis.connect"):
        await switch.disable(DestinationState.gone("evt_1", 410, "HTTP 410"), stopping)
        await switch.disable(DestinationState.gone("evt_2", 410, "HTTP 410"), stopping)  # a second lane
    assert len([r for r in caplog.records if "disabled" in r.getMessage()]) == 1
    assert metrics.registry.get_sample_value(*gauge) == 1 and switch.state.event_id == "evt_1"
    waiter = asyncio.create_task(switch.wait_enabled(stopping))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    switch.apply(DestinationState.enabled())
    assert await waiter and metrics.registry.get_sample_value(*gauge) == 0
    switch.apply(DestinationState.gone("evt_3", 410, "HTTP 410"))
    stopping.set()
    assert not await switch.wait_enabled(stopping)     # stopping: the event stays uncommitted
