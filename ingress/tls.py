"""TLS on the ingress listener and the per-source client-certificate requirement (mTLS)."""

from __future__ import annotations

import ssl

from aiohttp import web

from ingress.settings import TlsSettings


def server_context(tls: TlsSettings) -> ssl.SSLContext | None:
    """The listener's context, or None for plain HTTP.

    With a client CA, certificates are *requested* from every client and verified when sent
    (`CERT_OPTIONAL`: a certificate that does not verify fails the handshake); whether one is
    *required* is the source's choice (`mtls: true`), checked per request by
    `has_client_certificate`, because one listener serves sources with and without mTLS.
    """
    if not tls.enabled:
        return None
    assert tls.cert is not None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert, tls.key)
    if tls.client_ca is not None:
        context.load_verify_locations(cafile=tls.client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def has_client_certificate(request: web.Request) -> bool:
    """Whether the connection presented a client certificate that verified against the CA.

    `peercert` is only filled for a verified certificate (the handshake rejected others), and
    is empty over plain HTTP or when the client sent none.
    """
    transport = request.transport
    if transport is None or transport.get_extra_info("sslcontext") is None:
        return False
    return bool(transport.get_extra_info("peercert"))
