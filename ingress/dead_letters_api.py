"""`/v1/dlq/{destination}`: list and redrive a destination's dead letters over the admin API.

The same operations as `eis dlq` (both call `schemas.kafka.dead_letters`), authenticated with
`Authorization: Bearer $EIS_ADMIN_KEY`. Selection: `event` (an event id) and/or `since`/`until`
(ISO-8601, epoch ms or an age such as `2h`), as query parameters for GET and as a JSON body for
the redrive POST. Reading a dead-letter topic scans it, so answers take up to a few seconds;
the scan runs in a thread and never blocks the ingress's event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from ingress.admin import require_admin
from ingress.responses import error, json_response
from schemas.config import CompiledDestination
from schemas.kafka.dead_letters import (
    Parked,
    Selection,
    describe,
    parse_time_ms,
    read_dead_letters,
    redrive,
    select,
    split_redrivable,
)
from schemas.kafka.errors import KafkaClientError, KafkaTopicError
from schemas.kafka.settings import KafkaSettings

MAX_SELECTION_BYTES = 4096
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class BadSelection(ValueError):
    """A selection the caller must fix; the message names the field."""


def _selection(fields: dict[str, Any]) -> Selection:
    unknown = set(fields) - {"event", "since", "until", "limit"}
    if unknown:
        raise BadSelection(f"unknown field(s) {sorted(unknown)}: select with event, since, until")
    for name in ("event", "since", "until"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise BadSelection(f"{name}: expected a string")
    try:
        since = parse_time_ms(fields["since"]) if fields.get("since") else None
        until = parse_time_ms(fields["until"]) if fields.get("until") else None
    except ValueError as exc:
        raise BadSelection(str(exc)) from exc
    return Selection(fields.get("event") or None, since, until)


def _destination(request: web.Request) -> tuple[CompiledDestination | None, KafkaSettings | None,
                                                  web.Response | None]:
    state, refusal = require_admin(request)
    if refusal is not None:
        return None, None, refusal
    destination_id = request.match_info["destination"]
    destination = state.pipeline.destinations.get(destination_id)
    if destination is None:
        known = ", ".join(sorted(state.pipeline.destinations)) or "none"
        return None, None, error(404, "unknown_destination",
                                 f"no destination {destination_id!r}; known: {known}")
    if state.kafka is None:
        return None, None, error(503, "kafka_unavailable", "this ingress has no Kafka settings")
    return destination, state.kafka, None


async def _read(kafka: KafkaSettings, destination: CompiledDestination,
                selection: Selection) -> tuple[list[Parked], list[str]]:
    skipped: list[str] = []
    parked = await asyncio.to_thread(read_dead_letters, kafka, destination.dead_letter_topic, 30.0, skipped)
    return select(parked, selection), skipped


def _kafka_failure(exc: KafkaClientError) -> web.Response:
    if isinstance(exc, KafkaTopicError):
        return error(404, "unknown_topic", f"{exc}: run `eis topics create`")
    return error(503, "kafka_unavailable", str(exc), {"Retry-After": "5"})


async def list_dead_letters(request: web.Request) -> web.Response:
    """`GET /v1/dlq/{destination}[?event=&since=&until=&limit=]`: the selected dead letters,
    oldest first per partition, each as `eis dlq show` prints it."""
    destination, kafka, refusal = _destination(request)
    if refusal is not None:
        return refusal
    assert destination is not None and kafka is not None
    try:
        selection = _selection(dict(request.query))
        limit = int(request.query.get("limit", DEFAULT_LIMIT))
        if not 1 <= limit <= MAX_LIMIT:
            raise BadSelection(f"limit: between 1 and {MAX_LIMIT}")
    except ValueError as exc:
        return error(400, "invalid_selection", str(exc))
    try:
        chosen, skipped = await _read(kafka, destination, selection)
    except KafkaClientError as exc:
        return _kafka_failure(exc)
    return json_response({
        "destination": destination.id, "topic": destination.dead_letter_topic, "count": len(chosen),
        "deadLetters": [describe(p) for p in chosen[:limit]], "truncated": len(chosen) > limit,
        "skipped": skipped,
    })


async def redrive_dead_letters(request: web.Request) -> web.Response:
    """`POST /v1/dlq/{destination}/redrive` with `{"event": …}` and/or `{"since": …, "until": …}`:
    re-produce the selected originals to the destination topic; 200 once Kafka acknowledged them."""
    destination, kafka, refusal = _destination(request)
    if refusal is not None:
        return refusal
    assert destination is not None and kafka is not None
    body = await request.content.read(MAX_SELECTION_BYTES + 1)
    try:
        if len(body) > MAX_SELECTION_BYTES:
            raise BadSelection(f"a selection is at most {MAX_SELECTION_BYTES} bytes")
        fields = orjson.loads(body) if body.strip() else {}
        if not isinstance(fields, dict):
            raise BadSelection("the body is a JSON object: {\"event\": …} or {\"since\": …, \"until\": …}")
        selection = _selection(fields)
        if selection.empty:
            raise BadSelection("select what to redrive with event, or since/until: redriving a whole "
                               "dead-letter topic must be asked for with since")
    except orjson.JSONDecodeError as exc:
        return error(400, "invalid_json", f"the body is not JSON: {exc}")
    except ValueError as exc:
        return error(400, "invalid_selection", str(exc))
    try:
        chosen, _ = await _read(kafka, destination, selection)
        redrivable, foreign = split_redrivable(destination, chosen)
        count = await asyncio.to_thread(redrive, kafka, destination, redrivable)
    except KafkaClientError as exc:
        return _kafka_failure(exc)
    return json_response({
        "destination": destination.id, "topic": destination.topic, "redriven": count,
        "skipped": [{"eventId": r.event_id, "stage": r.stage, "originTopic": r.origin_topic,
                     "detail": f"parked before routing: produce it to {r.origin_topic} again"}
                    for r in foreign],
    })


def add_dead_letter_routes(app: web.Application) -> None:
    """Register the routes on the ingress app."""
    app.router.add_get("/v1/dlq/{destination}", list_dead_letters)
    app.router.add_post("/v1/dlq/{destination}/redrive", redrive_dead_letters)
