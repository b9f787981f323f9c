"""Provider adapters: event type, provider id and time from documented request shapes."""

from __future__ import annotations

from multidict import CIMultiDict

from ingress.providers import ProviderFacts, get_provider, parse_time_ms

T_2023 = 1_700_000_000_000  # 2023-11-14T22:13:20Z in ms


def facts(name: str, data: object = None, **headers: str) -> ProviderFacts:
    return get_provider(name).facts(CIMultiDict(headers), data)


def test_stripe_event_object() -> None:
    event = {"id": "evt_1NG8Du2eZvKYlo2C", "object": "event", "type": "charge.refunded",
             "created": 1_700_000_000, "data": {"object": {}}}
    assert facts("stripe", event) == ProviderFacts("charge.refunded", "evt_1NG8Du2eZvKYlo2C", T_2023)


def test_paypal_event() -> None:
    event = {"id": "WH-2WR32451HC0233532-67976317FL4543714", "event_type":
             "PAYMENT.CAPTURE.COMPLETED", "create_time": "2023-11-14T22:13:20.000Z"}
    assert facts("paypal", event) == ProviderFacts(
        "PAYMENT.CAPTURE.COMPLETED", "WH-2WR32451HC0233532-67976317FL4543714", T_2023)


def test_github_headers_any_case() -> None:
    got = facts("github", {"ref": "refs/heads/main"},
                **{"x-github-event": "push", "X-GITHUB-DELIVERY": "72d3162e-cc78-11e3-81ab"})
    assert got == ProviderFacts("push", "72d3162e-cc78-11e3-81ab", None)


def test_shopify_headers() -> None:
    got = facts("shopify", {"id": 820982911946154508}, **{
        "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37",
        "X-Shopify-Triggered-At": "2023-11-14T22:13:20+00:00"})
    assert got == ProviderFacts("orders/create", "b54557e4-bdd9-4b37", T_2023)


def test_square_event() -> None:
    event = {"merchant_id": "6SSW7HV8K2ST5", "type": "payment.updated",
             "event_id": "6a8f5f28-54a1-4eb0-a98a", "created_at": "2023-11-14T22:13:20Z"}
    assert facts("square", event) == ProviderFacts("payment.updated", "6a8f5f28-54a1-4eb0-a98a",
                                                   T_2023)


def test_twilio_uses_idempotency_token_not_message_sid() -> None:
    form = {"MessageSid": ["SM123"], "MessageStatus": ["delivered"]}
    assert facts("twilio", form, **{"I-Twilio-Idempotency-Token": "idem-1"}) == ProviderFacts(
        None, "idem-1", None)
    assert facts("twilio", form) == ProviderFacts(None, None, None)


def test_generic_field_names_and_time_formats() -> None:
    assert facts("generic", {"eventType": "a.b", "id": 42, "time": 1_700_000_000}) == (
        ProviderFacts("a.b", "42", T_2023))
    assert facts("generic", {"event_type": "c", "timestamp": T_2023}).time_ms == T_2023
    assert facts("generic", {"type": "d", "timestamp": "2023-11-14T22:13:20Z"}).time_ms == T_2023
    assert facts("generic", {"type": "d", "timestamp": "1700000000"}).time_ms == T_2023


def test_bad_input_gives_none_not_errors() -> None:
    for data in (None, [], "text", {"type": {"nested": 1}, "id": True, "time": "yesterday"}):
        assert facts("generic", data) == ProviderFacts(None, None, None)
    assert parse_time_ms(float("nan")) is None
    assert parse_time_ms("2023-11-14T22:13:20") == T_2023  # naive is read as UTC
