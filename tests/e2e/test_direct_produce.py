"""Users produce to Kafka directly: bare JSON is routed; poison is parked on first sight and the
partition keeps flowing."""

from __future__ import annotations

import orjson

from schemas.kafka.producer import AsyncProducer, ProducerRecord
from schemas.records import DeadLetter
from tests.kafka_helpers import consume_all
from tests.stack_helpers import Stack

PIPELINE = """
service: {{service}}
ingestion:
  protocols: [{{http: {{auth: none}}}}]
routing:
  - name: all
    destinations: [{{id: sink, type: http, url: "{sink_url}/in"}}]
delivery:
  partitioning: {{partitions: 1}}
kafka: {{topicPrefix: {{prefix}}}}
egress: {{allow: ["127.0.0.0/8"]}}
"""


async def worker_and_connector(stack: Stack) -> Stack:
    """Create the stack's topics, start its worker and connector; return once the worker is up."""
    assert stack.run_cli("topics", "create", "-c", str(stack.config_path)).returncode == 0
    stack.start("worker")
    stack.start("connect")
    await stack.wait_http(f"{stack.worker_url}/healthz")
    return stack


async def test_direct_produced_json_is_routed_and_poison_goes_to_invalid_without_blocking(
        stack_factory, sink, kafka, unique_name) -> None:
    stack = await worker_and_connector(stack_factory(PIPELINE.format(sink_url=sink.url)))
    topic = f"{unique_name}.in.api"
    records = [
        ProducerRecord(topic, orjson.dumps({"type": "t", "n": 1}), b"k"),
        ProducerRecord(topic, b"\xff\x00 not json", b"k"),
        ProducerRecord(topic, b'{"id": "evt_x"}', b"k", [("eis-codec", b"json")]),
        # Fits a record (1,000,000 bytes by default); with the dead-letter metadata it does not.
        ProducerRecord(topic, b"\xff" * 999_000, b"k"),
        ProducerRecord(topic, orjson.dumps({"type": "t", "n": 2}), b"k"),
    ]
    async with AsyncProducer(kafka) as producer:
        await producer.produce_many(records)
    delivered = await sink.wait_for(2, timeout=60)
    assert [r.json()["n"] for r in delivered] == [1, 2]
    invalid = await consume_all(kafka, f"{unique_name}.invalid", 3, timeout=30)
    parked = [DeadLetter.decode(m.value()) for m in invalid]
    assert [p.original_value for p in parked] == [b"\xff\x00 not json", b'{"id": "evt_x"}', b"\xff" * 65_536]
    assert all(p.stage == "decode" and p.origin_topic == topic for p in parked)
    assert [p.origin_offset for p in parked] == [1, 2, 3]
    assert f"original truncated to 65536 bytes (whole: {topic}/0/3)" in (parked[2].last_error or "")
    assert stack.processes["worker"].poll() is None  # no restart needed


POISON_PIPELINE = """
service: {{service}}
ingestion:
  protocols: [{{http: {{auth: none}}}}]
routing:
  - name: all
    destinations:
      - id: sink
        type: http
        url: "{sink_url}/in"
        transform: {{n: $.n, a: $.blob, b: $.blob, m: "regex_match(coalesce($.s, ''), coalesce($.p, 'x'))"}}
delivery:
  partitioning: {{partitions: 1}}
kafka: {{topicPrefix: {{prefix}}}}
egress: {{allow: ["127.0.0.0/8"]}}
"""


async def test_a_transform_that_raises_and_an_oversized_output_are_dead_lettered_on_first_sight(
        stack_factory, sink, kafka, unique_name) -> None:
    stack = await worker_and_connector(stack_factory(POISON_PIPELINE.format(sink_url=sink.url)))
    topic = f"{unique_name}.in.api"
    blob = "x" * 600_000                   # the input fits a record; the transform doubles it
    records = [
        ProducerRecord(topic, orjson.dumps({"type": "t", "n": 1}), b"k"),
        ProducerRecord(topic, orjson.dumps({"type": "t", "n": 2, "s": "a" * 5_000, "p": "^(a|aa)*$"}), b"k"),
        ProducerRecord(topic, orjson.dumps({"type": "t", "n": 3, "blob": blob}), b"k"),
        ProducerRecord(topic, orjson.dumps({"type": "t", "n": 4}), b"k"),
    ]
    async with AsyncProducer(kafka) as producer:
        await producer.produce_many(records)
    delivered = await sink.wait_for(2, timeout=60)
    assert [r.json()["n"] for r in delivered] == [1, 4]
    parked = [DeadLetter.decode(m.value()) for m in await consume_all(kafka, f"{unique_name}.dlq.all.sink", 2, 30)]
    assert [(p.origin_offset, p.stage) for p in parked] == [(1, "transform"), (2, "produce")]
    assert "alternation" in (parked[0].last_error or "")
    assert "too large" in (parked[1].last_error or "")
    assert orjson.loads(parked[1].original_value)["blob"] == blob    # the original, whole
    assert stack.processes["worker"].poll() is None  # no restart needed
