"""Exactly-once's memory: the idempotency keys of completed deliveries, kept in a compacted
topic (`eis.delivered.<destination>`, same partition count as the destination topic, a key's
record in the partition number of its event) and read into memory when a partition's first
lane starts, so it survives restarts and rebalances.

Order of writes per event: deliver → record the key here (awaited) → receipt → commit. A
process killed between the destination's 2xx and this record redelivers that one event once,
with the same idempotency key — the documented window (docs/delivery-guarantees.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import confluent_kafka
import orjson
from confluent_kafka import TopicPartition

from schemas.kafka.producer import AsyncProducer
from schemas.kafka.settings import KafkaSettings, consumer_config

log = logging.getLogger("eis.connect")

# Reading "to the end" of a partition: the dev broker's high watermark may lag by the last
# batch (KAFKA-NOTES), so we write a fence record and read until we see it. One key: compaction
# keeps only the latest fence.
FENCE_KEY = b"__eis_fence__"
LOAD_TIMEOUT_S = 60.0


class DeliveredStore:
    """Per-partition sets of delivered idempotency keys, loaded from and written to Kafka."""

    def __init__(self, settings: KafkaSettings, topic: str, producer: AsyncProducer) -> None:
        self.settings = settings
        self.topic = topic
        self.producer = producer
        self._keys: dict[int, set[str]] = {}
        self._loading: dict[int, asyncio.Task[set[str]]] = {}

    async def ready(self, partition: int) -> None:
        """Load `partition` (once; concurrent callers share the load)."""
        if partition in self._keys:
            return
        task = self._loading.get(partition)
        if task is None:
            task = self._loading[partition] = asyncio.create_task(self._load(partition))
        try:
            keys = await asyncio.shield(task)
        finally:
            if task.done():
                self._loading.pop(partition, None)
        self._keys.setdefault(partition, set()).update(keys)

    def seen(self, partition: int, key: str) -> bool:
        """Whether the delivery with this idempotency key was completed (partition loaded)."""
        return key in self._keys.get(partition, ())

    async def record(self, partition: int, key: str) -> None:
        """Make the completed delivery durable (returns once Kafka acknowledged it)."""
        value = orjson.dumps({"at": time.time_ns() // 1_000_000})
        await self.producer.produce(self.topic, value, key.encode(), partition=partition)
        self._keys.setdefault(partition, set()).add(key)

    def forget(self, partition: int) -> None:
        """Drop a partition that moved to another member (it reloads if it comes back)."""
        self._keys.pop(partition, None)

    async def _load(self, partition: int) -> set[str]:
        fence = await self.producer.produce(self.topic, b"", FENCE_KEY, partition=partition)
        started = time.monotonic()
        keys = await asyncio.get_running_loop().run_in_executor(None, self._read, partition, fence.offset)
        log.info("destination topic %s[%d]: %d delivered key(s) loaded in %.2fs",
                 self.topic, partition, len(keys), time.monotonic() - started)
        return keys

    def _read(self, partition: int, fence_offset: int) -> set[str]:
        # A group-less reader (assign, never commits); the group id only satisfies the client.
        consumer = confluent_kafka.Consumer(consumer_config(
            self.settings, f"eis-dedup-load-{uuid.uuid4().hex}"))
        keys: set[str] = set()
        try:
            consumer.assign([TopicPartition(self.topic, partition, confluent_kafka.OFFSET_BEGINNING)])
            deadline = time.monotonic() + LOAD_TIMEOUT_S
            while time.monotonic() < deadline:
                for message in consumer.consume(1000, 0.2):
                    if message.error() is not None:
                        continue
                    key, offset = message.key(), message.offset()
                    if key and key != FENCE_KEY:
                        keys.add(key.decode())
                    if offset is not None and offset >= fence_offset:
                        return keys
            raise TimeoutError(f"could not read {self.topic}[{partition}] to its fence in {LOAD_TIMEOUT_S}s")
        finally:
            consumer.close()
