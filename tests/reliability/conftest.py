"""Fixtures of the reliability scenarios (the shared ones live in tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.harness import ChaosSink
from tests.stack_helpers import PrivateBroker, StackFactory


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


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A running dev broker of this test's own (`kill()`, then `start()` on the same port)."""
    broker = PrivateBroker(tmp_path / "private-broker")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def private_stack_factory(private_broker: PrivateBroker, tmp_path: Path,
                          unique_name: str) -> Iterator[StackFactory]:
    """`stack_factory` against `private_broker` (its processes stop before the broker does)."""
    private = tmp_path / "private"
    private.mkdir()
    factory = StackFactory(private_broker.settings, private, unique_name)
    yield factory
    factory.stop_all()
