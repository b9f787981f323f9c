"""The small part of JOSE the `jwt` scheme needs: compact JWS parsing and HS/RS/ES-256 checks.

Written on `hmac` and `cryptography` rather than PyJWT to avoid a second dependency (PyJWT
needs `cryptography` for RS/ES anyway). Each key is bound to one algorithm family, so a
token cannot choose `HS256` and have an RSA public key used as an HMAC secret (the classic
algorithm-confusion attack), and `alg: none` is never accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

from ingress.verification.base import VerificationFailed

Family = Literal["HS", "RS", "ES"]
ALGORITHMS: dict[str, Family] = {"HS256": "HS", "RS256": "RS", "ES256": "ES"}


@dataclass(frozen=True, slots=True)
class Key:
    """One verification key: its family, optional `kid`, and the secret bytes or public key."""

    family: Family
    kid: str | None
    material: Any


@dataclass(frozen=True, slots=True)
class Token:
    """A compact JWS split and decoded, not yet verified."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def b64url(data: str) -> bytes:
    """Base64url without padding, as JWS writes it."""
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def parse_token(token: str) -> Token:
    """Split and decode; `malformed_header` for anything that is not a compact JWS object."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 16_384:
        raise VerificationFailed("malformed_header", "the bearer token is not a JWT")
    try:
        header = json.loads(b64url(parts[0]))
        claims = json.loads(b64url(parts[1]))
        signature = b64url(parts[2])
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise VerificationFailed("malformed_header", "the bearer token is not a JWT") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise VerificationFailed("malformed_header", "the JWT header or claims are not objects")
    return Token(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def signature_ok(key: Key, token: Token) -> bool:
    """True when `token` is signed by `key` (whose family the caller matched to `alg`)."""
    if key.family == "HS":
        want = hmac.new(key.material, token.signing_input, hashlib.sha256).digest()
        return hmac.compare_digest(want, token.signature)
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    try:
        if key.family == "RS":
            key.material.verify(token.signature, token.signing_input, padding.PKCS1v15(),
                                hashes.SHA256())
        else:
            # JWS ES256 signatures are raw r||s (RFC 7518 §3.4), cryptography wants DER.
            if len(token.signature) != 64:
                return False
            r = int.from_bytes(token.signature[:32], "big")
            s = int.from_bytes(token.signature[32:], "big")
            key.material.verify(encode_dss_signature(r, s), token.signing_input,
                                ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def load_pem_public_key(pem: str) -> Key:
    """An RSA or P-256 public key from PEM (a key or a certificate); ValueError otherwise."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key as load

    data = pem.encode("ascii")
    key = x509.load_pem_x509_certificate(data).public_key() if b"CERTIFICATE" in data else load(data)
    if isinstance(key, rsa.RSAPublicKey):
        return Key("RS", None, key)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return Key("ES", None, key)
    raise ValueError("only RSA and P-256 public keys are supported")


def parse_jwks(data: bytes) -> list[Key]:
    """The RSA and P-256 signing keys of a JWKS document; ValueError when it has none."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    doc = json.loads(data)
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: list[Key] = []
    for jwk in doc["keys"]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        kid = jwk.get("kid") if isinstance(jwk.get("kid"), str) else None
        try:
            if jwk.get("kty") == "RSA":
                n, e = (int.from_bytes(b64url(jwk[k]), "big") for k in ("n", "e"))
                keys.append(Key("RS", kid, rsa.RSAPublicNumbers(e, n).public_key()))
            elif jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
                x, y = (int.from_bytes(b64url(jwk[k]), "big") for k in ("x", "y"))
                keys.append(Key("ES", kid, ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1())
                                .public_key()))
        except (KeyError, TypeError, ValueError, binascii.Error):
            continue  # one broken key must not take the others down
    if not keys:
        raise ValueError("no usable RSA or P-256 signing key")
    return keys
