"""Blocking reads and writes of the destination-state topic, for tooling and the admin API
(`eis destinations`, `GET/POST /v1/destinations/…`); connectors tail it themselves
(connectors/switch.py). From async code run these in a thread.
"""

from __future__ import annotations

import logging
import time
import uuid

import confluent_kafka
from confluent_kafka import TopicPartition

from schemas.destination_state import FENCE_KEY, DestinationState
from schemas.errors import DecodeError
from schemas.kafka.admin import topic_partitions
from schemas.kafka.errors import KafkaDeliveryError, KafkaTopicError
from schemas.kafka.settings import KafkaSettings, consumer_config, producer_config

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 30.0


def write_state(settings: KafkaSettings, topic: str, destination: str, record: DestinationState | None,
                timeout_s: float = 30.0) -> int:
    """Write `record` (None: a fence) under `destination`'s key; returns its offset once Kafka
    acknowledged it. Raises `KafkaDeliveryError` when it was not acknowledged in `timeout_s`."""
    producer = confluent_kafka.Producer(producer_config(settings))
    outcome: list[confluent_kafka.KafkaError | int | None] = []

    def on_delivery(err: confluent_kafka.KafkaError | None, message: confluent_kafka.Message) -> None:
        outcome.append(err if err is not None else message.offset())

    value = record.encode() if record is not None else b""
    key = destination.encode() if record is not None else FENCE_KEY
    producer.produce(topic, value, key, on_delivery=on_delivery)
    producer.flush(timeout_s)
    if not outcome or not isinstance(outcome[0], int):
        error = outcome[0] if outcome else None
        detail = error.str() if isinstance(error, confluent_kafka.KafkaError) else f"no answer in {timeout_s}s"
        raise KafkaDeliveryError(f"destination state not written to {topic}: {detail}",
                                 topic=topic, retriable=True)
    return outcome[0]


def read_states(settings: KafkaSettings, topic: str,
                timeout_s: float = READ_TIMEOUT_S) -> dict[str, DestinationState]:
    """The latest state of every destination that has one (a missing topic: none). Reads to a
    fence record it writes first, so every state written before the call is included."""
    consumer = confluent_kafka.Consumer(consumer_config(settings, f"eis-state-reader-{uuid.uuid4().hex}"))
    try:
        if topic_partitions(consumer, topic) is None:
            return {}     # nothing was ever disabled (`eis topics create` makes the topic)
        fence = write_state(settings, topic, "", None)
        consumer.assign([TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
        states: dict[str, DestinationState] = {}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in consumer.consume(500, 0.2):
                offset = message.offset()
                if message.error() is not None or offset is None:
                    continue
                apply_record(states, message.key(), message.value())
                if offset >= fence:
                    return states
        raise KafkaTopicError(f"could not read {topic} to its end within {timeout_s}s", retriable=True)
    finally:
        consumer.close()


def apply_record(states: dict[str, DestinationState], key: bytes | None, value: bytes | None) -> str | None:
    """Fold one record of the topic into `states`; returns the destination it changed (None for
    a fence, a tombstone of an unknown key or an undecodable record, which is logged)."""
    if not key or key == FENCE_KEY:
        return None
    destination = key.decode("utf-8", "replace")
    if value is None:      # a tombstone: the destination's history was erased, it is enabled
        return destination if states.pop(destination, None) is not None else None
    try:
        states[destination] = DestinationState.decode(value)
    except DecodeError as exc:
        log.error("destination %s: state record ignored: %s", destination, exc)
        return None
    return destination
