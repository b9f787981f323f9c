"""The connector runner: one consumer group per destination; lanes per partition; commits only
what reached a durable outcome. Owns retry, dead-lettering, receipts, metrics and commits."""

from __future__ import annotations

import asyncio
import logging
import random

from confluent_kafka import TopicPartition

from connectors.lanes import Lane
from connectors.outcomes import OutcomeWriter
from connectors.registry import build_sink
from schemas.config import CompiledDestination, Pipeline
from schemas.kafka.consumer import AsyncConsumer
from schemas.kafka.producer import AsyncProducer
from schemas.kafka.settings import KafkaSettings
from schemas.metrics import Metrics

log = logging.getLogger("eis.connect")

COMMIT_INTERVAL_S = 0.5
LANE_HIGH_WATER = 1000   # queued events per partition before fetching from it pauses
LANE_LOW_WATER = 200
SHUTDOWN_GRACE_S = 25.0  # under the supervisor's 30 s before SIGKILL


def group_id(pipeline: Pipeline, destination: CompiledDestination) -> str:
    """The consumer group of a destination: copies of `eis connect` share its partitions."""
    return f"eis-connect-{pipeline.service}-{destination.id}"


class DestinationRunner:
    """Consumes one destination topic and drives its sink."""

    def __init__(self, pipeline: Pipeline, destination: CompiledDestination, settings: KafkaSettings,
                 producer: AsyncProducer, metrics: Metrics, rng: random.Random | None = None) -> None:
        self.pipeline = pipeline
        self.destination = destination
        self.settings = settings
        self.metrics = metrics
        self.sink = build_sink(destination)
        self.writer = OutcomeWriter(pipeline, destination, self.sink.describe(), producer, metrics)
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.stopping = asyncio.Event()
        self.lanes: dict[int, Lane] = {}
        self.paused: set[int] = set()
        self.committed: dict[int, int] = {}
        self.consumer: AsyncConsumer | None = None
        self.failure: BaseException | None = None

    async def run(self) -> None:
        """Deliver until `stop()`; then finish in-flight attempts, commit, and leave the group."""
        await self.sink.open()
        consumer = self.consumer = AsyncConsumer(self.settings, group_id(self.pipeline, self.destination))
        consumer.subscribe([self.destination.topic], on_revoke=self._on_revoke)
        committer = asyncio.create_task(self._commit_periodically())
        try:
            while not self.stopping.is_set():
                for message in await consumer.getmany(500, timeout=0.2):
                    self._lane(message.partition()).queue.put_nowait(message)
                self._apply_backpressure()
                if self.failure is not None:
                    raise self.failure
        finally:
            committer.cancel()
            await self._drain_lanes()
            await self._commit(list(self.lanes))
            await consumer.close()
            await self.sink.close()

    def stop(self) -> None:
        """Ask the runner to stop (SIGTERM): lanes stop between attempts."""
        self.stopping.set()

    def _lane(self, partition: int) -> Lane:
        lane = self.lanes.get(partition)
        if lane is None:
            lane = self.lanes[partition] = Lane(
                self.destination, self.sink, self.writer, self.metrics, self.stopping, self.rng)
            lane.start(self._lane_failed)
        return lane

    async def _lane_failed(self, exc: BaseException) -> None:
        log.error("destination %s: lane failed: %r", self.destination.id, exc)
        self.failure = exc

    def _apply_backpressure(self) -> None:
        assert self.consumer is not None
        topic = self.destination.topic
        for partition, lane in self.lanes.items():
            size = lane.queue.qsize()
            if size >= LANE_HIGH_WATER and partition not in self.paused:
                self.consumer.pause([TopicPartition(topic, partition)])
                self.paused.add(partition)
            elif size <= LANE_LOW_WATER and partition in self.paused:
                self.consumer.resume([TopicPartition(topic, partition)])
                self.paused.discard(partition)

    async def _drain_lanes(self) -> None:
        await asyncio.gather(*(lane.finish(SHUTDOWN_GRACE_S) for lane in self.lanes.values()))

    async def _on_revoke(self, partitions: list[TopicPartition]) -> None:
        # Before the partitions move: stop their lanes and commit what they finished, so the
        # next owner neither skips nor needlessly repeats; a later commit from us would regress it.
        revoked = [tp.partition for tp in partitions if tp.topic == self.destination.topic]
        for partition in revoked:
            lane = self.lanes.get(partition)
            if lane is not None:
                await lane.stop()
        await self._commit(revoked)
        for partition in revoked:
            self.lanes.pop(partition, None)
            self.paused.discard(partition)
            self.committed.pop(partition, None)

    async def _commit(self, partitions: list[int]) -> None:
        assert self.consumer is not None
        offsets = []
        for partition in partitions:
            lane = self.lanes.get(partition)
            if lane is not None and lane.done is not None and lane.done != self.committed.get(partition):
                offsets.append(TopicPartition(self.destination.topic, partition, lane.done))
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except Exception as exc:  # the next commit covers it; redelivery is the worst case
            log.warning("destination %s: commit failed: %s", self.destination.id, exc)
            return
        for tp in offsets:
            self.committed[tp.partition] = tp.offset

    async def _commit_periodically(self) -> None:
        while True:
            await asyncio.sleep(COMMIT_INTERVAL_S)
            await self._commit(list(self.lanes))
