"""The ingress application factory: routes, typed state, producer lifecycle."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from ingress.lookups import delivery_status
from ingress.providers import get_provider
from ingress.publish import publish_events
from ingress.responses import error, json_response
from ingress.settings import IngressSettings
from ingress.state import STATE, IngressState, WebhookSource
from ingress.verification import build_verifier
from ingress.webhooks import receive_webhook
from schemas.config import Pipeline
from schemas.kafka.producer import AsyncProducer
from schemas.metrics import Metrics


def _webhook_sources(pipeline: Pipeline) -> dict[str, WebhookSource]:
    sources = {}
    for index, spec in enumerate(pipeline.spec.webhooks):
        sources[spec.id] = WebhookSource(
            spec=spec, topic=pipeline.topics.inbound(spec.id),
            verifier=build_verifier(spec, f"webhooks[{index}]"),
            provider=get_provider(spec.provider),
            allowed_types=frozenset(spec.events) if spec.events else None,
        )
    return sources


def _api_keys(pipeline: Pipeline, environ: dict[str, str]) -> frozenset[str] | None:
    http = pipeline.spec.ingestion.http() if pipeline.spec.ingestion else None
    if http is None or http.auth == "none":
        return None
    keys = [k.get_secret_value() for k in http.api_keys or []]
    keys += [k.strip() for k in environ.get("EIS_API_KEYS", "").split(",") if k.strip()]
    # An api-key source with no keys accepts nobody (fail closed) rather than everybody.
    return frozenset(keys)


async def healthz(request: web.Request) -> web.Response:
    """200 once Kafka answers the producer; 503 otherwise."""
    state = request.app[STATE]
    if await state.producer.check_connected():
        return json_response({"status": "ok"})
    return error(503, "kafka_unavailable", "the producer cannot reach Kafka", {"Retry-After": "5"})


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text format."""
    body, content_type = request.app[STATE].metrics.exposition()
    return web.Response(body=body, content_type=content_type.split(";")[0])


def create_app(pipeline: Pipeline, producer: AsyncProducer, metrics: Metrics,
               settings: IngressSettings | None = None) -> web.Application:
    """Build the ingress app; the producer is started with the app and stopped after it."""
    settings = settings or IngressSettings.from_env()
    webhooks = _webhook_sources(pipeline)
    app = web.Application()

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        producer.start()
        async with aiohttp.ClientSession() as lookups:
            app[STATE] = IngressState(pipeline, settings, producer, metrics, webhooks,
                                      _api_keys(pipeline, dict(os.environ)), lookups)
            yield
        for source in webhooks.values():
            await source.verifier.close()
        await producer.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/webhooks/{webhook_id}", receive_webhook)
    app.router.add_post("/v1/events", publish_events)
    app.router.add_get("/v1/events/{event_id}/deliveries", delivery_status)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    return app
