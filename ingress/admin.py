"""`/v1/webhooks`: provision webhook sources at run time (docs/webhook-sources.md, "Provisioning").

Authenticated with `Authorization: Bearer $EIS_ADMIN_KEY`; without a configured key every
route answers 404, as if the API did not exist. A definition is the `webhooks[]` model of the
config file plus a required `tenant`, validated with the same checks (verification scheme,
provider, partition key, mTLS availability). On POST the source's topic is created, then the
definition is written to the compacted `<prefix>.sources` topic (key = source id), then the
answer is 201: every ingress process tails that topic and serves the source within about one
fetch wait. DELETE writes a tombstone.

Config-file sources are the fixed initial set: the API refuses (409) to create, replace or
delete a source whose id the config file defines, so a restart never flips an endpoint back.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

import orjson
from aiohttp import web

from ingress.cluster import in_daemon_thread, now_ms
from ingress.responses import error, json_response
from ingress.sources import SourceProblems, parse_definition
from ingress.state import STATE, IngressState, WebhookSource
from schemas.errors import ConfigProblem
from schemas.kafka.admin import TopicSpec, ensure_topics
from schemas.kafka.errors import KafkaClientError

MAX_DEFINITION_BYTES = 64 * 1024
_SECRET_WORDS = ("secret", "key", "token", "password")
_REDACTED = "**********"


def _authorised(request: web.Request, state: IngressState) -> bool:
    key = state.settings.admin_key
    if key is None:
        return False
    authorization = request.headers.get("Authorization", "")
    if not authorization.startswith("Bearer "):
        return False
    return hmac.compare_digest(authorization[7:].strip().encode(), key.encode())


def require_admin(request: web.Request) -> tuple[IngressState, web.Response | None]:
    """The state, and the refusal to answer instead when the admin API is off or unauthorised."""
    state = request.app[STATE]
    if state.settings.admin_key is None or state.sources is None:
        return state, error(404, "not_found", "the admin API is disabled (set EIS_ADMIN_KEY)")
    if not _authorised(request, state):
        return state, error(401, "unauthorized", "send `Authorization: Bearer <admin key>`",
                            {"WWW-Authenticate": "Bearer"})
    return state, None


def redact(value: Any, key: str = "") -> Any:
    """A definition as GET shows it: every value under a secret-looking key masked."""
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if any(word in key.lower() for word in _SECRET_WORDS) and value is not None:
        return _REDACTED
    return value


def _describe(source: WebhookSource) -> dict[str, Any]:
    spec = source.spec
    if source.definition is not None:
        definition = redact(source.definition)
    else:
        definition = redact(spec.model_dump(mode="json", by_alias=True, exclude_none=True))
    paths = [f"/webhooks/{spec.id}"] + ([f"/webhooks/{spec.tenant}/{spec.id}/*"] if spec.tenant else [])
    return {"id": spec.id, "tenant": spec.tenant, "origin": source.origin, "topic": source.topic,
            "paths": paths, "hosts": spec.hosts or [], "definition": definition}


async def list_webhooks(request: web.Request) -> web.Response:
    """`GET /v1/webhooks[?tenant=…]`: every source, config and provisioned, secrets masked."""
    state, refusal = require_admin(request)
    if refusal is not None:
        return refusal
    assert state.sources is not None
    tenant = request.query.get("tenant")
    items = [_describe(s) for s in state.sources.all() if tenant is None or s.spec.tenant == tenant]
    return json_response({"webhooks": items})


async def get_webhook(request: web.Request) -> web.Response:
    """`GET /v1/webhooks/{id}`."""
    state, refusal = require_admin(request)
    if refusal is not None:
        return refusal
    assert state.sources is not None
    source = state.sources.get(request.match_info["source_id"])
    if source is None:
        return error(404, "unknown_webhook", "no such webhook source")
    return json_response(_describe(source))


async def create_webhook(request: web.Request) -> web.Response:
    """`POST /v1/webhooks`: 201 (created) or 200 (replaced) once every ingress can read it."""
    state, refusal = require_admin(request)
    if refusal is not None:
        return refusal
    registry = state.sources
    assert registry is not None
    body = await request.content.read(MAX_DEFINITION_BYTES + 1)
    if len(body) > MAX_DEFINITION_BYTES:
        return error(413, "definition_too_large", f"a definition is at most {MAX_DEFINITION_BYTES} bytes")
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return error(400, "invalid_json", f"the definition is not JSON: {exc}")
    try:
        spec = parse_definition(raw)
        if spec.tenant is None:
            raise SourceProblems([_problem("tenant", "a provisioned source names its tenant")])
        source = registry.build(spec, "", "api", raw)
    except SourceProblems as exc:
        problems = [{"path": p.path, "message": p.message} for p in exc.problems]
        return json_response({"code": "invalid_webhook", "detail": "; ".join(str(p) for p in exc.problems),
                              "problems": problems}, 400)
    if spec.id in registry.config:
        return error(409, "config_source", f"`{spec.id}` is defined by the config file; change it there")
    existing = registry.provisioned.get(spec.id)
    if existing is not None and existing.spec.tenant != spec.tenant:
        return error(409, "source_exists", f"`{spec.id}` belongs to another tenant")
    for host in spec.hosts or ():
        owner = registry.host_owner(host)
        if owner is not None and owner != spec.tenant:
            return error(409, "host_taken", f"host `{host}` routes to another tenant's sources")
    pipeline = state.pipeline
    kafka = state.kafka
    assert kafka is not None
    try:
        # The topic first: a source must never be served before its topic exists.
        await in_daemon_thread(lambda: ensure_topics(kafka, [TopicSpec(
            source.topic, pipeline.partitions, pipeline.spec.kafka.replication_factor)]))
    except (KafkaClientError, TimeoutError) as exc:
        return kafka_unavailable(state, f"the source was not stored: {exc}")
    stored = orjson.dumps({"definition": raw, "updatedAt": now_ms()})
    refusal = await store(state, pipeline.topics.sources, spec.id, stored, "the source was not stored")
    if refusal is not None:
        return refusal
    registry.put_written(source, stored)   # this process serves it at once; the others within a fetch
    return json_response(_describe(source), 200 if existing is not None else 201)


async def delete_webhook(request: web.Request) -> web.Response:
    """`DELETE /v1/webhooks/{id}`: 204 once the tombstone is written."""
    state, refusal = require_admin(request)
    if refusal is not None:
        return refusal
    registry = state.sources
    assert registry is not None
    source_id = request.match_info["source_id"]
    if source_id in registry.config:
        return error(409, "config_source", f"`{source_id}` is defined by the config file")
    if source_id not in registry.provisioned:
        return error(404, "unknown_webhook", "no such provisioned webhook source")
    refusal = await store(state, state.pipeline.topics.sources, source_id, None, "the source was not deleted")
    if refusal is not None:
        return refusal
    registry.remove_written(source_id)
    # The topic is kept: events already accepted may still be waiting to be routed.
    return web.Response(status=204)


def kafka_unavailable(state: IngressState, detail: str) -> web.Response:
    """503 with Retry-After: Kafka did not take an admin write; repeating the request is safe."""
    return error(503, "kafka_unavailable", detail, {"Retry-After": str(state.settings.retry_after_s)})


async def store(state: IngressState, topic: str, key: str, value: bytes | None, what: str) -> web.Response | None:
    """Write one record of a compacted admin topic (`value` None: a tombstone) and wait at most
    the produce timeout for Kafka's acknowledgement; the 503 answer (`what` says what was not
    done) when it did not come, None when the record is durable."""
    try:
        await asyncio.wait_for(state.producer.produce(
            topic, value, key.encode()),  # type: ignore[arg-type]  # None: librdkafka writes a tombstone
            state.settings.produce_timeout_s)
    except (KafkaClientError, TimeoutError) as exc:
        return kafka_unavailable(state, f"{what}: {exc}")
    return None


def _problem(path: str, message: str) -> ConfigProblem:
    return ConfigProblem(path, message)


def add_admin_routes(app: web.Application) -> None:
    app.router.add_get("/v1/webhooks", list_webhooks)
    app.router.add_post("/v1/webhooks", create_webhook)
    app.router.add_get("/v1/webhooks/{source_id}", get_webhook)
    app.router.add_delete("/v1/webhooks/{source_id}", delete_webhook)
