"""`type: http` — deliver each event as one HTTP request (default POST of the JSON payload)."""

from __future__ import annotations

import asyncio
from typing import ClassVar, Literal

import aiohttp
import orjson
from pydantic import Field

from connectors.http_outcomes import outcome_of_status
from connectors.sink import DeliveryRequest, Failed, Outcome
from schemas.config import CompiledDestination
from schemas.config.base import ConfigModel
from schemas.expressions import Context, ExpressionError, Template, compile_template

USER_AGENT = "EIS/0.1 (+event-integration-services)"
ERROR_EXCERPT_BYTES = 512


class HttpSinkConfig(ConfigModel):
    """Settings of an HTTP destination."""

    url: str = Field(description="target URL; may use placeholders: https://h/c/{{customerId}}")
    method: Literal["POST", "PUT", "PATCH", "DELETE", "GET"] = Field("POST", description="HTTP method")
    headers: dict[str, str] = Field(default_factory=dict,
                                    description="extra request headers; values may use placeholders")
    content_type: str = Field("application/json", description="Content-Type of the body")
    max_connections: int = Field(100, ge=1, le=10_000, description="connection pool size")


class HttpSink:
    """Sends each request on its own; one pooled session per destination."""

    Config: ClassVar[type[HttpSinkConfig]] = HttpSinkConfig

    def __init__(self, config: HttpSinkConfig, destination: CompiledDestination) -> None:
        self.config = config
        self.destination = destination
        self._url: Template = compile_template(config.url)
        self._headers: dict[str, Template] = {k: compile_template(v) for k, v in config.headers.items()}
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the connection pool."""
        connector = aiohttp.TCPConnector(limit=self.config.max_connections)
        self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT})

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()

    def describe(self) -> str:
        """The configured URL (placeholders unrendered)."""
        return self.config.url

    async def send(self, batch: list[DeliveryRequest]) -> list[Outcome]:
        """One request per event, concurrently; outcomes in request order."""
        if len(batch) == 1:
            return [await self._send_one(batch[0])]
        return list(await asyncio.gather(*(self._send_one(r) for r in batch)))

    async def _send_one(self, request: DeliveryRequest) -> Outcome:
        assert self._session is not None, "open() first"
        envelope = request.envelope
        context = Context(payload=envelope.data, envelope=envelope.scope_fields())
        try:
            url = self._url.render(context)
            headers = {name: template.render(context) for name, template in self._headers.items()}
        except ExpressionError as exc:
            return Failed(f"cannot render request: {exc}", retriable=False)
        headers.update({
            "Content-Type": self.config.content_type,
            "Idempotency-Key": request.idempotency_key,
            "webhook-id": request.idempotency_key,
            "X-EIS-Event-Id": envelope.id,
            "X-EIS-Attempt": str(request.attempt),
        })
        body = None if self.config.method == "GET" else orjson.dumps(envelope.data)
        try:
            async with self._session.request(
                self.config.method, url, data=body, headers=headers, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=request.timeout_s),
            ) as response:
                excerpt = b""
                if not 200 <= response.status < 300:
                    excerpt = await response.content.read(ERROR_EXCERPT_BYTES)
                return outcome_of_status(response.status, response.headers.get("Retry-After"),
                                         excerpt.decode("utf-8", "replace").strip())
        except TimeoutError:
            return Failed(f"timed out after {request.timeout_s:g}s", retriable=True)
        except aiohttp.InvalidURL as exc:
            return Failed(f"invalid URL {exc}", retriable=False)
        except (aiohttp.ClientError, OSError) as exc:
            return Failed(f"{type(exc).__name__}: {exc}", retriable=True)


