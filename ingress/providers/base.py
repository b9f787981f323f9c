"""Provider adapters: what a verified webhook says about itself (type, id, time).

Most providers are a preset of one field-mapping engine (`FieldAdapter`): which headers or
body keys hold the event type, the provider's event id and the event time. The id is what
replay dedup keys on; the time becomes the envelope's event time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

# Epoch values above this are milliseconds: 1e11 seconds is the year 5138, while 1e11 ms is
# 1973, so no real event time is ambiguous.
_MS_THRESHOLD = 100_000_000_000


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    """What the adapter found; every field is None when the request does not carry it."""

    type: str | None
    provider_event_id: str | None
    time_ms: int | None


class ProviderAdapter(Protocol):
    """Reads facts from a VERIFIED request. Pure and total: bad input gives None, never raises.

    `headers` is case-insensitive (aiohttp's CIMultiDictProxy); `data` is the parsed body
    (a dict for JSON, a dict of lists or strings for forms, anything else is ignored).
    """

    name: str

    def facts(self, headers: Mapping[str, str], data: Any) -> ProviderFacts:
        """The event's type, provider id and time in epoch milliseconds."""
        ...


def _text(value: Any) -> str | None:
    """A non-empty string form of a scalar (ids are sometimes numbers), else None."""
    if isinstance(value, list):  # form fields parse to lists
        value = value[0] if value else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str):
        text = str(value).strip()
        return text or None
    return None


def parse_time_ms(value: Any, *, numbers_are: str = "auto") -> int | None:
    """Epoch ms from ISO-8601 text or epoch seconds/millis (`numbers_are`: auto|s|ms)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").replace(".", "", 1).isdigit():
            value = float(text)
        else:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)  # providers send UTC; naive means UTC
            return int(parsed.timestamp() * 1000)
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        is_ms = numbers_are == "ms" or (numbers_are == "auto" and abs(value) >= _MS_THRESHOLD)
        return int(value if is_ms else value * 1000)
    return None


@dataclass(frozen=True, slots=True)
class FieldAdapter:
    """A provider described by where its facts live: first non-empty source wins."""

    name: str
    type_headers: Sequence[str] = ()
    type_keys: Sequence[str] = ()
    id_headers: Sequence[str] = ()
    id_keys: Sequence[str] = ()
    time_headers: Sequence[str] = ()
    time_keys: Sequence[str] = ()
    numbers_are: str = "auto"

    def _first(self, headers: Mapping[str, str], data: Any,
               names: Sequence[str], keys: Sequence[str]) -> Any:
        for name in names:
            value = headers.get(name)
            if value is not None and value.strip():
                return value.strip()
        if isinstance(data, Mapping):
            for key in keys:
                value = data.get(key)
                if value is not None and value != "":
                    return value
        return None

    def facts(self, headers: Mapping[str, str], data: Any) -> ProviderFacts:
        return ProviderFacts(
            type=_text(self._first(headers, data, self.type_headers, self.type_keys)),
            provider_event_id=_text(self._first(headers, data, self.id_headers, self.id_keys)),
            time_ms=parse_time_ms(self._first(headers, data, self.time_headers, self.time_keys),
                                  numbers_are=self.numbers_are),
        )
