"""Hostile inputs for the ingress (issue 6): compression bombs, deep JSON, endless chunked bodies,
raw requests with oversized headers, and slow-loris connections.

Shared by the unit tests of the body pipeline (tests/ingress_body), the listener limits
(tests/ingress_edge) and the abuse scenario against a real ingress process
(tests/reliability/test_abuse.py).
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import brotli

MIB = 1 << 20
GIB = 1 << 30
CHUNK = 64 * 1024


def gzip_bomb(size: int = GIB) -> bytes:
    """A valid gzip of `size` zero bytes (~1 MiB per GiB), built without ever holding `size`.

    After a full flush deflate restarts with no history, so every following 1 MiB block of
    zeros compresses to the same bytes: compress two blocks, repeat the second.
    """
    blocks = size // MIB
    zeros = bytes(MIB)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", crc, (blocks * MIB) & 0xFFFFFFFF)
    return header + first + block * (blocks - 1) + c.flush() + trailer


def brotli_bomb(size: int = GIB) -> bytes:
    """`size` zero bytes through brotli, compressed chunk by chunk (output ~ a few KiB)."""
    c = brotli.Compressor(quality=5)
    zeros = bytes(MIB)
    return b"".join([*(c.process(zeros) for _ in range(size // MIB)), c.finish()])


def deep_json(depth: int = 100_000) -> bytes:
    """Arrays nested `depth` deep: Python's json raises RecursionError on it (KAFKA-NOTES)."""
    return b"[" * depth + b"]" * depth


@dataclass
class EndlessBody:
    """A chunked request body of up to `total` zero bytes; `sent` counts what was yielded, so a
    test can tell the server stopped reading long before the end."""

    total: int = 256 * MIB
    chunk: int = CHUNK
    sent: int = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        piece = bytes(self.chunk)
        while self.sent < self.total:
            self.sent += self.chunk
            yield piece
            await asyncio.sleep(0)  # let the server run between chunks, as a network would


def request_head(path: str = "/webhooks/hook", extra: str = "", body: bytes = b'{"type": "t"}') -> bytes:
    """A raw HTTP/1.1 POST of JSON `body` to `path`, with `extra` header lines (each ending CRLF)."""
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def status_of(answer: bytes) -> int | None:
    """The status code of a raw HTTP answer, None when nothing (or no status line) came back."""
    parts = answer.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


async def raw_exchange(url: str, data: bytes, wait: float = 3.0) -> bytes:  # noqa: ASYNC109
    """Send `data` on a fresh connection to `url` (http://host:port); what came back before the
    server closed the connection (or `wait` passed)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), wait)
    finally:
        writer.close()


async def trickle(writer: asyncio.StreamWriter, data: bytes, every_s: float) -> None:
    """Slow-loris: write `data` one byte every `every_s`, until done or the server hangs up."""
    try:
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(every_s)
    except ConnectionError:
        pass
