"""A gap is filled only where the broker proved there is no record (agents/fetch_continuity.py)."""

from __future__ import annotations

from agents.fetch_continuity import FetchContinuity

TP = ("in.api", 0)


def test_a_gap_between_two_records_of_one_fetch_sequence_is_proven_record_free() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, None)
    ledger.observe(TP, [4, 5, 9])            # 6..8: a transaction marker, compacted records
    assert ledger.gap_before(TP, 9) == 6
    assert ledger.gap_before(TP, 5) is None


def test_a_gap_across_two_batches_of_one_sequence_is_proven() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, None)
    ledger.observe(TP, [4, 5])
    ledger.observe(TP, [7, 8])
    assert ledger.gap_before(TP, 7) == 6


def test_the_stretch_from_a_seek_target_to_the_first_record_fetched_is_proven() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, 10)
    ledger.observe(TP, [13, 14])
    assert ledger.gap_before(TP, 13) == 10


def test_nothing_before_the_first_record_after_a_reassignment_is_proven() -> None:
    # The position after a reassignment is not known here: the records before it may exist.
    ledger = FetchContinuity()
    ledger.restart(TP, None)
    ledger.observe(TP, [40, 41])
    assert ledger.gap_before(TP, 40) is None


def test_a_seek_forgets_proofs_of_the_sequence_before_it() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, None)
    ledger.observe(TP, [4, 9])
    ledger.restart(TP, 4)
    assert ledger.gap_before(TP, 9) is None


def test_a_stretch_is_record_free_only_if_a_proof_covers_all_of_it() -> None:
    ledger = FetchContinuity()
    ledger.restart(TP, 10)
    ledger.observe(TP, [13, 14])
    assert ledger.record_free(TP, 10, 13) and ledger.record_free(TP, 11, 13)
    assert not ledger.record_free(TP, 9, 13)      # before the seek target: unknown
    assert not ledger.record_free(TP, 10, 14)     # 13 is a record
