"""Content-Encoding decoding with a hard bound on output, so compression bombs cost nothing."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import brotli

from .errors import BodyError, shorten
from .limits import BodyLimits

__all__ = ["decode_content_encoding", "decode_off_loop", "SUPPORTED_ENCODINGS"]

SUPPORTED_ENCODINGS = ("br", "deflate", "gzip", "identity")
# More layers than this is an attack, not a client: each layer may cost a full
# max_decoded_bytes of inflating, and real senders use one (rarely two).
_MAX_LAYERS = 3
# brotli's output_buffer_limit only stops the buffer *growing* once reached, and it grows by
# doubling, so one call can return up to ~2x the limit. Small steps keep the overshoot small.
_BROTLI_STEP = 256 * 1024

Decoder = Callable[[bytes, int], bytes]

# Inflating a compression bomb up to max_decoded_bytes costs ~40 ms of CPU; on the event loop that
# stalled every other request meanwhile (tests/reliability/test_abuse.py: four attackers took the
# legitimate clients' median latency from ~20 ms to ~170 ms). zlib and brotli release the GIL
# while they inflate, so a thread keeps the loop serving. One thread: one decode at a time per
# process, the memory bound BodyLimits states.
_DECODER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eis-decode")


def _too_large(limit: int) -> BodyError:
    return BodyError(
        413, "decoded_body_too_large", f"decoded body is larger than {limit} bytes"
    )


def _corrupt(name: str, why: str) -> BodyError:
    return BodyError(400, "invalid_encoding", f"body is not valid {name} data: {why}")


def _inflate_member(d: zlib._Decompress, data: bytes, room: int, out: list[bytes]) -> int:
    """Feed ``data`` to ``d``, appending output to ``out``; return bytes produced.

    Produces at most ``room + 1`` bytes: ``max_length`` makes zlib stop and keep the rest
    of the input in ``unconsumed_tail`` instead of inflating it all at once.
    """
    produced = 0
    while True:
        piece = d.decompress(data, room - produced + 1)
        produced += len(piece)
        out.append(piece)
        if produced > room:
            return produced
        data = d.unconsumed_tail
        if not data or d.eof:
            return produced


def _zlib(wire: bytes, limit: int, wbits: int, name: str) -> bytes:
    """Inflate gzip/zlib/raw-deflate; gzip may be several concatenated members (RFC 1952)."""
    out: list[bytes] = []
    total = 0
    data = wire
    try:
        while True:
            d = zlib.decompressobj(wbits)
            total += _inflate_member(d, data, limit - total, out)
            if total > limit:
                raise _too_large(limit)
            if not d.eof:
                raise _corrupt(name, "truncated stream")
            data = d.unused_data
            if not data or wbits != 31:
                break
    except zlib.error as exc:
        raise _corrupt(name, str(exc)) from None
    if data:
        raise _corrupt(name, "trailing bytes after the end of the stream")
    return b"".join(out)


def _gzip(wire: bytes, limit: int) -> bytes:
    return _zlib(wire, limit, 31, "gzip")


def _deflate(wire: bytes, limit: int) -> bytes:
    """RFC 9110 says deflate is zlib-wrapped; some senders (old IIS, some libraries) send
    raw deflate. A zlib header is recognisable (CM=8, header checksum divisible by 31)."""
    zlib_wrapped = (
        len(wire) >= 2 and wire[0] & 0x0F == 8 and ((wire[0] << 8) | wire[1]) % 31 == 0
    )
    return _zlib(wire, limit, 15 if zlib_wrapped else -15, "deflate")


def _brotli(wire: bytes, limit: int) -> bytes:
    """Brotli with the decompressor's output_buffer_limit (brotli >= 1.2): after a call hits
    the limit, further calls must pass empty input until can_accept_more_data()."""
    d = brotli.Decompressor()
    out: list[bytes] = []
    total = 0
    pending = wire
    try:
        while True:
            piece = d.process(pending, output_buffer_limit=_BROTLI_STEP)
            pending = b""
            total += len(piece)
            if total > limit:
                raise _too_large(limit)
            out.append(piece)
            if d.is_finished() or (not piece and d.can_accept_more_data()):
                break
    except brotli.error as exc:
        raise _corrupt("br", str(exc) or "corrupt stream") from None
    if not d.is_finished():
        raise _corrupt("br", "truncated stream")
    return b"".join(out)


_DECODERS: dict[str, Decoder] = {
    "gzip": _gzip,
    "x-gzip": _gzip,  # RFC 9110 §8.4.1.3: recipients should treat x-gzip as gzip
    "deflate": _deflate,
    "br": _brotli,
}


def _codings(header: str) -> list[str]:
    """The non-identity codings of a Content-Encoding header, in the order applied."""
    codings = [c.strip().lower() for c in header.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    for coding in codings:
        if coding not in _DECODERS:
            raise BodyError(
                415,
                "unsupported_content_encoding",
                f"Content-Encoding {shorten(coding)} is not supported; "
                f"expected one of: {', '.join(SUPPORTED_ENCODINGS)}",
            )
    if len(codings) > _MAX_LAYERS:
        raise BodyError(
            415,
            "unsupported_content_encoding",
            f"at most {_MAX_LAYERS} stacked Content-Encodings are supported",
        )
    return codings


def decode_content_encoding(
    wire: bytes, content_encoding: str | None, limits: BodyLimits
) -> bytes:
    """Undo ``Content-Encoding`` (last applied first) with output bounded by the limits.

    Identity returns ``wire`` itself (no copy). Each layer stops inflating as soon as it
    has produced more than ``max_decoded_bytes`` -> 413 ``decoded_body_too_large``; corrupt
    or truncated data -> 400 ``invalid_encoding``; an unknown coding -> 415
    ``unsupported_content_encoding``.
    """
    if not content_encoding:
        return wire
    data = wire
    for coding in reversed(_codings(content_encoding)):
        data = _DECODERS[coding](data, limits.max_decoded_bytes)
    return data


async def decode_off_loop(wire: bytes, content_encoding: str | None, limits: BodyLimits) -> bytes:
    """:func:`decode_content_encoding` in the process's decoding thread, so that inflating never
    stalls the event loop; a body without a Content-Encoding is returned at once (no hop)."""
    if not content_encoding or not _codings(content_encoding):
        return wire
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_DECODER, decode_content_encoding, wire, content_encoding, limits)
