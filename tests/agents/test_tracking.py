"""Delivery status: receipts fold into the getDeliveryStatus shape."""

from __future__ import annotations

from agents.tracking import delivery_status, fold_receipt
from schemas.records import Receipt


def receipt(attempt: int, outcome: str, destination: str = "r.d", **kw: object) -> Receipt:
    return Receipt(event_id="evt_1", destination=destination, target="https://h/x", attempt=attempt,
                   outcome=outcome, attempt_ms=3.0, latency_ms=120.4, timestamp=1_700_000_000_000,
                   idempotency_key=f"evt_1:{destination}", **kw)  # type: ignore[arg-type]


def fold(*receipts: Receipt) -> list[dict]:
    state = None
    for r in receipts:
        state = fold_receipt(state, r)
    assert state is not None
    return delivery_status(state)


def test_a_routed_event_is_pending_until_attempted() -> None:
    (entry,) = fold(receipt(0, "pending"))
    assert (entry["status"], entry["attempts"]) == ("pending", 0)


def test_status_shows_attempts_latency_and_timestamp_of_the_last_attempt() -> None:
    (entry,) = fold(receipt(0, "pending"), receipt(1, "retrying", status_code=500, error="HTTP 500"),
                    receipt(2, "delivered", status_code=200))
    assert entry == {
        "destination": "https://h/x", "destinationId": "r.d", "status": "delivered", "attempts": 2,
        "latency": 120, "timestamp": "2023-11-14T22:13:20.000Z", "statusCode": 200, "lastError": None,
    }


def test_a_repeated_older_attempt_after_a_crash_does_not_overwrite_a_final_status() -> None:
    (entry,) = fold(receipt(1, "retrying"), receipt(2, "delivered"), receipt(1, "delivered"))
    assert (entry["status"], entry["attempts"]) == ("delivered", 2)


def test_each_destination_is_tracked_separately() -> None:
    entries = fold(receipt(1, "delivered", "r.a"), receipt(3, "dead_lettered", "r.b", error="HTTP 500"))
    assert [(e["destinationId"], e["status"]) for e in entries] == [("r.a", "delivered"), ("r.b", "dead-lettered")]


def test_folding_does_not_modify_the_previous_state() -> None:
    first = fold_receipt(None, receipt(1, "retrying"))
    fold_receipt(first, receipt(2, "delivered"))
    assert first["destinations"]["r.d"]["status"] == "retrying"
