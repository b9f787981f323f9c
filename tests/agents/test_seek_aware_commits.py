"""The worker never commits over records it did not see: gaps count only where the broker showed
no record, the commit waits for the record at its offset, and read marks do not outlive a
reassignment (agents/fetch_continuity.py).

Pinned against Faust internals on purpose, like test_skipped_acks.py: the failure this guards
against needs a rebalance and a seek to land while a fetched batch is being handed out, which a
real worker hits only now and then under load (tests/reliability/test_kills.py's graceful
scenario). Here the consumer thread fetches from a stand-in for aiokafka's fetcher."""

from __future__ import annotations

import contextlib
from typing import Any

from aiokafka.structs import ConsumerRecord
from faust.types import TP


class Fetcher:
    """aiokafka's consumer and fetcher, as far as the thread's fetch and seeks use them."""

    def __init__(self, committed: dict[TP, int | None] | None = None) -> None:
        self._closed = False
        self._fetcher = self
        self._subscriptions = self
        self.batch: dict[TP, list[ConsumerRecord]] = {}
        self.committed_offsets = committed or {}
        self.sought: dict[TP, int] = {}

    def fetch_context(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    async def fetched_records(self, partitions: Any, timeout: Any = None, max_records: Any = None) -> Any:
        return self.batch

    def assignment(self) -> set[TP]:
        return set(self.committed_offsets)

    async def committed(self, tp: TP) -> int | None:
        return self.committed_offsets[tp]

    def seek(self, tp: TP, offset: int) -> None:
        self.sought[tp] = offset

    async def position(self, tp: TP) -> int:
        return self.sought[tp]


def stand_in(consumer: Any, committed: dict[TP, int | None] | None = None) -> Fetcher:
    """A `Fetcher` under `consumer`'s thread."""
    aiokafka = Fetcher(committed)
    consumer._thread._ensure_consumer = lambda: aiokafka
    return aiokafka


async def fetch(consumer: Any, aiokafka: Fetcher, tp: TP, offsets: list[int]) -> None:
    """The consumer thread fetches `offsets` of `tp` (as the drain loop's getmany does)."""
    aiokafka.batch = {tp: [ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, b"k", b"v", None, 1, 1, ())
                           for offset in offsets]}
    await consumer._thread._fetch_records(aiokafka, {tp}, timeout=0)


def acknowledged_gap(consumer: Any, tp: TP) -> list[int]:
    return sorted(offset for interval in consumer._gap.get(tp, ()) for offset in range(interval.begin, interval.end))


async def test_only_the_record_free_stretch_the_broker_showed_is_acknowledged_not_the_record_after_it(
        worker) -> None:
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    aiokafka = stand_in(consumer)
    await fetch(consumer, aiokafka, tp, [9, 10])
    await fetch(consumer, aiokafka, tp, [14, 15])          # 11..13 hold no record
    await consumer._add_gap(tp, 11, 14)                    # what the drain loop asks at 14
    assert acknowledged_gap(consumer, tp) == [11, 12, 13]


async def test_a_gap_inferred_across_a_seek_from_a_batch_fetched_before_it_is_not_acknowledged(worker) -> None:
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    aiokafka = stand_in(consumer)
    await fetch(consumer, aiokafka, tp, [20, 21, 22])
    consumer._thread.seek(tp, 10)                          # the seek to committed, mid-batch
    await consumer._add_gap(tp, 11, 21)                    # read mark 10, then record 21 handed
    assert acknowledged_gap(consumer, tp) == []


async def test_the_first_record_after_a_seek_proves_the_stretch_from_the_seek_target(worker) -> None:
    app, topic = worker
    consumer, moved, uncommitted = app.consumer, TP(topic, 0), TP(topic, 1)
    aiokafka = stand_in(consumer, committed={moved: 40, uncommitted: None})
    await fetch(consumer, aiokafka, uncommitted, [5, 6])
    assert await consumer._thread._seek_to_committed_marked() == {moved: 40, uncommitted: None}
    assert aiokafka.sought == {moved: 40}                  # aiokafka's rule: only committed ones
    await fetch(consumer, aiokafka, moved, [43])
    await consumer._add_gap(moved, 41, 43)
    assert acknowledged_gap(consumer, moved) == [41, 42]
    await fetch(consumer, aiokafka, uncommitted, [9])      # its fetch sequence went on
    await consumer._add_gap(uncommitted, 7, 9)
    assert acknowledged_gap(consumer, uncommitted) == [7, 8]


async def test_a_reassignment_forgets_read_marks_and_gaps(worker) -> None:
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    consumer._read_offset[tp] = 57                         # past records skipped unprocessed
    consumer._gap[tp].addi(50, 58)

    async def faust_assignment_handlers(assigned: Any, generation_id: int) -> None:
        assert consumer._read_offset.get(tp) is None and not consumer._gap.get(tp)

    consumer._on_partitions_assigned = faust_assignment_handlers
    await consumer.on_partitions_assigned({tp}, generation_id=2)
    assert consumer._read_offset.get(tp) is None


async def test_the_commit_never_passes_an_unacknowledged_record_at_the_committed_offset(worker) -> None:
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    aiokafka = stand_in(consumer, committed={tp: 30})
    await consumer._thread._seek_to_committed_marked()
    await fetch(consumer, aiokafka, tp, [30, 31, 32])
    consumer._committed_offset[tp] = 30
    consumer._acked[tp].extend([31, 32])                # 30 handed out, never acknowledged
    consumer._acked_index[tp].update([31, 32])
    assert consumer._new_offset(tp) is None
    consumer._acked[tp].append(30)
    consumer._acked_index[tp].add(30)
    assert consumer._new_offset(tp) == 33


async def test_the_commit_passes_a_committed_offset_the_broker_showed_holds_no_record(worker) -> None:
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    aiokafka = stand_in(consumer, committed={tp: 30})
    await consumer._thread._seek_to_committed_marked()
    await fetch(consumer, aiokafka, tp, [31, 32])       # 30: a transaction marker
    consumer._committed_offset[tp] = 30
    consumer._acked[tp].extend([31, 32])
    consumer._acked_index[tp].update([31, 32])
    assert consumer._new_offset(tp) == 33


async def test_a_partition_back_after_a_rebalance_skips_what_this_worker_processed_since_the_commit(
        worker) -> None:
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    stand_in(consumer, committed={tp: 30})
    consumer._thread.seek_to_committed = consumer._thread._seek_to_committed_marked
    consumer._thread.assignment = lambda: {tp}
    consumer._committed_offset[tp] = 30
    consumer._acked[tp].extend([30, 31, 32, 34])        # 33 still in the router
    consumer._acked_index[tp].update([30, 31, 32, 34])
    consumer._processed_through[tp] = 32                # what the revocation remembers
    for state in (consumer._acked, consumer._acked_index, consumer._committed_offset):
        state.pop(tp)                                   # what Faust's revocation drops
    await consumer.perform_seek()                       # back at the committed offset, 30
    assert consumer._read_offset[tp] == 33              # 30..32 are dropped as read, 33 is not
    assert consumer._new_offset(tp) == 33               # and committed as processed


async def test_a_seek_and_wait_starts_a_new_fetch_sequence(worker) -> None:
    # Recovery's seeks of changelog and standby partitions go through `seek_wait`.
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    aiokafka = stand_in(consumer)
    await fetch(consumer, aiokafka, tp, [20, 21])
    await consumer._thread._seek_wait(aiokafka, {tp: 10})
    assert aiokafka.sought == {tp: 10}
    await fetch(consumer, aiokafka, tp, [12])              # from the seek target, not from 22
    await consumer._add_gap(tp, 11, 12)
    assert acknowledged_gap(consumer, tp) == [11]
