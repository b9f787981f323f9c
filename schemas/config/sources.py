"""`webhooks:` and `ingestion:` — where events come from."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from schemas.config.base import ConfigModel, DurationMs, OpenConfigModel, SizeBytes

SOURCE_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
TENANT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
# A host name as `Host:` carries it, without the port (lower-cased before matching).
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$"

# Stripe and PayPal retry for three days: remember provider ids a day longer than that.
DEFAULT_REPLAY_WINDOW_MS = 96 * 3_600_000
# The `<prefix>.ingress.seen` topic keeps records this long (topic_plan), so no window may exceed it.
MAX_REPLAY_WINDOW_MS = 7 * 86_400_000
MAX_CIDRS = 1000
_HOST = re.compile(HOST_NAME)


def _cidrs(values: list[str] | None) -> list[str] | None:
    """Validate CIDR (or single-address) strings, IPv4 or IPv6; host bits set are refused as typos."""
    if values is None:
        return None
    for value in values:
        try:
            ipaddress.ip_network(value.strip(), strict=True)
        except ValueError as exc:
            raise ValueError(f"`{value}` is not a CIDR block ({exc})") from None
    return [v.strip() for v in values]


class RateLimitSpec(ConfigModel):
    """A token bucket for one source, shared by every ingress process (docs/webhook-sources.md)."""

    rate: float = Field(gt=0, le=1_000_000, description="requests per second, sustained")
    burst: int | None = Field(
        None, ge=1, le=1_000_000,
        description="requests allowed at once on a full bucket; default: the rate rounded up",
    )


class VerificationSpec(OpenConfigModel):
    """`{type, …}`: the verifier named by `type` validates the other keys."""

    type: str = Field(description="verification scheme, e.g. stripe-signature; `none` to opt out")


class WebhookSpec(ConfigModel):
    """One webhook source: `POST /webhooks/<id>` on the ingress."""

    id: str = Field(pattern=SOURCE_ID, description="source id; also the path segment")
    provider: str | None = Field(None, description="stripe, paypal, github, shopify, … (sets `type`)")
    endpoint: str | None = Field(None, description="the public URL providers are given")
    signing_secret: SecretStr | None = Field(None, description="secret for signature schemes")
    events: list[str] | None = Field(None, description="allow-list of event types")
    verification: VerificationSpec = Field(
        description="how requests are authenticated; `{type: none}` is an explicit opt-out",
    )
    partition_key: str | None = Field(None, description="expression; overrides delivery's")
    tenant: str | None = Field(None, pattern=TENANT_ID, description="tenant that owns this source; "
                               "also reachable as `/webhooks/<tenant>/<id>/…`")
    replay_window: DurationMs = Field(
        DEFAULT_REPLAY_WINDOW_MS, ge=0, le=MAX_REPLAY_WINDOW_MS,
        description="how long a provider event id is remembered: a repeat within it is answered "
        "200 (`duplicate`) and not produced again; 0 turns replay protection off",
    )
    ip_allow: list[str] | None = Field(
        None, max_length=MAX_CIDRS,
        description="CIDR blocks (IPv4/IPv6) a request must come from; default: any address",
    )
    ip_deny: list[str] | None = Field(
        None, max_length=MAX_CIDRS, description="CIDR blocks refused (403 `ip_denied`), checked first",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, max_length=MAX_CIDRS,
        description="CIDR blocks of proxies whose X-Forwarded-For is believed; empty: the header "
        "is ignored and the peer address is the client",
    )
    rate_limit: RateLimitSpec | None = Field(
        None, description="`{rate, burst}` token bucket; over it: 429 with Retry-After",
    )
    mtls: bool = Field(
        False, description="require a client certificate verified against EIS_TLS_CLIENT_CA (403 otherwise)",
    )
    hosts: list[str] | None = Field(
        None, max_length=100,
        description="custom domains (`Host:`) that route `/webhooks/<id>/…` to this source",
    )

    @field_validator("ip_allow", "ip_deny", "trusted_proxies")
    @classmethod
    def _valid_cidrs(cls, value: list[str] | None) -> list[str] | None:
        return _cidrs(value)

    @field_validator("hosts")
    @classmethod
    def _lower_hosts(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for host in value:
            if not _HOST.match(host):
                raise ValueError(f"`{host}` is not a host name (no scheme, port or path)")
        return [h.lower() for h in value]


class MqttSpec(ConfigModel):
    """An MQTT subscription bridged into Kafka."""

    broker: str = Field(description="mqtt://host:port")
    topics: list[str] = Field(min_length=1, description="subscriptions, `+`/`#` wildcards")
    qos: Literal[0, 1, 2] = 1


class HttpIngestSpec(ConfigModel):
    """The publish API `POST /v1/events`."""

    endpoint: str | None = Field(None, description="the public URL clients are given")
    auth: Literal["none", "api-key"] = Field("api-key", description="how publishers authenticate")
    api_keys: list[SecretStr] | None = Field(
        None, description="accepted keys (`Authorization: Bearer …` or `X-API-Key`); "
        "default: EIS_API_KEYS, comma-separated",
    )


class WebSocketSpec(ConfigModel):
    """A WebSocket stream endpoint."""

    endpoint: str | None = None
    auth: Literal["none", "api-key", "jwt"] = "jwt"


class ProtocolEntry(ConfigModel):
    """One `- mqtt: …` / `- http: …` / `- websocket: …` list item."""

    mqtt: MqttSpec | None = None
    http: HttpIngestSpec | None = None
    websocket: WebSocketSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ProtocolEntry:
        if sum(x is not None for x in (self.mqtt, self.http, self.websocket)) != 1:
            raise ValueError("each protocol entry names exactly one of: mqtt, http, websocket")
        return self


class ValidationSpec(ConfigModel):
    """Checks applied to published events before they enter Kafka."""

    schema_: str | None = Field(None, alias="schema", description="a named schema")
    required: list[str] = Field(default_factory=list, description="payload fields that must exist")
    max_size: SizeBytes | None = Field(None, description="largest accepted event, e.g. 10KB")


class IngestionSpec(ConfigModel):
    """Non-webhook ingestion."""

    protocols: list[ProtocolEntry] = Field(default_factory=list)
    validation: ValidationSpec | None = None

    def http(self) -> HttpIngestSpec | None:
        """The publish API settings, when configured."""
        return next((p.http for p in self.protocols if p.http is not None), None)
