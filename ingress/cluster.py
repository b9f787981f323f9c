"""What ingress processes share through Kafka: seen provider ids, heartbeats, provisioned sources.

Every ingress process tails two compacted topics from the beginning, outside any consumer
group (each process needs every record, so partitions are assigned, not shared):

- `<prefix>.ingress.seen`: `<source>/<provider id>` → `{"id", "at"}` written after an event
  was acknowledged (replay protection), and `~hb/<instance>` → `{"at"}` heartbeats every
  `heartbeat_interval_s` (tombstoned on shutdown), from which the number of live processes
  is counted for rate-limit shares.
- `<prefix>.sources`: source id → a provisioned webhook definition, tombstone on delete.

Readiness: the first heartbeat is also a barrier. The process writes it once the partitions
are assigned and is ready when it has read its own heartbeat back: everything written to the
seen topic before it has then been applied (high watermarks are not trusted for this: the
development broker can report one short by the last batch, KAFKA-NOTES.md).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import confluent_kafka
import orjson
from confluent_kafka import Message, TopicPartition

from ingress.replay import HEARTBEAT_PREFIX, SeenIds, decode_seen, encode_seen
from schemas.config.topic_plan import SEEN_RETENTION_MS
from schemas.kafka.admin import TopicSpec, ensure_topics
from schemas.kafka.consumer import tail_to_loop
from schemas.kafka.errors import KafkaClientError
from schemas.kafka.producer import AsyncProducer
from schemas.kafka.settings import KafkaSettings, consumer_config

log = logging.getLogger(__name__)
_T = TypeVar("_T")

HEARTBEAT_MISSES = 3                  # a process silent for 3 intervals no longer counts
SourceChange = Callable[[str, bytes | None], None]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def state_topics(seen: str, sources: str, replication_factor: int) -> list[TopicSpec]:
    """The two topics the ingress tails (also in topic_plan; created here when missing)."""
    return [
        TopicSpec(seen, 1, replication_factor, {"cleanup.policy": "compact,delete",
                                                "retention.ms": str(SEEN_RETENTION_MS)}),
        TopicSpec(sources, 1, replication_factor, {"cleanup.policy": "compact"}),
    ]


async def in_daemon_thread(fn: Callable[[], _T]) -> _T:
    """Run a blocking client call in a daemon thread: a call still blocked at shutdown (an
    unreachable broker) must not hold the process exit as executor threads would."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def run() -> None:
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            loop.call_soon_threadsafe(_set_exception, future, exc)
        else:
            loop.call_soon_threadsafe(_set_result, future, result)

    threading.Thread(target=run, name="eis-ingress-admin", daemon=True).start()
    return await future


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class ClusterState:
    """The tail of the shared topics, applied on the event loop. Lifecycle: `start()` inside the
    loop (returns at once; connecting and catching up happen in the background, retried while
    Kafka is unreachable), `ready` / `wait_ready()`, then `await stop()`."""

    def __init__(self, kafka: KafkaSettings, producer: AsyncProducer, seen_topic: str,
                 sources_topic: str, replication_factor: int, seen: SeenIds,
                 on_source: SourceChange, heartbeat_interval_s: float) -> None:
        self.kafka = kafka
        self.producer = producer
        self.seen_topic = seen_topic
        self.sources_topic = sources_topic
        self.replication_factor = replication_factor
        self.seen = seen
        self.on_source = on_source
        self.heartbeat_interval_s = heartbeat_interval_s
        self.instance = uuid.uuid4().hex[:12]
        self.heartbeats: dict[str, int] = {}     # instance → last heartbeat time (ms, its clock)
        self._ready = asyncio.Event()
        self._barrier: int | None = None         # offset of our first heartbeat
        self._own_read = -1                      # highest offset of our heartbeats read back
        self._sources_pending: set[int] = set()        # sources partitions not read to the end yet
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="eis-ingress-cluster")

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self, timeout: float) -> bool:
        """True once caught up; waits at most `timeout` seconds."""
        if self._ready.is_set():
            return True
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Tombstone our heartbeat (our share goes back to the others at once) and stop."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._ready.is_set():
            try:
                await asyncio.wait_for(self.producer.produce(
                    self.seen_topic, None, self._heartbeat_key()), 2.0)  # type: ignore[arg-type]
            except (KafkaClientError, TimeoutError) as exc:
                log.warning("ingress heartbeat tombstone not written: %s", exc)
        self._stopping.set()
        if self._thread is not None:
            await in_daemon_thread(lambda: self._thread.join(5.0) if self._thread else None)

    # -- what handlers ask ------------------------------------------------------------------

    def live_instances(self) -> int:
        """Ingress processes with a recent heartbeat, this one included."""
        horizon = now_ms() - int(HEARTBEAT_MISSES * self.heartbeat_interval_s * 1000)
        others = sum(1 for instance, at in self.heartbeats.items()
                     if instance != self.instance and at >= horizon)
        return 1 + others

    async def write_seen(self, key: str, event_id: str, at_ms: int) -> None:
        """Persist one accepted provider id; failures are logged (the event itself is safe)."""
        try:
            await self.producer.produce(self.seen_topic, encode_seen(event_id, at_ms), key.encode())
        except KafkaClientError as exc:
            log.warning("seen id %s not written (a replay may be accepted again): %s", key, exc)

    # -- background -------------------------------------------------------------------------

    def _heartbeat_key(self) -> bytes:
        return f"{HEARTBEAT_PREFIX}{self.instance}".encode()

    async def _heartbeat(self) -> confluent_kafka.TopicPartition | None:
        value = orjson.dumps({"at": now_ms(), "interval": self.heartbeat_interval_s})
        try:
            delivered = await self.producer.produce(self.seen_topic, value, self._heartbeat_key())
        except KafkaClientError as exc:
            log.warning("ingress heartbeat not written: %s", exc)
            return None
        return TopicPartition(self.seen_topic, delivered.partition, delivered.offset)

    async def _run(self) -> None:
        while True:
            try:
                await in_daemon_thread(lambda: ensure_topics(
                    self.kafka, state_topics(self.seen_topic, self.sources_topic,
                                             self.replication_factor), timeout=5.0))
                consumer = await in_daemon_thread(self._assign)
                break
            except (KafkaClientError, confluent_kafka.KafkaException) as exc:
                log.warning("ingress shared state: Kafka not ready (%s); retrying", exc)
                await asyncio.sleep(1.0)
        self._thread = threading.Thread(
            target=tail_to_loop, args=(consumer, self._loop, self._stopping, self._apply),
            name="eis-ingress-tail", daemon=True)
        self._thread.start()
        while (barrier := await self._heartbeat()) is None:  # noqa: ASYNC110 - retrying a write
            await asyncio.sleep(1.0)
        self._barrier = barrier.offset
        self._check_ready()
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            await self._heartbeat()

    def _assign(self) -> confluent_kafka.Consumer:
        config = consumer_config(self.kafka, f"eis-ingress-tail-{self.instance}",
                                 **{"enable.partition.eof": True})
        consumer = confluent_kafka.Consumer({**config, "logger": log})
        assignment: list[TopicPartition] = []
        for topic in (self.seen_topic, self.sources_topic):
            metadata = consumer.list_topics(topic, timeout=5.0).topics[topic]
            if metadata.error is not None:
                consumer.close()
                raise confluent_kafka.KafkaException(metadata.error)
            for partition in metadata.partitions:
                assignment.append(TopicPartition(topic, partition, confluent_kafka.OFFSET_BEGINNING))
                if topic == self.sources_topic:
                    self._sources_pending.add(partition)
        consumer.assign(assignment)
        return consumer

    # -- applying records (event loop) ------------------------------------------------------

    def _apply(self, messages: list[Message]) -> None:
        now = now_ms()
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    if message.topic() == self.sources_topic:
                        self._sources_pending.discard(message.partition() or 0)
                else:
                    log.warning("ingress shared state: %s", error.str())
                continue
            if message.topic() == self.seen_topic:
                self._apply_seen(message, now)
            else:
                key = (message.key() or b"").decode(errors="replace")
                self.on_source(key, message.value())
        self._check_ready()

    def _apply_seen(self, message: Message, now: int) -> None:
        key = (message.key() or b"").decode(errors="replace")
        value = message.value()
        if key.startswith(HEARTBEAT_PREFIX):
            instance = key[len(HEARTBEAT_PREFIX):]
            if instance == self.instance:
                self._own_read = max(self._own_read, message.offset() or 0)
            if value is None:
                self.heartbeats.pop(instance, None)
                return
            try:
                self.heartbeats[instance] = int(orjson.loads(value)["at"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                pass
            return
        if value is None:
            self.seen.discard(key)
            return
        decoded = decode_seen(value)
        if decoded is not None:
            self.seen.put(key, decoded[0], decoded[1], now)

    def _check_ready(self) -> None:
        # Our heartbeat key is ours alone, so reading it back at or past the barrier offset
        # means every earlier record of the (single-partition) seen topic was applied.
        caught_up = self._barrier is not None and self._own_read >= self._barrier
        if not self._ready.is_set() and caught_up and not self._sources_pending:
            self._ready.set()
            log.info("ingress shared state caught up (%d seen ids, %d ingress processes)",
                     len(self.seen), self.live_instances())
