"""Route one event: evaluate each route's condition, transform, and address every matching destination.

Pure functions over the compiled pipeline — no Faust, no Kafka — so they are tested directly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson

from schemas import headers as h
from schemas.config import CompiledDestination, CompiledTransform, Pipeline
from schemas.envelope import CODEC_AVRO, CODEC_JSON, Envelope, decode, encode
from schemas.errors import DecodeError
from schemas.expressions import Context, ExpressionError

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Routed:
    """An event addressed to one destination, ready to produce to the destination's topic.

    `value` is the encoded output envelope; `envelope` builds it as an object on demand (the
    router produces `value` and never needs the object).
    """

    destination: CompiledDestination
    original: Envelope
    data: object
    value: bytes
    headers: Headers

    @property
    def envelope(self) -> Envelope:
        """The output envelope: the original event with the transformed data and its route."""
        return self.original.with_data(self.data, self.destination.route)


@dataclass(frozen=True, slots=True)
class RouteFailure:
    """An event that matched a destination but could not be prepared for it (poison for it)."""

    destination: CompiledDestination
    stage: str          # condition | transform
    error: str


@dataclass(slots=True)
class RoutingResult:
    """Everything one event produced: deliveries, per-destination failures, matched route names."""

    envelope: Envelope
    routed: list[Routed] = field(default_factory=list)
    failures: list[RouteFailure] = field(default_factory=list)
    matched_routes: list[str] = field(default_factory=list)


def source_of_topic(pipeline: Pipeline, topic: str) -> str:
    """The source id an inbound topic belongs to (`eis.in.stripe` → `stripe`)."""
    prefix = f"{pipeline.topics.prefix}.in."
    return topic[len(prefix):] if topic.startswith(prefix) else topic


def read_envelope(
    pipeline: Pipeline, topic: str, partition: int, offset: int, key: bytes | None,
    value: bytes | None, codec: str | None, timestamp_ms: int,
) -> Envelope:
    """Decode an inbound record. Records without the codec header come from direct producers
    and carry a bare JSON payload: wrap it in an envelope whose id is derived from the record's
    position, so a re-read after a crash yields the same id (duplicates stay recognisable)."""
    if value is None:
        raise DecodeError("record has no value (a tombstone is not an event)")
    if codec in (CODEC_JSON, CODEC_AVRO):
        return decode(value, codec)
    try:
        payload = orjson.loads(value)
    except (orjson.JSONDecodeError, RecursionError) as exc:
        raise DecodeError(f"direct-produced record is not JSON: {exc}") from exc
    digest = hashlib.sha256(f"{topic}/{partition}/{offset}".encode()).hexdigest()[:26]
    source = source_of_topic(pipeline, topic)
    event_type = None
    if isinstance(payload, dict):
        for name in ("type", "eventType", "event_type"):
            if isinstance(payload.get(name), str):
                event_type = payload[name]
                break
    return Envelope(
        id=f"evt_k{digest}", source=source, time=timestamp_ms, received_at=timestamp_ms,
        partition_key=key.decode("utf-8", "replace") if key else f"evt_k{digest}",
        content_type="application/json", data=payload, type=event_type,
    )


def _transformed(transform: CompiledTransform | None, context: Context) -> object:
    return context.payload if transform is None else transform.apply(context)


def route_event(pipeline: Pipeline, envelope: Envelope, codec: str = CODEC_JSON) -> RoutingResult:
    """Evaluate every route for one event and build one output per selected destination.

    A route's condition failing to evaluate counts as no match for that route (recorded as a
    failure of each of its destinations); a transform that raises fails only its destination.
    Transforms are computed once per route and reused by destinations without their own.
    """
    result = RoutingResult(envelope)
    # One dict of the envelope per event: the expressions' `event.` scope is it without `data`;
    # JSON outputs are it with `data` and `route` replaced (keys keep their order, so the bytes
    # equal `encode_json(envelope.with_data(data, route))` without building an envelope each).
    shape = envelope.to_dict()
    scope = dict(shape)
    del scope["data"]
    context = Context(payload=envelope.data, envelope=scope)
    json_out = codec != CODEC_AVRO  # as `encode`: anything but Avro is JSON
    event_id = envelope.id.encode()
    for route in pipeline.routes:
        if route.sources is not None and envelope.source not in route.sources:
            continue
        try:
            if route.condition is not None and not route.condition.matches(context):
                continue
        except ExpressionError as exc:
            result.failures.extend(RouteFailure(d, "condition", str(exc)) for d in route.destinations)
            continue
        result.matched_routes.append(route.name)
        route_output: object = _UNSET
        for destination in route.destinations:
            try:
                if destination.condition is not None and not destination.condition.matches(context):
                    continue
                if destination.transform is not None:
                    data = destination.transform.apply(context)
                else:
                    if route_output is _UNSET:
                        route_output = _transformed(route.transform, context)
                    data = route_output
            except ExpressionError as exc:
                result.failures.append(RouteFailure(destination, "transform", str(exc)))
                continue
            if json_out:
                shape["data"] = data
                shape["route"] = route.name
                value = orjson.dumps(shape)
            else:
                value = encode(envelope.with_data(data, route.name), codec)
            codec_header, route_header, destination_header = _static_headers(destination, codec)
            result.routed.append(Routed(destination, envelope, data, value, [
                codec_header, (h.EVENT_ID, event_id), route_header, destination_header]))
    return result


_UNSET = object()


def _static_headers(destination: CompiledDestination, codec: str) -> tuple[tuple[str, bytes], ...]:
    """The headers of a destination's records that do not depend on the event (cached)."""
    key = (destination.id, destination.route, codec)
    headers = _HEADERS.get(key)
    if headers is None:
        headers = _HEADERS[key] = (
            (h.CODEC, codec.encode()), (h.ROUTE, destination.route.encode()),
            (h.DESTINATION, destination.id.encode()))
    return headers


_HEADERS: dict[tuple[str, str, str], tuple[tuple[str, bytes], ...]] = {}
