"""The live set of webhook sources: the config file's, plus those provisioned through the admin API
(tailed from `<prefix>.sources`), and how a request's path and `Host` pick one.

Routing (docs/webhook-sources.md, "Routing"):
- `Host:` one of a source's `hosts` → `/webhooks/<id>[/<extra>…]` resolves among the sources
  that list that host only (a custom domain reaches its own tenant's sources).
- `/webhooks/<tenant>/<id>[/<extra>…]` → the source `<id>` if its tenant is `<tenant>`.
- `/webhooks/<id>` → the source `<id>` (exact: an extra path needs one of the two forms above).
The extra path is kept on the envelope as header `x-eis-path`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from ingress.ip_rules import IpRules
from ingress.providers import get_provider
from ingress.rate_limit import RateLimiter
from ingress.settings import IngressSettings
from ingress.state import WebhookSource
from ingress.verification import VerifierConfigError, build_verifier
from schemas.config import Pipeline
from schemas.config.environment import format_path
from schemas.config.sources import WebhookSpec
from schemas.errors import ConfigError, ConfigProblem, UnknownComponentError
from schemas.expressions import ExpressionSyntaxError, compile_expression
from schemas.kafka.own_writes import OwnWrites

log = logging.getLogger(__name__)


class SourceProblems(ConfigError):
    """A definition that cannot be served; each problem carries its path in the definition."""


def _pydantic_problems(exc: ValidationError, prefix: str) -> list[ConfigProblem]:
    problems = []
    for item in exc.errors(include_url=False, include_input=False):
        message = "unknown key" if item["type"] == "extra_forbidden" else str(item["msg"])
        path = format_path(tuple(p for p in item["loc"] if not str(p).startswith("function-")))
        problems.append(ConfigProblem(f"{prefix}{'.' if prefix and path else ''}{path}",
                                      message.removeprefix("Value error, ")))
    return problems


def parse_definition(raw: Any, prefix: str = "") -> WebhookSpec:
    """Validate a definition (the `webhooks[]` model, camelCase); raises SourceProblems."""
    if not isinstance(raw, dict):
        raise SourceProblems([ConfigProblem(prefix, "a webhook source definition is a JSON object")])
    try:
        return WebhookSpec.model_validate(raw)
    except ValidationError as exc:
        raise SourceProblems(_pydantic_problems(exc, prefix)) from None


@dataclass(frozen=True, slots=True)
class Resolved:
    """The source a request addressed and the path after it (`""` when none)."""

    source: WebhookSource
    extra: str


class SourceRegistry:
    """Sources by id, with host routes. Changes replace whole entries: a request holds the
    `WebhookSource` it resolved, so a concurrent update never half-applies to it."""

    def __init__(self, pipeline: Pipeline, settings: IngressSettings,
                 replicas: Callable[[], int]) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.replicas = replicas
        self.config: dict[str, WebhookSource] = {}
        self.provisioned: dict[str, WebhookSource] = {}
        self._stored: dict[str, bytes] = {}        # the record each provisioned source came from
        # Records this process wrote (None: a tombstone), oldest first, not yet read back from
        # the topic: one older than our latest must not undo it when the tail reads it late.
        self._own_writes = OwnWrites()
        self._hosts: dict[str, dict[str, WebhookSource]] = {}
        for index, spec in enumerate(pipeline.spec.webhooks):
            self.config[spec.id] = self.build(spec, f"webhooks[{index}]", "config")
        self._rebuild_hosts()

    # -- building ---------------------------------------------------------------------------

    def build(self, spec: WebhookSpec, path: str, origin: Literal["config", "api"],
              definition: dict[str, Any] | None = None) -> WebhookSource:
        """A servable source, or SourceProblems listing everything wrong with it."""
        problems: list[ConfigProblem] = []
        where = f"{path}." if path else ""
        verifier = None
        try:
            verifier = build_verifier(spec, path or "webhook")
        except VerifierConfigError as exc:
            problems.extend(_strip(exc.problems, path))
        try:
            provider = get_provider(spec.provider)
        except UnknownComponentError as exc:
            problems.append(ConfigProblem(f"{where}provider", str(exc)))
        key_expression = None
        if origin == "api" and spec.partition_key is not None:
            try:
                key_expression = compile_expression(spec.partition_key)
            except ExpressionSyntaxError as exc:
                problems.append(ConfigProblem(f"{where}partitionKey", str(exc)))
        if spec.mtls and not self.settings.tls.verifies_clients:
            problems.append(ConfigProblem(
                f"{where}mtls", "the listener verifies no client certificates: set EIS_TLS_CERT, "
                "EIS_TLS_KEY and EIS_TLS_CLIENT_CA"))
        if problems or verifier is None:
            raise SourceProblems(problems)
        limiter = None
        if spec.rate_limit is not None:
            limiter = RateLimiter(spec.rate_limit.rate, spec.rate_limit.burst, self.replicas)
        return WebhookSource(
            spec=spec, topic=self.pipeline.topics.inbound(spec.id), verifier=verifier,
            provider=provider, allowed_types=frozenset(spec.events) if spec.events else None,
            ip_rules=IpRules.build(spec.ip_allow, spec.ip_deny, spec.trusted_proxies),
            limiter=limiter, key_expression=key_expression, origin=origin, definition=definition,
        )

    # -- lookups ----------------------------------------------------------------------------

    def get(self, source_id: str) -> WebhookSource | None:
        """Config sources win over a provisioned one with the same id (which the API refuses)."""
        return self.config.get(source_id) or self.provisioned.get(source_id)

    def all(self) -> list[WebhookSource]:
        return [*self.config.values(), *(s for i, s in self.provisioned.items() if i not in self.config)]

    def resolve(self, path: str, host: str | None) -> Resolved | None:
        """The source `path` (after `/webhooks/`) names, given the request's host."""
        segments = path.split("/")
        scoped = self._hosts.get(host) if host else None
        if scoped is not None:
            source = scoped.get(segments[0])
            return Resolved(source, "/".join(segments[1:])) if source is not None else None
        if len(segments) >= 2:
            source = self.get(segments[1])
            if source is not None and source.spec.tenant == segments[0]:
                return Resolved(source, "/".join(segments[2:]))
        if len(segments) == 1:
            source = self.get(segments[0])
            if source is not None:
                return Resolved(source, "")
        return None

    def host_owner(self, host: str) -> str | None:
        """The tenant whose source claims `host` (None: unclaimed)."""
        sources = self._hosts.get(host)
        return next(iter(sources.values())).spec.tenant if sources else None

    # -- changes ----------------------------------------------------------------------------

    def put(self, source: WebhookSource, stored: bytes) -> None:
        """Serve a provisioned source (from the API or the topic)."""
        old = self.provisioned.get(source.spec.id)
        self.provisioned[source.spec.id] = source
        self._stored[source.spec.id] = stored
        self._rebuild_hosts()
        if old is not None and old is not source:
            _close_later(old)

    def put_written(self, source: WebhookSource, stored: bytes) -> None:
        """Serve a source this process just wrote to the sources topic."""
        self._own_writes.wrote(source.spec.id, stored)
        self.put(source, stored)

    def remove_written(self, source_id: str) -> None:
        """Stop serving a source whose tombstone this process just wrote."""
        self._own_writes.wrote(source_id, None)
        self.remove(source_id)

    def remove(self, source_id: str) -> bool:
        old = self.provisioned.pop(source_id, None)
        self._stored.pop(source_id, None)
        self._rebuild_hosts()
        if old is not None:
            _close_later(old)
        return old is not None

    def apply_record(self, key: str, value: bytes | None) -> None:
        """One record of the sources topic (ClusterState's callback)."""
        if self._own_writes.read_back(key, value):
            return  # our own write read back: served since we wrote it, or since superseded
        if value is None:
            self.remove(key)
            return
        if self._stored.get(key) == value:
            return  # our own write read back, or a repeat: already served
        if key in self.config:
            log.warning("provisioned source %s ignored: the config file defines that id", key)
            return
        try:
            record = orjson.loads(value)
            definition = record["definition"]
            spec = parse_definition(definition)
            if spec.id != key:
                raise SourceProblems([ConfigProblem("id", f"`{spec.id}` stored under key `{key}`")])
            self.put(self.build(spec, "", "api", definition), value)
        except (orjson.JSONDecodeError, KeyError, TypeError, SourceProblems) as exc:
            # A definition this process cannot serve (e.g. mtls without a client CA here) must
            # not keep serving an older version of it either.
            log.error("provisioned source %s not served: %s", key, exc)
            self.remove(key)

    def _rebuild_hosts(self) -> None:
        hosts: dict[str, dict[str, WebhookSource]] = {}
        for source in self.all():
            for host in source.spec.hosts or ():
                hosts.setdefault(host, {})[source.spec.id] = source
        self._hosts = hosts

    async def close(self) -> None:
        for source in [*self.config.values(), *self.provisioned.values()]:
            await source.verifier.close()


def _strip(problems: list[ConfigProblem], path: str) -> list[ConfigProblem]:
    """Problems of an API definition are located inside it: drop the placeholder prefix."""
    if path:
        return problems
    return [ConfigProblem(p.path.removeprefix("webhook."), p.message) for p in problems]


def _close_later(source: WebhookSource) -> None:
    try:
        asyncio.get_running_loop().create_task(source.verifier.close())
    except RuntimeError:
        pass


def request_host(headers: Mapping[str, str]) -> str | None:
    """The `Host` header's name, lower-cased, without the port."""
    host = headers.get("Host")
    if not host:
        return None
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else None
    return host.rsplit(":", 1)[0] if ":" in host else host
