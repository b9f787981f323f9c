"""The Faust application of one pipeline: its topics, tables and agents, wired around pure functions."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, cast

import faust
import orjson
from aiokafka.errors import MessageSizeTooLargeError
from faust.exceptions import ProducerSendError, SameNode
from faust.types import EventT

from agents.faust_consumer import register_transport
from agents.flow_control import WorkerApp
from agents.routing import RoutingResult, read_envelope, route_event
from agents.settings import WorkerSettings
from agents.tables import declare_tables
from agents.tracking import delivery_status, fold_receipt
from schemas import headers as h
from schemas.config import Pipeline
from schemas.envelope import CODEC_AVRO, CODEC_JSON
from schemas.errors import DecodeError
from schemas.ids import idempotency_key
from schemas.metrics import Metrics, process_metrics
from schemas.records import DeadLetter, Receipt

log = logging.getLogger("eis.worker")

# What a dead-letter record keeps of an original too large to park whole.
TRUNCATED_ORIGINAL_BYTES = 64 * 1024


def create_app(pipeline: Pipeline, settings: WorkerSettings, metrics: Metrics | None = None) -> faust.App:
    """Build the worker app: router agent, tracker agent and table, lookup and metrics pages."""
    metrics = metrics or process_metrics()
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    scheme = register_transport(settings.fetch_max_wait_ms)
    app = WorkerApp(
        f"eis-worker-{pipeline.service}",
        broker=f"{scheme}://{settings.bootstrap}",
        store="memory://",
        datadir=settings.data_dir,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        canonical_url=f"http://{settings.web_host}:{settings.web_port}",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=pipeline.partitions,
        topic_replication_factor=pipeline.spec.kafka.replication_factor,
        broker_session_timeout=settings.session_timeout_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_request_timeout=max(30.0, settings.session_timeout_s * 2),
        broker_commit_interval=settings.commit_interval_s,
        broker_commit_every=settings.commit_every_events,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=True,
        # Faust acks an event when the agent moves past it; our agents await their outputs first.
        processing_guarantee="at_least_once",
        # The check guards a RocksDB file left behind by a deleted topic. Tables live in memory
        # here, so "persisted" is what this process itself read, and the only way it can exceed
        # a reported high watermark is a broker reporting that watermark late (seen under
        # rebalance storms): crashing the worker then turns a stale reading into an outage.
        recovery_consistency_check=False,
    )
    codec = CODEC_AVRO if pipeline.spec.kafka.encoding == "avro" else CODEC_JSON
    tables = declare_tables(app, pipeline)
    inbound = app.topic(*[pipeline.topics.inbound(s) for s in pipeline.source_ids],
                        key_type=bytes, value_type=bytes)
    receipts = app.topic(pipeline.topics.receipts, key_type=bytes, value_type=bytes)

    receipts_topic = pipeline.topics.receipts
    # Per destination, computed once: its description and its metric's labelled child.
    targets = {d.id: d.target for d in pipeline.destinations.values()}
    routed_counters = {d.id: metrics.routed.labels(d.route, d.id) for d in pipeline.destinations.values()}

    async def produce_outputs(message: Any, result: RoutingResult) -> list[Any]:
        futures = []
        now = int(time.time() * 1000)
        envelope = result.envelope
        event_key = envelope.id.encode()
        latency_ms = float(now - envelope.received_at)
        send = app.producer.send
        for routed in result.routed:
            destination = routed.destination
            try:
                futures.append(await send(destination.topic, message.key, routed.value, None, None, routed.headers))
            except ProducerSendError as exc:
                if not isinstance(exc.__cause__, MessageSizeTooLargeError):
                    raise
                # A poison output: parked on first sight, or the partition would stop here.
                metrics.routing_failures.labels(destination.id, "produce").inc()
                futures.append(await park(
                    message, destination.dead_letter_topic, destination.id, "produce",
                    f"routed record too large for {destination.topic}: {len(routed.value)} bytes "
                    f"({exc.__cause__})", envelope.id))
                continue
            pending = Receipt(
                event_id=envelope.id, destination=destination.id, target=targets[destination.id],
                attempt=0, outcome="pending", attempt_ms=0.0, latency_ms=latency_ms,
                timestamp=now, idempotency_key=idempotency_key(envelope.id, destination.id),
            )
            futures.append(await send(receipts_topic, event_key, pending.encode(), None, None, None))
            routed_counters[destination.id].inc()
        for failure in result.failures:
            metrics.routing_failures.labels(failure.destination.id, failure.stage).inc()
            futures.append(await park(message, failure.destination.dead_letter_topic, failure.destination.id,
                                      failure.stage, failure.error, envelope.id))
        if not result.matched_routes:
            metrics.unrouted.labels(envelope.source).inc()
        return futures

    async def park(message: Any, topic: str, destination: str, stage: str, error: str,
                   event_id: str | None) -> Any:
        """Send `message`'s dead-letter record to `topic`; the send's future."""
        try:
            return await app.producer.send(
                topic, message.key, _dead_letter(message, destination, stage, error, event_id), None, None, None)
        except ProducerSendError as exc:
            if not isinstance(exc.__cause__, MessageSizeTooLargeError):
                raise
            # The original does not fit beside its metadata: park what fits and say where the
            # whole original is (its topic, partition and offset, while retention keeps it).
            return await app.producer.send(topic, message.key, _dead_letter(
                message, destination, stage, f"{error}; original truncated to {TRUNCATED_ORIGINAL_BYTES} "
                f"bytes (whole: {message.topic}/{message.partition}/{message.offset})", event_id,
                truncate=TRUNCATED_ORIGINAL_BYTES), None, None, None)

    async def reject(message: Any, error: str) -> Any:
        metrics.invalid.labels(message.topic).inc()
        return await park(message, pipeline.topics.invalid, "*", "decode", error, None)

    @app.agent(inbound, name="eis-router")
    async def router(stream: Any) -> None:  # faust.Stream: take_events is not on StreamT
        # Batches of events; every output of a batch is acknowledged before the next batch is
        # taken, so Faust's acks (on moving past an event) never run ahead of our writes.
        async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
            # take_events acks a batch in a `finally`, so also when this task is cancelled
            # mid-batch (SIGTERM): events whose outputs were never sent would be committed.
            # An extra reference, released only once the outputs are acknowledged, keeps that
            # ack from being the final one: a cancelled batch stays uncommitted and is replayed.
            for event in events:
                event.message.incref()
            futures: list[Any] = []
            for event in events:
                message = event.message
                try:
                    envelope = read_envelope(
                        pipeline, message.topic, message.partition, message.offset, message.key,
                        message.value, h.header_value(message.headers, h.CODEC),
                        int((message.timestamp or time.time()) * 1000))
                except DecodeError as exc:
                    futures.append(await reject(message, str(exc)))
                    continue
                futures.extend(await produce_outputs(message, route_event(pipeline, envelope, codec)))
            if futures:
                await asyncio.gather(*futures)
            for event in events:
                await stream.ack(event)

    @app.agent(receipts, name="eis-tracker")
    async def tracker(stream: Any) -> None:
        deliveries = tables.deliveries
        async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
            for event in events:
                _track(deliveries, event)

    @app.page("/v1/events/{event_id}/deliveries")
    async def deliveries_view(web: Any, request: Any, event_id: str) -> Any:
        # Answered by the worker that owns the event's table partition (others proxy to it).
        # Faust's table_route needs the producer to know the changelog's partitions, which it
        # only learns once it wrote there: fetch that metadata first (a no-op once known).
        deliveries = tables.deliveries
        await cast(Any, app.producer)._ensure_producer().partitions_for(deliveries.changelog_topic.get_topic_name())
        try:
            return await app.router.route_req(deliveries.name, event_id, web, request)
        except SameNode:
            pass
        state = deliveries.get(event_id.encode())
        if state is None:
            return web.json({"code": "unknown_event", "detail": f"no deliveries known for event {event_id}"},
                            status=404)
        return web.json(delivery_status(orjson.loads(state)))

    @app.page("/metrics")
    async def metrics_view(web: Any, request: Any) -> Any:
        body, content_type = metrics.exposition()
        return web.bytes(body, content_type=content_type.split(";")[0])

    @app.page("/healthz")
    async def health_view(web: Any, request: Any) -> Any:
        # Ready once this worker holds partitions and no rebalance is under way: before that,
        # table lookups cannot be routed.
        if app.rebalancing or not app.consumer.assignment():
            return web.json({"status": "joining"}, status=503)
        return web.json({"status": "ok"})

    del router, tracker, deliveries_view, metrics_view, health_view  # registered on the app
    return app


def _track(deliveries: Any, event: EventT[Any]) -> None:
    """Fold one receipt into the table. Written through `send_changelog` with the receipt's
    own partition because batches from take_events have no single current event."""
    message = event.message
    try:
        receipt = Receipt.decode(message.value or b"")
    except DecodeError:
        log.warning("skipping undecodable receipt at %s/%s/%s", message.topic, message.partition, message.offset)
        return
    key = message.key or receipt.event_id.encode()
    previous = deliveries.data.get(key)
    state = orjson.dumps(fold_receipt(orjson.loads(previous) if previous else None, receipt))
    deliveries.send_changelog(message.partition, key, state)
    deliveries.data[key] = state


def _dead_letter(message: Any, destination: str, stage: str, error: str, event_id: str | None,
                 truncate: int | None = None) -> bytes:
    now = int(time.time() * 1000)
    headers = {k: (v if isinstance(v, bytes) else str(v).encode()) for k, v in
               (message.headers.items() if isinstance(message.headers, dict) else message.headers or ())}
    return DeadLetter(
        destination=destination, stage=stage, reason=f"{stage}_failed", attempts=0,
        dead_lettered_at=now, origin_topic=message.topic, origin_partition=message.partition,
        origin_offset=message.offset, original_value=(message.value or b"")[:truncate],
        original_key=message.key, original_headers=headers, event_id=event_id,
        first_error=error, last_error=error,
    ).encode()
