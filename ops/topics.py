"""`eis topics create|describe`: the pipeline's topics on the configured cluster."""

from __future__ import annotations

from schemas.config import Pipeline
from schemas.config.topic_plan import topic_plan
from schemas.kafka.admin import describe_topics as describe
from schemas.kafka.admin import ensure_topics
from schemas.kafka.settings import KafkaSettings


def create_topics(pipeline: Pipeline) -> int:
    """Create every missing topic of the pipeline; existing ones are left as they are."""
    plan = topic_plan(pipeline)
    ensure_topics(KafkaSettings.from_env(), plan)
    print(f"eis: {len(plan)} topic(s) ready", flush=True)
    return 0


def describe_topics(pipeline: Pipeline) -> int:
    """Print each topic of the pipeline with its partition count."""
    plan = topic_plan(pipeline)
    found = describe(KafkaSettings.from_env(), [t.name for t in plan])
    for spec in plan:
        info = found.get(spec.name)
        state = f"{info.partitions} partition(s)" if info is not None else "MISSING"
        print(f"{spec.name:60} {state}")
    return 0
