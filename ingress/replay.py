"""Replay protection: provider event ids already accepted, per source, over a time window.

The map is filled from the `<prefix>.ingress.seen` topic, which every ingress process writes
after the broker acknowledged an event and every process tails (ingress/cluster.py), so a
restart or another process knows the ids too. Within one process, a second request with the
same id while the first is still being produced waits for the first's outcome.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

HEARTBEAT_PREFIX = "~hb/"   # seen-topic keys of heartbeats; source ids cannot start with `~`


def seen_key(source: str, provider_event_id: str) -> str:
    """The seen-topic key of one provider id (`<source>/<id>`; a source id has no `/`)."""
    return f"{source}/{provider_event_id}"


def encode_seen(event_id: str, at_ms: int) -> bytes:
    return orjson.dumps({"id": event_id, "at": at_ms})


def decode_seen(value: bytes) -> tuple[str, int] | None:
    """(event id, accepted at ms), or None for a record this version does not understand."""
    try:
        data = orjson.loads(value)
        return str(data["id"]), int(data["at"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class SeenIds:
    """Bounded, expiring map of `<source>/<provider id>` → (event id, accepted at ms).

    Entries are kept in arrival order; past `max_entries` the oldest go first, and entries
    older than `horizon_ms` (the longest window) are dropped as new ones arrive. The window
    itself is applied on lookup, so a shorter `replayWindow` takes effect at once.
    """

    def __init__(self, max_entries: int, horizon_ms: int) -> None:
        self.max_entries = max_entries
        self.horizon_ms = horizon_ms
        self._entries: OrderedDict[str, tuple[str, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, window_ms: int, now_ms: int) -> str | None:
        """The original event id when `key` was accepted within `window_ms` before `now_ms`."""
        entry = self._entries.get(key)
        if entry is None or now_ms - entry[1] >= window_ms:
            return None
        return entry[0]

    def put(self, key: str, event_id: str, at_ms: int, now_ms: int) -> None:
        """Remember `key`; an older record for the same key does not replace a newer one."""
        current = self._entries.get(key)
        if current is not None and current[1] > at_ms:
            return
        if now_ms - at_ms >= self.horizon_ms:
            return
        self._entries[key] = (event_id, at_ms)
        self._entries.move_to_end(key)
        self._trim(now_ms)

    def discard(self, key: str) -> None:
        self._entries.pop(key, None)

    def _trim(self, now_ms: int) -> None:
        entries = self._entries
        while len(entries) > self.max_entries:
            entries.popitem(last=False)
        while entries:
            _, (_, at_ms) = next(iter(entries.items()))
            if now_ms - at_ms < self.horizon_ms:
                break
            entries.popitem(last=False)


class ReplayStateLoading(Exception):
    """The seen topic has not been read up to date yet: answering now could accept a replay."""


@dataclass(slots=True)
class Claim:
    """A request that owns its provider id until `ReplayGuard.settle` or `release`."""

    key: str
    future: asyncio.Future[str | None]


class ReplayGuard:
    """What the webhook handler asks: is this id a replay, and remember it once produced.

    `write` persists one id to the seen topic (awaited before the handler answers, so a crash
    after the answer cannot forget it). `ready()` is False until the topic was read up to date.
    """

    def __init__(self, seen: SeenIds, write: Callable[[str, str, int], Awaitable[None]],
                 ready: Callable[[], bool], clock_ms: Callable[[], int]) -> None:
        self.seen = seen
        self._write = write
        self._ready = ready
        self._clock_ms = clock_ms
        self._in_flight: dict[str, asyncio.Future[str | None]] = {}

    async def claim(self, source: str, provider_event_id: str, window_ms: int) -> str | Claim:
        """The original event id for a replay, else a `Claim` the caller must settle or release.

        Raises `ReplayStateLoading` while the seen topic is still being read.
        """
        if not self._ready():
            raise ReplayStateLoading
        key = seen_key(source, provider_event_id)
        while True:
            original = self.seen.get(key, window_ms, self._clock_ms())
            if original is not None:
                return original
            pending = self._in_flight.get(key)
            if pending is None:
                break
            # The same id is being produced by a request in this process: its outcome decides.
            original = await asyncio.shield(pending)
            if original is not None:
                return original
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        return Claim(key, future)

    async def settle(self, claim: Claim, event_id: str) -> None:
        """The event was acknowledged by Kafka: remember the id here and on the seen topic."""
        now = self._clock_ms()
        self.seen.put(claim.key, event_id, now, now)
        self._finish(claim, event_id)
        await self._write(claim.key, event_id, now)

    def release(self, claim: Claim) -> None:
        """The event was not accepted: a later request with this id is new."""
        self._finish(claim, None)

    def _finish(self, claim: Claim, event_id: str | None) -> None:
        if self._in_flight.get(claim.key) is claim.future:
            del self._in_flight[claim.key]
        if not claim.future.done():
            claim.future.set_result(event_id)
