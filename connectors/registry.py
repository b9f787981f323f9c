"""Destination types by `type` name, imported on first use (no registration by import side effect).

Adding a destination type is one module in connectors/ plus one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, cast

from pydantic import ValidationError

from connectors.sink import Sink, SinkFactory
from schemas.config import CompiledDestination, Pipeline
from schemas.config.environment import format_path
from schemas.errors import ConfigProblem, UnknownComponentError

KNOWN_DESTINATIONS: Mapping[str, str] = {
    "http": "connectors.http:HttpSink",
}

# Types the spec's examples use that a later release delivers to: refused as "not supported yet".
PLANNED_DESTINATIONS = frozenset({
    "database", "postgres", "queue", "slack", "email", "sms", "push", "redis",
    "timeseries-db", "s3",
})


def sink_class(type_name: str) -> SinkFactory:
    """The sink class registered for `type_name`; UnknownComponentError lists the known ones."""
    target = KNOWN_DESTINATIONS.get(type_name)
    if target is None:
        raise UnknownComponentError("destination", type_name, sorted(KNOWN_DESTINATIONS))
    module_name, _, attribute = target.partition(":")
    return cast(SinkFactory, getattr(importlib.import_module(module_name), attribute))


def validate_settings(destination: CompiledDestination) -> Any:
    """Validate a destination's type-specific settings with its type's Config model."""
    return sink_class(destination.type).Config.model_validate(dict(destination.settings))


def build_sink(destination: CompiledDestination) -> Sink:
    """Construct the sink of a destination (its settings already checked by `check_destinations`)."""
    return sink_class(destination.type)(validate_settings(destination), destination)


def check_destinations(pipeline: Pipeline) -> list[ConfigProblem]:
    """Every problem with destination types and settings, with config paths."""
    problems = []
    for destination in pipeline.destinations.values():
        path = destination.config_path
        if destination.type not in KNOWN_DESTINATIONS:
            if destination.type in PLANNED_DESTINATIONS:
                problems.append(ConfigProblem(f"{path}.type", f"destination type `{destination.type}`",
                                              not_supported=True))
            else:
                unknown = UnknownComponentError("destination", destination.type,
                                                sorted({*KNOWN_DESTINATIONS, *PLANNED_DESTINATIONS}))
                problems.append(ConfigProblem(f"{path}.type", str(unknown)))
            continue
        try:
            validate_settings(destination)
        except ValidationError as exc:
            for error in exc.errors():
                where = format_path(tuple(error["loc"]))
                message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
                problems.append(ConfigProblem(f"{path}.{where}" if where else path, message))
    return problems
