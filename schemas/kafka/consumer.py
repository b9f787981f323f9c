"""An asyncio consumer over confluent-kafka with manual commits and async rebalance hooks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import confluent_kafka
from confluent_kafka import Message, TopicPartition

from schemas.kafka.errors import KafkaClosedError, KafkaCommitError, KafkaConsumeError
from schemas.kafka.settings import KafkaSettings, consumer_config

__all__ = ["AsyncConsumer", "RebalanceHook", "next_offsets", "record_headers", "tail_to_loop"]

log = logging.getLogger(__name__)

RebalanceHook = Callable[[list[TopicPartition]], Coroutine[Any, Any, None]]
_T = TypeVar("_T")
_Work = tuple[Callable[[], Any], "concurrent.futures.Future[Any]"]


def record_headers(message: Message) -> list[tuple[str, bytes]]:
    """A consumed record's headers as (name, value) pairs, a null value read as b"".

    librdkafka hands consumed records a list of pairs; the stubs' type also admits the dict and
    str values a producer accepts, which this narrows."""
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(k, v if isinstance(v, bytes) else v.encode() if isinstance(v, str) else b"") for k, v in pairs]


def tail_to_loop(consumer: confluent_kafka.Consumer, loop: asyncio.AbstractEventLoop,
                 stopping: threading.Event, apply: Callable[[list[Message]], None]) -> None:
    """Run in a thread of its own: hand each batch `consumer` reads to `apply` on `loop` until
    `stopping` is set or the loop closed, then close the consumer (group-less state readers)."""
    try:
        while not stopping.is_set():
            messages = consumer.consume(500, 0.1)
            if messages:
                try:
                    loop.call_soon_threadsafe(apply, messages)
                except RuntimeError:  # the loop is closed: nobody left to apply them
                    return
    finally:
        consumer.close()


def next_offsets(messages: Iterable[Message]) -> list[TopicPartition]:
    """The offsets to commit once `messages` are done: highest offset + 1 per partition."""
    top: dict[tuple[str, int], int] = {}
    for m in messages:
        topic, partition, offset = m.topic(), m.partition(), m.offset()
        assert (
            topic is not None and partition is not None and offset is not None
        )  # consumed records
        tp = (topic, partition)
        top[tp] = max(top.get(tp, -1), offset)
    return [TopicPartition(t, p, o + 1) for (t, p), o in top.items()]


class AsyncConsumer:
    """A consumer-group member for asyncio code (the connector runner, tests).

    Lifecycle:

    1. `AsyncConsumer(settings, group_id)` creates the client; nothing is fetched yet.
    2. `subscribe(topics, on_assign=…, on_revoke=…)` from inside the event loop.
    3. Loop: `await getmany()` → handle the records → `await commit(next_offsets(done))`.
       Nothing is committed or stored automatically (see `consumer_config`), so a crash
       before `commit` redelivers, never loses.
    4. `await close()` leaves the group (firing `on_revoke` a last time) and frees the client.

    Threads: librdkafka's `consume()` blocks, so `getmany` runs it in a dedicated thread and the
    loop stays free. librdkafka invokes rebalance callbacks from *inside* that `consume()` (or
    `close()`); this class runs your async hook on the event loop and holds the fetch thread
    until it returns, so `on_revoke` can `await commit(...)` the work that is done before the
    partitions move (the commit runs in the fetch thread, the only one librdkafka serves
    during the callback). A hook must not call
    `getmany` or `close` (they would wait on the thread that waits on the hook). `on_lost`
    (partitions taken away after a missed session; committing them fails) defaults to
    `on_revoke`. A hook running past `hook_timeout` seconds is abandoned with an error log.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        group_id: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        hook_timeout: float = 30.0,
    ):
        config = consumer_config(settings, group_id, **(overrides or {}))
        self._consumer = confluent_kafka.Consumer(
            {**config, "on_commit": self._on_commit, "error_cb": self._on_error, "logger": log}
        )
        self._fetcher = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="eis-consume")
        # A consume() still running when its getmany() was cancelled: its records are handed to
        # the next getmany(), because they were already fetched and would otherwise be skipped.
        self._pending: concurrent.futures.Future[list[Message]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hook_timeout = hook_timeout
        self._callback_work: queue.SimpleQueue[_Work | None] | None = None  # set while a hook runs
        self._work_lock = threading.Lock()
        self._closing = False
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------

    def subscribe(
        self,
        topics: Sequence[str],
        *,
        on_assign: RebalanceHook | None = None,
        on_revoke: RebalanceHook | None = None,
        on_lost: RebalanceHook | None = None,
    ) -> None:
        """Join the group for `topics`; call from inside the event loop that will consume."""
        self._require_open()
        self._loop = asyncio.get_running_loop()
        self._consumer.subscribe(
            list(topics),
            on_assign=self._bridge(on_assign, "on_assign"),
            on_revoke=self._bridge(on_revoke, "on_revoke"),
            on_lost=self._bridge(on_lost or on_revoke, "on_lost"),
        )

    async def close(self) -> None:
        """Leave the group (on_revoke fires) and release the client. Idempotent."""
        if self._closing:
            return
        self._closing = True  # new getmany() calls are refused; the revoke hook may still commit
        loop = asyncio.get_running_loop()
        try:
            # Queued behind a consume() still running in the fetch thread: they never overlap.
            await loop.run_in_executor(self._fetcher, self._consumer.close)
        finally:
            self._closed = True
            self._fetcher.shutdown(wait=False)

    async def __aenter__(self) -> AsyncConsumer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- consuming -----------------------------------------------------------------------

    async def getmany(
        self,
        max_records: int = 500,
        timeout: float = 1.0,  # noqa: ASYNC109 - bounds librdkafka's consume(), not the await
    ) -> list[Message]:
        """Up to `max_records` records, waiting at most `timeout` s (empty list if none).

        Error events that only inform (broker transport, unknown topic before it exists) are
        logged and skipped; fatal ones raise `KafkaConsumeError`. Cancellation-safe: records
        fetched by a cancelled call are returned by the next one.
        """
        self._require_open()
        if self._closing:
            raise KafkaClosedError("consumer is closing")
        if self._pending is None:
            self._pending = self._fetcher.submit(self._consumer.consume, max_records, timeout)
        # shield: cancelling the await must not cancel the fetch whose records we must keep
        messages = await asyncio.shield(asyncio.wrap_future(self._pending))
        self._pending = None
        good: list[Message] = []
        for m in messages:
            err = m.error()
            if err is None:
                good.append(m)
            elif err.fatal():
                raise KafkaConsumeError.from_kafka_error(err, "consume")
            elif err.code() != confluent_kafka.KafkaError._PARTITION_EOF:
                log.warning("kafka consumer: %s (topic %s)", err.str(), m.topic())
        return good

    async def commit(self, offsets: Sequence[TopicPartition], *, wait: bool = True) -> None:
        """Commit `offsets` (each the *next* offset to read: last done + 1).

        With `wait` (default) the call returns once the group coordinator stored them and
        raises `KafkaCommitError` otherwise; use it after effects and in `on_revoke`.
        `wait=False` sends and returns; a failure is only logged (the next commit covers it).
        """
        self._require_open()
        if not offsets:
            return
        if not wait:
            self._consumer.commit(offsets=list(offsets), asynchronous=True)
            return
        try:
            result = await self._call(
                lambda: self._consumer.commit(offsets=list(offsets), asynchronous=False)
            )
        except confluent_kafka.KafkaException as e:
            raise KafkaCommitError.from_kafka_error(e.args[0], "commit") from e
        failed = [tp for tp in result or () if tp.error is not None]
        if failed:
            tp = failed[0]
            assert tp.error is not None
            raise KafkaCommitError.from_kafka_error(tp.error, f"commit {tp.topic}[{tp.partition}]")

    async def committed(
        self,
        partitions: Sequence[TopicPartition],
        timeout: float = 5.0,  # noqa: ASYNC109 - bounds librdkafka's call
    ) -> list[TopicPartition]:
        """The group's committed offsets for `partitions` (offset -1001 when none)."""
        self._require_open()
        return await self._call(lambda: self._consumer.committed(list(partitions), timeout=timeout))

    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        """Stop fetching `partitions` (e.g. while their sink is down); keeps the assignment.
        Takes effect before the next fetch (in the fetch thread, or the rebalance callback's
        while a hook runs), so it is safe inside a hook and never blocks the loop."""
        self._require_open()
        chosen = list(partitions)
        self._run_now_or_in_callback(lambda: self._consumer.pause(chosen))

    def resume(self, partitions: Sequence[TopicPartition]) -> None:
        """Fetch paused `partitions` again, from where they stopped. Safe inside a rebalance hook."""
        self._require_open()
        chosen = list(partitions)
        self._run_now_or_in_callback(lambda: self._consumer.resume(chosen))

    def assignment(self) -> list[TopicPartition]:
        """The partitions this member currently owns."""
        self._require_open()
        return list(self._consumer.assignment())

    # -- internals -----------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._closed:
            raise KafkaClosedError("consumer is closed")

    def _bridge(
        self, hook: RebalanceHook | None, name: str
    ) -> Callable[[Any, list[TopicPartition]], None]:
        def callback(_consumer: Any, partitions: list[TopicPartition]) -> None:
            # Runs in the fetch thread, inside consume()/close(); the loop is free meanwhile.
            loop = self._loop
            if hook is None:
                return
            if loop is None or loop.is_closed():
                log.error("kafka consumer %s: no running loop, hook skipped", name)
                return
            work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
            self._callback_work = work
            try:
                future = asyncio.run_coroutine_threadsafe(hook(list(partitions)), loop)
                future.add_done_callback(lambda _: work.put(None))
                self._serve(work, time.monotonic() + self._hook_timeout)
                future.result()
            except queue.Empty:
                future.cancel()
                log.error(
                    "kafka consumer %s hook exceeded %.0f s; abandoned", name, self._hook_timeout
                )
            except Exception:
                # Raising here would surface from an unrelated getmany(); log and let the
                # rebalance proceed (uncommitted work is redelivered: at-least-once holds).
                log.exception("kafka consumer %s hook failed", name)
            finally:
                with self._work_lock:
                    self._callback_work = None
                # Calls queued after the hook ended (another task's commit): run them here too.
                while True:
                    try:
                        item = work.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        self._run(item)

        return callback

    @staticmethod
    def _serve(work: queue.SimpleQueue[_Work | None], deadline: float) -> None:
        # While a rebalance callback runs, librdkafka serves commits and offset fetches only
        # from the thread inside the callback (one from another thread hangs until the
        # callback returns), so the hook's calls are shipped here and run in this thread.
        while (item := work.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
            AsyncConsumer._run(item)

    @staticmethod
    def _run(item: _Work) -> None:
        fn, result = item
        if result.set_running_or_notify_cancel():
            try:
                result.set_result(fn())
            except BaseException as e:  # handed to the awaiting coroutine
                result.set_exception(e)

    def _run_now_or_in_callback(self, fn: Callable[[], object]) -> None:
        # Like commits, pause/resume from another thread while a rebalance callback runs wait
        # for the callback to return, and the callback waits for its hook on this loop: a
        # deadlock until `hook_timeout` (seen: a resume in on_revoke stalled 30 s). So the call
        # never runs on the loop: it goes to the callback's thread while a hook runs, else to
        # the fetch thread (before its next consume); not awaited (callers are synchronous).
        with self._work_lock:
            work = self._callback_work
            if work is not None:
                work.put((fn, concurrent.futures.Future()))
                return
        if not self._closing:
            self._fetcher.submit(fn)

    async def _call(self, fn: Callable[[], _T]) -> _T:
        """Run a blocking client call off the loop (in the callback thread during a hook)."""
        result: concurrent.futures.Future[_T] = concurrent.futures.Future()
        with self._work_lock:  # atomic with the callback's end, so nothing is left unserved
            work = self._callback_work
            if work is not None:
                work.put((fn, result))
        if work is None:
            return await asyncio.get_running_loop().run_in_executor(None, fn)
        return await asyncio.wrap_future(result)

    @staticmethod
    def _on_commit(
        err: confluent_kafka.KafkaError | None, partitions: list[TopicPartition]
    ) -> None:
        if err is not None:
            log.warning("kafka consumer commit failed: %s", err.str())

    @staticmethod
    def _on_error(err: confluent_kafka.KafkaError) -> None:
        log.warning("kafka consumer: %s", err.str())
