"""Load a pipeline file: parse, substitute the environment, validate, compile — reporting every problem."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from schemas.config.compiled import (
    CompiledDestination,
    CompiledRoute,
    CompiledTransform,
    DeliveryPolicy,
    Pipeline,
    RetryPolicy,
)
from schemas.config.environment import format_path, substitute
from schemas.config.pipeline import PipelineSpec
from schemas.config.routing import DestinationSpec, RouteSpec
from schemas.config.support import unsupported_parts
from schemas.errors import ConfigError, ConfigProblem
from schemas.expressions import (
    Expression,
    ExpressionSyntaxError,
    compile_expression,
    compile_mapping,
)
from schemas.topics import TopicNames

TRANSFORM_KEYS = frozenset({"outputFormat", "mapping", "enrich"})

# A check a role adds (destination types, verification schemes): it sees the loaded pipeline
# and returns problems; schemas/ cannot know the components themselves.
PipelineCheck = Callable[[Pipeline], list[ConfigProblem]]


def load_pipeline(
    path: str | Path, environ: Mapping[str, str] | None = None,
    checks: Sequence[PipelineCheck] = (),
) -> Pipeline:
    """Load a `.json`, `.yaml` or `.yml` pipeline file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem("", f"cannot read {path}: {exc.strerror}")], str(path)) from exc
    fmt = "json" if path.suffix == ".json" else "yaml"
    return load_pipeline_text(text, fmt, environ, str(path), checks)


def load_pipeline_text(
    text: str, fmt: str = "yaml", environ: Mapping[str, str] | None = None,
    source: str | None = None, checks: Sequence[PipelineCheck] = (),
) -> Pipeline:
    """Load configuration text in `json` or `yaml` (YAML accepts JSON too)."""
    try:
        tree = orjson.loads(text) if fmt == "json" else yaml.safe_load(text)
    except orjson.JSONDecodeError as exc:
        raise ConfigError([ConfigProblem("", f"invalid JSON: {exc}")], source) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem("", f"invalid YAML: {exc}")], source) from exc
    return parse_pipeline(tree, environ, source, checks)


def parse_pipeline(
    tree: Any, environ: Mapping[str, str] | None = None, source: str | None = None,
    checks: Sequence[PipelineCheck] = (),
) -> Pipeline:
    """Validate an already-parsed configuration tree and compile it."""
    problems: list[ConfigProblem] = []
    if not isinstance(tree, dict):
        raise ConfigError([ConfigProblem("", "the configuration must be a mapping")], source)
    tree = substitute(tree, os.environ if environ is None else environ, problems)
    try:
        spec = PipelineSpec.model_validate(tree)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc))
        raise ConfigError(problems, source) from None
    problems.extend(unsupported_parts(spec))
    pipeline = _compile(spec, source, problems)
    for check in checks:
        problems.extend(check(pipeline))
    if problems:
        raise ConfigError(problems, source)
    return pipeline


def _pydantic_problems(exc: ValidationError) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(ConfigProblem(format_path(loc), message))
    return problems


class _Compiler:
    """Compiles expressions and collects problems with their config paths."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        self.named_mappings: dict[str, dict[str, Any]] = {}

    def expression(self, text: str | None, path: str) -> Expression | None:
        if text is None:
            return None
        try:
            return compile_expression(text)
        except ExpressionSyntaxError as exc:
            self.problems.append(ConfigProblem(path, str(exc)))
            return None

    def transform(self, transform: dict[str, Any] | None, path: str) -> CompiledTransform | None:
        if transform is None:
            return None
        if not TRANSFORM_KEYS.intersection(transform):
            return self._mapping(transform, path, None)
        output_format = transform.get("outputFormat")
        mapping = transform.get("mapping")
        if mapping is None and output_format is not None:
            mapping = self.named_mappings.get(output_format)
            if mapping is None:
                self.problems.append(ConfigProblem(
                    f"{path}.outputFormat",
                    f"output format `{output_format}` has no mapping: define `mapping` on one route "
                    f"with this outputFormat (known: {', '.join(self.named_mappings) or 'none'})",
                ))
                return None
        if mapping is None:
            return None
        return self._mapping(mapping, f"{path}.mapping", output_format)

    def _mapping(self, mapping: Any, path: str, output_format: str | None) -> CompiledTransform | None:
        try:
            return CompiledTransform(compile_mapping(mapping), output_format)
        except ExpressionSyntaxError as exc:
            where = f"{path}.{exc.path}" if exc.path else path
            self.problems.append(ConfigProblem(where, str(exc)))
            return None


def _compile(spec: PipelineSpec, source: str | None, problems: list[ConfigProblem]) -> Pipeline:
    compiler = _Compiler(problems)
    for route in spec.routing:  # named output formats may be used before the route defining them
        t = route.transform or {}
        if isinstance(t.get("mapping"), dict) and isinstance(t.get("outputFormat"), str):
            compiler.named_mappings.setdefault(t["outputFormat"], t["mapping"])
    topics = TopicNames(spec.kafka.topic_prefix)
    routes = []
    seen_routes: set[str] = set()
    for r_index, route in enumerate(spec.routing):
        path = f"routing[{r_index}]"
        if route.name in seen_routes:
            problems.append(ConfigProblem(f"{path}.name", f"duplicate route name `{route.name}`"))
        seen_routes.add(route.name)
        routes.append(_compile_route(spec, route, path, topics, compiler))
    source_keys = {}
    for w_index, webhook in enumerate(spec.webhooks):
        key = compiler.expression(webhook.partition_key, f"webhooks[{w_index}].partitionKey")
        if key is not None:
            source_keys[webhook.id] = key
    if len({w.id for w in spec.webhooks}) != len(spec.webhooks):
        problems.append(ConfigProblem("webhooks", "webhook ids must be unique"))
    partition_key = compiler.expression(spec.delivery.partitioning.key, "delivery.partitioning.key")
    return Pipeline(spec, topics, tuple(routes), partition_key, source_keys, source)


def _compile_route(
    spec: PipelineSpec, route: RouteSpec, path: str, topics: TopicNames, compiler: _Compiler,
) -> CompiledRoute:
    destinations = []
    seen: set[str] = set()
    for d_index, dest in enumerate(route.destinations):
        d_path = f"{path}.destinations[{d_index}]"
        local_id = dest.id or f"{dest.type}-{d_index}"
        if local_id in seen:
            compiler.problems.append(ConfigProblem(f"{d_path}.id", f"duplicate destination id `{local_id}`"))
        seen.add(local_id)
        destinations.append(_compile_destination(spec, route.name, dest, local_id, d_path, topics, compiler))
    return CompiledRoute(
        name=route.name,
        condition=compiler.expression(route.condition, f"{path}.condition"),
        sources=frozenset(route.sources) if route.sources is not None else None,
        transform=compiler.transform(route.transform, f"{path}.transform"),
        destinations=tuple(destinations),
    )


def _compile_destination(
    spec: PipelineSpec, route: str, dest: DestinationSpec, local_id: str, path: str,
    topics: TopicNames, compiler: _Compiler,
) -> CompiledDestination:
    destination_id = f"{route}.{local_id}"
    retry = RetryPolicy.from_spec(dest.retry or spec.delivery.retry)
    return CompiledDestination(
        id=destination_id,
        route=route,
        type=dest.type,
        config_path=path,
        condition=compiler.expression(dest.condition, f"{path}.condition"),
        transform=compiler.transform(dest.transform, f"{path}.transform"),
        settings=dest.component_settings(),
        timeout_ms=dest.timeout if dest.timeout is not None else spec.delivery.timeout,
        retry=retry,
        topic=topics.outbound(destination_id),
        dead_letter_topic=topics.dead_letter(destination_id),
        spec=dest,
        egress=spec.egress,
        signing_secret=spec.delivery.signing_secret,
        policy=DeliveryPolicy.resolve(spec.delivery, dest, retry, topics, destination_id),
    )
