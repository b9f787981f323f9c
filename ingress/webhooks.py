"""`POST /webhooks/{webhook_id}`: verify → parse → filter → wrap → produce → answer."""

from __future__ import annotations

import time

from aiohttp import hdrs, web

from ingress.body import BodyError, decode_content_encoding, error_response, read_wire_body
from ingress.body.parsing import parse_body_typed
from ingress.events import build_envelope
from ingress.produce import NotAcknowledged, produce_envelopes
from ingress.responses import error, json_response, kafka_unavailable
from ingress.state import STATE, IngressState, WebhookSource
from ingress.verification import VerificationFailed, VerificationRequest


async def receive_webhook(request: web.Request) -> web.Response:
    """Accept one provider request; 200 only once Kafka acknowledged the event."""
    state = request.app[STATE]
    webhook_id = request.match_info["webhook_id"]
    source = state.webhooks.get(webhook_id)
    if source is None:
        state.metrics.rejected.labels("unknown", "unknown_webhook").inc()
        return error(404, "unknown_webhook", f"no webhook `{webhook_id}` is configured")
    try:
        return await _accept(request, state, source)
    except BodyError as exc:
        state.metrics.rejected.labels(webhook_id, exc.code).inc()
        return error_response(exc)


async def _accept(request: web.Request, state: IngressState, source: WebhookSource) -> web.Response:
    webhook_id = source.spec.id
    limits = state.settings.limits
    wire = await read_wire_body(request, limits)
    raw = decode_content_encoding(wire, request.headers.get(hdrs.CONTENT_ENCODING), limits)
    content_type, data = parse_body_typed(raw, request.headers.get(hdrs.CONTENT_TYPE), limits)
    form = _form_of(content_type, data)
    try:
        verified = await source.verifier.verify_async(VerificationRequest(
            body=wire, headers=request.headers, url=str(request.url), form=form, now=time.time()))
    except VerificationFailed as exc:
        state.metrics.rejected.labels(webhook_id, exc.reason).inc()
        if exc.retriable:
            # VerificationUnavailable (key material could not be fetched): 503 so the provider
            # retries; a 401 makes several providers disable the endpoint (verification/base.py).
            return error(503, exc.reason, exc.detail, {"Retry-After": str(state.settings.retry_after_s)})
        return error(401, exc.reason, exc.detail)
    facts = source.provider.facts(request.headers, data)
    if source.allowed_types is not None and facts.type not in source.allowed_types:
        # Acknowledged so the provider stops retrying; not routed (the `events:` allow-list).
        state.metrics.filtered.labels(webhook_id).inc()
        return json_response({"accepted": False, "filtered": True, "type": facts.type})
    envelope = build_envelope(
        state.pipeline, webhook_id, data, content_type, request.headers, event_type=facts.type,
        event_time_ms=facts.time_ms,
        provider_event_id=facts.provider_event_id or verified.provider_event_id,
        tenant=source.spec.tenant,
    )
    state.metrics.received.labels(webhook_id).inc()
    try:
        await produce_envelopes(state.producer, source.topic, [envelope], state.pipeline.spec.kafka.encoding)
    except NotAcknowledged as exc:
        state.metrics.rejected.labels(webhook_id, "kafka_unavailable").inc()
        return kafka_unavailable(state.settings.retry_after_s, str(exc))
    state.metrics.produced.labels(webhook_id).inc()
    return json_response({"accepted": True, "id": envelope.id})


def _form_of(content_type: str, data: object) -> dict[str, list[str]] | None:
    """Form parameters as lists of strings, for schemes that sign them (Twilio)."""
    if content_type != "application/x-www-form-urlencoded" or not isinstance(data, dict):
        return None
    return {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in data.items()}
