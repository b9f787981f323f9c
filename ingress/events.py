"""Turn an accepted request into envelopes: ids, times, type, partition key."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from schemas.config import Pipeline
from schemas.envelope import Envelope
from schemas.expressions import Context, Expression, ExpressionError
from schemas.ids import new_event_id

# The path after the source in `/webhooks/<tenant>/<source>/<extra…>`, set by the ingress only
# (not in KEPT_HEADERS, so a sender's own header of this name is never kept).
EXTRA_PATH_HEADER = "x-eis-path"

# Request headers worth keeping on the envelope: provenance, never credentials.
KEPT_HEADERS = (
    "user-agent", "x-github-event", "x-github-delivery", "x-shopify-topic", "x-shopify-shop-domain",
    "x-shopify-webhook-id", "webhook-id", "x-request-id", "traceparent",
)


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The provenance headers of a request (lower-cased names)."""
    return {name: headers[name] for name in KEPT_HEADERS if name in headers}


def build_envelope(
    pipeline: Pipeline, source: str, data: Any, content_type: str, headers: Mapping[str, str],
    *, event_type: str | None, event_time_ms: int | None, provider_event_id: str | None,
    tenant: str | None = None, key_expression: Expression | None = None, extra_path: str | None = None,
) -> Envelope:
    """A new envelope for one accepted event, keyed by the source's partition-key expression
    (`key_expression` for a provisioned source, else the pipeline's; falling back to the event
    id when the expression yields nothing)."""
    now = time.time_ns() // 1_000_000
    event_id = new_event_id()
    kept = kept_headers(headers)
    envelope = Envelope(
        id=event_id, source=source, time=event_time_ms or now, received_at=now,
        partition_key=event_id, content_type=content_type, data=data, type=event_type,
        headers=(kept | {EXTRA_PATH_HEADER: extra_path}) if extra_path else kept,
        provider_event_id=provider_event_id, tenant=tenant,
        correlation_id=_metadata(data, "correlationId"), causation_id=_metadata(data, "causationId"),
    )
    if key_expression is None:
        key_expression = pipeline.key_expression(source)
    if key_expression is None:
        return envelope
    try:
        key = key_expression.evaluate(Context(payload=data, envelope=envelope.scope_fields()))
    except ExpressionError:
        key = None
    if key is None or key == "":
        return envelope
    return Envelope(**{**envelope.to_dict(), "partition_key": key if isinstance(key, str) else str(key)})


def _metadata(data: Any, name: str) -> str | None:
    if isinstance(data, dict):
        metadata = data.get("metadata")
        value = metadata.get(name) if isinstance(metadata, dict) else None
        if isinstance(value, str):
            return value
    return None
