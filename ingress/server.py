"""`eis ingress`: serve the ingress app on a port until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal

import uvloop
from aiohttp import web

from ingress.app import create_app
from ingress.body import SERVER_KWARGS
from schemas.config import Pipeline
from schemas.kafka.producer import AsyncProducer
from schemas.kafka.settings import KafkaSettings
from schemas.metrics import process_metrics


async def serve(pipeline: Pipeline, host: str, port: int, stop: asyncio.Event) -> None:
    """Run until `stop` is set; in-flight requests finish (aiohttp's shutdown timeout)."""
    app = create_app(pipeline, AsyncProducer(KafkaSettings.from_env()), process_metrics())
    # auto_decompress off: the body pipeline needs the wire bytes and bounds decoding itself.
    runner = web.AppRunner(app, shutdown_timeout=20.0, **SERVER_KWARGS)  # type: ignore[arg-type]
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"eis ingress: listening on http://{host}:{port}", flush=True)
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
