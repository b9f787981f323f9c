"""A process's own writes to a state topic, read back late, never undo a later one."""

from __future__ import annotations

from schemas.kafka.own_writes import OwnWrites


def test_a_write_read_back_is_recognised_with_every_earlier_one_of_its_key() -> None:
    own = OwnWrites()
    own.wrote("s1", b"v1")
    own.wrote("s1", None)                 # a tombstone after it
    assert own.read_back("s1", b"v1") and own.pending("s1")
    assert own.read_back("s1", None) and not own.pending("s1")


def test_a_record_we_did_not_write_is_not_ours() -> None:
    own = OwnWrites()
    own.wrote("s1", b"v1")
    assert not own.read_back("s1", b"someone else") and own.pending("s1")
    assert not own.read_back("s2", b"v1")


def test_a_failed_write_is_no_longer_pending() -> None:
    own = OwnWrites()
    own.wrote("s1", b"v1")
    own.not_written("s1", b"v1")
    assert not own.pending("s1") and not own.read_back("s1", b"v1")
