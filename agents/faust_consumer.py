"""A Faust transport whose consumer's fetch wait is a setting and whose commits cover only processed events.

faust-streaming 0.15 hard-codes `fetch_max_wait_ms=1500` for its aiokafka consumer. A broker that
answers a fetch only when the wait expires (the development broker does) turns that into 1.5 s
of latency per hop; Apache Kafka answers as soon as data arrives, where the value only bounds
idle polling. We subclass the driver's consumer thread and set the value before the consumer
starts (aiokafka reads it when it builds its fetcher in `start()`).

Faust's `Consumer.commit` returns without committing when another commit is in flight, on the
theory that the other one covers it. It does not: the other one computed its offsets before the
newest acks. When the skipped call is the final commit of a revocation or shutdown, the next
owner of the partition re-routes everything since the previous commit (seen as a burst of
duplicates after every graceful worker stop in the rebalance-storm scenario).

Faust also "acknowledges" a message its stream skipped without processing — one read after flow
control was suspended for a rebalance or shutdown, or one of a stale generation — so that lag does
not grow. That record lands in the committable offsets, and the shutdown commit skips an event no
agent ever routed (seen: 1 to 18 events lost per SIGTERM of a worker under load, whenever a
message reached the router's stream just after the signal). `TunedConsumer.ack` refuses those:
the partition's next owner processes them instead.

Faust also commits past records nobody acknowledged: over any "gap" it infers between its read
mark (stale across a rebalance and the seek after it) and the next record, and past the record at
the committed offset itself. `agents/fetch_continuity.py` says what replaces that: read marks and
gaps do not survive a reassignment, a gap is filled only where the broker showed there is no
record, and the commit waits for the record at its offset. (What dropped records in the first
place is in `agents/flow_control.py`; these make any such drop hold the commit back instead.)

On a rebalance Faust discards the revoked partitions' acknowledgements without committing them,
and under eager rebalancing every partition is revoked: each partition's next owner re-routed
everything since the last commit. Once Faust's revocation handler has waited for the agents'
in-flight events, the consumer thread commits what was processed, from aiokafka's rebalance
callback, before this member rejoins: the group still accepts the old generation's commit there
(`TunedConsumerThread.on_partitions_revoked`). If that commit fails, a worker that gets a
partition back still skips what it processed itself since the committed offset (`perform_seek`).

Faust commits on a timer and, optionally, after a number of acknowledgements, but checks that
number only in its fetch loop and commits there, holding up the next record. `ack` starts that
commit beside the loop instead: a backlog routed in one batch is committed as soon as its outputs
are acknowledged, which bounds what a worker killed with SIGKILL leaves to be routed again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast, overload

from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message

from agents.fetch_continuity import FetchContinuity

SCHEME = "eiskafka"
_fetch_max_wait_ms = 1500
# The group waits for every member's rebalance callback (up to the rebalance timeout); a commit
# the broker does not answer in this time is given up (duplicates, never loss).
REVOCATION_COMMIT_TIMEOUT_S = 2.0

logger = logging.getLogger(__name__)


class _Offsets(Sequence[int]):
    """The offsets of a fetched batch, read on demand (a contiguous batch needs two)."""

    def __init__(self, records: list[Any]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...

    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            return [record.offset for record in self._records[index]]
        return int(self._records[index].offset)


class TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """The stock consumer thread, with the configured fetch wait, recording fetch continuity.

    Seeks and fetches both run on this thread's loop: recording a seek in the same step as the
    seek, and a fetched batch in the same step as the fetch returns it, orders the two exactly,
    so a batch fetched before a seek never counts as the first one after it."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = _fetch_max_wait_ms
        return consumer

    @property
    def _continuity(self) -> FetchContinuity:
        return cast(TunedConsumer, self.consumer).continuity

    async def _fetch_records(self, consumer: Any, active_partitions: Any, timeout: float | None = None,
                             max_records: int | None = None) -> Any:
        records = await super()._fetch_records(consumer, active_partitions, timeout=timeout,
                                               max_records=max_records)
        continuity = self._continuity
        for tp, fetched in records.items():
            continuity.observe(tp, _Offsets(fetched))
        return records

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Seek every assigned partition with a committed offset to it (aiokafka's rule)."""
        return cast(Mapping[TP, int], await self.call_thread(self._seek_to_committed_marked))

    async def _seek_to_committed_marked(self) -> dict[TP, int | None]:
        consumer = self._ensure_consumer()
        committed: dict[TP, int | None] = {}
        for tp in consumer.assignment():
            offset = committed[tp] = await consumer.committed(tp)
            if offset and offset > 0:
                consumer.seek(tp, offset)
                self._continuity.restart(tp, offset)
        return committed

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Faust's revocation (on the main thread), then commit what the revoked partitions finished.

        Runs inside aiokafka's rebalance callback, before this member rejoins: the group is still
        in the generation these offsets were processed in."""
        await super().on_partitions_revoked(revoked)
        offsets = cast(TunedConsumer, self.consumer).take_revocation_offsets()
        if offsets:
            await self._commit_before_rejoin(offsets)

    async def _commit_before_rejoin(self, offsets: Mapping[TP, int]) -> None:
        request = {faust_aiokafka.ensure_aiokafka_TP(tp): OffsetAndMetadata(offset, "")
                   for tp, offset in offsets.items()}
        try:
            await asyncio.wait_for(self._ensure_consumer().commit(request), REVOCATION_COMMIT_TIMEOUT_S)
        except (KafkaError, TimeoutError) as exc:
            logger.warning("Commit of revoked partitions before the rebalance failed (%r): their "
                           "next owner re-routes them from the previous commit", exc)

    def seek(self, partition: TP, offset: int) -> None:
        """Seek `partition` to `offset`, starting a new fetch sequence."""
        self._continuity.restart(partition, offset)
        super().seek(partition, offset)

    async def _seek_wait(self, consumer: Any, partitions: Mapping[TP, int]) -> None:
        # Faust's version seeks every partition before its first await: marking them first is
        # marking them in the same step.
        for tp, offset in partitions.items():
            self._continuity.restart(tp, offset)
        await super()._seek_wait(consumer, partitions)


class TunedConsumer(faust_aiokafka.Consumer):
    """The stock consumer, delegating to `TunedConsumerThread`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.continuity = FetchContinuity()
        # Per revoked partition: the last offset of the run this worker processed from its
        # committed offset, kept until the rebalance's seek (see `perform_seek`).
        self._processed_through: dict[TP, int] = {}
        self._revocation_offsets: dict[TP, int] = {}
        # Partitions whose acknowledgements Faust has dropped while its revocation is running:
        # only the thread's commit before the rejoin may commit them.
        self._revoking: set[TP] = set()
        super().__init__(*args, **kwargs)
        # Faust checks its commit count only as the fetch loop hands out the next record, and
        # commits in that loop; `ack` starts the commit instead, beside the loop.
        self._commit_after_acks, self._commit_every = self._commit_every, None
        self._commit_queued = False

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        # Faust's gap runs from its read mark through the record at `offset_to` itself; only
        # the stretch the broker proved record-free counts, and never the record.
        proven_from = self.continuity.gap_before(tp, offset_to)
        if proven_from is not None:
            await super()._add_gap(tp, max(offset_from, proven_from), offset_to - 1)

    def _new_offset(self, tp: TP) -> int | None:
        # Faust commits past an unacknowledged record at the committed offset itself (it reads
        # that offset as the last one processed; Kafka's is the next one to read). Unless the
        # broker showed no record there, the commit waits for its acknowledgement instead.
        if tp in self._revoking:
            return None
        committed, acked = self._committed_offset[tp], self._acked[tp]
        if committed is not None and acked:
            lowest = min(acked)
            if lowest > committed and not self.continuity.record_free(tp, committed, lowest):
                return None
        return super()._new_offset(tp)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Faust's revocation, then what each revoked partition's processed run ends at.

        Faust drops the partitions' acknowledgements first and waits for the agents' in-flight
        events after; those events' acks land in fresh entries, joined here to the dropped ones.
        A commit in flight has already taken its offsets out of the acknowledgements but not yet
        moved the committed offset: the run is read once it has finished."""
        self._revoking.update(revoked)
        try:
            await self._commit_in_flight_done(REVOCATION_COMMIT_TIMEOUT_S)
            before = {tp: (self._committed_offset.get(tp), self._acked_index.get(tp, set()))
                      for tp in revoked}
            await super().on_partitions_revoked(revoked)
        finally:
            self._revoking.difference_update(revoked)
        for tp, (committed, acked) in before.items():
            self._acked.pop(tp, None)
            through = _processed_run_end(committed, acked | self._acked_index.pop(tp, set()))
            if through is not None:
                self._processed_through[tp] = through
                self._revocation_offsets[tp] = through + 1

    def take_revocation_offsets(self) -> dict[TP, int]:
        """The offsets to commit for the partitions just revoked (once: the next call has none)."""
        offsets, self._revocation_offsets = self._revocation_offsets, {}
        return offsets

    async def perform_seek(self) -> None:
        """Seek to the committed offsets, then skip what this worker itself processed past them.

        The revocation commits what was processed; when that commit failed, a worker that got
        its partition back would re-route everything since the previous commit. Offsets this
        worker acknowledged (its outputs were acknowledged) are marked processed again instead,
        so the commit covers them and the fetch loop drops them as read."""
        await super().perform_seek()
        remembered, self._processed_through = self._processed_through, {}
        assigned = self.assignment()
        for tp, through in remembered.items():
            committed = self._committed_offset.get(tp)
            if tp not in assigned or committed is None or through < committed:
                continue
            acked, acked_index = self._acked[tp], self._acked_index[tp]
            for offset in range(committed, through + 1):
                if offset not in acked_index:
                    acked_index.add(offset)
                    acked.append(offset)
            self._read_offset[tp] = through + 1

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        """Faust's assignment, without read marks or gaps from before it.

        Faust drops read marks on revocation, but the fetch loop sets one more as it finishes the
        record it was handing out, past records skipped unprocessed while flow was suspended.
        The fetch after the assignment starts again at the committed offset, and that stale mark
        would drop those records as already read (and a gap would be inferred over them)."""
        for tp in assigned:
            self._read_offset.pop(tp, None)
            self._gap.pop(tp, None)
            self.continuity.restart(tp, None)
        await super().on_partitions_assigned(assigned, generation_id)

    def ack(self, message: Message) -> bool:
        """Record `message` as processed, unless its stream skipped it unprocessed (see above)."""
        if not message.tracked and self._skipped_by_streams(message):
            return False
        if not super().ack(message):
            return False
        if self._commit_after_acks is not None and self._n_acked >= self._commit_after_acks:
            self._commit_soon()
        return True

    def _commit_soon(self) -> None:
        self._n_acked = 0
        if not self._commit_queued:
            self._commit_queued = True
            self.add_future(self._commit_queued_acks())

    async def _commit_queued_acks(self) -> None:
        # A commit in flight computed its offsets before these acknowledgements: after it, one
        # more commit takes everything acknowledged by then (later ones queue the next).
        await self._commit_in_flight_done()
        self._commit_queued = False
        await self.commit()

    def _skipped_by_streams(self, message: Message) -> bool:
        # Faust's own skip condition (Stream.__aiter__); `tracked` is set only past it.
        app = self.app
        return not app.flow_control.is_active() or message.generation_id != app.consumer_generation_id

    async def commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        """Commit what is acknowledged now, after any commit already in flight finishes."""
        await self._commit_in_flight_done()
        return await super().commit(topics, start_new_transaction=start_new_transaction)

    async def _commit_in_flight_done(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        while self._commit_fut is not None:
            _, pending = await asyncio.wait({self._commit_fut}, timeout=timeout)
            if pending:
                return


def _processed_run_end(committed: int | None, acked: set[int]) -> int | None:
    """The last offset of the unbroken run of `acked` offsets from `committed`, if any.

    A partition never committed starts where Faust's own commit starts it, at the lowest
    acknowledged offset (its fetch began at the log's start, `auto_offset_reset=earliest`)."""
    if not acked:
        return None
    through = min(acked) if committed is None else committed
    if through not in acked:
        return None
    while through + 1 in acked:
        through += 1
    return through


class TunedTransport(faust_aiokafka.Transport):
    """The stock aiokafka transport with `TunedConsumer`."""

    Consumer = TunedConsumer


def register_transport(fetch_max_wait_ms: int) -> str:
    """Register the transport and return the URL scheme to use: `eiskafka://host:port`."""
    global _fetch_max_wait_ms
    _fetch_max_wait_ms = fetch_max_wait_ms
    TRANSPORTS.aliases[SCHEME] = f"{__name__}:TunedTransport"
    return SCHEME
