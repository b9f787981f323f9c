"""Non-JSON bodies through the HTTP server: each is written as an envelope whose `data` is the
parsed body (shapes: ingress/body) and whose `content_type` is the bare media type."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from .conftest import MakeIngress

CONFIG = """
service: bodies
webhooks:
  - id: raw
    verification: {type: none}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""

CSV = b"sku,qty\r\nA-1,2\r\n"
BINARY = bytes(range(256))
BOUNDARY = "----eisBoundary7MA4YWxkTrZu0gW"
MULTIPART = (
    f"--{BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="note"\r\n\r\n'
    "hello there\r\n"
    f"--{BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="file"; filename="order.csv"\r\n'
    "Content-Type: text/csv\r\n\r\n"
).encode() + CSV + f"\r\n--{BOUNDARY}--\r\n".encode()


@dataclass(frozen=True)
class Case:
    name: str
    content_type: str   # the request header
    body: bytes
    media_type: str     # expected envelope content_type
    data: Any           # expected envelope data


CASES = [
    Case("form", "application/x-www-form-urlencoded", b"a=1&b=two+words&a=3&c=caf%C3%A9",
         "application/x-www-form-urlencoded", {"a": ["1", "3"], "b": "two words", "c": "café"}),
    Case("xml", "application/xml; charset=utf-8",
         b'<?xml version="1.0"?><order id="7"><total currency="EUR">5.00</total><item>a</item><item>b</item></order>',
         "application/xml",
         {"order": {"@id": "7", "total": {"@currency": "EUR", "#text": "5.00"}, "item": ["a", "b"]}}),
    Case("multipart", f"multipart/form-data; boundary={BOUNDARY}", MULTIPART, "multipart/form-data",
         {"note": "hello there", "file": {"filename": "order.csv", "content_type": "text/csv",
                                          "size": len(CSV), "base64": base64.b64encode(CSV).decode()}}),
    Case("text", "text/plain; charset=utf-8", "héllo, world\n".encode(), "text/plain", "héllo, world\n"),
    Case("binary", "application/octet-stream", BINARY, "application/octet-stream",
         {"base64": base64.b64encode(BINARY).decode(), "size": 256}),
]


@pytest.fixture(scope="module")
async def written(make_module_ingress: MakeIngress) -> dict[str, dict[str, Any]]:
    """Every case posted to one webhook, then read back once (one consumer group join)."""
    ingress = await make_module_ingress(CONFIG)
    ids = {}
    for case in CASES:
        response = await ingress.client.post(
            "/webhooks/raw", data=case.body, headers={"Content-Type": case.content_type})
        answer = await response.json()
        assert response.status == 200, (case.name, answer)
        ids[answer["id"]] = case.name
    envelopes = [orjson.loads(m.value()) for m in await ingress.records("raw", len(CASES))]
    return {ids[e["id"]]: e for e in envelopes}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_a_body_of_each_content_type_is_written_as_its_parsed_form(
    written: dict[str, dict[str, Any]], case: Case,
) -> None:
    envelope = written[case.name]
    assert envelope["content_type"] == case.media_type
    assert envelope["data"] == case.data
