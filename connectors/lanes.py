"""One lane per assigned partition (of the destination topic or one of its delay tiers).

A lane dispatches its records in offset order, at most one in flight per record key: events of
one key are handled strictly in order, events of other keys proceed beside them, so a key that
fails and retries in place (ordered destinations) blocks only its own later events. Every
dispatched event holds one of the destination's `maxInFlight` slots until its outcome is
durable. `done` — the next offset to commit — only advances over the contiguous prefix of
finished offsets, so a commit never covers an event still in flight.

A delay-tier lane first waits until its head record is due. An at-most-once lane commits
each dispatched batch's offsets *before* attempting it, and takes the next batch only once
every event of the last one has started: what a crash can lose (committed, never attempted)
stays one batch per partition, not everything queued behind busy keys. Stopping such a lane
(SIGTERM, or its partition moving) first attempts what it already committed: only a crash
loses events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from confluent_kafka import Message

from connectors.delays import RetryState
from connectors.deliver import Deliverer

log = logging.getLogger("eis.connect")

# Records committed per commit-before-attempt round trip: also what a crash may lose per
# partition (committed, not yet attempted), so kept small.
AT_MOST_ONCE_BATCH = 50

CommitNow = Callable[[int], Awaitable[None]]


def _offset(message: Message) -> int:
    offset = message.offset()
    assert offset is not None  # a consumed record always has one
    return offset


class Lane:
    """Delivers one partition's events. `done` is the next offset to commit (None: nothing yet)."""

    def __init__(self, topic: str, partition: int, deliverer: Deliverer, slots: asyncio.Semaphore,
                 stopping: asyncio.Event, *, delayed: bool = False,
                 commit_before: CommitNow | None = None) -> None:
        self.topic = topic
        self.partition = partition
        self.deliverer = deliverer
        self.slots = slots
        self.stopping = stopping
        self.delayed = delayed
        self.commit_before = commit_before
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.done: int | None = None
        self._outstanding: deque[int] = deque()   # dispatched offsets, in order, not yet committable
        self._finished: set[int] = set()
        self._waiting: dict[bytes | None, deque[Message]] = {}  # busy key → its later events
        self._queued_behind_keys = 0
        self._all_started = asyncio.Event()   # nothing queued behind a busy key
        self._all_started.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._draining = False
        self._closing = False                       # at-most-once: take no further batch
        self._between_batches = asyncio.Event()     # the dispatcher started all it committed
        self._on_error: Callable[[BaseException], Awaitable[None]] | None = None

    @property
    def backlog(self) -> int:
        """Fetched events not yet started (queued, or behind their key)."""
        return self.queue.qsize() + sum(len(d) for d in self._waiting.values())

    def start(self, on_error: Callable[[BaseException], Awaitable[None]]) -> None:
        """Run the lane until stopped; an unexpected error is handed to `on_error`."""
        self._on_error = on_error
        self._dispatcher = asyncio.create_task(self._guard(self._dispatch()))

    async def finish(self, timeout: float) -> None:
        """Graceful stop: drop what is not started (the partition's next owner gets it), let
        the attempts in flight reach their outcomes (retry and circuit waits end at once)."""
        await self._attempt_committed(timeout)
        self._draining = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        while not self.queue.empty():
            self.queue.get_nowait()
        for waiting in self._waiting.values():
            waiting.clear()
        self._queued_behind_keys = 0
        self._all_started.set()
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
            if late:
                log.warning("destination %s: %d in-flight deliveries did not finish in %ss",
                            self.deliverer.destination.id, len(late), timeout)
        await self.stop()

    async def stop(self, timeout: float = 10.0) -> None:
        """Cancel everything of the lane and wait for it; `done` stays what was finished.
        An at-most-once lane first attempts what it committed (for `timeout` at most)."""
        await self._attempt_committed(timeout)
        self._draining = True
        tasks = [t for t in (self._dispatcher, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _guard(self, work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - surfaced to the runner, which stops
            assert self._on_error is not None
            await self._on_error(exc)

    async def _attempt_committed(self, timeout: float) -> None:
        # Its offsets are committed: unless attempted now, the partition's next owner skips it.
        if self.commit_before is None or self._dispatcher is None or self._dispatcher.done():
            return
        self._closing = True
        try:
            async with asyncio.timeout(timeout):
                await self._between_batches.wait()
                await self._all_started.wait()
                if self._tasks:
                    await asyncio.wait(set(self._tasks))
        except TimeoutError:
            log.warning("destination %s: committed events not attempted within %ss (at-most-once)",
                        self.deliverer.destination.id, timeout)

    async def _dispatch(self) -> None:
        while True:
            self._between_batches.set()
            message = await self.queue.get()
            self._between_batches.clear()
            if self._closing:
                self._between_batches.set()
                return    # not committed: the partition's next owner gets it
            if self.delayed and not await self._wait_until_due(message):
                return
            batch = [message]
            if self.commit_before is not None:
                await self._all_started.wait()
                if self._closing:
                    self._between_batches.set()
                    return    # stopped while the last batch started: this one stays uncommitted
                while len(batch) < AT_MOST_ONCE_BATCH and not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                await self.commit_before(_offset(batch[-1]) + 1)   # at-most-once: before the attempt
                self.done = _offset(batch[-1]) + 1
            for m in batch:
                await self._start(m)

    async def _start(self, message: Message) -> None:
        if self.commit_before is None:
            self._outstanding.append(_offset(message))
        key = message.key()
        waiting = self._waiting.get(key)
        if waiting is not None:
            waiting.append(message)   # its key is busy: it runs after the key's earlier events
            self._queued_behind_keys += 1
            self._all_started.clear()
            return
        self._waiting[key] = deque()
        await self.slots.acquire()
        task = asyncio.create_task(self._guard(self._run_key(key, message)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_key(self, key: bytes | None, message: Message) -> None:
        metrics = self.deliverer.metrics.in_flight.labels(self.deliverer.destination.id)
        metrics.inc()
        try:
            while True:
                if not await self.deliverer.handle(message):
                    return    # stopping mid-retry: this and the key's later events stay uncommitted
                self._finish(_offset(message))
                waiting = self._waiting[key]
                if self._draining or not waiting:
                    return
                message = waiting.popleft()
                self._started_from_queue(1)
        finally:
            dropped = self._waiting.pop(key, None)
            if dropped:
                self._started_from_queue(len(dropped))   # stopping: they stay uncommitted
            self.slots.release()
            metrics.dec()

    def _started_from_queue(self, count: int) -> None:
        self._queued_behind_keys = max(0, self._queued_behind_keys - count)
        if not self._queued_behind_keys:
            self._all_started.set()

    def _finish(self, offset: int) -> None:
        if self.commit_before is not None:
            return
        self._finished.add(offset)
        while self._outstanding and self._outstanding[0] in self._finished:
            done = self._outstanding.popleft()
            self._finished.discard(done)
            self.done = done + 1

    async def _wait_until_due(self, message: Message) -> bool:
        due_s = RetryState.of(message).not_before / 1000 - time.time()
        if due_s <= 0:
            return True
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=due_s)
            return False
        except TimeoutError:
            return True
