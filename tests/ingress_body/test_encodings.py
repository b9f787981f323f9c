"""decode_content_encoding: each coding, stacking, refusals, and bombs in bounded memory."""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable

import brotli
import pytest

from ingress.body import BodyError, BodyLimits, decode_content_encoding, decode_off_loop, encodings
from tests import abuse_helpers as abuse
from tests.abuse_helpers import GIB, MIB

LIMITS = BodyLimits()
PAYLOAD = b'{"event": "payment.succeeded", "amount": 1000}' * 20


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


def test_identity_returns_the_wire_bytes_without_copy() -> None:
    assert decode_content_encoding(PAYLOAD, None, LIMITS) is PAYLOAD
    assert decode_content_encoding(PAYLOAD, "identity", LIMITS) is PAYLOAD


def test_gzip_decodes() -> None:
    assert decode_content_encoding(gzip.compress(PAYLOAD), "gzip", LIMITS) == PAYLOAD


def test_x_gzip_decodes() -> None:
    assert decode_content_encoding(gzip.compress(PAYLOAD), "X-GZIP", LIMITS) == PAYLOAD


def test_concatenated_gzip_members_decode() -> None:
    wire = gzip.compress(b"ab") + gzip.compress(b"cd")
    assert decode_content_encoding(wire, "gzip", LIMITS) == b"abcd"


def test_deflate_zlib_wrapped_decodes() -> None:
    assert decode_content_encoding(zlib.compress(PAYLOAD), "deflate", LIMITS) == PAYLOAD


def test_deflate_raw_decodes() -> None:
    assert decode_content_encoding(_raw_deflate(PAYLOAD), "deflate", LIMITS) == PAYLOAD


def test_br_decodes() -> None:
    assert decode_content_encoding(brotli.compress(PAYLOAD), "br", LIMITS) == PAYLOAD


def test_stacked_encodings_decode_in_reverse_order() -> None:
    wire = brotli.compress(gzip.compress(PAYLOAD))  # gzip applied first, then br
    assert decode_content_encoding(wire, "gzip, br", LIMITS) == PAYLOAD


def test_unknown_content_encoding_is_415_listing_the_supported() -> None:
    with pytest.raises(BodyError) as info:
        decode_content_encoding(b"x", "zstd", LIMITS)
    assert (info.value.status, info.value.code) == (415, "unsupported_content_encoding")
    assert "expected one of: br, deflate, gzip, identity" in info.value.detail


def test_too_many_stacked_encodings_is_415() -> None:
    with pytest.raises(BodyError) as info:
        decode_content_encoding(b"x", "gzip, gzip, gzip, gzip", LIMITS)
    assert info.value.status == 415


@pytest.mark.parametrize(
    ("wire", "coding"),
    [
        (b"not gzip at all", "gzip"),
        (gzip.compress(PAYLOAD)[:-12], "gzip"),  # truncated
        (gzip.compress(PAYLOAD) + b"junk", "gzip"),
        (b"\x78\x9c garbage", "deflate"),
        (b"\xff\xff\xff\xff", "br"),
        (brotli.compress(PAYLOAD)[:-3], "br"),  # truncated
    ],
    ids=["gzip-garbage", "gzip-truncated", "gzip-trailing", "deflate", "br", "br-truncated"],
)
def test_corrupt_data_is_400_invalid_encoding(wire: bytes, coding: str) -> None:
    with pytest.raises(BodyError) as info:
        decode_content_encoding(wire, coding, LIMITS)
    assert (info.value.status, info.value.code) == (400, "invalid_encoding")


def test_decoded_size_over_limit_is_413() -> None:
    limits = BodyLimits(max_decoded_bytes=100)
    with pytest.raises(BodyError) as info:
        decode_content_encoding(gzip.compress(bytes(101)), "gzip", limits)
    assert (info.value.status, info.value.code) == (413, "decoded_body_too_large")
    assert decode_content_encoding(gzip.compress(bytes(100)), "gzip", limits) == bytes(100)


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """A valid gzip of 1 GiB of zeros (~1 MiB)."""
    return abuse.gzip_bomb(GIB)


@pytest.fixture(scope="module")
def brotli_bomb() -> bytes:
    """1 GiB of zeros through brotli (a few KiB)."""
    return abuse.brotli_bomb(GIB)


def _bounded(decode: Callable[[], bytes], limit: int) -> None:
    """Run ``decode``; it must raise 413 within a second, with a traced peak under 3x limit."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(BodyError) as info:
            decode()
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (info.value.status, info.value.code) == (413, "decoded_body_too_large")
    assert elapsed < 1.0
    assert peak < 3 * limit, f"peak {peak} bytes"


def test_gzip_bomb_is_413_quickly_in_bounded_memory(gzip_bomb: bytes) -> None:
    assert len(gzip_bomb) < 2 * MIB
    _bounded(lambda: decode_content_encoding(gzip_bomb, "gzip", LIMITS), LIMITS.max_decoded_bytes)


def test_brotli_bomb_is_413_quickly_in_bounded_memory(brotli_bomb: bytes) -> None:
    _bounded(lambda: decode_content_encoding(brotli_bomb, "br", LIMITS), LIMITS.max_decoded_bytes)


def test_stacked_bomb_is_413_in_bounded_memory(gzip_bomb: bytes) -> None:
    wire = brotli.compress(gzip_bomb, quality=1)
    _bounded(lambda: decode_content_encoding(wire, "gzip, br", LIMITS), LIMITS.max_decoded_bytes)


async def test_decoding_off_loop_inflates_in_the_decoding_thread_not_the_event_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = encodings._DECODERS["gzip"]

    def recording(wire: bytes, limit: int) -> bytes:
        threads.append(threading.current_thread().name)
        return real(wire, limit)

    monkeypatch.setitem(encodings._DECODERS, "gzip", recording)
    assert await decode_off_loop(gzip.compress(PAYLOAD), "gzip", LIMITS) == PAYLOAD
    assert len(threads) == 1 and threads[0].startswith("eis-decode"), threads
    assert threads[0] != threading.current_thread().name


async def test_decoding_off_loop_returns_an_unencoded_body_itself() -> None:
    assert await decode_off_loop(PAYLOAD, None, LIMITS) is PAYLOAD
    assert await decode_off_loop(PAYLOAD, "identity", LIMITS) is PAYLOAD


async def test_decoding_off_loop_refuses_a_bomb_413(gzip_bomb: bytes) -> None:
    with pytest.raises(BodyError) as info:
        await decode_off_loop(gzip_bomb, "gzip", LIMITS)
    assert (info.value.status, info.value.code) == (413, "decoded_body_too_large")
