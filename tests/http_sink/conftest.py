"""Fixtures of the HTTP sink tests: steerable receivers on loopback, started and stopped here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.egress_helpers import RecordingDialer
from tests.http_sink.helpers import SteerableSink


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[[], Awaitable[SteerableSink]]]:
    """`await receivers()` starts one more SteerableSink on 127.0.0.1; all stop at teardown."""
    started: list[SteerableSink] = []

    async def start() -> SteerableSink:
        receiver = SteerableSink()
        await receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        await receiver.stop()


@pytest.fixture
async def receiver(receivers: Callable[[], Awaitable[SteerableSink]]) -> SteerableSink:
    """One steerable receiver on 127.0.0.1:<free port>."""
    return await receivers()


@pytest.fixture
def dialer() -> RecordingDialer:
    """Records every connection attempt; refuses any outside loopback."""
    return RecordingDialer()
