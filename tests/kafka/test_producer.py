"""AsyncProducer promises, against the real dev broker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ops.devbroker import DevBroker, free_port
from schemas.kafka import (
    AsyncProducer,
    Delivered,
    KafkaDeliveryError,
    KafkaSettings,
    ProducerRecord,
)
from tests.conftest import Names
from tests.kafka_helpers import consume_all, create_topics
from tests.stack_helpers import PrivateBroker


async def test_produce_resolves_after_ack_with_partition_and_offset(
    kafka: KafkaSettings, names: Names
) -> None:
    topic = names.topic()
    create_topics(kafka, topic, partitions=2)
    async with AsyncProducer(kafka) as producer:
        got = [await producer.produce(topic, f"v{i}".encode(), b"k", partition=1) for i in range(3)]
        assert len(producer) == 0  # nothing left unacknowledged once the awaits returned
    assert got == [Delivered(1, 0), Delivered(1, 1), Delivered(1, 2)]
    messages = await consume_all(kafka, topic, expected=3)
    assert [(m.partition(), m.offset(), m.value()) for m in messages] == [
        (1, 0, b"v0"),
        (1, 1, b"v1"),
        (1, 2, b"v2"),
    ]


async def test_produce_keeps_key_and_headers(kafka: KafkaSettings, names: Names) -> None:
    topic = names.topic()
    create_topics(kafka, topic)
    async with AsyncProducer(kafka) as producer:
        await producer.produce(topic, b"{}", b"device-7", headers=[("eis-source", b"mqtt")])
    (message,) = await consume_all(kafka, topic, expected=1)
    assert message.key() == b"device-7"
    assert message.headers() == [("eis-source", b"mqtt")]


async def test_produce_many_1000_records_all_acked_in_order_per_partition(
    kafka: KafkaSettings, names: Names
) -> None:
    topic = names.topic()
    create_topics(kafka, topic, partitions=3)
    records = [ProducerRecord(topic, str(i).encode(), f"key-{i % 7}".encode()) for i in range(1000)]
    async with AsyncProducer(kafka) as producer:
        outcomes = await producer.produce_many(records)
    assert all(isinstance(o, Delivered) for o in outcomes)
    by_partition: dict[int, list[int]] = {}
    for o in outcomes:
        assert isinstance(o, Delivered)
        by_partition.setdefault(o.partition, []).append(o.offset)
    # Offsets follow input order in each partition, without gaps.
    assert all(offs == list(range(len(offs))) for offs in by_partition.values())
    messages = await consume_all(kafka, topic, expected=1000)
    assert len(messages) == 1000
    for p in by_partition:
        read = [int(m.value() or b"-1") for m in messages if m.partition() == p]
        sent = [i for i, o in enumerate(outcomes) if isinstance(o, Delivered) and o.partition == p]
        assert read == sent


async def test_produce_to_unreachable_broker_fails_within_message_timeout() -> None:
    settings = KafkaSettings(bootstrap=f"127.0.0.1:{free_port()}", message_timeout_ms=1_500)
    async with AsyncProducer(settings) as producer:
        started = time.monotonic()
        with pytest.raises(KafkaDeliveryError) as info:
            await producer.produce("nowhere", b"x")
        elapsed = time.monotonic() - started
        assert not producer.is_healthy()
        assert not await producer.check_connected(timeout=0.5)
    assert info.value.retriable
    assert info.value.code == "_MSG_TIMED_OUT"
    assert 1.0 < elapsed < 4.0


async def test_produce_after_broker_stopped_fails_within_message_timeout(names: Names) -> None:
    topic = names.topic()
    with DevBroker.start() as broker:
        settings = KafkaSettings(bootstrap=broker.bootstrap, message_timeout_ms=2_000)
        async with AsyncProducer(settings) as producer:
            assert (await producer.produce(topic, b"before")).offset == 0  # auto-created topic
            assert await producer.check_connected(timeout=2)
            broker.stop()
            started = time.monotonic()
            with pytest.raises(KafkaDeliveryError) as info:
                await producer.produce(topic, b"after")
            assert time.monotonic() - started < 5.0
            assert info.value.retriable


async def test_stop_flushes_records_still_queued(kafka: KafkaSettings, names: Names) -> None:
    topic = names.topic()
    create_topics(kafka, topic)
    producer = AsyncProducer(kafka).start()
    futures = [await producer.send(topic, str(i).encode()) for i in range(100)]
    await producer.stop(timeout=10)
    results = await asyncio.gather(*futures)
    assert [r.offset for r in results] == list(range(100))


async def test_health_reports_a_live_broker(kafka: KafkaSettings) -> None:
    async with AsyncProducer(kafka) as producer:
        assert producer.is_healthy()
        assert await producer.check_connected(timeout=2)
    assert not producer.is_healthy()  # stopped


async def test_a_producer_recovers_when_the_broker_comes_back_without_its_state(
        tmp_path: Path, names: Names) -> None:
    # A broker that lost everything (the dev broker restarted; a whole cluster rebuilt) does not
    # know the idempotent producer's id: librdkafka raises a fatal UNKNOWN_PRODUCER_ID and that
    # client is dead. The AsyncProducer must fail what it held and carry on with a new client.
    topic = names.topic()
    broker = PrivateBroker(tmp_path)
    broker.start()
    try:
        settings = KafkaSettings(bootstrap=broker.bootstrap, message_timeout_ms=2_000)
        create_topics(settings, topic)
        async with AsyncProducer(settings) as producer:
            for i in range(5):
                await producer.produce(topic, f"before {i}".encode())
            broker.kill()
            broker.start()
            create_topics(settings, topic)  # as the operator does (`eis topics create`)
            failures: list[KafkaDeliveryError] = []
            for _ in range(20):
                try:
                    delivered = await producer.produce(topic, b"after")
                    break
                except KafkaDeliveryError as exc:
                    failures.append(exc)
                    await asyncio.sleep(0.5)
            else:
                raise AssertionError(f"never delivered after the broker came back: {failures}")
            assert delivered.offset == 0  # the new broker's fresh topic
            assert all(f.retriable for f in failures), failures
            assert producer.is_healthy()
    finally:
        broker.stop()
