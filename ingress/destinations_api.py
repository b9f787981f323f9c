"""`/v1/destinations/{destination}`: a destination's state, and enabling one a 410 Gone disabled.

A destination that answers 410 Gone is disabled by the connectors (its events are held in
Kafka, nothing is dead-lettered); ingress keeps accepting events for it meanwhile. An operator
enables it again here or with `eis destinations enable`: both write `{"state": "enabled"}` to
the compacted `<prefix>.destination-state` topic, which every connector tails; they resume from
the held event. Authenticated with `Authorization: Bearer $EIS_ADMIN_KEY` (`require_admin`).
The record contract is `schemas.destination_state`: ingress never imports connectors/.
"""

from __future__ import annotations

from aiohttp import web

from ingress.admin import kafka_unavailable, require_admin, store
from ingress.cluster import in_daemon_thread
from ingress.responses import error, json_response
from ingress.state import IngressState
from schemas.destination_state import NEVER_DISABLED, DestinationState, destination_state_topic
from schemas.kafka.admin import ensure_topics
from schemas.kafka.destination_states import read_states
from schemas.kafka.errors import KafkaClientError


def _destination(request: web.Request) -> tuple[IngressState, str, web.Response | None]:
    state, refusal = require_admin(request)
    destination = request.match_info["destination"]
    if refusal is not None:
        return state, destination, refusal
    if destination not in state.pipeline.destinations:
        known = ", ".join(sorted(state.pipeline.destinations)) or "none"
        return state, destination, error(404, "unknown_destination",
                                         f"no destination {destination!r}; known: {known}")
    if state.kafka is None:
        return state, destination, error(503, "kafka_unavailable", "this ingress has no Kafka settings")
    return state, destination, None


async def get_destination(request: web.Request) -> web.Response:
    """`GET /v1/destinations/{destination}`: `{destination, state, reason, eventId, status, at}`
    (`enabled` with an empty reason when it was never disabled)."""
    state, destination, refusal = _destination(request)
    if refusal is not None:
        return refusal
    kafka, topic = state.kafka, state.pipeline.topics.destination_state
    assert kafka is not None
    try:
        # Reads the topic to a fence it writes (a second or so): an admin call, never the hot path.
        states = await in_daemon_thread(lambda: read_states(kafka, topic))
    except KafkaClientError as exc:
        return kafka_unavailable(state, f"the destination state was not read: {exc}")
    return json_response(states.get(destination, NEVER_DISABLED).describe(destination))


async def enable_destination(request: web.Request) -> web.Response:
    """`POST /v1/destinations/{destination}/enable`: 200 with the new state once Kafka
    acknowledged it; the connectors resume within about a fetch. Enabling an enabled
    destination is harmless (the same record again)."""
    state, destination, refusal = _destination(request)
    if refusal is not None:
        return refusal
    kafka, topic = state.kafka, state.pipeline.topics.destination_state
    assert kafka is not None
    spec = destination_state_topic(topic, state.pipeline.spec.kafka.replication_factor)
    try:
        # Normally made by `eis topics create` or a connector; a write to a missing topic would
        # wait out the produce timeout instead of answering.
        await in_daemon_thread(lambda: ensure_topics(kafka, [spec]))
    except KafkaClientError as exc:
        return kafka_unavailable(state, f"the destination was not enabled: {exc}")
    record = DestinationState.enabled()
    refusal = await store(state, topic, destination, record.encode(), "the destination was not enabled")
    if refusal is not None:
        return refusal
    return json_response(record.describe(destination))


def add_destination_routes(app: web.Application) -> None:
    """Register the routes on the ingress app."""
    app.router.add_get("/v1/destinations/{destination}", get_destination)
    app.router.add_post("/v1/destinations/{destination}/enable", enable_destination)
