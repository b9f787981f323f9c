"""Fixtures of the reliability scenarios (the shared ones live in tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.reliability.harness import ChaosSink


@pytest.fixture(scope="session")
def chaos_events() -> int:
    """Events per scenario: `EIS_CHAOS_EVENTS` (`make chaos`: 10000), small in `make test`."""
    return int(os.environ.get("EIS_CHAOS_EVENTS", "300"))


@pytest.fixture
async def sinks() -> AsyncIterator[Callable[..., Awaitable[ChaosSink]]]:
    """`await sinks(**fields)` starts a ChaosSink on a free loopback port; all stop at teardown."""
    started: list[ChaosSink] = []

    async def start(**fields: object) -> ChaosSink:
        sink = ChaosSink(**fields)  # type: ignore[arg-type]
        await sink.start()
        started.append(sink)
        return sink

    yield start
    for sink in started:
        await sink.stop()
