"""The SSRF guard: non-public destinations are refused on the address actually dialled.

Denied addresses are exercised with a fake resolver and a recording dialer that never creates a
socket outside loopback; each denial asserts zero connection attempts to the denied address.
"""

from __future__ import annotations

import ipaddress

import pytest

from connectors.egress import EgressPolicy, category_of
from connectors.sink import Delivered, Failed
from schemas.config.egress import EgressSpec
from tests.egress_helpers import FakeResolver, RecordingDialer
from tests.http_sink.helpers import ALLOW_LOOPBACK, SteerableSink, http_sink, request


async def deliver(settings: dict, egress: dict | None, dialer: RecordingDialer,
                  resolver: FakeResolver | None = None, data: dict | None = None):
    sink = http_sink(settings, egress, resolver=resolver or FakeResolver(), socket_factory=dialer)
    await sink.open()
    try:
        (outcome,) = await sink.send([request(1, data)])
    finally:
        await sink.close()
    return outcome


def assert_denied(outcome, category: str) -> None:
    assert isinstance(outcome, Failed) and not outcome.retriable, outcome
    assert outcome.error.startswith("egress_denied: ") and f"({category})" in outcome.error, outcome.error
    assert outcome.error.endswith("allow it with egress.allow")


DENIED_URLS = [
    pytest.param("http://10.0.0.1/x", "private", id="10/8"),
    pytest.param("http://172.16.5.4/x", "private", id="172.16/12"),
    pytest.param("http://192.168.1.1/x", "private", id="192.168/16"),
    pytest.param("http://100.64.0.1/x", "private", id="cgnat"),
    pytest.param("http://169.254.169.254/latest/meta-data/", "link-local", id="metadata"),
    pytest.param("http://0.0.0.0:8080/", "unspecified", id="0.0.0.0"),
    pytest.param("http://224.0.0.1/", "multicast", id="multicast-v4"),
    pytest.param("http://240.0.0.1/", "reserved", id="reserved-v4"),
    pytest.param("http://255.255.255.255/", "reserved", id="broadcast"),
    pytest.param("http://[::1]:8080/", "loopback", id="::1-not-allowed"),
    pytest.param("http://[::]/", "unspecified", id="::"),
    pytest.param("http://[fc00::1]/", "private", id="fc00::/7"),
    pytest.param("http://[fd12:3456::1]/", "private", id="fd00"),
    pytest.param("http://[fe80::1]/", "link-local", id="fe80::/10"),
    pytest.param("http://[ff02::1]/", "multicast", id="multicast-v6"),
    pytest.param("http://[::ffff:10.0.0.1]/", "private", id="v4-mapped-private"),
    pytest.param("http://[::ffff:169.254.169.254]/", "link-local", id="v4-mapped-metadata"),
    pytest.param("http://[::ffff:127.0.0.1]/", "loopback", id="v4-mapped-loopback"),
    pytest.param("http://[64:ff9b::a00:1]/", "private", id="nat64-private"),
    pytest.param("http://[2002:a00:1::1]/", "private", id="6to4-private"),
    pytest.param("http://[::a00:1]/", "reserved", id="v4-compatible"),
]


@pytest.mark.parametrize(("url", "category"), DENIED_URLS)
async def test_a_literal_non_public_address_is_refused_without_a_dial(url, category, dialer) -> None:
    outcome = await deliver({"url": url}, None, dialer)
    assert_denied(outcome, category)
    assert dialer.attempts == []


async def test_a_refused_ipv6_address_carrying_an_ipv4_one_names_it(dialer) -> None:
    # The URL normalises [::ffff:169.254.169.254] to ::ffff:a9fe:a9fe; the reason must still say
    # which address that is, or nobody reading the dead letter recognises the metadata address.
    outcome = await deliver({"url": "http://[::ffff:169.254.169.254]/"}, None, dialer)
    assert_denied(outcome, "link-local")
    assert "(link-local), which is 169.254.169.254; " in outcome.error, outcome.error


async def test_loopback_without_an_allow_list_is_refused(receiver: SteerableSink, dialer) -> None:
    outcome = await deliver({"url": f"{receiver.url}/x"}, None, dialer)
    assert_denied(outcome, "loopback")
    assert outcome.error.startswith("egress_denied: 127.0.0.1 resolves to 127.0.0.1 (loopback)")
    assert dialer.attempts == [] and receiver.arrivals == 0


async def test_localhost_by_name_without_an_allow_list_is_refused(dialer) -> None:
    resolver = FakeResolver({"localhost": [["127.0.0.1", "::1"]]})
    outcome = await deliver({"url": "http://localhost:9/x"}, None, dialer, resolver)
    assert_denied(outcome, "loopback")
    assert dialer.attempts == []


async def test_a_metadata_address_rendered_from_event_data_is_refused(dialer) -> None:
    outcome = await deliver({"url": "http://{{host}}/latest/meta-data/iam"}, ALLOW_LOOPBACK, dialer,
                            data={"host": "169.254.169.254"})
    assert_denied(outcome, "link-local")
    assert "169.254.169.254" not in dialer.attempts and dialer.attempts == []


@pytest.mark.parametrize(("host", "address", "category"), [
    ("internal.example", "10.1.2.3", "private"),
    ("metadata.google.internal", "169.254.169.254", "link-local"),
    ("router.example", "192.168.0.1", "private"),
    ("ula.example", "fd00::7", "private"),
    ("mapped.example", "::ffff:10.0.0.1", "private"),
])
async def test_a_host_name_resolving_to_a_non_public_address_is_refused(host, address, category,
                                                                         dialer) -> None:
    resolver = FakeResolver({host: [[address]]})
    outcome = await deliver({"url": f"https://{host}/hook"}, ALLOW_LOOPBACK, dialer, resolver)
    assert_denied(outcome, category)
    assert outcome.error.startswith(f"egress_denied: {host} resolves to {address} ({category})")
    assert resolver.lookups == [host] and dialer.attempts == []


async def test_a_customer_id_cannot_smuggle_a_host(dialer) -> None:
    # {{customerId}} in the host position: the rendered host is checked like any other.
    outcome = await deliver({"url": "http://{{customerId}}.hooks.example/in"}, ALLOW_LOOPBACK, dialer,
                            FakeResolver({"c1.hooks.example": [["10.9.9.9"]]}), data={"customerId": "c1"})
    assert_denied(outcome, "private")
    assert dialer.attempts == []


async def test_an_allow_listed_loopback_sink_is_delivered_to(receiver: SteerableSink, dialer) -> None:
    outcome = await deliver({"url": f"{receiver.url}/x"}, ALLOW_LOOPBACK, dialer)
    assert isinstance(outcome, Delivered)
    assert dialer.attempts == ["127.0.0.1"] and len(receiver.delivered) == 1


async def test_a_name_resolving_to_an_allowed_address_is_delivered_to_that_address(
        receiver: SteerableSink, dialer) -> None:
    resolver = FakeResolver({"sink.test": [["127.0.0.1"]]})
    outcome = await deliver({"url": f"http://sink.test:{receiver.port}/x"}, ALLOW_LOOPBACK, dialer, resolver)
    assert isinstance(outcome, Delivered)
    assert dialer.attempts == ["127.0.0.1"]


async def test_of_mixed_answers_only_the_allowed_addresses_are_dialled(receiver: SteerableSink,
                                                                       dialer) -> None:
    resolver = FakeResolver({"mixed.test": [["10.0.0.1", "169.254.169.254", "127.0.0.1"]]})
    outcome = await deliver({"url": f"http://mixed.test:{receiver.port}/x"}, ALLOW_LOOPBACK, dialer, resolver)
    assert isinstance(outcome, Delivered)
    assert dialer.attempts == ["127.0.0.1"]


async def test_allow_hosts_exempts_a_name(receiver: SteerableSink, dialer) -> None:
    resolver = FakeResolver({"svc.internal.test": [["127.0.0.1"]]})
    outcome = await deliver({"url": f"http://svc.internal.test:{receiver.port}/x"},
                            {"allowHosts": ["*.internal.test"]}, dialer, resolver)
    assert isinstance(outcome, Delivered)
    denied = await deliver({"url": f"http://other.test:{receiver.port}/x"},
                           {"allowHosts": ["*.internal.test"]}, dialer,
                           FakeResolver({"other.test": [["127.0.0.1"]]}))
    assert_denied(denied, "loopback")
    assert dialer.attempts == ["127.0.0.1"]


async def test_dns_rebinding_each_connection_dials_the_address_that_was_checked(
        receiver: SteerableSink, dialer) -> None:
    # The first answer is allowed (it stands for a public address), every later one is private:
    # a guard that resolved once to check and again to connect would dial 10.0.0.1.
    resolver = FakeResolver({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    url = {"url": f"http://rebind.test:{receiver.port}/x"}
    assert isinstance(await deliver(url, ALLOW_LOOPBACK, dialer, resolver), Delivered)
    assert resolver.lookups == ["rebind.test"] and dialer.attempts == ["127.0.0.1"]
    # A new connection resolves again, gets the private answer, and never dials it.
    assert_denied(await deliver(url, ALLOW_LOOPBACK, dialer, resolver), "private")
    assert resolver.lookups == ["rebind.test"] * 2 and dialer.attempts == ["127.0.0.1"]
    assert len(receiver.received) == 1


async def test_a_redirect_is_not_followed_by_default(receiver: SteerableSink, dialer) -> None:
    receiver.redirect_to = "http://169.254.169.254/latest/meta-data/"
    outcome = await deliver({"url": f"{receiver.url}/x"}, ALLOW_LOOPBACK, dialer)
    assert isinstance(outcome, Failed) and not outcome.retriable and outcome.status_code == 307
    assert "redirects are not followed" in outcome.error
    assert dialer.attempts == ["127.0.0.1"]


@pytest.mark.parametrize(("location", "answers", "category"), [
    ("http://169.254.169.254/latest/meta-data/", {}, "link-local"),
    ("http://evil.test/steal", {"evil.test": [["10.0.0.5"]]}, "private"),
    ("http://[::ffff:192.168.0.1]/", {}, "private"),
])
async def test_a_followed_redirect_to_a_denied_address_is_refused(receiver: SteerableSink, dialer,
                                                                  location, answers, category) -> None:
    receiver.redirect_to = location
    outcome = await deliver({"url": f"{receiver.url}/x", "followRedirects": True}, ALLOW_LOOPBACK,
                            dialer, FakeResolver(answers))
    assert_denied(outcome, category)
    assert dialer.attempts == ["127.0.0.1"]  # the first hop only
    assert len(receiver.received) == 1


async def test_a_followed_redirect_to_an_allowed_address_is_delivered(receiver: SteerableSink,
                                                                      dialer) -> None:
    receiver.redirect_to = f"{receiver.url}/final"
    outcome = await deliver({"url": f"{receiver.url}/x", "followRedirects": True}, ALLOW_LOOPBACK, dialer)
    assert isinstance(outcome, Delivered)
    assert [r.path for r in receiver.received] == ["/x", "/final"]


async def test_numeric_ipv4_spellings_are_checked_as_the_address_they_mean(dialer) -> None:
    # 2130706433 and 0x7f.1 are 127.0.0.1 to the system resolver; no DNS query leaves the host.
    for url in ("http://2130706433/", "http://0x7f.1/", "http://127.1/"):
        sink = http_sink({"url": url}, None, socket_factory=dialer)  # the real resolver
        await sink.open()
        try:
            (outcome,) = await sink.send([request(1)])
        finally:
            await sink.close()
        assert isinstance(outcome, Failed) and not outcome.retriable, (url, outcome)
    assert dialer.attempts == []


def test_the_policy_table() -> None:
    assert category_of(ipaddress.ip_address("8.8.8.8")) is None
    assert category_of(ipaddress.ip_address("2606:4700::1111")) is None
    assert category_of(ipaddress.ip_address("::ffff:8.8.8.8")) is None  # mapped public is public
    policy = EgressPolicy.from_spec(EgressSpec.model_validate({"allow": ["127.0.0.0/8", "::1/128"]}))
    assert policy.refusal("127.0.0.5") is None and policy.refusal("::1") is None
    assert policy.refusal("::ffff:127.0.0.1") is None  # the mapped form of an allowed address
    assert policy.refusal("10.0.0.1") == "private"
    assert policy.refusal("not-an-ip") == "not an IP address"
    assert EgressPolicy(allow_hosts=("*.svc",)).host_allowed("A.b.SVC.")
    assert not EgressPolicy(allow_hosts=("*.svc",)).host_allowed("svc.evil")
