"""Kafka plumbing shared by ingress and connectors: settings, producer, consumer, admin, errors.

The Faust worker uses Faust's own client; this package is for confluent-kafka based roles.
"""

from __future__ import annotations

from schemas.kafka.admin import (
    EnsureResult,
    PartitionInfo,
    PartitionMismatch,
    TopicDescription,
    TopicSpec,
    delete_topics,
    describe_topics,
    ensure_topics,
)
from schemas.kafka.consumer import AsyncConsumer, RebalanceHook, next_offsets
from schemas.kafka.errors import (
    KafkaClientError,
    KafkaClosedError,
    KafkaCommitError,
    KafkaConfigError,
    KafkaConsumeError,
    KafkaDeliveryError,
    KafkaTopicError,
)
from schemas.kafka.producer import AsyncProducer, Delivered, ProducerRecord
from schemas.kafka.settings import KafkaSettings, admin_config, consumer_config, producer_config

__all__ = [
    "AsyncConsumer",
    "AsyncProducer",
    "Delivered",
    "EnsureResult",
    "KafkaClientError",
    "KafkaClosedError",
    "KafkaCommitError",
    "KafkaConfigError",
    "KafkaConsumeError",
    "KafkaDeliveryError",
    "KafkaSettings",
    "KafkaTopicError",
    "PartitionInfo",
    "PartitionMismatch",
    "ProducerRecord",
    "RebalanceHook",
    "TopicDescription",
    "TopicSpec",
    "admin_config",
    "consumer_config",
    "delete_topics",
    "describe_topics",
    "ensure_topics",
    "next_offsets",
    "producer_config",
]
