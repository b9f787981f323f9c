"""`eis connect [DESTINATION…]`: run the connectors of a pipeline in this process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from aiohttp import web

from connectors.runner import DestinationRunner
from connectors.switch import DestinationStateUnavailable, DestinationSwitches
from schemas.config import Pipeline
from schemas.environment import env_int
from schemas.kafka.producer import AsyncProducer
from schemas.kafka.settings import KafkaSettings
from schemas.metrics import Metrics, process_metrics


async def serve_connectors(pipeline: Pipeline, destination_ids: list[str], settings: KafkaSettings,
                           metrics: Metrics, stop: asyncio.Event, metrics_port: int | None) -> None:
    """Run one DestinationRunner per destination until `stop` is set."""
    chosen = [pipeline.destinations[d] for d in destination_ids] if destination_ids \
        else list(pipeline.destinations.values())
    async with AsyncProducer(settings) as producer:
        switches = DestinationSwitches(settings, pipeline.topics.destination_state,
                                       pipeline.spec.kafka.replication_factor, producer, metrics)
        runners = [DestinationRunner(pipeline, d, settings, producer, metrics, switches=switches)
                   for d in chosen]
        # Before any delivery: a destination disabled before a restart stays disabled.
        await switches.start()
        site = await _metrics_site(metrics, metrics_port) if metrics_port else None
        tasks = [asyncio.create_task(r.run(), name=r.destination.id) for r in runners]
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for runner in runners:
                runner.stop()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            stopper.cancel()
            await switches.stop()
            if site is not None:
                await site.cleanup()
        for result in results:
            if isinstance(result, BaseException):
                raise result


async def _metrics_site(metrics: Metrics, port: int) -> web.AppRunner:
    async def metrics_view(request: web.Request) -> web.Response:
        body, content_type = metrics.exposition()
        return web.Response(body=body, content_type=content_type.split(";")[0])

    async def health_view(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/healthz", health_view)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, os.environ.get("EIS_CONNECT_HOST", "127.0.0.1"), port).start()
    return runner


def run_connectors(pipeline: Pipeline, destination_ids: list[str]) -> int:
    """Entry point of `eis connect`: SIGTERM/SIGINT stop gracefully."""
    unknown = [d for d in destination_ids if d not in pipeline.destinations]
    if unknown:
        print(f"eis connect: unknown destination(s) {', '.join(unknown)}; "
              f"known: {', '.join(pipeline.destinations)}", file=sys.stderr)
        return 2
    import uvloop

    port = env_int("EIS_CONNECT_METRICS_PORT", 9464, low=0, high=65535) or None  # 0: no metrics

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve_connectors(pipeline, destination_ids, KafkaSettings.from_env(),
                               process_metrics(), stop, port)

    try:
        uvloop.run(main())
    except DestinationStateUnavailable as exc:
        print(f"eis connect: {exc}", file=sys.stderr)
        return 1
    return 0
