"""Routing: conditions select routes, transforms shape payloads, each destination gets its record."""

from __future__ import annotations

import orjson
import pytest

from agents.routing import read_envelope, route_event
from schemas import headers as h
from schemas.config import load_pipeline_text
from schemas.envelope import CODEC_AVRO, CODEC_JSON, Envelope, decode, encode
from schemas.errors import DecodeError

PIPELINE = """
service: s
webhooks: [{id: stripe, provider: stripe, verification: {type: none}}]
routing:
  - name: paid
    condition: event.type LIKE '%succeeded'
    transform:
      mapping: {id: $.data.object.id, amount: $.data.object.amount / 100}
    destinations:
      - {id: api, type: http, url: "http://h/a"}
      - {id: big, type: http, url: "http://h/b", condition: $.data.object.amount > 5000}
      - {id: raw, type: http, url: "http://h/c", transform: {kind: "'raw'", type: "=event.type"}}
  - name: everything
    destinations: [{type: http, url: "http://h/all"}]
  - name: broken
    condition: event.type == 'boom'
    transform: {n: "regex_match($.s, '(a+)+$')"}
    destinations: [{id: x, type: http, url: "http://h/x"}]
"""


def event(event_type: str, amount: int = 9999, **data: object) -> Envelope:
    return Envelope(id="evt_1", source="stripe", time=1, received_at=1, partition_key="pi_1",
                    content_type="application/json", type=event_type,
                    data={"data": {"object": {"id": "pi_1", "amount": amount}}, **data})


@pytest.fixture(scope="module")
def pipeline():
    return load_pipeline_text(PIPELINE, environ={})


def test_a_matching_route_fans_out_to_each_destination_with_its_transform(pipeline) -> None:
    result = route_event(pipeline, event("payment_intent.succeeded"))
    got = {r.destination.id: r.envelope.data for r in result.routed}
    assert got == {
        "paid.api": {"id": "pi_1", "amount": 99.99},
        "paid.big": {"id": "pi_1", "amount": 99.99},
        "paid.raw": {"kind": "raw", "type": "payment_intent.succeeded"},
        "everything.http-0": event("x").data,
    }
    assert result.matched_routes == ["paid", "everything"]


def test_a_destination_condition_filters_that_destination_only(pipeline) -> None:
    result = route_event(pipeline, event("payment_intent.succeeded", amount=100))
    assert [r.destination.id for r in result.routed] == ["paid.api", "paid.raw", "everything.http-0"]


def test_a_route_without_condition_matches_every_event(pipeline) -> None:
    result = route_event(pipeline, event("charge.refunded"))
    assert [r.destination.id for r in result.routed] == ["everything.http-0"]


def test_routed_records_keep_identity_and_say_where_they_go(pipeline) -> None:
    routed = route_event(pipeline, event("payment_intent.succeeded")).routed[0]
    assert routed.envelope.id == "evt_1" and routed.envelope.partition_key == "pi_1"
    assert routed.envelope.route == "paid"
    assert dict(routed.headers)[h.DESTINATION] == b"paid.api"
    assert decode(routed.value, CODEC_JSON) == routed.envelope


def test_a_transform_that_fails_fails_only_its_destination(pipeline) -> None:
    result = route_event(pipeline, event("boom", s="a" * 50))
    assert [f.destination.id for f in result.failures] == ["broken.x"]
    assert result.failures[0].stage == "transform"
    assert [r.destination.id for r in result.routed] == ["everything.http-0"]


def test_avro_encoded_outputs_decode_to_the_same_envelope(pipeline) -> None:
    routed = route_event(pipeline, event("payment_intent.succeeded"), CODEC_AVRO).routed[0]
    assert decode(routed.value, CODEC_AVRO) == routed.envelope


def test_a_direct_produced_json_record_is_wrapped_with_a_position_derived_id(pipeline) -> None:
    value = orjson.dumps({"type": "reading", "deviceId": "d1"})
    first = read_envelope(pipeline, "eis.in.devices", 2, 40, b"d1", value, None, 1000)
    again = read_envelope(pipeline, "eis.in.devices", 2, 40, b"d1", value, None, 1000)
    other = read_envelope(pipeline, "eis.in.devices", 2, 41, b"d1", value, None, 1000)
    assert first.id == again.id != other.id
    assert (first.source, first.type, first.partition_key) == ("devices", "reading", "d1")


@pytest.mark.parametrize("value", [b"\xff\xfe", b"{not json", None])
def test_undecodable_inbound_records_raise_a_decode_error(pipeline, value) -> None:
    with pytest.raises(DecodeError):
        read_envelope(pipeline, "eis.in.x", 0, 0, None, value, None, 0)


def test_an_envelope_with_a_codec_header_must_be_a_whole_envelope(pipeline) -> None:
    with pytest.raises(DecodeError, match="missing field"):
        read_envelope(pipeline, "eis.in.x", 0, 0, None, b'{"id": "evt_1"}', CODEC_JSON, 0)
    good = encode(event("t"), CODEC_JSON)
    assert read_envelope(pipeline, "eis.in.x", 0, 0, None, good, CODEC_JSON, 0) == event("t")
