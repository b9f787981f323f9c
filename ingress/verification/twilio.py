"""`type: twilio`: `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, url + sorted params)).

Twilio "Webhooks security": the signed string is the full URL Twilio called (query
included) followed, for form posts, by each parameter name + value in name order (values of
a repeated name sorted, as twilio-python's RequestValidator does). For JSON bodies Twilio
adds `bodySHA256=<hex sha256 of the body>` to the URL and signs the URL alone: we check both.
Twilio signs the PUBLIC URL: behind a TLS-terminating proxy the request arrives as http on
an internal port, so `publicUrl`/`forceHttps` rebuild it (KAFKA-NOTES "Other traps"). Like
the Twilio libraries we accept the https URL with and without an explicit `:443`.
Documented example (auth token `12345`) is in tests/verification/test_examples.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator

from ingress.verification.base import (
    SecretSettings,
    SyncVerifier,
    VerificationFailed,
    VerificationRequest,
    Verified,
    any_equal,
    equal,
    header,
    hmac_digest,
    require_header,
    resolve_secrets,
)
from schemas.config.base import ConfigModel

HEADER = "X-Twilio-Signature"
FORM = "application/x-www-form-urlencoded"


class TwilioSettings(SecretSettings):
    """Auth token(s) (`secrets` during a token rotation) and how to rebuild the public URL."""

    public_url: str | None = Field(
        None, max_length=2000,
        description="the URL configured at Twilio without its query, e.g. "
        "https://hooks.acme.com/twilio; the request's query string is appended",
    )
    force_https: bool = Field(
        True, description="rebuild the request URL with https (TLS ends at a proxy)",
    )

    @field_validator("public_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                raise ValueError("publicUrl must be an absolute http(s) URL without a query")
        return value


def _port_variants(url: str) -> list[str]:
    """The URL as given, plus the same https URL with `:443` added or removed."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return [url]
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    if parts.port in (None, 443):
        bare = urlunsplit(parts._replace(netloc=host))
        explicit = urlunsplit(parts._replace(netloc=f"{host}:443"))
        return [url] + [u for u in (bare, explicit) if u != url]
    return [url]


def _form(request: VerificationRequest) -> Mapping[str, list[str]] | None:
    """The POST parameters: the handler's parse, else our own parse of the raw body."""
    if request.form is not None:
        return request.form
    content_type = (header(request, "Content-Type") or "").split(";")[0].strip().lower()
    if content_type == FORM:
        return parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return None


class TwilioSignature(SyncVerifier):
    """Verifies Twilio's signature; `I-Twilio-Idempotency-Token` is the replay id when sent."""

    Settings: ClassVar[type[ConfigModel]] = TwilioSettings

    def __init__(self, tokens: list[str], public_url: str | None, force_https: bool) -> None:
        self._keys = [t.encode("utf-8") for t in tokens]
        self._public_url = public_url.rstrip("/") if public_url else None
        self._force_https = force_https

    @classmethod
    def from_settings(
        cls, settings: TwilioSettings, fallback_secret: SecretStr | None, where: str,
    ) -> TwilioSignature:
        return cls(resolve_secrets(settings, fallback_secret, where), settings.public_url,
                   settings.force_https)

    def signed_url(self, request_url: str) -> str:
        """The URL Twilio called, as it sees it."""
        parts = urlsplit(request_url)
        if self._public_url is not None:
            return self._public_url + (f"?{parts.query}" if parts.query else "")
        if self._force_https and parts.scheme == "http":
            # The internal port means nothing to Twilio: the public https URL had none.
            host = parts.hostname or ""
            host = f"[{host}]" if ":" in host else host
            return urlunsplit(parts._replace(scheme="https", netloc=host))
        return request_url

    def verify(self, request: VerificationRequest) -> Verified:
        provided_b64 = require_header(request, HEADER)
        try:
            provided = base64.b64decode(provided_b64, validate=True)
        except (binascii.Error, ValueError):
            raise VerificationFailed("malformed_header", f"`{HEADER}` is not base64") from None
        url = self.signed_url(request.url)
        body_hash = dict(parse_qsl(urlsplit(url).query)).get("bodySHA256")
        suffix = ""
        if body_hash is not None:
            # JSON mode: the URL (with the hash) is signed, the hash binds the raw body.
            if not equal(hashlib.sha256(request.body).hexdigest(), body_hash.lower()):
                raise VerificationFailed("bad_signature", "`bodySHA256` does not match the body")
        else:
            params = _form(request) or {}
            suffix = "".join(name + value for name in sorted(params)
                             for value in sorted(set(params[name])))
        expected = [hmac_digest(key, (u + suffix).encode("utf-8"), "sha1")
                    for u in _port_variants(url) for key in self._keys]
        if not any_equal(expected, [provided]):
            raise VerificationFailed("bad_signature", f"`{HEADER}` does not match url and params")
        return Verified(provider_event_id=header(request, "I-Twilio-Idempotency-Token"),
                        timestamp=None)
