"""Delivery lookups on the ingress port: forwarded to the worker that owns the event's table
partition (the worker's table-routed view), so users have one address. HTTP is the coupling."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from ingress.responses import error
from ingress.state import STATE


async def delivery_status(request: web.Request) -> web.Response:
    """`GET /v1/events/{event_id}/deliveries`."""
    state = request.app[STATE]
    event_id = request.match_info["event_id"]
    url = f"{state.settings.worker_url}/v1/events/{event_id}/deliveries"
    timeout = aiohttp.ClientTimeout(total=state.pipeline.spec.lookup_timeout / 1000)
    try:
        async with state.lookups.get(url, timeout=timeout) as response:
            body = await response.read()
            return web.Response(body=body, status=response.status, content_type="application/json")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return error(503, "tracking_unavailable", f"the worker did not answer: {type(exc).__name__}",
                     {"Retry-After": "2"})
