"""After a seek the worker neither hands out a stale batch nor commits over records it never saw.

Pinned against Faust internals on purpose, like test_skipped_acks.py: the failure this guards
against (agents/fetch_continuity.py) needs a seek to land while a fetched batch is being handed
out, which a real worker hits only now and then under load. The fetch thread below returns one
batch, so the test can seek in the middle of it."""

from __future__ import annotations

from typing import Any

from aiokafka.structs import ConsumerRecord
from faust.types import TP

from agents.faust_consumer import fetched_batch
from agents.fetch_continuity import FetchContinuity


class OneBatch:
    """The consumer thread's fetch surface, returning one fixed batch, marking seeks as it does."""

    def __init__(self, continuity: FetchContinuity, records: dict[TP, list[ConsumerRecord]]) -> None:
        self.continuity = continuity
        self.records = records
        self.sought: dict[TP, int] = {}

    async def getmany(self, active_partitions: Any, timeout: float) -> Any:
        return fetched_batch(self.continuity, self.records)

    def seek(self, tp: TP, offset: int) -> None:
        self.continuity.restart(tp, offset)
        self.sought[tp] = offset

    def highwater(self, tp: TP) -> int:
        return 1_000


class Committed:
    """The aiokafka consumer surface the thread's seek to committed offsets uses."""

    def __init__(self, committed: dict[TP, int | None]) -> None:
        self._committed = committed
        self.sought: dict[TP, int] = {}

    def assignment(self) -> set[TP]:
        return set(self._committed)

    async def committed(self, tp: TP) -> int | None:
        return self._committed[tp]

    def seek(self, tp: TP, offset: int) -> None:
        self.sought[tp] = offset


def records(tp: TP, offsets: list[int]) -> list[ConsumerRecord]:
    return [ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, b"k", b"v", None, 1, 1, ())
            for offset in offsets]


def gap_offsets(consumer: Any, tp: TP) -> list[int]:
    return sorted(offset for interval in consumer._gap.get(tp, ()) for offset in range(interval.begin, interval.end))


async def test_a_batch_fetched_before_its_partition_was_sought_is_not_handed_out(worker) -> None:
    app, topic = worker
    consumer = app.consumer
    sought, other = TP(topic, 0), TP(topic, 1)
    consumer._thread = OneBatch(consumer.continuity,
                                {sought: records(sought, [20, 21, 22]), other: records(other, [5, 6])})
    consumer._active_partitions = {sought, other}
    handed: list[tuple[int, int]] = []
    async for tp, message in consumer.getmany(timeout=0):
        handed.append((tp.partition, message.offset))
        if message.offset == 20:
            await consumer.seek(sought, 10)       # what Recovery's seek to committed does
    assert consumer._thread.sought == {sought: 10}
    assert (0, 21) not in handed and (0, 22) not in handed
    assert [(0, 20), (1, 5), (1, 6)] == sorted(handed)


async def test_a_gap_inferred_from_a_stale_read_mark_is_not_acknowledged(worker) -> None:
    app, topic = worker
    consumer = app.consumer
    tp = TP(topic, 0)
    consumer.continuity.restart(tp, 10)
    consumer.continuity.observe(tp, [10, 11, 12, 13])
    await consumer._add_gap(tp, 11, 13)      # read mark reset to 10 while 11 and 12 were in flight
    assert gap_offsets(consumer, tp) == []


async def test_only_the_record_free_stretch_the_broker_showed_is_acknowledged_not_the_record_after_it(
        worker) -> None:
    app, topic = worker
    consumer = app.consumer
    tp = TP(topic, 0)
    consumer.continuity.restart(tp, 10)
    consumer.continuity.observe(tp, [10, 14])       # 11..13 hold no record
    await consumer._add_gap(tp, 11, 14)
    assert gap_offsets(consumer, tp) == [11, 12, 13]


async def test_the_seek_to_committed_offsets_marks_each_partition_it_moves_and_only_those(worker) -> None:
    app, topic = worker
    consumer = app.consumer
    moved, uncommitted = TP(topic, 0), TP(topic, 1)
    aiokafka_consumer = Committed({moved: 40, uncommitted: None})
    consumer._thread._ensure_consumer = lambda: aiokafka_consumer
    before = consumer.continuity.snapshot([moved, uncommitted])
    assert await consumer._thread._seek_to_committed_marked() == {moved: 40, uncommitted: None}
    assert aiokafka_consumer.sought == {moved: 40}
    assert not consumer.continuity.is_current(moved, before)
    assert consumer.continuity.is_current(uncommitted, before)
