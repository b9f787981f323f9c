"""Outbound Standard Webhooks signatures, checked by an independent verifier written here from
the spec (standardwebhooks.com; not connectors/signing.py, not ingress/verification)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from connectors.registry import check_destinations
from connectors.sink import Delivered
from schemas.config import load_pipeline_text
from schemas.errors import ConfigError
from tests.http_sink.helpers import ALLOW_LOOPBACK, SteerableSink, destination, http_sink, request
from tests.sink_helpers import Received

OLD = "whsec_" + base64.b64encode(b"old-secret-of-32-bytes-length!!!").decode()
NEW = "whsec_" + base64.b64encode(b"new-secret-of-32-bytes-length!!!").decode()
OTHER = "whsec_" + base64.b64encode(b"someone-elses-secret-32-bytes!!!").decode()


def verifies(secret: str, received: Received, tolerance_s: int = 300) -> bool:
    """The Standard Webhooks check: any `v1,` signature over `id.timestamp.body` matches."""
    headers = {k.lower(): v for k, v in received.headers.items()}
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{msg_id}.{timestamp}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, _, signature in (token.partition(",") for token in headers["webhook-signature"].split(" "))
    )


async def post(receiver: SteerableSink, settings: dict, delivery: dict | None = None, attempts: int = 1):
    sink = http_sink({"url": f"{receiver.url}/in", **settings}, ALLOW_LOOPBACK, delivery)
    await sink.open()
    try:
        for attempt in range(1, attempts + 1):
            (outcome,) = await sink.send([request(1, {"total": 9.5}, attempt=attempt)])
            assert isinstance(outcome, Delivered)
    finally:
        await sink.close()
    return receiver.received


async def test_one_secret_signs_and_verifies(receiver: SteerableSink) -> None:
    (got,) = await post(receiver, {"signingSecrets": [NEW]})
    assert got.headers["webhook-id"] == got.headers["Idempotency-Key"] == "evt_1:r.d"
    assert verifies(NEW, got)
    assert not verifies(OTHER, got)
    tampered = Received(got.method, got.path, got.headers, got.body.replace(b"9.5", b"950"), got.status)
    assert not verifies(NEW, tampered)


async def test_two_secrets_during_rotation_both_verify(receiver: SteerableSink) -> None:
    (got,) = await post(receiver, {"signingSecrets": [OLD, NEW]})
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verifies(OLD, got) and verifies(NEW, got)  # receivers on either secret accept it
    assert not verifies(OTHER, got)


async def test_delivery_signing_secret_is_the_fallback(receiver: SteerableSink) -> None:
    (got,) = await post(receiver, {}, delivery={"signingSecret": OLD})
    assert verifies(OLD, got)


async def test_the_destinations_own_secrets_override_the_fallback(receiver: SteerableSink) -> None:
    (got,) = await post(receiver, {"signingSecrets": [NEW]}, delivery={"signingSecret": OLD})
    assert verifies(NEW, got) and not verifies(OLD, got)


async def test_without_a_secret_requests_are_unsigned(receiver: SteerableSink) -> None:
    (got,) = await post(receiver, {})
    assert "webhook-signature" not in got.headers and "webhook-timestamp" not in got.headers
    assert got.headers["webhook-id"] == "evt_1:r.d"  # dedupe still works unsigned


async def test_every_attempt_is_signed_afresh_under_the_same_id(receiver: SteerableSink) -> None:
    first, second = await post(receiver, {"signingSecrets": [NEW]}, attempts=2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert verifies(NEW, first) and verifies(NEW, second)
    assert second.headers["X-EIS-Attempt"] == "2"


@pytest.mark.parametrize(("secrets", "message"), [
    (["not-a-whsec"], "starts with `whsec_`"),
    (["whsec_***"], "followed by base64"),
    (["whsec_c2hvcnQ="], "at least 16 bytes"),
    ([OLD, NEW, OTHER], "at most 2 items"),
])
def test_bad_secrets_are_config_errors_with_their_path(secrets, message) -> None:
    pipeline = load_pipeline_text(
        "service: s\nrouting: [{name: r, destinations: [{id: d, type: http, url: 'https://h/', "
        f"signingSecrets: {secrets!r}}}]}}]\n", environ={})
    (problem,) = check_destinations(pipeline)
    assert problem.path.startswith("routing[0].destinations[0].signingSecrets")
    assert message in problem.message
    assert all(secret not in problem.message for secret in secrets)  # never echo a secret


def test_a_bad_fallback_secret_names_its_path() -> None:
    dest = destination({"url": "https://h/"}, delivery={"signingSecret": "plain"})
    with pytest.raises(ConfigError) as caught:
        http_sink({"url": "https://h/"}, delivery={"signingSecret": "plain"})
    assert caught.value.problems[0].path == "delivery.signingSecret"
    assert dest.signing_secret is not None
