"""`type: http` — deliver each event as one HTTP request (default POST of the JSON payload).

The sink stays small: the SSRF guard is connectors/egress.py, Standard Webhooks signing
connectors/signing.py, the choice among several instances connectors/balancing.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver
from aiohttp.connector import SocketFactoryType
from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, model_validator

from connectors.balancing import Balancer, Strategy
from connectors.egress import EgressPolicy, GuardedConnector, denial_of
from connectors.http_outcomes import outcome_of_status
from connectors.signing import Signer, decode_secret
from connectors.sink import DeliveryRequest, Failed, Outcome
from schemas.config import CompiledDestination
from schemas.config.base import ConfigModel, DurationMs
from schemas.errors import ConfigError, ConfigProblem
from schemas.expressions import (
    Context,
    ExpressionError,
    ExpressionSyntaxError,
    Template,
    compile_template,
)

USER_AGENT = "EIS/0.1 (+event-integration-services)"
ERROR_EXCERPT_BYTES = 512


def _template(text: str) -> str:
    try:
        compile_template(text)  # a placeholder typo is a config error with its path, not a crash
    except ExpressionSyntaxError as exc:
        raise ValueError(str(exc)) from None
    return text


def _secret(secret: SecretStr) -> SecretStr:
    decode_secret(secret.get_secret_value())  # ValueError names the problem, never the value
    return secret


def _instance(value: object) -> object:
    return {"url": value} if isinstance(value, str) else value  # `- https://…` is {url: …}


UrlTemplate = Annotated[str, AfterValidator(_template)]


class HttpInstance(ConfigModel):
    """One instance of a balanced destination."""

    url: UrlTemplate = Field(description="target URL; may use placeholders")
    weight: int = Field(1, ge=1, le=1000, description="share of requests with strategy: weighted")


class HttpSinkConfig(ConfigModel):
    """Settings of an HTTP destination: `url`, or several `urls` with a balancing `strategy`."""

    url: UrlTemplate | None = Field(
        None, description="target URL; may use placeholders: https://h/c/{{customerId}}")
    urls: list[Annotated[HttpInstance, BeforeValidator(_instance)]] | None = Field(
        None, min_length=1, max_length=64,
        description="instances instead of `url` (strings or {url, weight}); a connection error "
                    "fails over to the next within the same attempt, an HTTP error does not")
    strategy: Strategy = Field("round-robin", description="how `urls` share the requests: "
                               "round-robin, weighted, least-outstanding")
    method: Literal["POST", "PUT", "PATCH", "DELETE", "GET"] = Field("POST", description="HTTP method")
    headers: dict[str, str] = Field(default_factory=dict,
                                    description="extra request headers; values may use placeholders")
    content_type: str = Field("application/json", description="Content-Type of the body")
    max_connections: int = Field(100, ge=1, le=10_000, description="connection pool size")
    connect_timeout: DurationMs = Field(
        5000, ge=1, description="time to open a connection before failing over (ms); the "
                                "destination's `timeout` bounds the whole attempt")
    follow_redirects: bool = Field(
        False, description="follow 3xx (each hop passes the egress guard); off: a 3xx dead-letters")
    signing_secrets: list[Annotated[SecretStr, AfterValidator(_secret)]] = Field(
        default_factory=list, max_length=2,
        description="Standard Webhooks secrets `whsec_…`; two while rotating (each signs); "
                    "default: delivery.signingSecret; none: unsigned")

    @model_validator(mode="after")
    def _one_target(self) -> HttpSinkConfig:
        if (self.url is None) == (self.urls is None):
            raise ValueError("set either `url` or `urls`")
        if self.strategy != "weighted" and any(weight != 1 for _, weight in self.instances()):
            raise ValueError("`weight` needs strategy: weighted")
        return self

    def instances(self) -> list[tuple[str, int]]:
        """(url template, weight) of every instance, in configuration order."""
        if self.urls is None:
            return [(self.url or "", 1)]
        return [(u.url, u.weight) for u in self.urls]


@dataclass(frozen=True, slots=True, eq=False)
class _Instance:
    source: str
    url: Template
    weight: int


@dataclass(frozen=True, slots=True)
class _Unreachable:
    """A connection that could not be opened: the request was not sent, so failing over is safe."""

    error: str


class HttpSink:
    """Sends each request on its own; one pooled, egress-guarded session per destination.

    `resolver` (the DNS lookups the guard checks) and `socket_factory` (the dialer) are for tests.
    """

    Config: ClassVar[type[HttpSinkConfig]] = HttpSinkConfig

    def __init__(self, config: HttpSinkConfig, destination: CompiledDestination, *,
                 resolver: AbstractResolver | None = None,
                 socket_factory: SocketFactoryType | None = None) -> None:
        self.config = config
        self.destination = destination
        self.balancer: Balancer[_Instance] = Balancer(
            [(_Instance(u, compile_template(u), w), w) for u, w in config.instances()], config.strategy)
        self._headers: dict[str, Template] = {k: compile_template(v) for k, v in config.headers.items()}
        self._signer = _signer(config, destination)
        self._policy = EgressPolicy.from_spec(destination.egress)
        self._resolver = resolver
        self._socket_factory = socket_factory
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the connection pool."""
        connector = GuardedConnector(self._policy, self._resolver, limit=self.config.max_connections,
                                     socket_factory=self._socket_factory)
        self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT})

    async def close(self) -> None:
        """Close the connection pool; a request still in flight ends as a retriable failure."""
        if self._session is not None:
            await self._session.close()

    def describe(self) -> str:
        """The configured URL, or the strategy and every instance (placeholders unrendered)."""
        if self.config.urls is None:
            return self.config.url or ""
        weighted = self.config.strategy == "weighted"
        return f"{self.config.strategy}: " + ", ".join(
            f"{u} (weight {w})" if weighted else u for u, w in self.config.instances())

    async def send(self, batch: list[DeliveryRequest]) -> list[Outcome]:
        """One request per event, concurrently; outcomes in request order."""
        if len(batch) == 1:
            return [await self._send_one(batch[0])]
        return list(await asyncio.gather(*(self._send_one(r) for r in batch)))

    async def _send_one(self, request: DeliveryRequest) -> Outcome:
        assert self._session is not None, "open() first"
        if self._session.closed:
            return Failed("sink closed before the request was sent", retriable=True, kind="network")
        envelope = request.envelope
        context = Context(payload=envelope.data, envelope=envelope.scope_fields())
        try:
            urls = [(instance, instance.url.render(context)) for instance in self.balancer.order()]
            headers = {name: template.render(context) for name, template in self._headers.items()}
        except ExpressionError as exc:
            return Failed(f"cannot render request: {exc}", retriable=False)
        body = None if self.config.method == "GET" else orjson.dumps(envelope.data)
        headers.update({
            "Content-Type": self.config.content_type,
            "Idempotency-Key": request.idempotency_key,
            "webhook-id": request.idempotency_key,
            "X-EIS-Event-Id": envelope.id,
            "X-EIS-Attempt": str(request.attempt),
        })
        if self._signer is not None:
            headers.update(self._signer.headers(request.idempotency_key, body or b""))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request.timeout_s
        errors: list[str] = []
        for instance, url in urls:  # fail over on connection errors only, within this attempt
            remaining = deadline - loop.time()
            if remaining <= 0:
                return Failed(f"timed out after {request.timeout_s:g}s", retriable=True, kind="timeout")
            with self.balancer.outstanding(instance):
                result = await self._request(url, body, headers, remaining)
            if not isinstance(result, _Unreachable):
                return result
            errors.append(result.error)
        if len(errors) == 1:
            return Failed(errors[0], retriable=True, kind="network")
        return Failed(f"no instance reachable: {'; '.join(errors)}", retriable=True, kind="network")

    async def _request(self, url: str, body: bytes | None, headers: dict[str, str],
                       remaining_s: float) -> Outcome | _Unreachable:
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=remaining_s,
                                        sock_connect=min(self.config.connect_timeout / 1000, remaining_s))
        try:
            async with self._session.request(
                self.config.method, url, data=body, headers=headers, timeout=timeout,
                allow_redirects=self.config.follow_redirects,
            ) as response:
                excerpt = b""
                if not 200 <= response.status < 300:
                    excerpt = await response.content.read(ERROR_EXCERPT_BYTES)
                return outcome_of_status(response.status, response.headers.get("Retry-After"),
                                         excerpt.decode("utf-8", "replace").strip(),
                                         followed_redirects=self.config.follow_redirects)
        except aiohttp.ClientConnectorError as exc:
            denied = denial_of(exc)
            if denied is not None:  # a policy refusal, not an outage: no failover, no retry
                return Failed(str(denied), retriable=False)
            return _Unreachable(f"{type(exc).__name__}: {exc}")
        except aiohttp.ConnectionTimeoutError:
            return _Unreachable(f"{url}: no connection within {timeout.sock_connect:g}s")
        except TimeoutError:
            return Failed(f"timed out after {remaining_s:.3g}s", retriable=True, kind="timeout")
        except aiohttp.TooManyRedirects as exc:
            return Failed(f"too many redirects: {exc}", retriable=False)
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            return Failed(f"invalid URL {exc}", retriable=False)
        except (aiohttp.ClientError, OSError) as exc:
            return Failed(f"{type(exc).__name__}: {exc}", retriable=True, kind="network")


def _signer(config: HttpSinkConfig, destination: CompiledDestination) -> Signer | None:
    """The destination's own secrets, else delivery.signingSecret, else unsigned."""
    if config.signing_secrets:
        return Signer.from_secrets([s.get_secret_value() for s in config.signing_secrets])
    if destination.signing_secret is None:
        return None
    try:
        return Signer.from_secrets([destination.signing_secret.get_secret_value()])
    except ValueError as exc:
        raise ConfigError([ConfigProblem("delivery.signingSecret", str(exc))]) from None
