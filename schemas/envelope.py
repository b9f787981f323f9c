"""The event envelope (contract `envelope.v1.avsc`) and its two topic encodings: JSON and Avro."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

import fastavro
import orjson

from schemas.errors import DecodeError

ENVELOPE_SCHEMA_FILE = "envelope.v1.avsc"
CODEC_JSON = "json"
CODEC_AVRO = "avro-v1"

_REQUIRED = ("id", "source", "time", "received_at", "partition_key", "content_type")
_OPTIONAL_STR = ("type", "correlation_id", "causation_id", "tenant", "provider_event_id", "route")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event: identity, origin, times, key and payload. Immutable; `with_data` derives."""

    id: str
    source: str
    time: int
    received_at: int
    partition_key: str
    content_type: str
    data: Any
    type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    correlation_id: str | None = None
    causation_id: str | None = None
    tenant: str | None = None
    provider_event_id: str | None = None
    route: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-encoding shape: every field, payload inline."""
        return {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "time": self.time,
            "received_at": self.received_at,
            "partition_key": self.partition_key,
            "content_type": self.content_type,
            "data": self.data,
            "headers": self.headers,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "tenant": self.tenant,
            "provider_event_id": self.provider_event_id,
            "route": self.route,
        }

    def scope_fields(self) -> dict[str, Any]:
        """Envelope fields as the expression language sees them under `event.`."""
        fields = self.to_dict()
        del fields["data"]
        return fields

    def with_data(self, data: Any, route: str | None) -> Envelope:
        """The same event carrying a transformed payload, stamped with the route that chose it."""
        return replace(self, data=data, route=route)

    @classmethod
    def from_dict(cls, raw: Any) -> Envelope:
        """Build from the JSON-encoding shape; raises DecodeError naming what is wrong."""
        if not isinstance(raw, dict):
            raise DecodeError(f"envelope must be a JSON object, got {type(raw).__name__}")
        missing = [name for name in _REQUIRED if name not in raw]
        if missing or "data" not in raw:
            raise DecodeError(f"envelope is missing field(s): {', '.join(missing or ['data'])}")
        try:
            return cls(
                id=_text(raw, "id"),
                source=_text(raw, "source"),
                time=_millis(raw, "time"),
                received_at=_millis(raw, "received_at"),
                partition_key=_text(raw, "partition_key"),
                content_type=_text(raw, "content_type"),
                data=raw["data"],
                headers=_headers(raw.get("headers")),
                **{name: _optional_text(raw, name) for name in _OPTIONAL_STR},
            )
        except (TypeError, ValueError) as exc:
            raise DecodeError(str(exc)) from exc


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw[name]
    if not isinstance(value, str):
        raise TypeError(f"envelope field `{name}` must be a string")
    return value


def _optional_text(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"envelope field `{name}` must be a string or null")
    return value


def _millis(raw: dict[str, Any], name: str) -> int:
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"envelope field `{name}` must be epoch milliseconds (an integer)")
    return value


def _headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise TypeError("envelope field `headers` must be an object of strings")
    return value


@cache
def envelope_avro_schema() -> Any:
    """The parsed Avro schema of the envelope (read once from the package)."""
    text = resources.files("schemas").joinpath(ENVELOPE_SCHEMA_FILE).read_text()
    return fastavro.parse_schema(json.loads(text))


def encode_json(envelope: Envelope) -> bytes:
    """JSON encoding: readable with `kcat -C -t <topic>`."""
    return orjson.dumps(envelope.to_dict())


def decode_json(value: bytes) -> Envelope:
    """Decode the JSON encoding; DecodeError for anything that is not an envelope."""
    try:
        raw = orjson.loads(value)
    except (orjson.JSONDecodeError, RecursionError) as exc:
        raise DecodeError(f"not JSON: {exc}") from exc
    return Envelope.from_dict(raw)


def encode_avro(envelope: Envelope) -> bytes:
    """Avro binary encoding (schemaless; the codec header names the schema version)."""
    record = envelope.to_dict()
    record["data"] = orjson.dumps(envelope.data)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, envelope_avro_schema(), record)
    return buffer.getvalue()


def decode_avro(value: bytes) -> Envelope:
    """Decode the Avro binary encoding; DecodeError on corrupt input."""
    try:
        record = fastavro.schemaless_reader(io.BytesIO(value), envelope_avro_schema(), None)
        assert isinstance(record, dict)
        record["data"] = orjson.loads(record["data"])
    except Exception as exc:  # fastavro raises a wide range of types on garbage
        raise DecodeError(f"not an Avro envelope v1: {exc}") from exc
    return Envelope.from_dict(record)


def encode(envelope: Envelope, codec: str = CODEC_JSON) -> bytes:
    """Encode with the named codec (`json` or `avro-v1`)."""
    return encode_avro(envelope) if codec == CODEC_AVRO else encode_json(envelope)


def decode(value: bytes, codec: str | None) -> Envelope:
    """Decode by the codec header's value; records without the header are JSON."""
    return decode_avro(value) if codec == CODEC_AVRO else decode_json(value)
