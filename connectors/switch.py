"""Destinations a 410 Gone disabled: held, not dead-lettered, until an operator enables them.

A `Switch` is one destination's on/off state in this process; `DestinationSwitches` keeps the
switches of every destination the process runs in step with the compacted
`<prefix>.destination-state` topic (schemas/destination_state.py), which every `eis connect`
process tails from the beginning outside any consumer group (each needs every record).

- A lane whose event got a 410 calls `Switch.disable`: the switch turns off at once in this
  process (every lane of the destination stops before its next attempt), then the record is
  written to the topic (retried until acknowledged), so the other processes and a restarted
  one stop too. The 410'd event waits in its lane; nothing after it is committed.
- `enable` records (the admin API, `eis destinations enable`) turn the switch on: the waiting
  events are attempted again, the 410'd one first in its key.
- At start the topic is read to a fence record before any event is delivered, so a restarted
  connector stays disabled (the dev broker's end offset may lag, KAFKA-NOTES.md).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable

import confluent_kafka
from confluent_kafka import Message, TopicPartition

from schemas.destination_state import FENCE_KEY, NEVER_DISABLED, DestinationState, destination_state_topic
from schemas.errors import EisError
from schemas.kafka.admin import ensure_topics
from schemas.kafka.consumer import tail_to_loop
from schemas.kafka.destination_states import apply_record
from schemas.kafka.errors import KafkaClientError
from schemas.kafka.own_writes import OwnWrites
from schemas.kafka.producer import AsyncProducer
from schemas.kafka.settings import KafkaSettings, consumer_config
from schemas.metrics import Metrics

log = logging.getLogger("eis.connect")

LOAD_TIMEOUT_S = 60.0
WRITE_RETRY_S = 0.5


class DestinationStateUnavailable(EisError):
    """The destination-state topic could not be read at start; the message says what to check."""


class Switch:
    """One destination's state in this process. `wait_enabled` blocks while it is disabled."""

    def __init__(self, destination: str, metrics: Metrics,
                 persist: Callable[[str, DestinationState], asyncio.Future[None]] | None = None) -> None:
        self.destination = destination
        self.state = NEVER_DISABLED
        self.metrics = metrics
        self.listeners: list[Callable[[], None]] = []   # called on every enable/disable
        self._persist = persist
        self._writing: asyncio.Future[None] | None = None
        self._enabled = asyncio.Event()
        self._enabled.set()
        metrics.destination_disabled.labels(destination).set(0)

    @property
    def disabled(self) -> bool:
        """True while the destination's events are held."""
        return self.state.disabled

    async def wait_enabled(self, stopping: asyncio.Event) -> bool:
        """Return True once the destination is enabled (at once if it is), False if `stopping`
        came first (the caller leaves its event uncommitted)."""
        if not self.disabled:
            return True
        enabled = asyncio.ensure_future(self._enabled.wait())
        stop = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({enabled, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            enabled.cancel()
            stop.cancel()
        return not self.disabled and not stopping.is_set()

    async def disable(self, record: DestinationState, stopping: asyncio.Event) -> None:
        """Disable the destination here at once, then durably (retried until Kafka acknowledged
        it or `stopping`; an unwritten disable is rediscovered: the event stays uncommitted and
        its next attempt gets the 410 again). A destination already disabled is left as it is:
        several lanes may get a 410 together."""
        if self.disabled:
            return
        self.apply(record)
        # The write belongs to the switch, not to the calling lane: a rebalance cancels lanes,
        # and a write cancelled before it was enqueued would leave the destination disabled
        # here only (seen in test_gone_disables).
        self._writing = asyncio.ensure_future(self._write(record, stopping))
        await asyncio.shield(self._writing)

    async def _write(self, record: DestinationState, stopping: asyncio.Event) -> None:
        while self._persist is not None:
            try:
                await self._persist(self.destination, record)
                return
            except KafkaClientError as exc:
                log.warning("destination %s: disabled state not written yet (%s); retrying",
                            self.destination, exc)
            if stopping.is_set():
                return
            await asyncio.sleep(WRITE_RETRY_S)

    def apply(self, record: DestinationState) -> None:
        """Take `record` as the destination's state; log and notify only when it flips."""
        before, self.state = self.state, record
        if before.disabled == record.disabled:
            return
        self.metrics.destination_disabled.labels(self.destination).set(1 if record.disabled else 0)
        if record.disabled:
            self._enabled.clear()
            log.warning("destination %s disabled: %s (event %s); its events are held in Kafka until "
                        "`eis destinations enable %s` or POST /v1/destinations/%s/enable",
                        self.destination, record.reason, record.event_id, self.destination, self.destination)
        else:
            self._enabled.set()
            log.warning("destination %s enabled (%s): delivery resumes from the held events",
                        self.destination, record.reason or "enabled")
        for listener in self.listeners:
            listener()


class DestinationSwitches:
    """The switches of one `eis connect` process, kept in step with the destination-state topic.

    Lifecycle: `switch(id)` for each destination, `await start()` (returns once the topic was
    read to its end; raises DestinationStateUnavailable), then `await stop()`."""

    def __init__(self, settings: KafkaSettings, topic: str, replication_factor: int,
                 producer: AsyncProducer, metrics: Metrics) -> None:
        self.settings = settings
        self.topic = topic
        self.replication_factor = replication_factor
        self.producer = producer
        self.metrics = metrics
        self.switches: dict[str, Switch] = {}
        self.states: dict[str, DestinationState] = {}
        # Records this process wrote, not yet read back: the tail must not let an older record
        # of the same destination (read late) undo a newer local disable.
        self._own_writes = OwnWrites()
        self._fence: int | None = None
        self._read_to = -1                      # highest offset the tail applied
        self._loaded = asyncio.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def switch(self, destination: str) -> Switch:
        """The switch of `destination` (created on first call)."""
        found = self.switches.get(destination)
        if found is None:
            found = self.switches[destination] = Switch(destination, self.metrics, self._write)
            if destination in self.states:
                found.apply(self.states[destination])
        return found

    async def start(self) -> None:
        """Read the topic to its end (a fence record written now), then keep tailing it."""
        self._loop = asyncio.get_running_loop()
        spec = destination_state_topic(self.topic, self.replication_factor)
        try:
            await asyncio.to_thread(ensure_topics, self.settings, [spec])
            consumer = await asyncio.to_thread(self._assign)
            self._thread = threading.Thread(
                target=tail_to_loop, args=(consumer, self._loop, self._stopping, self._apply),
                name="eis-destination-state", daemon=True)
            self._thread.start()
            self._fence = (await self.producer.produce(self.topic, b"", FENCE_KEY)).offset
            if self._read_to >= self._fence:   # the tail read the fence before its ack came back
                self._loaded.set()
            await asyncio.wait_for(self._loaded.wait(), LOAD_TIMEOUT_S)
        except (KafkaClientError, confluent_kafka.KafkaException, TimeoutError) as exc:
            await self.stop()
            raise DestinationStateUnavailable(
                f"cannot read the destination-state topic {self.topic} ({exc!r}): check that Kafka is "
                "reachable and run `eis topics create -c <config>`") from exc

    async def stop(self) -> None:
        """Stop tailing."""
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join, 5.0)

    def _write(self, destination: str, record: DestinationState) -> asyncio.Future[None]:
        value = record.encode()
        self._own_writes.wrote(destination, value)
        return asyncio.ensure_future(self._produce(destination, value))

    async def _produce(self, destination: str, value: bytes) -> None:
        try:
            written = await self.producer.produce(self.topic, value, destination.encode())
            log.info("destination %s: state written to %s at offset %d", destination, self.topic, written.offset)
        except BaseException:
            self._own_writes.not_written(destination, value)
            raise

    def _assign(self) -> confluent_kafka.Consumer:
        # A group-less reader (assign, never commits); the group id only satisfies the client.
        consumer = confluent_kafka.Consumer({
            **consumer_config(self.settings, f"eis-destination-state-{uuid.uuid4().hex[:12]}"),
            "logger": log})
        consumer.assign([TopicPartition(self.topic, 0, confluent_kafka.OFFSET_BEGINNING)])
        return consumer

    def _apply(self, messages: list[Message]) -> None:
        for message in messages:
            error, offset = message.error(), message.offset()
            if error is not None or offset is None:
                if error is not None:
                    log.warning("destination-state topic %s: %s", self.topic, error.str())
                continue
            key, value = message.key(), message.value()
            if not self._own_or_older(key, value):
                changed = apply_record(self.states, key, value)
                if changed is not None and changed in self.switches:
                    self.switches[changed].apply(self.states.get(changed, NEVER_DISABLED))
            self._read_to = max(self._read_to, offset)
            if self._fence is not None and offset >= self._fence:
                self._loaded.set()

    def _own_or_older(self, key: bytes | None, value: bytes | None) -> bool:
        """Whether the record is our own write read back, or older than one not read back yet."""
        destination = (key or b"").decode("utf-8", "replace")
        if not self._own_writes.pending(destination):
            return False
        if self._own_writes.read_back(destination, value):
            # Ours: the switch already has it. Keep `states` (what GET-like readers see) in step.
            apply_record(self.states, key, value)
        return True
