"""`eis dlq list|show|redrive`: a round trip through the dead-letter topic and back."""

from __future__ import annotations

import orjson

from tests.delivery.helpers import load, pipeline_yaml, produce_events, runner
from tests.kafka_helpers import consume_all


async def test_list_show_and_redrive_round_trip(kafka, flaky, unique_name, stack_factory) -> None:
    flaky.default_status = 422            # permanent: parked at once
    text = pipeline_yaml(unique_name, f"""
      - {{id: s, type: http, url: "{flaky.url}/in"}}""", partitions=2)
    pipeline = load(text, kafka)
    stack = stack_factory(text)           # for the CLI's environment and config file
    destination = pipeline.destinations["r.s"]
    ids = await produce_events(kafka, destination.topic, 3, keys=3)
    async with runner(pipeline, "r.s", kafka):
        await consume_all(kafka, destination.dead_letter_topic, 3, 20)
        config = str(stack.config_path)

        listed = stack.run_cli("dlq", "list", "r.s", "-c", config)
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.strip().splitlines()
        assert len(lines) == 3 and {line.split("\t")[2] for line in lines} == set(ids)
        assert all("permanent_failure" in line for line in lines)
        assert stack.run_cli("dlq", "list", "r.s", "-c", config, "--until", "1h").stdout == ""  # none that old

        shown = stack.run_cli("dlq", "show", "r.s", "-c", config, "--event", ids[1])
        record = orjson.loads(shown.stdout)
        assert record["eventId"] == ids[1] and record["key"] == "d1" and record["attempts"] == 1
        assert record["original"]["data"] == {"deviceId": "d1", "seq": 1}
        assert "HTTP 422" in record["lastError"]

        flaky.default_status = 200        # the receiver is fixed: redrive one event
        redriven = stack.run_cli("dlq", "redrive", "r.s", "-c", config, "--event", ids[1])
        assert redriven.returncode == 0 and "redriven 1" in redriven.stdout, redriven.stderr
        await flaky.wait_for(1, timeout=20)
        assert flaky.delivered[0].json() == {"deviceId": "d1", "seq": 1}
        assert flaky.delivered[0].headers["Idempotency-Key"] == f"{ids[1]}:r.s"
    records = await consume_all(kafka, destination.topic, 4, 10)
    original = next(m for m in records if m.offset() == 0 and m.key() == b"d1")
    copy = next(m for m in records if dict(m.headers()).get("eis-redrive-count") == b"1")
    assert copy.value() == original.value() and copy.key() == b"d1" and copy.partition() == original.partition()
    assert [(k, v) for k, v in copy.headers() if k != "eis-redrive-count"] == original.headers()
