"""A Faust transport whose consumer's fetch wait is a setting.

faust-streaming 0.15 hard-codes `fetch_max_wait_ms=1500` for its aiokafka consumer. A broker that
answers a fetch only when the wait expires (the development broker does) turns that into 1.5 s
of latency per hop; Apache Kafka answers as soon as data arrives, where the value only bounds
idle polling. We subclass the driver's consumer thread and set the value before the consumer
starts (aiokafka reads it when it builds its fetcher in `start()`).
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

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


class TunedTransport(faust_aiokafka.Transport):
    """The stock aiokafka transport with `TunedConsumer`."""

    Consumer = TunedConsumer


def register_transport(fetch_max_wait_ms: int) -> str:
    """Register the transport and return the URL scheme to use: `eiskafka://host:port`."""
    global _fetch_max_wait_ms
    _fetch_max_wait_ms = fetch_max_wait_ms
    TRANSPORTS.aliases[SCHEME] = f"{__name__}:TunedTransport"
    return SCHEME
