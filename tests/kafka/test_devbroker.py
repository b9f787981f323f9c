"""The dev broker launcher."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from ops.devbroker import DevBroker, DevBrokerError, free_port


def test_start_on_a_chosen_port_answers_metadata_and_stop_ends_it() -> None:
    port = free_port()
    with DevBroker.start(port) as broker:
        assert broker.bootstrap == f"127.0.0.1:{port}"
        assert AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=5).brokers
    assert broker.process.returncode is not None


def test_a_broker_that_exits_raises_with_its_log_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "tansu"
    fake.write_text("#!/bin/sh\necho 'address already in use' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EIS_DEVBROKER_BIN", str(fake))
    with pytest.raises(DevBrokerError, match="(?s)exited with code 3.*address already in use"):
        DevBroker.start(free_port(), ready_timeout=5)
