"""Kafka client settings and the librdkafka configs that keep at-least-once (see KAFKA-NOTES)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from schemas.kafka.errors import KafkaConfigError

__all__ = ["KafkaSettings", "admin_config", "consumer_config", "producer_config"]

ENV_PREFIX = "EIS_KAFKA_"
#: `EIS_KAFKA_CONFIG_SASL_MECHANISMS=PLAIN` becomes librdkafka's `sasl.mechanisms=PLAIN`
#: (librdkafka property names use dots, never underscores, so the mapping is unambiguous).
ENV_CONFIG_PREFIX = "EIS_KAFKA_CONFIG_"

# Shortcuts for the security settings every deployment needs, beside the generic pass-through.
_SECURITY_ENV = {
    "SECURITY_PROTOCOL": "security.protocol",
    "SASL_MECHANISM": "sasl.mechanisms",
    "SASL_USERNAME": "sasl.username",
    "SASL_PASSWORD": "sasl.password",
    "SSL_CA_LOCATION": "ssl.ca.location",
}

# Properties the pass-through may not touch: they carry the delivery guarantees or belong to
# a typed field. A deployment that could set `enable.auto.commit=true` by env would lose data.
_PROTECTED = frozenset(
    {
        "bootstrap.servers",
        "client.id",
        "group.id",
        "acks",
        "enable.idempotence",
        "enable.auto.commit",
        "enable.auto.offset.store",
        "transactional.id",
        "message.timeout.ms",
        "delivery.timeout.ms",
    }
)
_SECRET_MARKERS = ("password", "secret", "key")

# Typed fields read from EIS_KAFKA_<FIELD upper-case>; bootstrap and client_id are strings.
_INT_FIELDS = (
    "message_timeout_ms",
    "linger_ms",
    "session_timeout_ms",
    "heartbeat_interval_ms",
    "max_poll_interval_ms",
    "fetch_wait_max_ms",
)


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """Where the cluster is and how our confluent-kafka clients talk to it (Faust has its own).

    Build with `KafkaSettings.from_env()` in a process entry point; tests build it directly.
    The consumer timeouts default to values valid on Apache Kafka (whose minimum session
    timeout is 6 s) that still let a group join in ~3 s on the dev broker, which makes a join
    wait about half the session timeout.
    """

    bootstrap: str = "127.0.0.1:9092"
    client_id: str = "eis"
    # Producer: a record that cannot be acked within this time fails (ingress answers 503).
    message_timeout_ms: int = 10_000
    linger_ms: int = 2
    compression: str = "none"
    # Consumer group timing (see the class docstring); production may raise them by env.
    session_timeout_ms: int = 6_000
    heartbeat_interval_ms: int = 1_000
    max_poll_interval_ms: int = 300_000
    # The dev broker answers a fetch only when this wait expires, so it bounds per-hop latency.
    fetch_wait_max_ms: int = 100
    # Extra librdkafka properties (security, tuning) passed to every client.
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.bootstrap.strip():
            raise KafkaConfigError("must name at least one host:port", path="bootstrap")
        for name in _INT_FIELDS:
            if getattr(self, name) < 0:
                raise KafkaConfigError("must be >= 0", path=name)
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise KafkaConfigError("must be below session_timeout_ms", path="heartbeat_interval_ms")
        if self.max_poll_interval_ms < self.session_timeout_ms:
            raise KafkaConfigError("must be >= session_timeout_ms", path="max_poll_interval_ms")
        bad = sorted(_PROTECTED.intersection(self.extra))
        if bad:
            raise KafkaConfigError(f"may not override {', '.join(bad)}", path="extra")
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> KafkaSettings:
        """Read `EIS_KAFKA_*` variables (see module constants); `overrides` win over the env."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or f.name == "extra":
                continue
            if f.name in _INT_FIELDS:
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise KafkaConfigError(
                        f"not an integer: {raw!r}", path=ENV_PREFIX + f.name.upper()
                    ) from None
            else:
                values[f.name] = raw
        extra: dict[str, str] = {}
        for suffix, prop in _SECURITY_ENV.items():
            if (raw := env.get(ENV_PREFIX + suffix)) is not None:
                extra[prop] = raw
        for name, raw in env.items():
            if name.startswith(ENV_CONFIG_PREFIX) and len(name) > len(ENV_CONFIG_PREFIX):
                extra[name[len(ENV_CONFIG_PREFIX) :].lower().replace("_", ".")] = raw
        values["extra"] = extra
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> KafkaSettings:
        """A copy with `changes` applied (validated again)."""
        return replace(self, **changes)

    def redacted_extra(self) -> dict[str, str]:
        """The pass-through properties with secrets masked, for logs and `eis config show`."""
        return {
            k: ("***" if any(m in k for m in _SECRET_MARKERS) else v) for k, v in self.extra.items()
        }


def _common(settings: KafkaSettings) -> dict[str, Any]:
    return {
        **settings.extra,
        "bootstrap.servers": settings.bootstrap,
        "client.id": settings.client_id,
    }


def producer_config(settings: KafkaSettings, **overrides: Any) -> dict[str, Any]:
    """librdkafka producer config: acks from all in-sync replicas, idempotent, bounded timeout.

    `overrides` use librdkafka names and win (tests shorten timeouts); they are not checked
    against the protected list, so use them only for tuning, in code that is reviewed.
    """
    return {
        **_common(settings),
        "acks": "all",
        # Idempotence keeps retries from duplicating or reordering within a partition. It works
        # on the dev broker with librdkafka (aiokafka's InitProducerId does not, KAFKA-NOTES).
        "enable.idempotence": True,
        "linger.ms": settings.linger_ms,
        "compression.type": settings.compression,
        "message.timeout.ms": settings.message_timeout_ms,
        # The Java client's partitioner (murmur2), also aiokafka's and so Faust's: a key lands in
        # the same partition whichever client wrote it, which the tracker's table routing and
        # per-key order across ingress and direct producers rely on (librdkafka defaults to crc32).
        "partitioner": "murmur2_random",
        **overrides,
    }


def consumer_config(settings: KafkaSettings, group_id: str, **overrides: Any) -> dict[str, Any]:
    """librdkafka consumer config: nothing is committed or stored unless the owner says so."""
    return {
        **_common(settings),
        "group.id": group_id,
        # Auto-commit and auto offset store commit what poll() returned, delivered or not.
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        # A new group must read what is already there, not skip to the end.
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.session_timeout_ms,
        "heartbeat.interval.ms": settings.heartbeat_interval_ms,
        "max.poll.interval.ms": settings.max_poll_interval_ms,
        "fetch.wait.max.ms": settings.fetch_wait_max_ms,
        **overrides,
    }


def admin_config(settings: KafkaSettings, **overrides: Any) -> dict[str, Any]:
    """librdkafka admin client config (also used for metadata health checks)."""
    return {**_common(settings), **overrides}
