"""`egress:` — the non-public addresses outbound deliveries may reach (the SSRF allow-list).

Outbound requests to loopback, link-local, private, multicast, unspecified and reserved addresses
are refused by default (connectors/egress.py); this section opens exceptions. Issue 5, item 8.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import BeforeValidator, Field

from schemas.config.base import ConfigModel

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")


def _network(value: object) -> Network:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a CIDR block such as 127.0.0.0/8 or an address such as ::1")
    try:
        # strict: `10.0.0.1/8` is refused rather than silently widened to 10.0.0.0/8
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"invalid network {value!r}: {exc}") from None


def _host_name(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a host name such as sink.internal or *.svc.cluster.local")
    name = value.strip().lower().rstrip(".")
    if not _HOST_NAME.match(name):
        raise ValueError(f"invalid host name {value!r}: a DNS name, optionally starting with `*.`")
    return name


class EgressSpec(ConfigModel):
    """Exceptions to the SSRF guard. Empty (the default): only public addresses are reachable."""

    allow: tuple[Annotated[Network, BeforeValidator(_network)], ...] = Field(
        (), max_length=256,
        description="CIDR blocks (or single addresses) deliveries may reach although they are "
                    "not public, e.g. [127.0.0.0/8, ::1/128] for a local sink",
    )
    allow_hosts: tuple[Annotated[str, BeforeValidator(_host_name)], ...] = Field(
        (), max_length=256,
        description="host names whose resolved addresses are not checked (`*.internal` covers "
                    "subdomains); prefer `allow`, which pins the addresses",
    )
