"""The SSRF guard: outbound connections reach public addresses only, or what `egress:` allows.

Issue 5, item 8. The check is made on the address the TCP connection actually goes to, not on
the URL: `GuardedResolver` wraps aiohttp's resolver and drops every resolved address the policy
refuses, and aiohttp connects only to the addresses the resolver returned. A host name is thus
resolved once, checked, and connected to that checked address, so a DNS answer that changes
between a check and the connect (DNS rebinding) cannot slip through. aiohttp never asks the
resolver about literal IP hosts (`http://10.0.0.1/`), so `GuardedConnector` checks those itself.
Every redirect hop opens its connection through the same connector, so it is checked the same way.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from schemas.config.egress import EgressSpec

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*pairs: tuple[str, str]) -> tuple[tuple[Network, str], ...]:
    return tuple((ipaddress.ip_network(cidr), category) for cidr, category in pairs)


# Our own table rather than ipaddress's is_private/is_global, whose answers changed between
# Python releases (100.64.0.0/10, 192.0.0.0/24); the first match names the category.
_BLOCKED_V4 = _nets(
    ("0.0.0.0/8", "unspecified"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "private"),
    ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"), ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"), ("192.0.2.0/24", "reserved"), ("192.88.99.0/24", "reserved"),
    ("192.168.0.0/16", "private"), ("198.18.0.0/15", "reserved"), ("198.51.100.0/24", "reserved"),
    ("203.0.113.0/24", "reserved"), ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved"),
)
_BLOCKED_V6 = _nets(
    ("::/128", "unspecified"), ("::1/128", "loopback"), ("64:ff9b:1::/48", "private"),
    ("100::/64", "reserved"), ("2001::/23", "reserved"), ("2001:db8::/32", "reserved"),
    ("3fff::/20", "reserved"), ("5f00::/16", "reserved"), ("fc00::/7", "private"),
    ("fe80::/10", "link-local"), ("fec0::/10", "private"), ("ff00::/8", "multicast"),
)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressDenied(OSError):
    """A destination address the policy refuses. An OSError, so aiohttp wraps it in
    ClientConnectorError and the sink finds it again as `exc.os_error`."""

    def __init__(self, host: str, address: str, category: str) -> None:
        self.host, self.address, self.category = host, address, category
        super().__init__(f"egress_denied: {host} resolves to {address} ({category}){_carried(address)}; "
                         f"allow it with egress.allow")


def _carried(address: str) -> str:
    """`, which is <IPv4>` for an IPv6 address that carries one: URLs normalise
    `[::ffff:169.254.169.254]` to `::ffff:a9fe:a9fe`, which an operator reading a dead letter
    would not recognise as the metadata address."""
    try:
        inner = embedded_ipv4(ipaddress.ip_address(address))
    except ValueError:
        return ""
    return f", which is {inner}" if inner is not None else ""


def embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address forwards to: IPv4-mapped, NAT64 (64:ff9b::/96), 6to4."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return ip.sixtofour


def category_of(ip: Address) -> str | None:
    """Why `ip` is not a public address (`private`, `loopback`, …), or None when it is one."""
    inner = embedded_ipv4(ip)
    if inner is not None:  # ::ffff:10.0.0.1 is 10.0.0.1 on the wire
        return category_of(inner)
    table = _BLOCKED_V4 if isinstance(ip, ipaddress.IPv4Address) else _BLOCKED_V6
    for network, category in table:
        if ip in network:
            return category
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
        return "reserved"  # includes the deprecated IPv4-compatible ::a.b.c.d forms
    return None


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """What may be connected to: public addresses, plus the allow-listed networks and names."""

    allow: tuple[Network, ...] = ()
    allow_hosts: tuple[str, ...] = ()

    @classmethod
    def from_spec(cls, spec: EgressSpec) -> EgressPolicy:
        """Build from the pipeline's `egress:` section."""
        return cls(tuple(spec.allow), tuple(spec.allow_hosts))

    def host_allowed(self, host: str) -> bool:
        """True when `host` is allow-listed by name (`*.x` covers every subdomain of x)."""
        name = host.lower().rstrip(".")
        for allowed in self.allow_hosts:
            if name == allowed or (allowed.startswith("*.") and name.endswith(allowed[1:])):
                return True
        return False

    def refusal(self, address: str) -> str | None:
        """The category that refuses `address`, or None when it may be connected to."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return "not an IP address"
        inner = embedded_ipv4(ip)
        for candidate in (ip, inner):
            if candidate is not None and any(
                candidate.version == net.version and candidate in net for net in self.allow
            ):
                return None
        return category_of(ip)

    def check(self, host: str, results: Sequence[ResolveResult]) -> list[ResolveResult]:
        """The resolved addresses of `host` that may be connected to; EgressDenied when none."""
        if self.host_allowed(host):
            return list(results)
        kept, refused = [], None
        for result in results:
            category = self.refusal(result["host"])
            if category is None:
                kept.append(result)
            elif refused is None:
                refused = EgressDenied(host, result["host"], category)
        if not kept:
            raise refused or OSError(f"{host} resolved to no address")
        return kept


class GuardedResolver(AbstractResolver):
    """Resolves through `resolver` (aiohttp's default one if None), keeping allowed addresses only."""

    def __init__(self, policy: EgressPolicy, resolver: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._owned = resolver is None
        self._resolver = resolver if resolver is not None else DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        """Resolve `host` and drop every address the policy refuses."""
        return self._policy.check(host, await self._resolver.resolve(host, port, family))

    async def close(self) -> None:
        """Close the wrapped resolver if this guard created it."""
        if self._owned:
            await self._resolver.close()


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector whose every connection passes the policy, literal IP hosts included."""

    def __init__(self, policy: EgressPolicy, resolver: AbstractResolver | None = None,
                 **kwargs: Any) -> None:
        super().__init__(resolver=GuardedResolver(policy, resolver), **kwargs)
        self._policy = policy

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> list[ResolveResult]:
        # aiohttp answers literal IP hosts itself, without the resolver: check them here.
        # (Overrides a private method; tests/http_sink/test_egress.py fails if aiohttp changes it.)
        results: list[ResolveResult] = await super()._resolve_host(host, port, traces=traces)
        return self._policy.check(host, results) if _is_literal(host) else results

    async def close(self, *args: Any, **kwargs: Any) -> None:
        """Close the pool and the resolver the guard owns."""
        await super().close(*args, **kwargs)
        await self._resolver.close()


def denial_of(exc: BaseException) -> EgressDenied | None:
    """The EgressDenied behind an aiohttp connection error, if the guard refused the connection."""
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, EgressDenied):
        return exc.os_error
    cause = exc.__cause__
    return cause if isinstance(cause, EgressDenied) else None
