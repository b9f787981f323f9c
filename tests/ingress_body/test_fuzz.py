"""Properties: hostile bytes only ever raise BodyError; the depth check is exact."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import brotli
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ingress.body import BodyError, BodyLimits, decode_content_encoding, parse_body
from ingress.body.json_body import exceeds_depth

LIMITS = BodyLimits(max_decoded_bytes=64 * 1024, max_json_depth=8, max_form_fields=20,
                    max_multipart_parts=5)

CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from([
        "application/json", "application/vnd.api+json", "application/json; charset=utf-16",
        "application/json; charset=latin-1", "application/json; charset=rot13",
        "application/xml", "text/xml; charset=utf-8", "application/soap+xml; charset=bogus",
        "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=base64",
        "multipart/form-data; boundary=b", "multipart/form-data", 'multipart/form-data; boundary="',
        "text/plain", "text/csv; charset=utf-32", "text/html; charset=idna",
        "application/octet-stream", "image/png", "", ";", "garbage", "text/plain; charset=",
    ]),
    st.text(max_size=40),
)
ENCODINGS = st.one_of(
    st.none(),
    st.sampled_from(["gzip", "deflate", "br", "identity", "gzip, br", "x-gzip", "zstd", ","]),
    st.text(max_size=20),
)
# Bytes that look like the real thing often enough to reach deep into each parser.
STRUCTURED = st.sampled_from([
    b'{"a": [1, {"b": "c"}]}', b"[[[[[[[[[[]]]]]]]]]]", b"<a x='1'><b>t</b></a>", b"a=1&b=%zz",
    b'--b\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n--b--', b"\xef\xbb\xbf{}",
    b"<!DOCTYPE a []><a/>", b'"\\u0000"', b"",
])
BODIES = st.one_of(
    st.binary(max_size=512),
    st.tuples(STRUCTURED, st.binary(max_size=8), st.integers(0, 40)).map(
        lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
    ),
    STRUCTURED,
)


def _compress(body: bytes, coding: str | None) -> bytes:
    if coding == "gzip":
        return gzip.compress(body)
    if coding == "deflate":
        return zlib.compress(body)
    if coding == "br":
        return brotli.compress(body)
    return body


@settings(max_examples=600, deadline=None)
@given(body=BODIES, content_type=CONTENT_TYPES, coding=ENCODINGS, encode=st.booleans())
def test_random_bytes_with_random_types_raise_only_body_error(
    body: bytes, content_type: str | None, coding: str | None, encode: bool
) -> None:
    wire = _compress(body, coding) if encode else body
    try:
        decoded = decode_content_encoding(wire, coding, LIMITS)
        data = parse_body(decoded, content_type, LIMITS)
    except BodyError as exc:
        assert exc.status in (400, 413, 415) and exc.code and exc.detail
        orjson.loads(exc.to_json())
        return
    orjson.dumps(data)  # whatever parses is a JSON value the envelope can carry


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(alphabet='[]{}"\\ab\n'),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), children, max_size=4),
    max_leaves=60,
)


@settings(max_examples=500, deadline=None)
@given(value=JSON_VALUES, max_depth=st.integers(1, 10))
def test_depth_check_matches_true_nesting_depth(value: Any, max_depth: int) -> None:
    data = orjson.dumps(value)
    assert exceeds_depth(data, max_depth) == (_depth(value) > max_depth)
