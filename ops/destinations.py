"""`eis destinations show|enable DESTINATION`: a destination's state, and enabling one that a
410 Gone disabled. The work is done by `schemas.kafka.destination_states` (shared with the
admin API's `/v1/destinations/…`); this module only prints.
"""

from __future__ import annotations

import sys

import orjson

from schemas.config import Pipeline
from schemas.destination_state import NEVER_DISABLED, DestinationState, destination_state_topic
from schemas.kafka.admin import ensure_topics
from schemas.kafka.destination_states import read_states, write_state
from schemas.kafka.errors import KafkaClientError
from schemas.kafka.settings import KafkaSettings


def run_destinations(pipeline: Pipeline, action: str, destination_id: str,
                     settings: KafkaSettings | None = None) -> int:
    """Entry point of `eis destinations`; returns the exit code."""
    if destination_id not in pipeline.destinations:
        print(f"eis destinations: unknown destination {destination_id}; known: "
              f"{', '.join(pipeline.destinations)}", file=sys.stderr)
        return 2
    settings = settings or KafkaSettings.from_env()
    topic = pipeline.topics.destination_state
    try:
        if action == "show":
            state = read_states(settings, topic).get(destination_id, NEVER_DISABLED)
            print(orjson.dumps(state.describe(destination_id), option=orjson.OPT_INDENT_2).decode())
            return 0
        ensure_topics(settings, [destination_state_topic(topic, pipeline.spec.kafka.replication_factor)])
        write_state(settings, topic, destination_id, DestinationState.enabled())
    except KafkaClientError as exc:
        print(f"eis destinations: {exc}", file=sys.stderr)
        return 1
    print(f"{destination_id} enabled: connectors resume from its held events")
    return 0
