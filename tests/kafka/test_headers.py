"""One header reader for every client's shape of record headers."""

from __future__ import annotations

from schemas import headers as h


def test_a_header_is_read_from_pairs_as_librdkafka_hands_them() -> None:
    pairs = [("other", b"x"), (h.CODEC, b"avro-v1")]
    assert h.header_value(pairs, h.CODEC) == "avro-v1"


def test_a_header_is_read_from_a_dict_as_faust_may_hand_it() -> None:
    assert h.header_value({h.CODEC: b"json"}, h.CODEC) == "json"
    assert h.header_value({h.CODEC: "json"}, h.CODEC) == "json"


def test_an_absent_null_or_empty_header_reads_as_none() -> None:
    assert h.header_value(None, h.CODEC) is None
    assert h.header_value([("other", b"x")], h.CODEC) is None
    assert h.header_value([(h.CODEC, None)], h.CODEC) is None
    assert h.header_value([(h.CODEC, b"")], h.CODEC) is None
