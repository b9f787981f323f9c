"""`type: jwt`: a bearer JWT (HS256 / RS256 / ES256) with issuer, audience and time checks.

Keys: HMAC secrets (`secret`/`secrets`, or the webhook's `signingSecret`), inline PEM public
keys or certificates (`publicKeys`), and/or a JWKS URL fetched from an allow-listed host and
cached. A token whose `kid` is not in the cached JWKS triggers one refresh (at most once per
`jwksRefreshSeconds`), so key rotation at the issuer works without letting garbage `kid`s
make us hammer it. The JWT does not bind the request body (the conformance suite says so).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr

from ingress.verification.base import (
    SyncVerifier,
    VerificationFailed,
    VerificationRequest,
    VerificationUnavailable,
    Verified,
    VerifierConfigError,
    require_header,
)
from ingress.verification.jose import ALGORITHMS, Key, parse_jwks, parse_token, signature_ok
from ingress.verification.remote import AllowListedCache, is_loopback
from schemas.config.base import ConfigModel
from schemas.errors import ConfigProblem

Algorithm = Literal["HS256", "RS256", "ES256"]


def _every_algorithm() -> list[Algorithm]:
    return ["HS256", "RS256", "ES256"]


class JwtSettings(ConfigModel):
    """Where the token is, which keys sign it, and which claims it must carry."""

    header: str = Field("Authorization", pattern=r"^[A-Za-z0-9-]{1,100}$",
                        description="header with `Bearer <jwt>`")
    algorithms: list[Algorithm] = Field(
        default_factory=_every_algorithm, min_length=1,
        description="accepted `alg` values; each key is still bound to its own family",
    )
    secret: SecretStr | None = Field(None, description="HS256 secret")
    secrets: list[SecretStr] | None = Field(None, max_length=8, description="HS256 secrets (rotation)")
    public_keys: list[str] | None = Field(
        None, max_length=8, description="PEM RSA / P-256 public keys or certificates",
    )
    jwks_url: str | None = Field(None, max_length=2000, description="JWKS document URL (https)")
    jwks_allowed_hosts: list[str] | None = Field(
        None, max_length=20, description="hosts the JWKS may come from; default: jwksUrl's host",
    )
    jwks_cache_seconds: int = Field(300, ge=10, le=86_400, description="JWKS cache life")
    jwks_refresh_seconds: int = Field(
        60, ge=1, le=3600, description="least time between refreshes forced by an unknown kid",
    )
    issuer: str | None = Field(None, description="required `iss`")
    audience: list[str] | None = Field(None, min_length=1, description="accepted `aud` values")
    leeway_seconds: int = Field(60, ge=0, le=600, description="clock skew allowed on exp/nbf/iat")
    require_exp: bool = Field(True, description="refuse tokens without `exp`")
    id_claim: str = Field("jti", min_length=1, description="claim used as the replay-dedup id")


def _static_keys(s: JwtSettings, fallback: SecretStr | None, where: str) -> list[Key]:
    secrets = ([s.secret] if s.secret else []) + list(s.secrets or [])
    if not secrets and not s.public_keys and not s.jwks_url and fallback is not None:
        secrets = [fallback]
    if any(not x.get_secret_value().strip() for x in secrets):
        raise VerifierConfigError([ConfigProblem(f"{where}.secret", "a secret is empty")])
    keys = [Key("HS", None, x.get_secret_value().encode()) for x in secrets]
    problems = []
    for i, pem in enumerate(s.public_keys or []):
        try:
            from ingress.verification.jose import load_pem_public_key

            keys.append(load_pem_public_key(pem))
        except ImportError:
            problems.append(ConfigProblem(f"{where}.publicKeys", "needs the `cryptography` package"))
            break
        except ValueError as exc:
            problems.append(ConfigProblem(f"{where}.publicKeys[{i}]", f"not a usable key: {exc}"))
    if problems:
        raise VerifierConfigError(problems)
    return keys


def _jwks_hosts(s: JwtSettings, where: str) -> list[str]:
    parts = urlsplit(s.jwks_url or "")
    host = (parts.hostname or "").lower()
    hosts = [h.lower() for h in (s.jwks_allowed_hosts or [host])]
    problems = []
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(host)):
        problems.append(ConfigProblem(f"{where}.jwksUrl", "must be an https URL"))
    if host not in hosts:
        problems.append(ConfigProblem(f"{where}.jwksUrl", f"host `{host}` is not in jwksAllowedHosts"))
    if problems:
        raise VerifierConfigError(problems)
    return hosts


class JwtBearer(SyncVerifier):
    """Verifies a bearer JWT against static keys and/or a cached JWKS."""

    Settings: ClassVar[type[ConfigModel]] = JwtSettings

    def __init__(self, s: JwtSettings, keys: list[Key], jwks_hosts: list[str] | None) -> None:
        self._s = s
        self._keys = keys
        self._allowed = {ALGORITHMS[a] for a in s.algorithms}
        self.jwks: AllowListedCache[list[Key]] | None = None
        if s.jwks_url and jwks_hosts is not None:
            self.jwks = AllowListedCache(jwks_hosts, parse_jwks, ttl_seconds=s.jwks_cache_seconds,
                                         reason="untrusted_key_host")
        self._last_forced = float("-inf")

    @classmethod
    def from_settings(cls, settings: JwtSettings, fallback_secret: SecretStr | None,
                      where: str) -> JwtBearer:
        keys = _static_keys(settings, fallback_secret, where)
        hosts = _jwks_hosts(settings, where) if settings.jwks_url else None
        if not keys and hosts is None:
            raise VerifierConfigError([ConfigProblem(
                where, "no key: set `secret`/`secrets`, `publicKeys` or `jwksUrl`")])
        return cls(settings, keys, hosts)

    def _token(self, request: VerificationRequest) -> str:
        value = require_header(request, self._s.header)
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise VerificationFailed("malformed_header", f"`{self._s.header}` is not `Bearer <jwt>`")
        return token.strip()

    async def verify_async(self, request: VerificationRequest) -> Verified:
        if self.jwks is not None and self._s.jwks_url:
            url = self._s.jwks_url
            cached = self.jwks.cached(url)
            try:
                kid = parse_token(self._token(request)).header.get("kid")
            except VerificationFailed:
                kid = None  # verify() reports the real problem below
            if cached is None:
                await self.jwks.get(url)
            elif kid is not None and kid not in {k.kid for k in cached}:
                now = time.monotonic()
                if now - self._last_forced >= self._s.jwks_refresh_seconds:
                    self._last_forced = now
                    await self.jwks.get(url, refresh=True)
        return self.verify(request)

    def _candidates(self, family: str, kid: Any) -> list[Key]:
        keys = [k for k in self._keys if k.family == family]
        if self.jwks is not None and self._s.jwks_url:
            remote = self.jwks.cached(self._s.jwks_url)
            if remote is None and not keys:
                raise VerificationUnavailable("jwks_not_cached", "call verify_async first")
            keys += [k for k in remote or [] if k.family == family and (kid is None or k.kid == kid)]
        return keys

    def verify(self, request: VerificationRequest) -> Verified:
        token = parse_token(self._token(request))
        alg = token.header.get("alg")
        family = ALGORITHMS.get(alg) if isinstance(alg, str) else None
        if family is None or family not in self._allowed:
            raise VerificationFailed("malformed_header", f"JWT alg `{alg}` is not accepted")
        if not any(signature_ok(k, token) for k in self._candidates(family, token.header.get("kid"))):
            raise VerificationFailed("bad_signature", "the JWT signature does not verify")
        return self._check_claims(token.claims, request.now)

    def _check_claims(self, claims: dict[str, Any], now: float) -> Verified:
        s, leeway = self._s, self._s.leeway_seconds

        def number(name: str) -> float | None:
            value = claims.get(name)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise VerificationFailed("malformed_header", f"JWT `{name}` is not a number")
            return float(value)

        exp, nbf, iat = number("exp"), number("nbf"), number("iat")
        if exp is None and s.require_exp:
            raise VerificationFailed("missing_claim", "JWT has no `exp`")
        if exp is not None and now > exp + leeway:
            raise VerificationFailed("stale_timestamp", f"JWT expired {int(now - exp)}s ago")
        for name, value in (("nbf", nbf), ("iat", iat)):
            if value is not None and value > now + leeway:
                raise VerificationFailed("future_timestamp", f"JWT `{name}` is in the future")
        if s.issuer is not None and claims.get("iss") != s.issuer:
            raise VerificationFailed("bad_claim", "JWT `iss` is not the configured issuer")
        if s.audience is not None:
            aud = claims.get("aud")
            auds = aud if isinstance(aud, list) else [aud]
            if not any(a in s.audience for a in auds if isinstance(a, str)):
                raise VerificationFailed("bad_claim", "JWT `aud` is not an accepted audience")
        event_id = claims.get(s.id_claim)
        return Verified(provider_event_id=str(event_id) if event_id is not None else None,
                        timestamp=iat)
