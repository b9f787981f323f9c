"""Ingress settings from the environment (EIS_*)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from ingress.body import BodyLimits
from schemas.environment import env_int, env_seconds


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Limits of the HTTP listener against abusive clients (docs/webhook-sources.md, "Limits").

    The header limits are aiohttp's parser limits (a request over them is answered 400 by
    aiohttp itself). `idle_timeout_s` is aiohttp's keep-alive timeout, which since aiohttp 3.14
    also runs from the moment a connection opens until its first request head is complete: a
    client that trickles header bytes (slow-loris) is cut off after it. `body_timeout_s` bounds
    reading a body once the head arrived (408). `max_connections` is per process: a connection
    over it is answered 503 and closed.
    """

    max_line_size: int = 8190         # request line and each header line, bytes
    max_field_size: int = 8190        # one header value, bytes
    max_headers: int = 100            # header count
    idle_timeout_s: float = 15.0      # connection open / between requests, until a full head
    body_timeout_s: float = 30.0      # reading the body of one request
    max_connections: int = 1000       # open connections per process
    backlog: int = 1024

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ValueError(f"ServerLimits.{f.name} must be > 0")

    def server_kwargs(self) -> dict[str, object]:
        """Keyword arguments for `web.AppRunner` / aiohttp's request handler."""
        return {"max_line_size": self.max_line_size, "max_field_size": self.max_field_size,
                "max_headers": self.max_headers, "keepalive_timeout": self.idle_timeout_s}


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """TLS on the listener (EIS_TLS_CERT + EIS_TLS_KEY); with a client CA, sources with
    `mtls: true` require a client certificate verified against it."""

    cert: str | None = None
    key: str | None = None
    client_ca: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("EIS_TLS_CERT and EIS_TLS_KEY are set together or not at all")
        if self.client_ca is not None and self.cert is None:
            raise ValueError("EIS_TLS_CLIENT_CA needs EIS_TLS_CERT and EIS_TLS_KEY")

    @property
    def enabled(self) -> bool:
        return self.cert is not None

    @property
    def verifies_clients(self) -> bool:
        return self.client_ca is not None


@dataclass(frozen=True, slots=True)
class IngressSettings:
    """Limits and neighbours of one ingress process."""

    limits: BodyLimits = field(default_factory=BodyLimits)
    worker_url: str = "http://127.0.0.1:6066"   # where delivery lookups are answered
    max_batch_events: int = 1000
    retry_after_s: int = 5                       # told to senders while Kafka is unreachable
    produce_timeout_s: float = 10.0
    server: ServerLimits = field(default_factory=ServerLimits)
    tls: TlsSettings = field(default_factory=TlsSettings)
    # The admin API (`/v1/webhooks`) answers only with this bearer key; None: disabled (404).
    admin_key: str | None = field(default=None, repr=False)
    # Rate-limit shares: a fixed number of ingress processes, or None to count live ones from
    # their heartbeats on the seen topic (docs/webhook-sources.md, "Rate limits").
    replicas: int | None = None
    heartbeat_interval_s: float = 2.0
    # Provider event ids held in memory for replay protection (oldest evicted first).
    replay_max_entries: int = 500_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IngressSettings:
        """Read EIS_MAX_BODY_BYTES, EIS_MAX_DECODED_BYTES, EIS_WORKER_URL, EIS_TLS_*, …

        Raises SettingError naming a variable whose value cannot be used."""
        env = os.environ if environ is None else environ
        defaults = BodyLimits()
        server = ServerLimits()
        replicas = env.get("EIS_INGRESS_REPLICAS")
        return cls(
            limits=BodyLimits(
                max_body_bytes=env_int("EIS_MAX_BODY_BYTES", defaults.max_body_bytes, environ=env),
                max_decoded_bytes=env_int("EIS_MAX_DECODED_BYTES", defaults.max_decoded_bytes, environ=env),
            ),
            worker_url=env.get("EIS_WORKER_URL", "http://127.0.0.1:6066"),
            max_batch_events=env_int("EIS_MAX_BATCH_EVENTS", 1000, environ=env),
            server=ServerLimits(
                max_line_size=env_int("EIS_MAX_LINE_SIZE", server.max_line_size, environ=env),
                max_field_size=env_int("EIS_MAX_FIELD_SIZE", server.max_field_size, environ=env),
                max_headers=env_int("EIS_MAX_HEADERS", server.max_headers, environ=env),
                idle_timeout_s=env_seconds("EIS_IDLE_TIMEOUT_S", server.idle_timeout_s, environ=env),
                body_timeout_s=env_seconds("EIS_BODY_TIMEOUT_S", server.body_timeout_s, environ=env),
                max_connections=env_int("EIS_MAX_CONNECTIONS", server.max_connections, environ=env),
            ),
            tls=TlsSettings(cert=env.get("EIS_TLS_CERT") or None, key=env.get("EIS_TLS_KEY") or None,
                            client_ca=env.get("EIS_TLS_CLIENT_CA") or None),
            admin_key=env.get("EIS_ADMIN_KEY") or None,
            replicas=env_int("EIS_INGRESS_REPLICAS", 1, environ=env) if replicas else None,
            heartbeat_interval_s=env_seconds("EIS_INGRESS_HEARTBEAT_S", 2.0, environ=env),
            replay_max_entries=env_int("EIS_REPLAY_MAX_ENTRIES", 500_000, environ=env),
        )
