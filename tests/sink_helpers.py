"""A destination a test can steer (STYLE.md 13): records every request; answers from a script."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the sink saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class RecordingSink:
    """An HTTP receiver on 127.0.0.1:<free port>.

    `script` answers requests in order (status codes, then `default_status` for the rest);
    `delay_s` sleeps before answering; `retry_after` adds a Retry-After header to 429/503s.
    `host` is any loopback address (127.0.0.2, ::1): SSRF tests tell allowed and denied
    loopback destinations apart by it.
    """

    default_status: int = 200
    delay_s: float = 0.0
    retry_after: str | None = None
    script: deque[int] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    host: str = "127.0.0.1"
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Condition | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order."""
        self.script.extend(statuses)

    @property
    def delivered(self) -> list[Received]:
        """Requests answered with a 2xx."""
        return [r for r in self.received if 200 <= r.status < 300]

    async def start(self) -> RecordingSink:
        self._arrived = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        return await self._reply(request, await request.read())

    async def _reply(self, request: web.Request, body: bytes) -> web.Response:
        """Wait `delay_s`, then answer the next scripted status (or `default_status`)."""
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status = self.script.popleft() if self.script else self.default_status
        return await self._answer(request, body, status)

    async def _answer(self, request: web.Request, body: bytes, status: int) -> web.Response:
        """Record the request and answer `status` (with Retry-After on 429/503)."""
        self.record(request, body, status)
        headers = {"Retry-After": self.retry_after} if self.retry_after and status in (429, 503) else None
        return web.json_response({"status": status}, status=status, headers=headers)

    def record(self, request: web.Request, body: bytes, status: int) -> None:
        """Keep the request and wake whoever waits for arrivals (subclasses add what they join on)."""
        self.received.append(Received(request.method, request.path_qs, dict(request.headers), body, status))
        arrived = self._arrived
        assert arrived is not None

        async def wake() -> None:
            async with arrived:
                arrived.notify_all()
        asyncio.get_running_loop().create_task(wake())

    async def wait_for(self, count: int, timeout: float = 30.0, delivered_only: bool = True) -> list[Received]:
        """Wait until `count` requests (2xx ones by default) arrived; fail after `timeout`."""
        assert self._arrived is not None

        def enough() -> bool:
            return len(self.delivered if delivered_only else self.received) >= count

        async with self._arrived:
            try:
                await asyncio.wait_for(self._arrived.wait_for(enough), timeout)
            except TimeoutError:
                got = len(self.delivered if delivered_only else self.received)
                raise AssertionError(f"sink got {got} of {count} requests within {timeout}s") from None
        return self.delivered if delivered_only else self.received
