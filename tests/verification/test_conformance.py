"""The verifier conformance suite, run for every case in `cases.CASES`, plus its meta-test."""

from __future__ import annotations

import pytest

from ingress.verification import KNOWN_VERIFIERS, VerificationFailed
from tests.verification import signers as s
from tests.verification.cases import CASES, Case

CASE_IDS = [c.id for c in CASES]
by_case = pytest.mark.parametrize("case", CASES, ids=CASE_IDS)


async def _reason(verifier, req) -> str | None:
    """The failure reason, or None when the request was accepted."""
    try:
        await verifier.verify_async(req)
    except VerificationFailed as exc:
        return exc.reason
    return None


def test_every_registered_verifier_has_a_conformance_case() -> None:
    assert set(KNOWN_VERIFIERS) - {c.type for c in CASES} == set()


@by_case
async def test_valid_request_is_accepted(case: Case) -> None:
    m = case.message()
    result = await case.build().verify_async(s.request(m, case.sign(m, case.good)))
    if case.timestamped and case.type != "jwt":
        assert result.timestamp == m.timestamp
    assert result.provider_event_id == case.expected_id


@by_case
async def test_tampered_body(case: Case) -> None:
    m = case.message()
    tampered = m.body.replace(b"2000", b"9000").replace(b"Hi+there", b"Pay+me")
    assert tampered != m.body
    reason = await _reason(case.build(), s.request(m, case.sign(m, case.good), body=tampered))
    # Schemes that do not sign the body (api-key, jwt, none) accept it: said here, not hidden.
    assert reason == ("bad_signature" if case.binds_body else None)


@by_case
async def test_wrong_secret_is_rejected_without_leaking(case: Case) -> None:
    if case.wrong is None:
        pytest.skip("this scheme has no secret")
    m = case.message()
    good_headers = case.sign(m, case.good).headers
    with pytest.raises(VerificationFailed) as info:
        await case.build().verify_async(s.request(m, case.sign(m, case.wrong)))
    assert info.value.reason == "bad_signature"
    text = str(info.value)
    for secret_like in [str(case.good), *good_headers.values()]:
        if len(secret_like) >= 8 and secret_like not in {"SHA256withRSA", s.PAYPAL_CERT_URL}:
            assert secret_like not in text


@by_case
async def test_missing_header(case: Case) -> None:
    if case.missing_header is None:
        pytest.skip("this scheme reads no header")
    m = case.message()
    req = s.request(m, case.sign(m, case.good), drop=case.missing_header)
    assert await _reason(case.build(), req) == "missing_header"


@by_case
@pytest.mark.parametrize(("offset", "expected"), [
    (-301, "stale_timestamp"), (-299, None), (299, None), (301, "future_timestamp"),
])
async def test_timestamp_window(case: Case, offset: int, expected: str | None) -> None:
    if not case.timestamped:
        pytest.skip("this scheme signs no timestamp")
    m = case.message(timestamp=s.NOW + offset)
    assert await _reason(case.build(), s.request(m, case.sign(m, case.good))) == expected


@by_case
async def test_signature_over_reserialized_json_is_rejected(case: Case) -> None:
    if case.content_type != "application/json":
        pytest.skip("form body: covered by the twilio-json case")
    m = case.message()
    signed = case.sign(s.reserialized(m), case.good)
    reason = await _reason(case.build(), s.request(m, signed))
    assert reason == ("bad_signature" if case.binds_body else None)


@by_case
async def test_rotation_accepts_the_second_secret(case: Case) -> None:
    if case.rotated is None:
        pytest.skip("no secret rotation in this scheme")
    m = case.message()
    verifier = case.build_rotating()
    for secret in (case.good, case.rotated):
        assert await _reason(verifier, s.request(m, case.sign(m, secret))) is None
    assert await _reason(verifier, s.request(m, case.sign(m, case.wrong))) == "bad_signature"


@by_case
async def test_garbage_signature_header(case: Case) -> None:
    if case.missing_header is None:
        pytest.skip("this scheme reads no header")
    m = case.message()
    signed = case.sign(m, case.good)
    headers = {**signed.headers, case.missing_header: "\u00e9t=\u00e9,v1=zz \u00e9"}
    reason = await _reason(case.build(), s.request(m, s.Signed(headers, signed.url)))
    assert reason in {"malformed_header", "bad_signature"}


@by_case
async def test_sync_verify_agrees(case: Case) -> None:
    m = case.message()
    verifier = case.build()
    req = s.request(m, case.sign(m, case.good))
    assert verifier.verify(req) == await verifier.verify_async(req)
    await verifier.close()
