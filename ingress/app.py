"""The ingress application factory: routes, typed state, producer and shared-state lifecycle."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from ingress.admin import add_admin_routes
from ingress.cluster import ClusterState, now_ms
from ingress.dead_letters_api import add_dead_letter_routes
from ingress.destinations_api import add_destination_routes
from ingress.lookups import delivery_status
from ingress.publish import publish_events
from ingress.replay import ReplayGuard, SeenIds
from ingress.responses import error, json_response
from ingress.settings import IngressSettings
from ingress.sources import SourceRegistry
from ingress.state import STATE, IngressState
from ingress.webhooks import receive_webhook
from schemas.config import Pipeline
from schemas.config.sources import MAX_REPLAY_WINDOW_MS
from schemas.kafka.producer import AsyncProducer
from schemas.kafka.settings import KafkaSettings
from schemas.metrics import Metrics

# healthz waits this long for the shared state (seen ids, provisioned sources) at startup.
READY_WAIT_S = 5.0


def _api_keys(pipeline: Pipeline, environ: dict[str, str]) -> frozenset[str] | None:
    http = pipeline.spec.ingestion.http() if pipeline.spec.ingestion else None
    if http is None or http.auth == "none":
        return None
    keys = [k.get_secret_value() for k in http.api_keys or []]
    keys += [k.strip() for k in environ.get("EIS_API_KEYS", "").split(",") if k.strip()]
    # An api-key source with no keys accepts nobody (fail closed) rather than everybody.
    return frozenset(keys)


async def healthz(request: web.Request) -> web.Response:
    """200 once Kafka answers the producer and the shared state is read; 503 otherwise."""
    state = request.app[STATE]
    if not await state.producer.check_connected():
        return error(503, "kafka_unavailable", "the producer cannot reach Kafka", {"Retry-After": "5"})
    if state.cluster is not None and not await state.cluster.wait_ready(READY_WAIT_S):
        return error(503, "starting", "replay ids and provisioned sources are still being read",
                     {"Retry-After": "1"})
    return json_response({"status": "ok"})


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text format."""
    body, content_type = request.app[STATE].metrics.exposition()
    return web.Response(body=body, content_type=content_type.split(";")[0])


def _producer_settings(producer: AsyncProducer) -> KafkaSettings:
    # AsyncProducer keeps its settings private; the shared-state consumer must talk to the same
    # cluster as the producer (tests point a producer at an unreachable broker on purpose).
    settings = getattr(producer, "_settings", None)
    return settings if isinstance(settings, KafkaSettings) else KafkaSettings.from_env()


def create_app(pipeline: Pipeline, producer: AsyncProducer, metrics: Metrics,
               settings: IngressSettings | None = None, *,
               kafka: KafkaSettings | None = None) -> web.Application:
    """Build the ingress app; the producer and the shared-state tail start with the app and
    stop after it. Raises ConfigError when a configured source cannot be served here (e.g.
    `mtls: true` without a client CA)."""
    settings = settings or IngressSettings.from_env()
    kafka = kafka or _producer_settings(producer)
    cluster: ClusterState | None = None

    def replicas() -> int:
        if settings.replicas is not None:
            return settings.replicas
        return cluster.live_instances() if cluster is not None else 1

    registry = SourceRegistry(pipeline, settings, replicas)
    seen = SeenIds(settings.replay_max_entries, MAX_REPLAY_WINDOW_MS)
    cluster = ClusterState(kafka, producer, pipeline.topics.seen, pipeline.topics.sources,
                           pipeline.spec.kafka.replication_factor, seen, registry.apply_record,
                           settings.heartbeat_interval_s)
    replay = ReplayGuard(seen, cluster.write_seen, lambda: cluster.ready if cluster else False, now_ms)
    app = web.Application()

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        producer.start()
        assert cluster is not None
        cluster.start()
        async with aiohttp.ClientSession() as lookups:
            app[STATE] = IngressState(pipeline, settings, producer, metrics, registry.config,
                                      _api_keys(pipeline, dict(os.environ)), lookups,
                                      kafka=kafka, sources=registry, replay=replay, cluster=cluster)
            yield
        await cluster.stop()
        await registry.close()
        await producer.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/webhooks/{path:.+}", receive_webhook)
    app.router.add_post("/v1/events", publish_events)
    app.router.add_get("/v1/events/{event_id}/deliveries", delivery_status)
    add_admin_routes(app)
    add_dead_letter_routes(app)
    add_destination_routes(app)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    return app

