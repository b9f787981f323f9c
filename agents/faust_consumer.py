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

On a rebalance Faust discards the revoked partitions' acknowledgements before its revocation
handler commits, and under eager rebalancing every partition is revoked. A worker that gets a
partition back skips (and commits) what it had processed itself since the last commit
(`perform_seek`). Left alone: a partition that moves to another worker is re-routed from its
last commit, up to one commit interval (plus a backlog taken in that interval). Committing from
our own revocation hook stalled the group on the development broker (a commit waits for the
rebalance that waits for the hook); the commit interval bounds the window (`EIS_COMMIT_INTERVAL_S`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, cast, overload

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message

from agents.fetch_continuity import FetchContinuity

SCHEME = "eiskafka"
_fetch_max_wait_ms = 1500


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
        super().__init__(*args, **kwargs)

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
        committed, acked = self._committed_offset[tp], self._acked[tp]
        if committed is not None and acked:
            lowest = min(acked)
            if lowest > committed and not self.continuity.record_free(tp, committed, lowest):
                return None
        return super()._new_offset(tp)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Faust's revocation, remembering how far this worker processed each partition."""
        for tp in revoked:
            through = self._contiguous_acked(tp)
            if through is not None:
                self._processed_through[tp] = through
        await super().on_partitions_revoked(revoked)

    def _contiguous_acked(self, tp: TP) -> int | None:
        committed, acked = self._committed_offset.get(tp), self._acked_index.get(tp)
        if committed is None or not acked or committed not in acked:
            return None
        through = committed
        while through + 1 in acked:
            through += 1
        return through

    async def perform_seek(self) -> None:
        """Seek to the committed offsets, then skip what this worker itself processed past them.

        Faust drops a revoked partition's acknowledgements before anything commits them, and
        under eager rebalancing every partition is revoked at every membership change: a worker
        that got its partition back re-routed everything since the last commit. Offsets this
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
        return bool(super().ack(message))

    def _skipped_by_streams(self, message: Message) -> bool:
        # Faust's own skip condition (Stream.__aiter__); `tracked` is set only past it.
        app = self.app
        return not app.flow_control.is_active() or message.generation_id != app.consumer_generation_id

    async def commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        """Commit what is acknowledged now, after any commit already in flight finishes."""
        while self._commit_fut is not None:
            await asyncio.wait({self._commit_fut})
        return await super().commit(topics, start_new_transaction=start_new_transaction)


class TunedTransport(faust_aiokafka.Transport):
    """The stock aiokafka transport with `TunedConsumer`."""

    Consumer = TunedConsumer


def register_transport(fetch_max_wait_ms: int) -> str:
    """Register the transport and return the URL scheme to use: `eiskafka://host:port`."""
    global _fetch_max_wait_ms
    _fetch_max_wait_ms = fetch_max_wait_ms
    TRANSPORTS.aliases[SCHEME] = f"{__name__}:TunedTransport"
    return SCHEME
