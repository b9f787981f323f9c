"""`type: api-key`: a shared key in a header (`X-API-Key`, or `Authorization: Bearer …`).

The weakest scheme: the key authenticates the sender but does not bind the body, so a
tampered body is accepted (the conformance suite states this). Comparison is constant-time
over SHA-256 digests, so neither content nor length of a key leaks (Convoy's `!=` is the
counter-example in STYLE.md item 8).
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from pydantic import Field, SecretStr

from ingress.verification.base import (
    SecretSettings,
    SyncVerifier,
    VerificationFailed,
    VerificationRequest,
    Verified,
    any_equal,
    header,
    resolve_secrets,
)
from schemas.config.base import ConfigModel


class ApiKeySettings(SecretSettings):
    """Accepted key(s) in `secret`/`secrets` (several during rotation) and where they arrive."""

    header: str = Field(
        "X-API-Key", pattern=r"^[A-Za-z0-9-]{1,100}$", description="header carrying the key",
    )
    allow_bearer: bool = Field(
        True, description="also accept `Authorization: Bearer <key>`",
    )
    id_header: str | None = Field(
        None, pattern=r"^[A-Za-z0-9-]{1,100}$",
        description="header with the sender's delivery id, for replay dedup",
    )


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


class ApiKey(SyncVerifier):
    """Accepts a request whose key equals one of the configured keys."""

    Settings: ClassVar[type[ConfigModel]] = ApiKeySettings

    def __init__(self, keys: list[str], header_name: str, allow_bearer: bool,
                 id_header: str | None) -> None:
        self._digests = [_digest(k) for k in keys]
        self._header = header_name
        self._allow_bearer = allow_bearer
        self._id_header = id_header

    @classmethod
    def from_settings(
        cls, settings: ApiKeySettings, fallback_secret: SecretStr | None, where: str,
    ) -> ApiKey:
        return cls(resolve_secrets(settings, fallback_secret, where), settings.header,
                   settings.allow_bearer, settings.id_header)

    def _presented(self, request: VerificationRequest) -> str:
        key = header(request, self._header)
        if key is not None:
            return key
        if self._allow_bearer:
            auth = header(request, "Authorization")
            if auth is not None:
                scheme, _, token = auth.partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    raise VerificationFailed("malformed_header", "`Authorization` is not `Bearer <key>`")
                return token.strip()
        names = f"`{self._header}`" + (" or `Authorization`" if self._allow_bearer else "")
        raise VerificationFailed("missing_header", f"header {names} is missing")

    def verify(self, request: VerificationRequest) -> Verified:
        if not any_equal(self._digests, [_digest(self._presented(request))]):
            raise VerificationFailed("bad_signature", "the API key is not accepted")
        event_id = header(request, self._id_header) if self._id_header else None
        return Verified(provider_event_id=event_id, timestamp=None)
