"""A gap is filled only where the broker proved there is no record (agents/fetch_continuity.py)."""

from __future__ import annotations

from agents.fetch_continuity import FetchContinuity

TP = ("in.api", 0)
OTHER = ("in.api", 1)


def test_a_gap_between_two_records_of_one_fetch_sequence_is_proven_record_free() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, None)
    ledger.observe(TP, [4, 5, 9])            # 6..8: a transaction marker, compacted records
    assert ledger.take_gap_before(TP, 9) == 6
    assert ledger.take_gap_before(TP, 5) is None


def test_a_gap_across_two_batches_of_one_sequence_is_proven() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, None)
    ledger.observe(TP, [4, 5])
    ledger.observe(TP, [7, 8])
    assert ledger.take_gap_before(TP, 7) == 6


def test_the_stretch_from_a_seek_target_to_the_first_record_fetched_is_proven() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, 10)
    ledger.observe(TP, [13, 14])
    assert ledger.take_gap_before(TP, 13) == 10


def test_nothing_before_the_first_record_after_a_reassignment_is_proven() -> None:
    # The position after a reassignment is not known here: the records before it may exist.
    ledger = FetchContinuity()
    ledger.restart(TP, None)
    ledger.observe(TP, [40, 41])
    assert ledger.take_gap_before(TP, 40) is None


def test_a_seek_forgets_proofs_of_the_sequence_before_it() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, None)
    ledger.observe(TP, [4, 9])
    ledger.restart(TP, 4)
    assert ledger.take_gap_before(TP, 9) is None


def test_a_proof_is_used_once() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, 0)
    ledger.observe(TP, [2])
    assert ledger.take_gap_before(TP, 2) == 0
    assert ledger.take_gap_before(TP, 2) is None


def test_a_batch_fetched_before_a_seek_is_stale_for_that_partition_only() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, None)
    ledger.restart(OTHER, None)
    fetched_under = ledger.snapshot([TP, OTHER])
    ledger.restart(TP, 0)
    assert not ledger.is_current(TP, fetched_under)
    assert ledger.is_current(OTHER, fetched_under)
    assert ledger.is_current(TP, ledger.snapshot([TP]))
