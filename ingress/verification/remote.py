"""Fetching key material (PayPal certificates, JWKS) from allow-listed hosts only, cached.

The URL of a PayPal certificate arrives in the request itself: fetching whatever it names
would let anyone make us sign-check against their own key, or probe our network (SSRF).
So: the host must be on the allow-list, https is required (plain http only to a loopback
host, for tests), redirects are not followed, the size and time are bounded, and at most one
fetch per URL is in flight however many requests need it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar
from urllib.parse import urlsplit

import aiohttp

from ingress.verification.base import VerificationFailed, VerificationUnavailable

T = TypeVar("T")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AllowListedCache(Generic[T]):
    """Parsed documents by URL, fetched on a miss from allow-listed hosts."""

    def __init__(
        self, allowed_hosts: Iterable[str], parse: Callable[[bytes], T], *, ttl_seconds: float,
        reason: str, timeout_seconds: float = 5.0, max_bytes: int = 65_536, max_entries: int = 32,
    ) -> None:
        self._allowed = frozenset(h.lower() for h in allowed_hosts)
        self._parse = parse
        self._ttl = ttl_seconds
        self._reason = reason
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[T]] = {}
        self._session: aiohttp.ClientSession | None = None

    def check_url(self, url: str) -> None:
        """Raise `VerificationFailed(reason)` unless `url` may be fetched."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host not in self._allowed:
            raise VerificationFailed(self._reason, f"host `{host}` is not allow-listed")
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(host)):
            raise VerificationFailed(self._reason, "the URL must be https")
        if parts.username or parts.password:
            raise VerificationFailed(self._reason, "the URL must not carry credentials")

    def cached(self, url: str, now: float | None = None) -> T | None:
        """The fresh cached document for `url`, or None (no network)."""
        entry = self._entries.get(url)
        if entry is None or entry[0] < (time.monotonic() if now is None else now):
            return None
        return entry[1]

    def put(self, url: str, value: T) -> None:
        """Store a document (also how tests and warm-up seed the cache)."""
        self._entries[url] = (time.monotonic() + self._ttl, value)
        self._entries.move_to_end(url)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def get(self, url: str, *, refresh: bool = False) -> T:
        """The document for `url`, fetched when missing, stale or `refresh`."""
        self.check_url(url)
        if not refresh and (hit := self.cached(url)) is not None:
            return hit
        pending = self._inflight.get(url)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(url))
            self._inflight[url] = pending
            pending.add_done_callback(lambda _f: self._inflight.pop(url, None))
        # shield: one caller being cancelled (client went away) must not cancel the others' fetch.
        return await asyncio.shield(pending)

    async def _fetch(self, url: str) -> T:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )
        try:
            async with self._session.get(url, allow_redirects=False) as resp:
                if resp.status != 200:
                    raise VerificationUnavailable(
                        "key_fetch_failed", f"fetching key material answered {resp.status}",
                    )
                data = await resp.content.read(self._max_bytes + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise VerificationUnavailable(
                "key_fetch_failed", f"fetching key material failed: {type(exc).__name__}",
            ) from None
        if len(data) > self._max_bytes:
            raise VerificationFailed("unusable_key_material", "the key document is too large")
        try:
            value = self._parse(data)
        except ValueError as exc:
            raise VerificationFailed("unusable_key_material", f"the key document is unusable: {exc}") from None
        self.put(url, value)
        return value

    async def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        if self._session is not None:
            await self._session.close()
            self._session = None
