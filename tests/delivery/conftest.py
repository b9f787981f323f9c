"""Fixtures of the delivery tests (the shared ones live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.delivery.helpers import FlakySink


@pytest.fixture
async def flaky() -> AsyncIterator[FlakySink]:
    """A FlakySink on a free loopback port (no failures until the test sets them)."""
    receiver = await FlakySink().start()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def flaky2() -> AsyncIterator[FlakySink]:
    """A second FlakySink, for tests with two destinations."""
    receiver = await FlakySink().start()
    yield receiver
    await receiver.stop()
