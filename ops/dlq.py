"""`eis dlq list|show|redrive DESTINATION [--event ID | --since T --until T]`: operate on a
destination's dead letters (`eis.dlq.<destination>`). The work is done by
`schemas.kafka.dead_letters` (shared with the admin API); this module only prints.

Under exactly-once, an event already delivered is skipped by its idempotency key after redrive.
"""

from __future__ import annotations

import sys

import orjson

from schemas.config import Pipeline
from schemas.kafka.dead_letters import (
    Selection,
    describe,
    iso,
    parse_time_ms,
    read_dead_letters,
    redrive,
    select,
    split_redrivable,
)
from schemas.kafka.errors import KafkaClientError
from schemas.kafka.settings import KafkaSettings


def run_dlq(pipeline: Pipeline, action: str, destination_id: str, event: str | None,
            since: str | None, until: str | None, settings: KafkaSettings | None = None) -> int:
    """Entry point of `eis dlq`; returns the exit code."""
    destination = pipeline.destinations.get(destination_id)
    if destination is None:
        print(f"eis dlq: unknown destination {destination_id}; known: {', '.join(pipeline.destinations)}",
              file=sys.stderr)
        return 2
    if action == "show" and event is None:
        print("eis dlq show: --event ID is required", file=sys.stderr)
        return 2
    try:
        selection = Selection(event, parse_time_ms(since) if since else None, parse_time_ms(until) if until else None)
    except ValueError as exc:
        print(f"eis dlq: {exc}", file=sys.stderr)
        return 2
    if action == "redrive" and selection.empty:
        print("eis dlq redrive: select with --event ID or --since/--until", file=sys.stderr)
        return 2
    settings = settings or KafkaSettings.from_env()
    skipped: list[str] = []
    try:
        chosen = select(read_dead_letters(settings, destination.dead_letter_topic, skipped=skipped), selection)
        for problem in skipped:
            print(f"eis dlq: skipping {problem}", file=sys.stderr)
        if action == "list":
            for parked in chosen:
                r = parked.record
                error = (r.last_error or "").replace("\n", " ")[:80]
                print(f"{parked.partition}/{parked.offset}\t{iso(r.dead_lettered_at)}\t{r.event_id or '-'}\t"
                      f"{r.reason}\tattempts={r.attempts}\t{error}")
            print(f"{len(chosen)} dead letter(s) in {destination.dead_letter_topic}", file=sys.stderr)
            return 0
        if action == "show":
            if not chosen:
                print(f"eis dlq: no dead letter for event {event}", file=sys.stderr)
                return 1
            for parked in chosen:
                print(orjson.dumps(describe(parked), option=orjson.OPT_INDENT_2).decode())
            return 0
        redrivable, foreign = split_redrivable(destination, chosen)
        for r in foreign:
            print(f"eis dlq: skipping {r.event_id or '-'} (stage {r.stage}, from {r.origin_topic}): "
                  f"produce it to {r.origin_topic} again to re-route it", file=sys.stderr)
        count = redrive(settings, destination, redrivable)
        print(f"redriven {count} event(s) to {destination.topic}")
        return 0
    except KafkaClientError as exc:
        print(f"eis dlq: {exc}", file=sys.stderr)
        return 1
