"""Per-source IP allow/deny lists and the client address behind explicitly trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str | None) -> Address | None:
    """An address from a peer or X-Forwarded-For entry; None when it is not one.

    Accepts `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:443`, `fe80::1%eth0`; an IPv4-mapped IPv6
    address (`::ffff:10.0.0.1`, what a dual-stack socket reports for IPv4 clients) becomes the
    IPv4 address, so `10.0.0.0/8` matches it.
    """
    if not text:
        return None
    value = text.strip()
    if value.startswith("["):
        value = value[1:value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:  # IPv4 with a port; an IPv6 address has at least two colons
        value = value.split(":", 1)[0]
    value = value.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    out: list[Network] = []
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        out.append(network)
        if isinstance(network, ipaddress.IPv4Network):
            # The same block as IPv4-mapped IPv6, in case an address arrives un-normalised.
            mapped = ipaddress.ip_network(f"::ffff:{network.network_address}/{96 + network.prefixlen}")
            out.append(mapped)
    return tuple(out)


def _within(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


@dataclass(frozen=True, slots=True)
class IpRules:
    """One source's rules, parsed once when the source is built.

    Order: a denied address is refused; then, when an allow list exists, an address outside it
    is refused. An address that cannot be determined (malformed X-Forwarded-For) is refused
    whenever any rule exists: failing open would let a forged header bypass the lists.
    """

    allow: tuple[Network, ...] | None
    deny: tuple[Network, ...]
    trusted_proxies: tuple[Network, ...]

    @classmethod
    def build(cls, allow: Sequence[str] | None, deny: Sequence[str] | None,
              trusted_proxies: Sequence[str]) -> IpRules | None:
        """None when the source has no IP rule at all (the common case costs nothing)."""
        if allow is None and not deny:
            return None
        return cls(_networks(allow) if allow is not None else None, _networks(deny or ()),
                   _networks(trusted_proxies))

    def client_address(self, peer: str | None, forwarded_for: Sequence[str]) -> Address | None:
        """The client: the peer itself unless it is a trusted proxy; then the right-most
        X-Forwarded-For entry that is not a trusted proxy (each proxy appends the address it
        saw, so entries left of the first untrusted one may be forged by the client)."""
        address = parse_address(peer)
        if address is None or not _within(address, self.trusted_proxies):
            return address
        entries = [e for value in forwarded_for for e in value.split(",") if e.strip()]
        for entry in reversed(entries):
            hop = parse_address(entry)
            if hop is None:
                return None
            if not _within(hop, self.trusted_proxies):
                return hop
            address = hop
        return address  # every hop is a trusted proxy: the left-most is the best we know

    def allows(self, address: Address | None) -> bool:
        """Whether a request from `address` passes the lists."""
        if address is None:
            return False
        if _within(address, self.deny):
            return False
        return self.allow is None or _within(address, self.allow)
