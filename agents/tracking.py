"""Fold delivery receipts into per-event, per-destination status (the delivery lookup's answer).

Pure functions: the tracker agent stores their output in a changelogged table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.records import Receipt

# Which receipt wins when two speak of the same attempt: a final word beats a provisional one.
# `circuit_open` carries the attempts made so far: it outranks that attempt's `retrying`.
_RANK = {"pending": 0, "retrying": 1, "circuit_open": 2, "failed": 3, "delivered": 4, "dead_lettered": 4}
_STATUS = {
    "pending": "pending", "retrying": "retrying", "circuit_open": "circuit-open", "failed": "failed",
    "delivered": "delivered", "dead_lettered": "dead-lettered",
}
STATUSES = tuple(_STATUS.values())  # every status the delivery lookup can show


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fold_receipt(state: dict[str, Any] | None, receipt: Receipt) -> dict[str, Any]:
    """Return the event's new status after one receipt; `state` is not modified.

    Receipts of one event share a partition, so they arrive in order; a connector restarted
    after a crash may repeat attempts, so the receipt with the highest (attempt, rank) wins and
    a terminal status is never replaced by an older attempt's word.
    """
    destinations = dict(state["destinations"]) if state else {}
    current = destinations.get(receipt.destination)
    incoming = (receipt.attempt, _RANK[receipt.outcome])
    if current is not None and (current["attempts"], _RANK[current["outcome"]]) >= incoming:
        return {"destinations": destinations}
    destinations[receipt.destination] = {
        "destination": receipt.target,
        "destinationId": receipt.destination,
        "status": _STATUS[receipt.outcome],
        "outcome": receipt.outcome,
        "attempts": receipt.attempt,
        "latency": round(receipt.latency_ms),
        "timestamp": _iso(receipt.timestamp),
        "statusCode": receipt.status_code,
        "lastError": receipt.error,
    }
    return {"destinations": destinations}


def delivery_status(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The `getDeliveryStatus` shape: one entry per destination, in first-seen order."""
    return [
        {key: value for key, value in entry.items() if key != "outcome"}
        for entry in state["destinations"].values()
    ]
