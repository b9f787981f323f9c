"""A Faust transport whose consumer's fetch wait is a setting and whose commits are never skipped.

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

Left alone: on a rebalance Faust discards the revoked partitions' acknowledgements before its
revocation handler commits, so the next owner re-routes up to one commit interval (plus a
backlog taken in that interval) of each moved partition. Committing from our own revocation
hook stalled the group on the development broker (a commit waits for the rebalance that waits
for the hook); the commit interval bounds the window instead (`EIS_COMMIT_INTERVAL_S`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import Message

SCHEME = "eiskafka"
_fetch_max_wait_ms = 1500


class TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """The stock consumer thread, with the configured fetch wait."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = _fetch_max_wait_ms
        return consumer


class TunedConsumer(faust_aiokafka.Consumer):
    """The stock consumer, delegating to `TunedConsumerThread`."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

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
