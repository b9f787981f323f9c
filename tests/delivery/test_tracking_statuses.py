"""Delivery statuses: pending, delivered, retrying, failed, dead-lettered, circuit-open."""

from __future__ import annotations

from agents.tracking import STATUSES, delivery_status, fold_receipt
from schemas.records import Receipt


def receipt(attempt: int, outcome: str) -> Receipt:
    return Receipt(event_id="evt_1", destination="r.d", target="https://h/x", attempt=attempt,
                   outcome=outcome, attempt_ms=1.0, latency_ms=5.0, timestamp=1_700_000_000_000,  # type: ignore[arg-type]
                   idempotency_key="evt_1:r.d")


def status(*receipts: Receipt) -> tuple[str, int]:
    state = None
    for r in receipts:
        state = fold_receipt(state, r)
    assert state is not None
    (entry,) = delivery_status(state)
    return entry["status"], entry["attempts"]


def test_every_status_is_known() -> None:
    assert set(STATUSES) == {"pending", "delivered", "retrying", "failed", "dead-lettered", "circuit-open"}


def test_an_event_waiting_for_an_open_circuit_shows_circuit_open_then_its_outcome() -> None:
    assert status(receipt(0, "pending"), receipt(0, "circuit_open")) == ("circuit-open", 0)
    assert status(receipt(1, "retrying"), receipt(1, "circuit_open")) == ("circuit-open", 1)
    assert status(receipt(1, "retrying"), receipt(1, "circuit_open"), receipt(2, "delivered")) == ("delivered", 2)


def test_a_circuit_open_receipt_never_replaces_a_final_word() -> None:
    assert status(receipt(2, "delivered"), receipt(1, "circuit_open")) == ("delivered", 2)
    assert status(receipt(1, "dead_lettered"), receipt(1, "circuit_open")) == ("dead-lettered", 1)


def test_an_at_most_once_failure_is_failed() -> None:
    assert status(receipt(0, "pending"), receipt(1, "failed")) == ("failed", 1)
