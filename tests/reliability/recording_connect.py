"""`python -m tests.reliability.recording_connect [eis arguments]`: `eis` whose HTTP sinks look
host names up in a fake DNS and dial through a recording dialer (tests/egress_helpers.py).

For the SSRF scenario (tests/reliability/test_ssrf.py): the connector is a real `eis connect`
process — runner, retries, dead letters, commits — and only its sockets are the test's. The
dialer appends every address a connection is attempted to to `$EIS_TEST_DIAL_LOG` and refuses
to create a socket outside loopback; the fake DNS answers from `$EIS_TEST_DNS` (JSON
`{host: [address, …]}`) and fails every other name, so no packet or DNS query leaves the host.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import orjson

from connectors import runner
from connectors.http import HttpSink, HttpSinkConfig
from connectors.sink import Sink
from ops.cli import main
from schemas.config import CompiledDestination
from tests.egress_helpers import FakeResolver, RecordingDialer

DIAL_LOG_ENV = "EIS_TEST_DIAL_LOG"
DNS_ENV = "EIS_TEST_DNS"


def recording_sink_builder(dial_log: Path, dns: dict[str, list[str]]) -> Callable[[CompiledDestination], Sink]:
    """A replacement for `connectors.runner.build_sink`: the same HttpSink, with the test's
    resolver and dialer (the constructor arguments HttpSink keeps for tests)."""
    dialer = RecordingDialer(log=dial_log)
    answers = {host: [addresses] for host, addresses in dns.items()}

    def build(destination: CompiledDestination) -> Sink:
        assert destination.type == "http", "this wrapper records HTTP sinks only"
        config = HttpSinkConfig.model_validate(dict(destination.settings))
        return HttpSink(config, destination, resolver=FakeResolver(answers), socket_factory=dialer)

    return build


if __name__ == "__main__":
    runner.build_sink = recording_sink_builder(Path(os.environ[DIAL_LOG_ENV]),
                                               orjson.loads(os.environ.get(DNS_ENV, "{}")))
    sys.exit(main())
