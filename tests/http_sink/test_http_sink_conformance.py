"""The HTTP sink passes the sink conformance suite against a steerable loopback receiver."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from connectors.http import HttpSink
from tests.http_sink.helpers import ALLOW_LOOPBACK, SteerableSink, http_sink
from tests.http_sink.sink_conformance import SinkConformance


@dataclass
class HttpHarness:
    """Steers a SteerableSink; builds HttpSinks posting to it (127.0.0.1 allow-listed)."""

    receiver: SteerableSink

    def build(self) -> HttpSink:
        return http_sink({"url": f"{self.receiver.url}/in"}, ALLOW_LOOPBACK)

    def refuse(self, idempotency_key: str, *, retriable: bool, retry_after_s: int | None = None) -> None:
        status = (429 if retry_after_s is not None else 503) if retriable else 422
        self.receiver.by_key[idempotency_key] = (status, None if retry_after_s is None else str(retry_after_s))

    def stall(self, seconds: float) -> None:
        self.receiver.delay_s = seconds

    def arrivals(self) -> int:
        return self.receiver.arrivals

    def accepted(self) -> list[str]:
        return [r.headers["Idempotency-Key"] for r in self.receiver.delivered]


class TestHttpSinkConformance(SinkConformance):
    destination_type = "http"

    @pytest.fixture
    def harness(self, receiver: SteerableSink) -> HttpHarness:
        return HttpHarness(receiver)
