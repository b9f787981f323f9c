"""The evaluation context: what an expression can see of one event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Context", "ENVELOPE_FIELDS"]

# `event.<field>` reads these from the envelope (when present and non-null), anything else
# from the payload; see docs/expressions.md "Name resolution".
ENVELOPE_FIELDS = frozenset(
    {
        "id",
        "type",
        "source",
        "time",
        "partition_key",
        "content_type",
        "headers",
        "correlation_id",
        "causation_id",
        "tenant",
        "received_at",
    }
)


@dataclass(frozen=True, slots=True)
class Context:
    """What one evaluation sees.

    payload: the event body (any JSON value), ``$`` in expressions.
    envelope: envelope fields (id, type, source, time, headers, …), read through ``event.x``.
    steps: workflow step results by step id, read through bare names like ``fraud-check.response``.
    variables: extra named values (metric values for alert conditions), read through bare names.
    """

    payload: Any
    envelope: Mapping[str, Any] | None = None
    steps: Mapping[str, Any] | None = None
    variables: Mapping[str, Any] | None = None
