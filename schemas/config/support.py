"""Parts of the spec's format that this release parses but does not run yet: refused by path,
never silently ignored."""

from __future__ import annotations

from schemas.config.pipeline import PipelineSpec
from schemas.errors import ConfigProblem


def _nsy(path: str, what: str) -> ConfigProblem:
    return ConfigProblem(path, what, not_supported=True)


def unsupported_parts(spec: PipelineSpec) -> list[ConfigProblem]:
    """Every configured feature a later release implements, with its config path."""
    problems: list[ConfigProblem] = []
    if spec.ingestion is not None:
        for i, entry in enumerate(spec.ingestion.protocols):
            if entry.mqtt is not None:
                problems.append(_nsy(f"ingestion.protocols[{i}].mqtt", "MQTT ingestion"))
            if entry.websocket is not None:
                problems.append(_nsy(f"ingestion.protocols[{i}].websocket", "WebSocket ingestion"))
        if spec.ingestion.validation is not None and spec.ingestion.validation.schema_ is not None:
            problems.append(_nsy("ingestion.validation.schema", "named event schemas"))
    for r, route in enumerate(spec.routing):
        path = f"routing[{r}]"
        for key, value in (
            ("batching", route.batching is not None and route.batching.enabled),
            ("preferences", route.preferences), ("channelOrdering", route.channel_ordering),
            ("deduplication", route.deduplication), ("cancellation", route.cancellation),
            ("compensation", route.compensation),
        ):
            if value:
                problems.append(_nsy(f"{path}.{key}", f"route {key}"))
        if route.transform and "enrich" in route.transform:
            problems.append(_nsy(f"{path}.transform.enrich", "enrichment"))
        for d, dest in enumerate(route.destinations):
            d_path = f"{path}.destinations[{d}]"
            if dest.delay:
                problems.append(_nsy(f"{d_path}.delay", "delayed delivery"))
            for key, value in (
                ("dependsOn", dest.depends_on), ("parallel", dest.parallel),
                ("bestEffort", dest.best_effort), ("ignoreFailure", dest.ignore_failure),
            ):
                if value:
                    problems.append(_nsy(f"{d_path}.{key}", "workflow steps"))
            if dest.enrich:
                problems.append(_nsy(f"{d_path}.enrich", "enrichment"))
            if dest.transform and "enrich" in dest.transform:
                problems.append(_nsy(f"{d_path}.transform.enrich", "enrichment"))
    delivery = spec.delivery
    if delivery.dead_letter.destination is not None:
        problems.append(_nsy("delivery.deadLetter.destination",
                             "copying dead letters outside Kafka (eis.dlq.* topics hold them)"))
    if delivery.idempotency is not None and delivery.idempotency.enabled:
        problems.append(_nsy("delivery.idempotency", "deduplication by event key"))
    if delivery.tracking is not None:
        problems.append(_nsy("delivery.tracking", "engagement tracking"))
    if spec.monitoring is not None:
        if spec.monitoring.alerts:
            problems.append(_nsy("monitoring.alerts", "alert rules (see ops/alerts for Prometheus rules)"))
        if spec.monitoring.tracing:
            problems.append(_nsy("monitoring.tracing", "distributed tracing"))
        metrics = spec.monitoring.metrics
        if metrics is not None and metrics.dimensions:
            problems.append(_nsy("monitoring.metrics.dimensions",
                                 "custom metric dimensions (an id as a label explodes cardinality)"))
    return problems
