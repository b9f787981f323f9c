"""parse_body: each content type, the mismatch and safety refusals, the limits."""

from __future__ import annotations

import pytest

from ingress.body import BodyError, BodyLimits, parse_body
from ingress.body.parsing import parse_body_typed
from tests.abuse_helpers import deep_json

LIMITS = BodyLimits()


def _error(body: bytes, content_type: str | None, limits: BodyLimits = LIMITS) -> BodyError:
    with pytest.raises(BodyError) as info:
        parse_body(body, content_type, limits)
    return info.value


def test_json_parses() -> None:
    assert parse_body(b'{"a": [1, 2.5, null, true]}', "application/json", LIMITS) == {
        "a": [1, 2.5, None, True]
    }


def test_json_suffix_type_parses() -> None:
    assert parse_body(b'{"a": 1}', "application/cloudevents+json; charset=UTF-8", LIMITS) == {
        "a": 1
    }


def test_json_in_another_charset_is_decoded_first() -> None:
    body = '{"name": "Zoë"}'.encode("utf-16")
    assert parse_body(body, "application/json; charset=utf-16", LIMITS) == {"name": "Zoë"}


def test_json_with_utf8_bom_parses() -> None:
    assert parse_body(b'\xef\xbb\xbf{"a": 1}', "application/json", LIMITS) == {"a": 1}


def test_invalid_json_is_400_naming_the_byte() -> None:
    err = _error(b'{"amount": 10,, "x": 1}', "application/json")
    assert (err.status, err.code) == (400, "invalid_json")
    assert "at byte 14" in err.detail


def test_invalid_json_position_counts_bytes_not_characters() -> None:
    err = _error('{"é€": 1,,}'.encode(), "application/json")
    assert "at byte 12" in err.detail


def test_empty_body_with_json_type_is_400() -> None:
    err = _error(b"", "application/json")
    assert (err.status, err.code) == (400, "invalid_json")


def test_json_nested_100000_deep_is_400_not_recursion_error() -> None:
    err = _error(deep_json(100_000), "application/json")
    assert (err.status, err.code) == (400, "json_too_deep")


def test_json_deeper_than_limit_is_400() -> None:
    err = _error(b"[" * 65 + b"]" * 65, "application/json")
    assert (err.status, err.code) == (400, "json_too_deep")


def test_json_at_the_depth_limit_parses() -> None:
    body = b'{"a":' * 63 + b'["[[[[", "\\"[[["]' + b"}" * 63
    assert parse_body(body, "application/json", LIMITS) is not None


def test_json_type_with_xml_body_is_content_type_mismatch() -> None:
    err = _error(b"<order><id>1</id></order>", "application/json")
    assert (err.status, err.code) == (400, "content_type_mismatch")


def test_xml_type_with_json_body_is_content_type_mismatch() -> None:
    err = _error(b'  {"a": 1}', "application/xml")
    assert (err.status, err.code) == (400, "content_type_mismatch")


def test_xml_parses_to_dict_with_attributes_text_and_repeated_children() -> None:
    body = b'<?xml version="1.0"?><order id="7"><item>a</item><item sku="x">b</item><note/></order>'
    assert parse_body(body, "text/xml", LIMITS) == {
        "order": {"@id": "7", "item": ["a", {"@sku": "x", "#text": "b"}], "note": None}
    }


def test_xml_suffix_type_parses() -> None:
    assert parse_body(b"<feed><t>x</t></feed>", "application/atom+xml", LIMITS) == {
        "feed": {"t": "x"}
    }


def test_xml_with_entity_declaration_is_400() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    )
    err = _error(laughs, "application/xml")
    assert (err.status, err.code) == (400, "invalid_xml")


def test_xml_with_external_entity_is_400() -> None:
    xxe = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    err = _error(xxe, "application/xml")
    assert (err.status, err.code) == (400, "invalid_xml")


def test_xml_with_bare_doctype_is_400() -> None:
    err = _error(b'<!DOCTYPE r SYSTEM "http://example.com/r.dtd"><r/>', "text/xml")
    assert (err.status, err.code) == (400, "invalid_xml")


def test_malformed_xml_is_400_naming_the_position() -> None:
    err = _error(b"<a><b></a>", "application/xml")
    assert err.code == "invalid_xml" and "line 1" in err.detail


def test_xml_deeper_than_limit_is_400() -> None:
    err = _error(b"<a>" * 65 + b"</a>" * 65, "application/xml")
    assert (err.status, err.code) == (400, "xml_too_deep")


def test_form_parses_with_repeated_keys_as_list() -> None:
    body = b"From=%2B15551234&Body=hello+world&MediaUrl=a&MediaUrl=b&Empty="
    assert parse_body(body, "application/x-www-form-urlencoded", LIMITS) == {
        "From": "+15551234",
        "Body": "hello world",
        "MediaUrl": ["a", "b"],
        "Empty": "",
    }


def test_form_with_too_many_fields_is_413() -> None:
    body = b"&".join(b"k%d=v" % i for i in range(11))
    err = _error(body, "application/x-www-form-urlencoded", BodyLimits(max_form_fields=10))
    assert (err.status, err.code) == (413, "too_many_form_fields")


def test_form_type_with_json_body_is_content_type_mismatch() -> None:
    err = _error(b'{"a": 1}', "application/x-www-form-urlencoded")
    assert err.code == "content_type_mismatch"


def _multipart(*parts: bytes, boundary: bytes = b"XyZ") -> bytes:
    return b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts) + (
        b"--" + boundary + b"--\r\n"
    )


def test_multipart_parses_fields_and_files() -> None:
    body = _multipart(
        b'Content-Disposition: form-data; name="title"\r\n\r\nhi there',
        b'Content-Disposition: form-data; name="tag"\r\n\r\na',
        b'Content-Disposition: form-data; name="tag"\r\n\r\nb',
        b'Content-Disposition: form-data; name="doc"; filename="r\\"1.bin"\r\n'
        b"Content-Type: application/pdf\r\n\r\n\x00\r\n\x01",
    )
    assert parse_body(body, 'multipart/form-data; boundary="XyZ"', LIMITS) == {
        "title": "hi there",
        "tag": ["a", "b"],
        "doc": {"filename": 'r"1.bin', "content_type": "application/pdf", "size": 4,
                "base64": "AA0KAQ=="},
    }


def test_multipart_with_too_many_parts_is_413() -> None:
    part = b'Content-Disposition: form-data; name="f"\r\n\r\nv'
    err = _error(
        _multipart(*[part] * 4), "multipart/form-data; boundary=XyZ",
        BodyLimits(max_multipart_parts=3),
    )
    assert (err.status, err.code) == (413, "too_many_multipart_parts")


def test_multipart_without_closing_boundary_is_400() -> None:
    body = b'--XyZ\r\nContent-Disposition: form-data; name="f"\r\n\r\nv'
    err = _error(body, "multipart/form-data; boundary=XyZ")
    assert (err.status, err.code) == (400, "invalid_multipart")


def test_multipart_without_boundary_parameter_is_400() -> None:
    err = _error(b"--x--", "multipart/form-data")
    assert err.code == "invalid_multipart"


def test_text_parses_to_str_in_its_charset() -> None:
    assert parse_body("café".encode("latin-1"), "text/plain; charset=ISO-8859-1", LIMITS) == "café"


def test_text_with_unknown_charset_is_415() -> None:
    err = _error(b"x", "text/plain; charset=klingon")
    assert (err.status, err.code) == (415, "unsupported_charset")


def test_text_not_valid_in_its_charset_is_400() -> None:
    err = _error(b"\xff\xfe\xfa", "text/plain")
    assert (err.status, err.code) == (400, "invalid_charset")


def test_octet_stream_is_base64_with_size() -> None:
    assert parse_body(b"\x00\xff", "application/octet-stream", LIMITS) == {
        "base64": "AP8=", "size": 2
    }


def test_unknown_type_is_binary() -> None:
    assert parse_body(b"PK\x03\x04", "application/zip", LIMITS) == {"base64": "UEsDBA==", "size": 4}


def test_missing_content_type_sniffs_json() -> None:
    assert parse_body_typed(b' {"a": 1}', None, LIMITS) == ("application/json", {"a": 1})


def test_missing_content_type_falls_back_to_binary() -> None:
    assert parse_body_typed(b"hello", None, LIMITS) == (
        "application/octet-stream", {"base64": "aGVsbG8=", "size": 5}
    )


def test_content_type_is_normalised() -> None:
    assert parse_body_typed(b"{}", " Application/JSON ; charset=utf-8", LIMITS)[0] == (
        "application/json"
    )


def test_error_serialises_code_and_detail() -> None:
    assert BodyError(400, "invalid_json", "bad").to_json() == (
        b'{"code":"invalid_json","detail":"bad"}'
    )
