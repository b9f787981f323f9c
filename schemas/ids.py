"""Prefixed, time-sortable identifiers (`evt_…`), so an id says what it names."""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """Return `<prefix>_` followed by a 26-character ULID (48-bit millis + 80 random bits)."""
    millis = time.time_ns() // 1_000_000
    randomness = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_base32(millis, 10)}{_base32(randomness, 16)}"


def new_event_id() -> str:
    """A fresh event id: `evt_01J…`."""
    return new_id("evt")


def idempotency_key(event_id: str, destination_id: str) -> str:
    """The stable key a receiver dedupes on: the same for every attempt of one delivery."""
    return f"{event_id}:{destination_id}"
