"""`POST /v1/events`: publish one event (a JSON object) or a batch (a JSON array)."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

import orjson
from aiohttp import web

from ingress.body import BodyError, error_response, read_parsed_body
from ingress.events import build_envelope
from ingress.produce import NotAcknowledged, produce_envelopes
from ingress.providers import parse_time_ms
from ingress.responses import body_timeout, error, json_response, kafka_unavailable
from ingress.state import STATE, IngressState
from schemas.config.compiled import PUBLISH_SOURCE
from schemas.envelope import Envelope


async def publish_events(request: web.Request) -> web.Response:
    """Validate every event first; produce all or answer an error for all (nothing half-written
    on a validation error). 202 with the ids once Kafka acknowledged every one."""
    state = request.app[STATE]
    if PUBLISH_SOURCE not in state.pipeline.source_ids:
        return _reject(state, 404, "publish_disabled",
                       "the publish API is not configured (ingestion.protocols: http)")
    if not _authorised(request, state):
        return _reject(state, 401, "unauthorized",
                       "send an API key as `Authorization: Bearer <key>` or `X-API-Key`")
    try:
        # Bounded like a webhook's body: without it a sender trickling its body held a connection
        # slot for as long as it liked (slow-loris; tests/reliability/test_abuse.py).
        async with asyncio.timeout(state.settings.server.body_timeout_s):
            body = await read_parsed_body(request, state.settings.limits)
    except BodyError as exc:
        state.metrics.rejected.labels(PUBLISH_SOURCE, exc.code).inc()
        return error_response(exc)
    except TimeoutError:
        state.metrics.rejected.labels(PUBLISH_SOURCE, "body_timeout").inc()
        return body_timeout()
    if body.content_type != "application/json":
        return _reject(state, 415, "unsupported_media_type",
                       "publish a JSON object or a JSON array of objects")
    items = body.data if isinstance(body.data, list) else [body.data]
    if not items:
        return _reject(state, 400, "empty_batch", "the batch holds no events")
    if len(items) > state.settings.max_batch_events:
        return _reject(state, 413, "batch_too_large",
                       f"{len(items)} events in one request; at most {state.settings.max_batch_events}")
    problems = [p for i, item in enumerate(items) for p in _validate(state, i, item, len(items) > 1)]
    if problems:
        state.metrics.rejected.labels(PUBLISH_SOURCE, "invalid_event").inc()
        return json_response({"code": "invalid_event", "detail": "; ".join(problems),
                              "problems": problems}, 400)
    envelopes = [_envelope(state, item, request) for item in items]
    state.metrics.received.labels(PUBLISH_SOURCE).inc(len(envelopes))
    try:
        await produce_envelopes(state.producer, state.pipeline.topics.inbound(PUBLISH_SOURCE),
                                envelopes, state.pipeline.spec.kafka.encoding)
    except NotAcknowledged as exc:
        state.metrics.rejected.labels(PUBLISH_SOURCE, "kafka_unavailable").inc()
        return kafka_unavailable(state.settings.retry_after_s, str(exc))
    state.metrics.produced.labels(PUBLISH_SOURCE).inc(len(envelopes))
    if isinstance(body.data, list):
        return json_response({"accepted": True, "ids": [e.id for e in envelopes]}, 202)
    return json_response({"accepted": True, "id": envelopes[0].id}, 202)


def _reject(state: IngressState, status: int, code: str, detail: str) -> web.Response:
    """An error answer counted in `eis_events_rejected_total{source="api", reason=code}`."""
    state.metrics.rejected.labels(PUBLISH_SOURCE, code).inc()
    return error(status, code, detail)


def _authorised(request: web.Request, state: IngressState) -> bool:
    if state.api_keys is None:
        return True
    presented = request.headers.get("X-API-Key")
    authorization = request.headers.get("Authorization", "")
    if presented is None and authorization.startswith("Bearer "):
        presented = authorization[7:].strip()
    if not presented:
        return False
    # compare against every key so timing does not reveal which one (or whether any) matched
    results = [hmac.compare_digest(presented.encode(), key.encode()) for key in state.api_keys]
    return any(results)


def _validate(state: IngressState, index: int, item: Any, batch: bool) -> list[str]:
    where = f"events[{index}]" if batch else "event"
    if not isinstance(item, dict):
        return [f"{where}: an event is a JSON object, got {type(item).__name__}"]
    validation = state.pipeline.spec.ingestion.validation if state.pipeline.spec.ingestion else None
    if validation is None:
        return []
    problems = [f"{where}.{name}: required field is missing" for name in validation.required
                if item.get(name) is None]
    if validation.max_size is not None:
        size = len(orjson.dumps(item))
        if size > validation.max_size:
            problems.append(f"{where}: {size} bytes is over the limit of {validation.max_size}")
    return problems


def _envelope(state: IngressState, item: dict[str, Any], request: web.Request) -> Envelope:
    event_type = next((item[k] for k in ("type", "eventType", "event_type") if isinstance(item.get(k), str)), None)
    event_id = item.get("id")
    return build_envelope(
        state.pipeline, PUBLISH_SOURCE, item, "application/json", request.headers,
        event_type=event_type, event_time_ms=parse_time_ms(item.get("timestamp") or item.get("time")),
        provider_event_id=event_id if isinstance(event_id, str) else None,
    )
