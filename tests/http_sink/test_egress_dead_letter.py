"""Through the real connector runner and broker: a refused destination is dead-lettered at once
with the guard's reason (issue 5, "SSRF" test). No packet leaves the host: the metadata address
is refused before any dial, and `localhost` resolves from /etc/hosts to a refused loopback."""

from __future__ import annotations

import asyncio

import orjson
from prometheus_client import CollectorRegistry

from connectors.runner import DestinationRunner
from schemas.config import load_pipeline_text
from schemas.config.topic_plan import topic_plan
from schemas.envelope import Envelope, encode
from schemas.kafka import KafkaSettings, ensure_topics
from schemas.kafka.producer import AsyncProducer, ProducerRecord
from schemas.metrics import Metrics
from schemas.records import DeadLetter
from tests.kafka_helpers import consume_all

PIPELINE = """
service: {prefix}
routing:
  - name: r
    destinations: [{{id: d, type: http, url: "http://{{{{host}}}}/latest/meta-data/", timeout: 2s}}]
delivery:
  partitioning: {{partitions: 1}}
  retry: {{maxAttempts: 5, initialDelay: 10, maxDelay: 20}}
kafka: {{topicPrefix: {prefix}}}
"""


async def test_ssrf_destinations_are_dead_lettered_with_the_egress_reason(kafka: KafkaSettings,
                                                                          unique_name: str) -> None:
    pipeline = load_pipeline_text(PIPELINE.format(prefix=unique_name), environ={})
    destination = pipeline.destinations["r.d"]
    ensure_topics(kafka, topic_plan(pipeline))
    events = [Envelope(id=f"evt_{n}", source="api", time=1, received_at=1, partition_key="k",
                       content_type="application/json", type="t", data={"host": host})
              for n, host in enumerate(["169.254.169.254", "localhost:9"])]
    async with AsyncProducer(kafka) as producer:
        await producer.produce_many([ProducerRecord(destination.topic, encode(e), b"k",
                                                    [("eis-codec", b"json")]) for e in events])
        runner = DestinationRunner(pipeline, destination, kafka, producer, Metrics(CollectorRegistry()))
        task = asyncio.create_task(runner.run())
        try:
            parked = await consume_all(kafka, destination.dead_letter_topic, 2, timeout=30)
        finally:
            runner.stop()
            await task
    records = [DeadLetter.decode(m.value()) for m in parked]
    assert [r.event_id for r in records] == ["evt_0", "evt_1"]
    assert all(r.attempts == 1 and r.reason == "permanent_failure" for r in records)  # no retry
    assert records[0].last_error == ("egress_denied: 169.254.169.254 resolves to 169.254.169.254 "
                                     "(link-local); allow it with egress.allow")
    assert records[1].last_error is not None
    assert records[1].last_error.startswith("egress_denied: localhost resolves to ")
    assert "(loopback)" in records[1].last_error
    assert orjson.loads(records[0].original_value)["id"] == "evt_0"
