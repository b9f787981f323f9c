"""The verifier and provider registries, and config problems with their paths."""

from __future__ import annotations

import pytest

from ingress.providers import KNOWN_PROVIDERS, check_providers, get_provider
from ingress.verification import (
    KNOWN_VERIFIERS,
    VerificationFailed,
    VerifierConfigError,
    build_verifier,
    check_webhooks,
    verifier_class,
)
from schemas.config.sources import WebhookSpec
from schemas.errors import UnknownComponentError
from tests.verification import signers as s


def spec(verification: dict, **extra: object) -> WebhookSpec:
    return WebhookSpec.model_validate({"id": "src", "verification": verification, **extra})


@pytest.mark.parametrize("name", sorted(KNOWN_VERIFIERS))
def test_every_verifier_entry_imports_with_a_documented_model(name: str) -> None:
    cls = verifier_class(name)
    assert cls.Settings.model_config.get("extra") == "forbid"
    for field_name, info in cls.Settings.model_fields.items():
        assert info.description, f"{name}.{field_name} has no description"


@pytest.mark.parametrize("name", sorted(KNOWN_PROVIDERS))
def test_every_provider_entry_imports(name: str) -> None:
    assert get_provider(name).name == name


def test_unknown_verification_type_lists_known_names() -> None:
    with pytest.raises(VerifierConfigError) as info:
        build_verifier(spec({"type": "hmac-md5"}), "webhooks[3]")
    (problem,) = info.value.problems
    assert problem.path == "webhooks[3].verification.type"
    assert "unknown verification type `hmac-md5`, expected one of: none, stripe-signature" in (
        problem.message)


def test_setting_problems_carry_camel_case_paths() -> None:
    problems = check_webhooks([
        spec({"type": "stripe-signature", "secret": "whsec_x", "toleranceSeconds": -5}),
        spec({"type": "github-signature", "secret": "x", "tolerance": 5}),
        spec({"type": "stripe-signature"}),
        spec({"type": "standard-webhooks", "secret": "whsec_!!notbase64!!"}),
        spec({"type": "hmac-sha256", "secret": "x", "signedPayload": "timestamp.body"}),
    ])
    paths = [p.path for p in problems]
    assert paths == [
        "webhooks[0].verification.toleranceSeconds",
        "webhooks[1].verification.tolerance",
        "webhooks[2].verification.secret",
        "webhooks[3].verification.secret",
        "webhooks[4].verification",
    ]
    assert "Extra inputs are not permitted" in problems[1].message
    assert "signingSecret" in problems[2].message
    assert "timestampHeader" in problems[4].message


def test_empty_secret_from_an_unset_variable_is_refused() -> None:
    problems = check_webhooks([spec({"type": "api-key", "secret": ""})])
    assert [p.path for p in problems] == ["webhooks[0].verification.secret"]


def test_webhook_signing_secret_is_the_fallback() -> None:
    m = s.Message(body=s.BODY)
    verifier = build_verifier(
        spec({"type": "stripe-signature"}, signingSecret="whsec_fallback"), "webhooks[0]",
    )
    assert verifier.verify(s.request(m, s.stripe(m, "whsec_fallback"))).timestamp == s.NOW


def test_secrets_in_scheme_settings_are_not_printed() -> None:
    webhook = spec({"type": "stripe-signature", "secret": "whsec_do_not_print"})
    settings = verifier_class("stripe-signature").Settings.model_validate(
        webhook.verification.component_settings())
    assert "whsec_do_not_print" not in repr(settings)


def test_webhook_spec_repr_hides_verification_secrets() -> None:
    webhook = spec({"type": "stripe-signature", "secret": "whsec_do_not_print"})
    assert "whsec_do_not_print" not in repr(webhook)


def test_none_is_explicit_and_refuses_stray_keys() -> None:
    problems = check_webhooks([spec({"type": "none", "secret": "x"})])
    assert [p.path for p in problems] == ["webhooks[0].verification.secret"]


def test_unknown_provider_lists_known_ones() -> None:
    with pytest.raises(UnknownComponentError) as info:
        get_provider("strip")
    assert "expected one of: generic, stripe, paypal" in str(info.value)
    problems = check_providers([spec({"type": "none"}, provider="stripe"),
                                spec({"type": "none"}, provider="strip")])
    assert [p.path for p in problems] == ["webhooks[1].provider"]
    assert get_provider(None).name == "generic"


def test_failure_is_an_eis_error_with_reason_and_detail() -> None:
    exc = VerificationFailed("missing_header", "header `X` is missing")
    assert (exc.reason, exc.detail, exc.retriable) == ("missing_header", "header `X` is missing",
                                                       False)


def test_paypal_needs_its_webhook_id() -> None:
    problems = check_webhooks([spec({"type": "paypal-transmission",
                                     "certUrl": "https://api.paypal.com/v1/notifications/verify"})])
    assert [p.path for p in problems] == ["webhooks[0].verification.webhookId"]


def test_jwt_jwks_url_must_be_https_and_allow_listed() -> None:
    problems = check_webhooks([
        spec({"type": "jwt", "jwksUrl": "http://idp.example/jwks"}),
        spec({"type": "jwt", "jwksUrl": "https://idp.example/jwks",
              "jwksAllowedHosts": ["other.example"]}),
        spec({"type": "jwt"}),
    ])
    assert [p.path for p in problems] == [
        "webhooks[0].verification.jwksUrl", "webhooks[1].verification.jwksUrl",
        "webhooks[2].verification",
    ]
