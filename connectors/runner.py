"""The connector runner: one consumer group per destination (its topic and its delay tiers);
lanes per partition; commits only what reached a durable outcome. Owns retry, delay tiers,
the circuit breaker, the retry budget, exactly-once's record, dead-lettering, receipts,
metrics, backpressure and commits (STYLE.md 5) — a sink only delivers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from confluent_kafka import TopicPartition

from connectors.budget import RetryBudget
from connectors.circuit import CircuitBreaker, State
from connectors.dedup import DeliveredStore
from connectors.deliver import Deliverer
from connectors.lanes import Lane
from connectors.outcomes import OutcomeWriter
from connectors.registry import build_sink
from connectors.switch import DestinationSwitches
from schemas.config import CompiledDestination, Pipeline
from schemas.kafka.consumer import AsyncConsumer
from schemas.kafka.producer import AsyncProducer
from schemas.kafka.settings import KafkaSettings
from schemas.metrics import Metrics

log = logging.getLogger("eis.connect")

# A connector killed outright delivers again what it finished since its last commit: commits come
# every COMMIT_INTERVAL_S and, under load, once COMMIT_EVERY_EVENTS more events are finished
# (checked every COMMIT_CHECK_S). A commit is one small request to the group coordinator.
COMMIT_INTERVAL_S = 0.5
COMMIT_EVERY_EVENTS = 50
COMMIT_CHECK_S = 0.05
LANE_HIGH_WATER = 1000   # fetched, unstarted events per partition before fetching from it pauses
LANE_LOW_WATER = 200
TOTAL_HIGH_WATER = 4000  # … and over all partitions of the destination: every partition pauses
TOTAL_LOW_WATER = 1000
SHUTDOWN_GRACE_S = 25.0  # under the supervisor's 30 s before SIGKILL

Partition = tuple[str, int]


def group_id(pipeline: Pipeline, destination: CompiledDestination) -> str:
    """The consumer group of a destination: copies of `eis connect` share its partitions."""
    return f"eis-connect-{pipeline.service}-{destination.id}"


class DestinationRunner:
    """Consumes one destination topic (and its delay tiers) and drives its sink."""

    def __init__(self, pipeline: Pipeline, destination: CompiledDestination, settings: KafkaSettings,
                 producer: AsyncProducer, metrics: Metrics, rng: random.Random | None = None,
                 switches: DestinationSwitches | None = None) -> None:
        self.pipeline = pipeline
        self.destination = destination
        self.policy = policy = destination.policy
        self.settings = settings
        self.metrics = metrics
        self.sink = build_sink(destination)
        self.writer = OutcomeWriter(pipeline, destination, self.sink.describe(), producer, metrics)
        self.stopping = asyncio.Event()
        self.breaker = None
        if policy.circuit is not None:
            self.breaker = CircuitBreaker(policy.circuit, destination.id, self._circuit_changed)
            metrics.circuit_state.labels(destination.id).set(State.CLOSED)
        budget = RetryBudget(policy.retry_budget) if policy.retry_budget is not None else None
        self.store = DeliveredStore(settings, policy.delivered_topic, producer) \
            if policy.delivered_topic is not None else None
        # `eis connect` shares one tail of the destination-state topic; a runner built alone
        # (tests) reads it itself.
        self._own_switches = switches is None
        self.switches = switches or DestinationSwitches(
            settings, pipeline.topics.destination_state, pipeline.spec.kafka.replication_factor,
            producer, metrics)
        self.switch = self.switches.switch(destination.id)
        self.switch.listeners.append(self._apply_backpressure)
        self.deliverer = Deliverer(destination, self.sink, self.writer, metrics, self.stopping,
                                   rng or random.Random(), self.breaker, budget, self.store,  # noqa: S311 - jitter
                                   self.switch)
        self.slots = asyncio.Semaphore(policy.max_in_flight)
        self.topics = [destination.topic, *(tier.topic for tier in policy.retry_tiers)]
        self.lanes: dict[Partition, Lane] = {}
        self.paused: set[Partition] = set()
        self.committed: dict[Partition, int] = {}
        self.fetched_from: dict[Partition, int] = {}   # each lane's first offset
        self.consumer: AsyncConsumer | None = None
        self.failure: BaseException | None = None

    async def run(self) -> None:
        """Deliver until `stop()`; then finish in-flight attempts, commit, and leave the group."""
        if self._own_switches:
            await self.switches.start()
        await self.sink.open()
        consumer = self.consumer = AsyncConsumer(self.settings, group_id(self.pipeline, self.destination))
        consumer.subscribe(self.topics, on_revoke=self._on_revoke)
        committer = asyncio.create_task(self._commit_periodically())
        try:
            while not self.stopping.is_set():
                for message in await consumer.getmany(500, timeout=0.2):
                    self._lane(message.topic() or "", message.partition() or 0,
                               message.offset() or 0).queue.put_nowait(message)
                self._apply_backpressure()
                if self.failure is not None:
                    raise self.failure
        finally:
            committer.cancel()
            await self._drain_lanes()
            await self._commit(list(self.lanes))
            await consumer.close()
            await self.sink.close()
            if self._own_switches:
                await self.switches.stop()

    def stop(self) -> None:
        """Ask the runner to stop (SIGTERM): lanes stop between attempts."""
        self.stopping.set()

    def _lane(self, topic: str, partition: int, first_offset: int) -> Lane:
        lane = self.lanes.get((topic, partition))
        if lane is None:
            self.fetched_from[(topic, partition)] = first_offset
            commit_before = None
            if self.policy.guarantees == "at-most-once":
                async def commit_before(offset: int) -> None:
                    await self._commit_before(topic, partition, offset)
            lane = self.lanes[(topic, partition)] = Lane(
                topic, partition, self.deliverer, self.slots, self.stopping,
                delayed=topic != self.destination.topic, commit_before=commit_before)
            lane.start(self._lane_failed)
        return lane

    async def _lane_failed(self, exc: BaseException) -> None:
        log.error("destination %s: lane failed: %r", self.destination.id, exc)
        self.failure = exc

    def _circuit_changed(self, before: State, to: State) -> None:
        self.metrics.circuit_state.labels(self.destination.id).set(to)
        self.metrics.circuit_transitions.labels(self.destination.id, to.label).inc()
        self._apply_backpressure()

    def _apply_backpressure(self) -> None:
        """Pause a partition whose backlog is high, every partition while the destination's
        total backlog is high, its circuit is not closed or it is disabled; resume below the
        low marks."""
        consumer = self.consumer
        if consumer is None:
            return
        held = self.switch.disabled or (self.breaker is not None and not self.breaker.closed)
        total = sum(lane.backlog for lane in self.lanes.values())
        all_high = held or total >= TOTAL_HIGH_WATER
        all_low = not held and total <= TOTAL_LOW_WATER
        pause, resume = [], []
        for tp, lane in self.lanes.items():
            size = lane.backlog
            if tp not in self.paused and (all_high or size >= LANE_HIGH_WATER):
                pause.append(tp)
            elif tp in self.paused and all_low and size <= LANE_LOW_WATER:
                resume.append(tp)
        if pause:
            consumer.pause([TopicPartition(t, p) for t, p in pause])
            self.paused.update(pause)
        if resume:
            consumer.resume([TopicPartition(t, p) for t, p in resume])
            self.paused.difference_update(resume)

    async def _drain_lanes(self) -> None:
        await asyncio.gather(*(lane.finish(SHUTDOWN_GRACE_S) for lane in self.lanes.values()))

    async def _on_revoke(self, partitions: list[TopicPartition]) -> None:
        # Before the partitions move: stop their lanes and commit what they finished, so the
        # next owner neither skips nor needlessly repeats; a later commit from us would regress it.
        revoked = [(tp.topic, tp.partition) for tp in partitions if tp.topic in self.topics]
        for tp in revoked:
            lane = self.lanes.get(tp)
            if lane is not None:
                await lane.stop()
        await self._commit(revoked)
        # librdkafka keeps a partition's pause across its revocation and re-assignment to this
        # member (librdkafka #1849): forgotten in `paused`, it would never be fetched again.
        stale = [tp for tp in revoked if tp in self.paused]
        if stale and self.consumer is not None:
            self.consumer.resume([TopicPartition(t, p) for t, p in stale])
        for tp in revoked:
            self.lanes.pop(tp, None)
            self.paused.discard(tp)
            self.committed.pop(tp, None)
            self.fetched_from.pop(tp, None)
        if self.store is not None:
            kept = {p for _, p in self.lanes}
            for _, partition in revoked:
                if partition not in kept:
                    self.store.forget(partition)

    async def _commit_before(self, topic: str, partition: int, offset: int) -> None:
        """At-most-once: the offset is durable before the attempt (retried until it is)."""
        assert self.consumer is not None
        while True:
            try:
                await self.consumer.commit([TopicPartition(topic, partition, offset)])
                self.committed[(topic, partition)] = offset
                return
            except Exception as exc:
                log.warning("destination %s: commit before attempt failed: %s", self.destination.id, exc)
                await asyncio.sleep(0.5)

    async def _commit(self, partitions: list[Partition]) -> None:
        assert self.consumer is not None
        offsets = []
        for tp in partitions:
            lane = self.lanes.get(tp)
            if lane is not None and lane.done is not None and lane.done != self.committed.get(tp):
                offsets.append(TopicPartition(tp[0], tp[1], lane.done))
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except Exception as exc:  # the next commit covers it; redelivery is the worst case
            log.warning("destination %s: commit failed: %s", self.destination.id, exc)
            return
        for done in offsets:
            self.committed[(done.topic, done.partition)] = done.offset

    async def _commit_periodically(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(COMMIT_CHECK_S)
            if time.monotonic() - last >= COMMIT_INTERVAL_S or self._finished_since_commit() >= COMMIT_EVERY_EVENTS:
                await self._commit(list(self.lanes))
                last = time.monotonic()

    def _finished_since_commit(self) -> int:
        """Events finished past the committed offsets (or past where a lane began)."""
        committed, fetched_from = self.committed, self.fetched_from
        return sum(max(0, lane.done - committed.get(tp, fetched_from.get(tp, lane.done)))
                   for tp, lane in self.lanes.items() if lane.done is not None)
