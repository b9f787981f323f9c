"""The ingress HTTP(S) listener: aiohttp's runner with our parser limits, TLS, and a cap on
concurrent connections (aiohttp has none: each connection costs a task and buffers)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiohttp import web

from ingress.body import SERVER_KWARGS
from ingress.settings import IngressSettings, ServerLimits
from ingress.state import STATE
from ingress.tls import server_context

_REFUSAL_BODY = b'{"code":"too_many_connections","detail":"the ingress is at its connection limit"}'
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n\r\n"
    + _REFUSAL_BODY
)
_REFUSAL_WAIT_S = 1.0      # for the request head before answering a refused connection
_REFUSAL_HEAD_BYTES = 16_384


class _Refuse(asyncio.Protocol):
    """A connection over the limit: read the request head (so the client is not reset before
    it reads the answer), answer 503 with Retry-After, close."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.seen = b""
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.timer = asyncio.get_running_loop().call_later(_REFUSAL_WAIT_S, self._answer)

    def data_received(self, data: bytes) -> None:
        self.seen = (self.seen + data)[-_REFUSAL_HEAD_BYTES:]
        if b"\r\n\r\n" in self.seen or len(self.seen) >= _REFUSAL_HEAD_BYTES:
            self._answer()

    def _answer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_REFUSAL)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


class GuardedSite(web.BaseSite):
    """A TCP site whose protocol factory refuses connections past `max_connections`."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, limits: ServerLimits,
                 ssl_context: Any = None, on_refused: Any = None) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=limits.backlog)
        self._host = host
        self._port = port
        self._max = limits.max_connections
        self._on_refused = on_refused
        self.port = port

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None

        def factory() -> asyncio.BaseProtocol:
            # `connections` holds every connection aiohttp still serves (including one whose
            # last request is finishing), so the bound covers handlers in flight too.
            if len(server.connections) >= self._max:
                if self._on_refused is not None:
                    self._on_refused()
                return _Refuse()
            return server()

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            factory, self._host, self._port, ssl=self._ssl_context, backlog=self._backlog,
            reuse_address=True)
        sock: socket.socket = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])


def runner_kwargs(settings: IngressSettings) -> dict[str, Any]:
    """AppRunner options: the body pipeline's (auto_decompress off) and the parser limits."""
    return {**SERVER_KWARGS, **settings.server.server_kwargs()}


async def start_listener(app: web.Application, settings: IngressSettings, host: str, port: int,
                         shutdown_timeout: float = 20.0) -> tuple[web.AppRunner, GuardedSite]:
    """Serve `app` on host:port (port 0: any free one, see `site.port`); stop with
    `await runner.cleanup()`."""
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout, **runner_kwargs(settings))
    await runner.setup()

    def refused() -> None:
        if STATE in app:
            app[STATE].metrics.rejected.labels("unknown", "too_many_connections").inc()

    site = GuardedSite(runner, host, port, settings.server, server_context(settings.tls), refused)
    await site.start()
    return runner, site
