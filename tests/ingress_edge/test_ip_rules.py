"""Per-source IP allow/deny lists; X-Forwarded-For only from explicitly trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest

from ingress.ip_rules import IpRules, parse_address

from .conftest import EdgeFactory, end_offsets

# The test client connects from 127.0.0.1.
CONFIG = """
service: ips
webhooks:
  - id: outside
    ipAllow: [10.0.0.0/8, "2001:db8::/32"]
    verification: {type: none}
  - id: inside
    ipAllow: [127.0.0.0/8]
    verification: {type: none}
  - id: denied
    ipAllow: [127.0.0.0/8]
    ipDeny: [127.0.0.1/32]
    verification: {type: none}
  - id: proxied
    ipAllow: [203.0.113.0/24]
    trustedProxies: [127.0.0.1/32, 192.0.2.0/24]
    verification: {type: none}
  - id: unproxied
    ipAllow: [203.0.113.0/24]
    verification: {type: none}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""

EVENT = {"type": "ping"}


async def test_an_address_outside_ip_allow_is_403_ip_denied_and_produces_nothing(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    topic = app.pipeline.topics.inbound("outside")
    before = await end_offsets(app.kafka, topic)
    status, answer, _ = await app.post("/webhooks/outside", EVENT)
    assert status == 403 and answer["code"] == "ip_denied"
    assert await end_offsets(app.kafka, topic) == before == 0
    assert app.metric("eis_events_rejected_total", source="outside", reason="ip_denied") == 1
    assert app.metric("eis_events_produced_total", source="outside") == 0


async def test_an_address_inside_ip_allow_is_accepted(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    status, answer, _ = await app.post("/webhooks/inside", EVENT)
    assert status == 200, answer


async def test_ip_deny_wins_over_ip_allow(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    status, answer, _ = await app.post("/webhooks/denied", EVENT)
    assert status == 403 and answer["code"] == "ip_denied"


async def test_x_forwarded_for_is_ignored_without_trusted_proxies(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    status, answer, _ = await app.post("/webhooks/unproxied", EVENT, {"X-Forwarded-For": "203.0.113.7"})
    assert status == 403 and answer["code"] == "ip_denied"


async def test_behind_a_trusted_proxy_the_right_most_untrusted_forwarded_address_is_the_client(
    edge: EdgeFactory,
) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    # client 203.0.113.7 → proxy 192.0.2.10 → (peer) 127.0.0.1; the left entry is the client's forgery.
    status, answer, _ = await app.post(
        "/webhooks/proxied", EVENT, {"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 192.0.2.10"})
    assert status == 200, answer
    status, answer, _ = await app.post(
        "/webhooks/proxied", EVENT, {"X-Forwarded-For": "203.0.113.7, 198.51.100.1"})
    assert status == 403 and answer["code"] == "ip_denied"   # forged allowed address on the left


async def test_a_malformed_forwarded_address_behind_a_trusted_proxy_is_refused(edge: EdgeFactory) -> None:
    app = await edge.start(await edge.pipeline(CONFIG))
    status, answer, _ = await app.post("/webhooks/proxied", EVENT, {"X-Forwarded-For": "not-an-ip"})
    assert status == 403 and answer["code"] == "ip_denied"


@pytest.mark.parametrize(("text", "expected"), [
    ("10.1.2.3", "10.1.2.3"), ("10.1.2.3:4711", "10.1.2.3"), ("::ffff:10.1.2.3", "10.1.2.3"),
    ("[2001:db8::1]:443", "2001:db8::1"), ("fe80::1%eth0", "fe80::1"), ("2001:DB8::1", "2001:db8::1"),
    ("nonsense", None), ("", None),
])
def test_addresses_are_parsed_with_ports_zones_and_ipv4_mapped_forms_normalised(
        text: str, expected: str | None) -> None:
    address = parse_address(text)
    assert (str(address) if address else None) == expected


def test_ipv6_and_ipv4_mapped_peers_match_their_blocks() -> None:
    rules = IpRules.build(["10.0.0.0/8", "2001:db8::/32"], ["10.9.0.0/16"], [])
    assert rules is not None
    assert rules.allows(rules.client_address("::ffff:10.1.2.3", []))
    assert rules.allows(rules.client_address("2001:db8::42", []))
    assert not rules.allows(rules.client_address("2001:db9::1", []))
    assert not rules.allows(rules.client_address("10.9.1.1", []))
    assert not rules.allows(ipaddress.ip_address("::ffff:10.9.1.1"))   # un-normalised, still denied


def test_every_hop_trusted_leaves_the_left_most_as_the_client() -> None:
    rules = IpRules.build(["192.0.2.0/24"], None, ["192.0.2.0/24", "127.0.0.1/32"])
    assert rules is not None
    assert str(rules.client_address("127.0.0.1", ["192.0.2.5", "192.0.2.6"])) == "192.0.2.5"
