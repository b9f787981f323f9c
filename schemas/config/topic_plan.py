"""Which topics a pipeline needs, with partition counts and settings (created by `eis topics create`
and, idempotently, by each role at start)."""

from __future__ import annotations

from schemas.config.compiled import Pipeline
from schemas.destination_state import destination_state_topic
from schemas.kafka.admin import TopicSpec

# A destination's dead letters wait for an operator: keep them longer than a week-long holiday.
DEAD_LETTER_RETENTION_MS = 30 * 86_400_000
# Delay tiers hold a retry until it is due: retained far longer than the longest delay.
RETRY_RETENTION_MS = 7 * 86_400_000
# Exactly-once remembers completed deliveries this long (the deduplication horizon); compaction
# keeps one record per idempotency key meanwhile (docs/delivery-guarantees.md).
DELIVERED_RETENTION_MS = 7 * 86_400_000
# Seen provider ids (replay protection) outlive the longest replayWindow (sources.MAX_REPLAY_WINDOW_MS).
SEEN_RETENTION_MS = 7 * 86_400_000


def topic_plan(pipeline: Pipeline) -> list[TopicSpec]:
    """Every topic the pipeline's roles read or write."""
    rf = pipeline.spec.kafka.replication_factor
    partitions = pipeline.partitions
    topics = pipeline.topics
    plan = [TopicSpec(topics.inbound(source), partitions, rf) for source in pipeline.source_ids]
    for destination in pipeline.destinations.values():
        plan.append(TopicSpec(destination.topic, partitions, rf))
        plan.append(TopicSpec(destination.dead_letter_topic, partitions, rf,
                              {"retention.ms": str(DEAD_LETTER_RETENTION_MS)}))
        policy = destination.policy
        for tier in policy.retry_tiers:
            retention = max(RETRY_RETENTION_MS, 10 * tier.delay_ms)
            plan.append(TopicSpec(tier.topic, partitions, rf, {"retention.ms": str(retention)}))
        if policy.delivered_topic is not None:
            plan.append(TopicSpec(policy.delivered_topic, partitions, rf, {
                "cleanup.policy": "compact,delete", "retention.ms": str(DELIVERED_RETENTION_MS)}))
    plan.append(TopicSpec(topics.receipts, pipeline.spec.kafka.receipts_partitions or partitions, rf))
    plan.append(TopicSpec(topics.invalid, partitions, rf))
    plan.append(TopicSpec(topics.sources, 1, rf, {"cleanup.policy": "compact"}))
    # The ingress also creates its two state topics at start, but only then: after a cluster
    # lost everything, `eis topics create` must bring back the seen ids' topic too (one
    # partition: ingress/cluster.py's readiness barrier relies on it).
    plan.append(TopicSpec(topics.seen, 1, rf, {"cleanup.policy": "compact,delete",
                                              "retention.ms": str(SEEN_RETENTION_MS)}))
    plan.append(destination_state_topic(topics.destination_state, rf))
    return plan
