"""The verifier contract: request/result records, typed failures, and the helpers every scheme shares."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

from pydantic import Field, SecretStr

from schemas.config.base import ConfigModel
from schemas.errors import ConfigError, ConfigProblem, EisError


@dataclass(frozen=True, slots=True)
class VerificationRequest:
    """What a verifier sees of one webhook request.

    `headers` MUST be case-insensitive (aiohttp's `request.headers` CIMultiDictProxy or a
    `multidict.CIMultiDict`): providers and proxies change header case freely. `body` is the
    exact wire bytes, before Content-Encoding decoding or any parsing, because every HMAC
    scheme signs bytes, not JSON values.
    """

    body: bytes
    headers: Mapping[str, str]
    url: str
    form: Mapping[str, list[str]] | None
    now: float


@dataclass(frozen=True, slots=True)
class Verified:
    """A request that passed: the id to deduplicate replays on and the signed time, if any."""

    provider_event_id: str | None
    timestamp: float | None


class VerificationFailed(EisError):
    """The request is not authentic (answer 401), with a stable `reason` code.

    `detail` names the header or the rule that failed. It never contains the expected
    signature or a secret: it is logged and may be returned to the caller.
    """

    retriable: ClassVar[bool] = False

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class VerificationUnavailable(VerificationFailed):
    """Verification could not be completed right now (a certificate or JWKS fetch failed).

    Retriable: the ingress answers 503 so the provider retries later, instead of 401, which
    several providers treat as a reason to disable the endpoint.
    """

    retriable: ClassVar[bool] = True


class VerifierConfigError(ConfigError):
    """A `verification:` block that cannot be used; each problem carries its config path."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__(problems)


@runtime_checkable
class Verifier(Protocol):
    """One webhook source's authentication scheme.

    Lifecycle:
    1. `build_verifier` validates the config and constructs the verifier once at startup;
       all config problems surface there, never per request.
    2. For each request the ingress handler calls `await verifier.verify_async(request)`.
       It returns `Verified` or raises `VerificationFailed` (401) / `VerificationUnavailable`
       (503). Schemes that are pure CPU implement `verify` and inherit a `verify_async` that
       calls it; schemes needing key material from the network (PayPal certificates, JWKS)
       fetch and cache it in `verify_async`, then run the same `verify`.
    3. `verify` may be called directly (tests, benchmarks): for network schemes it uses only
       material already cached and raises `VerificationUnavailable` otherwise.
    4. `await verifier.close()` at shutdown releases HTTP sessions; it is a no-op elsewhere.
    """

    def verify(self, request: VerificationRequest) -> Verified:
        """Check the request synchronously; raise `VerificationFailed` when it is not authentic."""
        ...

    async def verify_async(self, request: VerificationRequest) -> Verified:
        """What the ingress calls: fetch remote key material if needed, then `verify`."""
        ...

    async def close(self) -> None:
        """Release network resources; safe to call twice."""
        ...


class SyncVerifier:
    """Base for pure-CPU schemes: `verify_async` and `close` need nothing extra."""

    Settings: ClassVar[type[ConfigModel]]

    @classmethod
    def from_settings(cls, settings: Any, fallback_secret: SecretStr | None, where: str) -> Self:
        """Build from the scheme's validated settings; `where` prefixes config-problem paths."""
        raise NotImplementedError

    def verify(self, request: VerificationRequest) -> Verified:
        raise NotImplementedError

    async def verify_async(self, request: VerificationRequest) -> Verified:
        return self.verify(request)

    async def close(self) -> None:
        return None


class SecretSettings(ConfigModel):
    """The secret keys every HMAC-style scheme shares; a scheme's model subclasses this."""

    secret: SecretStr | None = Field(
        None, description="signing secret; default: the webhook's `signingSecret`",
    )
    secrets: list[SecretStr] | None = Field(
        None, max_length=8,
        description="several secrets accepted at once, for rotation (tried in order)",
    )


def resolve_secrets(
    settings: SecretSettings, fallback: SecretStr | None, where: str,
) -> list[str]:
    """The scheme's own `secret`/`secrets`, else the webhook's `signingSecret`; never empty.

    Raises `VerifierConfigError` at build time: a webhook that can never verify must stop the
    config from loading, not answer 401 to every request.
    """
    found = ([settings.secret] if settings.secret else []) + list(settings.secrets or [])
    if not found and fallback is not None:
        found = [fallback]
    values = [s.get_secret_value() for s in found]
    if not values:
        raise VerifierConfigError([ConfigProblem(
            f"{where}.secret",
            "no secret: set `secret` or `secrets` here, or the webhook's `signingSecret`",
        )])
    if any(not v.strip() for v in values):
        # An unset environment variable substitutes to "": an empty HMAC key is guessable.
        raise VerifierConfigError([ConfigProblem(f"{where}.secret", "a secret is empty")])
    return values


def header(request: VerificationRequest, name: str) -> str | None:
    """The header's first value, or None when absent or blank."""
    value = request.headers.get(name)
    if value is None and not hasattr(request.headers, "getall"):
        # A plain dict slipped through (the contract asks for a case-insensitive mapping):
        # match case-insensitively rather than fail open or closed by accident.
        lowered = name.lower()
        value = next((v for k, v in request.headers.items() if k.lower() == lowered), None)
    if value is None or not value.strip():
        return None
    return value.strip()


def require_header(request: VerificationRequest, name: str) -> str:
    """The header's value, or `missing_header` naming it."""
    value = header(request, name)
    if value is None:
        raise VerificationFailed("missing_header", f"header `{name}` is missing")
    return value


def equal(a: bytes | str, b: bytes | str) -> bool:
    """Constant-time equality; str is encoded first because compare_digest rejects non-ASCII str."""
    left = a.encode("utf-8", "surrogateescape") if isinstance(a, str) else a
    right = b.encode("utf-8", "surrogateescape") if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def any_equal(expected: Sequence[bytes], provided: Sequence[bytes]) -> bool:
    """True when any provided signature equals any expected one; every pair is compared."""
    matched = False
    for want in expected:
        for got in provided:
            # No early exit: the number of comparisons must not reveal which secret matched.
            matched |= hmac.compare_digest(want, got)
    return matched


def hmac_digest(key: bytes, message: bytes, digest: str = "sha256") -> bytes:
    """The raw HMAC of `message`."""
    return hmac.new(key, message, getattr(hashlib, digest)).digest()


def check_window(timestamp: float, now: float, tolerance: float, what: str) -> None:
    """Reject a signed time outside `now ± tolerance` (replays and clock abuse)."""
    if timestamp < now - tolerance:
        raise VerificationFailed(
            "stale_timestamp", f"{what} is {int(now - timestamp)}s old (tolerance {int(tolerance)}s)",
        )
    if timestamp > now + tolerance:
        raise VerificationFailed(
            "future_timestamp",
            f"{what} is {int(timestamp - now)}s in the future (tolerance {int(tolerance)}s)",
        )


def parse_unix_seconds(value: str, name: str) -> int:
    """An integer unix-seconds header value, or `malformed_header`."""
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise VerificationFailed("malformed_header", f"`{name}` is not unix seconds")
    return int(value)
