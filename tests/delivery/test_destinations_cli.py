"""`eis destinations show|enable`: an operator enables a destination a 410 Gone disabled."""

from __future__ import annotations

import orjson

from schemas.destination_state import DestinationState
from schemas.kafka.destination_states import read_states, write_state
from tests.delivery.helpers import load, pipeline_yaml


async def test_the_cli_shows_and_enables_a_disabled_destination(kafka, unique_name, stack_factory) -> None:
    text = pipeline_yaml(unique_name, """
      - {id: s, type: http, url: "http://127.0.0.1:9/in"}""")
    pipeline = load(text, kafka)          # `eis topics create`'s plan: the state topic too
    stack = stack_factory(text)
    config = str(stack.config_path)
    topic = pipeline.topics.destination_state

    never = stack.run_cli("destinations", "show", "r.s", "-c", config)
    assert never.returncode == 0 and orjson.loads(never.stdout)["state"] == "enabled", never.stderr
    write_state(kafka, topic, "r.s", DestinationState.gone("evt_1", 410, "HTTP 410: gone"))
    shown = orjson.loads(stack.run_cli("destinations", "show", "r.s", "-c", config).stdout)
    assert shown["state"] == "disabled" and shown["eventId"] == "evt_1" and shown["status"] == 410

    enabled = stack.run_cli("destinations", "enable", "r.s", "-c", config)
    assert enabled.returncode == 0 and "r.s enabled" in enabled.stdout, enabled.stderr
    assert not read_states(kafka, topic)["r.s"].disabled

    unknown = stack.run_cli("destinations", "enable", "nope", "-c", config)
    assert unknown.returncode == 2 and "known: r.s" in unknown.stderr
