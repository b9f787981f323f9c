"""Builders for HTTP sink tests: a steerable receiver, sinks and requests for one destination.

No test here sends a packet outside 127.0.0.0/8 or ::1: the fake DNS and the recording dialer
(tests/egress_helpers.py) refuse to, so a broken guard fails a test instead of
reaching the network.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from connectors.http import HttpSink, HttpSinkConfig
from connectors.registry import check_destinations
from connectors.sink import DeliveryRequest
from schemas.config import CompiledDestination, load_pipeline_text
from schemas.envelope import Envelope
from tests.sink_helpers import Received, RecordingSink

ALLOW_LOOPBACK = {"allow": ["127.0.0.1/32"]}
DESTINATION_ID = "r.d"


def destination(settings: dict[str, Any], egress: dict[str, Any] | None = None,
                delivery: dict[str, Any] | None = None) -> CompiledDestination:
    """The one HTTP destination `r.d` of a pipeline loaded from text, its settings checked."""
    tree: dict[str, Any] = {
        "service": "s",
        "routing": [{"name": "r", "destinations": [{"id": "d", "type": "http", **settings}]}],
    }
    if egress is not None:
        tree["egress"] = egress
    if delivery is not None:
        tree["delivery"] = delivery
    pipeline = load_pipeline_text(orjson.dumps(tree).decode(), "json", environ={})
    assert check_destinations(pipeline) == []
    return pipeline.destinations[DESTINATION_ID]


def http_sink(settings: dict[str, Any], egress: dict[str, Any] | None = None,
              delivery: dict[str, Any] | None = None, **kwargs: Any) -> HttpSink:
    """An unopened HttpSink for these settings (kwargs: `resolver`, `socket_factory`)."""
    dest = destination(settings, egress, delivery)
    return HttpSink(HttpSinkConfig.model_validate(dict(dest.settings)), dest, **kwargs)


def request(n: int = 1, data: Any = None, attempt: int = 1, timeout_s: float = 5.0) -> DeliveryRequest:
    """The delivery of event `evt_<n>` (payload `data`, default {"n": n}) to `r.d`."""
    envelope = Envelope(id=f"evt_{n}", source="api", time=1, received_at=1, partition_key=str(n),
                        content_type="application/json", type="t",
                        data={"n": n} if data is None else data)
    return DeliveryRequest(envelope, f"evt_{n}:{DESTINATION_ID}", attempt, timeout_s)


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SteerableSink(RecordingSink):
    """A RecordingSink that also answers per idempotency key and can redirect.

    `by_key[key] = (status, retry_after)`; `redirect_to` answers 307 with that Location to
    requests whose path is not `/final`; `arrivals` counts requests as they begin.
    """

    by_key: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    redirect_to: str | None = None
    arrivals: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first request

    async def _handle(self, request: web.Request) -> web.Response:
        self.arrivals += 1
        self.arrived.set()
        key = request.headers.get("Idempotency-Key", "")
        if self.redirect_to is not None and request.path != "/final":
            return await self._record(request, 307, {"Location": self.redirect_to})
        if key not in self.by_key:
            return await super()._handle(request)
        status, retry_after = self.by_key[key]
        return await self._record(request, status, {"Retry-After": retry_after} if retry_after else None)

    async def _record(self, request: web.Request, status: int,
                      headers: dict[str, str] | None) -> web.Response:
        body = await request.read()
        self.received.append(Received(request.method, request.path_qs, dict(request.headers), body, status))
        assert self._arrived is not None
        async with self._arrived:
            self._arrived.notify_all()
        return web.json_response({"status": status}, status=status, headers=headers)
