"""A rebalance commits what the worker processed before the partitions move; a processed batch is
committed as soon as its outputs are acknowledged (agents/faust_consumer.py).

Pinned against Faust internals on purpose, like test_seek_aware_commits.py: the real failure is a
burst of re-routed events after each membership change of a worker group under load
(tests/reliability/test_kills.py's storm and test_rebalance.py's move). Here Faust's own
revocation handler and aiokafka's commit are stand-ins."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.errors import CommitFailedError
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from faust.types import TP

from agents import faust_consumer
from tests.agents.test_skipped_acks import delivered


def processed(consumer: Any, tp: TP, *offsets: int) -> None:
    """What Faust's `ack` records for events whose outputs were acknowledged."""
    consumer._acked[tp].extend(offsets)
    consumer._acked_index[tp].update(offsets)


def app_revocation(consumer: Any, during: Callable[[], Awaitable[None]] | None = None) -> None:
    """Stand in for the app's revocation handler, which waits for the agents' events in flight."""
    async def handler(revoked: set[TP]) -> None:
        if during is not None:
            await during()
    consumer._on_partitions_revoked = handler


class AiokafkaCommits:
    """aiokafka's consumer, as far as the thread's commit before a rejoin uses it."""

    def __init__(self, error: Exception | None = None, *, answers: bool = True) -> None:
        self.committed: list[dict[TopicPartition, OffsetAndMetadata]] = []
        self.error = error
        self.answers = answers

    async def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        if not self.answers:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error
        self.committed.append(offsets)


def through_the_thread(consumer: Any, aiokafka: AiokafkaCommits) -> None:
    """Run the thread's revocation on this loop (Faust hands it to the main thread's queue)."""
    consumer._thread._ensure_consumer = lambda: aiokafka

    async def threadsafe(loop: Any, revoked: set[TP]) -> None:
        await consumer.on_partitions_revoked(revoked)
    consumer.threadsafe_partitions_revoked = threadsafe


async def test_a_revocation_commits_the_run_processed_since_the_last_commit(worker) -> None:
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    consumer._committed_offset[tp] = 30
    processed(consumer, tp, 30, 31, 32, 35)            # 33 and 34 still in the router

    async def event_in_flight_finishes() -> None:      # after Faust dropped the bookkeeping
        processed(consumer, tp, 33)
    app_revocation(consumer, event_in_flight_finishes)
    aiokafka = AiokafkaCommits()
    through_the_thread(consumer, aiokafka)
    await consumer._thread.on_partitions_revoked({tp})
    assert aiokafka.committed == [{TopicPartition(topic, 0): OffsetAndMetadata(34, "")}]
    assert consumer._processed_through == {tp: 33}     # for `perform_seek`, should it come back


async def test_a_partition_never_committed_is_committed_from_its_lowest_acknowledged_offset(
        worker) -> None:
    # What Faust's own commit does there: the fetch began at the log's start.
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    processed(consumer, tp, 0, 1, 2, 4)
    app_revocation(consumer)
    await consumer.on_partitions_revoked({tp})
    assert consumer.take_revocation_offsets() == {tp: 3}


async def test_a_revocation_reads_the_run_after_a_commit_in_flight_has_finished(worker) -> None:
    # A commit takes its offsets out of the acknowledgements when it starts and moves the
    # committed offset when it ends: read in between, the run looked empty.
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    consumer._committed_offset[tp] = 30
    processed(consumer, tp, 36, 37)                    # 30..35 are in the commit in flight
    consumer._commit_fut = asyncio.get_running_loop().create_future()

    async def commit_lands() -> None:
        await asyncio.sleep(0.05)
        consumer._committed_offset[tp] = 36
        fut, consumer._commit_fut = consumer._commit_fut, None
        fut.set_result(None)
    landing = asyncio.create_task(commit_lands())
    app_revocation(consumer)
    await consumer.on_partitions_revoked({tp})
    await landing
    assert consumer.take_revocation_offsets() == {tp: 38}


async def test_partitions_being_revoked_are_left_to_the_commit_before_the_rejoin(worker) -> None:
    # Faust commits from its revocation handler, after dropping the committed offset: its rule
    # then starts from the lowest acknowledgement, past anything unacknowledged below it.
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    seen: list[int | None] = []

    async def faust_commits_meanwhile() -> None:
        processed(consumer, tp, 40, 41)
        seen.append(consumer._new_offset(tp))
    app_revocation(consumer, faust_commits_meanwhile)
    await consumer.on_partitions_revoked({tp})
    assert seen == [None]


async def test_a_failed_commit_before_the_rejoin_is_logged_not_raised(worker, caplog) -> None:
    # The rebalance must go on: the partition's next owner routes again from the last commit.
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    consumer._committed_offset[tp] = 30
    processed(consumer, tp, 30)
    app_revocation(consumer)
    through_the_thread(consumer, AiokafkaCommits(CommitFailedError("group rebalanced")))
    await consumer._thread.on_partitions_revoked({tp})
    assert "Commit of revoked partitions before the rebalance failed" in caplog.text


async def test_a_commit_the_broker_does_not_answer_lets_the_rebalance_go_on(worker, caplog,
                                                                          monkeypatch) -> None:
    # The group waits for this callback; a commit stuck past the bound is given up.
    monkeypatch.setattr(faust_consumer, "REVOCATION_COMMIT_TIMEOUT_S", 0.05)
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    consumer._committed_offset[tp] = 30
    processed(consumer, tp, 30)
    app_revocation(consumer)
    through_the_thread(consumer, AiokafkaCommits(answers=False))
    await asyncio.wait_for(consumer._thread.on_partitions_revoked({tp}), 5)
    assert "Commit of revoked partitions before the rebalance failed" in caplog.text


async def test_a_timer_commit_that_never_finishes_does_not_hold_the_revocation(worker, monkeypatch) -> None:
    monkeypatch.setattr(faust_consumer, "REVOCATION_COMMIT_TIMEOUT_S", 0.05)
    app, topic = worker
    consumer, tp = app.consumer, TP(topic, 0)
    consumer._committed_offset[tp] = 30
    processed(consumer, tp, 30, 31)
    consumer._commit_fut = asyncio.get_running_loop().create_future()   # stuck
    app_revocation(consumer)
    await asyncio.wait_for(consumer.on_partitions_revoked({tp}), 5)
    assert consumer.take_revocation_offsets() == {tp: 32}


async def test_every_fifty_acknowledgements_start_a_commit(worker) -> None:
    app, topic = worker
    consumer = app.consumer
    commits: list[int] = []

    async def commit(*args: Any, **kwargs: Any) -> bool:
        commits.append(len(consumer._acked[TP(topic, 0)]))
        return True
    consumer.commit = commit
    assert consumer._commit_every is None             # Faust's fetch loop no longer commits
    for offset in range(49):
        delivered(app, topic, offset, tracked=True).ack(consumer)
    await asyncio.sleep(0)
    assert commits == []
    delivered(app, topic, 49, tracked=True).ack(consumer)
    await asyncio.sleep(0.01)
    assert commits == [50]
