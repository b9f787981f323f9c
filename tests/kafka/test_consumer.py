"""AsyncConsumer promises: manual commits decide where a group resumes."""

from __future__ import annotations

import asyncio

from confluent_kafka import Message, TopicPartition

from schemas.kafka import AsyncConsumer, AsyncProducer, KafkaSettings, next_offsets
from tests.conftest import Names
from tests.kafka_helpers import create_topics, produce_json, values


async def _read(consumer: AsyncConsumer, n: int, timeout: float = 15.0) -> list[Message]:  # noqa: ASYNC109
    out: list[Message] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(out) < n and asyncio.get_running_loop().time() < deadline:
        out.extend(await consumer.getmany(max_records=n - len(out), timeout=0.5))
    return out


async def test_next_member_resumes_after_committed_offset_and_rereads_uncommitted(
    kafka: KafkaSettings, names: Names
) -> None:
    topic, group = names.topic(), names.group()
    create_topics(kafka, topic)
    await produce_json(kafka, topic, [{"n": i} for i in range(10)])

    first = AsyncConsumer(kafka, group)
    first.subscribe([topic])
    got = await _read(first, 10)
    assert values(got) == [{"n": i} for i in range(10)]
    await first.commit(next_offsets(got[:6]))  # records 0..5 done; 6..9 read but not done
    await first.close()

    async with AsyncConsumer(kafka, group) as second:
        second.subscribe([topic])
        again = await _read(second, 4)
        more = await second.getmany(timeout=1.0)
        (committed,) = await second.committed([TopicPartition(topic, 0)])
    assert [m.offset() for m in again] == [6, 7, 8, 9]
    assert more == []
    assert committed.offset == 6


async def test_on_revoke_hook_commits_done_work_before_partitions_move(
    kafka: KafkaSettings, names: Names
) -> None:
    topic, group = names.topic(), names.group()
    create_topics(kafka, topic)
    await produce_json(kafka, topic, [{"n": i} for i in range(5)])
    done: list[Message] = []
    revoked: list[list[TopicPartition]] = []

    consumer = AsyncConsumer(kafka, group)

    async def on_revoke(partitions: list[TopicPartition]) -> None:
        revoked.append(partitions)
        await consumer.commit(next_offsets(done))

    consumer.subscribe([topic], on_revoke=on_revoke)
    done.extend((await _read(consumer, 5))[:3])
    await consumer.close()  # leaving the group revokes: the hook commits offset 3
    assert [tp.partition for tp in revoked[0]] == [0]

    async with AsyncConsumer(kafka, group) as successor:
        successor.subscribe([topic])
        assert [m.offset() for m in await _read(successor, 2)] == [3, 4]


async def test_paused_partition_is_not_fetched_until_resumed(
    kafka: KafkaSettings, names: Names
) -> None:
    topic = names.topic()
    create_topics(kafka, topic, partitions=2)
    async with AsyncConsumer(kafka, names.group()) as consumer:
        consumer.subscribe([topic])
        while not consumer.assignment():
            await consumer.getmany(timeout=0.2)
        paused = [TopicPartition(topic, 1)]
        consumer.pause(paused)
        async with AsyncProducer(kafka) as producer:
            await producer.produce(topic, b"p0", partition=0)
            await producer.produce(topic, b"p1", partition=1)
        seen = [m.partition() for m in await _read(consumer, 10, timeout=2.0)]
        assert 1 not in seen and 0 in seen
        consumer.resume(paused)
        assert 1 in [m.partition() for m in await _read(consumer, 1, timeout=10.0)]


async def test_cancelled_getmany_hands_its_records_to_the_next_call(
    kafka: KafkaSettings, names: Names
) -> None:
    topic = names.topic()
    create_topics(kafka, topic)
    async with AsyncConsumer(kafka, names.group()) as consumer:
        consumer.subscribe([topic])
        # Cancel while consume() is blocked in its thread (no records yet, 3 s wait).
        task = asyncio.ensure_future(consumer.getmany(max_records=10, timeout=3.0))
        await asyncio.sleep(0.3)
        task.cancel()
        await produce_json(kafka, topic, [{"n": i} for i in range(3)])
        got = await _read(consumer, 3)
    assert values(got) == [{"n": 0}, {"n": 1}, {"n": 2}]
