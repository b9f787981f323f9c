"""`eis demo-sink`: a receiver for trying EIS out — prints each request it gets and answers 200."""

from __future__ import annotations

import asyncio

from aiohttp import web


async def _receive(request: web.Request) -> web.Response:
    body = await request.read()
    key = request.headers.get("Idempotency-Key", "-")
    print(f"demo-sink: {request.method} {request.path_qs} idempotency-key={key}\n  {body.decode(errors='replace')}",
          flush=True)
    return web.json_response({"received": True})


async def run_demo_sink(port: int, host: str = "127.0.0.1") -> None:
    """Serve on `host`:`port` until cancelled."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"demo-sink: listening on http://{host}:{port}/", flush=True)
    await asyncio.Event().wait()
