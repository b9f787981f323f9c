"""`eis ingress`: serve the ingress app on a port until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal

import uvloop

from ingress.app import create_app
from ingress.listener import start_listener
from ingress.settings import IngressSettings
from schemas.config import Pipeline
from schemas.kafka.producer import AsyncProducer
from schemas.kafka.settings import KafkaSettings
from schemas.metrics import process_metrics


async def serve(pipeline: Pipeline, host: str, port: int, stop: asyncio.Event) -> None:
    """Run until `stop` is set; in-flight requests finish (aiohttp's shutdown timeout)."""
    settings = IngressSettings.from_env()
    kafka = KafkaSettings.from_env()
    app = create_app(pipeline, AsyncProducer(kafka), process_metrics(), settings, kafka=kafka)
    # auto_decompress off (the body pipeline needs the wire bytes), parser limits, TLS and the
    # connection cap: ingress/listener.py.
    runner, site = await start_listener(app, settings, host, port)
    print(f"eis ingress: listening on {site.name}", flush=True)
    await stop.wait()
    await runner.cleanup()


def run_ingress(pipeline: Pipeline, host: str, port: int) -> None:
    """Entry point of `eis ingress`."""
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(pipeline, host, port, stop)

    uvloop.run(main())
