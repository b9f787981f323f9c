"""Per-source checks that run before a webhook's body is read: mTLS, IP lists, rate limit.

Cheapest and least revealing first: a request refused here costs no body read, no signature
check and no token (a denied address does not drain the bucket of allowed senders).
"""

from __future__ import annotations

from aiohttp import hdrs, web

from ingress.responses import error
from ingress.state import IngressState, WebhookSource
from ingress.tls import has_client_certificate


def refuse_early(request: web.Request, state: IngressState, source: WebhookSource) -> web.Response | None:
    """The refusal to answer, or None when the request may proceed."""
    source_id = source.spec.id
    if source.spec.mtls and not has_client_certificate(request):
        state.metrics.rejected.labels(source_id, "client_certificate_required").inc()
        return _closing(error(403, "client_certificate_required",
                              "this source requires a client certificate issued by the trusted CA"))
    rules = source.ip_rules
    if rules is not None:
        client = rules.client_address(request.remote, request.headers.getall(hdrs.X_FORWARDED_FOR, []))
        if not rules.allows(client):
            state.metrics.rejected.labels(source_id, "ip_denied").inc()
            return _closing(error(403, "ip_denied", f"requests from {client or 'an unknown address'} "
                                  "are not accepted for this source"))
    limiter = source.limiter
    if limiter is not None:
        retry_after = limiter.check()
        if retry_after is not None:
            state.metrics.rejected.labels(source_id, "rate_limited").inc()
            return error(429, "rate_limited", f"over {limiter.rate:g} requests/s for this source",
                         {"Retry-After": str(retry_after)})
    return None


def _closing(response: web.Response) -> web.Response:
    # The body was not read: closing spares aiohttp draining it for a sender we refused.
    response.force_close()
    return response
