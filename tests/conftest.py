"""Shared fixtures. Add yours under a section header; put helpers in tests/*_helpers.py."""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Iterator

import pytest

from ops.devbroker import DevBroker
from schemas.kafka import KafkaSettings
from tests.stack_helpers import StackFactory, kafka_settings_for_tests

# ---------------------------------------------------------------------------------------------
# Kafka: one dev broker for the whole session (testing tier 2)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dev_broker() -> Iterator[DevBroker]:
    """The session's broker process; most tests want `kafka` (settings) instead."""
    with DevBroker.start() as broker:
        yield broker
        # A broker that died mid-session makes later tests fail with transport errors; say how
        # it died (a negative code is the signal that killed it) so nobody chases those errors.
        if broker.process.poll() is not None:
            warnings.warn(
                f"dev broker exited during the session (code {broker.process.returncode})"
                f"{broker.log_tail()}",
                stacklevel=1,
            )


@pytest.fixture(scope="session")
def kafka(dev_broker: DevBroker) -> KafkaSettings:
    """Settings pointing at the session broker. Topics live for the session: use `names`."""
    return kafka_settings_for_tests(dev_broker.bootstrap)


class Names:
    """Unique topic and group names for one test, readable in broker logs."""

    def __init__(self, test_name: str):
        self.prefix = re.sub(r"[^a-zA-Z0-9]+", "-", test_name)[:40].strip("-")
        self.token = uuid.uuid4().hex[:8]

    def topic(self, suffix: str = "") -> str:
        return f"t.{self.prefix}.{self.token}{'.' + suffix if suffix else ''}"

    def group(self, suffix: str = "") -> str:
        return f"g.{self.prefix}.{self.token}{'.' + suffix if suffix else ''}"


@pytest.fixture
def names(request: pytest.FixtureRequest) -> Names:
    """`names.topic("in")`, `names.group()`: unique per test, so tests never share state."""
    return Names(request.node.name)


@pytest.fixture
def unique_name() -> str:
    """A short unique name for anything that needs one."""
    return f"t{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------------------------
# Destinations and whole stacks (testing tiers 3 and 4)
# ---------------------------------------------------------------------------------------------

from collections.abc import AsyncIterator, Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from tests.sink_helpers import RecordingSink  # noqa: E402
from tests.stack_helpers import Stack  # noqa: E402


@pytest.fixture
async def sink() -> AsyncIterator[RecordingSink]:
    """A steerable HTTP receiver on a free loopback port."""
    receiver = await RecordingSink().start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def stack_factory(
    kafka: KafkaSettings, tmp_path: Path, unique_name: str
) -> Iterator[Callable[[str], Stack]]:
    """`stack_factory(config_yaml)` → a Stack whose topics and groups are unique to the test.

    The YAML may use `{prefix}` and `{service}`; processes are stopped at teardown.
    """
    factory = StackFactory(kafka, tmp_path, unique_name)
    yield factory
    factory.stop_all()
