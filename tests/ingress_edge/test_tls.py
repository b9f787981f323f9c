"""TLS on the listener and mutual TLS per source (certificates generated here with trustme)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import trustme

from ingress.settings import IngressSettings, TlsSettings
from schemas.errors import ConfigError

from .conftest import ADMIN_KEY, EdgeFactory, end_offsets

CONFIG = """
service: tls
webhooks:
  - id: mutual
    mtls: true
    verification: {type: none}
  - id: plain
    verification: {type: none}
delivery:
  partitioning: {partitions: 1}
kafka: {topicPrefix: "{prefix}"}
"""


@dataclass
class Pki:
    ca: trustme.CA
    settings: TlsSettings
    client: trustme.LeafCert

    def client_context(self, with_cert: bool = True, ca: trustme.CA | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        if with_cert:
            if ca is None:
                self.client.configure_cert(context)
            else:
                ca.issue_cert("intruder@example.com").configure_cert(context)
        return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    folder: Path = tmp_path_factory.mktemp("pki")
    server.cert_chain_pems[0].write_to_path(folder / "server.pem")
    server.private_key_pem.write_to_path(folder / "server.key")
    ca.cert_pem.write_to_path(folder / "ca.pem")
    yield Pki(ca, TlsSettings(str(folder / "server.pem"), str(folder / "server.key"), str(folder / "ca.pem")),
              ca.issue_cert("billing@partner.example"))


async def post(url: str, context: ssl.SSLContext) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.post(
            url, json={"type": "t"}, ssl=context) as response:
        return response.status, await response.json()


async def start(edge: EdgeFactory, pki: Pki):  # type: ignore[no-untyped-def]
    return await edge.start(await edge.pipeline(CONFIG), IngressSettings(admin_key=ADMIN_KEY, tls=pki.settings))


async def test_an_mtls_source_refuses_a_request_without_a_client_certificate(edge: EdgeFactory, pki: Pki) -> None:
    app = await start(edge, pki)
    status, answer = await post(app.url + "/webhooks/mutual", pki.client_context(with_cert=False))
    assert status == 403 and answer["code"] == "client_certificate_required"
    assert await end_offsets(app.kafka, app.pipeline.topics.inbound("mutual")) == 0
    assert app.metric("eis_events_rejected_total", source="mutual", reason="client_certificate_required") == 1


async def test_an_mtls_source_accepts_a_verified_client_certificate(edge: EdgeFactory, pki: Pki) -> None:
    app = await start(edge, pki)
    status, answer = await post(app.url + "/webhooks/mutual", pki.client_context())
    assert status == 200, answer


async def test_a_client_certificate_from_another_ca_fails_the_handshake(edge: EdgeFactory, pki: Pki) -> None:
    app = await start(edge, pki)
    with pytest.raises(aiohttp.ClientError):
        await post(app.url + "/webhooks/mutual", pki.client_context(ca=trustme.CA()))


async def test_a_source_without_mtls_is_served_over_tls_without_a_client_certificate(
    edge: EdgeFactory, pki: Pki,
) -> None:
    app = await start(edge, pki)
    assert app.url.startswith("https://")
    status, answer = await post(app.url + "/webhooks/plain", pki.client_context(with_cert=False))
    assert status == 200, answer


async def test_mtls_without_a_client_ca_is_a_config_error(edge: EdgeFactory, pki: Pki) -> None:
    pipeline = await edge.pipeline(CONFIG)
    without_ca = TlsSettings(pki.settings.cert, pki.settings.key)
    with pytest.raises(ConfigError, match="webhooks\\[0\\].mtls"):
        await edge.start(pipeline, IngressSettings(tls=without_ca))


def test_tls_settings_come_from_the_environment() -> None:
    settings = IngressSettings.from_env({"EIS_TLS_CERT": "/c.pem", "EIS_TLS_KEY": "/k.pem",
                                         "EIS_TLS_CLIENT_CA": "/ca.pem"})
    assert settings.tls == TlsSettings("/c.pem", "/k.pem", "/ca.pem")
    with pytest.raises(ValueError, match="together"):
        IngressSettings.from_env({"EIS_TLS_CERT": "/c.pem"})
