"""`webhooks:` and `ingestion:` — where events come from."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from schemas.config.base import ConfigModel, OpenConfigModel, SizeBytes

SOURCE_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


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
    tenant: str | None = Field(None, description="tenant that owns this source")


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
