"""`POST /webhooks/{path}`: route → gates → verify → parse → filter → dedup → wrap → produce → answer."""

from __future__ import annotations

import asyncio
import time

from aiohttp import hdrs, web

from ingress.body import BodyError, decode_off_loop, error_response, read_wire_body
from ingress.body.parsing import parse_body_typed
from ingress.events import build_envelope
from ingress.gates import refuse_early
from ingress.produce import NotAcknowledged, produce_envelopes
from ingress.replay import Claim, ReplayStateLoading
from ingress.responses import body_timeout, error, json_response, kafka_unavailable
from ingress.sources import request_host
from ingress.state import STATE, IngressState, WebhookSource
from ingress.verification import VerificationFailed, VerificationRequest

# A request arriving while the seen topic is still being read waits this long before 503.
REPLAY_READY_WAIT_S = 2.0


async def receive_webhook(request: web.Request) -> web.Response:
    """Accept one provider request; 200 only once Kafka acknowledged the event."""
    state = request.app[STATE]
    path = request.match_info["path"]
    resolved = state.sources.resolve(path, request_host(request.headers)) if state.sources else None
    if resolved is None:
        state.metrics.rejected.labels("unknown", "unknown_webhook").inc()
        return error(404, "unknown_webhook", f"no webhook source at `/webhooks/{path}`")
    source = resolved.source
    webhook_id = source.spec.id
    refusal = refuse_early(request, state, source)
    if refusal is not None:
        return refusal
    try:
        return await _accept(request, state, source, resolved.extra)
    except BodyError as exc:
        state.metrics.rejected.labels(webhook_id, exc.code).inc()
        return error_response(exc)
    except TimeoutError:
        # The body did not arrive within EIS_BODY_TIMEOUT_S (a slow client holding a slot).
        state.metrics.rejected.labels(webhook_id, "body_timeout").inc()
        return body_timeout()


async def _accept(request: web.Request, state: IngressState, source: WebhookSource,
                  extra_path: str) -> web.Response:
    webhook_id = source.spec.id
    limits = state.settings.limits
    async with asyncio.timeout(state.settings.server.body_timeout_s):
        wire = await read_wire_body(request, limits)
    raw = await decode_off_loop(wire, request.headers.get(hdrs.CONTENT_ENCODING), limits)
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
    provider_event_id = facts.provider_event_id or verified.provider_event_id
    claim: Claim | None = None
    if provider_event_id is not None and source.spec.replay_window > 0 and state.replay is not None:
        try:
            if state.cluster is not None:
                await state.cluster.wait_ready(REPLAY_READY_WAIT_S)
            outcome = await state.replay.claim(webhook_id, provider_event_id, source.spec.replay_window)
        except ReplayStateLoading:
            state.metrics.rejected.labels(webhook_id, "kafka_unavailable").inc()
            return kafka_unavailable(state.settings.retry_after_s,
                                     "replay protection has not loaded the seen ids from Kafka yet")
        if isinstance(outcome, str):
            # Seen before (a provider retry or a replay): acknowledged so the provider stops, not
            # produced again. Counted as rejected{reason="duplicate"} (schemas/metrics.py has no
            # dedicated counter).
            state.metrics.rejected.labels(webhook_id, "duplicate").inc()
            return json_response({"accepted": True, "duplicate": True, "id": outcome})
        claim = outcome
    envelope = build_envelope(
        state.pipeline, webhook_id, data, content_type, request.headers, event_type=facts.type,
        event_time_ms=facts.time_ms, provider_event_id=provider_event_id,
        tenant=source.spec.tenant, key_expression=source.key_expression, extra_path=extra_path or None,
    )
    state.metrics.received.labels(webhook_id).inc()
    try:
        await produce_envelopes(state.producer, source.topic, [envelope], state.pipeline.spec.kafka.encoding)
    except NotAcknowledged as exc:
        if claim is not None and state.replay is not None:
            state.replay.release(claim)
        state.metrics.rejected.labels(webhook_id, "kafka_unavailable").inc()
        return kafka_unavailable(state.settings.retry_after_s, str(exc))
    except BaseException:
        if claim is not None and state.replay is not None:
            state.replay.release(claim)
        raise
    state.metrics.produced.labels(webhook_id).inc()
    if claim is not None and state.replay is not None:
        await state.replay.settle(claim, envelope.id)
    return json_response({"accepted": True, "id": envelope.id})


def _form_of(content_type: str, data: object) -> dict[str, list[str]] | None:
    """Form parameters as lists of strings, for schemes that sign them (Twilio)."""
    if content_type != "application/x-www-form-urlencoded" or not isinstance(data, dict):
        return None
    return {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in data.items()}
