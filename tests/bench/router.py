"""Benchmark: the EIS router (a real `eis worker` process) against a bare aiokafka relay.

Run: ``.venv/bin/python tests/bench/router.py`` (not a pytest test). Starts its own dev broker
and, alternating, runs rounds of

* BASELINE: a bare consume→produce relay in its own process (aiokafka ``getmany`` → ``send``
  per record, the batch's futures awaited, then a manual commit), 1 input → 1 output record;
* ROUTER: ``python -m ops.cli worker -c <pipeline.yaml>`` on a 2-route / 2-destination
  pipeline (a condition plus a 6-field mapping on one route, a catch-all on the other).

Each round uses fresh topics (the dev broker slows down as a partition collects batches) and
the same input: ``--events`` envelopes of ~1 KiB with the codec header, as ingress writes them.
The clock starts just before the first input record is produced (the relay or worker has
already joined: the worker's ``/healthz`` is 200) and stops at the CreateTime of the last output
record seen on the outbound topic(s), so the observer's own fetch latency does not count. Both
processes run on uvloop (as `eis worker` does). The last line is ``router/baseline ratio: R``.

``--profile FILE`` instead runs one router round with the worker under cProfile and prints the
top functions (the worker writes the profile when it exits on SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

PIPELINE = """
service: {service}
ingestion:
  protocols: [{{http: {{auth: none}}}}]
routing:
  - name: climate
    condition: "eventType IN ['temperature', 'humidity'] AND $.data.celsius > 0"
    transform:
      mapping:
        device: $.deviceId
        kind: $.eventType
        celsius: $.data.celsius
        humidity: $.data.humidity
        site: $.site.name
        at: $.ts
    destinations: [{{id: api, type: http, url: "http://127.0.0.1:9/climate"}}]
  - name: archive
    destinations: [{{id: store, type: http, url: "http://127.0.0.1:9/archive"}}]
delivery:
  partitioning: {{partitions: {partitions}}}
kafka: {{topicPrefix: {prefix}}}
"""

KINDS = ("temperature", "humidity", "temperature", "pressure")


def make_events(n: int) -> list[tuple[bytes, bytes]]:
    """`n` (key, value) pairs: JSON envelopes of ~1 KiB; 3 in 4 are climate readings, and of
    those 7 in 8 have a positive temperature (so ~66 % take both routes)."""
    from schemas.envelope import Envelope, encode_json

    now = int(time.time() * 1000)
    pad = "x" * 462
    out = []
    for i in range(n):
        device = f"dev-{i % 97:03d}"
        payload = {
            "eventType": KINDS[i % 4], "deviceId": device, "ts": now + i, "seq": i,
            "data": {"celsius": (i % 40) - 4.5, "humidity": 40 + i % 30, "pressure": 1013.2,
                     "battery": 0.87, "firmware": "2.4.1"},
            "site": {"name": "plant-7", "region": "eu-west", "floor": 3},
            "tags": ["sensor", "iot", "bench"], "notes": pad,
        }
        envelope = Envelope(id=f"evt_bench{i:021d}", source="api", time=now, received_at=now,
                            partition_key=device, content_type="application/json",
                            data=payload, type=KINDS[i % 4])
        out.append((device.encode(), encode_json(envelope)))
    return out


# ------------------------------------------------------------------------------------------
# Kafka helpers (confluent-kafka: fast, runs outside the measured processes)
# ------------------------------------------------------------------------------------------

def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    from schemas.kafka import KafkaSettings, TopicSpec, ensure_topics

    ensure_topics(KafkaSettings(bootstrap=bootstrap), [TopicSpec(n, partitions) for n in names])


def produce(bootstrap: str, topic: str, events: list[tuple[bytes, bytes]],
            headers: list[tuple[str, bytes]] | None) -> float:
    """Produce every event (big batches, acks=all); return the wall time of the first send."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                         "batch.num.messages": 10000, "batch.size": 4_000_000,
                         "queue.buffering.max.messages": 1_000_000,
                         "partitioner": "murmur2_random"})
    errors: list[Any] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(err)

    t0 = time.time()
    for key, value in events:
        producer.produce(topic, value, key, headers=headers, on_delivery=on_delivery)
    producer.flush(60)
    if errors:
        raise RuntimeError(f"{len(errors)} produce errors, e.g. {errors[0]}")
    return t0


class OutputCounter:
    """Counts records on output topics in a thread from offset 0; remembers their CreateTimes."""

    def __init__(self, bootstrap: str, topics: list[str], partitions: int) -> None:
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": 20})
        self.consumer.assign([TopicPartition(t, p, 0) for t in topics for p in range(partitions)])
        self.counts: dict[str, int] = dict.fromkeys(topics, 0)
        self.first_ts = float("inf")
        self.last_ts = 0.0
        self.last_seen = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for msg in self.consumer.consume(10000, timeout=0.1):
                if msg.error():
                    continue
                self.counts[msg.topic()] += 1
                ts = msg.timestamp()[1] / 1000.0
                self.first_ts = min(self.first_ts, ts)
                self.last_ts = max(self.last_ts, ts)
                self.last_seen = time.time()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def wait(self, expected: int, timeout: float, process: subprocess.Popen[Any]) -> None:
        deadline = time.monotonic() + timeout
        while self.total < expected:
            if process.poll() is not None and time.time() - self.last_seen > 2:
                raise RuntimeError(f"process exited ({process.returncode}) after {self.counts}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"saw {self.counts} of {expected} output records in {timeout} s")
            time.sleep(0.02)
        time.sleep(0.3)  # anything beyond the expected count would be a bug: look for it
        self._stop.set()
        self._thread.join()
        self.consumer.close()
        if self.total != expected:
            raise RuntimeError(f"expected {expected} output records, saw {self.counts}")


# ------------------------------------------------------------------------------------------
# BASELINE: a bare aiokafka relay in its own process
# ------------------------------------------------------------------------------------------

async def relay(bootstrap: str, source: str, target: str, n: int, partitions: int,
                batch: int, fetch_wait_ms: int) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka import TopicPartition as TP

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"relay-{uuid.uuid4().hex}",
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                fetch_max_wait_ms=fetch_wait_ms)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")  # as Faust's: acks=-1
    await consumer.start()
    await producer.start()
    consumer.assign([TP(source, p) for p in range(partitions)])
    print("ready", flush=True)
    seen = 0
    while seen < n:
        records = await consumer.getmany(timeout_ms=1000, max_records=batch)
        futures = []
        offsets = {}
        for tp, messages in records.items():
            for m in messages:
                futures.append(await producer.send(target, m.value, m.key, headers=list(m.headers)))
            offsets[tp] = messages[-1].offset + 1
            seen += len(messages)
        if futures:
            await asyncio.gather(*futures)
            await consumer.commit(offsets)
    await producer.stop()
    await consumer.stop()


def run_baseline(bootstrap: str, events: list[tuple[bytes, bytes]], args: argparse.Namespace,
                 tag: str) -> dict[str, float]:
    source, target = f"bench.{tag}.relay-in", f"bench.{tag}.relay-out"
    create_topics(bootstrap, [source, target], args.partitions)
    process = subprocess.Popen(
        [sys.executable, __file__, "--relay", bootstrap, source, target, str(len(events)),
         str(args.partitions), str(args.batch), str(args.fetch_wait_ms)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"relay did not start: {line!r}")
        counter = OutputCounter(bootstrap, [target], args.partitions)
        t0 = produce(bootstrap, source, events, [("eis-codec", b"json")])
        counter.wait(len(events), timeout=120, process=process)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    return {"events_s": len(events) / (counter.last_ts - t0), "outputs": counter.total,
            "wall": counter.last_ts - t0}


# ------------------------------------------------------------------------------------------
# ROUTER: a real `eis worker` process
# ------------------------------------------------------------------------------------------

def free_port() -> int:
    from ops.devbroker import free_port as fp

    return fp()


def wait_healthz(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - localhost
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not 200 within {timeout} s:\n{log.read_text()[-3000:]}")


def expected_outputs(pipeline: Any, events: list[tuple[bytes, bytes]]) -> dict[str, int]:
    """Output records per destination topic, computed with the router's own functions."""
    from agents.routing import read_envelope, route_event

    counts: dict[str, int] = {d.topic: 0 for d in pipeline.destinations.values()}
    topic = pipeline.topics.inbound("api")
    for i, (key, value) in enumerate(events):
        envelope = read_envelope(pipeline, topic, 0, i, key, value, "json", 0)
        for routed in route_event(pipeline, envelope).routed:
            counts[routed.destination.topic] += 1
    return counts


def run_router(bootstrap: str, events: list[tuple[bytes, bytes]], args: argparse.Namespace,
               tag: str, workdir: Path, profile: Path | None = None,
               root: Path = ROOT) -> dict[str, float]:
    from schemas.config import load_pipeline_text
    from schemas.config.topic_plan import topic_plan
    from schemas.kafka import KafkaSettings, ensure_topics

    prefix = f"bench.{tag}"
    text = PIPELINE.format(service=f"bench-{tag}", prefix=prefix, partitions=args.partitions)
    pipeline = load_pipeline_text(text, environ={})
    config = workdir / f"{tag}.yaml"
    config.write_text(text)
    ensure_topics(KafkaSettings(bootstrap=bootstrap), topic_plan(pipeline))
    expected = expected_outputs(pipeline, events)
    port = free_port()
    env = {**os.environ, "EIS_KAFKA_BOOTSTRAP": bootstrap, "EIS_WORKER_WEB_PORT": str(port),
           "EIS_WORKER_DATA_DIR": str(workdir / f"{tag}-data"), "EIS_SESSION_TIMEOUT_S": "2",
           "EIS_REBALANCE_TIMEOUT_S": "2", "EIS_HEARTBEAT_INTERVAL_S": "0.5",
           "EIS_FETCH_MAX_WAIT_MS": str(args.fetch_wait_ms), "EIS_ROUTER_BATCH": str(args.batch)}
    log = workdir / f"{tag}-worker.log"
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    cli = ["--log-level", "WARNING", "worker", "-c", str(config)]
    command += [__file__, NO_SPINNER, *cli] if args.no_spinner else ["-m", "ops.cli", *cli]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthz(f"http://127.0.0.1:{port}/healthz", process, log)
        counter = OutputCounter(bootstrap, list(expected), args.partitions)
        t0 = produce(bootstrap, pipeline.topics.inbound("api"), events, [("eis-codec", b"json")])
        counter.wait(sum(expected.values()), timeout=300, process=process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    elapsed = counter.last_ts - t0
    return {"events_s": len(events) / elapsed, "outputs": counter.total, "wall": elapsed,
            "outputs_s": counter.total / elapsed}


# ------------------------------------------------------------------------------------------

NO_SPINNER = "--as-worker-without-spinner"


def worker_without_spinner(argv: list[str]) -> int:
    """`eis worker` without Faust's startup spinner. At a level of WARNING or above, Faust's
    Worker installs a spinner handler and sets the ROOT logger to DEBUG for the process's
    lifetime, so every `log.debug` in aiokafka/faust/mode builds a LogRecord (aiokafka logs one
    per produced record). What-if measurement only: the fix belongs in agents/worker.py."""
    sys.path.insert(0, os.getcwd())  # the checkout the worker runs from (see --compare)
    import faust.worker

    faust.worker.Worker._setup_spinner_handler = lambda self, logger, level: None
    from ops.cli import main as cli

    return cli(argv)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == NO_SPINNER:
        return worker_without_spinner(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (alternating)")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1000, help="records per batch (both)")
    parser.add_argument("--fetch-wait-ms", type=int, default=100, help="consumer fetch wait (both)")
    parser.add_argument("--no-spinner", action="store_true",
                        help="run the worker without Faust's spinner (root logger stays at WARNING)")
    parser.add_argument("--compare", type=Path, metavar="CHECKOUT",
                        help="also run, alternating, a router worker from another checkout (A/B)")
    parser.add_argument("--profile", type=Path, help="one router round under cProfile → FILE")
    parser.add_argument("--relay", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.relay:
        import uvloop

        b, s, t, n, p, batch, wait = args.relay
        uvloop.run(relay(b, s, t, int(n), int(p), int(batch), int(wait)))
        return 0

    from ops.devbroker import DevBroker

    events = make_events(args.events)
    size = statistics.mean(len(v) for _, v in events)
    print(f"{len(events)} events of {size:.0f} B each, {args.partitions} partition(s), "
          f"batch {args.batch}, fetch wait {args.fetch_wait_ms} ms", flush=True)
    run = uuid.uuid4().hex[:6]
    with DevBroker.start() as broker, tempfile.TemporaryDirectory(prefix="eis-bench-") as tmp:
        workdir = Path(tmp)
        if args.profile:
            result = run_router(broker.bootstrap, events, args, f"{run}-prof", workdir, args.profile)
            print(f"profiled router: {result['events_s']:,.0f} events/s (slowed by cProfile)")
            import pstats

            stats = pstats.Stats(str(args.profile))
            stats.sort_stats("tottime").print_stats(35)
            stats.sort_stats("cumulative").print_stats(45)
            return 0
        base: list[float] = []
        router: list[dict[str, float]] = []
        other: list[float] = []
        for i in range(args.rounds):
            b = run_baseline(broker.bootstrap, events, args, f"{run}-b{i}")
            base.append(b["events_s"])
            print(f"round {i + 1} baseline: {b['events_s']:9,.0f} events/s "
                  f"({b['outputs']:.0f} outputs in {b['wall']:.2f} s)", flush=True)
            if args.compare:
                c = run_router(broker.bootstrap, events, args, f"{run}-c{i}", workdir, root=args.compare)
                other.append(c["events_s"])
                print(f"round {i + 1} router ({args.compare}): {c['events_s']:9,.0f} events/s "
                      f"({c['outputs']:.0f} outputs in {c['wall']:.2f} s)", flush=True)
            r = run_router(broker.bootstrap, events, args, f"{run}-r{i}", workdir)
            router.append(r)
            print(f"round {i + 1} router:   {r['events_s']:9,.0f} events/s "
                  f"({r['outputs']:.0f} outputs in {r['wall']:.2f} s)", flush=True)
    base_s = statistics.median(base)
    router_s = statistics.median(r["events_s"] for r in router)
    per_event = router[0]["outputs"] / len(events)
    print(f"baseline (bare aiokafka relay, 1 output/event): {base_s:,.0f} events/s (median)")
    print(f"router (eis worker, 2 routes, 2 destinations): {router_s:,.0f} events/s (median)")
    print(f"router outbound records per event: {per_event:.3f} "
          f"(+ one pending receipt per outbound record)")
    print(f"router outbound records/s: {router_s * per_event:,.0f}; "
          f"records written/s incl. receipts: {router_s * per_event * 2:,.0f}")
    print(f"router events/s per outbound record of an event: {router_s / per_event:,.0f}")
    if other:
        other_s = statistics.median(other)
        print(f"router from {args.compare}: {other_s:,.0f} events/s (median); "
              f"this checkout / that: {router_s / other_s:.3f}")
    print(f"router/baseline ratio: {router_s / base_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
